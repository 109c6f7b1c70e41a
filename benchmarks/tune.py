"""Grid-search the ranking settings on the `dev` split of the public question sets.

    python benchmarks/tune.py --bench ../shared/bench [--grid small|full]

Builds each set's index once per analysis/passage setting, then re-scores the dev questions
for every combination of BM25 and sentence-selection settings, and prints the best ones by
the mean of hit@1 and hit@3 over the sets. Only `dev` questions are ever read.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import tempfile
from pathlib import Path

from bot.evaluate import evaluate, read_questions
from retrieval.engine import Engine
from retrieval.search import Searcher
from retrieval.settings import AnswerSettings, BM25Settings, PassageSettings, Settings

SETS = ("realtimeqa", "wikiqa")


def rescore(engine: Engine, settings: Settings) -> None:
    """Swap the ranking settings of an open engine without re-indexing."""
    state = engine.state
    engine.settings = settings
    engine._state = dataclasses.replace(state, searcher=Searcher(state.segments, state.searcher.live, settings.bm25))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--bench", type=Path, default=Path("../shared/bench"))
    parser.add_argument("--grid", choices=("small", "full"), default="small")
    args = parser.parse_args()
    passages = (
        [PassageSettings(3, 1)]
        if args.grid == "small"
        else [PassageSettings(2, 0), PassageSettings(3, 1), PassageSettings(4, 2), PassageSettings(5, 2)]
    )
    bm25s = [BM25Settings("lucene", 1.2, 0.75), BM25Settings("lucene", 0.9, 0.4), BM25Settings("bm25+", 1.2, 0.75)]
    answers = [
        AnswerSettings(
            min_score=0.0, candidate_passages=c, sentence_k1=k, passage_weight=w, position_prior=p, answer_type_boost=t
        )
        for c, k, w, p, t in itertools.product((30,), (0.5, 1.0), (0.1, 0.3, 0.6), (0.0, 0.1, 0.3), (0.0, 0.15, 0.3))
    ]
    results: dict[tuple, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in SETS:
            questions = read_questions(args.bench / name / "questions.jsonl", split="dev")
            for ps in passages:
                base = Settings(passages=ps)
                engine = Engine.open(
                    args.bench / name / "articles.jsonl", Path(tmp) / f"{name}-{ps.size}-{ps.overlap}", base
                )
                for bm, an in itertools.product(bm25s, answers):
                    rescore(engine, Settings(passages=ps, bm25=bm, answers=an))
                    s = evaluate(engine, questions).groups["all"].summary()
                    results.setdefault((ps, bm, an), []).extend([float(s["hit@1"]), float(s["hit@3"])])
    ranked = sorted(results.items(), key=lambda kv: -sum(kv[1]) / len(kv[1]))
    for key, vals in ranked[:15]:
        ps, bm, an = key
        print(
            f"{sum(vals) / len(vals):.4f} rtqa {vals[0]:.3f}/{vals[1]:.3f} wikiqa {vals[2]:.3f}/{vals[3]:.3f} | "
            f"passages {ps.size}/{ps.overlap} {bm.variant} k1={bm.k1} b={bm.b} | cand={an.candidate_passages} "
            f"sk1={an.sentence_k1} pw={an.passage_weight} pos={an.position_prior} type={an.answer_type_boost}"
        )


if __name__ == "__main__":
    main()
