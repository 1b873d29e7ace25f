"""requirements.lock, which deploy/Dockerfile installs with --require-hashes, agrees with pyproject.toml: each
dependency (and what the image needs to build Samtal) is pinned there to a version its range allows, every pin
carries hashes, and the image installs from it."""
from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import ROOT

LOCK = ROOT / "requirements.lock"
# name==version, an optional environment marker, then the hashes on continuation lines.
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


def _pins() -> dict[str, tuple[str, list[str]]]:
    pins: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            name = canonicalize_name(match[1])
            pins[name] = (match[2], [])
        elif (hashed := line.strip().removeprefix("--hash=")) != line.strip() and name:
            pins[name][1].append(hashed.rstrip(" \\"))
    return pins


def _wanted() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    build = (ROOT / "deploy" / "build-requirements.in").read_text(encoding="utf-8").splitlines()
    return [Requirement(r) for r in project["project"]["dependencies"]] + [
        Requirement(line.split("#")[0]) for line in build if line.split("#")[0].strip()]


def test_every_dependency_is_pinned_within_its_range_with_hashes() -> None:
    pins = _pins()
    assert pins, "requirements.lock has no pins"
    problems = []
    for requirement in _wanted():
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement.name} is not in requirements.lock")
        elif not requirement.specifier.contains(pins[name][0], prereleases=True):
            problems.append(f"{requirement.name}=={pins[name][0]} is outside {requirement.specifier}")
        for extra in requirement.extras:  # psycopg[binary] pulls in psycopg-binary
            if canonicalize_name(f"{requirement.name}-{extra}") not in pins:
                problems.append(f"{requirement.name}[{extra}] is not in requirements.lock")
    problems += [f"{name} has no sha256 hash" for name, (_, hashes) in pins.items()
                 if not hashes or not all(h.startswith("sha256:") for h in hashes)]
    assert not problems, "run the command at the top of requirements.lock: " + "; ".join(problems)


def test_the_image_installs_the_lock_with_hashes_and_samtal_without_dependencies() -> None:
    steps = [line for line in (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8").splitlines()
             if "pip install" in line]
    assert any("--require-hashes" in s and "-r requirements.lock" in s for s in steps), steps
    # Every other install adds nothing unchecked: the project itself only, without dependencies or build tools.
    assert all("--require-hashes" in s or ("--no-deps" in s and "--no-build-isolation" in s) for s in steps), steps
