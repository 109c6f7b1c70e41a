"""Stored records (sentence text, article metadata) zstd-compressed in small checked blocks.

Part of stage 4 (load → split → analyze → **index** → search → select → answer): a segment keeps
the verbatim sentences an answer quotes and the metadata that cites them here. Only the few
records an answer reads are ever decompressed, so records are packed a few to a block (a
sentence read decompresses a kilobyte or so). Blocks that small compress well only with a
dictionary trained on the segment's own records (zstd's COVER trainer); a segment too small to
train one goes without.

The compressed bytes are covered by `retrieval.integrity`'s checksums, one per
`integrity.BLOCK` bytes: a compressed block is verified before it is decompressed, and a block
that fails its checksum, fails to decompress or decompresses to the wrong size raises
`DamagedSegmentError`, never returns text that was not indexed.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import zstandard

from retrieval import integrity
from retrieval.errors import DamagedSegmentError

Ints = npt.NDArray[np.int64]
# Where each record starts: int32 when the records' bytes allow (a saved segment's text), else int64.
Offsets = npt.NDArray[np.int32] | npt.NDArray[np.int64]

DICTIONARY_BYTES = 112_640
DICTIONARY_MIN_BLOCKS = 512
_DICTIONARY_SAMPLES = 4_000
LEVEL = 3
# For records that will be compressed again (a batch to be merged): zstd's fast end, which
# barely compresses but costs a quarter of level 3's time, and a fifth to decompress.
FAST_LEVEL = -5
# Blocks a thread keeps decompressed: the sentences one answer reads lie close together.
_CACHED_BLOCKS = 64


class Blocks:
    """Byte records compressed in blocks of `per_block`, read one record at a time.

    `offsets` are where each record starts in the uncompressed stream, `blocks` where each
    compressed block starts in `blob`, `dictionary` the zstd dictionary (empty for none),
    `sums` the blob's checksums per `integrity.BLOCK` bytes and `checked` which of those have
    passed (None: built in this process, nothing to verify); `where` names the blob's file.
    """

    __slots__ = ("_dict", "_local", "blob", "blocks", "checked", "dictionary", "offsets", "per_block", "sums", "where")

    def __init__(
        self,
        blob: npt.NDArray[np.uint8],
        blocks: Ints,
        offsets: Offsets,
        *,
        per_block: int,
        dictionary: npt.NDArray[np.uint8] | None = None,
        sums: npt.NDArray[np.uint64] | None = None,
        checked: npt.NDArray[np.bool_] | None = None,
        where: str = "",
    ) -> None:
        self.blob, self.blocks, self.offsets, self.per_block = blob, blocks, offsets, per_block
        self.dictionary = np.zeros(0, np.uint8) if dictionary is None else dictionary
        self.sums = integrity.block_sums(blob) if sums is None else sums
        self.checked, self.where = checked, where
        self._dict = zstandard.ZstdCompressionDict(self.dictionary.tobytes()) if self.dictionary.size else None
        self._local = threading.local()

    @classmethod
    def pack(cls, data: bytes, offsets: Ints, *, per_block: int, train: bool = False, level: int = LEVEL) -> Blocks:
        """Compress the records `data[offsets[i]:offsets[i + 1]]` in blocks of `per_block`, at zstd `level`."""
        n = offsets.size - 1
        # Views, not copies: the records are compressed where they lie.
        view = memoryview(data)
        raw = [view[int(offsets[b]) : int(offsets[min(b + per_block, n)])] for b in range(0, n, per_block)]
        dictionary = None
        if train and len(raw) >= DICTIONARY_MIN_BLOCKS:
            samples: list[bytes | bytearray | memoryview] = [
                bytes(r) for r in raw[:: max(1, len(raw) // _DICTIONARY_SAMPLES)]
            ]
            try:
                dictionary = zstandard.train_dictionary(DICTIONARY_BYTES, samples)
            except zstandard.ZstdError:  # samples too alike or too few to learn from
                dictionary = None
        compressor = zstandard.ZstdCompressor(level=level, dict_data=dictionary)
        parts = [compressor.compress(r) for r in raw]
        blocks = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in parts], out=blocks[1:])
        stored = None if dictionary is None else np.frombuffer(dictionary.as_bytes(), dtype=np.uint8)
        blob = np.frombuffer(b"".join(parts), dtype=np.uint8)
        return cls(blob, blocks, offsets, per_block=per_block, dictionary=stored)

    def __len__(self) -> int:
        return int(self.offsets.size) - 1

    def __getitem__(self, i: int) -> bytes:
        b = i // self.per_block
        first = int(self.offsets[b * self.per_block])
        return self._block(b)[int(self.offsets[i]) - first : int(self.offsets[i + 1]) - first]

    def _block(self, b: int) -> bytes:
        local = self._local
        cache: dict[int, bytes] | None = getattr(local, "cache", None)
        if cache is None:
            cache = local.cache = {}
            local.decompressor = zstandard.ZstdDecompressor(dict_data=self._dict)
        raw = cache.get(b)
        if raw is None:
            if len(cache) >= _CACHED_BLOCKS:
                cache.clear()
            raw = cache[b] = self._decompress(b, local.decompressor)
        return raw

    def _decompress(self, b: int, decompressor: zstandard.ZstdDecompressor) -> bytes:
        """Verify compressed block `b` against its checksums, then decompress it."""
        lo, hi = int(self.blocks[b]), int(self.blocks[b + 1])
        packed = integrity.read_checked(self.blob, self.sums, self.checked, lo, hi, where=self.where)
        size = int(self.offsets[min((b + 1) * self.per_block, len(self))]) - int(self.offsets[b * self.per_block])
        try:
            raw = decompressor.decompress(packed, max_output_size=size)
        except zstandard.ZstdError as error:
            raise DamagedSegmentError(self.where, f"{self.where}: block {b} cannot be decompressed ({error})") from None
        if len(raw) != size:
            raise DamagedSegmentError(self.where, f"{self.where}: block {b} decompresses to the wrong size")
        return raw

    def block(self, b: int) -> bytes:
        """Return block `b` decompressed (its records back to back)."""
        return self._block(b)

    def raw_blocks(self) -> Iterator[tuple[bytes, Ints]]:
        """Yield every block decompressed, in order, with its records' ends within it."""
        decompressor = zstandard.ZstdDecompressor(dict_data=self._dict)
        n = len(self)
        for b in range(-(-n // self.per_block)):
            lo, hi = b * self.per_block, min((b + 1) * self.per_block, n)
            ends = np.asarray(self.offsets[lo + 1 : hi + 1], dtype=np.int64) - int(self.offsets[lo])
            yield self._decompress(b, decompressor), ends

    def raw_runs(self, blocks: int = 1024) -> Iterator[tuple[bytes, Ints]]:
        """Yield the records `blocks` blocks at a time, decompressed and back to back, with their ends.

        What `raw_blocks` gives, joined: the compressed bytes of a run are read (and checked)
        at once and its ends made at once, so a block costs little more than its decompression.
        """
        decompressor = zstandard.ZstdDecompressor(dict_data=self._dict)
        n = len(self)
        n_blocks = -(-n // self.per_block)
        for first in range(0, n_blocks, blocks):
            stop = min(first + blocks, n_blocks)
            starts = np.asarray(self.blocks[first : stop + 1], dtype=np.int64)
            lo, hi = int(starts[0]), int(starts[-1])
            packed = memoryview(integrity.read_checked(self.blob, self.sums, self.checked, lo, hi, where=self.where))
            cuts = (starts - lo).tolist()
            records = np.minimum(np.arange(first, stop + 1, dtype=np.int64) * self.per_block, n)
            sizes = np.diff(np.asarray(self.offsets[records], dtype=np.int64)).tolist()
            parts = []
            for b in range(stop - first):
                try:
                    raw = decompressor.decompress(packed[cuts[b] : cuts[b + 1]], max_output_size=sizes[b])
                except zstandard.ZstdError as error:
                    message = f"{self.where}: block {first + b} cannot be decompressed ({error})"
                    raise DamagedSegmentError(self.where, message) from None
                if len(raw) != sizes[b]:
                    message = f"{self.where}: block {first + b} decompresses to the wrong size"
                    raise DamagedSegmentError(self.where, message)
                parts.append(raw)
            lo_record = int(records[0])
            ends = np.asarray(self.offsets[lo_record + 1 : int(records[-1]) + 1], dtype=np.int64)
            yield b"".join(parts), ends - int(self.offsets[lo_record])

    def verify(self) -> None:
        """Check every checksum of the compressed bytes now."""
        integrity.check_blocks(self.blob, self.sums, where=self.where)

    def sound(self) -> bool:
        """Whether the offsets agree with each other and with the blob (a cheap structural check)."""
        n_blocks = -(-len(self) // self.per_block)
        return (
            self.offsets.ndim == self.blocks.ndim == 1
            and self.offsets.size >= 1
            and int(self.offsets[0]) == 0
            and self.blocks.shape == (n_blocks + 1,)
            and int(self.blocks[0]) == 0
            and int(self.blocks[-1]) == self.blob.size
            and self.sums.size == -(-self.blob.size // integrity.BLOCK)
            and _ascending(self.offsets)
            and _ascending(self.blocks)
        )


def _ascending(array: np.ndarray) -> bool:
    return array.size < 2 or bool((np.diff(array) >= 0).all())


def train(samples: list[bytes]) -> npt.NDArray[np.uint8] | None:
    """A zstd dictionary learnt from sample blocks, or None when there are too few to learn from."""
    if len(samples) < DICTIONARY_MIN_BLOCKS:
        return None
    try:
        learnt = zstandard.train_dictionary(DICTIONARY_BYTES, list(samples))
    except zstandard.ZstdError:  # samples too alike or too few to learn from
        return None
    return np.frombuffer(learnt.as_bytes(), dtype=np.uint8)


class BlockWriter:
    """Records compressed into blocks of `per_block` as they come, written straight to a file.

    What `Blocks.pack` makes in memory, made a few records at a time: merging segments
    re-blocks their records through this without holding any blob whole.
    """

    def __init__(self, out: BinaryIO, *, per_block: int, dictionary: npt.NDArray[np.uint8] | None = None) -> None:
        self.out, self.per_block = out, per_block
        self.dictionary = np.zeros(0, np.uint8) if dictionary is None else dictionary
        data = zstandard.ZstdCompressionDict(self.dictionary.tobytes()) if self.dictionary.size else None
        self._compressor = zstandard.ZstdCompressor(level=LEVEL, dict_data=data)
        self._pending = bytearray()
        self._ends: list[Ints] = []
        self._count = 0
        # Where each compressed block starts: 8 bytes a block, not a Python int's 36.
        self._starts = array("q", [0])

    def add(self, data: bytes, ends: Ints) -> None:
        """Add records: `data` holds them back to back, `ends` where each ends in it."""
        if ends.size:
            self._ends.append(ends + len(self._pending))
            self._pending += memoryview(data)[: int(ends[-1])]
            self._count += int(ends.size)
        if self._count >= self.per_block:
            self._emit(self._count - self._count % self.per_block)

    def _emit(self, records: int) -> None:
        """Compress the first `records` pending records, `per_block` to a block (the last may hold fewer)."""
        ends = np.concatenate(self._ends)
        cuts = ends[np.minimum(np.arange(self.per_block, records + self.per_block, self.per_block), records) - 1]
        compress, write, starts = self._compressor.compress, self.out.write, self._starts
        done = 0
        with memoryview(self._pending) as view:
            for cut in cuts.tolist():
                packed = compress(view[done:cut])
                write(packed)
                starts.append(starts[-1] + len(packed))
                done = cut
        del self._pending[:done]
        rest = ends[records:] - done
        self._ends = [rest] if rest.size else []
        self._count -= records

    def finish(self) -> Ints:
        """Write the last, partial block; return where each compressed block starts (and the end)."""
        if self._count:
            self._emit(self._count)
        return np.frombuffer(self._starts, dtype=np.int64).copy()
