"""What a unit's decision document offers to choose from, as data (docs/applications.md, "The decision"): the
legal bases a decision may rest on, the delegations under which staff decide, which answers of a form are the
applied items, and the appeal guidance (överklagandehänvisning, FL 33 §). Shipped in forms/decisions.json and
replaced by a `decisions.json` in SAMTAL_FORMS_DIR: the paragraph numbers of the Social Services Act
(2025:400) and the points of the committee's delegation rules are the municipality's to fill in and check,
not guesses written into code. Checked when the server starts, like the forms."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

from chat.applications.forms import LANGUAGES, SHIPPED, FormDefinitionError

FORMAT = "samtal/decisions/v1"
FILE = "decisions.json"


def _fail(source: str, path: str, what: str) -> NoReturn:
    raise FormDefinitionError(f"{source}: {path}: {what}")


def _text(value: Any, source: str, path: str) -> None:
    if not isinstance(value, dict) or set(value) != set(LANGUAGES) or not all(
            isinstance(v, str) and 0 < len(v) <= 2000 for v in value.values()):
        _fail(source, path, "must be {\"sv\": ..., \"en\": ...}, both non-empty, at most 2,000 characters")


def _choices(value: Any, source: str, path: str) -> None:
    if not isinstance(value, list) or not 0 < len(value) <= 40:
        _fail(source, path, "must be a list of 1-40 {id, text}")
    seen = set()
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"id", "text"} or not isinstance(item["id"], str) \
                or not 0 < len(item["id"]) <= 40 or item["id"] in seen:
            _fail(source, f"{path}[{i}]", "must be {id, text} with a unique id of 1-40 characters")
        seen.add(item["id"])
        _text(item["text"], source, f"{path}[{i}].text")


def check(data: Any, source: str) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("format") != FORMAT or set(data) != {"format", "units", "appeal"}:
        _fail(source, "$", f"must be {{format: {FORMAT!r}, units, appeal}}")
    _text(data["appeal"], source, "$.appeal")
    if not isinstance(data["units"], dict):
        _fail(source, "$.units", "must map unit ids to what their decisions offer")
    for unit_id, unit in data["units"].items():
        path = f"$.units.{unit_id}"
        if not isinstance(unit, dict) or not set(unit) <= {"legal_bases", "delegations", "items"} \
                or not {"legal_bases", "delegations"} <= set(unit):
            _fail(source, path, "must be {legal_bases, delegations, items?}")
        _choices(unit["legal_bases"], source, f"{path}.legal_bases")
        _choices(unit["delegations"], source, f"{path}.delegations")
        for form_id, items in unit.get("items", {}).items():
            if not isinstance(items, dict) or set(items) != {"section", "base"} or not isinstance(items["section"], str):
                _fail(source, f"{path}.items.{form_id}", "must be {section, base}")
            _text(items["base"], source, f"{path}.items.{form_id}.base")
    checked: dict[str, Any] = data
    return checked


def load(extra_dir: Path | None) -> dict[str, Any]:
    """The decision texts: the forms folder's own decisions.json if it has one, else the shipped one."""
    path = extra_dir / FILE if extra_dir and (extra_dir / FILE).exists() else SHIPPED / FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FormDefinitionError(f"{path}: {error}") from None
    return check(data, str(path))
