"""The article ids an index update has kept so far, and the file of each: between load and index.

    load → split → analyze → **index** (duplicate ids checked here while building) → search → …

`retrieval.load.drop_duplicates` keeps the first article of each id; while an index is built
or updated it must know every id kept so far, half a million at five million passages. A
dict of them costs some 150 bytes an id; `SeenIds` holds each in about 30 bytes and its
UTF-8 bytes: the ids end to end in one buffer, their 64-bit hashes in a sorted array (the
newest few in a small dict until they are sorted in), and an id is found by its hash and
then compared whole, so two ids whose hashes collide are still told apart.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Iterable

import numpy as np
import xxhash

__all__ = ["SeenIds"]

# Ids hashed but not yet sorted into the array: past this many, they are.
_RECENT = 1 << 13


def _hash(raw: bytes) -> int:
    return xxhash.xxh3_64_intdigest(raw)


def _encode(article_id: str) -> bytes:
    return article_id.encode("utf-8", "surrogatepass")


class SeenIds:
    """Ids mapped to the file that holds each, as `drop_duplicates` reads and writes them (`get`, `[]=`)."""

    __slots__ = ("_clash", "_ends", "_files", "_hashes", "_ids", "_missed", "_number", "_owner", "_recent", "_sorted")

    def __init__(self) -> None:
        self._files: list[str] = []
        self._number: dict[str, int] = {}
        self._ids = bytearray()  # every id's UTF-8 bytes, end to end
        self._ends = array("q")  # where each id ends in `_ids`
        self._owner = array("i")  # the number of each id's file; -1 once forgotten
        self._hashes = np.zeros(0, dtype=np.uint64)  # sorted
        self._sorted = np.zeros(0, dtype=np.uint32)  # the entry of each hash in `_hashes`
        self._recent: dict[int, int] = {}  # hash -> newest entry not sorted in yet
        self._clash: dict[int, int] = {}  # entry -> the one before it with the same hash, among the recent
        self._missed: tuple[str, bytes, int] | None = None  # the last id looked up and not found

    def __len__(self) -> int:
        """The entries made so far (forgotten ones included): a mark for `forget_since`."""
        return len(self._owner)

    def _same(self, entry: int, raw: bytes) -> bool:
        start = self._ends[entry - 1] if entry else 0
        return self._owner[entry] >= 0 and self._ids[start : self._ends[entry]] == raw

    def _find(self, raw: bytes, hashed: int) -> int | None:
        entry = self._recent.get(hashed)
        while entry is not None:
            if self._same(entry, raw):
                return entry
            entry = self._clash.get(entry)
        if self._hashes.size:
            at = int(np.searchsorted(self._hashes, np.uint64(hashed)))
            while at < self._hashes.size and int(self._hashes[at]) == hashed:
                if self._same(int(self._sorted[at]), raw):
                    return int(self._sorted[at])
                at += 1
        return None

    def get(self, article_id: str) -> str | None:
        """The file of `article_id`, or None if it was not kept."""
        raw = _encode(article_id)
        hashed = _hash(raw)
        entry = self._find(raw, hashed)
        if entry is None:
            self._missed = (article_id, raw, hashed)
            return None
        return self._files[self._owner[entry]]

    def __setitem__(self, article_id: str, path: str) -> None:
        """Record `article_id` as kept from the file `path` (in place of any file it had)."""
        missed, self._missed = self._missed, None
        if missed is not None and missed[0] == article_id:
            _, raw, hashed = missed
            entry = None  # just looked up, and nothing added since
        else:
            raw = _encode(article_id)
            hashed = _hash(raw)
            entry = self._find(raw, hashed)
        number = self._file_number(path)
        if entry is not None:
            self._owner[entry] = number
            return
        self._add(raw, hashed, number)
        if len(self._recent) >= _RECENT:
            self._sort_in()

    def _file_number(self, path: str) -> int:
        number = self._number.setdefault(path, len(self._files))
        if number == len(self._files):
            self._files.append(path)
        return number

    def _add(self, raw: bytes, hashed: int, number: int) -> None:
        entry = len(self._owner)
        self._ids += raw
        self._ends.append(len(self._ids))
        self._owner.append(number)
        before = self._recent.get(hashed)
        if before is not None:
            self._clash[entry] = before
        self._recent[hashed] = entry

    def update(self, kept: Iterable[tuple[str, str]]) -> None:
        """Record many (id, file) pairs, in order, as `[]=` would one by one (all at once when none is yet)."""
        if len(self._owner):
            for article_id, path in kept:
                self[article_id] = path
            return
        hashes = array("Q")
        pairs = iter(kept)
        while run := list(itertools.islice(pairs, _RECENT)):
            raws = [_encode(article_id) for article_id, _ in run]
            for path, group in itertools.groupby(path for _, path in run):
                self._owner.extend(array("i", [self._file_number(path)]) * sum(1 for _ in group))
            self._ends.extend((np.cumsum([len(raw) for raw in raws], dtype=np.int64) + len(self._ids)).tolist())
            self._ids += b"".join(raws)
            hashes.extend(map(_hash, raws))
        all_hashes = np.frombuffer(hashes, dtype=np.uint64) if hashes else np.zeros(0, dtype=np.uint64)
        order = np.argsort(all_hashes, kind="stable")
        self._hashes, self._sorted = all_hashes[order], order.astype(np.uint32)
        # An id given twice keeps the file given last, as a dict would.
        same = np.flatnonzero(self._hashes[1:] == self._hashes[:-1])
        for at in np.flatnonzero(np.diff(same, prepend=-2) != 1).tolist():
            last: dict[bytes, int] = {}
            start = int(same[at])
            end = start + 1
            while end < self._hashes.size and self._hashes[end] == self._hashes[start]:
                end += 1
            for entry in self._sorted[start:end].tolist():  # in the order given (the sort is stable)
                raw = bytes(self._ids[self._ends[entry - 1] if entry else 0 : self._ends[entry]])
                if raw in last:
                    self._owner[entry], self._owner[last[raw]] = self._owner[entry], -1
                last[raw] = entry

    def _sort_in(self) -> None:
        hashes, entries = [], []
        for hashed, entry in self._recent.items():
            chain: int | None = entry
            while chain is not None:
                hashes.append(hashed)
                entries.append(chain)
                chain = self._clash.get(chain)
        new_hashes, new_entries = np.array(hashes, dtype=np.uint64), np.array(entries, dtype=np.uint32)
        order = np.argsort(new_hashes)
        new_hashes, new_entries = new_hashes[order], new_entries[order]
        # Inserted where they belong: one pass over the sorted array, not a sort of it.
        at = np.searchsorted(self._hashes, new_hashes)
        self._hashes, self._sorted = np.insert(self._hashes, at, new_hashes), np.insert(self._sorted, at, new_entries)
        self._recent, self._clash = {}, {}

    def forget_since(self, mark: int) -> None:
        """Forget the ids recorded since `len` was `mark` (a file whose reading failed part way)."""
        self._missed = None
        for entry in range(mark, len(self._owner)):
            self._owner[entry] = -1
