"""What checksums cost: building, reloading and answering with and without them, in one run.

    python -m benchmarks.bench_integrity --passages 1000000

Writes a seeded news-like corpus (benchmarks/newslike.py), builds newsbot's index once, then
reloads it in fresh processes (the page cache warm for all alike) in four ways and answers the
same questions in each:

- `no checks`: checksum checks switched off (what reloading cost before them);
- `default`: every file checked at open except the text and article blobs, whose blocks are
  checked as answers read them;
- `all at open`: every file checked at open;
- `default + verify()`: the default, then `Engine.verify()` (what the bot runs in the
  background after start).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODES = ("no checks", "default", "all at open", "default + verify()")


def _child(mode: str, corpus: str, index: str, questions: list[str]) -> dict[str, Any]:
    from retrieval import index as index_module
    from retrieval import integrity
    from retrieval.engine import Engine

    if mode in ("no checks", "all at open"):
        index_module.VERIFY_AT_OPEN_BYTES = 1 << 62  # blobs checked whole at open, so no block is checked later
    if mode == "no checks":
        integrity.check_file = lambda path, expected: None  # type: ignore[assignment]
    began = time.perf_counter()
    engine = Engine.open(corpus, index)
    reload_s = time.perf_counter() - began
    verify_s = 0.0
    if mode == "default + verify()":
        began = time.perf_counter()
        assert engine.verify()
        verify_s = time.perf_counter() - began
    passes = []
    for _ in range(2):  # the first pass checks blocks as it reads them; the second reads checked ones
        times = []
        for q in questions:
            began = time.perf_counter()
            engine.answer(q)
            times.append(time.perf_counter() - began)
        passes.append(statistics.median(times) * 1000)
    return {"reload_s": reload_s, "verify_s": verify_s, "answer_p50_ms": passes}


def _sentence_read_costs() -> tuple[float, float, float]:
    """Microseconds to read one sentence-sized slice: block not yet checked, checked, no checks."""
    import timeit

    import numpy as np

    from retrieval import integrity

    data = np.random.default_rng(1).integers(0, 256, 64 << 20, dtype=np.uint8)
    sums = integrity.block_sums(data)
    starts = [b * integrity.BLOCK + 10 for b in range(sums.size)]
    checked = np.zeros(sums.size, bool)

    def first() -> None:
        checked[:] = False
        for lo in starts:
            integrity.read_checked(data, sums, checked, lo, lo + 190, where="bench")

    def again() -> None:
        for lo in starts:
            integrity.read_checked(data, sums, checked, lo, lo + 190, where="bench")

    def plain() -> None:
        for lo in starts:
            bytes(data[lo : lo + 190])

    return tuple(min(timeit.repeat(f, number=1, repeat=5)) / len(starts) * 1e6 for f in (first, again, plain))  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", help="folder for the corpus and index (default: a temporary one, removed)")
    parser.add_argument("--repeat", type=int, default=3, help="reloads per mode, interleaved; medians are shown")
    parser.add_argument("--reuse", action="store_true", help="reuse the corpus and index already in --work")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="newsbot-integrity-"))
    corpus, index, questions_file = work / "corpus.jsonl", work / "index", work / "questions.txt"
    if args.child:
        questions = questions_file.read_text(encoding="utf-8").splitlines()
        print(json.dumps(_child(args.child, str(corpus), str(index), questions)))
        return 0

    from benchmarks import newslike
    from retrieval import integrity
    from retrieval.engine import Engine

    try:
        work.mkdir(parents=True, exist_ok=True)
        if not (args.reuse and index.is_dir()):
            newslike.write_corpus(corpus, passages=args.passages, seed=args.seed)
            asked = newslike.make_questions(corpus, count=args.queries, seed=args.seed)
            lines = "".join(q.question.replace("\n", " ") + "\n" for q in asked)
            questions_file.write_text(lines, encoding="utf-8")
            shutil.rmtree(index, ignore_errors=True)
        began = time.perf_counter()
        engine = Engine.open(corpus, index)
        build_s = time.perf_counter() - began
        files = [p for p in index.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        began = time.perf_counter()
        for path in files:
            integrity.file_digest(path)
        for segment in engine.state.segments:
            integrity.block_sums(segment.text_blob)
            integrity.block_sums(segment.articles.records.blob)
        hash_s = time.perf_counter() - began
        stats = engine.stats
        print(f"{stats.articles:,} articles, {stats.passages:,} passages, index {size / 2**20:.0f} MiB")
        what = "build" if not args.reuse else "open (reused)"
        print(f"{what} {build_s:.1f} s; hashing every file and summing the blob blocks takes {hash_s:.2f} s")
        del engine
        runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
        for _ in range(args.repeat):
            for mode in MODES:
                out = subprocess.run(
                    [sys.executable, "-m", "benchmarks.bench_integrity", "--work", str(work), "--child", mode],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs[mode].append(json.loads(out.stdout))
        first, again, plain = _sentence_read_costs()
        print(
            f"one sentence read: {first:.1f} us when its 64 KiB block is checked first, "
            f"{again:.2f} us once checked, {plain:.2f} us without checks"
        )
        print(f"medians of {args.repeat} interleaved runs, page cache warm")
        print(f"{'mode':<20}{'reload':>10}{'verify()':>10}{'answer p50 1st pass':>21}{'2nd pass':>10}")
        for mode, rs in runs.items():
            reload_s = statistics.median(r["reload_s"] for r in rs)
            verify_s = statistics.median(r["verify_s"] for r in rs)
            first = statistics.median(r["answer_p50_ms"][0] for r in rs)
            second = statistics.median(r["answer_p50_ms"][1] for r in rs)
            verify = f"{verify_s:.2f} s" if verify_s else "-"
            print(f"{mode:<20}{reload_s:>8.2f} s{verify:>10}{first:>18.2f} ms{second:>7.2f} ms")
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
