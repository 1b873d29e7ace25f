#!/usr/bin/env python3
"""Bootstrap for the two quick-start commands: `python3 dev.py serve` and `python3 dev.py test` (and
`python3 dev.py check`, the lint and type gates of CI).

Uses only the standard library. It creates `.venv/` beside this file, installs the project with its test
extras when `pyproject.toml` has changed since the last install, and then runs the product or the tests
inside that environment. Any further arguments are passed on (to `samtal serve` or to pytest).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".samtal-install-stamp"
CHROMIUM = Path("/usr/bin/chromium")
NPM_PREFIX = ROOT / ".cache" / "npm"  # git-ignored
AXE = NPM_PREFIX / "node_modules" / "axe-core" / "axe.min.js"
# A folder of its own: `npm install --no-save` prunes what it was not asked for from its prefix.
OIDC_PREFIX = NPM_PREFIX / "oidc"
OIDC_PROVIDER = "oidc-provider@9"  # the OpenID provider the sign-in tests start (tests/oidc/provider.mjs)
JOSE_PREFIX = NPM_PREFIX / "exchange"  # jose for the exchange's interoperability test (an agency in Node)
# Stoplight Prism: a mock message service made from Digg's OpenAPI file that checks every request and answer
# against it (tests/test_sdk_rest_client.py). Pinned: the test relies on its validation and error format.
PRISM_PREFIX = NPM_PREFIX / "prism"
PRISM = "@stoplight/prism-cli@5.16.0"


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _ensure_environment() -> Path:
    if sys.version_info < (3, 11):
        sys.exit("Samtal needs Python 3.11 or newer; this is " + sys.version.split()[0])
    if not _venv_python().exists():
        print("Creating the virtual environment in .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != wanted:
        print("Installing Samtal and its dependencies into .venv ...", flush=True)
        py = str(_venv_python())
        subprocess.run([py, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run([py, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test]"], check=True)
        STAMP.write_text(wanted)
    return _venv_python()


def _ensure_browser_tools() -> None:
    """The browser tests use Debian's Chromium (never a browser download), Debian's coturn (the TURN relay
    of the relay-only video call test) and axe-core from npm. Install what is missing when possible;
    otherwise the tests that need it say why they are skipped."""
    missing = [package for package, present in (("chromium", CHROMIUM.exists()),
                                                ("coturn", shutil.which("turnserver") is not None)) if not present]
    if missing and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"Installing {' and '.join(missing)} with apt-get for the browser tests ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        # Only what the browser tests need: recommends pulled in ~120 packages (avahi, samba libraries).
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=False)
    if not AXE.exists() and shutil.which("npm"):
        print("Installing axe-core from npm into .cache/npm for the accessibility tests ...", flush=True)
        subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(NPM_PREFIX),
                        "axe-core@4"], check=False, stdout=subprocess.DEVNULL)
    if not (OIDC_PREFIX / "node_modules" / "oidc-provider").exists() and shutil.which("npm"):
        print("Installing oidc-provider from npm into .cache/npm/oidc for the sign-in tests ...", flush=True)
        subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(OIDC_PREFIX),
                        OIDC_PROVIDER], check=False, stdout=subprocess.DEVNULL)
    if not (JOSE_PREFIX / "node_modules" / "jose").exists() and shutil.which("npm"):
        print("Installing jose from npm into .cache/npm/exchange for the exchange tests ...", flush=True)
        subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(JOSE_PREFIX),
                        "jose@5"], check=False, stdout=subprocess.DEVNULL)
    if not (PRISM_PREFIX / "node_modules" / ".bin" / "prism").exists() and shutil.which("npm"):
        print("Installing Stoplight Prism from npm into .cache/npm/prism for the SDK client tests ...", flush=True)
        subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(PRISM_PREFIX),
                        PRISM], check=False, stdout=subprocess.DEVNULL)


def serve_args(rest: list[str]) -> list[str]:
    """`samtal serve` options: the demo in ./data unless told otherwise. Options given are added to those
    defaults (`--port 18100` alone used to drop the demo); `--no-demo` leaves the demo out, `--data-dir`
    replaces the folder."""
    args = [a for a in rest if a != "--no-demo"]
    defaults = [] if "--no-demo" in rest or "--demo" in rest else ["--demo"]
    if not any(a == "--data-dir" or a.startswith("--data-dir=") for a in rest):
        defaults += ["--data-dir", str(ROOT / "data")]
    return defaults + args


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"serve", "test", "screenshots", "check"}:
        print("usage: python3 dev.py serve [--no-demo] [samtal serve options] | test [pytest options] | screenshots"
              " | check", file=sys.stderr)
        return 2
    python = str(_ensure_environment())
    command, rest = argv[0], argv[1:]
    if command == "serve":
        return subprocess.call([python, "-m", "web.cli", "serve", *serve_args(rest)], cwd=ROOT)
    if command == "check":
        # The toolchain gates (settings in pyproject.toml): lint and import order, then strict typing.
        lint = subprocess.call([python, "-m", "ruff", "check", *rest, "."], cwd=ROOT)
        types = subprocess.call([python, "-m", "mypy"], cwd=ROOT)
        return lint or types
    _ensure_browser_tools()
    if command == "screenshots":
        # The README's pictures, refreshed on purpose (the test run writes its own to a temporary folder).
        env = {**os.environ, "SAMTAL_SCREENSHOTS": str(ROOT / "docs" / "screenshots")}
        return subprocess.call([python, "-m", "pytest", "-q", "tests/test_browser_pages.py", *rest], cwd=ROOT,
                               env=env)
    return subprocess.call([python, "-m", "pytest", *rest], cwd=ROOT)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
