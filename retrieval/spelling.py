"""Between analyze and search, on the question side: a word the index has never seen.

A question term found in no passage is most often a typo or another spelling of a name
("Zelenksy", "Zelenskyy", "negociations"). `Speller` matches it to the nearest term of the
index by edit distance (rapidfuzz's optimal string alignment, where swapping two letters is one
edit), preferring the most frequent of the equally near ones. Words under four letters are
left alone: one edit of them makes another word.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from retrieval.index import Segment

MIN_LENGTH = 4


def max_edits(term: str) -> int:
    """How many edits a term of this length may be from its match: 1 up to 7 letters, then 2."""
    return 1 if len(term) <= 7 else 2


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class Speller:
    """The index's terms (every segment's, with document frequencies) to match misspellings to."""

    def __init__(self, segments: Sequence[Segment], *, min_df: int = 1) -> None:
        counts: dict[str, int] = {}
        for seg in segments:
            dfs = np.diff(np.asarray(seg.post_offsets)).tolist()
            for word, df in zip(np.asarray(seg.vocab).tolist(), dfs, strict=True):
                term = word.decode("utf-8")
                counts[term] = counts.get(term, 0) + int(df)
        kept = sorted((t for t, df in counts.items() if df >= min_df and len(t) >= MIN_LENGTH - 1 and t.isalpha()))
        self.terms = kept
        self.df = [counts[t] for t in kept]

    def correct(self, term: str) -> str | None:
        """Return the index term nearest to `term`, or None when none is near enough."""
        if len(term) < MIN_LENGTH or not term.isalpha():
            return None
        limit = max_edits(term)
        found = process.extract(
            term, self.terms, scorer=OSA.distance, score_cutoff=limit, limit=20, processor=None
        )
        if not found:
            return None
        # Among equally near terms, the one spelt like it from the start ("volodimir": "volodymyr",
        # not "vladimir"), then the most frequent.
        best = min(found, key=lambda f: (f[1], -_common_prefix(term, str(f[0])), -self.df[f[2]], f[0]))
        return str(best[0])
