"""Meddelandekvittens: Digg's receipt for a received SDK envelope, a UBL ApplicationResponse 2.1 profile.

`receive` checks a received envelope in the order a sender can act on (schema, business rules, signature,
decryption, the message inside) and answers with ACCEPTED or REJECTED; a rejection lists each problem as a line
with Digg's reason codes: SV (schema), BV (Schematron, and any other rule of the specification, as in Digg's
example Kvittens_RE-AnnatFel), SIG (signature). The receipt is itself validated before it is returned."""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from lxml import etree

from chat.exchange.sdk import security
from chat.exchange.sdk.envelope import (
    PARTICIPANT_SCHEME,
    RECEIPT_DOCUMENT_ID,
    RECEIPT_DOCUMENT_TYPE,
    XheHeader,
    build_xhe,
    parse_message,
    parse_xhe,
)
from chat.exchange.sdk.envelope import sub_element as _sub
from chat.exchange.sdk.mapping import SdkMessage
from chat.exchange.sdk.validation import RECEIPT_NS, Problem, check, check_tree, parse

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CUSTOMIZATION = "urn:fdc:digg.se:edelivery:messagetype:response:1"
PROFILE = "bdx:noprocess"
# A sender needs the first problems, not thousands: a receipt lists at most this many lines.
MAX_LINES = 50

Code = Literal["SV", "BV", "SIG"]


@dataclass(frozen=True)
class Line:
    code: Code
    reason: str
    path: str = "NA"       # Digg's examples write NA where no single element is at fault
    rule: str = ""


@dataclass
class Receipt:
    sender_org: str        # who received the envelope and answers
    receiver_org: str      # who sent it
    ref_id: str            # the envelope's Header/ID
    lines: list[Line] = field(default_factory=list)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    issued: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def accepted(self) -> bool:
        return not self.lines


@dataclass
class Received:
    receipt: Receipt
    receipt_xml: bytes
    header: XheHeader | None = None
    message: SdkMessage | None = None
    message_xml: bytes | None = None
    signer_certificate: bytes | None = None


def build_receipt(receipt: Receipt) -> bytes:
    root = etree.Element(f"{{{RECEIPT_NS}}}ApplicationResponse", nsmap={None: RECEIPT_NS, "cac": CAC, "cbc": CBC})
    _sub(root, CBC, "CustomizationID", CUSTOMIZATION)
    _sub(root, CBC, "ProfileID", PROFILE)
    _sub(root, CBC, "ID", receipt.id)
    issued = receipt.issued.astimezone(UTC)
    _sub(root, CBC, "IssueDate", issued.date().isoformat())
    _sub(root, CBC, "IssueTime", issued.strftime("%H:%M:%SZ"))
    for role, org in (("SenderParty", receipt.sender_org), ("ReceiverParty", receipt.receiver_org)):
        _sub(_sub(root, CAC, role), CBC, "EndpointID", org, schemeID=PARTICIPANT_SCHEME)
    response = _sub(root, CAC, "DocumentResponse")
    _sub(_sub(response, CAC, "Response"), CBC, "ResponseCode", "ACCEPTED" if receipt.accepted else "REJECTED")
    _sub(_sub(response, CAC, "DocumentReference"), CBC, "ID", receipt.ref_id)
    for line in receipt.lines[:MAX_LINES]:
        entry = _sub(response, CAC, "LineResponse")
        _sub(_sub(entry, CAC, "LineReference"), CBC, "LineID", line.path)
        answer = _sub(entry, CAC, "Response")
        _sub(answer, CBC, "ResponseCode", line.code)
        status = _sub(answer, CAC, "Status")
        if line.rule:
            _sub(status, CBC, "StatusReasonCode", line.rule)
        _sub(status, CBC, "StatusReason", line.reason)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def parse_receipt(xml: bytes) -> Receipt:
    root = parse(xml).getroot()
    if root.tag != f"{{{RECEIPT_NS}}}ApplicationResponse":
        raise ValueError("not a receipt (ApplicationResponse)")
    ns = {"cac": CAC, "cbc": CBC}

    def text(element: etree._Element, path: str) -> str:
        return (element.findtext(path, "", ns) or "").strip()
    lines = []
    for entry in root.iterfind("cac:DocumentResponse/cac:LineResponse", ns):
        code = text(entry, "cac:Response/cbc:ResponseCode")
        lines.append(Line(code if code in ("SV", "BV", "SIG") else "BV",  # type: ignore[arg-type]
                          text(entry, "cac:Response/cac:Status/cbc:StatusReason"),
                          text(entry, "cac:LineReference/cbc:LineID") or "NA",
                          text(entry, "cac:Response/cac:Status/cbc:StatusReasonCode")))
    issued = datetime.fromisoformat(f"{text(root, 'cbc:IssueDate')}T{text(root, 'cbc:IssueTime')}".replace("Z", "+00:00"))
    receipt = Receipt(text(root, "cac:SenderParty/cbc:EndpointID"), text(root, "cac:ReceiverParty/cbc:EndpointID"),
                      text(root, "cac:DocumentResponse/cac:DocumentReference/cbc:ID"), lines, text(root, "cbc:ID"),
                      issued)
    if text(root, "cac:DocumentResponse/cac:Response/cbc:ResponseCode") == "REJECTED" and not lines:
        receipt.lines.append(Line("BV", "rejected without a reason"))
    return receipt


def _lines(problems: list[Problem]) -> list[Line]:
    return [Line("SV" if p.kind in ("schema", "syntax") else "BV", p.message, p.path or "NA", p.rule)
            for p in problems]


def receive(xhe: bytes, *, our_org: str, recipient_key_pem: bytes, trusted_ca_pems: list[bytes],
            signers: Mapping[str, Collection[str]] | None = None) -> Received:
    """Check, verify and decrypt a received envelope; always returns a receipt to send back.

    A trusted CA vouches for an organisation's certificate, not for which participant id it may send as; with
    `signers` (participant id -> SHA-256 fingerprints, hex, of the signing certificates registered for it) an
    envelope signed by a certificate not registered for its FromParty is refused (SIG)."""
    def answer(sender: str, ref_id: str, lines: list[Line], **found: object) -> Received:
        receipt = Receipt(our_org, sender or our_org, ref_id or "NA", lines)
        xml = build_receipt(receipt)
        assert check_tree(parse(xml)).ok, "a receipt Samtal built fails Digg's receipt rules"
        return Received(receipt, xml, **found)  # type: ignore[arg-type]

    try:
        tree = parse(xhe)
    except etree.XMLSyntaxError as error:
        return answer("", "", [Line("SV", f"not well-formed XML: {error.msg}")])
    except ValueError as error:
        return answer("", "", [Line("SV", str(error))])
    report = check_tree(tree)
    try:
        header = parse_xhe(tree.getroot())
    except ValueError as error:
        return answer("", "", _lines(report.problems) or [Line("SV", str(error))])
    if report.problems:
        return answer(header.from_org, header.id, _lines(report.problems), header=header)
    if header.to_org != our_org:
        return answer(header.from_org, header.id, [Line("BV", f"addressed to {header.to_org}, not {our_org}",
                                                        "/XHE/Header/ToParty")], header=header)
    if not header.encrypted:
        return answer(header.from_org, header.id, [Line("BV", "transport model tm-base-ext-sigenc required: the "
                                                        "payload must be encrypted", "/XHE/Payloads/Payload")],
                      header=header)
    try:
        root, signer = security.verify(tree.getroot(), trusted_ca_pems)
        if signers is not None and hashlib.sha256(signer).hexdigest() not in {
                f.replace(":", "").lower() for f in signers.get(header.from_org, ())}:
            raise security.SignatureError(f"signed by a certificate not registered for {header.from_org}")
    except security.SignatureError as error:
        return answer(header.from_org, header.id, [Line("SIG", str(error))], header=header)
    try:
        payload = security.decrypt(root, recipient_key_pem)
    except security.DecryptionError as error:
        return answer(header.from_org, header.id, [Line("BV", str(error), "/XHE/Payloads/Payload/PayloadContent")],
                      header=header, signer_certificate=signer)
    message_xml = etree.tostring(payload, xml_declaration=True, encoding="UTF-8")
    inner = check_tree(parse(message_xml))
    if inner.kind != "message" or inner.problems:
        lines = _lines(inner.problems) or [Line("BV", "the payload is not an SDK message")]
        return answer(header.from_org, header.id, lines, header=header, signer_certificate=signer)
    message = parse_message(payload)
    if message.recipient.organisation != header.to_org or message.sender.organisation != header.from_org:
        return answer(header.from_org, header.id, [Line("BV", "the message's sender and recipient differ from the "
                                                        "envelope's parties", "/messagePayload/message/messageHeader")],
                      header=header, signer_certificate=signer)
    return answer(header.from_org, header.id, [], header=header, message=message, message_xml=message_xml,
                  signer_certificate=signer)


def seal_receipt(receipt_xml: bytes, *, sender_key_pem: bytes, sender_cert_pem: bytes,
                 recipient_cert_pem: bytes) -> bytes:
    """A receipt in its own XHE envelope, signed and encrypted like a message (tm-base-ext-sigenc)."""
    receipt = parse_receipt(receipt_xml)
    xhe = build_xhe(receipt_xml, from_org=receipt.sender_org, to_org=receipt.receiver_org,
                    handling_service_id=receipt.receiver_org, document_id=RECEIPT_DOCUMENT_ID,
                    document_type=RECEIPT_DOCUMENT_TYPE)
    return security.seal(xhe, sender_key_pem=sender_key_pem, sender_cert_pem=sender_cert_pem,
                         recipient_cert_pem=recipient_cert_pem)


def open_receipt(xhe: bytes, *, recipient_key_pem: bytes, trusted_ca_pems: list[bytes]) -> Receipt:
    """A received receipt envelope: checked, verified and decrypted, and the receipt inside checked too.
    ValueError (or security's errors) when any of it fails: such a receipt is not shown as an answer."""
    report = check(xhe)
    if not report.ok or report.kind != "envelope":
        raise ValueError("; ".join(str(p) for p in report.problems[:5]) or "not an XHE envelope")
    opened = security.open_sealed(xhe, recipient_key_pem=recipient_key_pem, trusted_ca_pems=trusted_ca_pems)
    receipt_xml = etree.tostring(opened.payload)
    inner = check(receipt_xml)
    if not inner.ok or inner.kind != "receipt":
        raise ValueError("; ".join(str(p) for p in inner.problems[:5]) or "the payload is not a receipt")
    receipt = parse_receipt(receipt_xml)
    header = parse_xhe(opened.envelope)
    if (receipt.sender_org, receipt.receiver_org) != (header.from_org, header.to_org):
        raise ValueError("the receipt's parties differ from the envelope's")
    return receipt
