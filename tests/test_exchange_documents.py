"""Document types and the envelope checks, without a server: every type's example validates and renders,
mistakes are named, and envelope times are checked."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chat.exchange import jose
from chat.exchange.documents import TYPES, render, validate
from chat.exchange.envelope import ExchangeError, check_times, parse_envelope

OROSANMALAN = json.loads((Path(__file__).parent / "exchange" / "orosanmalan.json").read_text(encoding="utf-8"))
PERSON = {"name": "Dana Karlsson", "birth_date": "1990-01-01"}
EXAMPLES = {
    "message/v1": {"subject": "Kallelse", "text": "Hej", "confidential": True,
                   "attachments": [{"name": "a.pdf", "media_type": "application/pdf", "data": "JVBERi0"}]},
    "orosanmalan/v1": OROSANMALAN,
    "begaran-om-uppgifter/v1": {"person": PERSON, "questions": "Pågående insatser?", "legal_basis": "OSL 10:28"},
    "svar-uppgifter/v1": {"answer": "Uppgifterna lämnas inte ut.", "disclosed": False,
                          "reason_not_disclosed": "OSL 26:1"},
    "begaran-om-handrackning/v1": {"person": PERSON, "legal_basis": "LVU 43 §", "decision_reference": "BoU-1",
                                   "when": "2026-03-02T08:00"},
    "beslut/v1": {"kind": "underrattelse", "subject": "Insats", "text": "Beslut om insats."},
    "sip-kallelse/v1": {"person": PERSON, "meeting_at": "2026-03-10T10:00", "place": "Vårdcentralen",
                        "consent": True, "participants": ["Region", "Kommun"]},
}


def test_every_type_has_an_example() -> None:
    assert set(EXAMPLES) == set(TYPES)


@pytest.mark.parametrize("doc_type", sorted(TYPES))
def test_each_types_example_validates_and_renders_with_swedish_titles(doc_type: str) -> None:
    assert validate(doc_type, EXAMPLES[doc_type]) == []
    text = render(doc_type, EXAMPLES[doc_type])
    assert text.startswith(TYPES[doc_type]["title"])


def test_an_orosanmalan_renders_what_was_seen_and_heard_and_the_danger() -> None:
    text = render("orosanmalan/v1", OROSANMALAN)
    for line in ("Vad som sågs: Barnet var ensamt", "Vad som hördes: Grannar", "Akut fara: ja",
                 "Informerad om anmälan: nej", "Polisens diarienummer: 5000-K123456-26"):
        assert line in text


def test_validation_names_each_mistake() -> None:
    problems = validate("orosanmalan/v1", {"child": {"name": 5}, "guardians": [], "extra": 1})
    assert "$.child.name must be string" in problems
    assert "$.reporter is required" in problems and "$.extra is not allowed" in problems
    assert validate("nope/v1", {}) == ["unknown document type nope/v1"]


def _envelope(**changes: object) -> dict[str, object]:
    return {"id": "0123456789", "conversation": "conv-00001", "in_reply_to": None, "type": "message/v1",
            "priority": "normal", "from": "polisen", "to": "x.y", "label": "", "created": 1000, "expires": 2000,
            "content_sha256": "A" * 43, **changes}


@pytest.mark.parametrize(("changes", "code"), [
    ({"id": "short"}, "invalid_envelope"), ({"priority": "high"}, "invalid_envelope"),
    ({"label": "x" * 201}, "invalid_envelope"), ({"created": "1000"}, "invalid_envelope")])
def test_malformed_envelopes_are_named(changes: dict[str, object], code: str) -> None:
    with pytest.raises(ExchangeError) as raised:
        parse_envelope(_envelope(**changes))
    assert (raised.value.status, raised.value.code) == (400, code)


@pytest.mark.parametrize(("now", "code"), [(1000 + 301, "stale"), (1000 - 301, "stale"), (2000, "expired")])
def test_envelope_times(now: int, code: str) -> None:
    with pytest.raises(ExchangeError) as raised:
        check_times(parse_envelope(_envelope()), now, 300)
    assert raised.value.code == code


def test_a_jwe_is_checked_against_the_recipients_key_without_decrypting() -> None:
    x25519, p256 = jose.generate("X25519"), jose.generate("P-256")
    x_pub, p_pub = jose.public_jwk(x25519, use="enc"), jose.public_jwk(p256, use="enc")
    token = jose.encrypt(b"{}", x25519, x_pub["kid"])
    assert jose.check_jwe_for(token, x_pub) is None
    assert jose.check_jwe_for(token, p_pub) is not None
    assert jose.check_jwe_for("a.b.c", x_pub) == "the content is not a compact JWE"
    assert jose.decrypt(token, x25519) == b"{}"
