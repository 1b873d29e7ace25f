"""An orosanmälan built by Samtal as an SDK message in a tm-base-ext-sigenc XHE envelope (python-xmlsec) passes
Digg's XSDs and rules, and another implementation verifies and decrypts it: signxml checks the signature and
`cryptography` unwraps the key and decrypts the payload from the XML-Enc elements. Receiving answers with the
receipt Digg's examples show for each fault."""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding as asym
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml import XMLVerifier

from chat.exchange.sdk import envelope, receipts, security
from chat.exchange.sdk.mapping import Party, SdkMessage, to_exchange
from chat.exchange.sdk.validation import check, parse
from web.cli.main import main

from .sdk_certs import Org, make_ca, make_org

DS = "{http://www.w3.org/2000/09/xmldsig#}"
ENC = "{http://www.w3.org/2001/04/xmlenc#}"
POLICE, MUNICIPALITY = "0203:polisen.test", "0203:kommun.test"
OROSANMALAN = {
    "child": {"name": "Kim Andersson", "personal_number": "20150101-1234"},
    "guardians": [{"name": "Eva Andersson", "informed": False, "not_informed_reason": "Risk för barnet"}],
    "reporter": {"name": "Anna Polis", "organisation": "Polisen", "role": "Inspektör"},
    "observations": {"when": "2026-12-07 21:30", "seen": "Barnet var ensamt hemma och rädd."},
    "immediate_danger": True,
}


@pytest.fixture(scope="module")
def orgs() -> tuple[Org, Org, Org]:
    ca = make_ca()
    return ca, make_org(ca, "polisen.test"), make_org(ca, "kommun.test")


def _sealed(police: Org, municipality: Org, **header: str) -> tuple[SdkMessage, bytes]:
    message = envelope.new_message("orosanmalan/v1", OROSANMALAN, label="Orosanmälan",
                                   sender=Party(POLICE, "polisen.region-syd"),
                                   recipient=Party(MUNICIPALITY, "socialtjansten.barn"), **header)
    xhe = envelope.build_xhe(envelope.build_message(message), from_org=POLICE, to_org=MUNICIPALITY,
                             handling_service_id="socialtjansten.barn")
    return message, security.seal(xhe, sender_key_pem=police.key_pem, sender_cert_pem=police.cert_pem,
                                  recipient_cert_pem=municipality.cert_pem)


def _decrypt_with_cryptography(root: etree._Element, municipality: Org) -> etree._Element:
    """XML-Enc as the W3C recommendation defines it, with primitives only: another implementation than xmlsec."""
    data = root.find(f".//{ENC}EncryptedData")
    assert data is not None
    assert data.find(f"{ENC}EncryptionMethod").get("Algorithm") == "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
    key_elem = data.find(f"{DS}KeyInfo/{ENC}EncryptedKey")
    assert key_elem.find(f"{ENC}EncryptionMethod").get("Algorithm") == "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
    named = key_elem.findtext(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate")
    assert base64.b64decode("".join(named.split())) == municipality.cert.public_bytes(Encoding.DER)
    wrapped = base64.b64decode("".join(key_elem.findtext(f"{ENC}CipherData/{ENC}CipherValue").split()))
    key = municipality.key.decrypt(wrapped, asym.OAEP(asym.MGF1(hashes.SHA1()), hashes.SHA1(), None))  # noqa: S303
    blob = base64.b64decode("".join(data.findtext(f"{ENC}CipherData/{ENC}CipherValue").split()))
    decryptor = Cipher(algorithms.AES(key), modes.CBC(blob[:16])).decryptor()
    plain = decryptor.update(blob[16:]) + decryptor.finalize()
    # XML-Enc padding: the last octet says how many octets to drop (the others are arbitrary, unlike PKCS#7).
    assert len(plain) % 16 == 0
    return etree.fromstring(plain[:-plain[-1]])


def test_an_orosanmalan_validates_verifies_with_signxml_and_decrypts_with_cryptography(orgs: tuple[Org, Org, Org]) -> None:
    ca, police, municipality = orgs
    message, sealed = _sealed(police, municipality)
    report = check(sealed)
    assert report.kind == "envelope" and report.ok, report.problems
    header = envelope.parse_xhe(sealed)
    assert (header.from_org, header.to_org, header.encrypted) == (POLICE, MUNICIPALITY, True)
    assert b"Kim Andersson" not in sealed and b"20150101" not in sealed

    # signxml verifies the enveloped signature over the whole envelope with the sender's certificate.
    verified = XMLVerifier().verify(sealed, x509_cert=police.cert_pem.decode(), ca_pem_file=None)
    assert etree.QName(verified.signed_xml).localname == "XHE"
    payload = _decrypt_with_cryptography(parse(sealed).getroot(), municipality)
    inner = etree.tostring(payload)
    assert check(inner).ok, check(inner).problems
    got = envelope.parse_message(inner)
    assert (got.message_id, got.conversation_id, got.confidential) == (message.message_id, message.message_id, True)
    assert got == message
    text, structured = got.documents[:2]
    assert "Kim Andersson" in text.texts[0] and "Akut fara: ja" in text.texts[0]
    assert structured.name == "urn:samtal:exchange:document:orosanmalan/v1"
    assert structured.files[0].content_type == "application/json" and json.loads(structured.files[0].content) == OROSANMALAN
    assert to_exchange(got).content == OROSANMALAN


def test_receiving_it_gives_an_accepted_receipt_and_the_message(orgs: tuple[Org, Org, Org]) -> None:
    ca, police, municipality = orgs
    message, sealed = _sealed(police, municipality, ref_to_message_id="6f1c3a52-0c34-4b7e-9a43-2b1f2b8c9d10")
    got = receipts.receive(sealed, our_org=MUNICIPALITY, recipient_key_pem=municipality.key_pem,
                           trusted_ca_pems=[ca.cert_pem])
    assert got.receipt.accepted and got.message is not None, got.receipt.lines
    assert got.message.ref_to_message_id == "6f1c3a52-0c34-4b7e-9a43-2b1f2b8c9d10"
    assert check(got.receipt_xml).ok and b"<cbc:ResponseCode>ACCEPTED" in got.receipt_xml
    back = receipts.parse_receipt(got.receipt_xml)
    assert (back.accepted, back.ref_id, back.sender_org, back.receiver_org) == (
        True, envelope.parse_xhe(sealed).id, MUNICIPALITY, POLICE)


def _rejected(got: receipts.Received, code: str) -> receipts.Line:
    assert not got.receipt.accepted and got.message is None
    assert check(got.receipt_xml).ok, check(got.receipt_xml).problems
    assert b"<cbc:ResponseCode>REJECTED" in got.receipt_xml
    line = receipts.parse_receipt(got.receipt_xml).lines[0]
    assert line.code == code, got.receipt.lines
    return line


def test_a_tampered_envelope_or_an_untrusted_signer_gets_a_signature_receipt(orgs: tuple[Org, Org, Org]) -> None:
    ca, police, municipality = orgs
    _, sealed = _sealed(police, municipality)
    tampered = sealed.replace(b"socialtjansten.barn</HandlingServiceID>", b"socialtjansten.vuxen</HandlingServiceID>")
    assert tampered != sealed
    _rejected(receipts.receive(tampered, our_org=MUNICIPALITY, recipient_key_pem=municipality.key_pem,
                               trusted_ca_pems=[ca.cert_pem]), "SIG")
    other_ca = make_ca("OTHER CA")
    _rejected(receipts.receive(sealed, our_org=MUNICIPALITY, recipient_key_pem=municipality.key_pem,
                               trusted_ca_pems=[other_ca.cert_pem]), "SIG")


def test_a_schema_error_gets_sv_and_a_rule_error_bv(orgs: tuple[Org, Org, Org]) -> None:
    ca, police, municipality = orgs
    _, sealed = _sealed(police, municipality)
    bad_schema = sealed.replace(b"<XHEVersionID>1.0</XHEVersionID>", b"<XHEVersion>1.0</XHEVersion>")
    line = _rejected(receipts.receive(bad_schema, our_org=MUNICIPALITY, recipient_key_pem=municipality.key_pem,
                                      trusted_ca_pems=[ca.cert_pem]), "SV")
    assert "XHEVersion" in line.reason
    bad_rule = sealed.replace(b"urn:fdc:digg.se:edelivery:xhe:1", b"urn:example:xhe")
    line = _rejected(receipts.receive(bad_rule, our_org=MUNICIPALITY, recipient_key_pem=municipality.key_pem,
                                      trusted_ca_pems=[ca.cert_pem]), "BV")
    assert line.rule == "R3-XHE" and "CustomizationID" in line.path


def test_a_message_for_another_key_gets_an_other_error(orgs: tuple[Org, Org, Org]) -> None:
    ca, police, municipality = orgs
    _, sealed = _sealed(police, municipality)
    stranger = make_org(ca, "kommun.test")  # the right name, another key: it cannot be decrypted
    line = _rejected(receipts.receive(sealed, our_org=MUNICIPALITY, recipient_key_pem=stranger.key_pem,
                                      trusted_ca_pems=[ca.cert_pem]), "BV")
    assert "decrypt" in line.reason


def test_samtal_sdk_build_makes_an_envelope_that_check_accepts(orgs: tuple[Org, Org, Org], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    ca, police, municipality = orgs
    for name, pem in (("key.pem", police.key_pem), ("cert.pem", police.cert_pem), ("to.pem", municipality.cert_pem)):
        (tmp_path / name).write_bytes(pem)
    (tmp_path / "oro.json").write_text(json.dumps(OROSANMALAN), encoding="utf-8")
    out = tmp_path / "envelope.xml"
    assert main(["sdk", "build", str(tmp_path / "oro.json"), "--type", "orosanmalan/v1", "--label", "Orosanmälan",
                 "--sender", POLICE, "--sender-function", "polisen.region-syd", "--recipient", MUNICIPALITY,
                 "--recipient-function", "socialtjansten.barn", "--key", str(tmp_path / "key.pem"),
                 "--cert", str(tmp_path / "cert.pem"), "--recipient-cert", str(tmp_path / "to.pem"),
                 "--out", str(out)]) == 0
    built = json.loads(capsys.readouterr().out)
    assert main(["sdk", "check", str(out)]) == 0
    opened = security.open_sealed(out.read_bytes(), recipient_key_pem=municipality.key_pem,
                                  trusted_ca_pems=[ca.cert_pem])
    assert envelope.parse_message(opened.payload).message_id == built["message_id"]
    # Any file goes as an attachment, with the text given.
    (tmp_path / "beslut.pdf").write_bytes(b"%PDF-1.7 test")
    assert main(["sdk", "build", str(tmp_path / "beslut.pdf"), "--label", "Beslut", "--text", "Se bifogat beslut.",
                 "--sender", MUNICIPALITY, "--sender-function", "socialtjansten.barn", "--recipient", POLICE,
                 "--recipient-function", "polisen.region-syd", "--key", str(tmp_path / "key.pem"),
                 "--cert", str(tmp_path / "cert.pem"), "--recipient-cert", str(tmp_path / "to.pem"),
                 "--ref-to", built["message_id"], "--conversation", built["conversation_id"],
                 "--out", str(out)]) == 0
    opened = security.open_sealed(out.read_bytes(), recipient_key_pem=municipality.key_pem,
                                  trusted_ca_pems=[ca.cert_pem])
    reply = envelope.parse_message(opened.payload)
    assert reply.ref_to_message_id == built["message_id"] and reply.conversation_id == built["conversation_id"]
    assert reply.documents[0].texts == ("Se bifogat beslut.",)
    assert reply.documents[1].files[0].content == b"%PDF-1.7 test" and reply.documents[1].files[0].content_type == "application/pdf"


def _open_command(folder: Path, sealed: bytes, ca: Org, municipality: Org) -> list[str]:
    """`samtal sdk open` of `sealed` by the municipality, its files written to `folder`."""
    for name, data in (("in.xml", sealed), ("key.pem", municipality.key_pem), ("ca.pem", ca.cert_pem)):
        (folder / name).write_bytes(data)
    return ["sdk", "open", str(folder / "in.xml"), "--key", str(folder / "key.pem"), "--ca", str(folder / "ca.pem"),
            "--organisation", MUNICIPALITY]


def test_samtal_sdk_open_answers_with_the_receipt_which_goes_back_sealed(orgs: tuple[Org, Org, Org], tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    ca, police, municipality = orgs
    message, sealed = _sealed(police, municipality)
    opened = [*_open_command(tmp_path, sealed, ca, municipality), "--out", str(tmp_path / "message.xml"),
              "--receipt", str(tmp_path / "receipt.xml")]
    assert main(opened) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["receipt"] == "ACCEPTED" and summary["message"]["id"] == message.message_id
    assert main(["sdk", "check", str(tmp_path / "receipt.xml")]) == 0
    assert envelope.parse_message((tmp_path / "message.xml").read_bytes()) == message
    capsys.readouterr()

    # The receipt goes back in its own signed and encrypted envelope, and the police read it.
    back = receipts.seal_receipt((tmp_path / "receipt.xml").read_bytes(), sender_key_pem=municipality.key_pem,
                                 sender_cert_pem=municipality.cert_pem, recipient_cert_pem=police.cert_pem)
    assert check(back).ok and envelope.parse_xhe(back).document_type.endswith("}ApplicationResponse")
    receipt = receipts.open_receipt(back, recipient_key_pem=police.key_pem, trusted_ca_pems=[ca.cert_pem])
    assert receipt.accepted and receipt.ref_id == envelope.parse_xhe(sealed).id
    with pytest.raises(security.SignatureError):
        receipts.open_receipt(back.replace(b"<HandlingServiceID>0203:polisen.test<", b"<HandlingServiceID>0203:x<"),
                              recipient_key_pem=police.key_pem,
                              trusted_ca_pems=[ca.cert_pem])

    # A tampered envelope: exit 1, and the receipt says SIG.
    (tmp_path / "in.xml").write_bytes(sealed.replace(b"<XHEVersionID>1.0", b"<XHEVersionID> 1.0"))
    assert main(opened) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["receipt"] == "REJECTED" and summary["lines"][0]["code"] == "SIG" and summary["message"] is None


def test_a_message_that_breaks_digg_rules_is_named_before_it_travels() -> None:
    message = envelope.new_message("message/v1", {"subject": "Hej", "text": "Text"}, label="Hej",
                                   sender=Party(POLICE, "polisen.region-syd"), recipient=Party(MUNICIPALITY, "soc"))
    assert envelope.message_problems(message) == []
    broken = dataclasses.replace(message, conversation_id="not-a-uuid", label="")
    found = envelope.message_problems(broken)
    assert any("conversationId" in p.path and "UUID" in p.message for p in found), found
    assert any(p.path.endswith("label[1]") and "empty" in p.message for p in found), found


def test_with_registered_signers_another_organisation_cannot_sign_as_the_sender(orgs: tuple[Org, Org, Org]) -> None:
    ca, police, municipality = orgs
    impostor = make_org(ca, "annan.test")  # the same CA vouches for it, but it is not the police
    _, genuine = _sealed(police, municipality)
    _, forged = _sealed(impostor, municipality)
    registered = {POLICE: [hashlib.sha256(police.cert.public_bytes(Encoding.DER)).hexdigest().upper()]}

    def receive(xhe: bytes) -> receipts.Received:
        return receipts.receive(xhe, our_org=MUNICIPALITY, recipient_key_pem=municipality.key_pem,
                                trusted_ca_pems=[ca.cert_pem], signers=registered)
    assert receive(genuine).receipt.accepted
    assert "not registered for 0203:polisen.test" in _rejected(receive(forged), "SIG").reason


def test_samtal_sdk_open_checks_registered_signers(orgs: tuple[Org, Org, Org], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    ca, police, municipality = orgs
    _, sealed = _sealed(police, municipality)
    command = _open_command(tmp_path, sealed, ca, municipality)
    right = hashlib.sha256(police.cert.public_bytes(Encoding.DER)).hexdigest()
    assert main([*command, "--signer", f"{POLICE}={right}"]) == 0
    assert json.loads(capsys.readouterr().out)["receipt"] == "ACCEPTED"
    assert main([*command, "--signer", f"{POLICE}={'0' * 64}"]) == 1
    assert json.loads(capsys.readouterr().out)["lines"][0]["code"] == "SIG"
