"""Form definitions (chat/applications/forms): the shipped forms follow the format, every unit's forms exist, a
municipality's own folder overrides and adds, and the schema refuses what the format does not allow, naming
where. The browser engine's behaviour on answers is tested in test_browser_forms.py."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from chat.applications.forms import SHIPPED, FormCatalogue, FormDefinitionError, check_definition

SHIPPED_FORMS = sorted(p for p in SHIPPED.glob("*.json") if p.name not in ("units.json", "decisions.json"))


def minimal() -> dict[str, Any]:
    text = {"sv": "Text", "en": "Text"}
    return {"format": "samtal/form/v1", "id": "prov", "version": 1, "title": text, "case_title": "Prov",
            "sections": [{"id": "s", "title": text, "fields": [
                {"id": "kind", "type": "choice", "label": text, "options": [
                    {"value": "a", "label": text}, {"value": "b", "label": text}]},
                {"id": "more", "type": "text", "label": text, "show_if": {"field": "kind", "equals": "b"}},
                {"id": "people", "type": "group", "repeat": True, "label": text, "max_items": 3, "fields": [
                    {"id": "role", "type": "yesno", "label": text},
                    {"id": "why", "type": "multiline", "label": text, "show_if": {"field": "role", "equals": True}},
                ]},
            ]}]}


@pytest.mark.parametrize("path", SHIPPED_FORMS, ids=lambda p: p.stem)
def test_every_shipped_form_follows_the_format(path: Path) -> None:
    form = check_definition(json.loads(path.read_text(encoding="utf-8")), path.name)
    assert form.id == path.stem and form.title["sv"] and form.title["en"]


def test_the_shipped_catalogue_offers_both_forms_in_the_demo_unit() -> None:
    catalogue = FormCatalogue()
    assert [f.id for f in catalogue.for_unit("ekonomiskt-bistand")] == ["ekonomiskt-bistand", "ansokan-om-stod"]
    assert catalogue.offered("ekonomiskt-bistand", "ansokan-om-stod") is not None
    assert catalogue.offered("familjeratt", "ansokan-om-stod") is None
    listing = catalogue.as_json({"ekonomiskt-bistand": "Ekonomiskt bistånd"})
    assert [u["name"] for u in listing["units"]] == ["Ekonomiskt bistånd"]
    assert {f["id"] for f in listing["forms"]} == {"ekonomiskt-bistand", "ansokan-om-stod"}


def test_the_economic_aid_form_has_what_a_monthly_application_needs() -> None:
    form = FormCatalogue().forms["ekonomiskt-bistand"].data
    items = {item["id"]: item for section in form["sections"] for item in section["fields"]}
    assert items["month"]["type"] == "month" and items["members"]["repeat"] is True
    assert items["income_list"]["repeat"] is True and items["income_list"]["show_if"] == {
        "field": "has_income", "equals": True}
    assert {"rent", "electricity"} <= items.keys()
    assert {i for i, item in items.items() if item["type"] == "attachment"} >= {"rent_notice", "bank_statements"}
    # No personal identity numbers: the household is named with a year of birth.
    member_fields = {f["id"]: f for f in items["members"]["fields"]}
    assert member_fields["name"]["no_personal_number"] is True and "birth_year" in member_fields
    labels = [f["label"]["sv"].lower() for item in items.values() for f in [item, *item.get("fields", [])]]
    assert not [label for label in labels if "personnummer" in label]


def test_a_folder_of_the_municipalitys_own_overrides_by_id_and_chooses_the_units(tmp_path: Path) -> None:
    own = minimal()
    (tmp_path / "prov.json").write_text(json.dumps(own), encoding="utf-8")
    changed = json.loads((SHIPPED / "ansokan-om-stod.json").read_text(encoding="utf-8"))
    changed["version"] = 2
    (tmp_path / "ansokan-om-stod.json").write_text(json.dumps(changed), encoding="utf-8")
    (tmp_path / "units.json").write_text(json.dumps({"vuxen": ["prov", "ansokan-om-stod"]}), encoding="utf-8")
    catalogue = FormCatalogue(tmp_path)
    assert catalogue.for_unit("ekonomiskt-bistand") == []  # units.json replaced the shipped choice
    assert [(f.id, f.version) for f in catalogue.for_unit("vuxen")] == [("prov", 1), ("ansokan-om-stod", 2)]


def test_units_json_naming_a_missing_form_stops_the_start(tmp_path: Path) -> None:
    (tmp_path / "units.json").write_text(json.dumps({"vuxen": ["finns-inte"]}), encoding="utf-8")
    with pytest.raises(FormDefinitionError, match="finns-inte"):
        FormCatalogue(tmp_path)


def broken(change: Any) -> dict[str, Any]:
    form = minimal()
    change(form)
    return form


def field(form: dict[str, Any], i: int) -> dict[str, Any]:
    return form["sections"][0]["fields"][i]  # type: ignore[no-any-return]


@pytest.mark.parametrize("change, where", [
    (lambda f: f.update(format="samtal/form/v2"), "$.format"),
    (lambda f: f.update(extra=1), "$.extra"),
    (lambda f: f["title"].pop("en"), "$.title"),
    (lambda f: f.update(id="Prov Ett"), "$.id"),
    (lambda f: field(f, 0).update(type="signature"), "fields[0].type"),
    (lambda f: field(f, 0).update(placeholder={"sv": "x", "en": "x"}), "fields[0].placeholder"),
    (lambda f: field(f, 0)["options"].pop(), "fields[0].options"),
    (lambda f: field(f, 0)["options"][1].update(value="a"), "options[1].value"),
    (lambda f: field(f, 1).update(id="kind"), "fields[1].id"),
    (lambda f: field(f, 1).update(show_if={"field": "people", "filled": True}), "show_if.field"),
    (lambda f: field(f, 1).update(show_if={"field": "later", "filled": True}), "show_if.field"),
    (lambda f: field(f, 1).update(show_if={"field": "kind", "equals": "c"}), "show_if.equals"),
    (lambda f: field(f, 1).update(show_if={"field": "kind", "matches": "b"}), "show_if"),
    (lambda f: field(f, 1).update(max_length=5000), "fields[1].max_length"),
    (lambda f: field(f, 2)["fields"].append({"id": "inner", "type": "group", "label": f["title"], "fields": []}),
     "a group cannot hold another group"),
    (lambda f: field(f, 2).update(min_items=5), "min_items is larger"),
    (lambda f: field(f, 2)["fields"][1].update(show_if={"field": "role", "equals": "ja"}), "true or false"),
    (lambda f: field(f, 0).update(label={"sv": "", "en": "x"}), "label.sv"),
])
def test_the_schema_refuses_what_the_format_does_not_allow_and_says_where(change: Any, where: str) -> None:
    with pytest.raises(FormDefinitionError) as error:
        check_definition(broken(change), "prov.json")
    assert where in str(error.value) and str(error.value).startswith("prov.json: ")


def test_a_condition_inside_a_group_may_name_a_field_of_the_form_above_it() -> None:
    form = minimal()
    field(form, 2)["fields"][1]["show_if"] = {"field": "kind", "in": ["a", "b"]}
    check_definition(copy.deepcopy(form))


def test_the_decision_texts_are_checked_and_a_municipality_replaces_them(tmp_path: Path) -> None:
    """decisions.json (chat/applications/decision_texts.py): the shipped one is valid and offers the demo unit
    legal bases and delegations; a forms folder's own replaces it, and a mistake names the member."""
    from chat.applications import decision_texts
    from chat.applications.forms import FormDefinitionError

    shipped = decision_texts.load(None)
    unit = shipped["units"]["ekonomiskt-bistand"]
    assert unit["legal_bases"] and unit["delegations"] and "%(unit)s" in shipped["appeal"]["sv"]
    own = {"format": "samtal/decisions/v1", "appeal": {"sv": "Överklaga till %(unit)s", "en": "Appeal to %(unit)s"},
           "units": {"vuxen": {"legal_bases": [{"id": "sol-x", "text": {"sv": "SoL (2025:400) 4 kap. 1 §",
                                                                          "en": "SoL"}}],
                                "delegations": [{"id": "d", "text": {"sv": "Punkt 3.1", "en": "Point 3.1"}}]}}}
    (tmp_path / "decisions.json").write_text(json.dumps(own), encoding="utf-8")
    assert decision_texts.load(tmp_path)["units"]["vuxen"]["legal_bases"][0]["id"] == "sol-x"
    own["units"]["vuxen"]["delegations"] = [{"id": "d", "text": {"sv": "bara svenska"}}]
    (tmp_path / "decisions.json").write_text(json.dumps(own), encoding="utf-8")
    with pytest.raises(FormDefinitionError, match=r"\$\.units\.vuxen\.delegations\[0\]\.text"):
        decision_texts.load(tmp_path)
