"""Learn how to rank candidate sentences, and measure it beside the hand-tuned score.

    python -m benchmarks.train_ranker --bench ../shared/bench [--out ranker.json]

For every dev question of a set (asked as of its `question_date`), the candidate sentences
that `retrieval.select` scores are collected with their features:

    coverage (BM25 of the sentence), passage (BM25 of its best passage), article, title (the
    question's idf share in the headline), support (the idf share the sentence and headline
    hold), rare (the question's rarest term held), proximity (how close together the matched
    question words sit), position, cue (answer type), age (days before the moment asked, log)

and labelled by whether the sentence holds the answer. A logistic regression and a gradient-
boosted model are cross-validated by question (5 folds, no question in both train and test)
and each question's candidates re-ranked by them and by the hand score; hit@1 and hit@3 over
all questions are printed side by side. `--out` writes the logistic regression's coefficients
as JSON (a few numbers: no pickle). Nothing here is needed to run newsbot or its tests.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import retrieval.engine as engine_module
from benchmarks.trust import archive_file, open_engine
from bot.evaluate import Question, contains_answer, read_questions
from retrieval import select
from retrieval.engine import Engine
from retrieval.when import day_number, parse_asked_at

ROOT = Path(__file__).resolve().parent.parent
FEATURES = (
    "coverage",
    "passage",
    "article",
    "title",
    "support",
    "rare",
    "proximity",
    "position",
    "cue",
    "age",
)


def _capture(engine: Engine, question: Question) -> tuple[list[list[float]], list[bool], list[float]]:
    """Features, labels and hand scores of every candidate sentence for one question."""
    seen: dict[str, Any] = {}
    original = select.select_sentences

    def spy(asked: str, terms: Any, pool: Any, settings: Any, **kw: Any) -> Any:
        seen.update(asked=asked, terms=terms, pool=pool, names=kw["names"])
        return original(asked, terms, pool, settings, **{**kw, "limit": 1000})

    engine_module.select_sentences = spy  # type: ignore[assignment]
    try:
        answer = engine.answer(question.question, limit=1000, asked_at=question.asked_at or None)
    finally:
        engine_module.select_sentences = original
    rows: list[list[float]] = []
    labels: list[bool] = []
    hand: list[float] = []
    if not seen or not seen["pool"].sentences:
        return rows, labels, hand
    pool = seen["pool"]
    weights = select.question_weights(seen["terms"], pool.doc_freqs, pool.passages, seen["names"])
    total = sum(weights.values()) or 1.0
    rarest = max(weights, key=lambda t: weights[t] if pool.doc_freqs[t] > 0 else -1.0)
    top = pool.top_score if pool.top_score > 0 else 1.0
    by_place = {(c.segment, c.article, c.position): c for c in pool.sentences}
    cue = select._cue(seen["asked"])
    words = {w.lower() for w in re.findall(r"[\w’'-]+", seen["asked"])}
    now = day_number(parse_asked_at(question.asked_at or None))
    days = engine._days(engine.state)
    wanted = set(weights)
    for sent in answer.sentences:
        # The answer's sentences are the candidates, in hand-score order, deduplicated.
        where = engine.state.by_id[sent.source.article_id]
        cand = by_place[(where[0], where[1], sent.sentence)]
        title = sum(w for t, w in weights.items() if t in cand.headline_terms) / total
        spans = [(t, a) for t, a, _ in engine.analyzer.spans(sent.text) if t in wanted]
        held = {t for t, _ in spans}
        coverage = sum(weights[t] for t in held) / total
        support = sum(weights[t] for t in weights if t in held or t in cand.headline_terms) / total
        positions = [a for _, a in spans]
        proximity = len(held) / (1.0 + (max(positions) - min(positions)) / 40.0) if len(held) > 1 else 0.0
        day = float(days.articles[where[0]][where[1]])
        age = math.log1p(max(now - day, 0.0)) if not math.isnan(day) else 0.0
        rows.append(
            [
                coverage,
                max(0.0, cand.passage_score / top),
                max(0.0, cand.article_score / top),
                title,
                support,
                float(rarest in held),
                proximity,
                1.0 / math.sqrt(1.0 + sent.sentence),
                float(bool(cue) and select._has_cue(cue, sent.text, words)),
                age,
            ]
        )
        labels.append(contains_answer(sent.text, question.answers))
        hand.append(sent.score)
    return rows, labels, hand


def hits_at(groups: Sequence[tuple[np.ndarray, np.ndarray]], n_questions: int) -> tuple[float, float]:
    """hit@1 and hit@3 when each question's candidates are ordered by score (ties: hand order)."""
    h1 = h3 = 0
    for scores, labels in groups:
        order = np.argsort(-scores, kind="stable")
        ranked = labels[order]
        h1 += bool(ranked[:1].any())
        h3 += bool(ranked[:3].any())
    return h1 / n_questions, h3 / n_questions


def main(argv: Sequence[str] | None = None) -> int:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.preprocessing import StandardScaler

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", type=Path, default=ROOT.parent / "shared" / "bench")
    parser.add_argument("--work", type=Path, default=Path("/tmp/newsbot-trust"))
    parser.add_argument("--set", default="realtimeqa", choices=("realtimeqa", "rtqa-archive-dev", "wikiqa"))
    parser.add_argument("--out", type=Path, help="write the logistic regression's coefficients here (JSON)")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.set == "rtqa-archive-dev":
        corpus = archive_file(args.bench, args.work)
    else:
        corpus = args.bench / args.set / "articles.jsonl"
    engine = open_engine(corpus, args.work)
    engine.decide_settings = type(engine.decide_settings)(enabled=False)
    questions = read_questions(args.bench / args.set / "questions.jsonl", split="dev")
    X: list[list[float]] = []
    y: list[bool] = []
    hand: list[float] = []
    group: list[int] = []
    for qi, q in enumerate(questions):
        rows, labels, scored = _capture(engine, q)
        X += rows
        y += labels
        hand += scored
        group += [qi] * len(rows)
    xs, ys, hs, gs = np.asarray(X), np.asarray(y), np.asarray(hand), np.asarray(group)
    n = len(questions)
    learned: dict[str, np.ndarray] = {"logistic": np.zeros(len(ys)), "boosted": np.zeros(len(ys))}
    for train, test in GroupKFold(n_splits=5).split(xs, ys, gs):
        scaler = StandardScaler().fit(xs[train])
        lr = LogisticRegression(C=1.0, max_iter=2000).fit(scaler.transform(xs[train]), ys[train])
        learned["logistic"][test] = lr.decision_function(scaler.transform(xs[test]))
        gb = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, max_leaf_nodes=15, random_state=0)
        learned["boosted"][test] = gb.fit(xs[train], ys[train]).predict_proba(xs[test])[:, 1]

    def by_question(scores: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(scores[gs == qi], ys[gs == qi]) for qi in np.unique(gs)]

    print(f"{args.set} dev: {n} questions, {len(ys)} candidate sentences, {int(ys.sum())} hold the answer")
    print(f"{'ranker (5-fold CV by question)':<34}{'hit@1':>8}{'hit@3':>8}")
    for name, scores in (("hand weights (retrieval/select.py)", hs), *learned.items()):
        h1, h3 = hits_at(by_question(scores), n)
        print(f"{name:<34}{h1:>8.3f}{h3:>8.3f}")
    if args.out:
        scaler = StandardScaler().fit(xs)
        lr = LogisticRegression(C=1.0, max_iter=2000).fit(scaler.transform(xs), ys)
        model = {
            "features": list(FEATURES),
            "mean": scaler.mean_.round(6).tolist(),
            "scale": scaler.scale_.round(6).tolist(),
            "coef": lr.coef_[0].round(6).tolist(),
            "intercept": round(float(lr.intercept_[0]), 6),
        }
        args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
