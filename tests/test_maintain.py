"""Index maintenance: only the articles that changed are indexed again, by id and content."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from retrieval import engine as engine_module
from retrieval import maintain
from retrieval import seen as seen_module
from retrieval.analyze import Analyzer
from retrieval.engine import Engine
from retrieval.index import Segment
from retrieval.load import load_corpus
from retrieval.maintain import refresh_index
from retrieval.models import LoadProblem
from retrieval.settings import IndexSettings, Settings
from retrieval.store import read_manifest

STORIES = [
    ("lake", "Lake frozen", "The lake froze solid on Tuesday for the first time in forty years."),
    ("mill", "Mill reopens", "The old paper mill reopened with two hundred workers on Monday."),
    ("choir", "Choir wins", "The village choir won the national contest with a folk song."),
]


def line(article_id: str, title: str, text: str) -> str:
    return json.dumps({"id": article_id, "title": title, "source": "Valley Post", "text": text}) + "\n"


def write(path: Path, text: str) -> None:
    """Write `text` and move the mtime on, so a rewrite within one clock tick is still seen."""
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))


def refresh(corpus: Path, index: Path, previous=None):  # type: ignore[no-untyped-def]
    return refresh_index(corpus, index, Analyzer(Settings().analysis), Settings(), previous=previous)


def indexed(index: Path) -> dict[str, list[tuple[str, int, str]]]:
    """Each file's articles as the manifest records them: (segment, place, content key)."""
    manifest = read_manifest(index)
    assert manifest is not None
    return {name: entry.articles for name, entry in manifest.files.items()}


def texts(state) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(
        seg.sentence_text(s)
        for si, seg in enumerate(state.segments)
        for ai in {a for i, a in state.by_id.values() if i == si}
        for s in range(int(seg.article_first[ai]), int(seg.article_first[ai + 1]))
    )


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    write(folder / "feed.jsonl", "".join(line(*story) for story in STORIES))
    return folder


def test_an_appended_line_is_the_only_article_indexed_again(feed: Path, tmp_path: Path) -> None:
    first = refresh(feed, tmp_path / "index")
    before = indexed(tmp_path / "index")["feed.jsonl"]
    with open(feed / "feed.jsonl", "a", encoding="utf-8") as fh:
        fh.write(line("bridge", "Bridge opens", "A new footbridge opened over the river on Friday."))
    os.utime(feed / "feed.jsonl", ns=(time.time_ns(), time.time_ns() + 2_000_000))
    second = refresh(feed, tmp_path / "index", first.state)
    after = indexed(tmp_path / "index")["feed.jsonl"]
    assert second.changed is True
    assert after[:3] == before
    assert len(second.state.segments) == 2
    assert second.state.segments[0] is first.state.segments[0]
    assert [len(s.articles) for s in second.state.segments] == [3, 1]
    assert second.state.segments[1].articles.ids == ["bridge"]
    assert sorted(second.state.by_id) == ["bridge", "choir", "lake", "mill"]


def test_an_edited_line_replaces_its_article_and_a_removed_line_drops_it(feed: Path, tmp_path: Path) -> None:
    first = refresh(feed, tmp_path / "index")
    edited = [line(*STORIES[0]), line("mill", "Mill reopens", "The old paper mill reopened with ninety workers.")]
    write(feed / "feed.jsonl", "".join(edited))
    second = refresh(feed, tmp_path / "index", first.state)
    assert [s.articles.ids for s in second.state.segments] == [["lake", "mill", "choir"], ["mill"]]
    assert sorted(second.state.by_id) == ["lake", "mill"]
    assert texts(second.state) == [
        "The lake froze solid on Tuesday for the first time in forty years.",
        "The old paper mill reopened with ninety workers.",
    ]
    assert second.state.searcher.n_live == 2


def test_a_file_touched_but_unchanged_is_not_indexed_again(feed: Path, tmp_path: Path) -> None:
    first = refresh(feed, tmp_path / "index")
    write(feed / "feed.jsonl", (feed / "feed.jsonl").read_text(encoding="utf-8"))
    second = refresh(feed, tmp_path / "index", first.state)
    assert second.state.names == first.state.names
    assert sorted(second.state.by_id) == ["choir", "lake", "mill"]


def test_ids_taken_from_line_numbers_follow_the_lines(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    plain = [json.dumps({"title": title, "text": text}) + "\n" for _, title, text in STORIES]
    write(folder / "feed.jsonl", plain[1] + plain[2])
    first = refresh(folder, tmp_path / "index")
    assert sorted(first.state.by_id) == ["feed:1", "feed:2"]
    write(folder / "feed.jsonl", plain[0] + plain[1] + plain[2])
    second = refresh(folder, tmp_path / "index", first.state)
    assert sorted(second.state.by_id) == ["feed:1", "feed:2", "feed:3"]
    segment, place = second.state.by_id["feed:1"]
    assert second.state.segments[segment].articles[place]["title"] == "Lake frozen"
    segment, place = second.state.by_id["feed:3"]
    assert second.state.segments[segment].articles[place]["title"] == "Choir wins"


def test_an_id_already_indexed_keeps_its_article(feed: Path, tmp_path: Path) -> None:
    first = refresh(feed, tmp_path / "index")
    write(feed / "later.jsonl", line("lake", "Lake thaws", "The lake thawed in March."))
    second = refresh(feed, tmp_path / "index", first.state)
    reason = "duplicate id 'lake' (first in feed.jsonl), skipped"
    assert second.problems == (LoadProblem("later.jsonl", reason, 1),)
    assert second.state.problems == second.problems
    assert "The lake thawed in March." not in texts(second.state)
    # Within one file the first wins too, whether the file is new or grew.
    with open(feed / "feed.jsonl", "a", encoding="utf-8") as fh:
        fh.write(line("mill", "Mill closes", "The mill closed again."))
    os.utime(feed / "feed.jsonl", ns=(time.time_ns(), time.time_ns() + 2_000_000))
    third = refresh(feed, tmp_path / "index", second.state)
    assert third.problems == (LoadProblem("feed.jsonl", "duplicate id 'mill' (first in feed.jsonl), skipped", 4),)
    assert "The mill closed again." not in texts(third.state)


def test_refresh_returns_the_problems_it_met_once(feed: Path, tmp_path: Path) -> None:
    first = refresh(feed, tmp_path / "index")
    with open(feed / "feed.jsonl", "a", encoding="utf-8") as fh:
        fh.write("{not json\n")
    os.utime(feed / "feed.jsonl", ns=(time.time_ns(), time.time_ns() + 2_000_000))
    second = refresh(feed, tmp_path / "index", first.state)
    reason = "not valid JSON: Expecting property name enclosed in double quotes (column 2)"
    problem = LoadProblem("feed.jsonl", reason, 4)
    assert second.problems == (problem,)
    third = refresh(feed, tmp_path / "index", second.state)
    assert (third.changed, third.problems, third.state.problems) == (False, (), (problem,))


def test_a_removed_file_takes_its_articles_and_empty_segments_go(feed: Path, tmp_path: Path) -> None:
    first = refresh(feed, tmp_path / "index")
    write(feed / "other.jsonl", line("bridge", "Bridge opens", "A new footbridge opened over the river."))
    second = refresh(feed, tmp_path / "index", first.state)
    (feed / "feed.jsonl").unlink()
    third = refresh(feed, tmp_path / "index", second.state)
    assert sorted(third.state.by_id) == ["bridge"]
    assert third.state.names == second.state.names[1:]
    assert sorted(p.name for p in (tmp_path / "index").glob("seg-*")) == list(third.state.names)


def test_a_feed_updated_line_by_line_answers_as_one_built_from_scratch(feed: Path, tmp_path: Path) -> None:
    from retrieval.engine import Engine

    live = Engine.open(feed, tmp_path / "live")
    edited = [
        line("mill", "Mill reopens", "The old paper mill reopened with ninety workers on Monday."),
        line(*STORIES[2]),
        line("bridge", "Bridge opens", "A new footbridge opened over the river on Monday."),
    ]
    write(feed / "feed.jsonl", "".join(edited))
    live.refresh()
    fresh = Engine.open(feed, tmp_path / "fresh")
    assert (len(live.state.segments), len(fresh.state.segments)) == (2, 1)
    for question in ("what opened on Monday", "who won the contest", "the lake froze"):
        assert live.answer(question) == fresh.answer(question)


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 3_000_000))


def test_lines_appended_after_a_bad_line_keep_its_problem_on_record(feed: Path, tmp_path: Path) -> None:
    first = refresh(feed, tmp_path / "index")
    append(feed / "feed.jsonl", "[1, 2]\n")
    second = refresh(feed, tmp_path / "index", first.state)
    append(feed / "feed.jsonl", line("bridge", "Bridge opens", "A new footbridge opened over the river."))
    third = refresh(feed, tmp_path / "index", second.state)
    problem = LoadProblem("feed.jsonl", "not a JSON object (list)", 4)
    assert (second.problems, third.problems, third.state.problems) == ((problem,), (), (problem,))
    assert sorted(third.state.by_id) == ["bridge", "choir", "lake", "mill"]


def test_a_file_edited_and_grown_at_once_is_compared_line_by_line(feed: Path, tmp_path: Path) -> None:
    first = refresh(feed, tmp_path / "index")
    edited = [line(*STORIES[0]), line("mill", "Mill shuts", "The mill shut."), line(*STORIES[2])]
    write(feed / "feed.jsonl", "".join([*edited, line("bridge", "Bridge opens", "A footbridge opened.")]))
    second = refresh(feed, tmp_path / "index", first.state)
    assert second.state.segments[1].articles.ids == ["mill", "bridge"]
    assert "The old paper mill reopened with two hundred workers on Monday." not in texts(second.state)
    assert sorted(second.state.by_id) == ["bridge", "choir", "lake", "mill"]


@pytest.mark.parametrize(
    ("before", "added"),
    [
        ("", "\n"),  # the old last line had no line break: the file is compared line by line
        ("\r\n", "\r\n"),  # Windows line breaks
    ],
    ids=["no-final-break", "crlf"],
)
def test_lines_appended_to_any_file_are_the_only_ones_indexed(tmp_path: Path, before: str, added: str) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    body = [line(*story).rstrip("\n") for story in STORIES]
    write(folder / "feed.jsonl", "\r\n".join(body) + before if "\r" in before else "\n".join(body) + before)
    first = refresh(folder, tmp_path / "index")
    new = line("bridge", "Bridge opens", "A new footbridge opened over the river.").rstrip("\n")
    append(folder / "feed.jsonl", (added if not before else "") + new + added)
    second = refresh(folder, tmp_path / "index", first.state)
    assert [s.articles.ids for s in second.state.segments] == [["lake", "mill", "choir"], ["bridge"]]
    assert (second.problems, sorted(second.state.by_id)) == ((), ["bridge", "choir", "lake", "mill"])


def ranked(engine: Engine, question: str) -> list[tuple[str, str, float]]:
    """The top passages as (article id, first sentence, score): what stays when segments differ."""
    hits = []
    for hit in engine.search(question, k=10):
        seg = engine.state.segments[hit.segment]
        article = seg.articles.ids[int(seg.pass_article[hit.local])]
        hits.append((article, seg.sentence_text(int(seg.pass_start[hit.local])), round(hit.score, 9)))
    return hits


def test_a_small_memory_budget_builds_batches_merged_into_one_segment_that_answers_as_the_whole(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions = ["who decides on negotiations", "how much will the bridge repairs cost", "why did tea prices rise"]
    whole = Engine.open(corpus_dir, tmp_path / "whole")
    expected = [(whole.answer(q), ranked(whole, q)) for q in questions]
    assert len(whole.state.segments) == 1
    merged: list[int] = []
    merge = maintain.merge_segments

    def counting(segments: list[Segment], directory: Path) -> int:
        merged.append(len(segments))
        return merge(segments, directory)

    monkeypatch.setattr(maintain, "merge_segments", counting)
    # A budget that a single article's build already fills: one batch per article.
    monkeypatch.setattr(maintain, "BUILD_BYTES_PER_TEXT_BYTE", 16 * 2**20)
    split = Engine.open(corpus_dir, tmp_path / "split", Settings(index=IndexSettings(memory_mb=16)))
    assert merged == [4]
    assert len(split.state.segments) == 1
    assert split.stats.articles == whole.stats.articles == 4
    assert [p.name for p in (tmp_path / "split").iterdir() if p.name.startswith("seg-")] == list(split.state.names)
    assert [(split.answer(q), ranked(split, q)) for q in questions] == expected
    reopened = Engine.open(corpus_dir, tmp_path / "split", Settings(index=IndexSettings(memory_mb=16)))
    assert reopened.state.names == split.state.names
    assert [(reopened.answer(q), ranked(reopened, q)) for q in questions] == expected


def dated_line(article_id: str, title: str, text: str, published: str) -> str:
    record = {"id": article_id, "title": title, "source": "Valley Post", "text": text, "published": published}
    return json.dumps(record) + "\n"


def test_articles_dates_are_read_once_when_their_segment_joins_the_index_not_at_an_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    days = ["2024-03-01", "2024-03-02", "2024-03-03"]
    write(folder / "feed.jsonl", "".join(dated_line(*story, day) for story, day in zip(STORIES, days, strict=True)))
    read: list[list[str]] = []
    article_days = engine_module._article_days

    def counting(segment: Segment) -> tuple[np.ndarray, np.ndarray]:
        read.append(list(segment.articles.ids))
        return article_days(segment)

    monkeypatch.setattr(engine_module, "_article_days", counting)
    engine = Engine.open(folder, tmp_path / "index")
    assert read == [["lake", "mill", "choir"]]
    answer = engine.answer("When did the lake freeze?", asked_at="2024-03-11")
    assert [(s.source.article_id, s.age_days) for s in answer.sentences[:1]] == [("lake", 10)]
    with open(folder / "feed.jsonl", "a", encoding="utf-8") as fh:
        fh.write(dated_line("bridge", "Bridge opens", "A footbridge opened over the river on Friday.", "2024-03-08"))
    os.utime(folder / "feed.jsonl", ns=(time.time_ns(), time.time_ns() + 2_000_000))
    assert engine.refresh().changed is True
    # Only the new segment's articles are read, by the refresh: the answers after it read none.
    assert read == [["lake", "mill", "choir"], ["bridge"]]
    answer = engine.answer("When did the footbridge open?", asked_at="2024-03-11")
    assert [(s.source.article_id, s.age_days) for s in answer.sentences[:1]] == [("bridge", 3)]
    answer = engine.answer("When did the lake freeze?", asked_at="2024-03-11")
    assert [(s.source.article_id, s.age_days) for s in answer.sentences[:1]] == [("lake", 10)]
    assert len(read) == 2


def test_the_heap_is_handed_back_after_a_big_batch_only(
    feed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trims: list[int] = []
    monkeypatch.setattr(maintain, "trim_heap", lambda: trims.append(1))
    first = refresh(feed, tmp_path / "index")
    assert trims == []  # three short articles: nothing worth handing back
    monkeypatch.setattr(maintain, "BUILD_BYTES_PER_TEXT_BYTE", maintain.TRIM_AFTER_BYTES)
    with open(feed / "feed.jsonl", "a", encoding="utf-8") as fh:
        fh.write(line("bridge", "Bridge opens", "A new footbridge opened over the river on Friday."))
    os.utime(feed / "feed.jsonl", ns=(time.time_ns(), time.time_ns() + 2_000_000))
    second = refresh(feed, tmp_path / "index", first.state)
    assert second.changed is True
    assert trims == [1]


@pytest.mark.parametrize("hashing", ["real hashes", "every hash the same"])
def test_duplicate_ids_within_and_across_files_are_reported_as_a_whole_load_reports_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hashing: str
) -> None:
    if hashing == "every hash the same":
        # Every id then meets every other on its hash: only the whole-id check tells them apart.
        monkeypatch.setattr(seen_module, "_hash", lambda raw: 7)
    folder = tmp_path / "corpus"
    folder.mkdir()
    lake, mill, choir = STORIES
    write(folder / "a.jsonl", line(*lake) + line(*mill) + line("lake", "Lake again", "The lake froze again."))
    write(folder / "b.jsonl", line("mill", "Mill again", "The mill opened again.") + line(*choir))
    write(folder / "c.md", "# Harbour\n\nThe harbour was dredged over the winter.\n")
    write(folder / "d.jsonl", line("c", "Harbour again", "The harbour was dredged twice.") + line("d:1", "Id", "A."))
    first = refresh(folder, tmp_path / "index")
    whole = load_corpus(folder)
    assert [p.reason for p in whole.problems if "duplicate" in p.reason] == [
        "duplicate id 'lake' (first in a.jsonl), skipped",
        "duplicate id 'mill' (first in a.jsonl), skipped",
        "duplicate id 'c' (first in c.md), skipped",
    ]
    assert first.problems == first.state.problems == whole.problems
    assert sorted(first.state.by_id) == sorted(a.id for a in whole.articles)
    # Lines appended to a file that was indexed before: checked against every id already kept.
    with open(folder / "b.jsonl", "a", encoding="utf-8") as fh:
        fh.write(line("choir", "Choir again", "The choir sang again.") + line("reef", "Reef", "The reef grew."))
        fh.write(line("reef", "Reef again", "The reef grew again.") + line("lake", "Lake thrice", "Ice again."))
    os.utime(folder / "b.jsonl", ns=(time.time_ns(), time.time_ns() + 2_000_000))
    second = refresh(folder, tmp_path / "index", first.state)
    whole = load_corpus(folder)
    assert second.state.problems == whole.problems
    assert [p.reason for p in second.problems] == [
        "duplicate id 'choir' (first in b.jsonl), skipped",
        "duplicate id 'reef' (first in b.jsonl), skipped",
        "duplicate id 'lake' (first in a.jsonl), skipped",
    ]
    assert sorted(second.state.by_id) == sorted(a.id for a in whole.articles)
    assert sorted(texts(second.state)) == sorted(texts(refresh(folder, tmp_path / "again").state))


def test_a_file_that_fails_part_way_frees_the_ids_it_had_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    write(folder / "a.jsonl", "".join(line(f"a{i}", f"Story {i}", f"Story number {i} was told.") for i in range(6)))
    write(folder / "b.jsonl", line("a1", "Again", "Told again."))
    real = maintain.read_file_parts

    def failing(path: Path, *, root: Path, part_bytes: int):  # type: ignore[no-untyped-def]
        for part in real(path, root=root, part_bytes=200):
            if path.name == "a.jsonl" and not part.articles:
                problem = LoadProblem("a.jsonl", "cannot read: Stale file handle", retry=True)
                yield type(part)((), (), (problem,))
                return
            yield part

    monkeypatch.setattr(maintain, "read_file_parts", failing)
    first = refresh(folder, tmp_path / "index")
    # The file that failed is tried again later; meanwhile its ids belong to no one.
    assert first.problems == (LoadProblem("a.jsonl", "cannot read: Stale file handle", retry=True),)
    assert sorted(first.state.by_id) == ["a1"]
    monkeypatch.setattr(maintain, "read_file_parts", real)
    second = refresh(folder, tmp_path / "index", first.state)
    assert second.problems == (LoadProblem("a.jsonl", "duplicate id 'a1' (first in b.jsonl), skipped", 2),)
    assert sorted(second.state.by_id) == [f"a{i}" for i in range(6)]
