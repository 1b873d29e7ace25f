"""Exchange documents as SDK messages and back (#16 item 1; docs/sdk.md, Mapping).

An SDK message (urn:riv:infrastructure:messaging:MessageWithAttachments:3) is a header (ids, label,
confidentiality, sender and recipient organisation with their functional addresses) and a body of documents,
each with text (ContentText) and/or files (ContentFiles). `SdkMessage` holds exactly that, and is what both
carriers use: the REST API of a message service (`to_rest`/`from_rest`, Digg's api/sdk-api-restful.yml) and
the XHE envelope built by chat/exchange/sdk's envelope code.

Our documents go out as: document 1 the readable rendering (documents.render) as ContentText; document 2 the
structured document as a JSON file whose documentName names its schema (`SCHEMA_URN` + type), so a receiving
system that knows our types can take it as data and one that does not still has the text; then each attached
file as a document of its own. Coming in, a message that carries one of our schemas becomes that document
type; anything else is a free-text SDK message (message/v1: the label as subject, the texts as text, its
files as attachments), never guessed into a structured type."""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from chat.exchange.documents import TYPES, render, validate

SCHEMA_URN = "urn:samtal:exchange:document:"  # + "orosanmalan/v1": the documentName of a structured document
FUNCTIONAL_ADDRESS = "urn:riv:infrastructure:messaging:functionalAddress"
PARTICIPANT = "iso6523-actorid-upis"
TEXT_DOCUMENT, STRUCTURED_DOCUMENT = "samtal-text", "samtal-document"
MAX_LABEL = 200  # our envelope's label limit (the SDK allows 256)
ATTACHMENT_TYPES = TYPES["message/v1"]["properties"]["attachments"]["items"]["properties"]["media_type"]["enum"]


class MappingError(ValueError):
    """An SDK message that cannot become an exchange document; `code` names why (docs/sdk.md)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class SdkFile:
    name: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class SdkDocument:
    document_id: str
    name: str | None = None
    texts: tuple[str, ...] = ()
    files: tuple[SdkFile, ...] = ()


@dataclass(frozen=True)
class Party:
    """An organisation (participant id `0203:<org>`) at one of its functional addresses."""

    organisation: str
    function: str
    label: str | None = None


@dataclass(frozen=True)
class SdkMessage:
    message_id: str
    conversation_id: str
    created: str  # xs:dateTime in UTC, as the SDK wants it
    label: str
    confidential: bool
    sender: Party
    recipient: Party
    documents: tuple[SdkDocument, ...] = ()
    ref_to_message_id: str | None = None
    status: str | None = None  # the message service's status (REST API only)
    generating_system: str = "Samtal"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExchangeDocument:
    doc_type: str
    content: dict[str, Any]


# -- ours to SDK ----------------------------------------------------------------------------------

def is_confidential(doc_type: str, content: dict[str, Any]) -> bool:
    """The sender's confidentiality marking: a message says so itself; the structured types are about a
    person in social services' care and always fall under secrecy (OSL 26 kap.)."""
    return bool(content.get("confidential")) if doc_type == "message/v1" else True


def documents_for(doc_type: str, content: dict[str, Any]) -> tuple[SdkDocument, ...]:
    """The SDK body for one of our documents (see the module's docstring for the order)."""
    if doc_type not in TYPES:
        raise MappingError("unknown_type", f"unknown document type {doc_type}")
    text = content["text"] if doc_type == "message/v1" else render(doc_type, content)
    docs = [SdkDocument(TEXT_DOCUMENT, TYPES[doc_type]["title"], texts=(text,))]
    files = content.get("attachments", [])
    if doc_type != "message/v1":
        data = {k: v for k, v in content.items() if k != "attachments"}
        raw = json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")
        docs.append(SdkDocument(STRUCTURED_DOCUMENT, SCHEMA_URN + doc_type,
                                files=(SdkFile(doc_type.replace("/", "-") + ".json", "application/json", raw),)))
    for i, a in enumerate(files, 1):
        docs.append(SdkDocument(f"samtal-attachment-{i}", a["name"],
                                files=(SdkFile(a["name"], a["media_type"], _unb64u(a["data"])),)))
    return tuple(docs)


# -- SDK to ours ----------------------------------------------------------------------------------

def to_exchange(message: SdkMessage) -> ExchangeDocument:
    """The exchange document an incoming SDK message becomes; MappingError when it cannot (a structured
    document that does not follow its schema is refused, not shown as something it is not)."""
    structured = [d for d in message.documents if d.name and d.name.startswith(SCHEMA_URN)]
    others = [d for d in message.documents if d not in structured and d.document_id != TEXT_DOCUMENT]
    attachments = [{"name": f.name, "media_type": f.content_type, "data": _b64u(f.content)}
                   for d in others for f in d.files]
    if structured:
        doc_type = structured[0].name[len(SCHEMA_URN):] if structured[0].name else ""
        if doc_type not in TYPES or len(structured) > 1 or len(structured[0].files) != 1:
            raise MappingError("unknown_type", "one structured document of a known type is expected")
        try:
            content = json.loads(structured[0].files[0].content)
        except (UnicodeDecodeError, ValueError):
            raise MappingError("schema_invalid", "the structured document is not JSON") from None
        if isinstance(content, dict) and attachments and "attachments" in TYPES[doc_type]["properties"]:
            content["attachments"] = attachments
        problems = validate(doc_type, content)
        if problems:
            raise MappingError("schema_invalid", "; ".join(problems[:5]))
        return ExchangeDocument(doc_type, content)
    texts = [t for d in message.documents for t in d.texts]
    # Our attachments are PDF only (documents.py): a file of another type is named in the text, so the reader
    # knows it was sent and can ask for it, rather than the message being refused for it.
    kept = [a for a in attachments if a["media_type"] in ATTACHMENT_TYPES]
    texts += [f"[Bilaga som inte kan visas i Samtal / attachment not shown: {a['name']} ({a['media_type']})]"
              for a in attachments if a not in kept]
    free: dict[str, Any] = {"subject": message.label[:MAX_LABEL], "text": "\n\n".join(texts),
                            "confidential": message.confidential}
    if kept:
        free["attachments"] = kept
    problems = validate("message/v1", free)
    if problems:
        raise MappingError("too_large", "; ".join(problems[:5]))
    return ExchangeDocument("message/v1", free)


# -- the REST API's JSON (api/sdk-api-restful.yml) ---------------------------------------------------

def to_rest(message: SdkMessage) -> dict[str, Any]:
    """The `data` object of createMessage/messageDef."""
    attributes: dict[str, Any] = {
        "creationDateTime": message.created, "messageId": message.message_id,
        "conversationId": message.conversation_id, "confidentiality": message.confidential,
        "label": message.label, "sender": message.sender.organisation,
        "recipient": message.recipient.organisation,
        "generatingSystem": {"root": "un-encoded", "extension": message.generating_system},
        "senderAttention": {"subOrganization": _sub(message.sender)},
        "recipientAttention": {"subOrganization": _sub(message.recipient)},
        "digitalDocument": [_rest_document(d, i) for i, d in enumerate(message.documents, 1)]}
    if message.ref_to_message_id:
        attributes["refToMessageId"] = message.ref_to_message_id
    if message.status:
        attributes["messageStatus"] = message.status
    return {"type": "messages", "id": message.message_id, "attributes": attributes}


def _sub(party: Party) -> dict[str, str]:
    sub = {"root": FUNCTIONAL_ADDRESS, "extension": party.function}
    if party.label:
        sub["label"] = party.label
    return sub


def _rest_document(d: SdkDocument, index: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"documentId": d.document_id, "index": str(index)}
    if d.name:
        doc["documentName"] = d.name
    if d.texts:
        doc["contentTextBody"] = list(d.texts)
    if d.files:
        doc["contentFiles"] = [{"fileName": f.name, "contentType": f.content_type,
                                "content": base64.b64encode(f.content).decode("ascii")} for f in d.files]
    return doc


def from_rest(data: Any) -> SdkMessage:
    """A messageDef (or createMessage's data) as an SdkMessage; MappingError when a field the SDK message
    needs is missing or of the wrong kind."""
    attributes = _get(data, "attributes", dict)
    sender_sub = _get(_get(attributes, "senderAttention", dict), "subOrganization", dict)
    recipient_sub = _get(_get(attributes, "recipientAttention", dict), "subOrganization", dict)
    docs = []
    for d in _opt(attributes, "digitalDocument", list) or []:
        files = tuple(SdkFile(_get(f, "fileName", str), _get(f, "contentType", str), _b64(_get(f, "content", str)))
                      for f in _opt(d, "contentFiles", list) or [])
        texts = tuple(_text(t) for t in _opt(d, "contentTextBody", list) or [])
        docs.append((_opt(d, "index", str) or "", SdkDocument(_get(d, "documentId", str), _opt(d, "documentName", str),
                                                          texts, files)))
    docs.sort(key=lambda pair: (not pair[0].isdigit(), int(pair[0]) if pair[0].isdigit() else 0))
    return SdkMessage(
        message_id=_opt(attributes, "messageId", str) or _opt(data, "id", str) or "",
        conversation_id=_opt(attributes, "conversationId", str) or "",
        created=_opt(attributes, "creationDateTime", str) or "", label=_get(attributes, "label", str),
        confidential=_get(attributes, "confidentiality", bool),
        sender=Party(_get(attributes, "sender", str), _get(sender_sub, "extension", str), _opt(sender_sub, "label", str)),
        recipient=Party(_get(attributes, "recipient", str), _get(recipient_sub, "extension", str),
                        _opt(recipient_sub, "label", str)),
        documents=tuple(d for _, d in docs), ref_to_message_id=_opt(attributes, "refToMessageId", str),
        status=_opt(attributes, "messageStatus", str))


def _get(obj: Any, name: str, kind: type) -> Any:
    value = obj.get(name) if isinstance(obj, dict) else None
    if type(value) is not kind:
        raise MappingError("invalid_message", f"{name} must be a {kind.__name__}")
    return value


def _opt(obj: Any, name: str, kind: type) -> Any:
    return None if not isinstance(obj, dict) or obj.get(name) is None else _get(obj, name, kind)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise MappingError("invalid_message", "contentTextBody holds strings")
    return value


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MappingError("invalid_message", "a file's content must be base64") from None


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
