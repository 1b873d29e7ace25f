"""Where the municipality publishes each unit's signed identity file (docs/protocol.md §18, SAMTAL_UNIT_IDENTITY_URLS),
as the browser code knows it: a generated module among the static files, so that its addresses are part of the
signed release (web/release.py). An installed app therefore compares a unit's identity with the file at the
address its signed release names, and a server that wants the citizen to compare against a file of its own
must get a new release signed, like any change of code. The pages' Content-Security-Policy lets the browser
fetch from those addresses' origins, and from nowhere else."""
from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urlsplit

from web.assets import Assets

MODULE_PATH = "js/unit-identity-urls.js"


def urls_module(urls: Mapping[str, str]) -> bytes:
    """The module's text: the one export, the unit id -> address map, frozen."""
    table = json.dumps(dict(sorted(urls.items())), ensure_ascii=True, indent=1)
    return ("// Generated from SAMTAL_UNIT_IDENTITY_URLS when the server starts (web/anchors.py); part of the signed\n"
            "// release, so an installed app compares each unit's identity with the file its release names.\n"
            f"export const UNIT_IDENTITY_URLS = Object.freeze({table});\n").encode()


def assets_for(urls: Mapping[str, str]) -> Assets:
    """The static files with the municipality's addresses in them (the plain placeholder when there are none)."""
    return Assets(generated={MODULE_PATH: urls_module(urls)}) if urls else Assets()


def connect_origins(urls: Mapping[str, str]) -> list[str]:
    """The origins (scheme://host[:port]) the pages may fetch identity files from."""
    origins = {f"{p.scheme}://{p.netloc}" for p in map(urlsplit, urls.values()) if p.scheme and p.netloc}
    return sorted(origins)
