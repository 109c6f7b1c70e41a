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
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

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


@dataclass(slots=True)
class FileEntry:
    """One corpus file as last indexed: its stat and digest, its articles and the problems it had."""

    size: int
    mtime_ns: int
    articles: list[ArticleRef] = field(default_factory=list)
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
                articles=_articles(e["articles"]),
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


def _articles(columns: Any) -> list[ArticleRef]:
    segments = [str(name) for name, count in columns["segments"] for _ in range(int(count))]
    places, keys = columns["places"], columns["keys"]
    if not len(segments) == len(places) == len(keys):
        raise ValueError("article columns of different lengths")
    return list(zip(segments, map(int, places), map(str, keys), strict=True))


def _columns(articles: list[ArticleRef]) -> dict[str, Any]:
    """A file's articles as columns: one .jsonl file may hold a hundred thousand of them."""
    runs = [[name, len(list(group))] for name, group in itertools.groupby(a[0] for a in articles)]
    return {"segments": runs, "places": [a[1] for a in articles], "keys": [a[2] for a in articles]}


def write_manifest(index_dir: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically: the index is either all old or all new."""
    files = {
        name: {
            "size": e.size,
            "mtime_ns": e.mtime_ns,
            "digest": e.digest,
            "breaks": e.breaks,
            "articles": _columns(e.articles),
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
