"""Between analyze and search, on the question side: a word the index has never seen.

A question term found in no passage is most often a typo or another spelling of a name
("Zelenksy", "Zelenskyy", "negociations"). `Speller` matches it to the nearest term of the
index by edit distance (rapidfuzz's optimal string alignment, where swapping two letters is one
edit), preferring the most frequent of the equally near ones. Words under four letters are
left alone: one edit of them makes another word.

Comparing a word with every term costs tens of milliseconds at a few hundred thousand terms, so
candidates come from deletions (the symmetric-delete idea of SymSpell): each of the four kinds of
edit costs at most one deleted letter on each side, so a term within d edits of the word shares
with it some string left after at most d deletions from each. The index keeps a 32-bit hash of
every such string of every term, sorted (a collision only adds a candidate); the word's own
deletions are looked up there, and only the terms found are measured exactly. Terms longer than
`LONG` letters, whose deletions are many and which are few, are measured one by one instead.

Building that index takes about a second at a million passages, so `SpellerBuilds` builds the
speller of each new index state in a thread of its own, as soon as the state is opened or
refreshed, and answers either wait for it (the same answer whenever asked) or use the
speller of the previous state meanwhile, or none yet (an answer never stalls for it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import OSA

from retrieval.index import Segment

log = logging.getLogger(__name__)

MIN_LENGTH = 4
LONG = 16  # terms longer than this are compared one by one, not through their deletions
SHORTLIST = 20  # how many of the nearest terms (in index order among ties) the tie-break sees

_BASE = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1


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


_WEIGHTS: dict[tuple[int, int], npt.NDArray[np.uint64]] = {}


def _weights(length: int, depth: int) -> npt.NDArray[np.uint64]:
    """A (length x patterns) matrix: codes @ it hashes the word with each set of <= depth letters deleted."""
    key = (length, depth)
    found = _WEIGHTS.get(key)
    if found is not None:
        return found
    patterns = [d for k in range(min(depth, length) + 1) for d in combinations(range(length), k)]
    w = np.zeros((length, len(patterns)), dtype=np.uint64)
    for col, deleted in enumerate(patterns):
        kept = [p for p in range(length) if p not in deleted]
        power = 1
        for p in reversed(kept):
            w[p, col] = power
            power = (power * _BASE) & _MASK
    _WEIGHTS[key] = w
    return w


def _codes(words: Sequence[str], length: int) -> npt.NDArray[np.uint64]:
    """The code points of words of one length, a row each."""
    flat = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32)
    return flat.reshape(len(words), length).astype(np.uint64)


def _hashes(words: Sequence[str], length: int, depth: int) -> npt.NDArray[np.uint32]:
    """A 32-bit hash of each word (a row each) with each set of at most `depth` letters deleted."""
    return (_codes(words, length) @ _weights(length, depth)).astype(np.uint32)  # the low 32 bits


def _depth(length: int) -> int:
    """How many deletions of a term of this length the index keeps: as many as a word may need."""
    # A word of up to 7 letters may be 1 edit away, so from terms of up to 8; longer words
    # 2 edits, from terms of 6 letters or more.
    return 2 if length >= 6 else 1


class Speller:
    """The index's terms (with document frequencies) to match misspellings to."""

    def __init__(self, counts: Mapping[str, int], *, min_df: int = 1) -> None:
        kept = sorted(t for t, df in counts.items() if df >= min_df and len(t) >= MIN_LENGTH - 1 and t.isalpha())
        self.terms = kept
        self.df = [counts[t] for t in kept]
        self._keys: npt.NDArray[np.uint32] | None = None
        self._ids: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._long: list[str] = []
        self._long_ids: list[int] = []

    @classmethod
    def of_segments(cls, segments: Sequence[Segment], *, min_df: int = 1) -> Speller:
        """Every segment's terms, their document frequencies summed over segments."""
        if not segments:
            return cls({}, min_df=min_df)
        width = max(np.asarray(seg.vocab).dtype.itemsize for seg in segments)
        words = np.concatenate([np.asarray(seg.vocab).astype(f"S{width}") for seg in segments])
        dfs = np.concatenate([np.diff(np.asarray(seg.post_offsets, dtype=np.int64)) for seg in segments])
        # One sort of every segment's words; the frequencies of a word in several segments summed.
        unique, inverse = np.unique(words, return_inverse=True)
        summed = np.zeros(unique.size, dtype=np.int64)
        np.add.at(summed, inverse.ravel(), dfs)
        terms = [w.decode("utf-8") for w in unique.tolist()]
        return cls(dict(zip(terms, summed.tolist(), strict=True)), min_df=min_df)

    def build(self) -> None:
        """Hash every term's deletions (done on the first correction; again is a no-op)."""
        if self._keys is not None:
            return
        by_length: dict[int, list[int]] = {}
        for i, t in enumerate(self.terms):
            by_length.setdefault(len(t), []).append(i)
        short = {n: members for n, members in by_length.items() if n <= LONG}
        self._long_ids = [i for n, members in sorted(by_length.items()) if n > LONG for i in members]
        self._long = [self.terms[i] for i in self._long_ids]
        # Hash and term id packed in one number, so that a single in-place sort orders both.
        total = sum(len(m) * _weights(n, _depth(n)).shape[1] for n, m in short.items())
        packed = np.empty(total, dtype=np.uint64)
        at = 0
        for length, members in sorted(short.items()):
            hashes = _hashes([self.terms[i] for i in members], length, _depth(length)).astype(np.uint64)
            hashes <<= np.uint64(32)
            hashes |= np.asarray(members, dtype=np.uint64)[:, None]
            packed[at : at + hashes.size] = hashes.ravel()
            at += hashes.size
            del hashes
        packed.sort()
        self._ids = packed.astype(np.uint32).view(np.int32)  # the low 32 bits
        packed >>= np.uint64(32)
        self._keys = packed.astype(np.uint32)

    def _near(self, term: str, limit: int) -> list[tuple[int, int]]:
        """(distance, term id) of every index term within `limit` edits of `term`."""
        self.build()
        assert self._keys is not None
        near: list[tuple[int, int]] = []
        if len(term) - limit <= LONG:
            hashes = _hashes([term], len(term), limit).ravel()
            lo = np.searchsorted(self._keys, hashes, side="left")
            hi = np.searchsorted(self._keys, hashes, side="right")
            seen: set[int] = set()
            for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
                if a < b:
                    seen.update(self._ids[a:b].tolist())
            for i in seen:
                d = OSA.distance(term, self.terms[i], score_cutoff=limit)
                if d <= limit:
                    near.append((d, i))
        if len(term) + limit > LONG and self._long:
            for _, d, j in process.extract(
                term, self._long, scorer=OSA.distance, score_cutoff=limit, limit=None, processor=None
            ):
                near.append((int(d), self._long_ids[j]))
        return near

    def correct(self, term: str) -> str | None:
        """Return the index term nearest to `term`, or None when none is near enough."""
        if len(term) < MIN_LENGTH or not term.isalpha():
            return None
        # The nearest few, ties in index (alphabetical) order, as a search of all terms returns them.
        found = sorted(self._near(term, max_edits(term)))[:SHORTLIST]
        if not found:
            return None
        # Among equally near terms, the one spelt like it from the start ("volodimir": "volodymyr",
        # not "vladimir"), then the most frequent.
        terms, df = self.terms, self.df
        best = min(found, key=lambda f: (f[0], -_common_prefix(term, terms[f[1]]), -df[f[1]], terms[f[1]]))
        return terms[best[1]]


def correct_by_scan(speller: Speller, term: str) -> str | None:
    """What `Speller.correct` returns, found by comparing `term` with every index term.

    The plain method, about a thousand times slower at news-archive size: the reference the
    deletion index is tested and benchmarked against.
    """
    if len(term) < MIN_LENGTH or not term.isalpha():
        return None
    found = process.extract(
        term, speller.terms, scorer=OSA.distance, score_cutoff=max_edits(term), limit=SHORTLIST, processor=None
    )
    if not found:
        return None
    best = min(found, key=lambda f: (f[1], -_common_prefix(term, str(f[0])), -speller.df[f[2]], f[0]))
    return str(best[0])


class SpellerBuilds:
    """The speller of the newest index state, built off the answering thread.

    `start(state, segments)` asks for the speller of a state (a new one is built in a
    background thread; the newest asked for is built next). `get(state)` returns it; until it
    is built, with `wait` it blocks until it is, otherwise it returns the speller of an
    earlier state, or None when there is none yet. States are compared by identity.
    """

    def __init__(self, *, wait: bool = True) -> None:
        self.wait = wait
        self._ready: tuple[object, Speller] | None = None
        self._wanted: tuple[object, Sequence[Segment]] | None = None
        self._working = False
        self._changed = threading.Condition()

    def start(self, state: object, segments: Sequence[Segment]) -> None:
        """Build the speller of `state` in the background, unless it is built or being built."""
        with self._changed:
            if (self._ready is not None and self._ready[0] is state) or (
                self._wanted is not None and self._wanted[0] is state
            ):
                return
            self._wanted = (state, segments)
            if not self._working:
                self._working = True
                threading.Thread(target=self._work, name="newsbot-speller", daemon=True).start()

    def get(self, state: object) -> Speller | None:
        """The speller of `state`, waiting for it with `wait`; else the latest built, or None."""
        with self._changed:
            if self.wait:
                self._changed.wait_for(lambda: self._ready_for(state) or not self._building(state))
            return self._ready[1] if self._ready is not None else None

    def ready(self, state: object, *, wait: bool = False) -> bool:
        """Whether the speller of `state` is built; with `wait`, once its build has ended."""
        with self._changed:
            if wait:
                self._changed.wait_for(lambda: self._ready_for(state) or not self._building(state))
            return self._ready_for(state)

    def _ready_for(self, state: object) -> bool:
        return self._ready is not None and self._ready[0] is state

    def _building(self, state: object) -> bool:
        return self._wanted is not None and self._wanted[0] is state

    def _work(self) -> None:
        while True:
            with self._changed:
                wanted = self._wanted
                if wanted is None:
                    self._working = False
                    return
            speller: Speller | None = None
            try:
                speller = Speller.of_segments(wanted[1])
                speller.build()
            except Exception:  # a vocabulary that cannot be read: answers go without respelling
                log.exception("cannot build the speller of the index")
            with self._changed:
                if speller is not None:
                    self._ready = (wanted[0], speller)
                if self._wanted is wanted:
                    self._wanted = None
                self._changed.notify_all()
