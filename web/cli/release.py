"""`samtal web sign-manifest|verify`: sign the release manifest of the browser code (web/release.py), and check
that a running server serves exactly the files of a manifest (docs/operations.md, Releases).

sign-manifest works on the code installed here, so it is run where the release is built, by whoever holds
the release key (the municipality, or the supplier on its behalf), never on the server. verify is for anyone:
an auditor, the municipality's IT security, a monitoring job."""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import httpx

from crypto.encoding import b64u, unb64u
from crypto.errors import MalformedError
from web.release import (
    MANIFEST_URL,
    OFFLINE_PAGES,
    ReleaseError,
    differences,
    parse_manifest,
    release_key_seed,
    sha256_hex,
    sign_manifest,
)

RELEASE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}", re.ASCII)
# Every script, style and icon a page names (the service worker keeps only what the manifest lists).
PAGE_REFERENCE = re.compile(r"""(?:src|href)="(/static/[^"]+)\"""")


def _fail(message: str, code: int = 2) -> int:
    print(json.dumps({"error": "usage" if code == 2 else "unreachable", "message": message}), file=sys.stderr)
    return code


def cmd_sign_manifest(args: argparse.Namespace) -> int:
    if RELEASE_NAME.fullmatch(args.release) is None:
        return _fail("a release name is 1..64 of A-Z a-z 0-9 . _ + -, starting with a letter or digit")
    key_path = Path(args.key)
    made = not key_path.exists()
    if made and not args.new_key:
        return _fail(f"{key_path} does not exist; give --new-key to make a release key there")
    seed = release_key_seed(key_path)
    # The municipality's identity file addresses are part of the code the release signs (web/anchors.py).
    from web.anchors import assets_for
    from web.config import parse_unit_identity_urls

    urls = parse_unit_identity_urls(args.unit_identity_urls if args.unit_identity_urls is not None
                      else os.environ.get("SAMTAL_UNIT_IDENTITY_URLS", ""))
    document = sign_manifest(assets_for(urls), args.release, seed)
    release = parse_manifest(document)
    Path(args.out).write_bytes(document)
    print(json.dumps({"release": release.name, "release_key": b64u(release.public_key), "files": len(release.files),
                      "out": str(args.out), "new_key": made}))
    return 0


def _get(client: httpx.Client, path: str) -> tuple[int, bytes]:
    response = client.get(path)
    return response.status_code, response.content


def cmd_verify(args: argparse.Namespace) -> int:
    base = args.url.rstrip("/")
    pinned = None
    if args.release_key:
        try:
            pinned = unb64u(args.release_key)
        except MalformedError:
            return _fail("--release-key is the release key in base64url (as sign-manifest prints it)")
    try:
        with httpx.Client(base_url=base, timeout=args.timeout, follow_redirects=False) as client:
            if args.manifest:
                document = Path(args.manifest).read_bytes()
            else:
                status, document = _get(client, MANIFEST_URL)
                if status != 200:
                    print(f"missing: {MANIFEST_URL} (HTTP {status})")
                    return 1
            try:
                release = parse_manifest(document, pinned)
            except ReleaseError as exc:
                print(f"refused: {exc}")
                return 1
            served: dict[str, str | None] = {}
            for path in release.files:
                status, body = _get(client, path)
                served[path] = sha256_hex(body) if status == 200 else None
            # What the pages load, beyond the manifest: a file they name that it does not list is a difference.
            for page in OFFLINE_PAGES:
                status, body = _get(client, page)
                for path in PAGE_REFERENCE.findall(body.decode("utf-8", "replace")) if status == 200 else []:
                    if path not in served:
                        code, extra = _get(client, path)
                        served[path] = sha256_hex(extra) if code == 200 else "unreachable"
    except httpx.HTTPError as exc:
        return _fail(f"{base}: {exc}", 3)
    except OSError as exc:
        return _fail(str(exc))
    wrong = differences(release.files, served)
    for line in wrong:
        print(line)
    summary: dict[str, Any] = {"release": release.name, "release_key": b64u(release.public_key),
                               "files": len(release.files), "differences": len(wrong)}
    if pinned is None:
        summary["note"] = "the release key was taken from the manifest; give --release-key to pin it"
    print(json.dumps(summary))
    return 1 if wrong else 0


def add_parser(sub: Any) -> None:
    web = sub.add_parser("web", help="the browser code's signed release", description="Sign the release "
                         "manifest of the browser code, and check what a server serves against one.")
    actions = web.add_subparsers(dest="web_action", required=True)
    sign = actions.add_parser(
        "sign-manifest", help="sign the manifest of this installation's browser code",
        description="Compute the SHA-256 of every file the browser runs, as this installation serves them, and "
        "sign the list with the release key (Ed25519). Give the output to the server as "
        "SAMTAL_RELEASE_MANIFEST. Prints the release key, which installed apps pin.")
    sign.add_argument("--key", required=True, help="the release key file ({\"release_seed\": base64url}); "
                      "keep it off the server")
    sign.add_argument("--new-key", action="store_true", help="make the key file if it does not exist")
    sign.add_argument("--release", required=True, help="the release's name, e.g. 2026.12.1")
    sign.add_argument("--out", required=True, help="where to write the signed manifest")
    sign.add_argument("--unit-identity-urls", help="where the municipality publishes each unit's identity file, as "
                      "SAMTAL_UNIT_IDENTITY_URLS says (unit_id=URL,...; default: that variable): the addresses are "
                      "part of the signed code, so the server must be given the same")
    sign.set_defaults(func=cmd_sign_manifest)
    verify = actions.add_parser(
        "verify", help="compare what a server serves with a signed manifest",
        description="Fetch the signed manifest (or use --manifest), check its signature, fetch every file it "
        "lists and every script, style and icon the pages name, and print each difference. Exit 0 when all "
        "match, 1 when anything differs or the manifest does not verify, 2 on bad usage, 3 when the server "
        "cannot be reached.")
    verify.add_argument("url", help="the server's address, e.g. https://samtal.example.se")
    verify.add_argument("--manifest", help="a signed manifest file to compare with (default: the server's own)")
    verify.add_argument("--release-key", help="the release key (base64url) the manifest must be signed with")
    verify.add_argument("--timeout", type=float, default=20.0, help="seconds per request (default 20)")
    verify.set_defaults(func=cmd_verify)
