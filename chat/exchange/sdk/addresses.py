"""The municipality's SDK addressing (#16 item 5; docs/sdk.md, Addresses): its participant id, each unit's SDK
functional addresses (and the exchange address in Samtal whose Myndighetspost receives them), and a look-up
of recipients by organisation and function.

The SDK address book is reached only through a federation connection, so the look-up reads a configured file
instead (SAMTAL_SDK_CONFIG, JSON), which an operator fills from the address book or from what agencies tell
them; an incoming message's sender is reachable for a reply whether it is listed there or not.

    {"organisation": "0203:kommun.example",
     "units": {"<unit id>": [{"function": "sdk:inkorg:0203:kommun.example:soc", "label": "Socialtjänsten",
                              "address": "<the unit's exchange address>"}]},
     "directory": [{"organisation": "0203:polisen.se", "name": "Polismyndigheten",
                    "function": "sdk:inkorg:0203:polisen.se", "label": "Polisen region Syd"}],
     "message_service": {"base_url": "https://mt.example/sdk-api/v1", "token_url": "https://mt.example/token",
                         "client_id": "samtal", "client_secret_file": "/etc/samtal/mt-secret",
                         "client_cert": "/etc/samtal/mt.crt", "client_key": "/etc/samtal/mt.key",
                         "poll_seconds": 30},
     "case_systems": [{"name": "Verksamhetssystemet", "unit": "<unit id>", "token_sha256": "<hex>",
                       "functions": ["sdk:inkorg:0203:kommun.example:soc-vsys"]}]}

Without `message_service` the look-up still works and nothing is polled or sent.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PARTICIPANT_RE = re.compile(r"\d{4}:[^\s:]{1,200}", re.ASCII)  # iso6523-actorid-upis, e.g. 0203:polisen.se
MAX_FUNCTION = 256  # recipientAttention.subOrganization.extension's maxLength


class SdkConfigError(ValueError):
    """The SDK configuration file is wrong; the message says where."""


@dataclass(frozen=True)
class UnitFunction:
    unit_id: str
    function: str  # the SDK functional address (subOrganization extension)
    label: str
    address: str  # the unit's exchange address in Samtal that receives what is sent to `function`


@dataclass(frozen=True)
class Recipient:
    organisation: str
    name: str
    function: str
    label: str


@dataclass(frozen=True)
class CaseSystem:
    """A unit's case management system that reaches the federation through Samtal's message service API
    (web/sdk_api.py), with a bearer token the operator gave it (only its SHA-256 is configured), for the
    functional addresses it may send from and read."""

    name: str
    unit_id: str
    token_sha256: str
    functions: tuple[str, ...]


@dataclass(frozen=True)
class MessageService:
    base_url: str
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    client_cert: tuple[str, str] | None = None
    poll_seconds: float = 30.0


@dataclass(frozen=True)
class SdkAddresses:
    organisation: str
    functions: tuple[UnitFunction, ...]
    directory: tuple[Recipient, ...]
    service: MessageService | None = None
    case_systems: tuple[CaseSystem, ...] = ()

    def for_unit(self, unit_id: str) -> list[UnitFunction]:
        return [f for f in self.functions if f.unit_id == unit_id]

    def by_function(self, function: str) -> UnitFunction | None:
        return next((f for f in self.functions if f.function == function), None)

    def by_address(self, address: str) -> UnitFunction | None:
        """The SDK functional address a unit's exchange address sends from (the first configured)."""
        return next((f for f in self.functions if f.address == address), None)

    def lookup(self, organisation: str | None = None, function: str | None = None) -> list[Recipient]:
        """Recipients by organisation (participant id, or a word of its name) and by function (a word of the
        functional address or its label); case is ignored, both narrow the list."""
        def has(words: str | None, *fields: str) -> bool:
            return not words or all(any(w in f.casefold() for f in fields) for w in words.casefold().split())
        return [r for r in self.directory
                if has(organisation, r.organisation, r.name) and has(function, r.function, r.label)]


def load(path: str | Path) -> SdkAddresses:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SdkConfigError(f"{path}: {type(error).__name__}: cannot be read as JSON") from None
    return parse(data, str(path))


def parse(data: Any, where: str = "SAMTAL_SDK_CONFIG") -> SdkAddresses:
    if not isinstance(data, dict):
        raise SdkConfigError(f"{where}: must be a JSON object")
    organisation = _participant(data.get("organisation"), f"{where}: organisation")
    functions: list[UnitFunction] = []
    units = data.get("units", {})
    if not isinstance(units, dict):
        raise SdkConfigError(f"{where}: units must be an object of unit id to functional addresses")
    for unit_id, entries in units.items():
        for i, entry in enumerate(entries if isinstance(entries, list) else [None]):
            at = f"{where}: units.{unit_id}[{i}]"
            functions.append(UnitFunction(unit_id, _function(_get(entry, "function", at), at),
                                          _get(entry, "label", at), _get(entry, "address", at)))
    seen = [f.function for f in functions]
    if len(seen) != len(set(seen)):
        raise SdkConfigError(f"{where}: a functional address is given to two units")
    directory = []
    entries = data.get("directory", [])
    for i, entry in enumerate(entries if isinstance(entries, list) else [None]):
        at = f"{where}: directory[{i}]"
        directory.append(Recipient(_participant(_get(entry, "organisation", at), at), _get(entry, "name", at),
                                   _function(_get(entry, "function", at), at), _get(entry, "label", at)))
    systems = []
    entries = data.get("case_systems", [])
    for i, entry in enumerate(entries if isinstance(entries, list) else [None]):
        at = f"{where}: case_systems[{i}]"
        digest = _get(entry, "token_sha256", at).lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise SdkConfigError(f"{at}.token_sha256 must be the SHA-256 of the token, in hex")
        names = entry.get("functions")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise SdkConfigError(f"{at}.functions must list its functional addresses")
        systems.append(CaseSystem(_get(entry, "name", at), _get(entry, "unit", at), digest,
                                  tuple(_function(n, at) for n in names)))
    return SdkAddresses(organisation, tuple(functions), tuple(directory), _service(data.get("message_service"), where),
                        tuple(systems))


def _service(data: Any, where: str) -> MessageService | None:
    if data is None:
        return None
    at = f"{where}: message_service"
    base_url = _get(data, "base_url", at)
    optional = {k: _get(data, k, at) if k in data else None
                for k in ("token_url", "client_id", "client_secret_file", "client_cert", "client_key")}
    secret = None
    if optional["client_secret_file"]:
        try:
            secret = Path(optional["client_secret_file"]).read_text(encoding="utf-8").strip()
        except OSError:
            raise SdkConfigError(f"{at}.client_secret_file cannot be read") from None
    poll = data.get("poll_seconds", 30)
    if type(poll) not in (int, float) or not 0 < poll <= 3600:
        raise SdkConfigError(f"{at}.poll_seconds must be a number of seconds up to 3600")
    cert = (optional["client_cert"], optional["client_key"]) if optional["client_cert"] and optional["client_key"] else None
    return MessageService(base_url, optional["token_url"], optional["client_id"], secret, cert, float(poll))


def _get(entry: Any, name: str, at: str) -> str:
    value = entry.get(name) if isinstance(entry, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise SdkConfigError(f"{at}.{name} must be a non-empty string")
    return value


def _participant(value: Any, at: str) -> str:
    if not isinstance(value, str) or not PARTICIPANT_RE.fullmatch(value):
        raise SdkConfigError(f"{at} must be a participant id such as 0203:kommun.example")
    return value


def _function(value: str, at: str) -> str:
    if len(value) > MAX_FUNCTION or any(c.isspace() for c in value):
        raise SdkConfigError(f"{at}.function must be at most {MAX_FUNCTION} characters without spaces")
    return value
