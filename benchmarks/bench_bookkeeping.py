"""What a build's per-article bookkeeping costs in memory: compact, or as tuples and dicts.

    python -m benchmarks.bench_bookkeeping --articles 200000

While a build runs, what grows with the corpus (and not with a batch) is what it keeps of each
article it placed: the manifest's reference (segment, place, content key) and the id, for the
duplicate check. This makes that bookkeeping for `--articles` synthetic articles (ids like
`nl1-0000123`, 32-hex-digit content keys, 20,000 articles a segment, 100 files) in each form,
under `tracemalloc`, and prints the bytes each holds per article: `compact`
(`retrieval.store.ArticleRefs` and `retrieval.seen.SeenIds`, what a build uses) beside
`tuples` (a list of tuples per file, a dict of ids and a list of ids per segment), and the CPU
seconds each takes to make (made again without `tracemalloc`; the made-up ids and keys included).
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable

import xxhash

from retrieval.seen import SeenIds
from retrieval.store import ArticleRefs

PER_SEGMENT = 20_000
FILES = 100


def _article(i: int) -> tuple[str, str, str, int]:
    """A made-up article's id, content key, segment and place (new strings every time, as a build reads them)."""
    article_id = f"nl1-{i:07d}"
    return article_id, xxhash.xxh3_128_hexdigest(article_id.encode()), f"seg-{i // PER_SEGMENT:012x}", i % PER_SEGMENT


def _tuples(count: int) -> object:
    files: dict[str, list[tuple[str, int, str]]] = {f"f{n:03d}.jsonl": [] for n in range(FILES)}
    names = list(files)
    seen: dict[str, str] = {}
    ids: dict[str, list[str]] = {}
    segments: dict[str, str] = {}
    for i in range(count):
        article_id, key, seg, place = _article(i)
        seg = segments.setdefault(seg, seg)  # one string a segment, as a batch names it
        name = names[i * FILES // count]
        files[name].append((seg, place, key))
        if seen.get(article_id) is None:
            seen[article_id] = name
        ids.setdefault(seg, []).append(article_id)
    return files, seen, ids


def _compact(count: int) -> object:
    files = {f"f{n:03d}.jsonl": ArticleRefs() for n in range(FILES)}
    names = list(files)
    seen = SeenIds()
    for i in range(count):
        article_id, key, seg, place = _article(i)
        name = names[i * FILES // count]
        files[name].append((seg, place, key))
        if seen.get(article_id) is None:
            seen[article_id] = name
    return files, seen


def _measure(make: Callable[[int], object], count: int) -> int:
    gc.collect()
    tracemalloc.start()
    held = make(count)
    gc.collect()
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del held
    return size


def _cpu(make: Callable[[int], object], count: int) -> float:
    gc.collect()
    began = time.process_time()
    held = make(count)
    spent = time.process_time() - began
    del held
    return spent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=200_000)
    args = parser.parse_args(argv)
    for label, make in (("tuples", _tuples), ("compact", _compact)):
        size = _measure(make, args.articles)
        cpu = _cpu(make, args.articles)
        per = f"{size / args.articles:6.1f} bytes an article"
        print(f"{label:<8} {size / 2**20:8.1f} MiB  {per}  {cpu:6.2f} s CPU to make (without tracemalloc)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
