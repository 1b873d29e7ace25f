"""A regular install (a wheel, as deploy/Dockerfile makes) carries every module and data file the server
needs; the editable install that dev.py makes would hide a missing one."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from .conftest import ROOT

PACKAGES = ("chat", "crypto", "web")


def test_the_wheel_carries_every_module_and_data_file(tmp_path: Path) -> None:
    # Built from a clean copy: setuptools reuses a build/ folder left in the project by an earlier build,
    # and that would hide exactly the files this test looks for.
    source = tmp_path / "source"
    for folder in PACKAGES:
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=300)
    [wheel] = tmp_path.glob("samtal-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {str(p.relative_to(ROOT)) for folder in PACKAGES
              for p in (ROOT / folder).rglob("*")
              if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc"}}
    missing = sorted(wanted - names)
    assert not missing, f"not in the wheel: {missing[:10]}"
