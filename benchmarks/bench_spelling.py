"""Respelling an unknown question word: comparing every index term beside the deletion index.

    python -m benchmarks.bench_spelling [--terms 268352] [--words 1000] [--reference 100]

The vocabulary is the news-like corpus generator's (benchmarks/newslike.py, seed 7, sized for
1,000,000 passages): its words in rank order, analysed as the index analyses them, the first
`--terms` distinct terms kept (a 1,000,000-passage news-like index holds 268,352), document
frequencies falling with rank. The words to respell are seeded one- and two-edit typos of its
terms (deletions, insertions, substitutions, swaps), as `retrieval/spelling.py` meets them
after a question's unknown words are found. Prints the deletion index's build time and memory,
microseconds per correction for both methods in the same run, and whether they agree.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc

from benchmarks.newslike import _Vocabulary
from retrieval.analyze import Analyzer
from retrieval.spelling import MIN_LENGTH, Speller, correct_by_scan

PASSAGE_TOKENS = 44_000_000  # about what 1,000,000 news-like passages hold


def vocabulary(count: int, seed: int = 7) -> dict[str, int]:
    """The first `count` distinct index terms of the news-like vocabulary, with made-up dfs."""
    analyzer = Analyzer()
    counts: dict[str, int] = {}
    for word in _Vocabulary(seed, PASSAGE_TOKENS).lexicon.tolist():
        for term in analyzer.terms(word):
            if term not in counts:
                counts[term] = max(1, 1_000_000 // (len(counts) + 1))
        if len(counts) >= count:
            break
    return counts


def typos(terms: list[str], count: int, seed: int) -> list[str]:
    """Seeded one- and two-edit misspellings of random terms of at least four letters."""
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    pool = [t for t in terms if len(t) >= MIN_LENGTH and t.isalpha()]
    out = []
    for _ in range(count):
        word = rng.choice(pool)
        for _ in range(rng.choice([1, 2])):
            at = rng.randrange(len(word))
            kind = rng.randrange(4)
            if kind == 0 and len(word) > MIN_LENGTH:
                word = word[:at] + word[at + 1 :]
            elif kind == 1:
                word = word[:at] + rng.choice(alphabet) + word[at + 1 :]
            elif kind == 2 and at < len(word) - 1:
                word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
            else:
                word = word[:at] + rng.choice(alphabet) + word[at:]
        out.append(word)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=int, default=268_352)
    parser.add_argument("--words", type=int, default=1000, help="misspellings timed with the index")
    parser.add_argument("--reference", type=int, default=100, help="of them, timed comparing every term")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)

    counts = vocabulary(args.terms)
    speller = Speller(counts)
    words = typos(speller.terms, args.words, args.seed)
    print(f"vocabulary: {len(speller.terms):,} alphabetic terms of {len(counts):,}; {len(words)} misspellings")

    tracemalloc.start()
    start = time.perf_counter()
    speller.build()
    built = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    keys, ids = speller._keys, speller._ids
    assert keys is not None
    size = keys.nbytes + ids.nbytes
    print(
        f"deletion index: built in {built:.2f} s, {len(keys):,} hashes, {size / 2**20:.0f} MiB kept, "
        f"{peak / 2**20:.0f} MiB at the peak of building"
    )

    start = time.perf_counter()
    fast = [speller.correct(w) for w in words]
    fast_us = (time.perf_counter() - start) / len(words) * 1e6

    sample = words[: args.reference]
    start = time.perf_counter()
    slow = [correct_by_scan(speller, w) for w in sample]
    slow_us = (time.perf_counter() - start) / len(sample) * 1e6

    agree = sum(a == b for a, b in zip(fast, slow, strict=False))
    print(f"compare every term:  {slow_us:10,.0f} µs a word ({len(sample)} words)")
    print(f"deletion index:      {fast_us:10,.0f} µs a word ({len(words)} words)")
    print(f"same result on {agree} of {len(sample)}; corrected {sum(f is not None for f in fast)} of {len(words)}")
    return 0 if agree == len(sample) else 1


if __name__ == "__main__":
    sys.exit(main())
