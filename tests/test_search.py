"""Search with dynamic pruning returns exactly the top k of a full scan, for every BM25 variant."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from retrieval import search
from retrieval.engine import Engine
from retrieval.search import Searcher
from retrieval.settings import BM25Settings, Settings

# Made-up words of many frequencies: a few in most passages, most in a handful.
WORDS = [
    f"{a}{b}" for a in ("ka", "lo", "mi", "ne", "pu", "ra", "si", "to") for b in ("bel", "dor", "fin", "gar", "hup")
]


def story(rng: random.Random, n: int) -> str:
    sentences = []
    for _ in range(rng.randint(1, 6)):
        words = [WORDS[min(int(rng.paretovariate(0.8)) - 1, len(WORDS) - 1)] for _ in range(rng.randint(3, 14))]
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def holding(searcher: Searcher, terms: list[str]) -> np.ndarray:
    """Whether each passage is live and holds a query term."""
    holds = np.zeros(searcher.n_total, dtype=bool)
    for term in set(terms):
        for si, seg in enumerate(searcher.segments):
            tid = seg.term_id(term)
            if tid >= 0:
                holds[np.asarray(seg.term_postings(tid)[0], dtype=np.int64) + searcher.bases[si]] = True
    for si, mask in enumerate(searcher.live):
        if mask is not None:
            holds[searcher.bases[si] : searcher.bases[si + 1]] &= mask
    return holds


def reference(searcher: Searcher, terms: list[str], k: int) -> list[tuple[int, float]]:
    """The k best live passages holding a query term, by score then id, from every passage's score."""
    scores = searcher.scores(terms)
    ids = np.flatnonzero(holding(searcher, terms))
    order = np.lexsort((ids, -scores[ids]))[:k]
    return [(int(ids[i]), float(scores[ids[i]])) for i in order]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    rng = random.Random(11)
    folder = tmp_path / "corpus"
    folder.mkdir()
    lines = [json.dumps({"id": f"a{i}", "title": story(rng, i)[:40], "text": story(rng, i)}) for i in range(520)]
    (folder / "feed.jsonl").write_text("\n".join(lines[:500]) + "\n", encoding="utf-8")
    (folder / "extra.jsonl").write_text("\n".join(lines[500:]) + "\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("variant", ["lucene", "okapi", "bm25l", "bm25+"])
def test_pruned_search_returns_the_full_scans_top_k(corpus: Path, tmp_path: Path, variant: str) -> None:
    settings = Settings(bm25=BM25Settings(variant=variant))
    engine = Engine.open(corpus, tmp_path / "index", settings)
    # A second segment and deleted passages: the bounds and masks of several segments.
    rng = random.Random(5)
    extra = [json.dumps({"id": f"b{i}", "title": "", "text": story(rng, i)}) for i in range(80)]
    (corpus / "extra.jsonl").unlink()
    (corpus / "more.jsonl").write_text("\n".join(extra) + "\n", encoding="utf-8")
    engine.refresh()
    searcher = engine.state.searcher
    assert len(searcher.segments) == 2 and searcher.n_live < searcher.n_total
    pruned_some = 0
    for _ in range(150):
        words = [rng.choice(WORDS[: rng.choice((4, 12, 40))]) for _ in range(rng.randint(1, 6))]
        terms = engine.question_terms(" ".join(words))
        for k in (1, 3, 10, 30):
            full = searcher.search(terms, k, prune=False)
            pruned = searcher.search(terms, k)
            assert [(h.passage, h.score) for h in pruned] == [(h.passage, h.score) for h in full]
            assert [(h.passage, h.score) for h in full] == reference(searcher, terms, k)
            pruned_some += searcher.scored_passages(terms, k) < holding(searcher, terms).sum()
    assert pruned_some > 50


# Multipliers per passage as an article's age gives: many below 1, some 0 (published later); an
# archive of old news (all close together, below 1); mostly hidden.
PRIORS = [(0.0, 0.2, 0.55, 1.0, 1.0), (0.7, 0.705, 0.71), (0.0, 0.0, 0.0, 0.3, 0.5)]


@pytest.mark.parametrize("variant", ["lucene", "okapi", "bm25l"])
@pytest.mark.parametrize("levels", PRIORS)
# 0: the threshold is always learnt from the best passages by their own scores; 0.5: as searched.
@pytest.mark.parametrize("spread", [0.0, search.PRIOR_SPREAD])
def test_pruned_search_with_a_prior_returns_the_full_scans_top_k(
    corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variant: str,
    levels: tuple[float, ...],
    spread: float,
) -> None:
    monkeypatch.setattr(search, "PRIOR_SPREAD", spread)
    shown = (min(m for m in levels if m > 0), max(levels))
    engine = Engine.open(corpus, tmp_path / "index", Settings(bm25=BM25Settings(variant=variant)))
    searcher = engine.state.searcher
    searcher.seed_min_postings = 0
    rng = random.Random(3)
    mult = np.array([rng.choice(levels) for _ in range(searcher.n_total)])

    def prior(cand: np.ndarray) -> np.ndarray:
        return mult[cand]

    pruned_some = 0
    for _ in range(120):
        words = [rng.choice(WORDS[: rng.choice((4, 12, 40))]) for _ in range(rng.randint(2, 6))]
        terms = engine.question_terms(" ".join(words))
        raw = searcher.scores(terms)
        for k in (1, 3, 10, 30):
            full = searcher.search(terms, k, prune=False, prior=prior)
            pruned = searcher.search(terms, k, prior=prior)
            assert [(h.passage, h.score) for h in pruned] == [(h.passage, h.score) for h in full]
            bounded = searcher.search(terms, k, prior=prior, prior_range=shown)
            assert [(h.passage, h.score) for h in bounded] == [(h.passage, h.score) for h in full]
            assert all(mult[h.passage] > 0 for h in full)
            assert [h.score for h in full] == sorted((h.score for h in full), reverse=True)
            assert all(h.score == pytest.approx(raw[h.passage] * mult[h.passage]) for h in full)
            scored = searcher.scored_passages(terms, k, prior=prior, prior_range=shown)
            pruned_some += scored < holding(searcher, terms).sum()
    assert pruned_some > 50


@pytest.mark.parametrize("variant", ["lucene", "okapi", "bm25l", "bm25+"])
def test_pruned_search_breaks_ties_by_id_where_block_bounds_equal_the_threshold(tmp_path: Path, variant: str) -> None:
    # Every passage the same length: a block of count-1 postings is bounded by exactly the
    # score each of its passages has, which the k-th best reaches too.
    folder = tmp_path / "corpus"
    folder.mkdir()
    texts = ["Zorp zorp dask." if i in (7, 300, 301, 900) else "Zorp quell dask." for i in range(1000)]
    texts = [t if i % 5 else "Quell fent dask." for i, t in enumerate(texts)]
    lines = [json.dumps({"id": f"a{i:04d}", "title": "", "text": t}) for i, t in enumerate(texts)]
    (folder / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    engine = Engine.open(folder, tmp_path / "index", Settings(bm25=BM25Settings(variant=variant)))
    searcher = engine.state.searcher
    searcher.seed_min_postings = 0
    half = np.where(np.arange(searcher.n_total) % 2, 1.0, 0.5)

    def prior(cand: np.ndarray) -> np.ndarray:
        return half[cand]

    for question in ("zorp", "quell", "dask", "zorp dask", "quell fent", "zorp quell fent dask"):
        terms = engine.question_terms(question)
        for k in (1, 3, 4, 5, 10, 200):
            full = searcher.search(terms, k, prune=False)
            assert [(h.passage, h.score) for h in searcher.search(terms, k)] == [(h.passage, h.score) for h in full]
            assert [(h.passage, h.score) for h in full] == reference(searcher, terms, k)
            weighed = searcher.search(terms, k, prune=False, prior=prior)
            pruned = searcher.search(terms, k, prior=prior)
            assert [(h.passage, h.score) for h in pruned] == [(h.passage, h.score) for h in weighed]
