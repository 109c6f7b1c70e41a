"""Stage 5 of load → split → analyze → index → search → select → answer: top passages.

BM25 over the live passages of every segment, with corpus statistics (N, average length,
document frequencies) taken over all of them, so an index made of several segments scores
exactly as one rebuilt from scratch. A query touches only its own terms' postings: scores
are accumulated into a per-thread buffer at those passages only, and the top k are picked
with `partition`, never by sorting every score.

Pruning is exact (MaxScore with block bounds, `retrieval.kernel`): each term's score is bounded
from above by its highest frequency and shortest passage, over all its postings and block by
block (both kept in the segment); a compiled loop visits passages in order, keeps the k best,
skips the stretches of passages where the blocks' bounds fall short of the k-th best, and
skips a passage as soon as its partial score plus the bounds of the terms still to look up
falls short of it. Every path adds the terms' parts in one order (rarest first), so pruned
and full scores agree to the last bit (`tests/test_search.py` compares them on random
queries for every variant). A prior (a
multiplier in [0, 1] per passage, such as the age of its article) only lowers scores: with one,
a weighted score that k passages reach is learnt first, every passage whose own score, times the
prior's highest multiplier, can reach it is collected, and the prior is applied to those. When
the prior reorders little (an archive of old news, a week no article falls in), that score comes
from the loop keeping the best passages by their own scores, and most often no other passage can
reach it even at the prior's highest multiplier: those passages hold the top k, and nothing more
is collected.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from retrieval import bm25, kernel
from retrieval.index import Segment
from retrieval.settings import BM25Settings

Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Int64s = npt.NDArray[np.int64]
# Given candidate passages (global ids), a multiplier in [0, 1] for each: 0 hides a passage.
Prior = Callable[[npt.NDArray[np.int64]], npt.NDArray[np.float64]]


# With a prior that reorders little (its lowest multiplier at least PRIOR_SPREAD of its highest),
# the threshold is learnt from PRIOR_DEPTH times k passages, the best by their own scores.
PRIOR_SPREAD = 0.5
PRIOR_DEPTH = 2
# The passages scored to learn the pruning threshold stay under this share of the query's.
SEED_SHARE = 0.05
SEED_MAX = 2048
# Passages a search with a prior collects before it must run again with more room (an array
# left unwritten costs no memory).
OUT_ROOM = 1 << 16
# How many terms' postings a searcher keeps looked up (a few hundred bytes each).
POSTINGS_KEPT = 50_000
_NO_MASK = np.zeros(0, dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class PassageHit:
    """A passage and its BM25 score; `passage` is global, (`segment`, `local`) locate it."""

    passage: int
    score: float
    segment: int
    local: int


@dataclass(frozen=True, slots=True)
class TermPostings:
    """One query term among the live passages: its document frequency and id in each segment."""

    term: str
    df: int
    local_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Term:
    """A query term ready to score: its weight, its postings per segment, its score bound."""

    scale: float
    slices: tuple[tuple[int, int, int, float], ...]  # (segment, term id there, postings there, score bound there)
    size: int
    df: int


class Searcher:
    """Score passages of a list of segments (with their live-passage masks) by BM25."""

    # With a prior, a threshold is learnt first only for queries with more postings than this:
    # below, learning it costs more than scanning.
    seed_min_postings = 20_000

    def __init__(
        self,
        segments: Sequence[Segment],
        live: Sequence[Bools | None],
        settings: BM25Settings,
    ) -> None:
        self.segments = tuple(segments)
        self.live = tuple(live)
        self.settings = settings
        counts = [s.n_passages for s in self.segments]
        self.bases = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        self.n_total = int(self.bases[-1])
        dl = (
            np.concatenate([np.asarray(s.doc_len, dtype=np.float64) for s in self.segments])
            if self.segments
            else np.zeros(0)
        )
        mask = (
            np.concatenate(
                [np.ones(s.n_passages, bool) if m is None else m for s, m in zip(self.segments, self.live, strict=True)]
            )
            if self.segments
            else np.zeros(0, bool)
        )
        self.n_live = int(mask.sum())
        self._mask = None if self.n_live == self.n_total else mask
        self.avgdl = float(dl[mask].sum() / self.n_live) if self.n_live else 1.0
        if self.avgdl <= 0:
            self.avgdl = 1.0
        self._dl = dl
        self._norm = bm25.length_norm(dl, self.avgdl, k1=settings.k1, b=settings.b)
        self._local = threading.local()
        self._okapi_floor: float | None = None
        self._postings: dict[str, TermPostings] = {}
        self._idf: dict[int, float] = {}  # by document frequency
        sent_total = sum(int(s.sent_terms.size) for s in self.segments)
        sent_count = sum(s.n_sentences for s in self.segments)
        self.avg_sentence_len = sent_total / sent_count if sent_total else 1.0

    # -- statistics ---------------------------------------------------------------------

    def postings(self, term: str) -> TermPostings:
        """Return where `term` is in every segment, and how many live passages hold it.

        Kept per term (the segments never change), so the stages of one answer, and the
        questions after it, look each term up once.
        """
        known = self._postings.get(term)
        if known is not None:
            return known
        ids = []
        df = 0
        for i, seg in enumerate(self.segments):
            tid = seg.term_id(term)
            ids.append(tid)
            if tid < 0:
                continue
            mask = self.live[i]
            if mask is None:
                df += int(seg.post_offsets[tid + 1] - seg.post_offsets[tid])
            else:
                df += int(np.count_nonzero(mask[seg.term_postings(tid)[0]]))
        if len(self._postings) >= POSTINGS_KEPT:
            self._postings.clear()
        found = self._postings[term] = TermPostings(term, df, tuple(ids))
        return found

    def idf(self, df: int) -> float:
        """The idf of a term with document frequency `df` under the configured variant."""
        known = self._idf.get(df)
        if known is not None:
            return known
        n, d = self.n_live, np.array([float(df)])
        variant = self.settings.variant
        if variant == "lucene":
            idf = float(bm25.idf_lucene(n, d)[0])
        elif variant == "bm25l":
            idf = float(bm25.idf_bm25l(n, d)[0])
        elif variant == "bm25+":
            idf = float(bm25.idf_bm25plus(n, d)[0])
        else:
            raw = float(bm25.idf_okapi_raw(n, d)[0])
            idf = raw if raw >= 0 else self.okapi_floor()
        if len(self._idf) >= POSTINGS_KEPT:
            self._idf.clear()
        self._idf[df] = idf
        return idf

    def okapi_floor(self) -> float:
        """rank_bm25's floor for negative Okapi idf, over every live term (computed once)."""
        if self._okapi_floor is None:
            vocabs, dfs = [], []
            for seg, mask in zip(self.segments, self.live, strict=True):
                if mask is None:
                    df = np.diff(seg.post_offsets)
                else:
                    alive = mask[seg.all_posting_docs()].astype(np.int64)
                    cum = np.concatenate(([0], np.cumsum(alive)))
                    df = cum[seg.post_offsets[1:]] - cum[seg.post_offsets[:-1]]
                vocabs.append(np.asarray(seg.vocab).astype(object))
                dfs.append(df)
            total: npt.NDArray[np.float64] = np.zeros(0)
            if vocabs:
                words, inverse = np.unique(np.concatenate(vocabs), return_inverse=True)
                total = np.bincount(inverse, weights=np.concatenate(dfs), minlength=words.size).astype(np.float64)
                total = total[total > 0]
            self._okapi_floor = bm25.okapi_floor(bm25.idf_okapi_raw(self.n_live, total))
        return self._okapi_floor

    # -- scoring ------------------------------------------------------------------------

    def _buffer(self) -> npt.NDArray[np.float64]:
        buf = getattr(self._local, "buf", None)
        if buf is None:
            buf = np.zeros(self.n_total, dtype=np.float64)
            self._local.buf = buf
        return buf

    def _weights(self, docs: npt.NDArray[np.int64], tf: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Term-frequency part of each posting, minus its value at tf = 0."""
        s = self.settings
        if s.variant == "bm25l":
            part = bm25.tf_bm25l(tf, self._dl[docs], self.avgdl, k1=s.k1, b=s.b, delta=s.delta)
            return part - (s.k1 + 1.0) * s.delta / (s.k1 + s.delta)
        return bm25.tf_saturated(tf, self._norm[docs], k1=s.k1)

    def _bound(self, max_tf: float, min_len: float) -> float:
        """The largest `_weights` of any posting with tf <= max_tf in a passage >= min_len long.

        Every variant's part grows with tf and shrinks with passage length.
        """
        s = self.settings
        # The formulas of `bm25` on plain floats (a bound, not a score: a last bit may differ).
        if s.variant == "bm25l":
            c = max_tf / (1.0 - s.b + s.b * min_len / self.avgdl)
            return (s.k1 + 1.0) * (c + s.delta) / (s.k1 + c + s.delta) - (s.k1 + 1.0) * s.delta / (s.k1 + s.delta)
        return max_tf * (s.k1 + 1.0) / (max_tf + s.k1 * (1.0 - s.b + s.b * min_len / self.avgdl))

    def _baseline(self, idf: float) -> float:
        """What the variant gives every passage for a query term, even one without it."""
        s = self.settings
        if s.variant == "bm25+":
            return idf * s.delta
        if s.variant == "bm25l":
            return idf * (s.k1 + 1.0) * s.delta / (s.k1 + s.delta)
        return 0.0

    def _query(self, terms: Sequence[str]) -> tuple[list[_Term], float]:
        """Each distinct query term with its postings and bound, and what every passage gets regardless."""
        query = []
        constant = 0.0
        for term, count in Counter(terms).items():
            post = self.postings(term)
            if post.df == 0:
                continue
            idf = self.idf(post.df)
            constant += count * self._baseline(idf)
            scale = count * idf
            slices, size = [], 0
            for si, tid in enumerate(post.local_ids):
                if tid < 0:
                    continue
                seg = self.segments[si]
                count = int(seg.post_offsets[tid + 1] - seg.post_offsets[tid])
                # A negative weight (Okapi's floored idf can be) only lowers a score: bound 0.
                bound = (
                    scale * self._bound(float(seg.term_max_tf[tid]), float(seg.term_min_len[tid])) if scale > 0 else 0.0
                )
                slices.append((si, tid, count, bound))
                size += count
            query.append(_Term(scale, tuple(slices), size, post.df))
        # One order for every way of scoring (rarest term first), so sums agree to the last bit.
        query.sort(key=lambda t: t.df)
        return query, constant

    def _docs(self, term: _Term) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]:
        """The passages (global ids, ascending) that hold a term with their counts, one pair per segment."""
        out = []
        for si, tid, _, _ in term.slices:
            docs, tfs = self.segments[si].term_postings(tid)
            out.append((docs.astype(np.int64) + self.bases[si], tfs.astype(np.float64)))
        return out

    def _threshold(self, query: list[_Term], k: int, constant: float, prior: Prior | None) -> float:
        """A score that k live passages reach for sure: the k-th best among some of the rarest terms' passages.

        Only a few terms' passages are scored for it (any passages scored exactly give a valid
        threshold); -inf when they are fewer than k.
        """
        seed: list[npt.NDArray[np.int64]] = []
        have = 0
        budget = max(4 * k, min(SEED_MAX, int(SEED_SHARE * sum(t.size for t in query))))
        for term in sorted(query, key=lambda t: t.size):
            if have >= 4 * k:
                break
            for si, tid, _, _ in term.slices:
                if have < budget:
                    docs = self.segments[si].term_postings(tid, first=budget - have)[0]
                    seed.append(docs.astype(np.int64) + self.bases[si])
                    have += docs.size
        if have < k:
            return -np.inf
        cand = np.unique(np.concatenate(seed))
        if self._mask is not None:
            cand = cand[self._mask[cand]]
        if cand.size < k:
            return -np.inf
        scores = np.zeros(cand.size)
        scales = np.array([t.scale for t in query])
        for si, seg in enumerate(self.segments):
            base = int(self.bases[si])
            a, z = np.searchsorted(cand, [base, base + seg.n_passages])
            if a == z:
                continue
            first, stop, _ = self._blocks(query, si)
            form, k1, b, delta, avgdl = self._form()
            scores[a:z] = kernel.score_at(
                seg.post_bytes,
                seg.block_last,
                seg.block_end,
                first,
                stop,
                scales,
                seg.doc_len,
                form,
                k1,
                b,
                delta,
                avgdl,
                cand[a:z] - base,
            )
        if prior is not None:
            scores = _weigh(scores, prior(cand), constant)
        return float(np.partition(scores, cand.size - k)[cand.size - k])

    def _blocks(self, query: list[_Term], si: int) -> tuple[Int64s, Int64s, Floats]:
        """Each query term's blocks in segment si (first, end; none when it lacks the term) and its bound there."""
        seg = self.segments[si]
        first = np.zeros(len(query), dtype=np.int64)
        stop = np.zeros(len(query), dtype=np.int64)
        bounds = np.zeros(len(query))
        for i, term in enumerate(query):
            for tsi, tid, _, bound in term.slices:
                if tsi == si:
                    first[i], stop[i], bounds[i] = seg.block_first[tid], seg.block_first[tid + 1], bound
        return first, stop, bounds

    def _form(self) -> tuple[int, float, float, float, float]:
        """The formula as the compiled loops take it: its form, k1, b, delta and the average length."""
        s = self.settings
        form = kernel.BM25L if s.variant == "bm25l" else kernel.SATURATED
        return form, s.k1, s.b, s.delta, self.avgdl

    def search(
        self,
        terms: Sequence[str],
        k: int = 10,
        *,
        prune: bool = True,
        prior: Prior | None = None,
        prior_range: tuple[float, float] = (0.0, 1.0),
    ) -> list[PassageHit]:
        """Return the k best live passages for the query terms, best first (ties: lower id first).

        With `prune`, the compiled MaxScore loop (`retrieval.kernel`, Turtle and Flood 1995,
        over block bounds) skips the passages that cannot reach the top k; without, every posting is scored
        here in NumPy. Both give the same passages and scores, to the last bit. `prior`
        multiplies each candidate's score (clipped to [0, 1]; 0 hides the passage), e.g. by
        the age of its article; `prior_range`, when known, holds every multiplier it gives a
        passage it does not hide (the narrower, the more is skipped).
        """
        if not terms or k <= 0 or not self.n_live:
            return []
        query, constant = self._query(terms)
        if not query:
            return []
        if prune:
            cand, scores, _ = self._compiled(query, k, constant, prior, prior_range)
        else:
            cand, scores = self._full(query)
        if prior is not None:
            scores = _weigh(scores, prior(cand), constant)
            keep = scores > -np.inf
            cand, scores = cand[keep], scores[keep]
        best = _top(cand, scores, k)
        passages = np.array([p for p, _ in best], dtype=np.int64)
        segs = (np.searchsorted(self.bases, passages, side="right") - 1).tolist()
        return [
            PassageHit(p, sc + constant, si, p - int(self.bases[si])) for (p, sc), si in zip(best, segs, strict=True)
        ]

    def _full(self, query: list[_Term]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Every live passage holding a query term, with its score (without the constant): a full scan."""
        buf = self._buffer()
        held: list[npt.NDArray[np.int64]] = []
        for term in query:
            for docs, tfs in self._docs(term):
                buf[docs] += term.scale * self._weights(docs, tfs)
                held.append(docs)
        cand = np.unique(np.concatenate(held)) if len(held) > 1 else held[0]
        scores = buf[cand]
        buf[cand] = 0.0
        if self._mask is not None:
            keep = self._mask[cand]
            cand, scores = cand[keep], scores[keep]
        return cand, scores

    def _compiled(
        self,
        query: list[_Term],
        k: int,
        constant: float,
        prior: Prior | None,
        prior_range: tuple[float, float] = (0.0, 1.0),
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], int]:
        """Candidates for the top k with their scores (without the constant), and how many passages were scored.

        Without a prior the loop keeps the k best itself. A prior only lowers scores, so with
        one a weighted score that k passages reach is learnt first, and every passage whose own
        score, times the prior's highest multiplier, reaches it is returned, for the prior to be
        applied. When the prior reorders little (its least multiplier, hidden passages aside,
        is at least PRIOR_SPREAD of its highest), that score is learnt from the best passages
        by their own scores (`_learn`), which most often are the candidates themselves; else
        from a sample of the rarest terms' passages (`_threshold`).
        """
        if prior is None:
            docs, scores, _, scored = self._maxscore(query, k, -np.inf, 0)
            return docs, scores, scored
        low, top = prior_range[0], min(1.0, prior_range[1])
        if low >= PRIOR_SPREAD * top:
            reached, done, scored = self._learn(query, k, constant, prior, top)
            if done is not None:
                return (*done, scored)
        else:
            big = sum(t.size for t in query) > self.seed_min_postings
            reached, scored = (self._threshold(query, k, constant, prior) if big else -np.inf), 0
        # The weighted score (own + constant) * m - constant reaches `reached` only if
        # own >= (reached + constant) / m - constant >= (reached + constant) / top - constant.
        theta = (reached + constant) / top - constant if reached + constant > 0 else -np.inf
        # Room for what the threshold lets through, mostly: running out costs a second pass.
        _, _, (out_docs, out_scores), more = self._maxscore(query, 0, theta, OUT_ROOM)
        return out_docs, out_scores, scored + more

    def _learn(
        self, query: list[_Term], k: int, constant: float, prior: Prior, top: float
    ) -> tuple[float, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]] | None, int]:
        """A weighted score k passages reach under `prior` (at most `top`), or the candidates; and how many were scored.

        The PRIOR_DEPTH × k best passages by their own scores, with the prior applied, give a
        score that k passages reach. Every other passage scores at most the least of them on
        its own, and at most that times `top` with the prior: when that falls short, they hold
        the top k and are returned as the candidates.
        """
        depth = PRIOR_DEPTH * k
        docs, own, _, scored = self._maxscore(query, depth, -np.inf, 0)
        if docs.size < depth:  # every live passage holding a query term
            return -np.inf, (docs, own), scored
        weighted = _weigh(own, prior(docs), constant)
        shown = weighted[weighted > -np.inf]
        if shown.size < k:
            return -np.inf, None, scored
        reached = float(np.partition(shown, shown.size - k)[shown.size - k])
        # The most any other passage can score with the prior (a weight near 0 gives -constant).
        others = max((float(own.min()) + constant) * top, 0.0) - constant
        if others < reached - 1e-9 * max(1.0, abs(reached)):
            return reached, (docs, own), scored
        return reached, None, scored

    def _maxscore(
        self, query: list[_Term], k: int, theta: float, room: int
    ) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.float64], tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]], int
    ]:
        """One pass of the compiled loop over every segment: the k best (with k > 0) or every
        passage reaching the fixed `theta` (k = 0), and how many passages were scored."""
        heap_scores, heap_docs, heap_n = np.zeros(k), np.zeros(k, dtype=np.int64), 0
        out_docs, out_scores, out_n = np.empty(room, dtype=np.int64), np.empty(room), 0
        scales = np.array([t.scale for t in query])
        scored = 0
        for si, seg in enumerate(self.segments):
            first, stop, bounds = self._blocks(query, si)
            if not (stop - first).any():
                continue
            mask = self.live[si]
            args = (
                seg.post_bytes,
                seg.block_last,
                seg.block_end,
                seg.block_max_tf,
                seg.block_min_len,
                first,
                stop,
                scales,
                bounds,
                seg.doc_len,
                *self._form(),
            )
            live, base = _NO_MASK if mask is None else mask, int(self.bases[si])
            while True:
                found = kernel.block_max_maxscore(
                    *args, live, base, theta, heap_scores, heap_docs, heap_n, out_docs, out_scores, out_n
                )
                if found[2] <= out_docs.size:
                    break
                # Out of room for what it collected: again, with room for it all.
                room = 2 * found[2]
                out_docs = np.concatenate((out_docs[:out_n], np.empty(room - out_n, dtype=np.int64)))
                out_scores = np.concatenate((out_scores[:out_n], np.empty(room - out_n)))
            theta, heap_n, out_n, seen = found
            scored += seen
        return heap_docs[:heap_n], heap_scores[:heap_n], (out_docs[:out_n], out_scores[:out_n]), scored

    def scored_passages(
        self,
        terms: Sequence[str],
        k: int,
        *,
        prior: Prior | None = None,
        prior_range: tuple[float, float] = (0.0, 1.0),
    ) -> int:
        """How many passages a pruned search of the top k scores in full (the rest it skips)."""
        query, constant = self._query(terms)
        if not query or k <= 0 or not self.n_live:
            return 0
        return self._compiled(query, k, constant, prior, prior_range)[2]

    def scores(self, terms: Sequence[str]) -> npt.NDArray[np.float64]:
        """Return the score of every passage (deleted ones too), for tests and references."""
        out = np.zeros(self.n_total, dtype=np.float64)
        query, constant = self._query(terms)
        for term in query:
            for docs, tfs in self._docs(term):
                out[docs] += term.scale * self._weights(docs, tfs)
        return out + constant


def _weigh(scores: npt.NDArray[np.float64], mult: npt.NDArray[np.float64], constant: float) -> npt.NDArray[np.float64]:
    """Scores (without `constant`) with a prior applied to the whole score; -inf where it hides."""
    mult = np.clip(mult, 0.0, 1.0)
    return np.where(mult > 0, (scores + constant) * mult - constant, -np.inf)


def _top(cand: npt.NDArray[np.int64], scores: npt.NDArray[np.float64], k: int) -> list[tuple[int, float]]:
    """The k best passages of `cand` (distinct), best first, ties by id."""
    want = min(cand.size, k)
    if want < cand.size:
        # Every entry scoring at least the want-th best one, ties included: k distinct
        # passages among them at least, and so the k best of all.
        floor = np.partition(scores, cand.size - want)[cand.size - want]
        keep = scores >= floor
        cand, scores = cand[keep], scores[keep]
    out: list[tuple[int, float]] = []
    seen: set[int] = set()
    for i in np.lexsort((cand, -scores)).tolist():
        passage = int(cand[i])
        if passage not in seen:
            seen.add(passage)
            out.append((passage, float(scores[i])))
            if len(out) == k:
                break
    return out
