"""Seeded damage to a built index, and what the answers do: never a crash, never a wrong answer.

    python -m benchmarks.damage_trials --trials 250 [--lazy]

Builds the index of a seeded news-like corpus once, then for each trial copies it, damages one
of its files at random (a flipped bit, a truncation, or up to 64 bytes replaced), opens it and
asks the same questions. Each answer must equal the undamaged index's answer, or be an error
without sentences; after a refresh (which indexes a damaged segment again) every answer must
equal it. `--lazy` makes even a small index check its blobs block by block as they are read,
as a big one does.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks import newslike
from retrieval import index as index_module
from retrieval.engine import Engine


def damage(path: Path, rng: random.Random) -> str:
    """Damage one file in one of three ways; return which."""
    data = bytearray(path.read_bytes())
    kind = rng.choice(["flip", "truncate", "replace"])
    if kind == "truncate":
        data = data[: rng.randrange(len(data) + 1)]
    elif data:
        at = rng.randrange(len(data))
        if kind == "flip":
            data[at] ^= 1 << rng.randrange(8)
        else:
            end = min(len(data), at + rng.randint(1, 64))
            data[at:end] = bytes(rng.randrange(256) for _ in range(end - at))
    path.write_bytes(bytes(data))
    return kind


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=250)
    parser.add_argument("--passages", type=int, default=3000)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--lazy", action="store_true", help="check the blobs block by block, as a big index does")
    args = parser.parse_args(argv)
    if args.lazy:
        index_module.VERIFY_AT_OPEN_BYTES = 0
    work = Path(tempfile.mkdtemp(prefix="newsbot-damage-"))
    try:
        corpus = work / "corpus" / "corpus.jsonl"
        newslike.write_corpus(corpus, passages=args.passages, seed=args.seed)
        questions = [q.question for q in newslike.make_questions(corpus, count=args.questions, seed=args.seed)]
        pristine = work / "pristine"
        expected = [Engine.open(corpus.parent, pristine).answer(q) for q in questions]
        rng = random.Random(args.seed)
        tally = {"crashes": 0, "wrong": 0, "errors": 0, "right": 0}
        for _ in range(args.trials):
            index = work / "index"
            shutil.rmtree(index, ignore_errors=True)
            shutil.copytree(pristine, index)
            path = rng.choice(sorted(p for p in index.rglob("*") if p.is_file() and p.name != ".lock"))
            kind = damage(path, rng)
            try:
                engine = Engine.open(corpus.parent, index)
                for question, answer in zip(questions, expected, strict=True):
                    got = engine.answer(question)
                    outcome = "right" if got == answer else "errors" if got.error and not got.sentences else "wrong"
                    tally[outcome] += 1
                    if outcome == "wrong":
                        print(f"wrong answer: {kind} {path.name}: {question}", file=sys.stderr)
                engine.refresh()
                if [engine.answer(q) for q in questions] != expected:
                    tally["wrong"] += 1
                    print(f"wrong after repair: {kind} {path.name}", file=sys.stderr)
            except Exception as error:  # counted, not raised: the trial is what is measured
                tally["crashes"] += 1
                print(f"crash: {kind} {path.name}: {error.__class__.__name__}: {error}", file=sys.stderr)
        print(json.dumps({"trials": args.trials, "lazy": args.lazy, "answers": args.trials * len(questions), **tally}))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
