"""Segments merged into one, streaming (`retrieval.merge`), and builds in batches that end merged."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from retrieval import maintain, merge, postings
from retrieval.analyze import Analyzer
from retrieval.engine import Engine
from retrieval.index import _ARRAYS, Segment, build_segment, encode_postings, load_segment, save_segment
from retrieval.load import FileRead, read_file, read_file_parts
from retrieval.merge import merge_segments
from retrieval.models import Article
from retrieval.settings import IndexSettings, PassageSettings, Settings

WORDS = [
    "harbour", "bridge", "council", "budget", "river", "flood", "storm", "minister", "election", "court",
    "ruling", "tariff", "factory", "workers", "strike", "vaccine", "hospital", "drought", "harvest", "wheat",
    "price", "railway", "tunnel", "mayor", "festival", "museum", "painting", "orchestra", "satellite",
    "launch", "rocket", "glacier", "volcano", "eruption", "village", "school", "teachers", "pension",
    "reform", "senate", "vote", "border", "talks", "ceasefire", "treaty",
]


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(4, 14))]
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), str(rng.randint(2, 2030)))
    return " ".join(words).capitalize() + "."


def _articles(count: int, seed: int = 5) -> list[Article]:
    rng = random.Random(seed)
    return [
        Article(
            id=f"a{i}",
            title=" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))).title(),
            text=" ".join(_sentence(rng) for _ in range(rng.randint(1, 9))),
            source=rng.choice(["Coast Gazette", "Wire", ""]),
            published=f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        )
        for i in range(count)
    ]


def _saved(articles: list[Article], folder: Path, cuts: list[int]) -> list[Segment]:
    segments = []
    for i, (lo, hi) in enumerate(zip([0, *cuts], [*cuts, len(articles)], strict=True)):
        save_segment(build_segment(articles[lo:hi], Analyzer(), PassageSettings()), folder / f"seg-{i}")
        segments.append(load_segment(folder / f"seg-{i}"))
    return segments


@pytest.mark.parametrize("cuts", [[1], [40, 41, 90], [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]])
def test_merged_segments_hold_exactly_what_one_build_of_all_their_articles_holds(
    tmp_path: Path, cuts: list[int]
) -> None:
    articles = _articles(120)
    whole = build_segment(articles, Analyzer(), PassageSettings())
    merge_segments(_saved(articles, tmp_path, cuts), tmp_path / "merged")
    merged = load_segment(tmp_path / "merged", verify=True)
    # Everything but the compressed text (another dictionary, other bytes) is the same array.
    text = {"text_blob", "text_blocks", "text_dict", "text_sums"}
    for name in sorted(set(_ARRAYS) - text):
        assert np.array_equal(np.asarray(getattr(merged, name)), np.asarray(getattr(whole, name))), name
    assert [merged.sentence_text(i) for i in range(merged.n_sentences)] == [
        whole.sentence_text(i) for i in range(whole.n_sentences)
    ]
    assert list(merged.articles) == list(whole.articles)
    assert merged.articles.ids == whole.articles.ids


@pytest.mark.parametrize(("pairs", "run"), [(1, 1), (7, 50), (10, 3), (64, 1_000)])
def test_a_merge_made_in_many_small_windows_and_runs_writes_the_same_segment_as_one_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pairs: int, run: int
) -> None:
    articles = _articles(150, seed=11)
    segments = _saved(articles, tmp_path, [20, 21, 60, 110])
    merge_segments(segments, tmp_path / "at-once")
    # Windows of a single merged term (or a few), runs of a single term (or a few).
    monkeypatch.setattr(merge, "PAIRS", pairs)
    monkeypatch.setattr(merge, "_MIN_SPAN", 1)
    monkeypatch.setattr(merge, "RUN_POSTINGS", run)
    # Stored records read a block or a few at a time.
    monkeypatch.setattr(merge, "RECORD_RUN", 1 + pairs % 3)
    windows: list[int] = []
    pairs_of = merge._pairs

    def counted(segs: list[Segment], vocab: np.ndarray) -> object:
        for window in pairs_of(segs, vocab):
            windows.append(int(window[0].size))
            yield window

    monkeypatch.setattr(merge, "_pairs", counted)
    merge_segments(segments, tmp_path / "piecemeal")
    assert len(windows) > 10 and sum(windows) == sum(int(s.vocab.size) for s in segments)
    at_once, piecemeal = load_segment(tmp_path / "at-once"), load_segment(tmp_path / "piecemeal", verify=True)
    for name in sorted(_ARRAYS):
        assert np.array_equal(np.asarray(getattr(piecemeal, name)), np.asarray(getattr(at_once, name))), name
    assert piecemeal.articles.ids == at_once.articles.ids == [a.id for a in articles]
    whole = build_segment(articles, Analyzer(), PassageSettings())
    assert np.array_equal(np.asarray(piecemeal.post_bytes), whole.post_bytes)


def test_a_merge_reads_every_term_of_every_segment_once_through_terms_postings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    articles = _articles(30)
    segments = _saved(articles, tmp_path, [12])
    monkeypatch.setattr(merge, "RUN_POSTINGS", 40)
    read: dict[int, list[int]] = {}
    original = Segment.terms_postings

    def counting(self: Segment, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        read.setdefault(id(self), []).extend(range(lo, hi))
        return original(self, lo, hi)

    monkeypatch.setattr(Segment, "terms_postings", counting)
    merge_segments(segments, tmp_path / "merged")
    assert [read[id(s)] for s in segments] == [list(range(int(s.vocab.size))) for s in segments]


def test_the_postings_of_a_range_of_terms_are_each_terms_postings_one_after_the_other() -> None:
    # Enough articles that common terms run over several blocks.
    segment = build_segment(_articles(400, seed=3), Analyzer(), PassageSettings())
    n = int(segment.vocab.size)
    assert int(np.diff(np.asarray(segment.post_offsets)).max()) > 2 * postings.BLOCK
    rng = random.Random(9)
    ranges = [(a, a + rng.randint(0, 30)) for a in rng.sample(range(n - 30), 20)]
    for lo, hi in [(0, n), (0, 1), (n - 1, n), (5, 5), *ranges]:
        docs, tfs = segment.terms_postings(lo, hi)
        pieces = [segment.term_postings(t) for t in range(lo, hi)]
        assert np.array_equal(docs, np.concatenate([p[0] for p in pieces] or [np.zeros(0, np.int32)]))
        assert np.array_equal(tfs, np.concatenate([p[1] for p in pieces] or [np.zeros(0, np.uint16)]))
        assert docs.dtype == np.int32 and tfs.dtype == np.uint16


@pytest.mark.parametrize("run", [1, 5, 12, 1_000])
def test_runs_cut_a_window_at_term_ends_once_they_hold_enough_postings(
    monkeypatch: pytest.MonkeyPatch, run: int
) -> None:
    monkeypatch.setattr(merge, "RUN_POSTINGS", run)
    terms = np.array([0, 0, 1, 2, 2, 2, 3, 4, 4], np.int32)
    counts = np.array([3, 4, 1, 0, 2, 9, 5, 1, 1], np.int64)
    runs = list(merge._runs(terms, counts))
    # Every pair once, in order; each run ends with a term and holds the fewest whole terms reaching `run`.
    assert [lo for lo, _ in runs] == [0, *(hi for _, hi in runs[:-1])] and runs[-1][1] == terms.size
    for lo, hi in runs:
        assert hi == terms.size or terms[hi] != terms[hi - 1]
        held = counts[lo:hi].sum()
        assert hi == terms.size or held >= run
        short = [e for e in range(lo + 1, hi) if terms[e] != terms[e - 1]]
        assert all(counts[lo:e].sum() < run for e in short)
    assert list(merge._runs(terms[:0], counts[:0])) == []


@pytest.mark.parametrize("failing", ["_reblock", "_postings"])
def test_a_merge_that_fails_on_either_side_raises_and_leaves_no_folder_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    # The records are re-compressed on a thread beside the postings: a failure on either
    # side reaches the caller, and the half-written folder goes once both sides are done.
    segments = _saved(_articles(40), tmp_path, [15])

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(f"{failing} could not write")

    monkeypatch.setattr(merge, failing, broken)
    with pytest.raises(OSError, match=f"{failing} could not write"):
        merge_segments(segments, tmp_path / "merged")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seg-0", "seg-1"]


def test_encoded_postings_read_back_term_by_term(tmp_path: Path) -> None:
    segment = build_segment(_articles(25), Analyzer(), PassageSettings())
    for term in range(int(segment.vocab.size)):
        docs, tfs = segment.term_postings(term)
        stored = encode_postings(np.array([0, docs.size]), docs, tfs, segment.doc_len)
        blocks = int(stored["block_last"].size)
        assert blocks == -(-docs.size // postings.BLOCK)
        again = postings.decode(stored["post_bytes"], stored["block_last"], stored["block_end"], 0, blocks, docs.size)
        assert np.array_equal(again[0], docs) and np.array_equal(again[1], tfs)
        assert list(stored["post_offsets"]) == [0, docs.size]
        assert np.all(np.diff(docs) > 0) and np.all(tfs >= 1)


def _corpus(folder: Path, articles: list[Article]) -> Path:
    folder.mkdir()
    lines = [
        json.dumps({"id": a.id, "title": a.title, "source": a.source, "url": "", "published": a.published,
                    "text": a.text})
        for a in articles
    ]
    (folder / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _top(engine: Engine, question: str) -> list[tuple[str, int, float]]:
    """The top passages as (article id, first sentence, score)."""
    hits = []
    for hit in engine.search(question, k=10):
        seg = engine.state.segments[hit.segment]
        hits.append((seg.articles.ids[int(seg.pass_article[hit.local])], int(seg.pass_start[hit.local]), hit.score))
    return hits


def test_a_build_in_many_small_batches_ends_as_one_segment_scoring_exactly_as_one_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = _corpus(tmp_path / "corpus", _articles(400, seed=9))
    one = Engine.open(corpus, tmp_path / "one")
    batches: list[int] = []
    merge = maintain.merge_segments

    def counting(segments: list[Segment], directory: Path) -> int:
        batches.append(len(segments))
        return merge(segments, directory)

    monkeypatch.setattr(maintain, "merge_segments", counting)
    # The smallest budget allowed, made to stand for a few kilobytes of text a batch.
    monkeypatch.setattr(maintain, "BUILD_BYTES_PER_TEXT_BYTE", 2000)
    many = Engine.open(corpus, tmp_path / "many", Settings(index=IndexSettings(memory_mb=16)))
    assert batches and batches[0] > 5
    assert len(many.state.segments) == len(one.state.segments) == 1
    rng = random.Random(3)
    questions = [" ".join(rng.sample(WORDS, rng.randint(1, 5))) for _ in range(200)]
    assert [_top(many, q) for q in questions] == [_top(one, q) for q in questions]
    assert [many.answer(q, asked_at="2024-12-31") for q in questions[:30]] == [
        one.answer(q, asked_at="2024-12-31") for q in questions[:30]
    ]


def _joined(parts: list[FileRead]) -> tuple[list[tuple[str, Article, int | None]], list[object], str, int, int]:
    articles = [found for part in parts for found in part.articles]
    problems = [problem for part in parts for problem in part.problems]
    return articles, problems, parts[-1].digest, parts[-1].size, parts[-1].breaks


@pytest.mark.parametrize(
    "content",
    [
        b'{"id": "a", "title": "T", "text": "One."}\n{"id": "b", "title": "U", "text": "Two."}\n',
        b'\xef\xbb\xbf{"id": "a", "title": "T", "text": "One."}\r\n\r\nnot json\r\n{"title": "U", "text": "Two."}',
        b'{"id": "a", "text": "One."}\n\xff\xfe broken\n{"id": "c", "text": "' + b"x" * 300 + b'."}\n[1]\n',
        b'{"id": "a", "text": "One."}\n{"id": "a", "text": "Again."}\n{"text": ""}\n',
    ],
    ids=["plain", "bom-crlf-bad-line", "bad-utf8-long-line", "duplicates"],
)
@pytest.mark.parametrize("part_bytes", [1, 7, 64, 1 << 20])
def test_a_jsonl_file_read_in_parts_gives_what_one_read_gives(tmp_path: Path, content: bytes, part_bytes: int) -> None:
    path = tmp_path / "news.jsonl"
    path.write_bytes(content)
    whole = read_file(path, root=tmp_path)
    parts = list(read_file_parts(path, root=tmp_path, part_bytes=part_bytes))
    assert _joined(parts) == (list(whole.articles), list(whole.problems), whole.digest, whole.size, whole.breaks)


@pytest.mark.parametrize(
    "content", [b"", b"  \n\n", b'{"id": "a", "text": "One."}\n\x00\n'], ids=["empty", "blank", "nul"]
)
def test_a_jsonl_file_that_cannot_be_used_is_one_part_saying_why(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "news.jsonl"
    path.write_bytes(content)
    assert list(read_file_parts(path, root=tmp_path, part_bytes=4)) == [read_file(path, root=tmp_path)]
