"""Candidate records: the sentences of the top passages, with what select scores them by."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from retrieval.candidates import Candidate, Candidates, _Texts, gather
from retrieval.engine import Engine
from retrieval.search import PassageHit, Searcher


def candidates_for(engine: Engine, question: str) -> tuple[list[str], list[Candidate]]:
    terms = engine.question_terms(question)
    searcher = engine.state.searcher
    pool = gather(searcher, terms, searcher.search(terms, 10))
    return terms, list(pool.sentences)


def test_a_candidate_counts_the_question_terms_of_its_own_sentence(engine: Engine) -> None:
    terms, candidates = candidates_for(engine, "How much will the bridge repairs cost?")
    by_text = {c.text: c for c in candidates}
    cost = by_text["Mayor Ellen Park said the repairs would cost $4.5 million."]
    analysed = Counter(engine.analyzer.terms(cost.text))
    assert dict(cost.counts) == {t: analysed[t] for t in dict.fromkeys(terms) if analysed[t]}
    assert cost.length == len(engine.analyzer.terms(cost.text))


def test_a_candidate_knows_its_article_place_and_headline(engine: Engine) -> None:
    terms, candidates = candidates_for(engine, "When does the harbour bridge close?")
    first = next(c for c in candidates if c.text.startswith("The harbour bridge will close"))
    assert (first.position, first.headline) == (0, "Harbour bridge to close for repairs")
    assert first.headline_terms == frozenset(t for t in terms if t in engine.analyzer.terms(first.headline))
    context = engine.context("harbour-bridge", first.position, radius=0)
    assert context is not None and context.sentences == (first.text,)


def test_every_candidate_holds_a_question_term_and_its_best_scores(engine: Engine) -> None:
    terms = engine.question_terms("Who won the chess final in Oslo?")
    searcher = engine.state.searcher
    hits = searcher.search(terms, 10)
    pool = gather(searcher, terms, hits)
    assert pool.sentences and pool.top_score == hits[0].score
    assert all(c.counts and set(c.counts) <= set(terms) for c in pool.sentences)
    assert all(c.passage_score <= c.article_score <= pool.top_score for c in pool.sentences)
    assert pool.doc_freqs == {t: searcher.postings(t).df for t in dict.fromkeys(terms)}


def test_no_hits_give_no_candidates(engine: Engine) -> None:
    pool = gather(engine.state.searcher, ["zzzunknown"], [])
    assert (pool.sentences, pool.top_score, pool.doc_freqs) == ((), 0.0, {"zzzunknown": 0})


def test_candidates_over_several_segments_hold_what_their_text_says(engine: Engine, corpus_dir: Path) -> None:
    (corpus_dir / "bridge-update.txt").write_text(
        "Bridge repairs to cost more\n\n"
        "The harbour bridge repairs will cost $5.1 million, the mayor said on Friday. "
        "Ferries will run every ten minutes until the bridge opens. The mayor thanked the engineers.\n\n"
        "Source: Coast Gazette\nPublished: 2024-03-08\n",
        encoding="utf-8",
    )
    assert engine.refresh().changed and len(engine.state.segments) == 2
    seen_segments = set()
    for question in [
        "How much will the bridge repairs cost?",
        "Will ferries run during the closure?",
        "Who won in Oslo?",
    ]:
        terms, candidates = candidates_for(engine, question)
        assert candidates
        for c in candidates:
            analysed = engine.analyzer.terms(c.text)
            counts = Counter(analysed)
            assert dict(c.counts) == {t: counts[t] for t in dict.fromkeys(terms) if counts[t]}
            assert c.length == len(analysed)
            meta = engine.state.segments[c.segment].articles[c.article]
            assert c.headline == meta["title"]
            context = engine.context(meta["id"], c.position, radius=0)
            assert context is not None and context.sentences == (c.text,)
            seen_segments.add(c.segment)
    assert seen_segments == {0, 1}


SYLLABLES = ("ka", "lo", "mi", "ne", "pu", "ra", "si", "to")
WORDS = [f"{a}{b}" for a in SYLLABLES for b in ("bel", "dor", "fin", "gar")]


def _line(rng: random.Random, n: int) -> str:
    def sentence() -> str:
        words = [WORDS[min(int(rng.paretovariate(0.8)) - 1, len(WORDS) - 1)] for _ in range(rng.randint(2, 12))]
        return " ".join(words).capitalize() + "."

    text = " ".join(sentence() for _ in range(rng.randint(1, 7)))
    return json.dumps({"id": f"a{n}", "title": sentence()[:30], "text": text})


def _flags(rng: random.Random, n: int) -> np.ndarray:
    return np.array([rng.random() < 0.2 for _ in range(n)], dtype=np.bool_)


def reference_gather(
    searcher: Searcher, terms: Sequence[str], hits: Sequence[PassageHit], quiz: list[np.ndarray] | None
) -> Candidates:
    """Candidates as the definition reads, a hit and a sentence at a time."""
    postings = {t: searcher.postings(t) for t in dict.fromkeys(terms)}
    best: dict[tuple[int, int], float] = {}
    best_article: dict[tuple[int, int], float] = {}
    for hit in hits:
        seg = searcher.segments[hit.segment]
        article = int(seg.pass_article[hit.local])
        best_article[hit.segment, article] = max(best_article.get((hit.segment, article), -np.inf), hit.score)
        for s in range(int(seg.pass_start[hit.local]), int(seg.pass_end[hit.local])):
            best[hit.segment, s] = max(best.get((hit.segment, s), -np.inf), hit.score)
    texts = _Texts(searcher.segments)
    out = []
    for (si, s), score in best.items():
        seg = searcher.segments[si]
        ids = {p.local_ids[si]: t for t, p in postings.items() if p.df > 0 and p.local_ids[si] >= 0}
        own = seg.sent_terms[int(seg.sent_offsets[s]) : int(seg.sent_offsets[s + 1])].tolist()
        counts = Counter(ids[i] for i in own if i in ids)
        if not counts:
            continue
        article = int(seg.sent_article[s])
        in_title = set(seg.title_term_ids(article).tolist())
        out.append(
            Candidate(
                si,
                s,
                article,
                int(seg.sent_pos[s]),
                len(own),
                dict(counts),
                frozenset(t for i, t in ids.items() if i in in_title),
                score,
                best_article[si, article],
                texts,
                quiz=None if quiz is None else bool(quiz[si][article]),
            )
        )
    top = hits[0].score if hits else 0.0
    doc_freqs = {t: p.df for t, p in postings.items()}
    return Candidates(tuple(out), top, doc_freqs, searcher.n_live, searcher.avg_sentence_len)


@pytest.mark.parametrize("seed", [1, 2])
def test_gathering_gives_what_reading_each_hit_and_sentence_gives(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "feed.jsonl").write_text("".join(_line(rng, n) + "\n" for n in range(150)), encoding="utf-8")
    engine = Engine.open(folder, tmp_path / "index")
    # A second segment, and deleted passages in the first.
    lines = (folder / "feed.jsonl").read_text(encoding="utf-8").splitlines()
    del lines[3:40]
    (folder / "feed.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    (folder / "more.jsonl").write_text("".join(_line(rng, n) + "\n" for n in range(150, 260)), encoding="utf-8")
    engine.refresh()
    searcher = engine.state.searcher
    assert len(searcher.segments) >= 2 and searcher.n_live < searcher.n_total
    segments = set()
    for _ in range(60):
        question = " ".join(rng.sample(WORDS, rng.randint(1, 5)) + rng.sample(["zzyzx", "the", ""], 1))
        terms = engine.question_terms(question)
        hits = searcher.search(terms, rng.choice([1, 5, 30, 60]))
        if rng.random() < 0.3:  # any order of hits, not only best first
            hits = rng.sample(hits, len(hits))
        quiz = None if rng.random() < 0.5 else [_flags(rng, len(s.articles)) for s in searcher.segments]
        pool = gather(searcher, terms, hits, quiz=quiz)
        expected = reference_gather(searcher, terms, hits, quiz)
        assert pool == expected
        assert [c.quiz for c in pool.sentences] == [c.quiz for c in expected.sentences]
        segments.update(c.segment for c in pool.sentences)
    assert segments == set(range(len(searcher.segments)))
