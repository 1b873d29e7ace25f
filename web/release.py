"""The signed release manifest: every file the browser runs (the static files under their hashed URLs, and the
service worker), each with its SHA-256, signed with the release key (Ed25519). The installed app's service
worker pins the release key on first install and refuses to take new code whose manifest does not verify
(templates/sw.js); `samtal web verify` compares what a server serves with a manifest (docs/browser-app.md,
Code the server cannot swap silently; docs/operations.md, Releases).

The manifest depends only on the code and the release key, so a release is signed once, away from the server,
by whoever holds the key (`samtal web sign-manifest`), and the server is given the signed file
(SAMTAL_RELEASE_MANIFEST). Without one, the server signs with a key of its own in its data folder: the
worker then still refuses code that differs from what the server published when it started, but not code the
server's operator swaps deliberately."""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crypto.encoding import b64u, unb64u
from crypto.errors import MalformedError
from crypto.sign import ed25519_public, sign, verify_strict
from web.assets import Assets
from web.keyfiles import private_file

FORMAT = "samtal-release/v1"
LABEL = b"samtal/release-manifest/v1"
MANIFEST_URL = "/release.json"
SW_SOURCE = Path(__file__).resolve().parent / "templates" / "sw.js"
# Page shells the service worker keeps from the start; a conversation's page is kept once visited.
OFFLINE_PAGES = ["/", "/cases", "/inbox", "/devices"]
KEY_FILE = "release-key.json"


class ReleaseError(RuntimeError):
    """A signed manifest that is malformed, not signed by the key expected, or not of these files."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def service_worker_source(assets: Assets, release: str, release_key: bytes) -> str:
    """The worker with its copy list, its release and the release key it pins. The version (its caches' names)
    changes with the files and the release, so that the browser installs a new worker for new code."""
    urls = assets.precache_urls()
    version = sha256_hex(json.dumps([urls, release, b64u(release_key)]).encode())[:16]
    return (SW_SOURCE.read_text(encoding="utf-8").replace("/*PRECACHE*/[]", json.dumps(urls))
            .replace("/*PAGES*/[]", json.dumps(OFFLINE_PAGES)).replace('/*VERSION*/""', json.dumps(version))
            .replace('/*RELEASE*/""', json.dumps(release)).replace('/*RELEASE_KEY*/""', json.dumps(b64u(release_key))))


def release_files(assets: Assets, release: str, release_key: bytes) -> dict[str, str]:
    """URL path -> SHA-256 (hex) of every file the browser runs, as this code serves them."""
    files = {asset.url: sha256_hex(asset.body) for asset in assets.by_path.values()}
    files["/sw.js"] = sha256_hex(service_worker_source(assets, release, release_key).encode("utf-8"))
    return dict(sorted(files.items()))


def manifest_bytes(release: str, release_key: bytes, files: dict[str, str]) -> bytes:
    """The signed bytes: canonical JSON (sorted keys, no spaces, ASCII)."""
    return json.dumps({"format": FORMAT, "release": release, "release_key": b64u(release_key), "files": files},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sign_manifest(assets: Assets, release: str, seed: bytes) -> bytes:
    """The signed manifest document of this code: {"manifest": b64u(bytes), "signature": b64u(Ed25519(seed,
    "samtal/release-manifest/v1" || bytes))}."""
    public = ed25519_public(seed)
    signed = manifest_bytes(release, public, release_files(assets, release, public))
    return (json.dumps({"manifest": b64u(signed), "signature": b64u(sign(seed, LABEL + signed))}, indent=1)
            + "\n").encode("ascii")


@dataclass(frozen=True)
class Release:
    name: str
    public_key: bytes
    files: dict[str, str]
    document: bytes  # what /release.json serves


def parse_manifest(document: bytes, pinned_key: bytes | None = None) -> Release:
    """Check a signed manifest: its signature with `pinned_key` (or, without one, with the key it names);
    raises ReleaseError."""
    try:
        outer = json.loads(document)
        signed, signature = unb64u(outer["manifest"]), unb64u(outer["signature"])
        manifest = json.loads(signed)
        release, key, files = manifest["release"], unb64u(manifest["release_key"]), manifest["files"]
        if manifest["format"] != FORMAT or not isinstance(release, str) or not isinstance(files, dict):
            raise ReleaseError("not a Samtal release manifest")
    except (ValueError, KeyError, TypeError, MalformedError) as exc:
        raise ReleaseError(f"malformed release manifest: {exc}") from None
    if pinned_key is not None and key != pinned_key:
        raise ReleaseError("the manifest is for another release key")
    if not verify_strict(key, LABEL + signed, signature):
        raise ReleaseError("the manifest's signature does not verify")
    return Release(release, key, {str(k): str(v) for k, v in files.items()}, document)


def differences(expected: Mapping[str, str], actual: Mapping[str, str | None]) -> list[str]:
    """What differs between a manifest's files and those found, one line each (None: not found)."""
    out = []
    for path, digest in sorted(expected.items()):
        found = actual.get(path)
        if found is None:
            out.append(f"missing: {path}")
        elif found != digest:
            out.append(f"differs: {path} (manifest {digest[:16]}…, served {found[:16]}…)")
    out += [f"not in the manifest: {path}" for path in sorted(set(actual) - set(expected))]
    return out


def release_key_seed(path: Path) -> bytes:
    """The release key's 32-byte seed in `path` ({"release_seed": b64u}, mode 0600), made if it is not there."""
    text = private_file(path, lambda: json.dumps({"release_seed": b64u(os.urandom(32))}))
    try:
        seed = unb64u(json.loads(text)["release_seed"])
    except (ValueError, KeyError, TypeError, MalformedError):
        seed = b""
    if len(seed) != 32:
        raise SystemExit(f"{path} is not a release key file ({{\"release_seed\": base64url of 32 bytes}})")
    return seed


def load_release(assets: Assets, manifest_path: Path | None, data_dir: Path) -> Release:
    """The release this server serves: the signed manifest it was given, checked against its own files, or one
    it signs itself with the key in its data folder."""
    if manifest_path is None:
        seed = release_key_seed(data_dir / KEY_FILE)
        return parse_manifest(sign_manifest(assets, "local", seed))
    try:
        release = parse_manifest(manifest_path.read_bytes())
    except OSError as exc:
        raise SystemExit(f"SAMTAL_RELEASE_MANIFEST: {exc}") from None
    except ReleaseError as exc:
        raise SystemExit(f"SAMTAL_RELEASE_MANIFEST: {exc}") from None
    wrong = differences(release.files, release_files(assets, release.name, release.public_key))
    if wrong:
        raise SystemExit("SAMTAL_RELEASE_MANIFEST does not match this server's files:\n" + "\n".join(wrong[:20]))
    return release


def manifest_summary(release: Release) -> dict[str, Any]:
    return {"release": release.name, "release_key": b64u(release.public_key), "files": len(release.files)}
