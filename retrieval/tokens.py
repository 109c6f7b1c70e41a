"""Inside stage 3 (analyze), for stage 4 (index): raw tokens found and numbered by compiled code.

    load → split → **analyze** (tokens found here at index time) → **index** → search → …

An index build tokenises its whole corpus; `Analyzer.tokens`, one regex scan that builds a
Python string per token, followed by a dict lookup per token, was about two fifths of a
build's CPU (profiled at 100,000 passages). Here a chunk's text is encoded to UTF-8 once
and scanned by a numba-compiled loop that finds exactly the tokens the analyser's regex
(`retrieval.analyze._TOKEN`) finds, and numbers each *raw* token (its exact bytes) through an
open-addressing hash table kept for the whole build: the result is an array of raw-token ids,
and the caller analyses only the tokens it has never seen (`Vocabulary.tokens` gives them
back as strings).

The character classes are those of Python's `re` for str patterns (`\\w`, `\\d`): they are read
from `re` itself over every code point when first needed, so no Unicode table is kept here.
The analyser's regex stays the reference (questions are analysed with it); the tests compare
the two on mixed-script text.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["Vocabulary", "byte_offsets", "classes", "loaded", "warm"]

Bytes = npt.NDArray[np.uint8]
Int32s = npt.NDArray[np.int32]
Int64s = npt.NDArray[np.int64]
Hashes = npt.NDArray[np.uint64]

# Bits of a code point's class: `[^\W_]` (a letter or digit), `[^\W\d_]` (a letter), `\d`.
ALNUM = 1
LETTER = 2
DIGIT = 4

_DOT, _COMMA, _QUOTE, _SPACE = 0x2E, 0x2C, 0x27, 0x20
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@functools.cache
def classes() -> Bytes:
    """Each code point's class bits, as Python's `re` matches str patterns (built once a process)."""
    every = np.arange(0x110000, dtype=np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    kinds = np.zeros(0x110000, dtype=np.uint8)
    for pattern, bit in ((r"[^\W_]+", ALNUM), (r"[^\W\d_]+", LETTER), (r"\d+", DIGIT)):
        for run in re.finditer(pattern, every):
            kinds[run.start() : run.end()] |= bit
    kinds.flags.writeable = False
    return kinds


@njit(cache=True, nogil=True, inline="always")
def _char(data: Bytes, i: int) -> tuple[int, int]:
    """The code point starting at byte `i` of UTF-8 `data`, and the byte after it."""
    b = int(data[i])
    if b < 0x80:
        return b, i + 1
    if b < 0xE0:
        return ((b & 0x1F) << 6) | (int(data[i + 1]) & 0x3F), i + 2
    if b < 0xF0:
        return ((b & 0x0F) << 12) | ((int(data[i + 1]) & 0x3F) << 6) | (int(data[i + 2]) & 0x3F), i + 3
    return (
        ((b & 0x07) << 18)
        | ((int(data[i + 1]) & 0x3F) << 12)
        | ((int(data[i + 2]) & 0x3F) << 6)
        | (int(data[i + 3]) & 0x3F)
    ), i + 4


@njit(cache=True, nogil=True, inline="always")
def _skip(data: Bytes, i: int, kinds: Bytes, bit: int) -> int:
    """The first byte at or after `i` that does not start a character of class `bit`."""
    n = data.size
    while i < n:
        b = data[i]
        if b < 0x80:  # ASCII tested apart: the loop runs several times faster
            if kinds[b] & bit:
                i += 1
                continue
            return i
        cp, j = _char(data, i)
        if not kinds[cp] & bit:
            return i
        i = j
    return i


@njit(cache=True, nogil=True, inline="always")
def _starts(data: Bytes, i: int, kinds: Bytes, bit: int) -> bool:
    """Whether a character of class `bit` starts at byte `i`."""
    if i >= data.size:
        return False
    cp, _ = _char(data, i)
    return bool(kinds[cp] & bit)


@njit(cache=True, nogil=True, inline="always")
def _token_end(data: Bytes, i: int, kinds: Bytes) -> int:
    """Where the token starting at byte `i` (a letter or digit) ends, as `_TOKEN` matches it.

    The regex's alternatives, in its order: an acronym `(?:[^\\W\\d_]\\.){2,}`, a number
    `\\d+(?:[.,]\\d+)+`, a word `[^\\W_]+(?:['’][^\\W_]+)*`. Each is greedy, and whatever
    follows it may match, so its longest match is the one the regex takes.
    """
    n = data.size
    if data[i] < 0x80:
        kind, j = kinds[data[i]], i + 1
    else:
        cp, j = _char(data, i)
        kind = kinds[cp]
    if kind & LETTER and j < n and data[j] == _DOT:  # else not even one pair: most words
        p, pairs = i, 0
        while p < n:
            cp, q = _char(data, p)
            if not kinds[cp] & LETTER or q >= n or data[q] != _DOT:
                break
            pairs += 1
            p = q + 1
        if pairs >= 2:
            return p
    elif kind & DIGIT:
        p = _skip(data, j, kinds, DIGIT)
        groups = 0
        while p < n and (data[p] == _DOT or data[p] == _COMMA) and _starts(data, p + 1, kinds, DIGIT):
            p = _skip(data, p + 1, kinds, DIGIT)
            groups += 1
        if groups:
            return p
    p = _skip(data, j, kinds, ALNUM)
    while p < n:
        if data[p] == _QUOTE:
            q = p + 1
        elif p + 2 < n and data[p] == 0xE2 and data[p + 1] == 0x80 and data[p + 2] == 0x99:  # ’
            q = p + 3
        else:
            break
        if not _starts(data, q, kinds, ALNUM):
            break
        p = _skip(data, q, kinds, ALNUM)
    return p


@njit(cache=True, nogil=True)
def byte_offsets(data: Bytes, chars: Int64s) -> Int64s:
    """The byte offsets in UTF-8 `data` of the ascending character offsets `chars`."""
    out = np.empty(chars.size, dtype=np.int64)
    k, char = 0, 0
    for i in range(data.size):
        if data[i] & 0xC0 != 0x80:  # not a continuation byte: a character starts here
            while k < chars.size and chars[k] == char:
                out[k] = i
                k += 1
            char += 1
    while k < chars.size:
        out[k] = data.size
        k += 1
    return out


@njit(cache=True, nogil=True, inline="always")
def _hash(data: Bytes, start: int, end: int) -> np.uint64:
    """FNV-1a over `data[start:end]`."""
    h = _FNV_OFFSET
    for i in range(start, end):
        h = (h ^ np.uint64(data[i])) * _FNV_PRIME
    return h


@njit(cache=True, nogil=True, inline="always")
def _same(data: Bytes, start: int, end: int, store: Bytes, at: int, stop: int) -> bool:
    if end - start != stop - at:
        return False
    k = 0
    while k < end - start and data[start + k] == store[at + k]:
        k += 1
    return k == end - start


@njit(cache=True, nogil=True)
def _scan(
    data: Bytes,
    i: int,
    kinds: Bytes,
    slots: Int32s,
    hashes: Hashes,
    store: Bytes,
    offsets: Int64s,
    size: int,
    ids: Int32s,
    found: int,
    unit_ends: Int64s,
    before: Int64s,
    unit: int,
) -> tuple[int, int, int, int, int]:
    """Tokenise UTF-8 `data` from byte `i` and number its raw tokens in `Vocabulary`'s table.

    Each token's raw-token id goes to `ids` from `found` on; `before[u]` gets the number of
    tokens before byte `unit_ends[u]`, for the units from `unit` on. Stops at the end of
    `data`, or at a token for which an array is full: returns where it stopped, `found`, the
    table's size, `unit` and the bytes that token needs. Never growing an array here keeps
    the loop free of reference counting.
    """
    n = data.size
    mask = np.uint64(slots.size - 1)
    while i < n:
        b = data[i]
        if b < 0x80:
            if not kinds[b] & ALNUM:
                i += 1
                continue
        else:
            cp, j = _char(data, i)
            if not kinds[cp] & ALNUM:
                i = j
                continue
        end = _token_end(data, i, kinds)
        h = _hash(data, i, end)
        slot = np.int64(h & mask)
        while True:
            raw = np.int64(slots[slot])
            if raw < 0 or (hashes[raw] == h and _same(data, i, end, store, offsets[raw], offsets[raw + 1] - 1)):
                break
            slot = np.int64(np.uint64(slot + 1) & mask)
        if found == ids.size:
            return i, found, size, unit, end - i + 1
        if raw < 0:
            used = offsets[size]
            if size + 2 > offsets.size or used + (end - i + 1) > store.size or 2 * (size + 1) > slots.size:
                return i, found, size, unit, end - i + 1
            store[used : used + (end - i)] = data[i:end]
            store[used + (end - i)] = _SPACE
            offsets[size + 1] = used + (end - i + 1)
            hashes[size] = h
            slots[slot] = size
            raw = np.int64(size)
            size += 1
        while unit < unit_ends.size and unit_ends[unit] <= i:
            before[unit] = found
            unit += 1
        ids[found] = raw
        found += 1
        i = end
    while unit < unit_ends.size:
        before[unit] = found
        unit += 1
    return i, found, size, unit, 0


@njit(cache=True, nogil=True)
def _rehash(hashes: Hashes, size: int, n_slots: int) -> Int32s:
    """A table of `n_slots` slots (a power of two) holding raw tokens 0..size-1 by their hashes."""
    slots = np.full(n_slots, -1, dtype=np.int32)
    mask = np.uint64(n_slots - 1)
    for raw in range(size):
        slot = np.int64(hashes[raw] & mask)
        while slots[slot] >= 0:
            slot = np.int64(np.uint64(slot + 1) & mask)
        slots[slot] = raw
    return slots


def loaded() -> bool:
    """Whether this process has the compiled scan loaded already (by `warm` or a scan)."""
    return bool(_scan.signatures)


def warm() -> None:
    """Load the compiled scan now (from numba's cache, else compiled), and the class table.

    Called before a build forks its workers, so that they inherit both instead of each
    loading them again.
    """
    Vocabulary().scan(["warm é"])


def _grown(array: np.ndarray, size: int) -> np.ndarray:
    """`array` copied into a longer array of `size` items (those after it uninitialised)."""
    longer = np.empty(size, dtype=array.dtype)
    longer[: array.size] = array
    return longer


class Vocabulary:
    """Raw token (its exact UTF-8 bytes) → raw-token id, in the order first met; kept for a build."""

    def __init__(self) -> None:
        self._slots = np.full(1 << 12, -1, dtype=np.int32)
        self._hashes = np.zeros(1 << 10, dtype=np.uint64)
        self._store = np.zeros(1 << 14, dtype=np.uint8)
        self._offsets = np.zeros(1 << 10, dtype=np.int64)
        self.size = 0

    def scan(self, units: list[str]) -> tuple[Int32s, Int64s]:
        """Return the raw-token id of every token of `units` in order, and each unit's token count.

        The tokens are those `Analyzer.tokens` finds in each unit; ids from the size before
        the call on are new tokens.
        """
        text = " ".join(units)  # a space ends any token, so none spans two units
        encoded = text.encode("utf-8", "surrogatepass")
        data = np.frombuffer(encoded, dtype=np.uint8)
        ends = np.fromiter(map(len, units), dtype=np.int64, count=len(units)) + 1
        np.cumsum(ends, out=ends)
        ends -= 1
        if len(encoded) != len(text):  # not all ASCII: characters are not bytes
            ends = byte_offsets(data, ends)
        ids = np.empty(len(encoded) // 4 + 16, dtype=np.int32)
        before = np.zeros(len(units), dtype=np.int64)
        i = found = unit = 0
        while True:
            i, found, self.size, unit, need = _scan(
                data, i, classes(), self._slots, self._hashes, self._store, self._offsets, self.size,
                ids, found, ends, before, unit,
            )  # fmt: skip
            if i >= data.size:
                break
            if found == ids.size:
                ids = _grown(ids, 2 * ids.size)
            if self.size + 2 > self._offsets.size:
                self._offsets = _grown(self._offsets, 2 * self._offsets.size)
                self._hashes = _grown(self._hashes, 2 * self._hashes.size)
            used = int(self._offsets[self.size])
            if used + need > self._store.size:
                self._store = _grown(self._store, max(2 * self._store.size, used + need))
            if 2 * (self.size + 1) > self._slots.size:
                self._slots = _rehash(self._hashes, self.size, 2 * self._slots.size)
        return ids[:found], np.diff(before, prepend=0)

    def tokens(self, first: int, stop: int) -> list[str]:
        """Return raw tokens `first` to `stop - 1` as strings."""
        if stop <= first:
            return []
        # Each token is stored followed by a space, which no token holds.
        held = self._store[self._offsets[first] : self._offsets[stop] - 1].tobytes()
        return held.decode("utf-8", "surrogatepass").split(" ")
