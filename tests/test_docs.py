"""The documentation keeps up with the code: every setting, route, frame type and error code is documented,
and the README's quick start is what CI runs."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from web.app import api_routes
from web.frames import CLIENT_FRAMES

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
OPERATIONS = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
EXCHANGE = (ROOT / "docs" / "exchange.md").read_text(encoding="utf-8")
SDK = (ROOT / "docs" / "sdk.md").read_text(encoding="utf-8")

ROUTES = api_routes()  # every route create_app serves


def source(*folders: str) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for f in folders for p in sorted((ROOT / f).rglob("*.py")))


@pytest.mark.parametrize("name", sorted(set(re.findall(r"SAMTAL_[A-Z_]+", source("web", "chat")))))
def test_every_setting_is_documented(name):
    assert f"`{name}`" in OPERATIONS


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{'/'.join(r.methods)} {r.path}")
def test_every_http_route_is_documented(route):
    path = re.sub(r":\w+}", "}", route.path)  # {id:int} is documented as {id}
    for method in route.methods:  # the agency exchange has its own document, for agencies' developers
        assert f"`{method} {path}" in (EXCHANGE if path.startswith("/exchange/") else SDK
                                       if path.startswith("/sdk/api/") else PROTOCOL)


@pytest.mark.parametrize("frame_type", sorted(CLIENT_FRAMES))
def test_every_client_frame_is_documented(frame_type):
    assert f'"t":"{frame_type}"' in PROTOCOL


@pytest.mark.parametrize("code", sorted(set(re.findall(r'code="([a-z_]+)"', source("web", "chat")))
                                        | set(re.findall(r'(?:error_frame|FrameError)\("([a-z_]+)"',
                                                         source("web")))))
def test_every_error_code_is_documented(code):
    assert f"`{code}`" in PROTOCOL


@pytest.mark.parametrize("code", sorted(set(re.findall(r'ExchangeError\(\s*\d+, "([a-z_]+)"', source("web", "chat")))))
def test_every_exchange_error_code_is_documented(code):
    assert f"| `{code}` |" in EXCHANGE


def test_readme_quick_start_is_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["python3 dev.py serve", "python3 dev.py test"]
    assert "python3 dev.py test" in (ROOT / ".ci" / "run").read_text()


def test_every_document_types_required_fields_are_in_the_exchange_docs() -> None:
    """An agency's developer writes documents from docs/exchange.md's table; it must name every required field
    (nested ones too) of the schema the endpoint validates with."""
    from chat.exchange.documents import TYPES

    def required(schema: dict, prefix: str = "") -> list[str]:
        names = [prefix + name for name in schema.get("required", [])]
        for name, sub in schema.get("properties", {}).items():
            if name == "attachments":
                continue  # documented once for every type, below the table
            if sub.get("type") == "object":
                names += required(sub, f"{prefix}{name}.")
            items = sub.get("items")
            if sub.get("type") == "array" and isinstance(items, dict) and items.get("type") == "object":
                names += required(items, f"{prefix}{name}.")
        return names

    rows = {line.split("|")[1].strip().strip("`"): line for line in EXCHANGE.splitlines()
            if line.startswith("| `") and "/v1`" in line.split("|")[1]}
    for doc_type, schema in TYPES.items():
        assert doc_type in rows, f"{doc_type} has no row in docs/exchange.md"
        for name in required(schema):
            if name.startswith("person."):  # a person is described once, below the table
                assert f"`person` and `child` require `{name.split('.', 1)[1]}`" in EXCHANGE
                continue
            assert f"`{name.rsplit('.', 1)[-1]}`" in rows[doc_type], f"{doc_type}: required {name} is not documented"


def test_the_documented_address_rule_is_the_endpoints() -> None:
    from chat.exchange.envelope import ADDRESS_RE

    assert f"`^{ADDRESS_RE.pattern}$`" in EXCHANGE
