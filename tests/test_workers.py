"""A build analysed by worker processes: the same index and problems as one analysed in-process."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest

from retrieval import maintain, workers
from retrieval.analyze import Analyzer
from retrieval.errors import AnalysisError
from retrieval.index import _ARRAYS, Segment, Vocabularies, _Chunk, assemble_segment, build_segment, load_segment
from retrieval.load import Lines
from retrieval.maintain import Refreshed, refresh_index
from retrieval.models import Article
from retrieval.settings import IndexSettings, PassageSettings, Settings
from retrieval.store import read_manifest

WORDS = [
    "harbour",
    "bridge",
    "ferry",
    "cable",
    "mayor",
    "budget",
    "tea",
    "harvest",
    "storm",
    "river",
    "choir",
    "mill",
    "lake",
    "frost",
    "market",
]


def record(i: int, **extra: object) -> dict[str, object]:
    words = [WORDS[(i * 7 + k) % len(WORDS)] for k in range(9)]
    text = f"The {words[0]} and the {words[1]} met {i} times. " + " ".join(words[2:]).capitalize() + "."
    return {"id": f"a{i}", "title": f"{words[3].title()} story {i}", "source": "Valley Post", "text": text, **extra}


def corpus(folder: Path) -> Path:
    """A feed with every kind of line a build must report or skip, a text file and a markdown file."""
    folder.mkdir()
    lines = [json.dumps(record(i)) for i in range(60)]
    lines[5] = "{not json"
    lines[9] = json.dumps(record(3))  # a duplicate id
    lines[12] = ""
    lines[20] = json.dumps({"id": "empty", "text": "   "})
    lines[33] = json.dumps(record(33, text="<p>Only <b>markup</b> and words about the harbour bridge.</p>"))
    lines[41] = json.dumps({k: v for k, v in record(41).items() if k != "id"})  # id from the line number
    data = ("\r\n".join(lines[:30]) + "\n" + "\n".join(lines[30:]) + "\n").encode()
    data = data.replace(b'"a50"', b'"a\xff50"')  # a line that is not UTF-8
    (folder / "feed.jsonl").write_bytes(data)
    (folder / "note.txt").write_text("River rises\n\nThe river rose a metre after the storm.\n", encoding="utf-8")
    (folder / "later.jsonl").write_text(json.dumps(record(7)) + "\n" + json.dumps(record(70)) + "\n")
    (folder / "mill.md").write_text("---\ntitle: Mill reopens\n---\nThe old mill reopened on Friday.\n")
    return folder


def in_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every build fork workers, handing them a few lines at a time.

    A build forks only from a process that runs no other thread: the threads earlier tests
    left behind (an engine's speller being built) are waited for first.
    """
    for thread in threading.enumerate():
        if thread is not threading.main_thread():
            thread.join(timeout=120)
    others = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    assert not others, f"threads still running, so a build would not fork: {others}"
    monkeypatch.setattr(workers, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(maintain, "PIECE_BYTES", 700)
    monkeypatch.setattr(maintain, "AHEAD_BYTES", 2100)


def in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every build analyse in-process, reading as many lines at a time as `in_workers`."""
    monkeypatch.setattr(workers, "PARALLEL_MIN_BYTES", 1 << 40)
    monkeypatch.setattr(maintain, "PIECE_BYTES", 700)


def build(corpus: Path, index: Path, settings: Settings | None = None, previous: Refreshed | None = None) -> Refreshed:
    """Bring an index up to date the way `Engine.open` does (without the threads an engine starts)."""
    settings = settings or Settings()
    state = previous.state if previous else None
    return refresh_index(corpus, index, Analyzer(settings.analysis), settings, previous=state)


def only_segment(index: Path) -> Segment:
    manifest = read_manifest(index)
    assert manifest is not None and len(manifest.segments) == 1
    return load_segment(index / manifest.segments[0])


def assert_same_segment(a: Segment, b: Segment) -> None:
    assert list(a.articles) == list(b.articles)
    for name in _ARRAYS:
        np.testing.assert_array_equal(np.asarray(getattr(a, name)), np.asarray(getattr(b, name)), err_msg=name)


def files(index: Path) -> dict[str, object]:
    manifest = read_manifest(index)
    assert manifest is not None
    return {
        name: (e.size, e.digest, e.breaks, [ref[1:] for ref in e.articles], e.problems)
        for name, e in manifest.files.items()
    }


@pytest.mark.parametrize("budget", [None, 3000], ids=["one batch", "batches merged"])
def test_a_build_in_worker_processes_equals_one_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: int | None
) -> None:
    folder = corpus(tmp_path / "corpus")
    settings = Settings()
    if budget is not None:
        # A few articles a batch: batches end in the middle of what a worker analysed.
        monkeypatch.setattr(maintain, "BUILD_BYTES_PER_TEXT_BYTE", 16 * 2**20 // budget)
        settings = Settings(index=IndexSettings(memory_mb=16))
    in_process(monkeypatch)
    alone = build(folder, tmp_path / "alone", settings)
    in_workers(monkeypatch)
    forked: list[int] = []
    real = workers.Analysis.__init__

    def counting(self: workers.Analysis, *args: object, **kwargs: object) -> None:
        real(self, *args, **kwargs)  # type: ignore[arg-type]
        forked.append(self.parallel)

    monkeypatch.setattr(workers.Analysis, "__init__", counting)
    shared = build(folder, tmp_path / "shared", settings)
    assert forked == [True]
    assert_same_segment(only_segment(tmp_path / "shared"), only_segment(tmp_path / "alone"))
    assert files(tmp_path / "shared") == files(tmp_path / "alone")
    assert shared.problems == alone.problems
    assert sorted((p.path, p.line or 0, p.reason) for p in shared.problems) == [
        ("feed.jsonl", 6, "not valid JSON: Expecting property name enclosed in double quotes (column 2)"),
        ("feed.jsonl", 10, "duplicate id 'a3' (first in feed.jsonl), skipped"),
        ("feed.jsonl", 21, 'no "text": expected a non-empty string'),
        ("feed.jsonl", 51, "not valid UTF-8 at byte 7555"),
        ("later.jsonl", 1, "duplicate id 'a7' (first in feed.jsonl), skipped"),
    ]
    assert len(shared.state.by_id) == len(alone.state.by_id) == 60 - 5 + 3


def test_a_worker_that_fails_fails_the_build_and_the_index_stays_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    first = build(folder, index)
    before = files(index)
    (folder / "more.jsonl").write_text("".join(json.dumps(record(100 + i)) + "\n" for i in range(40)))
    in_workers(monkeypatch)
    real = workers._lines

    def failing(lines: Lines, state: object) -> workers.Analysed:
        if lines.first > 20:
            raise ValueError("analysis broke")
        return real(lines, state)  # type: ignore[arg-type]

    monkeypatch.setattr(workers, "_lines", failing)
    with pytest.raises(ValueError, match="analysis broke"):
        build(folder, index, previous=first)
    assert files(index) == before
    monkeypatch.setattr(workers, "_lines", real)
    again = build(folder, index, previous=first)
    assert len(again.state.by_id) == len(first.state.by_id) + 40


def test_a_worker_killed_mid_build_is_reported_and_the_index_stays_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    first = build(folder, index)
    before = files(index)
    (folder / "more.jsonl").write_text("".join(json.dumps(record(100 + i)) + "\n" for i in range(40)))
    in_workers(monkeypatch)

    def killed(lines: Lines, state: object) -> workers.Analysed:
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("not reached")

    monkeypatch.setattr(workers, "_lines", killed)
    with pytest.raises(AnalysisError, match="ended before finishing"):
        build(folder, index, previous=first)
    assert files(index) == before
    monkeypatch.undo()
    again = build(folder, index, previous=first)
    assert len(again.state.by_id) == len(first.state.by_id) + 40


def test_an_analysis_in_process_gives_what_build_segment_gives() -> None:
    articles = [Article(id=f"a{i}", title=str(record(i)["title"]), text=str(record(i)["text"])) for i in range(30)]
    analysis = workers.Analysis(Analyzer(), PassageSettings(), workers=0)
    assert not analysis.parallel
    chunk = analysis.articles(articles).result()
    assert isinstance(chunk, _Chunk)
    assert len(chunk.meta) == 30
    whole = build_segment(articles, Analyzer(), PassageSettings())

    vocabularies = Vocabularies()
    vocabularies.add(chunk)
    assert_same_segment(assemble_segment([chunk], vocabularies, PassageSettings()), whole)
