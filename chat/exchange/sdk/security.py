"""O2O security of an XHE envelope, transport model tm-base-ext-sigenc, with python-xmlsec (libxmlsec1).

As in Digg's examples: the payload is encrypted for the recipient organisation's certificate (XML Encryption,
AES-256-CBC content key carried in an EncryptedKey under RSA-OAEP-MGF1P, the recipient's certificate named in
its KeyInfo), then the whole envelope is signed by the sender organisation (XML Signature, enveloped, inclusive
C14N 1.0, RSA-SHA256, SHA-256 digest, the sender's certificate in KeyInfo). Receiving reverses it: the signature
is verified first (against trusted CA certificates: SITHS e-id function CA, or test CAs; or a partner's own
certificate, pinned), then the payload decrypted. No canonicalisation or cryptography is done here by hand."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from chat.exchange.sdk.envelope import payload_content
from chat.exchange.sdk.validation import XHA_NS, XHB_NS, parse

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
ENC_NS = "http://www.w3.org/2001/04/xmlenc#"


class SignatureError(Exception):
    """The envelope's signature is missing, malformed, or does not verify against a trusted certificate."""


class DecryptionError(Exception):
    """The payload could not be decrypted with the recipient's key."""


@dataclass(frozen=True)
class Opened:
    envelope: etree._Element       # the envelope with its payload in the clear
    payload: etree._Element        # the decrypted payload's root (an SDK messagePayload)
    signer_certificate: bytes      # DER, from the signature's KeyInfo (verified against a trusted CA)


def seal(xhe: bytes, *, sender_key_pem: bytes, sender_cert_pem: bytes, recipient_cert_pem: bytes) -> bytes:
    """Encrypt the payload of an unencrypted XHE envelope for the recipient and sign the envelope."""
    root = parse(xhe).getroot()
    content = payload_content(root)
    payload = content[0]
    _encrypt(payload, recipient_cert_pem)
    indicator = root.find(f"{{{XHA_NS}}}Payloads/{{{XHA_NS}}}Payload/{{{XHB_NS}}}InstanceEncryptionIndicator")
    assert indicator is not None
    indicator.text = "true"
    _sign(root, sender_key_pem, sender_cert_pem)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _encrypt(element: etree._Element, recipient_cert_pem: bytes) -> None:
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(recipient_cert_pem, xmlsec.constants.KeyDataFormatCertPem, None))
    template = xmlsec.template.encrypted_data_create(
        element.getroottree().getroot(), xmlsec.constants.TransformAes256Cbc, type=xmlsec.constants.TypeEncElement,
        ns="xenc")
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="ds")
    encrypted_key = xmlsec.template.add_encrypted_key(key_info, xmlsec.constants.TransformRsaOaep)
    xmlsec.template.encrypted_data_ensure_cipher_value(encrypted_key)
    x509 = xmlsec.template.add_x509_data(xmlsec.template.encrypted_data_ensure_key_info(encrypted_key))
    xmlsec.template.x509_data_add_certificate(x509)
    context = xmlsec.EncryptionContext(manager)
    context.key = xmlsec.Key.generate(xmlsec.constants.KeyDataAes, 256, xmlsec.constants.KeyDataTypeSession)
    context.encrypt_xml(template, element)


def _sign(root: etree._Element, key_pem: bytes, cert_pem: bytes) -> None:
    signature = xmlsec.template.create(root, xmlsec.constants.TransformInclC14N,
                                       xmlsec.constants.TransformRsaSha256, ns="ds")
    root.append(signature)
    reference = xmlsec.template.add_reference(signature, xmlsec.constants.TransformSha256, uri="")
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformEnveloped)
    x509 = xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
    xmlsec.template.x509_data_add_certificate(x509)
    context = xmlsec.SignatureContext()
    key = xmlsec.Key.from_memory(key_pem, xmlsec.constants.KeyDataFormatPem, None)
    key.load_cert_from_memory(cert_pem, xmlsec.constants.KeyDataFormatCertPem)
    context.key = key
    context.sign(signature)


def verify(xhe: bytes | etree._Element, trusted_ca_pems: list[bytes]) -> tuple[etree._Element, bytes]:
    """The envelope (parsed) and its signer's certificate, once its one enveloped signature verifies."""
    root = parse(xhe).getroot() if isinstance(xhe, bytes) else xhe
    signatures = root.findall(f"{{{DS_NS}}}Signature")
    if len(signatures) != 1 or len(root.findall(f".//{{{DS_NS}}}Signature")) != 1:
        raise SignatureError("the envelope must carry exactly one signature, on the XHE element")
    signature = signatures[0]
    references = signature.findall(f"{{{DS_NS}}}SignedInfo/{{{DS_NS}}}Reference")
    # Only a signature over the whole envelope counts: a reference to a part would let the rest be swapped.
    if len(references) != 1 or references[0].get("URI") != "":
        raise SignatureError("the signature must have one reference, to the whole envelope (URI=\"\")")
    certificate = signature.findtext(f"{{{DS_NS}}}KeyInfo/{{{DS_NS}}}X509Data/{{{DS_NS}}}X509Certificate")
    if not certificate:
        raise SignatureError("the signature carries no X509Certificate")
    signer = base64.b64decode("".join(certificate.split()))
    pinned = [pem for pem in trusted_ca_pems if _der(pem) == signer]
    if pinned:
        held = x509.load_pem_x509_certificate(pinned[0])
        if not held.not_valid_before_utc <= datetime.now(UTC) <= held.not_valid_after_utc:
            raise SignatureError("the signer's certificate is not valid now")
        # A partner's own (e.g. self-signed) certificate, trusted as such: libxmlsec1 will not chain a
        # self-signed end certificate, so its key verifies the signature directly.
        context = xmlsec.SignatureContext()
        context.key = xmlsec.Key.from_memory(pinned[0], xmlsec.constants.KeyDataFormatCertPem, None)
    else:
        manager = xmlsec.KeysManager()
        for pem in trusted_ca_pems:
            manager.load_cert_from_memory(pem, xmlsec.constants.KeyDataFormatCertPem,
                                          xmlsec.constants.KeyDataTypeTrusted)
        context = xmlsec.SignatureContext(manager)  # type: ignore[call-arg]  # xmlsec's stub omits __init__(manager)
    try:
        context.verify(signature)
    except xmlsec.Error as error:
        raise SignatureError(f"the signature does not verify: {error}") from error
    return root, signer


def _der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


def decrypt(root: etree._Element, recipient_key_pem: bytes) -> etree._Element:
    """Decrypt the envelope's payload in place and return it."""
    content = payload_content(root)
    encrypted = content.find(f"{{{ENC_NS}}}EncryptedData")
    if encrypted is None:
        raise DecryptionError("the payload is not encrypted")
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(recipient_key_pem, xmlsec.constants.KeyDataFormatPem, None))
    try:
        decrypted: etree._Element = xmlsec.EncryptionContext(manager).decrypt(encrypted)
    except xmlsec.Error as error:
        raise DecryptionError(f"the payload could not be decrypted: {error}") from error
    return decrypted


def open_sealed(xhe: bytes, *, recipient_key_pem: bytes, trusted_ca_pems: list[bytes]) -> Opened:
    """Verify the sender's signature, then decrypt the payload with the recipient's key."""
    root, signer = verify(xhe, trusted_ca_pems)
    payload = decrypt(root, recipient_key_pem)
    return Opened(root, payload, signer)
