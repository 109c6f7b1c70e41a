"""Inside stage 5 (search) of load → split → analyze → index → search → select → answer.

The compiled scoring loop of `retrieval.search`: document-at-a-time MaxScore (Turtle and Flood
1995) over the query terms' postings in one segment, compiled by numba. The query's terms are
split by their score bounds into *essential* ones, whose passages are visited one by one, and
the rest, whose bounds together fall short of the threshold: those are only looked up (by
galloping search) at a passage whose partial score plus their bounds can still reach it. With
a top-k heap the threshold rises as better passages are found; with a fixed threshold (a prior
will still lower the scores) every passage that reaches it is collected.

A passage's score is the sum of its terms' parts taken in the query's scoring order (rarest
first), the order of `retrieval.search`'s full scan, so the two agree to the last bit; the
pruning tests compare them. The functions are compiled at first use and cached on disk
(`cache=True`), and release the GIL while they run.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

# How BM25 turns a count into a term's part (`retrieval.bm25`): saturation over a length norm
# (lucene, okapi, bm25+), or BM25L's shifted form.
SATURATED = 0
BM25L = 1

Floats = npt.NDArray[np.float64]
Int64s = npt.NDArray[np.int64]


@njit(inline="always", nogil=True, cache=True)
def _part(
    tf: float, d: int, form: int, norm: Floats, dl: Floats, k1: float, b: float, delta: float, avgdl: float
) -> float:
    """One posting's term-frequency part minus its value at tf = 0, as `Searcher._weights` computes it."""
    if form == BM25L:
        c = tf / (1.0 - b + b * dl[d] / avgdl)
        return (k1 + 1.0) * (c + delta) / (k1 + c + delta) - (k1 + 1.0) * delta / (k1 + delta)
    return tf * (k1 + 1.0) / (tf + norm[d])


@njit(inline="always", nogil=True, cache=True)
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
def maxscore(
    post_docs: npt.NDArray[np.int32],
    post_tf: npt.NDArray[np.integer],
    starts: Int64s,
    ends: Int64s,
    scales: Floats,
    bounds: Floats,
    norm: Floats,
    dl: Floats,
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
) -> tuple[float, int, Int64s, Floats, int, int]:
    """Score one segment's passages for a query, skipping those that cannot reach the threshold.

    Terms come in scoring order with their postings `post_docs[starts[t]:ends[t]]` and
    `post_tf[...]`, weight `scales[t]` and bound `bounds[t]` (no part of term t exceeds it).
    With a heap (`heap_scores.size` = k > 0), the k best passages so far (global ids, `base`
    added) are kept in it and `theta` rises to the worst of them once it is full; without,
    every passage whose score reaches the fixed `theta` goes to `out_docs`/`out_scores`
    (grown as needed). `live` (empty: all) hides deleted passages. Returns the threshold, the
    heap's size, the output arrays with their size, and how many passages were scored in full.
    """
    nt = starts.size
    k = heap_scores.size
    pos = starts.copy()
    order = np.argsort(bounds, kind="mergesort")
    prefix = np.cumsum(bounds[order])
    parts = np.zeros(nt)
    held = np.zeros(nt, dtype=np.bool_)
    margin = 1e-9 * max(1.0, abs(theta))
    lazy = _essential_from(prefix, theta, margin) if theta > -np.inf else 0
    no_doc = np.iinfo(np.int64).max
    scored = 0
    while lazy < nt:
        d = no_doc
        for i in range(lazy, nt):
            t = order[i]
            if pos[t] < ends[t]:
                here = int(post_docs[pos[t]])
                if here < d:
                    d = here
        if d == no_doc:
            break
        partial = 0.0
        for i in range(lazy, nt):
            t = order[i]
            if pos[t] < ends[t] and post_docs[pos[t]] == d:
                part = scales[t] * _part(float(post_tf[pos[t]]), d, form, norm, dl, k1, b, delta, avgdl)
                parts[t] = part
                held[t] = True
                partial += part
                pos[t] += 1
        reach = live.size == 0 or live[d]
        i = lazy - 1
        while reach and i >= 0:
            if partial + prefix[i] < theta - margin:
                reach = False
                break
            t = order[i]
            # Gallop to the first posting at or past d, then search the last stride.
            lo, hi, step = pos[t], ends[t], 1
            while lo + step < hi and post_docs[lo + step] < d:
                lo += step
                step *= 2
            top = min(lo + step, hi)
            while lo < top:
                mid = (lo + top) // 2
                if post_docs[mid] < d:
                    lo = mid + 1
                else:
                    top = mid
            pos[t] = lo
            if lo < hi and post_docs[lo] == d:
                part = scales[t] * _part(float(post_tf[lo]), d, form, norm, dl, k1, b, delta, avgdl)
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
            g = d + base
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
                    lazy = _essential_from(prefix, theta, margin)
            elif score >= theta - margin:
                if out_n == out_docs.size:
                    grown_docs = np.empty(2 * out_docs.size + 64, dtype=np.int64)
                    grown_scores = np.empty(2 * out_docs.size + 64)
                    grown_docs[:out_n] = out_docs[:out_n]
                    grown_scores[:out_n] = out_scores[:out_n]
                    out_docs, out_scores = grown_docs, grown_scores
                out_docs[out_n] = g
                out_scores[out_n] = score
                out_n += 1
        for t in range(nt):
            held[t] = False
    return theta, heap_n, out_docs, out_scores, out_n, scored
