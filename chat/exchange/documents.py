"""The document types an address can accept: a JSON Schema (a small subset, validated here) for the
decrypted content of each, and a plain-text rendering that follows the schema's Swedish titles.

The endpoint never sees content; staff clients validate it (accepted or rejected receipts) and render it."""
from __future__ import annotations

from typing import Any

_TEXT = {"type": "string", "maxLength": 20000}


def _s(title: str, max_length: int = 200) -> dict[str, Any]:
    return {"type": "string", "title": title, "maxLength": max_length}


def _obj(title: str, required: list[str], **props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "title": title, "required": required, "properties": props,
            "additionalProperties": False}


_PERSON = _obj("Person", ["name"], name=_s("Namn"), personal_number=_s("Personnummer", 13),
               birth_date=_s("Födelsedatum", 10), address=_s("Adress"))
_ATTACHMENTS = {"type": "array", "title": "Bilagor", "maxItems": 20,
                "items": _obj("Bilaga", ["name", "media_type", "data"], name=_s("Filnamn"),
                              media_type={"type": "string", "title": "Typ", "enum": ["application/pdf"]},
                              data={"type": "string", "title": "Innehåll (base64url)", "maxLength": 40_000_000})}

TYPES: dict[str, dict[str, Any]] = {
    # Maps onto SDK's message model (Säker digital kommunikation): subject, body, attachments, confidentiality.
    "message/v1": _obj("Meddelande", ["subject", "text"], subject=_s("Ärende"), text={**_TEXT, "title": "Text"},
                       confidential={"type": "boolean", "title": "Sekretessmarkerad"}, attachments=_ATTACHMENTS),
    # orosanmälan: a report of concern about a child (SoL 14 kap. 1 §); urgent by default.
    "orosanmalan/v1": _obj(
        "Orosanmälan", ["child", "guardians", "reporter", "observations", "immediate_danger"],
        child=_PERSON,
        guardians={"type": "array", "title": "Vårdnadshavare", "maxItems": 4, "items": _obj(
            "Vårdnadshavare", ["name", "informed"], name=_s("Namn"), phone=_s("Telefon", 30),
            informed={"type": "boolean", "title": "Informerad om anmälan"},
            not_informed_reason=_s("Skäl till att inte informera", 2000))},
        reporter=_obj("Anmälare", ["name", "organisation"], name=_s("Namn"), organisation=_s("Organisation"),
                      role=_s("Befattning"), phone=_s("Telefon", 30)),
        observations=_obj("Iakttagelser", ["when"], when=_s("När", 40), seen={**_TEXT, "title": "Vad som sågs"},
                          heard={**_TEXT, "title": "Vad som hördes"}),
        immediate_danger={"type": "boolean", "title": "Akut fara"},
        police_case_number=_s("Polisens diarienummer", 40)),
    # begäran om uppgifter and its reply.
    "begaran-om-uppgifter/v1": _obj("Begäran om uppgifter", ["person", "questions", "legal_basis"],
                                    person=_PERSON, questions={**_TEXT, "title": "Efterfrågade uppgifter"},
                                    legal_basis=_s("Rättslig grund", 500), reply_by=_s("Svar senast", 10)),
    "svar-uppgifter/v1": _obj("Svar på begäran om uppgifter", ["answer", "disclosed"],
                              answer={**_TEXT, "title": "Svar"}, disclosed={"type": "boolean", "title": "Lämnas ut"},
                              reason_not_disclosed=_s("Skäl att inte lämna ut (sekretess)", 2000),
                              attachments=_ATTACHMENTS),
    "begaran-om-handrackning/v1": _obj(
        "Begäran om handräckning", ["person", "legal_basis", "decision_reference", "when"], person=_PERSON,
        legal_basis={"type": "string", "title": "Lagrum", "enum": ["LVU 43 §", "LVM 45 §", "SoL", "annat"]},
        decision_reference=_s("Beslut (diarienummer)", 80), when=_s("Tidpunkt", 40), place=_s("Plats"),
        risks={**_TEXT, "title": "Risker att känna till"}, contact=_s("Kontakt under insatsen")),
    "beslut/v1": _obj("Beslut / underrättelse", ["kind", "subject", "text"],
                      kind={"type": "string", "title": "Slag", "enum": ["beslut", "underrattelse"]},
                      subject=_s("Ärende"), text={**_TEXT, "title": "Text"}, decided_at=_s("Beslutsdatum", 10),
                      attachments=_ATTACHMENTS),
    "sip-kallelse/v1": _obj(
        "Kallelse till SIP", ["person", "meeting_at", "place", "consent"], person=_PERSON,
        meeting_at=_s("Mötestid", 40), place=_s("Plats"), consent={"type": "boolean", "title": "Samtycke finns"},
        participants={"type": "array", "title": "Deltagare", "maxItems": 30, "items": _s("Deltagare")},
        agenda={**_TEXT, "title": "Dagordning"}),
}
DEFAULT_PRIORITY = {"orosanmalan/v1": "urgent"}

_KINDS: dict[str, type | tuple[type, ...]] = {"object": dict, "array": list, "string": str, "boolean": bool}


def validate(doc_type: str, content: Any) -> list[str]:
    """Everything wrong with `content` for `doc_type`; empty when it is valid."""
    if doc_type not in TYPES:
        return [f"unknown document type {doc_type}"]
    problems: list[str] = []
    _check(TYPES[doc_type], content, "$", problems)
    return problems


def _check(schema: dict[str, Any], value: Any, path: str, problems: list[str]) -> None:
    kind = schema["type"]
    found: type = type(value)  # compared apart from value, which stays Any for the checks below
    if found is not _KINDS[kind]:
        problems.append(f"{path} must be {kind}")
        return
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path} must be one of {', '.join(schema['enum'])}")
    if kind == "string" and len(value) > schema.get("maxLength", 10**9):
        problems.append(f"{path} is too long")
    if kind == "array":
        if len(value) > schema.get("maxItems", 10**9):
            problems.append(f"{path} has too many items")
        for i, item in enumerate(value):
            _check(schema["items"], item, f"{path}[{i}]", problems)
    if kind == "object":
        props = schema["properties"]
        problems.extend(f"{path}.{name} is required" for name in schema["required"] if name not in value)
        for name, item in value.items():
            if name not in props:
                problems.append(f"{path}.{name} is not allowed")
            else:
                _check(props[name], item, f"{path}.{name}", problems)


def render(doc_type: str, content: dict[str, Any]) -> str:
    """Plain text for a person, with the schema's Swedish titles, in the schema's order."""
    schema = TYPES[doc_type]
    lines = [schema["title"], "=" * len(schema["title"])]
    _render(schema, content, 0, lines)
    return "\n".join(lines)


def _render(schema: dict[str, Any], value: Any, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    for name, prop in schema["properties"].items():
        if name not in value:
            continue
        item, title = value[name], prop.get("title", name)
        if prop["type"] == "object":
            lines.append(f"{pad}{title}:")
            _render(prop, item, depth + 1, lines)
        elif prop["type"] == "array":
            lines.append(f"{pad}{title}:")
            for entry in item:
                if prop["items"]["type"] == "object":
                    if "data" in entry:  # an attachment: name and size, not the bytes
                        lines.append(f"{pad}  - {entry['name']} ({entry['media_type']}, {len(entry['data']) * 3 // 4} B)")
                        continue
                    lines.append(f"{pad}  -")
                    _render(prop["items"], entry, depth + 2, lines)
                else:
                    lines.append(f"{pad}  - {entry}")
        elif prop["type"] == "boolean":
            lines.append(f"{pad}{title}: {'ja' if item else 'nej'}")
        else:
            lines.append(f"{pad}{title}: {item}")
