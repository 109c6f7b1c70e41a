"""The indexes of corpora given with `--corpus`: where they live, listing and pruning them.

The configured corpus has its index in `index_dir`. Every other corpus gets one of its own in
a single cache folder beside it, `<index_dir>-corpora/<name>-<hash of its path>/`, so they
never pile up beside the project and `newsbot index --list` / `--prune` can find them all. A
corpus folder that would hold that cache (`--corpus .` inside an article folder) has its index
in the same layout under the user's cache folder (`$XDG_CACHE_HOME/newsbot`, else
`~/.cache/newsbot`): an index never lives inside the corpus it indexes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from retrieval.store import LOCK, MANIFEST, index_size, locked, read_manifest

# Folders that earlier versions made beside index_dir, one per corpus: `<index_dir>-<name>-<hash>`.
_OLD = re.compile(r"-.*-[0-9a-f]{10}")


@dataclass(frozen=True, slots=True)
class CachedIndex:
    """One corpus's index in the cache: its folder, the corpus it serves and its bytes."""

    path: Path
    corpus: str
    size_bytes: int

    @property
    def orphaned(self) -> bool:
        """Whether its corpus is gone (or unknown: a build that never finished)."""
        return not self.corpus or not Path(self.corpus).exists()


def cache_dir(index_dir: Path) -> Path:
    """The folder that holds the indexes of corpora other than the configured one."""
    return index_dir.parent / f"{index_dir.name}-corpora"


def user_cache_dir(index_dir: Path) -> Path:
    """The same folder in the user's cache, for corpora that would hold `cache_dir` themselves."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(cache) if cache and Path(cache).is_absolute() else Path.home() / ".cache"
    return base / "newsbot" / f"{index_dir.name}-corpora"


def index_for(index_dir: Path, corpus: Path) -> Path:
    """The index folder of another corpus than the configured one."""
    resolved = corpus.resolve()
    tag = hashlib.sha1(str(resolved).encode("utf-8", "surrogateescape")).hexdigest()[:10]
    folder = cache_dir(index_dir)
    if resolved.is_dir() and folder.resolve().is_relative_to(resolved):
        folder = user_cache_dir(index_dir)
    return folder / f"{resolved.stem}-{tag}"


def _is_index(path: Path) -> bool:
    """Whether a folder holds only what an index writes (so removing it loses nothing else)."""
    names = {p.name for p in path.iterdir()}
    return bool(names) and all(n in (MANIFEST, LOCK, MANIFEST + ".tmp") or n.startswith("seg-") for n in names)


def cached_indexes(index_dir: Path) -> list[CachedIndex]:
    """Every cached corpus index (and any left beside index_dir by earlier versions), by path."""
    found = []
    candidates = [
        p
        for cache in (cache_dir(index_dir), user_cache_dir(index_dir))
        if cache.is_dir()
        for p in sorted(cache.iterdir())
    ]
    if index_dir.parent.is_dir():
        prefix = index_dir.name
        candidates += sorted(
            p
            for p in index_dir.parent.iterdir()
            if p.name.startswith(prefix) and _OLD.fullmatch(p.name[len(prefix) :]) and p.is_dir()
        )
    for path in candidates:
        if path.is_dir() and _is_index(path):
            manifest = read_manifest(path)
            found.append(CachedIndex(path, manifest.corpus if manifest else "", index_size(path)))
    return found


def prune(index_dir: Path, *, keep: Path | None = None) -> list[CachedIndex]:
    """Remove every cached corpus index but `keep` (each is rebuilt when next asked); return them."""
    removed = []
    for cached in cached_indexes(index_dir):
        if keep is not None and cached.path == keep:
            continue
        with locked(cached.path):
            shutil.rmtree(cached.path, ignore_errors=True)
        removed.append(cached)
    for cache in (cache_dir(index_dir), user_cache_dir(index_dir)):
        if cache.is_dir() and not any(cache.iterdir()):
            cache.rmdir()
    return removed
