"""SDK messages (urn:riv:infrastructure:messaging:MessageWithAttachments:3) as XML, and their XHE 1.0 envelope.

The message is mapping.SdkMessage, which the REST API carrier uses too (mapping.py maps it to and from our
exchange documents); here it is written in the element order of Digg's XSD with lxml, and read back with the
same safe parser that validation uses."""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from chat.exchange.sdk.mapping import (
    FUNCTIONAL_ADDRESS,
    PARTICIPANT,
    Party,
    SdkDocument,
    SdkFile,
    SdkMessage,
    documents_for,
    is_confidential,
)
from chat.exchange.sdk.validation import MSG_NS, XHA_NS, XHB_NS, XHE_NS, Problem, check, parse

PARTICIPANT_SCHEME = PARTICIPANT
CUSTOMIZATION = "urn:fdc:digg.se:edelivery:xhe:1"
DOCUMENT_ID = "urn:riv:infrastructure:messaging:MessageWithAttachments:3::messagePayload##3.0::tm-base-ext-sigenc"
DOCUMENT_TYPE = f"Q{{{MSG_NS}}}messagePayload"
# A receipt travels in an XHE envelope of its own: the receiptAction of Digg's Domibus PMode example, written as
# it is there (the access point matches it character for character; "fdc:" without "urn:" is Digg's).
RECEIPT_DOCUMENT_ID = ("urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::ApplicationResponse"
                       "##fdc:digg.se:edelivery:messagetype:response:1::2.1::tm-base-ext-sigenc")
RECEIPT_DOCUMENT_TYPE = "Q{urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2}ApplicationResponse"
FEDERATION = "urn:fdc:digg.se:edelivery:federation:sdk"


@dataclass(frozen=True)
class XheHeader:
    id: str
    from_org: str
    to_org: str
    document_type: str
    handling_service_id: str
    encrypted: bool


def sub_element(parent: etree._Element, ns: str, name: str, text: str | None = None,
                **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


_sub = sub_element


def timestamp(moment: datetime | None = None) -> str:
    """Now (or `moment`) as Digg's rule wants it: YYYY-MM-DDThh:mm:ss.sssZ, in UTC."""
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_message(doc_type: str, content: dict[str, Any], *, label: str, sender: Party, recipient: Party,
                conversation_id: str | None = None, ref_to_message_id: str | None = None) -> SdkMessage:
    """One of our exchange documents as a new SDK message (a new conversation unless one is named)."""
    message_id = str(uuid.uuid4())
    return SdkMessage(message_id, conversation_id or message_id, timestamp(), label,
                      is_confidential(doc_type, content), sender, recipient, documents_for(doc_type, content),
                      ref_to_message_id)


def _party(parent: etree._Element, role: str, party: Party) -> None:
    element = _sub(parent, MSG_NS, role)
    ident = _sub(element, MSG_NS, f"{role}ID")
    _sub(ident, MSG_NS, "root", PARTICIPANT)
    _sub(ident, MSG_NS, "extension", party.organisation)
    sub_org = _sub(_sub(element, MSG_NS, "attention"), MSG_NS, "subOrganization")
    org_id = _sub(sub_org, MSG_NS, "organizationId")
    _sub(org_id, MSG_NS, "root", FUNCTIONAL_ADDRESS)
    _sub(org_id, MSG_NS, "extension", party.function)
    if party.label:
        _sub(sub_org, MSG_NS, "label", party.label)


def build_message(msg: SdkMessage) -> bytes:
    root = etree.Element(f"{{{MSG_NS}}}messagePayload", nsmap={"sdk": MSG_NS})
    message = _sub(root, MSG_NS, "message")
    header = _sub(message, MSG_NS, "messageHeader")
    _sub(header, MSG_NS, "creationDateTime", msg.created)
    _sub(header, MSG_NS, "messageId", msg.message_id)
    _sub(header, MSG_NS, "conversationId", msg.conversation_id or msg.message_id)
    if msg.ref_to_message_id:
        _sub(header, MSG_NS, "refToMessageId", msg.ref_to_message_id)
    _sub(header, MSG_NS, "label", msg.label)
    _sub(header, MSG_NS, "confidentiality", "true" if msg.confidential else "false")
    system = _sub(header, MSG_NS, "generatingSystem")
    _sub(system, MSG_NS, "root", "un-encoded")
    _sub(system, MSG_NS, "extension", msg.generating_system)
    _party(header, "recipient", msg.recipient)
    _party(header, "sender", msg.sender)
    body = _sub(message, MSG_NS, "messageBody")
    for index, doc in enumerate(msg.documents, start=1):
        entry = _sub(body, MSG_NS, "documents")
        _sub(entry, MSG_NS, "documentID", doc.document_id)
        _sub(entry, MSG_NS, "documentName", doc.name or doc.document_id)
        _sub(entry, MSG_NS, "index", str(index))
        for file in doc.files:
            files = _sub(entry, MSG_NS, "ContentFiles")
            _sub(files, MSG_NS, "fileName", file.name)
            _sub(files, MSG_NS, "contentType", file.content_type)
            _sub(files, MSG_NS, "content", base64.b64encode(file.content).decode())
        for text in doc.texts:
            _sub(_sub(entry, MSG_NS, "ContentText"), MSG_NS, "characterSequence", text)
    result: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return result


def message_problems(message: SdkMessage) -> list[Problem]:
    """Digg's XSD and Schematron problems of `message` as the SDK message XML it stands for: how a message that
    travels as JSON (the REST API) is held to the same rules as one in an envelope, both ways."""
    return check(build_message(message)).problems


def _text(element: etree._Element | None, path: str) -> str:
    found = element.find(path.replace("m:", f"{{{MSG_NS}}}")) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def _read_party(header: etree._Element, role: str) -> Party:
    sub_org = f"m:{role}/m:attention/m:subOrganization/"
    return Party(_text(header, f"m:{role}/m:{role}ID/m:extension"), _text(header, sub_org + "m:organizationId/m:extension"),
                 _text(header, sub_org + "m:label") or None)


def parse_message(xml: bytes | etree._Element) -> SdkMessage:
    """An SDK message (validated first: this reads what the XSD promises) as an SdkMessage."""
    root = parse(xml).getroot() if isinstance(xml, bytes) else xml
    header = root.find(f"{{{MSG_NS}}}message/{{{MSG_NS}}}messageHeader")
    if header is None:
        raise ValueError("not an SDK message: no messageHeader")
    docs = []
    for entry in root.iterfind(f"{{{MSG_NS}}}message/{{{MSG_NS}}}messageBody/{{{MSG_NS}}}documents"):
        files = tuple(SdkFile(_text(f, "m:fileName"), _text(f, "m:contentType"),
                              base64.b64decode("".join(_text(f, "m:content").split())))
                      for f in entry.iterfind(f"{{{MSG_NS}}}ContentFiles"))
        texts = tuple(t.text or "" for t in entry.iterfind(f"{{{MSG_NS}}}ContentText/{{{MSG_NS}}}characterSequence"))
        docs.append(SdkDocument(_text(entry, "m:documentID"), _text(entry, "m:documentName") or None, texts, files))
    return SdkMessage(
        message_id=_text(header, "m:messageId"), conversation_id=_text(header, "m:conversationId"),
        created=_text(header, "m:creationDateTime"), label=_text(header, "m:label"),
        confidential=_text(header, "m:confidentiality") in ("true", "1"), sender=_read_party(header, "sender"),
        recipient=_read_party(header, "recipient"), documents=tuple(docs),
        ref_to_message_id=_text(header, "m:refToMessageId") or None,
        generating_system=_text(header, "m:generatingSystem/m:extension") or "")


def build_xhe(payload: bytes, *, from_org: str, to_org: str, handling_service_id: str,
              envelope_id: str | None = None, federation: str = FEDERATION, created: datetime | None = None,
              document_id: str = DOCUMENT_ID, document_type: str = DOCUMENT_TYPE) -> bytes:
    """An XHE envelope with `payload` (an SDK message, or a receipt with RECEIPT_DOCUMENT_ID and
    RECEIPT_DOCUMENT_TYPE) in the clear; security.seal encrypts and signs it."""
    root = etree.Element(f"{{{XHE_NS}}}XHE", nsmap={"xhe": XHE_NS, "xha": XHA_NS, None: XHB_NS})
    _sub(root, XHB_NS, "XHEVersionID", "1.0")
    _sub(root, XHB_NS, "CustomizationID", CUSTOMIZATION)
    header = _sub(root, XHA_NS, "Header")
    _sub(header, XHB_NS, "ID", envelope_id or str(uuid.uuid4()))
    _sub(header, XHB_NS, "CreationDateTime", timestamp(created))
    scope = _sub(header, XHA_NS, "BusinessScope")
    for code, value in (("DOCUMENTID", document_id), ("DOCUMENTID_SCHEME", "busdox-docid-qns"),
                        ("PROCESSID", "bdx:noprocess"), ("PROCESSID_SCHEME", "urn:fdc:digg.se:edelivery:process"),
                        ("FEDERATIONID", federation)):
        criterion = _sub(scope, XHA_NS, "BusinessScopeCriterion")
        _sub(criterion, XHB_NS, "BusinessScopeCriterionTypeCode", code)
        _sub(criterion, XHB_NS, "BusinessScopeCriterionValue", value)
    for role, org in (("FromParty", from_org), ("ToParty", to_org)):
        _sub(_sub(_sub(header, XHA_NS, role), XHA_NS, "PartyIdentification"), XHB_NS, "ID", org,
             schemeID=PARTICIPANT_SCHEME)
    item = _sub(_sub(root, XHA_NS, "Payloads"), XHA_NS, "Payload")
    _sub(item, XHB_NS, "DocumentTypeCode", document_type)
    _sub(item, XHB_NS, "ContentTypeCode", "application/xml")
    _sub(item, XHB_NS, "HandlingServiceID", handling_service_id)
    _sub(item, XHB_NS, "InstanceEncryptionIndicator", "false")
    _sub(item, XHA_NS, "PayloadContent").append(parse(payload).getroot())
    result: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return result


def payload_content(root: etree._Element) -> etree._Element:
    found = root.find(f"{{{XHA_NS}}}Payloads/{{{XHA_NS}}}Payload/{{{XHA_NS}}}PayloadContent")
    if found is None:
        raise ValueError("not an XHE envelope: no PayloadContent")
    return found


def parse_xhe(xml: bytes | etree._Element) -> XheHeader:
    root = parse(xml).getroot() if isinstance(xml, bytes) else xml
    if root.tag != f"{{{XHE_NS}}}XHE":
        raise ValueError("not an XHE envelope")

    def text(path: str) -> str:
        found = root.find(path.replace("a:", f"{{{XHA_NS}}}").replace("b:", f"{{{XHB_NS}}}"))
        return (found.text or "").strip() if found is not None else ""
    payload = "a:Payloads/a:Payload/b:"
    return XheHeader(text("a:Header/b:ID"), text("a:Header/a:FromParty/a:PartyIdentification/b:ID"),
                     text("a:Header/a:ToParty/a:PartyIdentification/b:ID"), text(payload + "DocumentTypeCode"),
                     text(payload + "HandlingServiceID"), text(payload + "InstanceEncryptionIndicator") == "true")
