"""Application forms (ansökningsblanketter) as data: JSON definitions shipped beside this module (and, for a
municipality's own, in SAMTAL_FORMS_DIR), checked against the definition schema when the server starts, and
offered per unit as `units.json` says. The browser renders and validates answers from the same definitions
(web/static/js/forms/); the server never sees the answers, only which form an application used.

The format is described in docs/applications.md. `check_definition` is its schema: everything the format
allows is written out here, and anything else is refused with the path of the offending member."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

SHIPPED = Path(__file__).resolve().parent
FORMAT = "samtal/form/v1"
LANGUAGES = ("sv", "en")
FIELD_TYPES = ("text", "multiline", "number", "amount", "date", "month", "choice", "yesno", "confirm",
               "attachment")
ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
FORM_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
OPTION_VALUE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
TEXT_INPUTS = ("text", "tel", "email")
# Bounds an author may set; they keep one application well inside a sealed record's 1 MiB.
LIMITS = {"text": 1000, "multiline": 10000, "items": 50, "files": 10, "options": 40, "sections": 30,
          "fields": 60}
AMOUNT_MAX = 100_000_000  # kronor
NUMBER_RANGE = (-(10**9), 10**9)


class FormDefinitionError(ValueError):
    """A definition that does not follow the format; the message names the file and the member."""


@dataclass(frozen=True, slots=True)
class FormDefinition:
    id: str
    version: int
    case_title: str  # the title of a case an application of this form opens (metadata the server keeps)
    title: dict[str, str]
    data: dict[str, Any]  # the whole definition, as the browser gets it


# -- the schema -------------------------------------------------------------------------------------------
COMMON = {"id", "type", "label", "help", "required", "show_if"}
FIELD_KEYS = {
    "text": COMMON | {"max_length", "input", "autocomplete", "no_personal_number"},
    "multiline": COMMON | {"max_length"},
    "number": COMMON | {"min", "max", "unit"},
    "amount": COMMON | {"min", "max"},
    "date": COMMON,
    "month": COMMON,
    "choice": COMMON | {"options", "multiple"},
    "yesno": COMMON,
    "confirm": COMMON,
    "attachment": COMMON | {"hint", "max_files"},
}
GROUP_KEYS = {"id", "type", "label", "help", "show_if", "repeat", "min_items", "max_items", "item_label",
              "add_label", "remove_label", "fields"}
SECTION_KEYS = {"id", "title", "help", "fields"}
FORM_KEYS = {"format", "id", "version", "title", "description", "case_title", "sections"}


class _Checker:
    """Walks one definition; `fail` raises with the JSON path of what is wrong."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.top: dict[str, dict[str, Any]] = {}  # every top-level field so far, in document order

    def fail(self, path: str, message: str) -> NoReturn:
        raise FormDefinitionError(f"{self.source}: {path}: {message}")

    def keys(self, obj: Any, allowed: set[str], required: set[str], path: str) -> None:
        if not isinstance(obj, dict):
            self.fail(path, "must be an object")
        for key in obj:
            if key not in allowed:
                self.fail(f"{path}.{key}", "is not part of the format")
        for key in sorted(required - obj.keys()):
            self.fail(f"{path}.{key}", "is required")

    def text(self, value: Any, path: str, max_len: int = 2000) -> None:
        if not isinstance(value, dict) or set(value) != set(LANGUAGES):
            self.fail(path, f"must be an object with exactly the languages {', '.join(LANGUAGES)}")
        for lang, text in value.items():
            if not isinstance(text, str) or not text.strip() or len(text) > max_len:
                self.fail(f"{path}.{lang}", f"must be a non-empty string of at most {max_len} characters")

    def integer(self, obj: dict[str, Any], key: str, path: str, low: int, high: int) -> int | None:
        value = obj.get(key)
        if value is None:
            return None
        if type(value) is not int or not low <= value <= high:
            self.fail(f"{path}.{key}", f"must be a whole number from {low} to {high}")
        return value

    def flag(self, obj: dict[str, Any], key: str, path: str) -> None:
        if key in obj and type(obj[key]) is not bool:
            self.fail(f"{path}.{key}", "must be true or false")

    def form(self, data: Any) -> FormDefinition:
        self.keys(data, FORM_KEYS, {"format", "id", "version", "title", "case_title", "sections"}, "$")
        if data["format"] != FORMAT:
            self.fail("$.format", f"must be {FORMAT!r}")
        if not isinstance(data["id"], str) or not FORM_ID.match(data["id"]):
            self.fail("$.id", "must be 1-64 characters of a-z, 0-9 and -")
        self.integer(data, "version", "$", 1, 10**6)
        self.text(data["title"], "$.title", 200)
        if "description" in data:
            self.text(data["description"], "$.description")
        if not isinstance(data["case_title"], str) or not 0 < len(data["case_title"]) <= 120:
            self.fail("$.case_title", "must be a string of 1-120 characters")
        sections = data["sections"]
        if not isinstance(sections, list) or not 0 < len(sections) <= LIMITS["sections"]:
            self.fail("$.sections", f"must be a list of 1-{LIMITS['sections']} sections")
        ids: set[str] = set()
        for i, section in enumerate(sections):
            path = f"$.sections[{i}]"
            self.keys(section, SECTION_KEYS, {"id", "title", "fields"}, path)
            self.identifier(section["id"], ids, f"{path}.id")
            self.text(section["title"], f"{path}.title", 200)
            if "help" in section:
                self.text(section["help"], f"{path}.help")
            self.items(section["fields"], f"{path}.fields", ids, group=None)
        return FormDefinition(data["id"], data["version"], data["case_title"], data["title"], data)

    def identifier(self, value: Any, taken: set[str], path: str) -> None:
        if not isinstance(value, str) or not ID.match(value):
            self.fail(path, "must be 1-40 characters of a-z, 0-9 and _, starting with a letter")
        if value in taken:
            self.fail(path, f"{value!r} is used twice")
        taken.add(value)

    def items(self, items: Any, path: str, ids: set[str], group: dict[str, dict[str, Any]] | None) -> None:
        if not isinstance(items, list) or not 0 < len(items) <= LIMITS["fields"]:
            self.fail(path, f"must be a list of 1-{LIMITS['fields']} fields")
        for i, item in enumerate(items):
            item_path = f"{path}[{i}]"
            if not isinstance(item, dict):
                self.fail(item_path, "must be an object")
            if item.get("type") == "group":
                if group is not None:
                    self.fail(item_path, "a group cannot hold another group")
                self.group(item, item_path, ids)
            else:
                self.field(item, item_path, ids if group is None else set(group), group)

    def group(self, group: dict[str, Any], path: str, ids: set[str]) -> None:
        self.keys(group, GROUP_KEYS, {"id", "type", "label", "fields"}, path)
        self.identifier(group["id"], ids, f"{path}.id")
        self.text(group["label"], f"{path}.label", 200)
        for key in ("help", "item_label", "add_label", "remove_label"):
            if key in group:
                self.text(group[key], f"{path}.{key}", 200 if key != "help" else 2000)
        self.flag(group, "repeat", path)
        repeat = group.get("repeat", False)
        if not repeat and any(k in group for k in ("min_items", "max_items", "item_label", "add_label",
                                                   "remove_label")):
            self.fail(path, "min_items, max_items and the item labels belong to repeating groups")
        low = self.integer(group, "min_items", path, 0, LIMITS["items"]) or 0
        high = self.integer(group, "max_items", path, 1, LIMITS["items"]) or LIMITS["items"]
        if low > high:
            self.fail(path, "min_items is larger than max_items")
        if "show_if" in group:
            self.condition(group["show_if"], f"{path}.show_if", None)
        inner: dict[str, dict[str, Any]] = {}
        self.items(group["fields"], f"{path}.fields", set(), inner)

    def field(self, field: dict[str, Any], path: str, taken: set[str],
              group: dict[str, dict[str, Any]] | None) -> None:
        kind = field.get("type")
        if kind not in FIELD_TYPES:
            self.fail(f"{path}.type", f"must be one of {', '.join(FIELD_TYPES)} or group")
        self.keys(field, FIELD_KEYS[kind], {"id", "type", "label"}, path)
        self.identifier(field["id"], taken, f"{path}.id")
        self.text(field["label"], f"{path}.label", 300)
        if "help" in field:
            self.text(field["help"], f"{path}.help")
        self.flag(field, "required", path)
        if "show_if" in field:
            self.condition(field["show_if"], f"{path}.show_if", group)
        getattr(self, f"_{kind}")(field, path)
        (group if group is not None else self.top)[field["id"]] = field

    # one method per field type: what its own members may hold
    def _text(self, field: dict[str, Any], path: str) -> None:
        self.integer(field, "max_length", path, 1, LIMITS["text"])
        if field.get("input", "text") not in TEXT_INPUTS:
            self.fail(f"{path}.input", f"must be one of {', '.join(TEXT_INPUTS)}")
        if "autocomplete" in field and (not isinstance(field["autocomplete"], str)
                                        or not re.fullmatch(r"[a-z -]{1,40}", field["autocomplete"])):
            self.fail(f"{path}.autocomplete", "must be an HTML autocomplete token")
        self.flag(field, "no_personal_number", path)

    def _multiline(self, field: dict[str, Any], path: str) -> None:
        self.integer(field, "max_length", path, 1, LIMITS["multiline"])

    def _number(self, field: dict[str, Any], path: str) -> None:
        low = self.integer(field, "min", path, *NUMBER_RANGE)
        high = self.integer(field, "max", path, *NUMBER_RANGE)
        if low is not None and high is not None and low > high:
            self.fail(path, "min is larger than max")
        if "unit" in field:
            self.text(field["unit"], f"{path}.unit", 20)

    def _amount(self, field: dict[str, Any], path: str) -> None:
        low = self.integer(field, "min", path, 0, AMOUNT_MAX)
        high = self.integer(field, "max", path, 0, AMOUNT_MAX)
        if low is not None and high is not None and low > high:
            self.fail(path, "min is larger than max")

    def _date(self, field: dict[str, Any], path: str) -> None:
        pass

    _month = _yesno = _confirm = _date

    def _choice(self, field: dict[str, Any], path: str) -> None:
        self.flag(field, "multiple", path)
        options = field.get("options")
        if not isinstance(options, list) or not 1 < len(options) <= LIMITS["options"]:
            self.fail(f"{path}.options", f"must be a list of 2-{LIMITS['options']} options")
        values: set[str] = set()
        for i, option in enumerate(options):
            self.keys(option, {"value", "label"}, {"value", "label"}, f"{path}.options[{i}]")
            value = option["value"]
            if not isinstance(value, str) or not OPTION_VALUE.match(value) or value in values:
                self.fail(f"{path}.options[{i}].value", "must be a unique value of a-z, 0-9, _ and -")
            values.add(value)
            self.text(option["label"], f"{path}.options[{i}].label", 200)

    def _attachment(self, field: dict[str, Any], path: str) -> None:
        self.integer(field, "max_files", path, 1, LIMITS["files"])
        if "hint" in field:
            self.text(field["hint"], f"{path}.hint")

    def condition(self, cond: Any, path: str, group: dict[str, dict[str, Any]] | None) -> None:
        """show_if names a field defined before it: in the same group item, or at the top of the form."""
        if not isinstance(cond, dict) or "field" not in cond or len(cond) != 2:
            self.fail(path, "must be {field, equals | in | filled}")
        (test,) = set(cond) - {"field"}
        target = (group or {}).get(cond["field"]) or self.top.get(cond["field"])
        if target is None:
            self.fail(f"{path}.field", f"{cond['field']!r} is not a field defined before this one")
        kind = target["type"]
        if kind in ("attachment", "confirm") and test != "filled":
            self.fail(path, f"a {kind} field can only be tested with filled")
        if test == "filled":
            if cond["filled"] is not True:
                self.fail(f"{path}.filled", "must be true")
        elif test in ("equals", "in"):
            values = cond[test] if test == "in" else [cond[test]]
            if test == "in" and (not isinstance(values, list) or not values):
                self.fail(f"{path}.in", "must be a non-empty list")
            for value in values:
                self.comparable(target, value, f"{path}.{test}")
        else:
            self.fail(path, "must test with equals, in or filled")

    def comparable(self, target: dict[str, Any], value: Any, path: str) -> None:
        kind = target["type"]
        if kind == "choice":
            if value not in {o["value"] for o in target["options"]}:
                self.fail(path, f"{value!r} is not an option of {target['id']!r}")
        elif kind == "yesno":
            if type(value) is not bool:
                self.fail(path, "a yes/no field is compared with true or false")
        elif kind in ("number", "amount"):
            if type(value) is not int:
                self.fail(path, "a number is compared with a whole number")
        elif not isinstance(value, str):
            self.fail(path, "must be a string")


def check_definition(data: Any, source: str = "<definition>") -> FormDefinition:
    """The definition, checked; raises FormDefinitionError naming the first thing that is wrong."""
    return _Checker(source).form(data)


# -- the catalogue: every form, and which units offer which -----------------------------------------------
def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FormDefinitionError(f"{path}: {error}") from None


def _definitions(folder: Path) -> Iterator[FormDefinition]:
    for path in sorted(folder.glob("*.json")):
        if path.name not in ("units.json", "decisions.json"):  # decisions.json: chat/applications/decision_texts.py
            yield check_definition(_read_json(path), str(path))


class FormCatalogue:
    """The forms this server offers: the shipped definitions, overridden by id and extended by those in
    `extra_dir`; `units.json` in `extra_dir` (when there is one) replaces the shipped choice of forms per unit."""

    def __init__(self, extra_dir: Path | None = None) -> None:
        self.forms: dict[str, FormDefinition] = {}
        for folder in (SHIPPED, extra_dir):
            if folder is None:
                continue
            if not folder.is_dir():
                raise FormDefinitionError(f"{folder}: the forms folder does not exist")
            for form in _definitions(folder):
                self.forms[form.id] = form
        units_file = extra_dir / "units.json" if extra_dir and (extra_dir / "units.json").exists() else \
            SHIPPED / "units.json"
        self.units = self._units(_read_json(units_file), str(units_file))

    def _units(self, data: Any, source: str) -> dict[str, tuple[str, ...]]:
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise FormDefinitionError(f"{source}: must map unit ids to lists of form ids")
        for unit_id, form_ids in data.items():
            for form_id in form_ids:
                if form_id not in self.forms:
                    raise FormDefinitionError(f"{source}: {unit_id}: no form {form_id!r}")
        return {unit_id: tuple(form_ids) for unit_id, form_ids in data.items()}

    def for_unit(self, unit_id: str) -> list[FormDefinition]:
        return [self.forms[f] for f in self.units.get(unit_id, ())]

    def offered(self, unit_id: str, form_id: str) -> FormDefinition | None:
        return self.forms[form_id] if form_id in self.units.get(unit_id, ()) else None

    def as_json(self, unit_names: Mapping[str, str]) -> dict[str, Any]:
        """What the browser gets: the definitions, and the units (that exist here) with their forms."""
        units = [{"id": u, "name": unit_names[u], "forms": list(f)} for u, f in self.units.items() if u in unit_names]
        used = {f for unit in units for f in unit["forms"]}
        return {"units": units, "forms": [self.forms[f].data for f in sorted(used)]}
