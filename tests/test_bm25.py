"""BM25 scores agree with rank_bm25 (okapi, bm25+) and with the formulas (lucene, bm25l)."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi, BM25Plus

from retrieval.engine import Engine
from retrieval.settings import AnalysisSettings, BM25Settings, PassageSettings, Settings

REFERENCE = {"okapi": BM25Okapi, "bm25+": BM25Plus}


def random_corpus(seed: int, tmp_path: Path) -> tuple[Path, list[list[str]]]:
    """Write documents of random words, one article and one passage each."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(rng.randint(3, 40))]
    n_docs = rng.randint(1, 60)
    docs = []
    for _ in range(n_docs):
        # Zipf-like draws so some words sit in half or more of the documents.
        docs.append([vocab[min(int(rng.paretovariate(1.2)) - 1, len(vocab) - 1)] for _ in range(rng.randint(1, 30))])
    path = tmp_path / f"random-{seed}.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for i, doc in enumerate(docs):
            fh.write(json.dumps({"id": f"d{i}", "title": f"d{i}", "text": " ".join(doc)}) + "\n")
    return path, docs


def open_plain(path: Path, tmp_path: Path, bm25: BM25Settings) -> Engine:
    """Open an engine whose analysis keeps the random words as they are."""
    settings = Settings(
        analysis=AnalysisSettings(stopwords=False, stemming=False),
        passages=PassageSettings(size=50, overlap=0, title=False),
        bm25=bm25,
    )
    return Engine.open(path, tmp_path / "index", settings)


@pytest.mark.parametrize("variant", ["okapi", "bm25+"])
@pytest.mark.parametrize("seed", range(12))
def test_scores_agree_with_rank_bm25_on_random_corpora(variant: str, seed: int, tmp_path: Path) -> None:
    path, docs = random_corpus(seed, tmp_path)
    rng = random.Random(seed + 1000)
    k1, b = rng.choice([0.5, 1.2, 2.0]), rng.choice([0.0, 0.5, 0.75, 1.0])
    engine = open_plain(path, tmp_path, BM25Settings(variant=variant, k1=k1, b=b))
    corpus = [engine.passage_terms(i) for i in range(len(docs))]
    assert corpus == docs
    kwargs = {"k1": k1, "b": b}
    if variant == "bm25+":
        kwargs["delta"] = 1.0
    reference = REFERENCE[variant](corpus, **kwargs)
    for _ in range(5):
        query = rng.sample(sorted({w for d in docs for w in d}) + ["absent"], k=min(3, len(docs[0])))
        ours = engine.state.searcher.scores(query)
        np.testing.assert_allclose(ours, reference.get_scores(query), rtol=0, atol=1e-9)
        hits = engine.state.searcher.search(query, k=5)
        expected = sorted(range(len(docs)), key=lambda i: (-reference.get_scores(query)[i], i))
        matching = [i for i in expected if set(query) & set(docs[i])][:5]
        assert [h.passage for h in hits] == matching


def reference_scores(
    docs: list[list[str]], query: list[str], term_score: Callable[[int, int, int, int, float], float]
) -> list[float]:
    """Score every document by the plain sum over query terms: term_score(n, df, tf, |d|, avgdl)."""
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    scores = []
    for doc in docs:
        total = 0.0
        for q in query:
            df = sum(1 for d in docs if q in d)
            if df:
                total += term_score(n, df, doc.count(q), len(doc), avgdl)
        scores.append(total)
    return scores


def lucene_term(k1: float, b: float) -> Callable[[int, int, int, int, float], float]:
    """Lucene BM25 (Kamphuis et al. 2020), with Robertson's (k1 + 1) numerator."""

    def score(n: int, df: int, tf: int, dl: int, avgdl: float) -> float:
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))

    return score


def bm25l_term(k1: float, b: float, delta: float) -> Callable[[int, int, int, int, float], float]:
    """BM25L (Lv and Zhai 2011) with rank_bm25's idf, log(N + 1) - log(df + 0.5)."""

    def score(n: int, df: int, tf: int, dl: int, avgdl: float) -> float:
        idf = math.log(n + 1) - math.log(df + 0.5)
        c = tf / (1 - b + b * dl / avgdl)
        return idf * (k1 + 1) * (c + delta) / (k1 + c + delta)

    return score


@pytest.mark.parametrize("variant", ["lucene", "bm25l"])
@pytest.mark.parametrize("seed", range(12))
def test_scores_agree_with_the_formula_on_random_corpora(variant: str, seed: int, tmp_path: Path) -> None:
    path, docs = random_corpus(seed, tmp_path)
    engine = open_plain(path, tmp_path, BM25Settings(variant=variant, k1=1.2, b=0.75, delta=0.5))
    rng = random.Random(seed)
    for _ in range(5):
        query = rng.sample(sorted({w for d in docs for w in d}), k=1) * rng.randint(1, 2) + ["absent"]
        term = lucene_term(1.2, 0.75) if variant == "lucene" else bm25l_term(1.2, 0.75, 0.5)
        expected = reference_scores(docs, query, term)
        np.testing.assert_allclose(engine.state.searcher.scores(query), expected, rtol=0, atol=1e-9)


def test_lucene_idf_stays_positive_where_okapi_goes_silent(tmp_path: Path) -> None:
    path = tmp_path / "two.jsonl"
    path.write_text(
        '{"id": "a", "title": "a", "text": "zelensky decides"}\n{"id": "b", "title": "b", "text": "putin waits"}\n'
    )
    okapi = open_plain(path, tmp_path / "o", BM25Settings(variant="okapi"))
    lucene = open_plain(path, tmp_path / "l", BM25Settings(variant="lucene"))
    assert okapi.state.searcher.scores(["zelensky"]).tolist() == [0.0, 0.0]
    assert lucene.state.searcher.scores(["zelensky"])[0] > 0
