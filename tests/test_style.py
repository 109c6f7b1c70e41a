"""The code passes ruff and mypy, with the settings in pyproject.toml, and keeps its boundaries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command", [["ruff", "check", "."], ["mypy", "retrieval", "bot"]], ids=["ruff", "mypy"])
def test_the_checker_finds_nothing(command: list[str]) -> None:
    # Run from this interpreter, so a missing tool fails here ("No module named ...") instead of skipping.
    result = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_retrieval_knows_nothing_of_telegram_or_the_bot_and_reads_yaml_only_as_a_corpus_format() -> None:
    for path in (ROOT / "retrieval").glob("*.py"):
        text = path.read_text()
        # The loader reads .md front matter, which is YAML; config.yaml is the bot's alone.
        for name in ("telegram", "bot") if path.name == "load.py" else ("telegram", "yaml", "bot"):
            assert f"import {name}" not in text and f"from {name}" not in text, path
