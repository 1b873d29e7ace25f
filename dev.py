#!/usr/bin/env python3
"""Bootstrap for the two quick-start commands: `python3 dev.py serve` and `python3 dev.py test`.

Uses only the standard library. It creates `.venv/` beside this file, installs the project with its test
extras when `pyproject.toml` has changed since the last install, and then runs the product or the tests
inside that environment. Any further arguments are passed on (to `samtal serve` or to pytest).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".samtal-install-stamp"


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


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"serve", "test"}:
        print("usage: python3 dev.py serve [samtal serve options] | test [pytest options]", file=sys.stderr)
        return 2
    python = str(_ensure_environment())
    command, rest = argv[0], argv[1:]
    if command == "serve":
        args = rest or ["--demo", "--data-dir", str(ROOT / "data")]
        return subprocess.call([python, "-m", "web.cli", "serve", *args], cwd=ROOT)
    return subprocess.call([python, "-m", "pytest", *rest], cwd=ROOT)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
