"""Candidate records: the sentences of the top passages, with what select scores them by."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from retrieval.candidates import Candidate, gather
from retrieval.engine import Engine


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
