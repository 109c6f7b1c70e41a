"""The feed benchmark runs end to end at a toy size, without the public question sets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_fetch_benchmark_runs_at_a_toy_size_and_stores_nothing_on_the_second_fetch(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_fetch", "--feeds", "3", "--items", "4", "--quality-articles", "20",
         "--no-bench-data", "--json", str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    runs = data["speed"]["runs"]
    assert runs["first fetch"]["new"] == 12 and runs["first fetch"]["failed"] == 0
    for label in ("nothing changed, conditional", "nothing changed, unconditional"):
        assert (runs[label]["new"], runs[label]["updated"], runs[label]["unchanged"]) == (0, 0, 12)
    (synthetic,) = data["quality"]
    assert synthetic["fetched"]["stored"] == 20 and synthetic["fetched"]["articles with furniture"] == 0
    assert "realtimeqa: skipped (--no-bench-data)" in result.stdout
