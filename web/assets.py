"""The browser app's static files, read once at start and served under content-hashed names.

A JavaScript module's relative imports are rewritten to the hashed names of the modules it imports, so a
module's name changes whenever anything in its import graph changes, and every file can be cached for a
year. Pages also give every module of a page an SRI hash (sha384), through the entry script tag and
`modulepreload` links; see web/pages.py."""
from __future__ import annotations

import base64
import gzip
import hashlib
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

STATIC_ROOT = Path(__file__).resolve().parent / "static"
URL_PREFIX = "/static/"
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json"}
# Python files in the folder make it a package for setuptools; they are not served.
SERVED_SUFFIXES = frozenset(MEDIA_TYPES)

# `import x from "./a.js"`, `export {x} from "../a.js"`, `import "./a.js"` and `import("./a.js")`.
JS_IMPORT = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'])(\.{1,2}/[^"'\s]+?\.js)\2""")
CSS_URL = re.compile(r"""url\(\s*(["']?)(\.{1,2}/[^"')\s]+)\1\s*\)""")
# Strings and comments, in the order they start, so that a quote inside a comment (or "//" inside a string)
# is not mistaken; an import inside a comment (a JSDoc type such as {import("./keys.js").DeviceKeys}) is left
# alone: it is documentation, not a module the page loads.
JS_STRING_OR_COMMENT = re.compile(r"""/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`""", re.S)


def module_references(text: str, pattern: re.Pattern[str] = JS_IMPORT) -> list[re.Match[str]]:
    """The matches of `pattern` (by default: relative imports) in JavaScript source, outside comments."""
    comments = [m.span() for m in JS_STRING_OR_COMMENT.finditer(text) if m[0].startswith("/")]
    return [m for m in pattern.finditer(text) if not any(start <= m.start() < end for start, end in comments)]


class AssetError(RuntimeError):
    """The static files cannot be served as they are (an import of a missing file, or an import cycle)."""


@dataclass(frozen=True)
class Asset:
    path: str  # path under web/static, e.g. "js/pages/case.js"
    url: str  # e.g. "/static/js/pages/case.3f2a9c1b0d4e.js"
    body: bytes
    media_type: str
    integrity: str  # "sha384-…" of body, for SRI
    imports: tuple[str, ...]  # paths of the modules (or files, for CSS) this file refers to
    gzipped: bytes | None = None  # the body gzipped once at start, for browsers that accept it (None: not smaller)


def _hashed_url(path: str, body: bytes) -> str:
    stem, dot, ext = path.rpartition(".")
    digest = hashlib.sha256(body).hexdigest()[:12]
    return f"{URL_PREFIX}{stem}.{digest}.{ext}" if dot else f"{URL_PREFIX}{path}.{digest}"


def _gzipped(body: bytes) -> bytes | None:
    """Scripts, styles and SVG shrink to a quarter or so: on a slow phone network that is most of a cold start
    (bench/phone.py). PNGs are compressed already. mtime=0: the same bytes at every start."""
    packed = gzip.compress(body, compresslevel=9, mtime=0)
    return packed if len(packed) < len(body) * 0.9 else None


def _sri(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode("ascii")


class Assets:
    """Every servable file under `root`, by path, by hashed URL and by plain URL."""

    def __init__(self, root: Path = STATIC_ROOT, generated: dict[str, bytes] | None = None) -> None:
        """`generated`: files made when the server starts, in place of their placeholders under `root`
        (web/anchors.py); hashed, served and signed like the others."""
        self.root = root
        sources = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
                   if p.is_file() and p.suffix in SERVED_SUFFIXES}
        sources.update(generated or {})
        self.by_path: dict[str, Asset] = {}
        for path in sources:
            self._build(path, sources, ())
        self.by_url = {a.url: a for a in self.by_path.values()}
        self.by_plain_url = {URL_PREFIX + a.path: a for a in self.by_path.values()}

    def _build(self, path: str, sources: dict[str, bytes], stack: tuple[str, ...]) -> Asset:
        """Hash `path` after its dependencies (depth first), rewriting references to their hashed URLs."""
        if path in self.by_path:
            return self.by_path[path]
        if path in stack:
            raise AssetError("import cycle: " + " -> ".join(stack[stack.index(path):] + (path,)))
        if path not in sources:
            raise AssetError(f"{stack[-1] if stack else '?'} refers to {path}, which does not exist")
        text = sources[path].decode("utf-8") if path.endswith((".js", ".css")) else None
        imports: list[str] = []

        def resolve(reference: str) -> str:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(path), reference))
            if target.startswith("../"):
                raise AssetError(f"{path} refers to {reference}, outside the static folder")
            imports.append(target)
            return self._build(target, sources, stack + (path,)).url

        if text is not None and path.endswith(".js"):
            out, last = [], 0
            for m in module_references(text):
                out += [text[last:m.start()], f"{m[1]}{m[2]}{resolve(m[3])}{m[2]}"]
                last = m.end()
            text = "".join(out) + text[last:]
        elif text is not None:
            text = CSS_URL.sub(lambda m: f'url("{resolve(m[2])}")', text)
        body = text.encode("utf-8") if text is not None else sources[path]
        asset = Asset(path, _hashed_url(path, body), body, MEDIA_TYPES[Path(path).suffix], _sri(body),
                      tuple(dict.fromkeys(imports)), _gzipped(body))
        self.by_path[path] = asset
        return asset

    def __getitem__(self, path: str) -> Asset:
        return self.by_path[path]

    def lookup(self, url_path: str) -> tuple[Asset, bool] | None:
        """The asset at a URL path, and whether the URL was the hashed (immutable) one."""
        if url_path in self.by_url:
            return self.by_url[url_path], True
        if url_path in self.by_plain_url:
            return self.by_plain_url[url_path], False
        return None

    def module_graph(self, path: str) -> list[Asset]:
        """`path` and every module it imports, directly or not; dependencies first."""
        seen: dict[str, Asset] = {}

        def visit(p: str) -> None:
            if p in seen:
                return
            asset = self.by_path[p]
            for dep in asset.imports:
                visit(dep)
            seen[p] = asset

        visit(path)
        return list(seen.values())

    def precache_urls(self) -> list[str]:
        """What the service worker keeps for offline use: every script, style and icon (never content)."""
        return sorted(a.url for a in self.by_path.values())
