"""The form engine (web/static/js/forms/engine.js) in Chromium: conditions (at the top and inside a group
item), repeating groups and their limits, every validation code, what `finalize` keeps and how it types
it, the personal identity number check, and the two shipped definitions with realistic answers."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chat.applications.forms import FormCatalogue
from tests.browser import chromium, serve_static
from tests.conftest import ROOT

TEXT = {"sv": "Text", "en": "Text"}
PAGE = """<!doctype html><meta charset="utf-8"><script type="module">
import * as engine from "/js/forms/engine.js";
window.engine = engine;
window.ready = true;
</script>"""


def field(id_: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {"id": id_, "type": type_, "label": TEXT, **extra}


FORM = {"format": "samtal/form/v1", "id": "prov", "version": 1, "title": TEXT, "case_title": "Prov", "sections": [
    {"id": "s", "title": TEXT, "fields": [
        field("kind", "choice", required=True, options=[{"value": "a", "label": TEXT}, {"value": "b", "label": TEXT}]),
        field("more", "text", required=True, show_if={"field": "kind", "equals": "b"}),
        field("has_income", "yesno", required=True),
        {"id": "incomes", "type": "group", "repeat": True, "min_items": 1, "max_items": 2, "label": TEXT,
         "show_if": {"field": "has_income", "equals": True}, "fields": [
             field("amount", "amount", required=True),
             field("taxed", "yesno"),
             field("tax", "amount", required=True, show_if={"field": "taxed", "equals": True}),
             field("of_kind", "text", show_if={"field": "kind", "in": ["b"]}),
         ]},
        field("when", "date"), field("month", "month"), field("age", "number", min=0, max=120),
        field("name", "text", max_length=20, no_personal_number=True),
        field("ways", "choice", multiple=True, options=[{"value": "x", "label": TEXT}, {"value": "y", "label": TEXT},
                                                         {"value": "z", "label": TEXT}]),
        field("files", "attachment", max_files=1), field("sure", "confirm", required=True),
    ]}]}
BASE = {"kind": "a", "more": "", "has_income": False, "incomes": [], "when": "", "month": "", "age": "", "name": "",
        "ways": [], "files": [], "sure": True}


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with serve_static(ROOT / "web" / "static", extra={"/test.html": PAGE}) as base, chromium() as browser:
        tab = browser.new_page()
        tab.goto(base + "/test.html")
        tab.wait_for_function("window.ready === true")
        yield tab


def validate(page: Any, answers: dict[str, Any], form: dict[str, Any] = FORM) -> list[tuple[str, str]]:
    errors = page.evaluate("([def, answers]) => engine.validate(def, answers)", [form, answers])
    return [(e["path"], e["code"]) for e in errors]


def finalize(page: Any, answers: dict[str, Any], form: dict[str, Any] = FORM) -> dict[str, Any]:
    return page.evaluate("([def, answers]) => engine.finalize(def, answers)", [form, answers])  # type: ignore[no-any-return]


def test_a_condition_shows_a_field_and_only_shown_fields_are_required(page: Any) -> None:
    assert validate(page, BASE) == []
    assert validate(page, {**BASE, "kind": "b"}) == [("more", "required")]
    assert validate(page, {**BASE, "kind": "b", "more": "  "}) == [("more", "required")]  # blanks are empty
    assert validate(page, {**BASE, "kind": "b", "more": "ja"}) == []
    # An answer left in a field that is hidden again is neither checked nor sent.
    assert finalize(page, {**BASE, "kind": "a", "more": "kvar"}) == {"kind": "a", "has_income": False, "sure": True}


def test_a_repeating_group_has_its_limits_only_while_shown(page: Any) -> None:
    assert validate(page, {**BASE, "has_income": True}) == [("incomes", "too_few_items")]
    three = [{"amount": "1", "taxed": False, "tax": "", "of_kind": ""}] * 3
    assert validate(page, {**BASE, "has_income": True, "incomes": three}) == [("incomes", "too_many_items")]
    assert validate(page, {**BASE, "has_income": False, "incomes": three}) == []  # hidden: no limits
    items = [{"amount": "1 200", "taxed": True, "tax": "", "of_kind": ""},
             {"amount": "", "taxed": False, "tax": "", "of_kind": ""}]
    assert validate(page, {**BASE, "has_income": True, "incomes": items}) == [
        ("incomes.0.tax", "required"), ("incomes.1.amount", "required")]


def test_conditions_inside_an_item_see_that_item_and_the_form_above(page: Any) -> None:
    items = [{"amount": "100", "taxed": True, "tax": "30", "of_kind": "lön"},
             {"amount": "200", "taxed": False, "tax": "99", "of_kind": "lön"}]
    final = finalize(page, {**BASE, "kind": "b", "more": "m", "has_income": True, "incomes": items})
    # Each item's own answer decides its tax field; the form's kind decides of_kind in every item.
    assert final["incomes"] == [{"amount": 100, "taxed": True, "tax": 30, "of_kind": "lön"},
                                {"amount": 200, "taxed": False, "of_kind": "lön"}]
    final = finalize(page, {**BASE, "has_income": True, "incomes": items})
    assert [sorted(i) for i in final["incomes"]] == [["amount", "tax", "taxed"], ["amount", "taxed"]]


@pytest.mark.parametrize("answers, errors", [
    ({"age": "abc"}, [("age", "not_a_number")]),
    ({"age": "12,5"}, [("age", "not_whole")]),
    ({"age": "121"}, [("age", "too_large")]),
    ({"age": "-1"}, [("age", "too_small")]),
    ({"when": "2026-02-30"}, [("when", "not_a_date")]),
    ({"when": "30/1 2026"}, [("when", "not_a_date")]),
    ({"month": "2026-13"}, [("month", "not_a_month")]),
    ({"name": "Elvira Madigan Karlsson"}, [("name", "too_long")]),
    ({"name": "900101-0017"}, [("name", "personal_number")]),
    ({"kind": "c"}, [("kind", "unknown_option")]),
    ({"kind": ""}, [("kind", "required")]),
    ({"has_income": None}, [("has_income", "required")]),
    ({"sure": False}, [("sure", "must_confirm")]),
    ({"ways": ["x", "w"]}, [("ways", "unknown_option")]),
    ({"files": [{"name": "a"}, {"name": "b"}]}, [("files", "too_many_files")]),
    ({"has_income": True, "incomes": [{"amount": "12 500,50", "taxed": False}]}, [("incomes.0.amount", "not_whole")]),
    ({"has_income": True, "incomes": [{"amount": "-5", "taxed": False}]}, [("incomes.0.amount", "not_a_number")]),
])
def test_each_kind_of_wrong_answer_has_its_code_and_path(page: Any, answers: dict[str, Any],
                                                         errors: list[tuple[str, str]]) -> None:
    assert validate(page, {**BASE, **answers}) == errors


def test_finalize_types_the_answers_as_they_are_sealed(page: Any) -> None:
    final = finalize(page, {**BASE, "age": " 42 ", "month": "2026-5", "when": "2026-05-25", "name": " Kim ",
                            "ways": ["z", "x"], "has_income": True,
                            "incomes": [{"amount": "12 500 kr", "taxed": False}, {"amount": "300:-", "taxed": False}]})
    assert final == {"kind": "a", "has_income": True, "age": 42, "month": "2026-05", "when": "2026-05-25",
                     "name": "Kim", "ways": ["x", "z"], "sure": True,
                     "incomes": [{"amount": 12500, "taxed": False}, {"amount": 300, "taxed": False}]}
    with pytest.raises(Exception, match="not valid"):
        finalize(page, {**BASE, "age": "many"})


@pytest.mark.parametrize("text, found", [
    ("900101-0017", True), ("19900101-0017", True), ("199001010017", True), ("Född 900101+0017", True),
    ("900161-0014", True),  # a samordningsnummer: day + 60
    ("900101-0018", False),  # wrong check digit
    ("901301-0017", False),  # no such month
    ("Kim Ljungberg", False), ("Konto 8327-9, 123 456 789-0", False), ("070-123 45 67", False),
])
def test_personal_identity_numbers_are_recognised(page: Any, text: str, found: bool) -> None:
    assert page.evaluate("(text) => engine.containsPersonalNumber(text)", text) is found


def shipped(form_id: str) -> dict[str, Any]:
    return FormCatalogue().forms[form_id].data


def test_the_economic_aid_form_empty_and_filled_in(page: Any) -> None:
    form = shipped("ekonomiskt-bistand")
    empty = page.evaluate("(def) => engine.emptyAnswers(def)", form)
    # A repeating group starts with its minimum of items, ready for when it is shown.
    assert empty["members"] == [] and [sorted(i) for i in empty["income_list"]] == [["amount", "kind", "other_kind",
                                                                                     "whose"]]
    assert [path for path, _ in validate(page, empty, form)] == [
        "month", "changes", "civil_status", "housing", "has_income", "rent", "has_assets", "bank_balance", "assurance"]
    answers = {**empty, "month": "2026-05", "changes": True, "changes_description": "Ny hyra",
               "civil_status": "single", "housing": "rental", "has_income": True, "rent": "6 500",
               "members": [{"name": "Kim", "birth_year": "2015", "relation": "child", "alternating": True}],
               "income_list": [{"kind": "other", "other_kind": "", "whose": "", "amount": "1 250"}],
               "has_assets": False, "bank_balance": "312", "assurance": True}
    assert validate(page, answers, form) == [("income_list.0.other_kind", "required")]
    answers["income_list"][0]["kind"] = "child_allowance"
    final = finalize(page, answers, form)
    assert final["income_list"] == [{"kind": "child_allowance", "amount": 1250}]
    assert final["members"] == [{"name": "Kim", "birth_year": 2015, "relation": "child", "alternating": True}]
    assert "income_proof" not in final and final["rent"] == 6500


def test_the_support_form_asks_for_a_phone_number_only_when_phone_is_chosen(page: Any) -> None:
    form = shipped("ansokan-om-stod")
    answers = {**page.evaluate("(def) => engine.emptyAnswers(def)", form), "support": ["counselling"],
               "description": "d", "reason": "r", "urgent": False, "contact_ways": ["message"], "assurance": True}
    assert validate(page, answers, form) == []
    assert validate(page, {**answers, "contact_ways": ["message", "phone"]}, form) == [("phone", "required")]
    assert validate(page, {**answers, "support": ["other", "counselling"]}, form) == [("support_other", "required")]
    assert json.dumps(finalize(page, answers, form), sort_keys=True) == json.dumps(
        {"assurance": True, "contact_ways": ["message"], "description": "d", "reason": "r",
         "support": ["counselling"], "urgent": False}, sort_keys=True)
