"""Digg's SDK examples and error test data (../shared/sdk/) through `samtal sdk check`: the good ones validate,
the broken ones fail with the error Digg's test case is about, each with its path; the copies of Digg's schemas
and rules that Samtal reads at run time are Digg's files unchanged."""
from __future__ import annotations

from pathlib import Path

import pytest

from chat.exchange.sdk.validation import SCHEMAS, check
from web.cli.main import main

from .conftest import ROOT

SDK = ROOT / "tests" / "sdk-spec"  # Digg's set (../shared/sdk, CC0), copied so that a clean clone tests it
needs_spec = pytest.mark.skipif(not SDK.is_dir(), reason="tests/sdk-spec is missing")

VALID = [
    "message-v3/examples/messageWithAttachments3.xml",
    "message-v3/examples/xhe_encrypted_payload.xml",
    "message-v3/examples/xhe_unencrypted_payload.xml",
    "message-v3/examples/xhe_unencrypted.xml",       # a Domibus submitRequest: its base64 XHE is checked
    "message-v3/examples/as4_xhe_encrypted.xml",
    "message-v3/testdata/min.xml",
    "xhe/examples/XHE-tm-base.xml",
    "xhe/examples/XHE-tm-base-ext-sigenc.xml",
    "xhe/examples/XHE-NonXML-tm-base.xml",
    "receipt/examples/Kvittens_AP-Accepterat.xml",
    "receipt/examples/Kvittens_RE-AnnatFel.xml",
    "receipt/examples/Kvittens_RE-SCHFel.xml",
    "receipt/examples/Kvittens_RE-SIG.xml",
    "receipt/examples/Kvittens_RE-XSDFel.xml",
]


@needs_spec
@pytest.mark.parametrize("name", VALID)
def test_digg_examples_validate(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert SDK is not None
    assert main(["sdk", "check", str(SDK / name)]) == 0
    assert "valid" in capsys.readouterr().out


@needs_spec
def test_tf_2_4_1_a_bad_timestamp_and_conversation_id_fail_schema_and_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert SDK is not None
    assert main(["sdk", "check", str(SDK / "message-v3/testdata/TF2.4.1.xml")]) == 1
    out = capsys.readouterr().out.splitlines()
    header = "/ns2:messagePayload/ns2:message/ns2:messageHeader/ns2:"
    assert any(line.startswith(f"{SDK / 'message-v3/testdata/TF2.4.1.xml'}: schema: {header}creationDateTime:")
               and "'3 Sept. 2019' is not a valid value" in line for line in out), out
    assert any("schematron" in line and "creationDateTime[1]" in line and "Timestamp should match" in line
               for line in out), out
    assert any("schematron" in line and "conversationId[1]" in line and "is not a valid UUID" in line
               for line in out), out
    assert len(out) == 3, out


@needs_spec
def test_tf_2_4_2_a_sender_id_outside_the_code_list_fails_the_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert SDK is not None
    assert main(["sdk", "check", str(SDK / "message-v3/testdata/TF2.4.2.xml")]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert ": schematron: /ns2:messagePayload[1]/ns2:message[1]/ns2:messageHeader[1]/ns2:sender[1]/ns2:senderID[1]" \
           "/ns2:root[1]: " in line
    assert "should be set to 'iso6523-actorid-upis' but was icke-godkänt-kodverk" in line


@needs_spec
def test_a_broken_envelope_names_digg_rule_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert SDK is not None
    text = (SDK / "xhe/examples/XHE-tm-base.xml").read_text(encoding="utf-8-sig")
    broken = tmp_path / "broken.xml"
    broken.write_text(text.replace("urn:fdc:digg.se:edelivery:xhe:1", "urn:example:other")
                      .replace(">1.0</XHEVersionID>", ">2.0</XHEVersionID>"), encoding="utf-8")
    assert main(["sdk", "check", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "schematron [R3-XHE]" in out and "CustomizationID[1]" in out
    assert "schematron [R9-XHE]" in out


def test_a_file_that_is_no_sdk_document_or_not_xml_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.xml"
    other.write_text("<note>hej</note>", encoding="utf-8")
    assert main(["sdk", "check", str(other)]) == 1
    assert "is not an XHE envelope, an SDK message" in capsys.readouterr().out
    other.write_text("<note>hej", encoding="utf-8")
    assert main(["sdk", "check", str(other)]) == 1
    assert ": syntax: line 1: " in capsys.readouterr().out


def test_a_doctype_is_refused_before_anything_expands_its_entities() -> None:
    def body(doctype: bytes, entity: bytes) -> bytes:
        return (b'<?xml version="1.0"?>' + doctype + b'<messagePayload xmlns="urn:riv:infrastructure:messaging:'
                b'MessageWithAttachments:3">' + entity + b"</messagePayload>")
    for doctype in (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>', b'<!DOCTYPE x [<!ENTITY e "hej">]>'):
        assert [str(p) for p in check(body(doctype, b"&e;")).problems] == [
            "syntax: /: a DOCTYPE is not allowed in an SDK document"]
    # Billion laughs: libxml2 refuses the amplification itself, before Samtal sees a tree.
    laughs = b"".join(b'<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">' % ((n,) + (n - 1,) * 10)
                      for n in range(1, 10))
    (problem,) = check(body(b'<!DOCTYPE x [<!ENTITY l0 "ha">' + laughs + b"]>", b"&l9;")).problems
    assert problem.kind == "syntax"


@needs_spec
def test_the_schemas_read_at_run_time_are_digg_files_unchanged() -> None:
    assert SDK is not None
    copies = {"xhe/XHE-1.0.xsd": "xhe/schema/XHE-1.0.xsd",
              "xhe/DIGG-XHE-Business-Rules.xslt": "xhe/DIGG-XHE-Business-Rules.xslt",
              "message/infrastructure_messaging_MessageWithAttachments_3.0.xsd":
                  "message-v3/infrastructure_messaging_MessageWithAttachments_3.0.xsd",
              "message/MessageConstraints.sch.xml": "message-v3/MessageConstraints.sch.xml",
              "receipt/DIGG-AppRes-Business-Rules.xslt": "receipt/DIGG-AppRes-Business-Rules.xslt",
              "LICENSE-CC0": "LICENSE-CC0"}
    copies |= {f"xhe/fragments/{p.name}": f"xhe/schema/fragments/{p.name}" for p in (SDK / "xhe/schema/fragments").iterdir()}
    copies |= {f"receipt/{p.name}": f"receipt/schema/{p.name}" for p in (SDK / "receipt/schema").iterdir()}
    for here, there in copies.items():
        assert (SCHEMAS / here).read_bytes() == (SDK / there).read_bytes(), here


@needs_spec
def test_digg_signed_example_verifies_with_its_senders_certificate_pinned() -> None:
    """Our verifier reads signatures Digg's tools made, not only its own (the example's certificate is
    self-signed, so it is trusted as itself)."""
    from chat.exchange.sdk import security

    assert SDK is not None
    data = (SDK / "xhe/examples/XHE-tm-base-ext-sigenc.xml").read_bytes()
    certificate = data.split(b"<X509Certificate>")[-1].split(b"</X509Certificate>")[0]
    pem = b"-----BEGIN CERTIFICATE-----\n" + certificate + b"\n-----END CERTIFICATE-----\n"
    _, signer = security.verify(data, [pem])
    assert signer.startswith(b"\x30\x82")
    with pytest.raises(security.SignatureError):
        security.verify(data.replace(b"0203:myndighetB.org", b"0203:myndighetC.org"), [pem])


@needs_spec
def test_the_installed_command_checks_a_file(tmp_path: Path) -> None:
    """The `samtal` entry point itself, in a process of its own, finds the schemas it ships."""
    import subprocess
    import sys

    assert SDK is not None
    good = subprocess.run([sys.executable, "-m", "web.cli", "sdk", "check", str(SDK / "xhe/examples/XHE-tm-base.xml")],
                          capture_output=True, text=True, cwd=tmp_path, check=False)
    assert good.returncode == 0 and "valid envelope" in good.stdout, good.stderr
    bad = subprocess.run([sys.executable, "-m", "web.cli", "sdk", "check", "-"], input=(
        SDK / "message-v3/testdata/TF2.4.2.xml").read_text(encoding="utf-8"), capture_output=True, text=True,
        cwd=tmp_path, check=False)
    assert bad.returncode == 1 and "-: schematron: " in bad.stdout and "senderID[1]" in bad.stdout, bad.stderr
