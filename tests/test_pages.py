"""The pages as HTTP sees them: strict security headers, SRI and content-hashed names for every script,
no inline script or style, the language choice, the manifest and the service worker, and the catalogues
and sources kept honest (every string translated, no HTML sinks, logical CSS properties only)."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from web.assets import Assets, module_references
from web.i18n import LANGUAGES, extract, read_catalog
from web.pages import PAGE_CSP

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "web" / "static"
ANY_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*["']([^"']+)["']""")
CALL_PAGE = "/cases/eb-2026-0001/calls/1"
PAGES = ["/", "/cases", "/cases/eb-2026-0001", "/inbox", "/inbox/eb-2026-0001", "/devices", CALL_PAGE]


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside <script> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


def sri(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


@pytest.fixture(scope="module")
def http(server):  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_strict_policy_and_language(http, server, path):
    response = http.get(path)
    assert response.status_code == 200
    # Besides its own origin, a page may fetch only the e-identification providers' keys (the demo's here).
    assert response.headers["content-security-policy"] == PAGE_CSP.replace(
        "connect-src 'self'", f"connect-src 'self' {server.url}")
    for directive in ("script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                      "require-trusted-types-for 'script'", "trusted-types samtal", "base-uri 'none'"):
        assert directive in PAGE_CSP
    assert "unsafe" not in PAGE_CSP
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert re.search(r'<html lang="sv" dir="ltr">', response.text)
    tags = parse(response.text)
    assert not any("style" in attrs for _, attrs in tags.tags), "no inline style attributes"
    assert not any(tag == "style" for tag, _ in tags.tags)
    assert any(tag == "a" and attrs.get("href") == "#main" for tag, attrs in tags.tags), "a skip link"


@pytest.mark.parametrize("path", PAGES)
def test_every_script_is_external_with_integrity_and_hashed_name(http, path):
    tags = parse(http.get(path).text)
    executable = [attrs for attrs, _ in tags.scripts if attrs.get("type") != "application/json"]
    # The page's entry, and on a signed-in page js/early.js first (it starts the page's first requests).
    assert [re.sub(r"\.[0-9a-f]{12}\.js$", "", a["src"] or "").rsplit("/", 2)[-2] for a in executable][-1] == "pages"
    assert len(executable) == (1 if path == "/" else 2)
    for attrs, text in tags.scripts:
        if attrs.get("type") == "application/json":
            json.loads(text)  # data, not code
            continue
        assert not text.strip(), "no inline script"
        assert attrs["type"] == "module"
        assert re.fullmatch(r"/static/js/(pages/\w+|early)\.[0-9a-f]{12}\.js", attrs["src"] or "")
        assert attrs["integrity"] == sri(http.get(attrs["src"]).content)
    preloads = [attrs for tag, attrs in tags.tags if tag == "link" and attrs.get("rel") == "modulepreload"]
    for attrs in preloads:
        body = http.get(attrs["href"]).content
        assert attrs["integrity"] == sri(body)
    # The entry and its preloads are the whole import graph: every module a page runs is pinned by SRI.
    entry = next(a["src"] for a, _ in tags.scripts if "/pages/" in (a.get("src") or ""))
    pinned = {entry} | {a["href"] for a in preloads}
    seen, todo = set(), [entry]
    while todo:
        url = todo.pop()
        seen.add(url)
        source = http.get(url).text
        for match in module_references(source, ANY_IMPORT):
            assert re.fullmatch(r"/static/js/.+\.[0-9a-f]{12}\.js", match[1]), f"{url} imports {match[1]}"
            if match[1] not in seen:
                todo.append(match[1])
    assert seen == pinned


def test_hashed_files_are_immutable_and_plain_names_revalidate(http):
    assets = Assets()
    asset = assets["js/app.js"]
    hashed = http.get(asset.url)
    assert hashed.status_code == 200 and hashed.content == asset.body
    assert "immutable" in hashed.headers["cache-control"]
    assert hashed.headers["content-type"].startswith("text/javascript")
    plain = http.get("/static/js/app.js")
    assert plain.content == asset.body and plain.headers["cache-control"] == "no-cache"
    assert http.get("/static/js/nothing.js").status_code == 404
    assert http.get("/static/../pages.py").status_code == 404
    assert http.get("/static/__init__.py").status_code == 404


def test_relative_imports_all_resolve_to_hashed_names():
    assets = Assets()
    for asset in assets.by_path.values():
        if asset.path.endswith(".js"):
            assert not module_references(asset.body.decode()), f"{asset.path} keeps a relative import"


def test_language_choice_is_remembered_and_every_page_says_its_language(server):
    with httpx.Client(base_url=server.url) as browser:
        response = browser.get("/cases?lang=en")
        assert response.status_code == 303 and response.headers["location"] == "/cases"
        assert "lang=en" in response.headers["set-cookie"] and "SameSite=strict" in response.headers["set-cookie"]
        english = browser.get("/cases")
    assert '<html lang="en" dir="ltr">' in english.text and "My cases" in english.text
    with httpx.Client(base_url=server.url, cookies={"lang": "xx"}) as browser:
        swedish = browser.get("/cases")
    assert '<html lang="sv"' in swedish.text and "Mina ärenden" in swedish.text
    catalogue = json.loads(next(text for attrs, text in parse(english.text).scripts if attrs.get("id") == "i18n"))
    assert catalogue["Sent"] == "Sent"
    assert json.loads(next(text for attrs, text in parse(swedish.text).scripts if attrs.get("id") == "i18n"))[
        "Sent"] == "Skickat"


def test_manifest_icons_and_service_worker(http):
    manifest = http.get("/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert body["start_url"] == "/" and body["display"] == "standalone" and body["lang"] == "sv"
    sizes = {icon["sizes"] for icon in body["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in body["icons"]:
        image = http.get(icon["src"])
        assert image.status_code == 200 and image.headers["content-type"] == icon["type"]
        if icon["type"] == "image/png":
            assert image.content[:8] == b"\x89PNG\r\n\x1a\n"
            assert int.from_bytes(image.content[16:20], "big") == int(icon["sizes"].split("x")[0])
    worker = http.get("/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    assert "connect-src 'self'" in worker.headers["content-security-policy"]
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", worker.text)[1])
    assert precache and all(re.fullmatch(r"/static/.+\.[0-9a-f]{12}\.\w+", url) for url in precache)
    assert not any(url.startswith(("/api", "/ws")) for url in precache)


def test_device_qr_code_needs_a_session(http, server):
    assert http.get("/devices/AAAAAAAAAAAAAAAAAAAAAA/qr.svg").status_code == 401
    with httpx.Client(base_url=server.url) as signed_in:
        signed_in.post("/api/demo/login", json={"username": "dana"})
        assert signed_in.get("/devices/AAAAAAAAAAAAAAAAAAAAAA/qr.svg").status_code == 404


def test_only_the_call_page_may_use_the_camera_and_microphone(http, server):
    allowed = http.get(CALL_PAGE).headers["permissions-policy"]
    assert "camera=(self)" in allowed and "microphone=(self)" in allowed
    for path in PAGES[:-1]:
        policy = http.get(path).headers["permissions-policy"]
        assert "camera=()" in policy and "microphone=()" in policy, path
    with httpx.Client(base_url=server.url, timeout=10) as greta:  # a log reviewer takes part in no call
        greta.post("/api/demo/login", json={"username": "greta"}).raise_for_status()
        refused = greta.get(CALL_PAGE)
        assert refused.status_code == 403 and "camera=()" in refused.headers["permissions-policy"]


def test_unknown_case_ids_in_page_addresses_are_refused(http):
    assert http.get("/cases/not%20a%20case").status_code == 404
    assert http.get("/inbox/" + "x" * 65).status_code == 404


# -- the sources --------------------------------------------------------------------------------------
def test_catalogues_are_complete_and_up_to_date():
    extracted = {m.id for m in extract() if m.id}
    for code in LANGUAGES:
        catalog = read_catalog(code)
        ids = {m.id for m in catalog if m.id}
        assert ids == extracted, f"run `python -m web.i18n update` ({code})"
        if code != "en":
            untranslated = [m.id for m in catalog if m.id and not all(
                m.string if isinstance(m.string, tuple) else [m.string])]
            assert not untranslated, f"{code}: untranslated {untranslated}"
        assert not [m.id for m in catalog if m.id and m.fuzzy], f"{code}: fuzzy entries"


def test_every_string_the_browser_code_translates_is_in_the_catalogue():
    """Babel's JavaScript extractor does not look inside template literals: a t("...") written in `${...}`
    was never extracted, so the page showed it in English whatever the language ("Entry 18" on Loggkontroll)."""
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in read_catalog("sv") if m.id}
    missing = set()
    for path in (ROOT / "web" / "static" / "js").rglob("*.js"):
        code = re.sub(r"^\s*(//|/?\*).*$", "", path.read_text(encoding="utf-8"), flags=re.M)  # not in comments
        missing |= {f"{path.name}: {s}" for s in re.findall(r'\btn?\("((?:[^"\\]|\\.)*)"', code) if s not in ids}
    assert not missing, "write these outside template literals so that they are extracted: " + "; ".join(sorted(missing))


HTML_SINKS = re.compile(r"\.(innerHTML|outerHTML|insertAdjacentHTML|srcdoc)\b|document\.write|\beval\(|"
                        r"new Function\(|setTimeout\(\s*[\"'`]|setInterval\(\s*[\"'`]")


def test_no_script_builds_html_from_strings():
    for path in sorted(STATIC.rglob("*.js")):
        text = path.read_text(encoding="utf-8")
        assert not HTML_SINKS.search(text), f"{path.relative_to(ROOT)} uses an HTML or code sink"


def test_templates_never_turn_off_escaping():
    for path in sorted((ROOT / "web" / "templates").glob("*.html")):
        text = path.read_text(encoding="utf-8")
        assert "|safe" not in text.replace(" ", "") and "autoescape false" not in text, path.name


PHYSICAL = re.compile(r"(?<![\w-])(margin|padding|border)-(left|right)\b|(?<![\w-])(left|right)\s*:|"
                      r"text-align\s*:\s*(left|right)|float\s*:\s*(left|right)|"
                      r"(?<![\w-])(width|height|min-width|max-width|min-height|max-height)\s*:")


def test_styles_use_logical_properties_for_right_to_left_languages():
    for path in sorted(STATIC.rglob("*.css")):
        text = re.sub(r"/\*.*?\*/", "", path.read_text(encoding="utf-8"), flags=re.S)
        text = re.sub(r"@media[^{]*\{", "{", text)  # (min-width: …) in media queries is not layout
        found = PHYSICAL.search(text)
        assert not found, f"{path.name}: {found[0]!r}; use the logical property (inline/block, start/end)"


def test_the_language_chosen_in_settings_follows_the_person_to_a_new_browser(server):
    """Chosen on /settings in one browser; a new browser that signs in gets the pages in it at once."""
    with httpx.Client(base_url=server.url, timeout=10) as first:
        first.post("/api/demo/login", json={"username": "erik"}).raise_for_status()
        first.put("/api/me/notifications", json={"email_opt_in": False, "language": "en"}).raise_for_status()
    with httpx.Client(base_url=server.url, timeout=10) as fresh:
        assert "lang" not in fresh.cookies
        fresh.post("/api/demo/login", json={"username": "erik"}).raise_for_status()
        assert fresh.cookies.get("lang") == "en"
        assert '<html lang="en"' in fresh.get("/cases").text
    with httpx.Client(base_url=server.url, timeout=10) as other:  # someone who chose nothing: no cookie
        other.post("/api/demo/login", json={"username": "dana"}).raise_for_status()
        assert "lang" not in other.cookies


def test_scripts_styles_and_pages_are_gzipped_for_a_browser_that_takes_it(http):
    """#14 item 5: on a slow phone network the uncompressed scripts were most of a cold start."""
    page = http.get("/cases/eb-2026-0001", headers={"accept-encoding": "gzip, deflate, br"})
    assert page.headers["content-encoding"] == "gzip" and "accept-encoding" in page.headers["vary"]
    src = next(a["src"] for a, _ in parse(page.text).scripts if "/pages/" in (a.get("src") or ""))
    packed = http.get(src, headers={"accept-encoding": "gzip"})
    plain = http.get(src, headers={"accept-encoding": "identity"})
    assert packed.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert packed.content == plain.content  # the same file, SRI and all
    assert int(packed.headers["content-length"]) < len(plain.content) / 2
    assert "content-encoding" not in http.get("/cases", headers={"accept-encoding": "identity"}).headers
