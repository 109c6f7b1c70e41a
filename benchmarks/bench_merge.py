"""What merging a build's batches costs, in one run, beside the obvious alternatives.

    python -m benchmarks.bench_merge CORPUS --batches 9

Indexes CORPUS (a folder or file of articles) as `--batches` saved segments of about as many
articles each, as a build in batches leaves them, then, `--repeat` times, interleaved:

- `merge`: `merge_segments` as builds run it (the sentence text and article metadata
  re-compressed on a thread beside the postings merge);
- `merge, records in line`: the same with that thread's work done first, in the calling thread;
- `postings read per run` / `per term`: every term's postings of every batch read the way the
  merge reads them (one compiled call per segment for a run of about `RUN_POSTINGS` postings)
  and the way a term-by-term merge would (`Segment.term_postings` once per term).

Wall time is what a build waits; CPU time (`time.process_time`, every thread of the process)
is less distorted by other work on the machine.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

from retrieval import merge
from retrieval.analyze import Analyzer
from retrieval.index import Segment, build_segment, load_segment, save_segment
from retrieval.load import load_corpus
from retrieval.settings import PassageSettings


class _InLine:
    """An executor that runs what it is given at once, in the calling thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        done: Future[Any] = Future()
        done.set_result(fn(*args))
        return done

    def shutdown(self, *args: Any, **kwargs: Any) -> None:
        pass


def _batches(corpus: str, count: int, folder: Path) -> list[Segment]:
    articles = list(load_corpus(corpus).articles)
    cuts = np.linspace(0, len(articles), count + 1).astype(int)
    segments = []
    for i, (lo, hi) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        save_segment(build_segment(articles[lo:hi], Analyzer(), PassageSettings()), folder / f"batch-{i}")
        segments.append(load_segment(folder / f"batch-{i}"))
    return segments


def _timed(work: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def _merged(segments: list[Segment], target: Path, *, in_line: bool) -> None:
    pool = merge.ThreadPoolExecutor
    if in_line:
        merge.ThreadPoolExecutor = _InLine  # type: ignore[misc,assignment]
    try:
        merge.merge_segments(segments, target)
    finally:
        merge.ThreadPoolExecutor = pool  # type: ignore[misc]
    shutil.rmtree(target)


def _read_per_run(segments: list[Segment]) -> None:
    for segment in segments:
        offsets = np.asarray(segment.post_offsets, dtype=np.int64)
        lo = 0
        while lo < segment.vocab.size:
            hi = max(int(np.searchsorted(offsets, offsets[lo] + merge.RUN_POSTINGS)), lo + 1)
            hi = min(hi, int(segment.vocab.size))
            segment.terms_postings(lo, hi)
            lo = hi


def _read_per_term(segments: list[Segment]) -> None:
    for segment in segments:
        read = segment.term_postings
        for term in range(int(segment.vocab.size)):
            read(term)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus")
    parser.add_argument("--batches", type=int, default=9)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-merge-") as tmp:
        folder = Path(tmp)
        segments = _batches(args.corpus, args.batches, folder)
        passages = sum(s.n_passages for s in segments)
        postings = sum(int(s.post_offsets[-1]) for s in segments)
        print(f"{len(segments)} batches, {passages:,} passages, {postings:,} postings")
        runs: dict[str, Callable[[], object]] = {
            "merge": lambda: _merged(segments, folder / "merged", in_line=False),
            "merge, records in line": lambda: _merged(segments, folder / "merged", in_line=True),
            "postings read per run": lambda: _read_per_run(segments),
            "postings read per term": lambda: _read_per_term(segments),
        }
        runs["merge"]()  # numba's cache loaded, the batches' pages in the page cache
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
        for _ in range(args.repeat):
            for name, work in runs.items():
                times[name].append(_timed(work))
        print(f"{'':<26}{'wall s (best)':>14}{'CPU s (best)':>14}")
        for name, measured in times.items():
            print(f"{name:<26}{min(w for w, _ in measured):>14.2f}{min(c for _, c in measured):>14.2f}")


if __name__ == "__main__":
    main()
