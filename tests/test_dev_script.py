"""dev.py, the quick-start script: `serve` keeps the demo defaults when other options are given (#14)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
assert spec is not None and spec.loader is not None
dev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dev)
DATA = str(ROOT / "data")


def test_serve_keeps_the_demo_defaults_when_other_options_are_given() -> None:
    assert dev.serve_args([]) == ["--demo", "--data-dir", DATA]
    assert dev.serve_args(["--port", "18100"]) == ["--demo", "--data-dir", DATA, "--port", "18100"]


def test_serve_without_the_demo_and_with_another_folder() -> None:
    assert dev.serve_args(["--no-demo"]) == ["--data-dir", DATA]
    assert dev.serve_args(["--no-demo", "--data-dir", "/srv/x"]) == ["--data-dir", "/srv/x"]
    assert dev.serve_args(["--demo", "--port", "9"]) == ["--data-dir", DATA, "--demo", "--port", "9"]


def test_debian_packages_are_installed_without_recommends() -> None:
    assert '"--no-install-recommends"' in (ROOT / "dev.py").read_text(encoding="utf-8")


def test_a_test_run_leaves_the_readmes_pictures_alone() -> None:
    import os

    from tests import test_browser_pages

    if not os.environ.get("SAMTAL_SCREENSHOTS"):
        assert ROOT / "docs" not in test_browser_pages.SCREENSHOTS.parents
