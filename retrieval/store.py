"""Where an index lives on disk: segment folders and the manifest that commits them.

    index_dir/
      manifest.json          the commit point: settings fingerprint, live segments,
                             every corpus file seen (size, mtime, digest, its articles:
                             segment, place there and content key) and deletions
      seg-<id>/              one immutable segment (see `retrieval.index`)

A change is made by writing new segments first and then replacing the manifest atomically
(`os.replace` of a fsynced temporary file). A crash at any point leaves either the old
manifest or the new one, each naming only complete segments; leftovers are swept on the
next open. A manifest that is unreadable, altered (it carries a checksum of its content), of
another format or another corpus is ignored and the index rebuilt.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import struct
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, overload

import numpy as np

from retrieval import integrity

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: one process at a time is up to the operator
    fcntl = None  # type: ignore[assignment]

MANIFEST = "manifest.json"
LOCK = ".lock"
MANIFEST_FORMAT = "newsbot-index/3"


# One indexed article: its segment, its place in that segment, and its content key
# (`retrieval.load.FileRead`), by which an unchanged article is known without parsing it.
ArticleRef = tuple[str, int, str]

_DIGEST_BYTES = 16  # a content key is the 32 hex digits of an xxh3-128 digest, then maybe "@<line>"
# One reference: its segment's number among the file's segment names, its place, its digest.
_RECORD = struct.Struct("<ii16s")
_TABLE = np.dtype([("segment", "<i4"), ("place", "<i4"), ("digest", "V16")])


class ArticleRefs:
    """A file's indexed articles, in order, held compactly: 24 bytes an article.

    A build holds the references of every article of the corpus at once (half a million at
    five million passages), so they are not kept as tuples of Python objects but as records
    of one buffer: the segment a number into the file's few segment names, the place a
    32-bit integer, the content key its 16 digest bytes (and the line number of a line
    without an id, apart, once any key has one). Read back, each is the `ArticleRef` given.
    """

    __slots__ = ("_last", "_lines", "_names", "_records")

    def __init__(self, refs: Iterable[ArticleRef] = ()) -> None:
        self._names: list[str] = []
        self._last = -1  # the number of the segment named last: most articles follow the one before
        self._records = bytearray()
        self._lines: array[int] | None = None  # made on the first key with a line number
        self.extend(refs)

    def _segment_number(self, segment: str) -> int:
        names = self._names
        if self._last < 0 or names[self._last] != segment:
            if segment not in names:
                names.append(segment)
            self._last = names.index(segment)
        return self._last

    def append(self, ref: ArticleRef) -> None:
        """Add one reference at the end; a content key not of the form keys take is a ValueError."""
        segment, place, key = ref
        digest, at, line = key.partition("@")
        try:
            number = int(line) if at else 0
            raw = bytes.fromhex(digest)
        except ValueError:
            raw, number = b"", 0
        if len(raw) != _DIGEST_BYTES or raw.hex() != digest or (at and (number < 1 or str(number) != line)):
            raise ValueError(f"not a content key: {key!r}")
        if not 0 <= place < 2**31:
            raise ValueError(f"an article place out of range: {place}")
        if number and self._lines is None:
            self._lines = array("q", bytes(8 * len(self)))
        self._records += _RECORD.pack(self._segment_number(segment), place, raw)
        if self._lines is not None:
            self._lines.append(number)

    def extend(self, refs: Iterable[ArticleRef]) -> None:
        """Add references at the end, in order."""
        for ref in refs:
            self.append(ref)

    def copy(self) -> ArticleRefs:
        """The same references, held apart."""
        return self[:]

    def __len__(self) -> int:
        return len(self._records) // _RECORD.size

    def _ref(self, i: int) -> ArticleRef:
        segment, place, raw = _RECORD.unpack_from(self._records, i * _RECORD.size)
        line = self._lines[i] if self._lines is not None else 0
        return self._names[segment], place, f"{raw.hex()}@{line}" if line else raw.hex()

    @overload
    def __getitem__(self, i: int) -> ArticleRef: ...

    @overload
    def __getitem__(self, i: slice) -> ArticleRefs: ...

    def __getitem__(self, i: int | slice) -> ArticleRef | ArticleRefs:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step != 1:
                return ArticleRefs(self._ref(j) for j in range(start, stop, step))
            part = ArticleRefs()
            part._names = list(self._names)
            part._records = self._records[start * _RECORD.size : max(start, stop) * _RECORD.size]
            part._lines = None if self._lines is None else self._lines[start:stop]
            return part
        if not -len(self) <= i < len(self):
            raise IndexError("article reference out of range")
        return self._ref(i % len(self))

    def __iter__(self) -> Iterator[ArticleRef]:
        return (self._ref(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ArticleRefs | list | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ArticleRefs({list(self)!r})"

    def _table(self) -> np.ndarray:
        return np.frombuffer(self._records, dtype=_TABLE)

    def places(self) -> Iterator[tuple[str, int]]:
        """The segment and place of each article, in order (their keys not made)."""
        names = self._names
        return ((names[s], p) for s, p, _ in _RECORD.iter_unpack(self._records))

    def segments(self) -> set[str]:
        """The names of the segments these articles are in."""
        return {self._names[int(i)] for i in np.unique(self._table()["segment"])}

    def move(self, bases: dict[str, int], name: str) -> None:
        """Move the articles of the segments in `bases` to segment `name`, each at its base there plus its place."""
        moved = [(self._names.index(old), base) for old, base in bases.items() if old in self._names]
        if not moved:
            return
        to = self._segment_number(name)
        table = self._table()
        for number, base in moved:
            mask = table["segment"] == number
            table["place"][mask] += base
            table["segment"][mask] = to
        del table  # a view: the buffer cannot grow while it is held

    @classmethod
    def from_columns(cls, columns: Any) -> ArticleRefs:
        """The references a manifest holds as columns (`columns`); ValueError if they do not fit together."""
        runs = [(str(name), int(count)) for name, count in columns["segments"]]
        places, keys = list(map(int, columns["places"])), list(map(str, columns["keys"]))
        if any(count < 0 for _, count in runs) or not sum(c for _, c in runs) == len(places) == len(keys):
            raise ValueError("article columns of different lengths")
        if places and not 0 <= min(places) <= max(places) < 2**31:
            raise ValueError("an article place out of range")
        refs = cls()
        if any("@" in key for key in keys):
            segments = (name for name, count in runs for _ in range(count))
            refs.extend(zip(segments, places, keys, strict=True))
            return refs
        # The usual case, all at once: every key is a bare digest.
        joined = "".join(keys)
        digests = bytes.fromhex(joined)
        if len(digests) != _DIGEST_BYTES * len(keys) or digests.hex() != joined:
            raise ValueError("a content key of another form")
        table = np.zeros(len(keys), dtype=_TABLE)
        table["segment"] = np.repeat([refs._segment_number(name) for name, _ in runs], [c for _, c in runs])
        table["place"] = places
        table["digest"] = np.frombuffer(digests, dtype="V16")
        refs._records = bytearray(table.tobytes())
        return refs

    def keys(self) -> list[str]:
        """The content key of each article, in order."""
        hexes = self._table()["digest"].tobytes().hex()
        keys = [hexes[i : i + 2 * _DIGEST_BYTES] for i in range(0, len(hexes), 2 * _DIGEST_BYTES)]
        if self._lines is not None:
            keys = [f"{key}@{line}" if line else key for key, line in zip(keys, self._lines, strict=True)]
        return keys

    def take(self, positions: Iterable[int]) -> ArticleRefs:
        """The references at `positions`, in that order."""
        at = np.fromiter(positions, dtype=np.intp)
        part = ArticleRefs()
        part._names = list(self._names)
        part._records = bytearray(self._table()[at].tobytes())
        if self._lines is not None:
            part._lines = array("q", np.asarray(self._lines, dtype=np.int64)[at].tolist())
        return part

    def columns(self) -> dict[str, Any]:
        """The references as columns: one .jsonl file may hold a hundred thousand of them."""
        table = self._table()
        names = (self._names[i] for i in table["segment"].tolist())
        runs = [[name, len(list(group))] for name, group in itertools.groupby(names)]
        return {"segments": runs, "places": table["place"].tolist(), "keys": self.keys()}


@dataclass(slots=True)
class FileEntry:
    """One corpus file as last indexed: its stat and digest, its articles and the problems it had."""

    size: int
    mtime_ns: int
    articles: ArticleRefs = field(default_factory=ArticleRefs)
    problems: list[tuple[str, int | None]] = field(default_factory=list)
    digest: str = ""
    breaks: int = 0


@dataclass(slots=True)
class Manifest:
    """What the index holds; replaced as a whole, never edited in place on disk."""

    fingerprint: str
    corpus: str
    segments: list[str] = field(default_factory=list)
    files: dict[str, FileEntry] = field(default_factory=dict)
    deleted: dict[str, list[int]] = field(default_factory=dict)


def read_manifest(index_dir: Path) -> Manifest | None:
    """Return the manifest of `index_dir`, or None when there is none worth trusting."""
    try:
        data: Any = integrity.unseal(json.loads((index_dir / MANIFEST).read_text(encoding="utf-8")))
        if data is None or data.get("format") != MANIFEST_FORMAT:
            return None
        files = {
            name: FileEntry(
                size=int(e["size"]),
                mtime_ns=int(e["mtime_ns"]),
                articles=ArticleRefs.from_columns(e["articles"]),
                problems=[(str(r), None if n is None else int(n)) for r, n in e["problems"]],
                digest=str(e["digest"]),
                breaks=int(e["breaks"]),
            )
            for name, e in data["files"].items()
        }
        return Manifest(
            fingerprint=str(data["fingerprint"]),
            corpus=str(data["corpus"]),
            segments=[str(s) for s in data["segments"]],
            files=files,
            deleted={str(k): [int(a) for a in v] for k, v in data["deleted"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


def write_synced(path: Path, write: Callable[[BinaryIO], object]) -> int:
    """Write a new file through `write` and flush it to the disk; return its size in bytes.

    A failure (a full disk) raises OSError naming the file.
    """
    try:
        with open(path, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
            return fh.tell()
    except OSError as error:
        raise OSError(error.errno, error.strerror or str(error), str(path)) from None


def sync_folder(path: Path) -> None:
    """Flush a folder's entries (files created, renamed or removed in it) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_synced(written: Path, target: Path) -> None:
    """Put a synced file or folder in place of `target` in one atomic rename, and sync that."""
    os.replace(written, target)
    sync_folder(target.parent)


def write_manifest(index_dir: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically: the index is either all old or all new."""
    files = {
        name: {
            "size": e.size,
            "mtime_ns": e.mtime_ns,
            "digest": e.digest,
            "breaks": e.breaks,
            "articles": e.articles.columns(),
            "problems": e.problems,
        }
        for name, e in manifest.files.items()
    }
    record = {
        "format": MANIFEST_FORMAT,
        "fingerprint": manifest.fingerprint,
        "corpus": manifest.corpus,
        "segments": manifest.segments,
        "files": files,
        "deleted": manifest.deleted,
    }
    data = integrity.seal(record)
    raw = json.dumps(data, ensure_ascii=False).encode("utf-8")
    tmp = index_dir / (MANIFEST + ".tmp")
    try:
        write_synced(tmp, lambda fh: integrity.write_parts(fh, [raw]))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    replace_synced(tmp, index_dir / MANIFEST)


# Lock files this process holds open. A forked child (an analysis worker) closes its copies
# at once: otherwise a killed build's workers would hold the lock until they finished.
_HELD: set[int] = set()


def _drop_inherited_locks() -> None:
    for fd in list(_HELD):
        with suppress(OSError):
            os.close(fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_drop_inherited_locks)


@contextmanager
def locked(index_dir: Path) -> Iterator[None]:
    """Hold the index's lock: a running bot and `newsbot index` never update it at once.

    A folder made here for an index that then failed to build is removed again, lock and all.
    """
    created = not index_dir.exists()
    index_dir.mkdir(parents=True, exist_ok=True)
    failed = False
    with open(index_dir / LOCK, "a") as fh:
        _HELD.add(fh.fileno())
        try:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            yield
        except BaseException:
            failed = True
            raise
        finally:
            if created and failed and [p.name for p in index_dir.iterdir()] == [LOCK]:
                with suppress(OSError):
                    (index_dir / LOCK).unlink()
                    index_dir.rmdir()
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            _HELD.discard(fh.fileno())


def sweep(index_dir: Path, keep: set[str]) -> None:
    """Remove segment folders and temporary files that the manifest does not name."""
    for path in index_dir.iterdir():
        if path.name.startswith("seg-") and path.name not in keep:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        elif path.name == MANIFEST + ".tmp":
            path.unlink(missing_ok=True)


def index_size(index_dir: Path) -> int:
    """Return the bytes the index takes on disk."""
    return sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())
