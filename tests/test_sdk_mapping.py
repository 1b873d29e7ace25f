"""Exchange documents as SDK messages and back (chat/exchange/sdk/mapping.py, #16 item 1), through the REST
API's JSON, and the SDK addressing file (addresses.py, item 5)."""
from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from chat.exchange.documents import TYPES, render
from chat.exchange.sdk import addresses
from chat.exchange.sdk.mapping import (
    SCHEMA_URN,
    MappingError,
    Party,
    SdkDocument,
    SdkFile,
    SdkMessage,
    documents_for,
    from_rest,
    is_confidential,
    to_exchange,
    to_rest,
)

from .test_exchange_documents import EXAMPLES

PDF = base64.urlsafe_b64encode(b"%PDF-1.7 test").rstrip(b"=").decode()


def sdk(doc_type: str, content: dict[str, Any], **changes: Any) -> SdkMessage:
    fields: dict[str, Any] = dict(
        message_id="0b7f0c52-7a5e-4b7e-9d0c-3c1f4f1f2a10", conversation_id="6f1e3c1a-2b0d-4e43-9a51-0c6f1a9b2d3e",
        created="2026-12-07T22:10:00Z", label=TYPES[doc_type]["title"], confidential=is_confidential(doc_type, content),
        sender=Party("0203:kommun.example", "sdk:inkorg:0203:kommun.example:soc"),
        recipient=Party("0203:polisen.se", "sdk:inkorg:0203:polisen.se", "Polisen region Syd"),
        documents=documents_for(doc_type, content))
    fields.update(changes)
    return SdkMessage(**fields)


@pytest.mark.parametrize("doc_type", sorted(TYPES))
def test_each_type_goes_out_as_text_and_named_structure_and_comes_back_the_same(doc_type: str) -> None:
    content = dict(EXAMPLES[doc_type])
    if "attachments" in TYPES[doc_type]["properties"]:
        content["attachments"] = [{"name": "beslut.pdf", "media_type": "application/pdf", "data": PDF}]
    label = content["subject"] if doc_type == "message/v1" else TYPES[doc_type]["title"]
    message = sdk(doc_type, content, label=label, ref_to_message_id="ff325210-0690-42fe-b86f-95ecab821223")
    wire = json.loads(json.dumps(to_rest(message)))
    attributes = wire["attributes"]
    assert attributes["refToMessageId"] == "ff325210-0690-42fe-b86f-95ecab821223"
    assert attributes["senderAttention"]["subOrganization"]["extension"] == "sdk:inkorg:0203:kommun.example:soc"
    first = attributes["digitalDocument"][0]
    assert first["contentTextBody"] == [content["text"] if doc_type == "message/v1" else render(doc_type, content)]
    names = [d.get("documentName") for d in attributes["digitalDocument"]]
    assert (SCHEMA_URN + doc_type in names) == (doc_type != "message/v1")
    back = from_rest(wire)
    assert back == message
    assert to_exchange(back).doc_type == doc_type
    if doc_type == "message/v1":  # the marking is the header's, and always said
        content.setdefault("confidential", False)
    assert to_exchange(back).content == content


def test_free_text_from_any_organisation_is_a_message_with_its_files_and_marking() -> None:
    message = sdk("message/v1", {"subject": "x", "text": "x"}, label="Fråga om ärende", confidential=True, documents=(
        SdkDocument("SDK-Meddelande", "SDK-Meddelande", texts=("Hej,", "vi behöver uppgifter.")),
        SdkDocument("bilaga", "Underlag", files=(SdkFile("underlag.pdf", "application/pdf", b"%PDF-1.4"),
                                                 SdkFile("bild.jpeg", "image/jpeg", b"\xff\xd8")))))
    doc = to_exchange(message)
    assert doc.doc_type == "message/v1"
    assert doc.content["subject"] == "Fråga om ärende" and doc.content["confidential"] is True
    assert doc.content["text"].startswith("Hej,\n\nvi behöver uppgifter.")
    assert "bild.jpeg (image/jpeg)" in doc.content["text"]  # named, since our attachments are PDF only
    assert [a["name"] for a in doc.content["attachments"]] == ["underlag.pdf"]


def test_a_structured_document_that_breaks_its_schema_is_refused_not_shown_as_something_else() -> None:
    bad = SdkDocument("d", SCHEMA_URN + "orosanmalan/v1", files=(SdkFile("o.json", "application/json", b'{"child": 1}'),))
    with pytest.raises(MappingError) as refused:
        to_exchange(sdk("message/v1", {"subject": "x", "text": "x"}, documents=(bad,)))
    assert refused.value.code == "schema_invalid"
    unknown = SdkDocument("d", SCHEMA_URN + "nope/v1", files=(SdkFile("o.json", "application/json", b"{}"),))
    with pytest.raises(MappingError) as refused:
        to_exchange(sdk("message/v1", {"subject": "x", "text": "x"}, documents=(unknown,)))
    assert refused.value.code == "unknown_type"


@pytest.mark.parametrize("broken", [None, {}, {"attributes": {"label": "x"}},
                                    {"id": "a", "attributes": {"label": "x", "confidentiality": "ja"}}])
def test_rest_json_without_what_a_message_needs_is_a_mapping_error(broken: Any) -> None:
    with pytest.raises(MappingError):
        from_rest(broken)


CONFIG = {"organisation": "0203:kommun.example",
          "units": {"unit-soc": [{"function": "sdk:inkorg:0203:kommun.example:soc", "label": "Socialtjänsten",
                                  "address": "soc-mottagning"}]},
          "directory": [
              {"organisation": "0203:polisen.se", "name": "Polismyndigheten", "function": "sdk:inkorg:0203:polisen.se:syd",
               "label": "Polisen region Syd"},
              {"organisation": "0203:forsakringskassan.se", "name": "Försäkringskassan",
               "function": "sdk:inkorg:0203:forsakringskassan.se", "label": "Försäkringskassan, samverkan"}]}


def test_units_functions_and_the_recipient_lookup_by_organisation_and_function() -> None:
    book = addresses.parse(CONFIG)
    assert [f.function for f in book.for_unit("unit-soc")] == ["sdk:inkorg:0203:kommun.example:soc"]
    assert book.by_address("soc-mottagning") == book.by_function("sdk:inkorg:0203:kommun.example:soc")
    assert [r.name for r in book.lookup(organisation="polis")] == ["Polismyndigheten"]
    assert [r.name for r in book.lookup(function="samverkan")] == ["Försäkringskassan"]
    assert [r.name for r in book.lookup(organisation="0203:polisen.se", function="syd")] == ["Polismyndigheten"]
    assert book.lookup(organisation="polis", function="samverkan") == []
    assert len(book.lookup()) == 2


@pytest.mark.parametrize("change", [{"organisation": "kommun"}, {"units": []},
                                    {"units": {"u": [{"function": "a b", "label": "x", "address": "y"}]}},
                                    {"directory": [{"organisation": "0203:x.se"}]}])
def test_a_wrong_configuration_file_is_refused_saying_where(change: dict[str, Any]) -> None:
    with pytest.raises(addresses.SdkConfigError):
        addresses.parse({**CONFIG, **change})
