"""What an index build's analysis costs, tokens found by compiled code or by the analyser's regex.

    python -m benchmarks.bench_analyse --passages 100000

Writes a seeded news-like corpus (benchmarks/newslike.py), loads it once, then builds one
in-memory segment from it in this process (no worker processes), alternating the two ways of
finding and numbering tokens (`retrieval.index.COMPILED_TOKENS`): `compiled` (the scan of
`retrieval.tokens`) and `regex` (`Analyzer.tokens` and a dict, the reference). Prints the CPU
seconds of each build (`time.process_time`; the median of `--repeat` runs of each) and
checks that both build the same segment, array by array.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.newslike import write_corpus
from retrieval import index as index_module
from retrieval.analyze import Analyzer
from retrieval.index import Segment, build_segment
from retrieval.load import load_corpus
from retrieval.settings import PassageSettings

MODES = {"regex": False, "compiled": True}


def _build(articles: list, compiled: bool) -> tuple[float, Segment]:
    index_module.COMPILED_TOKENS = compiled
    began = time.process_time()
    segment = build_segment(articles, Analyzer(), PassageSettings(), train=False)
    return time.process_time() - began, segment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None, help="where to write the corpus (a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        corpus = Path(tmp) / "corpus" / "news.jsonl"
        write_corpus(corpus, passages=args.passages)
        articles = list(load_corpus(corpus.parent).articles)
    index_module.PARALLEL_MIN_ARTICLES = 1 << 62
    _build(articles[:50], True)  # numba's compiler set up and the scan loaded, outside the timings
    seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
    built: dict[str, Segment] = {}
    for _ in range(args.repeat):
        for mode, compiled in MODES.items():
            took, built[mode] = _build(articles, compiled)
            seconds[mode].append(took)
    same = all(np.array_equal(getattr(built["regex"], n), getattr(built["compiled"], n)) for n in index_module._ARRAYS)
    n_passages = built["compiled"].n_passages
    print(f"{len(articles):,} articles, {n_passages:,} passages; build CPU s, median of {args.repeat}, in-process:")
    for mode, runs in seconds.items():
        print(f"  {mode:<9} {statistics.median(runs):6.2f} s   runs: {', '.join(f'{s:.2f}' for s in runs)}")
    print(f"same segment, array by array: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
