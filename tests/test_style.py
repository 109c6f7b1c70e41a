"""The code passes ruff and mypy, with the settings in pyproject.toml, and keeps its boundaries."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command", [["ruff", "check", "."], ["mypy", "retrieval", "bot"]], ids=["ruff", "mypy"])
def test_the_checker_finds_nothing(command: list[str]) -> None:
    tool = shutil.which(command[0])
    if tool is None:
        pytest.skip(f"{command[0]} is not installed (pip install -e '.[test]' installs it)")
    result = subprocess.run([tool, *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_retrieval_knows_nothing_of_telegram_yaml_or_the_bot() -> None:
    for path in (ROOT / "retrieval").glob("*.py"):
        text = path.read_text()
        for name in ("telegram", "yaml", "bot"):
            assert f"import {name}" not in text and f"from {name}" not in text, path
