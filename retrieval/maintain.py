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
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from retrieval.analyze import Analyzer
from retrieval.clean import CLEAN_VERSION
from retrieval.errors import CorruptIndexError
from retrieval.index import (
    CHUNK_ARTICLES,
    SEGMENT_FORMAT,
    Progress,
    Segment,
    Vocabularies,
    _Chunk,
    assemble_segment,
    load_segment,
    save_segment,
    select_articles,
    trim_heap,
)
from retrieval.load import FileRead, Lines, drop_duplicates, read_file, read_file_parts, read_file_pieces, scan_corpus
from retrieval.merge import merge_segments
from retrieval.models import Article, LoadProblem
from retrieval.search import Searcher
from retrieval.seen import SeenIds
from retrieval.settings import Settings
from retrieval.store import ArticleRef, ArticleRefs, FileEntry, Manifest, read_manifest, sweep, write_manifest
from retrieval.workers import AHEAD_BYTES, PIECE_BYTES, Analysed, Analysis, Found, Pending

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


def _forget(manifest: Manifest, refs: Iterable[ArticleRef]) -> None:
    """Mark articles as deleted from their segments."""
    for seg, place, _ in refs:
        manifest.deleted.setdefault(seg, []).append(place)


def _drop_segment(manifest: Manifest, name: str) -> None:
    """Take a damaged segment out; every file with an article in it is read again whole."""
    manifest.segments.remove(name)
    manifest.deleted.pop(name, None)
    for file, entry in list(manifest.files.items()):
        if name in entry.articles.segments():
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
    time as the batches take it, so no more of the corpus is ever held than a batch. A big
    update is analysed by worker processes (`retrieval.workers`), forked first, which also
    parse the new `.jsonl` files' lines. Several batches are then merged into one segment,
    streaming (`retrieval.merge`).

    Returns whether any file was recorded (one that cannot be read for a passing reason is
    not: it keeps what it had and is tried again at the next update).
    """
    workers = Analysis.workers_for(_new_bytes(manifest, current, touched))
    with Analysis(analyzer, settings.passages, workers=workers) as analysis:
        update = _Update(manifest, segments, current, index_dir, settings, analysis, problems, progress)
        update.read(touched, root)
        built = update.batches.finish()
    recorded = update.recorded
    del update  # the batches' term lists, before the merge takes its share
    if len(built) > 1:
        trim_heap()
        built = [_merge_batches(manifest, built, index_dir)]
    for seg_name in built:
        segments[seg_name] = load_segment(index_dir / seg_name)
        manifest.segments.append(seg_name)
    return recorded


def _new_bytes(manifest: Manifest, current: Stats, touched: list[str]) -> int:
    """About how many bytes of the touched files an update reads (a file that grew: what it grew by)."""
    total = 0
    for name in touched:
        size, old = current[name][1], manifest.files.get(name)
        total += size - old.size if old is not None and size > old.size else size
    return total


@dataclass(slots=True)
class _Reading:
    """One file as its parts are taken: the articles placed, the problems met, how it ended."""

    name: str
    refs: ArticleRefs
    earlier: list[LoadProblem]
    placed: int
    mark: int = -1  # the ids recorded before its first part was placed (`SeenIds.forget_since`)
    met: list[LoadProblem] = field(default_factory=list)
    last: FileRead | None = None
    failed: FileRead | None = None


class _Update:
    """The touched files read in order, their parts placed into batches as they come back analysed."""

    def __init__(
        self,
        manifest: Manifest,
        segments: dict[str, Segment],
        current: Stats,
        index_dir: Path,
        settings: Settings,
        analysis: Analysis,
        problems: list[LoadProblem],
        progress: Progress | None,
    ) -> None:
        self.manifest, self.segments, self.current = manifest, segments, current
        self.analysis, self.problems = analysis, problems
        self.batches = _Batches(settings.index.memory_mb, index_dir, analysis, settings, progress)
        self.seen = SeenIds()
        self.recorded = False
        # Parts handed out or read and not yet placed, in file order, with their bytes.
        self._queue: deque[tuple[_Reading, FileRead | Pending | None, int]] = deque()
        self._queued = 0

    def read(self, touched: list[str], root: Path) -> None:
        """Read every touched file and place its new articles; record each file that was read whole."""
        manifest, current = self.manifest, self.current
        # Files indexed before are read first, whole (only their changed articles are parsed):
        # which of their articles stay decides which ids a new article may take.
        reads = {}
        for name in touched:
            old = manifest.files.get(name)
            if old is None:
                continue
            # Each content key's place among the file's articles (the last, should one repeat).
            known = {key: i for i, key in enumerate(old.articles.keys())}
            read = read_file(current[name][0], root=root, known=known, before=(old.size, old.digest, old.breaks))
            if any(p.retry for p in read.problems):
                self.problems.extend(read.problems)
                continue
            if read.grown:
                kept, earlier = old.articles.copy(), [LoadProblem(name, r, n) for r, n in old.problems]
            else:
                unchanged = set(read.unchanged)
                _forget(manifest, old.articles.take(i for key, i in known.items() if key not in unchanged))
                kept, earlier = old.articles.take(known[key] for key in read.unchanged), []
            reads[name] = (read, kept, earlier)
        # Ids already in the index keep their articles (the one rule, `load.drop_duplicates`).
        self.seen.update(
            (self.segments[seg].articles.ids[place], name)
            for name, entry in manifest.files.items()
            for seg, place in (reads[name][1] if name in reads else entry.articles).places()
        )
        for name in touched:
            if name in reads:
                read, refs, earlier = reads.pop(name)
                parts: Iterable[FileRead | Lines] = (read,)
            elif name not in manifest.files:
                path = current[name][0]
                # Parts of one size either way: a file's problems come in the same order.
                if self.analysis.parallel:
                    parts = read_file_pieces(path, root=root, part_bytes=PIECE_BYTES)
                else:
                    parts = read_file_parts(path, root=root, part_bytes=PIECE_BYTES)
                refs, earlier = ArticleRefs(), []
            else:
                continue  # indexed before, and could not be read now: kept as it was
            reading = _Reading(name, refs, earlier, len(refs))
            for part in parts:
                if isinstance(part, Lines):
                    self._put(reading, self.analysis.lines(part), len(part.data))
                    continue
                self._put(reading, part, sum(len(a.text) for _, a, _ in part.articles))
                if any(p.retry for p in part.problems):
                    break
            self._put(reading, None, 0)
        while self._queue:
            self._take()

    def _put(self, reading: _Reading, part: FileRead | Pending | None, cost: int) -> None:
        self._queue.append((reading, part, cost))
        self._queued += cost
        while self._queued > AHEAD_BYTES:
            self._take()

    def _take(self) -> None:
        """Place the oldest part read or handed out (waiting for it if need be)."""
        reading, part, cost = self._queue.popleft()
        self._queued -= cost
        if reading.mark < 0:
            # A file's parts are placed one after another, none of another file's between.
            reading.mark = len(self.seen)
        if part is None:
            self._finish(reading)
        elif reading.failed is not None:
            return
        elif isinstance(part, Pending):
            analysed = part.result()
            assert isinstance(analysed, Analysed)
            self._place_analysed(reading, analysed)
        elif any(p.retry for p in part.problems):
            reading.failed = part
        else:
            keys = {id(article): key for key, article, _ in part.articles}
            fresh, duplicates = drop_duplicates([(a, line) for _, a, line in part.articles], self.seen)
            reading.met.extend([*part.problems, *duplicates])
            for article in fresh:
                reading.refs.append((*self.batches.place(article), keys[id(article)]))
            reading.last = part

    def _place_analysed(self, reading: _Reading, analysed: Analysed) -> None:
        self.batches.note(analysed.chunk)
        fresh, duplicates = drop_duplicates([(f, f.line) for f in analysed.found], self.seen)
        reading.met.extend([*analysed.problems, *duplicates])
        kept = {id(f) for f in fresh}
        keep = [id(f) in kept for f in analysed.found]
        places = self.batches.place_chunk(analysed.chunk, keep, analysed.found)
        reading.refs.extend((seg, place, f.key) for (seg, place), f in zip(places, fresh, strict=True))

    def _finish(self, reading: _Reading) -> None:
        manifest, name = self.manifest, reading.name
        if reading.failed is None:
            last = reading.last
            assert last is not None
            self.problems.extend(reading.met)
            # The size read, not the one listed: the digest is of exactly those bytes.
            manifest.files[name] = FileEntry(
                size=last.size,
                mtime_ns=self.current[name][2],
                articles=reading.refs,
                problems=[(p.reason, p.line) for p in (*reading.earlier, *reading.met)],
                digest=last.digest,
                breaks=last.breaks,
            )
            self.recorded = True
            return
        # A read that failed part way (a file removed or unreadable): it is tried again at the
        # next update, and what it had placed already is masked out.
        self.problems.extend(p for p in reading.failed.problems if p.retry)
        self.seen.forget_since(reading.mark)
        _forget(manifest, reading.refs[reading.placed :])


def _merge_batches(manifest: Manifest, built: list[str], index_dir: Path) -> str:
    """Merge the segments just built into one; move their articles' references to it."""
    name = _segment_name()
    parts = [load_segment(index_dir / n) for n in built]
    merge_segments(parts, index_dir / name)
    bases = dict(zip(built, np.cumsum([0] + [len(p.articles) for p in parts[:-1]]).tolist(), strict=True))
    del parts
    for entry in manifest.files.values():
        entry.articles.move(bases, name)
    for old in built:
        gone = manifest.deleted.pop(old, None)
        if gone:
            manifest.deleted.setdefault(name, []).extend(bases[old] + i for i in gone)
        shutil.rmtree(index_dir / old, ignore_errors=True)
    return name


def _segment_name() -> str:
    return f"seg-{uuid.uuid4().hex[:12]}"


# Memory a batch's build takes per byte of its article text, the analysis workers included:
# at 28, a 1,000,000-passage news-like build (`benchmarks.newslike`) with index.memory_mb 1024
# peaked at 871 MiB over its process tree (PSS: 536 MiB in the building process, 164 and
# 170 MiB in its 2 workers, mostly their term lookups); at 26 it peaked at 880 to 932 MiB.
BUILD_BYTES_PER_TEXT_BYTE = 28
# A batch whose build took less than this leaves too little behind to be worth handing back
# (`trim_heap` walks the whole heap: a tenth of a second at a million passages).
TRIM_AFTER_BYTES = 64 * 2**20


class _Batches:
    """New articles gathered into batches whose build fits `memory_mb`; each full batch is built and saved.

    Articles come read (`place`: handed to the analysis a chunk at a time) or already analysed
    with their chunk (`place_chunk`: the chunk is cut where a batch fills); a batch keeps its
    articles' chunks, in order, and is assembled from them when full.
    """

    def __init__(
        self, memory_mb: int, index_dir: Path, analysis: Analysis, settings: Settings, progress: Progress | None
    ) -> None:
        self.budget = memory_mb * 2**20 // BUILD_BYTES_PER_TEXT_BYTE
        self.index_dir, self.analysis, self.settings, self.progress = index_dir, analysis, settings, progress
        self.built: list[str] = []
        self.vocabularies = Vocabularies()
        self._count = 0  # articles in the open batch
        self._name = ""
        self._parts: list[_Chunk | Pending] = []
        self._read: list[Article] = []
        self._used = 0

    def _make_room(self, size: int) -> None:
        """Build the current batch if `size` more would not fit it; start a batch if none is open."""
        if self._count and self._used + size > self.budget:
            self._build(merged=True)
        if not self._name:
            self._name = _segment_name()

    def place(self, article: Article) -> tuple[str, int]:
        """Add `article` to the current batch (building the last one if full); return its segment and place."""
        size = len(article.text) + len(article.title)
        self._make_room(size)
        self._used += size
        self._read.append(article)
        self._count += 1
        if len(self._read) >= CHUNK_ARTICLES:
            self._hand_out()
        return self._name, self._count - 1

    def _hand_out(self) -> None:
        if self._read:
            self._parts.append(self.analysis.articles(self._read))
            self._read = []

    def note(self, chunk: _Chunk) -> None:
        """Learn the terms an analysed chunk brings (every chunk, even one none of whose articles is kept)."""
        self.vocabularies.add(chunk)

    def place_chunk(self, chunk: _Chunk, keep: list[bool], found: Sequence[Found]) -> list[tuple[str, int]]:
        """Add the kept articles of an analysed chunk, in order; return the segment and place of each."""
        self._hand_out()  # articles placed before go first
        places = []
        taken = np.zeros(len(found), dtype=bool)
        for i, article in enumerate(found):
            if not keep[i]:
                continue
            if self._count and self._used + article.size > self.budget:
                self._add(chunk, taken)
                taken[:] = False
            self._make_room(article.size)
            taken[i] = True
            self._used += article.size
            self._count += 1
            places.append((self._name, self._count - 1))
        self._add(chunk, taken)
        return places

    def _add(self, chunk: _Chunk, taken: npt.NDArray[np.bool_]) -> None:
        if taken.any():
            self._parts.append(select_articles(chunk, taken))

    def _build(self, *, merged: bool) -> None:
        """Build and save the current batch; one that will be merged learns no compression dictionary."""
        self._hand_out()
        chunks = []
        count = self._count
        for part in self._parts:
            if isinstance(part, Pending):
                chunk = part.result()
                assert isinstance(chunk, _Chunk)
                self.note(chunk)
                part = chunk
            chunks.append(part)
            if self.progress is not None:
                self.progress("analyse", sum(len(c.meta) for c in chunks), count)
        self._parts = []
        segment = assemble_segment(
            chunks, self.vocabularies, self.settings.passages, progress=self.progress, train=not merged
        )
        used, self._used = self._used, 0
        save_segment(segment, self.index_dir / self._name)
        self.built.append(self._name)
        self._name, self._count = "", 0
        del segment
        if used * BUILD_BYTES_PER_TEXT_BYTE >= TRIM_AFTER_BYTES:
            trim_heap()

    def finish(self) -> list[str]:
        """Build the last batch; return the names of the segments saved, in order."""
        if self._count:
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
