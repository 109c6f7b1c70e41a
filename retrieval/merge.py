"""Saved segments merged into one, streaming: part of stage 4, after the batches are built.

    load → split → analyze → **index** (batches merged here) → search → select → answer

A big build is made in batches that each fit the memory budget, each saved as a segment;
`merge_segments` then joins them into one segment on disk without holding any of them whole:

- the vocabularies (sorted) are merged into one;
- postings are read a run of terms at a time: each segment's terms in the run are
  consecutive, so one compiled call (`Segment.terms_postings`) unpacks them all; batches hold
  ascending, disjoint passage ranges, so a merged term's postings are its segments' one after
  the other, gathered at once for the whole run with passage ids shifted by the passages
  before their segment; the run is written through `encode_postings`. The (term, segment)
  pairs that give the merged order are made a window of merged terms at a time (`_pairs`),
  so they do not grow with the number of segments, and a run holds about `RUN_POSTINGS`;
- every per-sentence, per-passage and per-article array is appended segment by segment with
  its ids shifted (term ids through a map from that segment's term ids, made for it alone);
- sentence text and article metadata are decompressed block by block and compressed again in
  the merged segment's blocks (one dictionary, trained on samples of every segment), on a
  thread of their own while the postings are merged (`_records`): zstd and the compiled
  postings code both let go of the GIL, so the two sides take a core each.

Every array goes to its own file as it is made; the input segments are memory-mapped and
their pages let go as they are read, and the freed heap is handed back between steps.
Passages, sentences and articles keep their order, so a merged segment scores exactly as one
built from all the articles at once.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import xxhash

from retrieval import integrity
from retrieval.blocks import Blocks, BlockWriter, train
from retrieval.index import (
    _ARRAYS,
    ARTICLE_BLOCK,
    SEGMENT_FORMAT,
    TEXT_BLOCK,
    Segment,
    _let_go,
    _narrow,
    _ranges,
    _term_bounds,
    encode_postings,
    release_pages,
    trim_heap,
    write_folder,
)
from retrieval.postings import Counts, Int32s
from retrieval.store import replace_synced, sync_folder

__all__ = ["merge_segments"]

# Postings gathered before a run is encoded and written (about 100 bytes each in flight, the
# encoder's and the bounds' arrays included): merging eight batches of a 300,000-passage
# news-like corpus peaked at 100 MiB of traced allocations with runs of 1,000,000 postings and
# at 254 MiB with 4,000,000, in the same CPU time.
RUN_POSTINGS = 1_000_000
# Compressed blocks of stored records read (and written again) at a time.
RECORD_RUN = 4096
# Ids remapped or shifted this many at a time.
CHUNK = 4_000_000
# (merged term, segment, local term) triples made at a time, and the fewest merged terms a
# window of them spans (`_pairs`).
PAIRS = 1 << 20
_MIN_SPAN = 1 << 10
_SAMPLES = 4_000


class _Column:
    """One array of the merged segment, appended piece by piece to a file of its own."""

    def __init__(self, folder: Path, name: str, dtype: npt.DTypeLike) -> None:
        self.name, self.dtype = name, np.dtype(dtype)
        self.raw_path = folder / f"{name}.raw"
        self.fh: BinaryIO = open(self.raw_path, "wb")  # noqa: SIM115 - closed by finish()
        self.count = 0

    def add(self, values: npt.ArrayLike) -> None:
        array = np.ascontiguousarray(values, dtype=self.dtype).reshape(-1)
        self.fh.write(array.view(np.uint8).data)
        self.count += array.size

    def finish(self, folder: Path) -> tuple[str, int]:
        """Write `<name>.npy` (header, then the bytes appended); return its checksum and size."""
        self.fh.close()
        return _write_npy(folder / f"{self.name}.npy", self.dtype, self.count, self.raw_path)


def _write_npy(path: Path, dtype: np.dtype, count: int, raw: Path) -> tuple[str, int]:
    header = _header_for(dtype, count)
    hasher = xxhash.xxh3_64(header)
    size = len(header)
    with open(path, "wb") as out, open(raw, "rb") as src:
        out.write(header)
        while chunk := src.read(8 << 20):
            hasher.update(chunk)
            out.write(chunk)
            size += len(chunk)
        out.flush()
        _fsync(out)
    raw.unlink()
    return hasher.hexdigest(), size


def _header_for(dtype: np.dtype, count: int) -> bytes:
    """The .npy header of a 1-d array of `count` items, without making the array."""
    header = io.BytesIO()
    fields = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (count,)}
    np.lib.format.write_array_header_1_0(header, fields)
    return header.getvalue()


def _fsync(fh: BinaryIO) -> None:
    os.fsync(fh.fileno())


def _vocabulary(segments: Sequence[Segment]) -> np.ndarray:
    """The merged sorted vocabulary (as wide as the widest segment's terms)."""
    width = max((s.vocab.dtype.itemsize for s in segments), default=1)
    merged = np.zeros(0, f"S{width}")
    # One segment at a time: never more than the merged vocabulary and one segment's at once.
    for segment in segments:
        merged = np.union1d(merged, np.asarray(segment.vocab).astype(f"S{width}"))
        _let_go(segment.vocab)
    return merged


def _term_map(vocab: np.ndarray, segment: Segment) -> npt.NDArray[np.int32]:
    """Each of one segment's term ids mapped into the merged vocabulary."""
    mapped = np.searchsorted(vocab, np.asarray(segment.vocab).astype(vocab.dtype)).astype(np.int32)
    _let_go(segment.vocab)
    return mapped


def _pairs(
    segments: Sequence[Segment], vocab: np.ndarray
) -> Iterator[tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int32]]]:
    """Every (merged term, segment, local term) in merged order, a window of merged terms at a time.

    A window of `span` merged terms holds at most `span` terms of each segment (a segment's
    terms are sorted and distinct), so no more than `PAIRS` pairs are held at once however
    many segments there are and however big their vocabularies. Within a window the segments
    of one term come in segment order, so its passage ids come out ascending.
    """
    span = max(_MIN_SPAN, PAIRS // max(len(segments), 1))
    starts = [0] * len(segments)
    for lo in range(0, int(vocab.size), span):
        window = vocab[lo : lo + span]
        terms, owner, local = [], [], []
        for i, segment in enumerate(segments):
            first = starts[i]
            mine = np.asarray(segment.vocab[first : first + span]).astype(vocab.dtype)
            # Ascending; the terms past the window all land at its end.
            at = np.searchsorted(window, mine)
            count = int(np.searchsorted(at, window.size))
            terms.append((at[:count] + lo).astype(np.int32))
            owner.append(np.full(count, i, np.int32))
            local.append(np.arange(first, first + count, dtype=np.int32))
            starts[i] = first + count
        merged_terms = np.concatenate(terms)
        order = np.argsort(merged_terms, kind="stable")
        yield merged_terms[order], np.concatenate(owner)[order], np.concatenate(local)[order]
    if starts != [int(s.vocab.size) for s in segments]:
        raise AssertionError("a segment's terms are missing from the merged vocabulary")


def _postings(
    segments: Sequence[Segment],
    vocab: np.ndarray,
    passage_base: npt.NDArray[np.int64],
    doc_len: npt.NDArray[np.int32],
    folder: Path,
) -> dict[str, _Column]:
    """Write the merged postings and their per-term bounds, run by run."""
    total = sum(int(s.post_offsets[-1]) for s in segments)
    # Merged, a term's postings may take a few more bytes where one segment's follow another's.
    most_bytes = sum(int(s.post_bytes.size) for s in segments) + 8 * sum(int(s.vocab.size) for s in segments)
    n_terms = int(vocab.size)
    columns = {
        "post_offsets": _Column(folder, "post_offsets", _fitting(total)),
        "post_bytes": _Column(folder, "post_bytes", np.uint8),
        "block_last": _Column(folder, "block_last", np.int32),
        "block_end": _Column(folder, "block_end", _fitting(most_bytes)),
        "block_max_tf": _Column(folder, "block_max_tf", np.uint16),
        "block_min_len": _Column(folder, "block_min_len", doc_len.dtype),
        "term_max_tf": _Column(folder, "term_max_tf", np.uint16),
        "term_min_len": _Column(folder, "term_min_len", doc_len.dtype),
    }
    columns["post_offsets"].add(np.zeros(1, np.int64))
    written = written_bytes = 0

    def flush(run_terms: Int32s, lengths: npt.NDArray[np.int64], run_docs: Int32s, run_tf: Counts) -> None:
        nonlocal written, written_bytes
        lo = int(run_terms[0]) if run_terms.size else n_terms
        hi = int(run_terms[-1]) + 1 if run_terms.size else n_terms
        per_term = np.bincount(run_terms - lo, weights=lengths, minlength=hi - lo).astype(np.int64)
        offsets = np.zeros(hi - lo + 1, np.int64)
        np.cumsum(per_term, out=offsets[1:])
        stored = encode_postings(offsets, run_docs, run_tf, doc_len)
        columns["post_offsets"].add(stored["post_offsets"][1:] + written)
        columns["post_bytes"].add(stored["post_bytes"])
        columns["block_last"].add(stored["block_last"])
        columns["block_end"].add(stored["block_end"] + written_bytes)
        columns["block_max_tf"].add(stored["block_max_tf"])
        columns["block_min_len"].add(stored["block_min_len"])
        written_bytes += int(stored["post_bytes"].size)
        max_tf, min_len = _term_bounds(offsets, run_docs, run_tf, doc_len)
        columns["term_max_tf"].add(max_tf)
        columns["term_min_len"].add(min_len)
        written += int(offsets[-1])
        for segment in segments:
            release_pages(segment)

    flushed = False
    for terms, owner, local in _pairs(segments, vocab):
        counts = _counts(segments, owner, local)
        for lo, hi in _runs(terms, counts):
            run = _gathered(segments, owner[lo:hi], local[lo:hi], counts[lo:hi], passage_base)
            flush(terms[lo:hi], counts[lo:hi], *run)
            flushed = True
    if not flushed:
        flush(np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.uint16))
    return columns


def _counts(
    segments: Sequence[Segment], owner: npt.NDArray[np.int32], local: npt.NDArray[np.int32]
) -> npt.NDArray[np.int64]:
    """How many postings each (segment, local term) pair holds.

    A window's pairs of one segment are consecutive terms of it, in order (`_pairs`), so one
    slice of its `post_offsets` gives them all.
    """
    counts = np.zeros(owner.size, np.int64)
    for i, segment in enumerate(segments):
        mine = owner == i
        held = local[mine]
        if held.size:
            first = int(held[0])
            counts[mine] = np.diff(np.asarray(segment.post_offsets[first : first + held.size + 1], dtype=np.int64))
    return counts


def _runs(terms: npt.NDArray[np.int32], counts: npt.NDArray[np.int64]) -> Iterator[tuple[int, int]]:
    """Cut a window's pairs into runs of about `RUN_POSTINGS` postings that end with a merged term.

    A run ends at the first term end at or after the pair that brings it to `RUN_POSTINGS`
    (a term holding more is a run of its own), and the window's end ends one too.
    """
    n = int(terms.size)
    total = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=total[1:])
    # The pair indices where a merged term ends (the next pair is another term's, or none).
    term_ends = np.flatnonzero(np.append(terms[1:] != terms[:-1], True)) + 1 if n else np.zeros(0, np.int64)
    lo = 0
    while lo < n:
        # The fewest pairs from lo that reach RUN_POSTINGS (at least one), then to the end of that term.
        reach = max(int(np.searchsorted(total, total[lo] + RUN_POSTINGS)), lo + 1)
        hi = int(term_ends[np.searchsorted(term_ends, min(reach, n))])
        yield lo, hi
        lo = hi


def _gathered(
    segments: Sequence[Segment],
    owner: npt.NDArray[np.int32],
    local: npt.NDArray[np.int32],
    counts: npt.NDArray[np.int64],
    passage_base: npt.NDArray[np.int64],
) -> tuple[Int32s, Counts]:
    """The merged postings of a run's (segment, local term) pairs, in the pairs' order.

    Each segment's terms of the run are consecutive, so they are unpacked in one call
    (`Segment.terms_postings`); the pairs' postings are then gathered from those pieces at
    once, passage ids shifted by the passages before their segment. Batches hold ascending,
    disjoint passage ranges, so a merged term's postings are its segments' one after the other.
    """
    docs: list[Int32s] = []
    tfs: list[Counts] = []
    # Where each pair's postings start in the pieces joined.
    starts = np.zeros(owner.size, np.int64)
    joined = 0
    for i, segment in enumerate(segments):
        mine = np.flatnonzero(owner == i)
        if not mine.size:
            continue
        first = int(local[mine[0]])
        d, t = segment.terms_postings(first, first + int(mine.size))
        mine_counts = counts[mine]
        starts[mine] = joined + np.cumsum(mine_counts) - mine_counts
        joined += int(d.size)
        docs.append(d)
        tfs.append(t)
    if not docs:
        return np.zeros(0, np.int32), np.zeros(0, np.uint16)
    at = _ranges(starts, counts)
    shift = np.repeat(passage_base[owner], counts).astype(np.int32)
    return np.concatenate(docs)[at] + shift, np.concatenate(tfs)[at]


def _shifted(column: _Column, arrays: Sequence[np.ndarray], shifts: Sequence[int]) -> None:
    """Append each array plus its shift, a chunk at a time."""
    for array, shift in zip(arrays, shifts, strict=True):
        for lo in range(0, array.size, CHUNK):
            column.add(np.asarray(array[lo : lo + CHUNK], dtype=np.int64) + shift)
            _let_go(array)


def _mapped(column: _Column, name: str, segments: Sequence[Segment], vocab: np.ndarray) -> None:
    """Append each segment's array `name` of term ids mapped into the merged vocabulary, a chunk at a time.

    One segment's map at a time: all of them at once would grow with the segments.
    """
    for segment in segments:
        term_map = _term_map(vocab, segment)
        array = getattr(segment, name)
        for lo in range(0, array.size, CHUNK):
            column.add(term_map[np.asarray(array[lo : lo + CHUNK])])
            _let_go(array)
        del term_map


def _largest(array: np.ndarray) -> int:
    """The largest value of a mapped array (0 when empty), its pages let go after."""
    found = int(np.max(array)) if array.size else 0
    _let_go(array)
    return found


def _fitting(largest: int) -> type:
    """The narrower of int32 and int64 that holds every value up to `largest`, as builds store them."""
    return np.int32 if largest <= np.iinfo(np.int32).max else np.int64


def _offsets(column: _Column, arrays: Sequence[np.ndarray]) -> None:
    """Append offset arrays (each starting at 0) as one, each shifted by the ends before it."""
    column.add(np.zeros(1, np.int64))
    end = 0
    for array in arrays:
        for lo in range(1, array.size, CHUNK):
            column.add(np.asarray(array[lo : lo + CHUNK], dtype=np.int64) + end)
            _let_go(array)
        end += int(array[-1])


def _reblock(folder: Path, name: str, sources: Sequence, *, per_block: int, learn: bool) -> tuple[dict, int]:
    """Write the records of every source (`Blocks`) into blocks of their own; return what was written."""
    dictionary = None
    if learn:
        total = sum(-(-len(s) // s.per_block) for s in sources)
        step = max(1, total // _SAMPLES)
        samples: list[bytes] = []
        seen = 0
        for source in sources:
            count = -(-len(source) // source.per_block)
            # The blocks whose place in the whole run is a multiple of `step`.
            samples.extend(source.block(b) for b in range((-seen) % step, count, step))
            seen += count
            # Each sample reads (and checks) a whole checksum block of the blob: let the
            # pages go, or sampling every segment would leave most of their text resident.
            _let_go_blocks(source)
        dictionary = train(samples)
    blob_raw = folder / f"{name}_blob.raw"
    with open(blob_raw, "wb") as out:
        writer = BlockWriter(out, per_block=per_block, dictionary=dictionary)
        for source in sources:
            for raw, ends in source.raw_runs(RECORD_RUN):
                writer.add(raw, ends)
                _let_go_blocks(source)
        starts = writer.finish()
    return {"dictionary": writer.dictionary, "blocks": starts}, int(starts[-1])


def _let_go_blocks(source: Blocks) -> None:
    """Let go of the pages a `Blocks` of a mapped segment has read."""
    for array in (source.blob, source.offsets, source.blocks, source.sums):
        _let_go(array)


def _blob_sums(path: Path) -> npt.NDArray[np.uint64]:
    """One checksum per `integrity.BLOCK` bytes of a file's contents."""
    sums = []
    with open(path, "rb") as fh:
        while chunk := fh.read(integrity.BLOCK):
            sums.append(xxhash.xxh3_64_intdigest(chunk))
    return np.asarray(sums, dtype=np.uint64)


def merge_segments(segments: Sequence[Segment], directory: Path) -> int:
    """Merge saved segments (in order) into one segment saved at `directory`; return its bytes.

    Written atomically like `save_segment`: into a temporary folder, renamed when complete.
    """
    return write_folder(directory, lambda tmp: _merge(segments, directory, tmp))


def _bases(counts: Sequence[int]) -> npt.NDArray[np.int64]:
    return np.concatenate(([0], np.cumsum(counts, dtype=np.int64))).astype(np.int64)


def _merge(segments: Sequence[Segment], directory: Path, tmp: Path) -> int:
    tmp.mkdir(parents=True)
    if len({s.titled for s in segments}) > 1:
        raise ValueError("segments indexed with and without headlines cannot be merged")
    # Sentence text and article metadata are re-compressed on a thread of their own while the
    # postings are merged: zstd and the compiled postings code both run without the GIL, so
    # the two take two cores. Each streams a block or a run at a time.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="merge-records")
    try:
        return _merge_rest(segments, directory, tmp, pool.submit(_records, segments, tmp))
    finally:
        # On an error, the thread is done with the folder before it is removed.
        pool.shutdown(wait=True, cancel_futures=True)


class _Written:
    """Files of the merged segment written so far: each one's checksum and size, by name."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.digests: dict[str, str] = {}
        self.sizes: dict[str, int] = {}

    def finish(self, column: _Column) -> None:
        """Close `column`'s file and record its checksum and size."""
        digest, size = column.finish(self.tmp)
        self.digests[f"{column.name}.npy"], self.sizes[column.name] = digest, size

    def whole(self, name: str, array: np.ndarray) -> None:
        """Write `array` whole as the column `name`."""
        column = _Column(self.tmp, name, array.dtype)
        column.add(array)
        self.finish(column)


def _records(segments: Sequence[Segment], tmp: Path) -> tuple[dict[str, str], dict[str, int]]:
    """Write the merged segment's sentence text and article metadata; return their checksums and sizes."""
    written = _Written(tmp)
    digests, sizes, finish, whole = written.digests, written.sizes, written.finish, written.whole

    column = _Column(tmp, "text_offsets", _fitting(sum(int(s.text_offsets[-1]) for s in segments)))
    _offsets(column, [s.text_offsets for s in segments])
    finish(column)
    texts, text_bytes = _reblock(tmp, "text", [s.texts for s in segments], per_block=TEXT_BLOCK, learn=True)
    whole("text_blocks", texts["blocks"])
    whole("text_dict", texts["dictionary"])
    whole("text_sums", _blob_sums(tmp / "text_blob.raw"))
    digests["text_blob.npy"], sizes["text_blob"] = _write_npy(
        tmp / "text_blob.npy", np.dtype(np.uint8), text_bytes, tmp / "text_blob.raw"
    )
    records = [s.articles.records for s in segments]
    column = _Column(tmp, "article_offsets", np.int64)
    _offsets(column, [r.offsets for r in records])
    finish(column)
    table, table_bytes = _reblock(tmp, "article", records, per_block=ARTICLE_BLOCK, learn=False)
    whole("article_blocks", table["blocks"])
    whole("article_sums", _blob_sums(tmp / "article_blob.raw"))
    digests["article_blob.npy"], sizes["article_blob"] = _write_npy(
        tmp / "article_blob.npy", np.dtype(np.uint8), table_bytes, tmp / "article_blob.raw"
    )
    return digests, sizes


def _merge_rest(
    segments: Sequence[Segment], directory: Path, tmp: Path, records: Future[tuple[dict[str, str], dict[str, int]]]
) -> int:
    """Everything but the stored records (`_records`), which `records` brings when done."""
    passages = _bases([s.n_passages for s in segments])
    sentences = _bases([s.n_sentences for s in segments])
    articles = _bases([len(s.articles) for s in segments])
    vocab = _vocabulary(segments)
    written = _Written(tmp)
    digests, sizes, finish, whole = written.digests, written.sizes, written.finish, written.whole

    whole("vocab", vocab)
    doc_len = _narrow(np.concatenate([np.asarray(s.doc_len) for s in segments]), np.uint16, np.int32)
    whole("doc_len", doc_len)
    for column in _postings(segments, vocab, passages, doc_len, tmp).values():
        finish(column)
    del doc_len
    # What the postings phase freed goes back to the system before the next phase.
    trim_heap()

    def shifted(name: str, dtype: npt.DTypeLike, shifts: npt.NDArray[np.int64]) -> None:
        column = _Column(tmp, name, dtype)
        _shifted(column, [getattr(s, name) for s in segments], [int(x) for x in shifts[:-1]])
        finish(column)

    shifted("pass_start", np.int32, sentences)
    shifted("pass_end", np.int32, sentences)
    shifted("pass_article", np.int32, articles)
    shifted("sent_article", np.int32, articles)
    widest = max((_largest(s.sent_pos) for s in segments), default=0)
    positions = np.uint16 if widest <= np.iinfo(np.uint16).max else np.int32
    shifted("sent_pos", positions, np.zeros(len(segments) + 1, np.int64))
    column = _Column(tmp, "article_first", np.int32)
    _shifted(column, [np.asarray(s.article_first)[:-1] for s in segments], [int(x) for x in sentences[:-1]])
    column.add(sentences[-1:])
    finish(column)
    for name, terms_name in (("sent_offsets", "sent_terms"), ("title_offsets", "title_terms")):
        total = sum(int(getattr(s, name)[-1]) for s in segments)
        column = _Column(tmp, name, _fitting(total) if name == "sent_offsets" else np.int64)
        _offsets(column, [getattr(s, name) for s in segments])
        finish(column)
        column = _Column(tmp, terms_name, np.int32)
        _mapped(column, terms_name, segments, vocab)
        finish(column)
    for segment in segments:
        release_pages(segment)

    # The stored records, re-compressed meanwhile, are ready when the rest is.
    records_digests, records_sizes = records.result()
    digests.update(records_digests)
    sizes.update(records_sizes)
    for segment in segments:
        release_pages(segment)

    ids_size = 0

    def ids() -> Iterator[bytes]:
        # The JSON list `json.dumps` writes of all the ids, made a segment's ids at a time.
        nonlocal ids_size
        bodies = (json.dumps(s.articles.ids, ensure_ascii=False)[1:-1].encode("utf-8") for s in segments)
        yield b"["
        for i, body in enumerate(b for b in bodies if b):
            piece = b", " + body if i else body
            ids_size += len(piece)
            yield piece
        yield b"]"
        ids_size += 2

    with open(tmp / "article_ids.json", "wb") as fh:
        digests["article_ids.json"] = integrity.write_parts(fh, ids())
        fh.flush()
        _fsync(fh)
    assert set(sizes) == {*_ARRAYS, "article_blob", "article_blocks", "article_offsets", "article_sums"}
    meta = {
        "format": SEGMENT_FORMAT,
        "passages": int(passages[-1]),
        "sentences": int(sentences[-1]),
        "articles": int(articles[-1]),
        "terms": int(vocab.size),
        "sizes": sizes,
        "ids_size": ids_size,
        "titled": segments[0].titled if segments else True,
        "block": integrity.BLOCK,
        "checksums": digests,
    }
    with open(tmp / "segment.json", "wb") as fh:
        fh.write(json.dumps(integrity.seal(meta)).encode())
        fh.flush()
        _fsync(fh)
    sync_folder(tmp)
    if directory.exists():
        shutil.rmtree(directory)
    replace_synced(tmp, directory)
    trim_heap()
    return sum(sizes.values()) + ids_size
