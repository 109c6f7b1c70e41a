"""Keeping the index in step with the corpus: between load and index, beside the answer path.

    load → split → analyze → **index** (kept up to date here) → search → select → answer

`refresh_index` compares the corpus with the manifest (`retrieval.store`) and indexes only
what changed, article by article: a `.jsonl` file that grew is read from its old end only, one
that was edited re-indexes only the lines that were added or changed (by content key,
`retrieval.load.FileRead`) and drops the articles of lines that went away; every other
article stays where it is. New articles go into one new segment (several when building one
would not fit `index.memory_mb`); gone ones are masked out of their old segment until a
rebuild. A damaged segment's files are read again whole; a file
that cannot be read for a passing reason keeps its articles until it can.

It returns the new `IndexState` (an immutable view the engine swaps whole), whether anything
changed, and the problems and warnings met on the way. The caller holds the index's lock.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.analyze import Analyzer
from retrieval.clean import CLEAN_VERSION
from retrieval.errors import CorruptIndexError
from retrieval.index import (
    SEGMENT_FORMAT,
    Progress,
    Segment,
    build_segment,
    load_segment,
    save_segment,
    trim_heap,
)
from retrieval.load import FileRead, drop_duplicates, read_file, read_file_parts, scan_corpus
from retrieval.merge import merge_segments
from retrieval.models import Article, LoadProblem
from retrieval.search import Searcher
from retrieval.settings import Settings
from retrieval.store import ArticleRef, FileEntry, Manifest, read_manifest, sweep, write_manifest

__all__ = ["IndexState", "Refreshed", "fingerprint", "make_state", "refresh_index", "stat_files"]

log = logging.getLogger(__name__)

# Corpus files by name (relative to the corpus root): (path, size, mtime_ns).
Stats = dict[str, tuple[Path, int, int]]


@dataclass(frozen=True, slots=True)
class IndexState:
    """An immutable view of the index: swapped whole when the corpus changes."""

    segments: tuple[Segment, ...]
    names: tuple[str, ...]
    searcher: Searcher
    by_id: dict[str, tuple[int, int]]
    problems: tuple[LoadProblem, ...]


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What one refresh left: the index now, whether it changed, the problems and warnings met."""

    state: IndexState
    changed: bool
    problems: tuple[LoadProblem, ...] = ()
    warnings: tuple[str, ...] = ()


def fingerprint(analyzer: Analyzer, settings: Settings) -> str:
    """Changes whenever a setting that shapes the index changes."""
    p = settings.passages
    return f"{SEGMENT_FORMAT}|{analyzer.fingerprint}|passages={p.size},{p.overlap},{p.title}|clean={CLEAN_VERSION}"


def stat_files(files: list[Path], root: Path, problems: list[LoadProblem]) -> Stats:
    """Size and mtime of each corpus file by name; a file that vanished is a problem."""
    current = {}
    for path in files:
        name = path.relative_to(root).as_posix()
        try:
            st = path.stat()
        except OSError as error:
            problems.append(LoadProblem(name, f"cannot read: {error.strerror or error}", retry=True))
            continue
        current[name] = (path, st.st_size, st.st_mtime_ns)
    return current


def refresh_index(
    corpus: Path,
    index_dir: Path,
    analyzer: Analyzer,
    settings: Settings,
    *,
    previous: IndexState | None = None,
    progress: Progress | None = None,
    rebuild: bool = False,
    scanned: tuple[Stats, list[LoadProblem]] | None = None,
    damaged: frozenset[str] = frozenset(),
) -> Refreshed:
    """Bring the index in `index_dir` up to date with `corpus` (the caller holds its lock).

    `scanned` is the corpus as the caller already listed it (its files' stats and the
    problems met listing them); `damaged` names segments that failed a check.
    """
    root = corpus if corpus.is_dir() else corpus.parent
    if scanned is None:
        files, listed = scan_corpus(corpus)
        scanned = (stat_files(files, root, listed), listed)
    current, problems = scanned[0], list(scanned[1])
    notes: list[str] = []
    index_dir.mkdir(parents=True, exist_ok=True)
    wanted = fingerprint(analyzer, settings)
    on_disk = read_manifest(index_dir)
    # Leftovers of a failed or killed update (a full disk) go before anything is written;
    # the segments of the index on disk stay until a new manifest replaces it.
    sweep(index_dir, set(on_disk.segments) if on_disk else set())
    manifest = None if rebuild else on_disk
    if manifest is not None and (manifest.fingerprint != wanted or manifest.corpus != str(corpus)):
        manifest = None
    changed = manifest is None
    if manifest is None:
        manifest = Manifest(fingerprint=wanted, corpus=str(corpus))
    segments: dict[str, Segment] = {}
    # Segments never change once written: those already open are not read again.
    open_now = dict(zip(previous.names, previous.segments, strict=True)) if previous else {}
    for name in list(manifest.segments):
        try:
            if name in damaged:
                raise CorruptIndexError(f"{index_dir / name}: failed a checksum while answering")
            segments[name] = open_now.get(name) or load_segment(index_dir / name)
        except CorruptIndexError as error:
            notes.append(f"index damaged, its articles indexed again: {error}")
            log.warning("%s", notes[-1])
            _drop_segment(manifest, name)
            changed = True

    # A file or folder that could not be listed for a passing reason keeps its articles until it can.
    unreachable = tuple(p.path for p in problems if p.retry)
    for name in list(manifest.files):
        if name not in current and not any(name == u or name.startswith(u + "/") for u in unreachable):
            _forget(manifest, manifest.files.pop(name).articles)
            changed = True
    touched = sorted(
        name
        for name, (_, size, mtime) in current.items()
        if name not in manifest.files or (manifest.files[name].size, manifest.files[name].mtime_ns) != (size, mtime)
    )
    if touched:
        recorded = _update_files(
            manifest, segments, current, touched, root, analyzer, settings, index_dir, problems, progress
        )
        changed = changed or recorded
    # A segment whose every article is gone is dropped from the manifest.
    for name in list(manifest.segments):
        if len(set(manifest.deleted.get(name, ()))) >= len(segments[name].articles):
            manifest.segments.remove(name)
            manifest.deleted.pop(name, None)
            segments.pop(name)
    if not changed and previous is not None and previous.names == tuple(manifest.segments):
        return Refreshed(previous, False, tuple(problems), tuple(notes))
    if changed:
        write_manifest(index_dir, manifest)
    sweep(index_dir, set(manifest.segments))
    return Refreshed(make_state(manifest, segments, settings), changed, tuple(problems), tuple(notes))


def _forget(manifest: Manifest, refs: list[ArticleRef]) -> None:
    """Mark articles as deleted from their segments."""
    for seg, place, _ in refs:
        manifest.deleted.setdefault(seg, []).append(place)


def _drop_segment(manifest: Manifest, name: str) -> None:
    """Take a damaged segment out; every file with an article in it is read again whole."""
    manifest.segments.remove(name)
    manifest.deleted.pop(name, None)
    for file, entry in list(manifest.files.items()):
        if any(ref[0] == name for ref in entry.articles):
            del manifest.files[file]
            _forget(manifest, [ref for ref in entry.articles if ref[0] != name])


def _update_files(
    manifest: Manifest,
    segments: dict[str, Segment],
    current: Stats,
    touched: list[str],
    root: Path,
    analyzer: Analyzer,
    settings: Settings,
    index_dir: Path,
    problems: list[LoadProblem],
    progress: Progress | None,
) -> bool:
    """Re-read the touched files; index their new and changed articles into new segments.

    Articles are indexed in batches that fit `settings.index.memory_mb`, each saved as a
    segment as soon as it is full and let go; a file new to the index is read a part at a
    time as the batches take it, so no more of the corpus is ever held than a batch. Several
    batches are then merged into one segment, streaming (`retrieval.merge`).

    Returns whether any file was recorded (one that cannot be read for a passing reason is
    not: it keeps what it had and is tried again at the next update).
    """
    # Files indexed before are read first, whole (only their changed articles are parsed):
    # which of their articles stay decides which ids a new article may take.
    reads = {}
    for name in touched:
        old = manifest.files.get(name)
        if old is None:
            continue
        known = {ref[2]: ref for ref in old.articles}
        read = read_file(current[name][0], root=root, known=known, before=(old.size, old.digest, old.breaks))
        if any(p.retry for p in read.problems):
            problems.extend(read.problems)
            continue
        if read.grown:
            kept, earlier = list(old.articles), [LoadProblem(name, r, n) for r, n in old.problems]
        else:
            unchanged = set(read.unchanged)
            _forget(manifest, [ref for key, ref in known.items() if key not in unchanged])
            kept, earlier = [known[key] for key in read.unchanged], []
        reads[name] = (read, kept, earlier)
    # Ids already in the index keep their articles (the one rule, `load.drop_duplicates`).
    seen: dict[str, str] = {}
    for name, entry in manifest.files.items():
        for seg, place, _ in reads[name][1] if name in reads else entry.articles:
            seen[segments[seg].articles.ids[place]] = name
    batches = _Batches(settings.index.memory_mb, index_dir, analyzer, settings, progress)
    recorded = False
    for name in touched:
        if name in reads:
            read, refs, earlier = reads.pop(name)
            parts: Iterable[FileRead] = (read,)
        elif name not in manifest.files:
            parts, refs, earlier = read_file_parts(current[name][0], root=root), [], []
        else:
            continue  # indexed before, and could not be read now: kept as it was
        met: list[LoadProblem] = []
        last: FileRead | None = None
        placed = len(refs)
        for part in parts:
            if any(p.retry for p in part.problems):
                break
            keys = {id(article): key for key, article, _ in part.articles}
            fresh, duplicates = drop_duplicates([(a, line) for _, a, line in part.articles], seen)
            met.extend([*part.problems, *duplicates])
            for article in fresh:
                refs.append((*batches.place(article), keys[id(article)]))
            last = part
        else:
            assert last is not None
            problems.extend(met)
            # The size read, not the one listed: the digest is of exactly those bytes.
            manifest.files[name] = FileEntry(
                size=last.size,
                mtime_ns=current[name][2],
                articles=refs,
                problems=[(p.reason, p.line) for p in (*earlier, *met)],
                digest=last.digest,
                breaks=last.breaks,
            )
            recorded = True
            continue
        # A read that failed part way (a file removed or unreadable): it is tried again at the
        # next update, and what it had placed already is masked out.
        problems.extend(p for p in part.problems if p.retry)
        for ref in refs[placed:]:
            seen.pop(batches.article_id(ref[0], ref[1]), None)
        _forget(manifest, refs[placed:])
    built = batches.finish()
    if len(built) > 1:
        built = [_merge_batches(manifest, built, index_dir)]
    for seg_name in built:
        segments[seg_name] = load_segment(index_dir / seg_name)
        manifest.segments.append(seg_name)
    return recorded


def _merge_batches(manifest: Manifest, built: list[str], index_dir: Path) -> str:
    """Merge the segments just built into one; move their articles' references to it."""
    name = _segment_name()
    parts = [load_segment(index_dir / n) for n in built]
    merge_segments(parts, index_dir / name)
    bases = dict(zip(built, np.cumsum([0] + [len(p.articles) for p in parts[:-1]]).tolist(), strict=True))
    del parts
    for entry in manifest.files.values():
        if any(ref[0] in bases for ref in entry.articles):
            entry.articles = [(name, bases[s] + i, k) if s in bases else (s, i, k) for s, i, k in entry.articles]
    for old in built:
        gone = manifest.deleted.pop(old, None)
        if gone:
            manifest.deleted.setdefault(name, []).extend(bases[old] + i for i in gone)
        shutil.rmtree(index_dir / old, ignore_errors=True)
    return name


def _segment_name() -> str:
    return f"seg-{uuid.uuid4().hex[:12]}"


# Memory a batch's build takes per byte of its article text, the forked analysis workers
# included: at 20, a 1,000,000-passage news-like build (`benchmarks.newslike`) with
# index.memory_mb 1024 peaked at 1,130 MiB over its process tree (801 MiB in the building
# process), mostly in proportion to the batch; 26 leaves the interpreters' own room.
BUILD_BYTES_PER_TEXT_BYTE = 26
# A batch whose build took less than this leaves too little behind to be worth handing back
# (`trim_heap` walks the whole heap: a tenth of a second at a million passages).
TRIM_AFTER_BYTES = 64 * 2**20


class _Batches:
    """New articles gathered into batches whose build fits `memory_mb`; each full batch is built and saved."""

    def __init__(
        self, memory_mb: int, index_dir: Path, analyzer: Analyzer, settings: Settings, progress: Progress | None
    ) -> None:
        self.budget = memory_mb * 2**20 // BUILD_BYTES_PER_TEXT_BYTE
        self.index_dir, self.analyzer, self.settings, self.progress = index_dir, analyzer, settings, progress
        self.built: list[str] = []
        self._ids: dict[str, list[str]] = {}
        self._name = ""
        self._batch: list[Article] = []
        self._used = 0

    def place(self, article: Article) -> tuple[str, int]:
        """Add `article` to the current batch (building the last one if full); return its segment and place."""
        size = len(article.text) + len(article.title)
        if self._batch and self._used + size > self.budget:
            self._build(merged=True)
        if not self._batch:
            self._name = _segment_name()
            self._ids[self._name] = []
        self._used += size
        self._batch.append(article)
        self._ids[self._name].append(article.id)
        return self._name, len(self._batch) - 1

    def article_id(self, segment: str, place: int) -> str:
        """The id of an article placed in a batch."""
        return self._ids[segment][place]

    def _build(self, *, merged: bool) -> None:
        """Build and save the current batch; one that will be merged learns no compression dictionary."""
        segment = build_segment(
            self._batch, self.analyzer, self.settings.passages, progress=self.progress, train=not merged
        )
        used, self._batch, self._used = self._used, [], 0
        save_segment(segment, self.index_dir / self._name)
        self.built.append(self._name)
        del segment
        if used * BUILD_BYTES_PER_TEXT_BYTE >= TRIM_AFTER_BYTES:
            trim_heap()

    def finish(self) -> list[str]:
        """Build the last batch; return the names of the segments saved, in order."""
        if self._batch:
            self._build(merged=bool(self.built))
        return self.built


def make_state(manifest: Manifest, segments: dict[str, Segment], settings: Settings) -> IndexState:
    """The searchable view of the segments a manifest names, deleted articles masked out."""
    names = tuple(manifest.segments)
    segs = tuple(segments[n] for n in names)
    live = []
    by_id: dict[str, tuple[int, int]] = {}
    for si, (name, seg) in enumerate(zip(names, segs, strict=True)):
        dead = sorted(set(manifest.deleted.get(name, ())))
        live.append(None if not dead else ~np.isin(np.asarray(seg.pass_article), dead))
        dead_set = set(dead)
        for ai, article_id in enumerate(seg.articles.ids):
            if ai not in dead_set:
                by_id[article_id] = (si, ai)
    problems = tuple(
        LoadProblem(name, reason, line)
        for name, entry in sorted(manifest.files.items())
        for reason, line in entry.problems
    )
    return IndexState(segs, names, Searcher(segs, live, settings.bm25), by_id, problems)
