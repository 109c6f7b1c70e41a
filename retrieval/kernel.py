"""Inside stage 5 (search) of load → split → analyze → index → search → select → answer.

The compiled scoring loop of `retrieval.search`, compiled by numba: document-at-a-time
MaxScore (Turtle and Flood 1995) over the query terms' packed postings (`retrieval.postings`)
in one segment, run interval by interval with per-block bounds (`block_max_maxscore`).

The passage ids are cut where any query term's block ends: within such an interval each
term's postings lie in one block, whose highest count and shortest passage (kept per block
in the segment, Ding and Suel 2011) bound the term's part there, read without unpacking
it. An interval whose bounds add up to less than the threshold is skipped; in the others the
terms are split by those bounds into *essential* ones, whose passages are visited one by
one, and the rest, whose bounds together fall short of the threshold: those are looked up
only at a passage whose partial score plus their bounds can still reach it. With a top-k
heap the threshold rises as better passages are found; with a fixed threshold (a prior will
still lower the scores) every passage that reaches it is collected.

A passage's score is the sum of its terms' parts taken in the query's scoring order (rarest
first), the order of `retrieval.search`'s full scan, so the two agree to the last bit; the
pruning tests compare them. The functions are compiled at first use and cached on disk
(`cache=True`), and release the GIL while they run.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from retrieval.postings import BLOCK, decode_block

# How BM25 turns a count into a term's part (`retrieval.bm25`): saturation over a length norm
# (lucene, okapi, bm25+), or BM25L's shifted form.
SATURATED = 0
BM25L = 1

Floats = npt.NDArray[np.float64]
Int64s = npt.NDArray[np.int64]
Ends = npt.NDArray[np.int32] | npt.NDArray[np.int64]  # where blocks end: int32 when the bytes allow
Int32s = npt.NDArray[np.int32]
Bytes = npt.NDArray[np.uint8]
Grid = npt.NDArray[np.int64]  # BLOCK entries per term, one term after another
Counts = npt.NDArray[np.uint16]
Lengths = npt.NDArray[np.uint16] | npt.NDArray[np.int32]

# Blocks of the rarest terms read to set a first threshold before the loop (`_seed`).
SEED_BLOCKS = 16


@njit(nogil=True, cache=True)
def _part(tf: float, norm: float, dl: float, form: int, k1: float, b: float, delta: float, avgdl: float) -> float:
    """One posting's term-frequency part minus its value at tf = 0, as `Searcher._weights` computes it.

    `norm` and `dl` are the passage's length norm and length.
    """
    if form == BM25L:
        c = tf / (1.0 - b + b * dl / avgdl)
        return (k1 + 1.0) * (c + delta) / (k1 + c + delta) - (k1 + 1.0) * delta / (k1 + delta)
    return tf * (k1 + 1.0) / (tf + norm)


@njit(nogil=True, cache=True)
def _norm(dl: float, k1: float, b: float, avgdl: float) -> float:
    """A passage's length norm, computed as `bm25.length_norm` computes it (so to the same bit).

    The loops read passages' lengths (2 or 4 bytes each) rather than precomputed norms (8):
    the passages they visit are scattered over the collection, and the smaller array spares
    most of the cache misses, which were most of the time of long questions.
    """
    return k1 * (1.0 - b + b * dl / avgdl)


@njit(nogil=True, cache=True)
def _worse(s1: float, d1: int, s2: float, d2: int) -> bool:
    """Whether hit 1 ranks below hit 2: a lower score, or the same score and a higher id."""
    return s1 < s2 or (s1 == s2 and d1 > d2)


@njit(nogil=True, cache=True)
def _sift_down(scores: Floats, docs: Int64s, n: int, i: int) -> None:
    while True:
        low = i
        left, right = 2 * i + 1, 2 * i + 2
        if left < n and _worse(scores[left], docs[left], scores[low], docs[low]):
            low = left
        if right < n and _worse(scores[right], docs[right], scores[low], docs[low]):
            low = right
        if low == i:
            return
        scores[i], scores[low] = scores[low], scores[i]
        docs[i], docs[low] = docs[low], docs[i]
        i = low


@njit(nogil=True, cache=True)
def _sift_up(scores: Floats, docs: Int64s, i: int) -> None:
    while i > 0:
        parent = (i - 1) // 2
        if not _worse(scores[i], docs[i], scores[parent], docs[parent]):
            return
        scores[i], scores[parent] = scores[parent], scores[i]
        docs[i], docs[parent] = docs[parent], docs[i]
        i = parent


@njit(nogil=True, cache=True)
def _essential_from(prefix: Floats, theta: float, margin: float) -> int:
    """How many of the lowest-bound terms together cannot reach theta (the non-essential ones)."""
    m = 0
    while m < prefix.size and prefix[m] < theta - margin:
        m += 1
    return m


@njit(nogil=True, cache=True)
def _load(
    t: int, b: int, data: Bytes, last: Int32s, ends: Ends, first: Int64s, docs: Grid, tfs: Grid, n_in: Int64s
) -> None:
    """Unpack block b of term t into row t of docs and tfs."""
    start = ends[b - 1] if b > 0 else 0
    prev = int(last[b - 1]) if b > first[t] else -1
    row = slice(t * BLOCK, (t + 1) * BLOCK)
    n_in[t] = decode_block(data, start, ends[b], prev, docs[row], tfs[row])


@njit(nogil=True, cache=True)
def _seek(
    t: int,
    d: int,
    data: Bytes,
    last: Int32s,
    ends: Ends,
    first: Int64s,
    stop: Int64s,
    block: Int64s,
    at: Int64s,
    docs: Grid,
    tfs: Grid,
    n_in: Int64s,
) -> bool:
    """Move term t's cursor to its first posting at or past passage d; return whether it is d."""
    b = block[t]
    if b >= stop[t]:
        return False
    if last[b] < d:
        # Gallop over whole blocks by their last id, then search the last stride.
        lo, hi, step = b + 1, stop[t], 1
        while lo + step < hi and last[lo + step - 1] < d:
            lo += step
            step *= 2
        top = min(lo + step, hi)
        while lo < top:
            mid = (lo + top) // 2
            if last[mid] < d:
                lo = mid + 1
            else:
                top = mid
        block[t] = lo
        at[t] = 0
        if lo >= stop[t]:
            return False
        _load(t, lo, data, last, ends, first, docs, tfs, n_in)
    i = at[t]
    while docs[t * BLOCK + i] < d:
        i += 1
    at[t] = i
    return docs[t * BLOCK + i] == d


@njit(nogil=True, cache=True)
def _cursors(
    data: Bytes, last: Int32s, ends: Ends, first: Int64s, stop: Int64s
) -> tuple[Int64s, Int64s, Grid, Grid, Int64s]:
    """Every term's cursor at its first posting: (block, place in it, unpacked ids, counts, how many)."""
    nt = first.size
    block = first.copy()
    at = np.zeros(nt, dtype=np.int64)
    docs = np.zeros(nt * BLOCK, dtype=np.int64)
    tfs = np.zeros(nt * BLOCK, dtype=np.int64)
    n_in = np.zeros(nt, dtype=np.int64)
    for t in range(nt):
        if first[t] < stop[t]:
            _load(t, first[t], data, last, ends, first, docs, tfs, n_in)
    return block, at, docs, tfs, n_in


@njit(nogil=True, cache=True)
def score_at(
    data: Bytes,
    last: Int32s,
    ends: Ends,
    first: Int64s,
    stop: Int64s,
    scales: Floats,
    doc_len: Lengths,
    form: int,
    k1: float,
    b: float,
    delta: float,
    avgdl: float,
    cand: Int64s,
) -> Floats:
    """The scores of the passages `cand` (local ids, ascending): each term's part, in scoring order."""
    block, at, docs, tfs, n_in = _cursors(data, last, ends, first, stop)
    out = np.zeros(cand.size)
    for c in range(cand.size):
        d = cand[c]
        score = 0.0
        for t in range(first.size):
            found = False
            bt = block[t]
            if bt < stop[t] and last[bt] >= d:
                j = at[t]
                while docs[t * BLOCK + j] < d:
                    j += 1
                at[t] = j
                found = docs[t * BLOCK + j] == d
            elif bt < stop[t]:
                found = _seek(t, d, data, last, ends, first, stop, block, at, docs, tfs, n_in)
            if found:
                dl = float(doc_len[d])
                tf = float(tfs[t * BLOCK + at[t]])
                score += scales[t] * _part(tf, _norm(dl, k1, b, avgdl), dl, form, k1, b, delta, avgdl)
        out[c] = score
    return out


@njit(nogil=True, cache=True)
def _block_bound(
    t: int,
    blk: int,
    scales: Floats,
    block_tf: Counts,
    block_len: Lengths,
    form: int,
    k1: float,
    b: float,
    delta: float,
    avgdl: float,
) -> float:
    """No part of term t in block blk exceeds this: its part at the block's highest count in its shortest passage."""
    if scales[t] <= 0.0:
        return 0.0
    dl = float(block_len[blk])
    return scales[t] * _part(float(block_tf[blk]), _norm(dl, k1, b, avgdl), dl, form, k1, b, delta, avgdl)


@njit(nogil=True, cache=True)
def _seed(
    data: Bytes,
    last: Int32s,
    ends: Ends,
    first: Int64s,
    stop: Int64s,
    scales: Floats,
    doc_len: Lengths,
    form: int,
    k1: float,
    b: float,
    delta: float,
    avgdl: float,
    live: npt.NDArray[np.bool_],
    k: int,
) -> float:
    """A score k live passages reach for sure: the k-th best part of one of the rarest terms.

    A passage's score adds its terms' parts, none negative when no weight is: it is at least
    its part of any one term. Only the rarest terms' first blocks (SEED_BLOCKS in all) are read.
    """
    best = -np.inf
    for t in range(scales.size):
        if scales[t] < 0.0:
            return -np.inf
    docs = np.zeros(BLOCK, dtype=np.int64)
    tfs = np.zeros(BLOCK, dtype=np.int64)
    top = np.zeros(k)
    budget = SEED_BLOCKS
    for t in range(scales.size):
        if stop[t] - first[t] > budget:
            break
        budget -= stop[t] - first[t]
        n = 0
        for s in range(first[t], stop[t]):
            start = ends[s - 1] if s > 0 else 0
            prev = int(last[s - 1]) if s > first[t] else -1
            got = decode_block(data, start, ends[s], prev, docs, tfs)
            for i in range(got):
                c = docs[i]
                if live.size and not live[c]:
                    continue
                dl = float(doc_len[c])
                part = scales[t] * _part(float(tfs[i]), _norm(dl, k1, b, avgdl), dl, form, k1, b, delta, avgdl)
                # The k largest so far, smallest first at top[0] (a min-heap of values).
                if n < k:
                    top[n] = part
                    j = n
                    while j > 0 and top[(j - 1) // 2] > top[j]:
                        top[(j - 1) // 2], top[j] = top[j], top[(j - 1) // 2]
                        j = (j - 1) // 2
                    n += 1
                elif part > top[0]:
                    top[0] = part
                    j = 0
                    while True:
                        low, left, right = j, 2 * j + 1, 2 * j + 2
                        if left < k and top[left] < top[low]:
                            low = left
                        if right < k and top[right] < top[low]:
                            low = right
                        if low == j:
                            break
                        top[j], top[low] = top[low], top[j]
                        j = low
        if n == k and top[0] > best:
            best = top[0]
    return best


@njit(nogil=True, cache=True)
def _rank(order: Int64s, t: int, lazy: int) -> bool:
    """Whether term t is among the first `lazy` of `order` (the non-essential ones)."""
    i = 0
    while i < lazy and order[i] != t:
        i += 1
    return i < lazy


@njit(nogil=True, cache=True)
def _shallow(last: Int32s, s: int, hi: int, d: int) -> int:
    """The first block from s (of those before hi) whose last id is at least d; hi when none."""
    if s >= hi or last[s] >= d:
        return s
    lo, step = s + 1, 1
    while lo + step < hi and last[lo + step - 1] < d:
        lo += step
        step *= 2
    top = min(lo + step, hi)
    while lo < top:
        mid = (lo + top) // 2
        if last[mid] < d:
            lo = mid + 1
        else:
            top = mid
    return lo


@njit(nogil=True, cache=True)
def block_max_maxscore(
    data: Bytes,
    last: Int32s,
    ends: Ends,
    block_tf: Counts,
    block_len: Lengths,
    first: Int64s,
    stop: Int64s,
    scales: Floats,
    bounds: Floats,
    doc_len: Lengths,
    form: int,
    k1: float,
    b: float,
    delta: float,
    avgdl: float,
    live: npt.NDArray[np.bool_],
    base: int,
    theta: float,
    heap_scores: Floats,
    heap_docs: Int64s,
    heap_n: int,
    out_docs: Int64s,
    out_scores: Floats,
    out_n: int,
) -> tuple[float, int, int, int]:
    """Score one segment's passages for a query, skipping those that cannot reach the threshold.

    MaxScore over intervals (Chakrabarti, Chaudhuri and Ganti 2011, with the block bounds of
    Ding and Suel 2011): within an interval each term's part is bounded by its block's
    highest count and shortest passage (`block_tf`, `block_len`), or 0 when its unpacked
    cursor is already past the interval. Terms come in scoring order: term t's postings are
    blocks first[t]:stop[t] of the segment's packed postings (`data`, with each block's
    `last` id and `ends`), its weight `scales[t]` and its bound over all its postings
    `bounds[t]`. `doc_len` holds the passages' lengths. With a heap (`heap_scores.size` =
    k > 0), the k best passages so far (global ids, `base` added) are kept in it and
    `theta` rises to the worst of them once it is full; without, every passage whose score
    reaches the fixed `theta` goes to `out_docs`/`out_scores` from `out_n` on. `live`
    (empty: all) hides deleted passages. Returns the threshold, the heap's size, how many
    passages the output holds (more than its size when it ran out of room: the arrays are
    never replaced here, which keeps the loop fast), and how many were scored in full.
    """
    nt = first.size
    k = heap_scores.size
    no_doc = np.iinfo(np.int64).max
    docs = np.zeros(nt * BLOCK, dtype=np.int64)
    tfs = np.zeros(nt * BLOCK, dtype=np.int64)
    n_in = np.zeros(nt, dtype=np.int64)
    sb = first.copy()  # each term's block for the interval
    dec = np.full(nt, -1, dtype=np.int64)  # the block unpacked in its row
    at = np.zeros(nt, dtype=np.int64)
    cur = np.full(nt, no_doc, dtype=np.int64)  # its cursor's passage (no_doc: none in the interval)
    cached = np.full(nt, -1, dtype=np.int64)  # the block whose bound `bound_of` holds
    bound_of = np.zeros(nt)
    local = np.zeros(nt)
    maybe = np.zeros(nt, dtype=np.bool_)  # whether the term may hold a passage of the interval
    act = np.zeros(nt, dtype=np.int64)  # the essential terms with postings left in the interval
    hit = np.zeros(nt, dtype=np.int64)  # those at the passage scored, with their counts
    hit_tf = np.zeros(nt, dtype=np.int64)
    order = np.arange(nt)
    prefix = np.zeros(nt)
    parts = np.zeros(nt)
    held = np.zeros(nt, dtype=np.bool_)
    if k > 0:
        theta = max(theta, _seed(data, last, ends, first, stop, scales, doc_len, form, k1, b, delta, avgdl, live, k))
    margin = 1e-9 * max(1.0, abs(theta)) if theta > -np.inf else 0.0
    scored = 0
    d = 0
    while True:
        # The interval [d, end]: every term's block that may hold d, the first of their ends.
        end = no_doc
        for t in range(nt):
            s = _shallow(last, sb[t], stop[t], d)
            sb[t] = s
            if s < stop[t] and last[s] < end:
                end = last[s]
        if end == no_doc:
            break
        for t in range(nt):
            s = sb[t]
            local[t] = 0.0
            cur[t] = no_doc
            maybe[t] = False
            if s >= stop[t]:
                continue
            if dec[t] == s:
                j = at[t]
                while docs[t * BLOCK + j] < d:
                    j += 1
                at[t] = j
                cur[t] = docs[t * BLOCK + j]
                if cur[t] > end:
                    continue
            maybe[t] = True
            if cached[t] != s:
                cached[t] = s
                bound_of[t] = _block_bound(t, s, scales, block_tf, block_len, form, k1, b, delta, avgdl)
            local[t] = bound_of[t]
        # Terms by their bound here, lowest first (insertion sort: the order changes little).
        for i in range(1, nt):
            t = order[i]
            j = i - 1
            while j >= 0 and local[order[j]] > local[t]:
                order[j + 1] = order[j]
                j -= 1
            order[j + 1] = t
        total = 0.0
        for i in range(nt):
            total += local[order[i]]
            prefix[i] = total
        lazy = _essential_from(prefix, theta, margin)
        if lazy == nt:
            # Skipped. While the terms that may hold a passage here stay short of the threshold
            # over all their postings, nothing reaches it before another term's next posting.
            reach = 0.0
            after = no_doc
            for t in range(nt):
                if maybe[t]:
                    reach += bounds[t]
                elif cur[t] < after:
                    after = cur[t]
            if reach < theta - margin:
                if after == no_doc:
                    break
                d = after
                continue
        # The essential terms with a posting in the interval, their cursors unpacked at d.
        n_act = 0
        for i in range(lazy, nt):
            t = order[i]
            s = sb[t]
            if not maybe[t]:
                continue
            if dec[t] != s:
                _load(t, s, data, last, ends, first, docs, tfs, n_in)
                dec[t] = s
                at[t] = 0
                j = 0
                while docs[t * BLOCK + j] < d:
                    j += 1
                at[t] = j
                cur[t] = docs[t * BLOCK + j]
            if cur[t] <= end:
                act[n_act] = t
                n_act += 1
        while n_act > 0:
            c = no_doc
            for i in range(n_act):
                if cur[act[i]] < c:
                    c = cur[act[i]]
            # The essential terms at c, their cursors moved on; those past the block leave.
            n_hit = 0
            i = 0
            while i < n_act:
                t = act[i]
                if cur[t] == c:
                    hit[n_hit] = t
                    hit_tf[n_hit] = tfs[t * BLOCK + at[t]]
                    n_hit += 1
                    at[t] += 1
                    if at[t] < n_in[t] and docs[t * BLOCK + at[t]] <= end:
                        cur[t] = docs[t * BLOCK + at[t]]
                    else:
                        cur[t] = no_doc
                        n_act -= 1
                        act[i] = act[n_act]
                        continue
                i += 1
            if not (live.size == 0 or live[c]):
                continue
            dlc = float(doc_len[c])
            normc = _norm(dlc, k1, b, avgdl)
            partial = 0.0
            for h in range(n_hit):
                t = hit[h]
                part = scales[t] * _part(float(hit_tf[h]), normc, dlc, form, k1, b, delta, avgdl)
                parts[t] = part
                held[t] = True
                partial += part
            reach = True
            i = lazy - 1
            while i >= 0:
                if partial + prefix[i] < theta - margin:
                    reach = False
                    break
                t = order[i]
                if maybe[t]:
                    s = sb[t]
                    if dec[t] != s:
                        _load(t, s, data, last, ends, first, docs, tfs, n_in)
                        dec[t] = s
                        at[t] = 0
                    j = at[t]
                    while docs[t * BLOCK + j] < c:
                        j += 1
                    at[t] = j
                    if docs[t * BLOCK + j] == c:
                        part = scales[t] * _part(float(tfs[t * BLOCK + j]), normc, dlc, form, k1, b, delta, avgdl)
                        parts[t] = part
                        held[t] = True
                        partial += part
                i -= 1
            if reach:
                scored += 1
                score = 0.0
                for t in range(nt):
                    if held[t]:
                        score += parts[t]
                g = c + base
                if k > 0:
                    if heap_n < k:
                        heap_scores[heap_n] = score
                        heap_docs[heap_n] = g
                        _sift_up(heap_scores, heap_docs, heap_n)
                        heap_n += 1
                    elif score > heap_scores[0]:
                        heap_scores[0] = score
                        heap_docs[0] = g
                        _sift_down(heap_scores, heap_docs, heap_n, 0)
                    if heap_n == k and heap_scores[0] > theta:
                        theta = heap_scores[0]
                        margin = 1e-9 * max(1.0, abs(theta))
                        raised = _essential_from(prefix, theta, margin)
                        # Terms that stop being essential leave the active list.
                        if raised > lazy:
                            lazy = raised
                            i = 0
                            while i < n_act:
                                if local[act[i]] <= prefix[lazy - 1] and _rank(order, act[i], lazy):
                                    n_act -= 1
                                    act[i] = act[n_act]
                                else:
                                    i += 1
                elif score >= theta - margin:
                    if out_n < out_docs.size:
                        out_docs[out_n] = g
                        out_scores[out_n] = score
                    out_n += 1
            for t in range(nt):
                held[t] = False
        d = end + 1
    return theta, heap_n, out_n, scored
