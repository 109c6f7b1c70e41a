"""How a segment stores its postings: part of stage 4 (index), read by stage 5 (search).

    load → split → analyze → **index** (postings packed here) → **search** (unpacked here) → …

A term's postings (passage ids ascending, with their counts) are cut into blocks of `BLOCK`.
Each posting is one variable-length integer (7 bits a byte, the high bit set on every byte
but the last): the gap from the previous passage id (from -1 for a term's first) shifted left
once, its low bit set when the count is above 1, in which case a second such integer holds
count - 2 (Lucene's postings do the same). Most gaps and counts take one byte: a posting
costs about 1.4 bytes instead of the 5 of a 32-bit id and a byte of count.

Per block a segment keeps the last passage id (to skip a whole block when looking a passage
up), where its bytes end, and the highest count and shortest passage among its postings:
together they bound the score of any posting in the block (block-max pruning, Ding and Suel
2011), without unpacking it. Blocks of one term follow each other; term t's blocks are those
`block_first(post_offsets)` gives. The functions here are compiled by numba (`cache=True`):
the search loop (`retrieval.kernel`) decodes blocks with `decode_block`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

BLOCK = 128

Bytes = npt.NDArray[np.uint8]
Int32s = npt.NDArray[np.int32]
Int64s = npt.NDArray[np.int64]
Ends = npt.NDArray[np.int32] | npt.NDArray[np.int64]  # where blocks end: int32 when the bytes allow
Counts = npt.NDArray[np.uint16]


def warm() -> None:
    """Load `encode` now (from numba's cache, else compiled), on a posting of one passage.

    Numba's first load in a process also sets its compiler up, about 0.3 s: an engine pays it
    when it opens, rather than in the first refresh that indexes a new article (set up in the
    background, it slowed that refresh as much, and the answer after it).
    """
    one = np.ones(1, dtype=np.int32)
    encode(np.zeros(1, dtype=np.int32), np.ones(1, dtype=np.uint16), np.array([0, 1], dtype=np.int64), one)


def block_first(post_offsets: npt.NDArray[np.int32] | Int64s) -> Int64s:
    """Each term's first block, and the end of the last term's (n_terms + 1 entries)."""
    counts = np.diff(np.asarray(post_offsets, dtype=np.int64))
    first = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum((counts + BLOCK - 1) // BLOCK, out=first[1:])
    return first


@njit(cache=True, nogil=True)
def _put(out: Bytes, at: int, value: int) -> int:
    while value >= 128:
        out[at] = (value & 127) | 128
        value >>= 7
        at += 1
    out[at] = value
    return at + 1


@njit(cache=True, nogil=True)
def encode(
    docs: Int32s, tfs: Counts, offsets: Int64s, doc_len: Int32s | Counts
) -> tuple[Bytes, Int32s, Int64s, Counts, Int32s]:
    """Pack the postings of consecutive terms (term t's are docs[offsets[t]:offsets[t + 1]]).

    Returns the bytes, and each block's last passage id, end (in bytes), highest count and
    shortest passage (`doc_len[passage]`): what bounds any score in the block.
    """
    n_terms = offsets.size - 1
    n_blocks = 0
    for t in range(n_terms):
        n_blocks += (offsets[t + 1] - offsets[t] + BLOCK - 1) // BLOCK
    out = np.empty(2 * docs.size + 16, dtype=np.uint8)
    last = np.empty(n_blocks, dtype=np.int32)
    ends = np.empty(n_blocks, dtype=np.int64)
    max_tf = np.zeros(n_blocks, dtype=np.uint16)
    min_len = np.empty(n_blocks, dtype=np.int32)
    at = 0
    b = 0
    top, short = 0, np.iinfo(np.int32).max
    for t in range(n_terms):
        prev = -1
        lo, hi = offsets[t], offsets[t + 1]
        for j in range(lo, hi):
            if at + 16 > out.size:
                grown = np.empty(2 * out.size, dtype=np.uint8)
                grown[:at] = out[:at]
                out = grown
            doc, tf = int(docs[j]), int(tfs[j])
            at = _put(out, at, ((doc - prev) << 1) | (1 if tf > 1 else 0))
            if tf > 1:
                at = _put(out, at, tf - 2)
            prev = doc
            top, short = max(top, tf), min(short, int(doc_len[doc]))
            if (j - lo) % BLOCK == BLOCK - 1 or j == hi - 1:
                last[b] = doc
                ends[b] = at
                max_tf[b] = top
                min_len[b] = short
                top, short = 0, np.iinfo(np.int32).max
                b += 1
    return out[:at].copy(), last, ends, max_tf, min_len


# Inlined where it is called: it runs once or twice per posting unpacked.
@njit(cache=True, nogil=True, inline="always")
def _get(data: Bytes, at: int) -> tuple[int, int]:
    """Read the variable-length integer at data[at]; return it and where the next one starts."""
    value = 0
    shift = 0
    while True:
        byte = int(data[at])
        at += 1
        value |= (byte & 127) << shift
        if byte < 128:
            return value, at
        shift += 7


@njit(cache=True, nogil=True)
def decode_block(data: Bytes, start: int, end: int, prev: int, docs: Int64s, tfs: Int64s) -> int:
    """Unpack the postings in data[start:end] (after passage id `prev`) into docs and tfs; return how many."""
    at = start
    n = 0
    while at < end:
        value, at = _get(data, at)
        prev += value >> 1
        docs[n] = prev
        if value & 1:
            tf, at = _get(data, at)
            tfs[n] = tf + 2
        else:
            tfs[n] = 1
        n += 1
    return n


@njit(cache=True, nogil=True)
def decode(data: Bytes, last: Int32s, ends: Ends, first: int, stop: int, count: int) -> tuple[Int32s, Counts]:
    """Unpack `count` postings from blocks first..stop-1 (one term's, or the first of them)."""
    docs = np.empty(count, dtype=np.int32)
    tfs = np.empty(count, dtype=np.uint16)
    block_docs = np.empty(BLOCK, dtype=np.int64)
    block_tfs = np.empty(BLOCK, dtype=np.int64)
    n = 0
    for b in range(first, stop):
        if n >= count:
            break
        start = ends[b - 1] if b > 0 else 0
        prev = int(last[b - 1]) if b > first else -1
        got = decode_block(data, start, ends[b], prev, block_docs, block_tfs)
        for i in range(min(got, count - n)):
            docs[n + i] = block_docs[i]
            tfs[n + i] = block_tfs[i]
        n += got
    return docs, tfs


@njit(cache=True, nogil=True)
def decode_docs(data: Bytes, last: Int32s, ends: Ends, offsets: Int64s) -> Int32s:
    """Unpack the passage ids of every term's postings, terms in order."""
    docs = np.empty(offsets[-1], dtype=np.int32)
    block_docs = np.empty(BLOCK, dtype=np.int64)
    block_tfs = np.empty(BLOCK, dtype=np.int64)
    n = 0
    b = 0
    for t in range(offsets.size - 1):
        prev = -1
        for _ in range((offsets[t + 1] - offsets[t] + BLOCK - 1) // BLOCK):
            got = decode_block(data, ends[b - 1] if b > 0 else 0, ends[b], prev, block_docs, block_tfs)
            docs[n : n + got] = block_docs[:got]
            n += got
            prev = int(last[b])
            b += 1
    return docs


@njit(cache=True, nogil=True)
def decode_terms(data: Bytes, last: Int32s, ends: Ends, first: int, offsets: Int64s) -> tuple[Int32s, Counts]:
    """Unpack the postings of consecutive terms whose blocks start at block `first`, terms in order.

    Term i holds the postings offsets[i]:offsets[i + 1] (`offsets` as the segment stores
    them for those terms, so not necessarily from 0): the result is what `decode` gives for
    each term, one after the other, in one call.
    """
    base = offsets[0]
    docs = np.empty(offsets[-1] - base, dtype=np.int32)
    tfs = np.empty(offsets[-1] - base, dtype=np.uint16)
    block_docs = np.empty(BLOCK, dtype=np.int64)
    block_tfs = np.empty(BLOCK, dtype=np.int64)
    n = 0
    b = first
    for t in range(offsets.size - 1):
        prev = -1
        for _ in range((offsets[t + 1] - offsets[t] + BLOCK - 1) // BLOCK):
            got = decode_block(data, ends[b - 1] if b > 0 else 0, ends[b], prev, block_docs, block_tfs)
            for i in range(got):
                docs[n + i] = block_docs[i]
                tfs[n + i] = block_tfs[i]
            n += got
            prev = int(last[b])
            b += 1
    return docs, tfs
