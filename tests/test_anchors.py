"""Where the municipality publishes each unit's identity file is part of the browser code and its signed release
(web/anchors.py, docs/protocol.md §18): the server cannot point citizens' browsers at another file without
serving code the release key did not sign, and the pages may fetch from those origins and no others."""
from __future__ import annotations

from pathlib import Path

import pytest

from web.anchors import MODULE_PATH, assets_for, connect_origins
from web.assets import Assets
from web.pages import PAGE_CSP, Site
from web.release import load_release, release_files, sign_manifest

SEED = bytes(range(32))
URLS = {"ekonomiskt-bistand": "https://kommun.example/.well-known/samtal/ekonomiskt-bistand.json",
        "barn-unga": "https://kommun.example:8443/samtal/barn-unga.json"}


def test_the_addresses_are_a_module_of_the_signed_release() -> None:
    plain, named = Assets(), assets_for(URLS)
    module = named[MODULE_PATH]
    assert URLS["barn-unga"].encode() in module.body and module.url != plain[MODULE_PATH].url
    files = release_files(named, "r1", bytes(32))
    assert module.url in files and plain[MODULE_PATH].url not in files
    # Whatever imports it (trust.js, and the pages through it) is renamed too: the old code cannot be served as new.
    assert named["js/trust.js"].url != plain["js/trust.js"].url


def test_a_server_given_a_release_of_other_addresses_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "r1.json").write_bytes(sign_manifest(assets_for(URLS), "r1", SEED))
    assert load_release(assets_for(URLS), tmp_path / "r1.json", tmp_path).name == "r1"
    elsewhere = {**URLS, "ekonomiskt-bistand": "https://samtal.example/fake.json"}
    with pytest.raises(SystemExit, match="does not match"):
        load_release(assets_for(elsewhere), tmp_path / "r1.json", tmp_path)


def test_the_pages_may_fetch_from_the_municipalitys_origins_only(tmp_path: Path) -> None:
    assert connect_origins(URLS) == ["https://kommun.example", "https://kommun.example:8443"]
    site = Site(False, 1024, [], tmp_path, None, URLS)
    csp = site.page_headers["content-security-policy"]
    assert "connect-src 'self' https://kommun.example https://kommun.example:8443;" in csp
    assert site.call_page_headers["content-security-policy"] == csp
    assert Site(False, 1024, [], tmp_path / "plain").page_headers["content-security-policy"] == PAGE_CSP
