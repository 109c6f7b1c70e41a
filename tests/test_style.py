"""The code passes ruff and mypy, with the settings in pyproject.toml, and keeps its boundaries."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing_to_fix() -> None:
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]' installs it)")
    result = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_no_type_errors() -> None:
    mypy = shutil.which("mypy")
    if mypy is None:
        pytest.skip("mypy is not installed (pip install -e '.[test]' installs it)")
    result = subprocess.run([mypy, "retrieval", "bot"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_retrieval_knows_nothing_of_telegram_yaml_or_the_bot() -> None:
    for path in (ROOT / "retrieval").glob("*.py"):
        text = path.read_text()
        for name in ("telegram", "yaml", "bot"):
            assert f"import {name}" not in text and f"from {name}" not in text, path
