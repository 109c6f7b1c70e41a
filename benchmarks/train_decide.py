"""Train and measure the decline-or-answer model of `retrieval/decide.py` on dev question sets.

    python -m benchmarks.train_decide --bench ../shared/bench            # collect, fit, report
    python -m benchmarks.train_decide --bench ../shared/bench --write    # ...and ship the model

Every question is asked with declining off and the evidence the decision would read is kept
(cached under `--work`), with whether the first three sentences hold the answer:

- realtimeqa dev and rtqa-archive-dev dev, asked as of each question's date, and wikiqa dev;
- realtimeqa dev shortened as a hurried reader types (its asking word and its three rarest
  words: "Which automaker 2.9 vehicles?"), so that the model does not learn that only long
  questions are news;
- small talk and general knowledge against the realtimeqa articles, asked now and as of the
  newest article: the tune half (`benchmarks/data/offtopic.txt`, `general-tune.txt`) and the
  held-out half (`general-heldout.txt`), which nothing here fits on;
- news after the corpus: the archive cut at a date D, questions asked 30+ days after D whose
  answer no article before D holds, beside the questions asked before D (as `benchmarks.trust`).

A logistic regression (scikit-learn, here only) is fitted on the evidence: answer where the
first three sentences hold the answer (realtimeqa, shortened, archive, wikiqa, and the
questions before each even cut date), decline for the tune half of small talk and general
knowledge and for news after the corpus at the even cut dates (the odd ones are kept for
measuring). Its threshold is the lowest probability at which the tune half is declined
`--gk-target` of the time as of the newest article and news after the even cut dates 0.7.
The script prints the replayed outcome of the rules before it, the model, and declining off,
on every set (the replay equals asking again: `benchmarks.trust` measures the same figures);
`--write` saves the model as `retrieval/decide_model.json`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

import retrieval.engine as engine_module
from benchmarks.trust import _in_blob, archive_file, offtopic_messages, open_engine
from bot.evaluate import Question, contains_answer, fold, read_questions
from retrieval.decide import FEATURES, MODEL_FILE, MODEL_FORMAT, DecideModel, DecideSettings, Evidence, decide, features
from retrieval.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
# The small talk and general-knowledge halves (see benchmarks.trust.OFFTOPIC), by short name.
HALVES = (("tune", "tuned"), ("heldout", "held out"))
CUTOFFS = ("2023-01-01", "2023-07-01", "2024-07-01", "2025-07-01")
GAP_DAYS = 30


def ask_all(engine: Engine, asked: Sequence[tuple[str, str, Sequence[str]]]) -> list[dict[str, Any]]:
    """Ask each (question, asked_at, answers) with declining off; keep its evidence and hit rank."""
    seen: list[Evidence] = []
    real = engine_module.decide

    def record(evidence: Evidence, settings: Any) -> str:
        seen.append(evidence)
        return ""

    engine_module.decide = record  # type: ignore[assignment]
    rows = []
    try:
        for question, asked_at, answers in asked:
            seen.clear()
            answer = engine.answer(question, limit=10, asked_at=asked_at or None)
            rank = next((i for i, s in enumerate(answer.sentences, 1) if contains_answer(s.text, answers)), None)
            ev = seen[0] if seen else None
            rows.append(
                {
                    "question": question,
                    "rank": rank,
                    "evidence": None if ev is None else {f: getattr(ev, f) for f in Evidence.__slots__},
                }
            )
    finally:
        engine_module.decide = real
    return rows


WH = re.compile(r"^\s*(how\s+(?:many|much|long|old)|who|whom|whose|what|which|when|where|why|how)\b", re.I)


def shorten(engine: Engine, question: str, *, keep: int = 3) -> str:
    """The question as a hurried reader types it: its asking word and its `keep` rarest words."""
    searcher = engine.state.searcher
    spans = [(searcher.postings(t).df, s, e) for t, s, e in engine.analyzer.spans(question)]
    rare = sorted((df, s, e) for df, s, e in spans if df > 0)[:keep]
    words = [question[s:e] for _, s, e in sorted(rare, key=lambda r: r[1])]
    asks = WH.match(question)
    return " ".join(([asks.group(1)] if asks else []) + words) + "?"


def collect(bench: Path, work: Path) -> dict[str, list[dict[str, Any]]]:
    """Every set's rows (see `ask_all`), by name."""
    sets: dict[str, list[dict[str, Any]]] = {}

    def qs(questions: Sequence[Question]) -> list[tuple[str, str, Sequence[str]]]:
        return [(q.question, q.asked_at, q.answers) for q in questions]

    rtqa = open_engine(bench / "realtimeqa" / "articles.jsonl", work)
    rtqa_q = read_questions(bench / "realtimeqa" / "questions.jsonl", split="dev")
    sets["realtimeqa"] = ask_all(rtqa, qs(rtqa_q))
    sets["realtimeqa-short"] = ask_all(rtqa, [(shorten(rtqa, q.question), q.asked_at, q.answers) for q in rtqa_q])
    newest = rtqa.stats.latest
    for half, part in HALVES:
        said = offtopic_messages(part)
        sets[f"gk-{half}-now"] = ask_all(rtqa, [(m, "", ()) for m in said])
        sets[f"gk-{half}-newest"] = ask_all(rtqa, [(m, newest, ()) for m in said])
    wiki = open_engine(bench / "wikiqa" / "articles.jsonl", work)
    sets["wikiqa"] = ask_all(wiki, qs(read_questions(bench / "wikiqa" / "questions.jsonl", split="dev")))
    articles = archive_file(bench, work)
    archive_q = read_questions(bench / "rtqa-archive-dev" / "questions.jsonl", split="dev")
    archive = open_engine(articles, work)
    sets["archive"] = ask_all(archive, qs(archive_q))
    for half, part in HALVES:
        said = offtopic_messages(part)
        sets[f"gk-{half}-archive"] = ask_all(archive, [(m, archive.stats.latest, ()) for m in said])
    records = [json.loads(line) for line in articles.read_text(encoding="utf-8").splitlines()]
    for cutoff in CUTOFFS:
        cut = work / f"archive-before-{cutoff}.jsonl"
        kept = [r for r in records if r["published"][:10] < cutoff]
        if not cut.exists():
            cut.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
        blob = "\n".join(fold(r["title"] + " " + r["text"]) for r in kept)
        late = (date.fromisoformat(cutoff) + timedelta(days=GAP_DAYS)).isoformat()
        after = [q for q in archive_q if q.asked_at >= late and not any(_in_blob(blob, a) for a in q.answers)]
        before = [q for q in archive_q if q.asked_at < cutoff]
        engine = open_engine(cut, work)
        sets[f"after-{cutoff}"] = ask_all(engine, qs(after))
        sets[f"before-{cutoff}"] = ask_all(engine, qs(before))
    return sets


Policy = Callable[[dict[str, Any] | None], bool]


def answers_under(decision: Callable[[Evidence], str]) -> Policy:
    """A policy: whether a row's evidence is answered under `decision` (no evidence: declined)."""

    def answered(ev: dict[str, Any] | None) -> bool:
        return ev is not None and decision(Evidence(**ev)) == ""

    return answered


def rules_before(ev: Evidence) -> str:
    """The rules this model replaced: support 0.2, key words 0.3 under support 0.3, age 60 days."""
    if ev.support < 0.2 or (ev.key_held < 0.3 and ev.support < 0.3):
        return "not covered"
    return "too old" if ev.age_days is not None and ev.age_days > 60 else ""


def model_decision(model: DecideModel, *, max_age_days: float) -> Callable[[Evidence], str]:
    """The shipped decision with `model` (as `retrieval.decide.decide` reads it)."""
    settings = DecideSettings(max_age_days=max_age_days, model=model)
    return lambda ev: decide(ev, settings)


def outcome(sets: dict[str, list[dict[str, Any]]], policy: Policy) -> dict[str, float]:
    """The measures of the report under `policy`."""

    def hit3(rows: list[dict[str, Any]]) -> float:
        return sum(r["rank"] is not None and r["rank"] <= 3 and policy(r["evidence"]) for r in rows) / len(rows)

    def hit1(rows: list[dict[str, Any]]) -> float:
        return sum(r["rank"] == 1 and policy(r["evidence"]) for r in rows) / len(rows)

    def answered(rows: list[dict[str, Any]]) -> float:
        return sum(policy(r["evidence"]) for r in rows) / max(len(rows), 1)

    out: dict[str, float] = {}
    for name in ("realtimeqa", "realtimeqa-short", "archive", "wikiqa"):
        out[f"{name} hit@1"] = hit1(sets[name])
        out[f"{name} hit@3"] = hit3(sets[name])
        out[f"{name} answered"] = answered(sets[name])
    for half in ("tune", "heldout"):
        for when in ("now", "newest", "archive"):
            out[f"gk {half} {when} declined"] = 1 - answered(sets[f"gk-{half}-{when}"])
    for part, cuts in (("even", CUTOFFS[::2]), ("odd", CUTOFFS[1::2]), ("all", CUTOFFS)):
        after = [r for c in cuts for r in sets[f"after-{c}"]]
        before = [r for c in cuts for r in sets[f"before-{c}"]]
        out[f"after {part} declined"] = 1 - answered(after)
        out[f"before {part} answered"] = answered(before)
    return out


def training_rows(
    sets: dict[str, list[dict[str, Any]]], *, with_short: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels (1 = answer) and weights of the rows the model is fitted on."""
    x, y, w = [], [], []

    def add(rows: list[dict[str, Any]], label: int | None, weight: float) -> None:
        for r in rows:
            if r["evidence"] is None:
                continue
            good = label if label is not None else int(r["rank"] is not None and r["rank"] <= 3)
            if label is None and not good:
                continue  # a miss: answering it or not costs no hit, so it teaches nothing here
            x.append(features(Evidence(**r["evidence"])))
            y.append(good)
            w.append(weight)

    add(sets["realtimeqa"], None, 1.0)
    add(sets["archive"], None, 1.0)
    add(sets["wikiqa"], None, 1.0)
    if with_short:
        add(sets["realtimeqa-short"], None, 1.0)
    add(sets["gk-tune-now"], 0, 1.0)
    add(sets["gk-tune-newest"], 0, 3.0)
    for cutoff in CUTOFFS[::2]:
        add(sets[f"after-{cutoff}"], 0, 1.0)
        add(sets[f"before-{cutoff}"], None, 0.5)
    return np.array(x), np.array(y), np.array(w)


def fit(sets: dict[str, list[dict[str, Any]]], *, c: float) -> DecideModel:
    """A logistic regression over the training rows, standardised; threshold 0.5 for now."""
    from sklearn.linear_model import LogisticRegression

    x, y, w = training_rows(sets)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    clf = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, y, sample_weight=w)
    model = DecideModel(
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in clf.coef_[0]),
        intercept=float(clf.intercept_[0]),
    )
    return model


def with_threshold(model: DecideModel, threshold: float) -> DecideModel:
    """`model` answering from `threshold` on."""
    return DecideModel(model.mean, model.scale, model.coef, model.intercept, threshold)


def pick_threshold(
    sets: dict[str, list[dict[str, Any]]], model: DecideModel, *, max_age_days: float, gk_target: float
) -> float:
    """The lowest threshold at which the tuning sets meet the declining targets (most answered)."""
    for t in np.arange(0.05, 0.96, 0.01):
        m = with_threshold(model, float(t))
        o = outcome(sets, answers_under(model_decision(m, max_age_days=max_age_days)))
        if o["gk tune newest declined"] >= gk_target and o["after even declined"] >= 0.7:
            return round(float(t), 2)
    return 0.95


def report(rows: list[tuple[str, dict[str, float]]]) -> None:
    """Print the measures side by side, one column per policy."""
    names = list(rows[0][1])
    print(f"{'measure (dev)':<32}" + "".join(f"{n:>14}" for n, _ in rows))
    for key in names:
        print(f"{key:<32}" + "".join(f"{o[key]:>14.3f}" for _, o in rows))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", type=Path, default=ROOT.parent / "shared" / "bench")
    parser.add_argument("--work", type=Path, default=Path("/tmp/newsbot-trust"))
    parser.add_argument("--recollect", action="store_true", help="ask every question again (else the cache)")
    parser.add_argument("--max-age-days", type=float, default=365.0)
    parser.add_argument("--gk-target", type=float, default=0.93, help="tune half declined, as of the newest article")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    parser.add_argument("--write", action="store_true", help=f"save the model as retrieval/{MODEL_FILE}")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    cache = args.work / "decide-evidence.json"
    if args.recollect or not cache.exists():
        cache.write_text(json.dumps(collect(args.bench, args.work)), encoding="utf-8")
    sets = json.loads(cache.read_text(encoding="utf-8"))
    model = fit(sets, c=args.c)
    threshold = pick_threshold(sets, model, max_age_days=args.max_age_days, gk_target=args.gk_target)
    model = with_threshold(model, threshold)
    print(
        "model:",
        ", ".join(f"{f} {c:+.2f}" for f, c in zip(FEATURES, model.coef, strict=True)),
        f"threshold {threshold}",
    )
    report(
        [
            ("rules before", outcome(sets, answers_under(rules_before))),
            ("model", outcome(sets, answers_under(model_decision(model, max_age_days=args.max_age_days)))),
            ("off", outcome(sets, lambda ev: ev is not None)),
        ]
    )
    if args.write:
        path = ROOT / "retrieval" / MODEL_FILE
        body = {
            "format": MODEL_FORMAT,
            "features": list(FEATURES),
            "mean": list(model.mean),
            "scale": list(model.scale),
            "coef": list(model.coef),
            "intercept": model.intercept,
            "threshold": model.threshold,
        }
        path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
