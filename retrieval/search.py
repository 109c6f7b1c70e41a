"""Stage 5 of load → split → analyze → index → search → select → answer: top passages.

BM25 over the live passages of every segment, with corpus statistics (N, average length,
document frequencies) taken over all of them, so an index made of several segments scores
exactly as one rebuilt from scratch. A query touches only its own terms' postings: scores
are accumulated into a per-thread buffer at those passages only, and the top k are picked
with `argpartition`, never by sorting every score.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from retrieval import bm25
from retrieval.index import Segment
from retrieval.settings import BM25Settings

Bools = npt.NDArray[np.bool_]
# Given candidate passages (global ids), a multiplier for each: 0 hides a passage.
Prior = Callable[[npt.NDArray[np.int64]], npt.NDArray[np.float64]]


@dataclass(frozen=True, slots=True)
class PassageHit:
    """A passage and its BM25 score; `passage` is global, (`segment`, `local`) locate it."""

    passage: int
    score: float
    segment: int
    local: int


@dataclass(frozen=True, slots=True)
class TermPostings:
    """Where one query term occurs among the live passages, per segment."""

    term: str
    df: int
    local_ids: tuple[int, ...]
    docs: tuple[npt.NDArray[np.int64], ...]
    tfs: tuple[npt.NDArray[np.float64], ...]


class Searcher:
    """Score passages of a list of segments (with their live-passage masks) by BM25."""

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
        self.avgdl = float(dl[mask].sum() / self.n_live) if self.n_live else 1.0
        if self.avgdl <= 0:
            self.avgdl = 1.0
        self._dl = dl
        self._norm = bm25.length_norm(dl, self.avgdl, k1=settings.k1, b=settings.b)
        self._local = threading.local()
        self._okapi_floor: float | None = None
        sent_total = sum(int(s.sent_terms.size) for s in self.segments)
        sent_count = sum(s.n_sentences for s in self.segments)
        self.avg_sentence_len = sent_total / sent_count if sent_total else 1.0

    # -- statistics ---------------------------------------------------------------------

    def postings(self, term: str) -> TermPostings:
        """Return the live postings of `term` in every segment."""
        ids, docs, tfs = [], [], []
        df = 0
        for i, seg in enumerate(self.segments):
            tid = seg.term_id(term)
            ids.append(tid)
            if tid < 0:
                continue
            d, tf = seg.postings(tid)
            mask = self.live[i]
            if mask is not None:
                keep = mask[d]
                d, tf = d[keep], tf[keep]
            df += d.size
            docs.append(d.astype(np.int64) + self.bases[i])
            tfs.append(tf.astype(np.float64))
        return TermPostings(term, df, tuple(ids), tuple(docs), tuple(tfs))

    def lookup(self, terms: Sequence[str]) -> dict[str, TermPostings]:
        """Return the live postings of each distinct query term, to share between stages."""
        return {term: self.postings(term) for term in dict.fromkeys(terms)}

    def idf(self, df: int) -> float:
        """The idf of a term with document frequency `df` under the configured variant."""
        n, d = self.n_live, np.array([float(df)])
        variant = self.settings.variant
        if variant == "lucene":
            return float(bm25.idf_lucene(n, d)[0])
        if variant == "bm25l":
            return float(bm25.idf_bm25l(n, d)[0])
        if variant == "bm25+":
            return float(bm25.idf_bm25plus(n, d)[0])
        raw = float(bm25.idf_okapi_raw(n, d)[0])
        return raw if raw >= 0 else self.okapi_floor()

    def okapi_floor(self) -> float:
        """rank_bm25's floor for negative Okapi idf, over every live term (computed once)."""
        if self._okapi_floor is None:
            vocabs, dfs = [], []
            for seg, mask in zip(self.segments, self.live, strict=True):
                if mask is None:
                    df = np.diff(seg.post_offsets)
                else:
                    alive = mask[seg.post_docs].astype(np.int64)
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

    def _baseline(self, idf: float) -> float:
        """What the variant gives every passage for a query term, even one without it."""
        s = self.settings
        if s.variant == "bm25+":
            return idf * s.delta
        if s.variant == "bm25l":
            return idf * (s.k1 + 1.0) * s.delta / (s.k1 + s.delta)
        return 0.0

    def _contributions(
        self, terms: Sequence[str], found: Mapping[str, TermPostings] | None
    ) -> tuple[list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]], float]:
        """Each query term's (passages, score parts), and what every passage gets regardless."""
        found = self.lookup(terms) if found is None else found
        parts = []
        constant = 0.0
        for term, count in Counter(terms).items():
            post = found[term]
            if post.df == 0:
                continue
            idf = self.idf(post.df)
            constant += count * self._baseline(idf)
            for docs, tf in zip(post.docs, post.tfs, strict=True):
                parts.append((docs, (count * idf) * self._weights(docs, tf)))
        return parts, constant

    def search(
        self,
        terms: Sequence[str],
        k: int = 10,
        *,
        found: Mapping[str, TermPostings] | None = None,
        prior: Prior | None = None,
    ) -> list[PassageHit]:
        """Return the k best live passages for the query terms, best first.

        `found` is `lookup(terms)` when the caller has it already; `prior` multiplies each
        candidate's score (0 hides it), e.g. by the age of its article.
        """
        if not terms or k <= 0 or not self.n_live:
            return []
        parts, constant = self._contributions(terms, found)
        if not parts:
            return []
        buf = self._buffer()
        for docs, weights in parts:
            buf[docs] += weights
        cand = np.concatenate([docs for docs, _ in parts]) if len(parts) > 1 else parts[0][0]
        scores = buf[cand]
        buf[cand] = 0.0
        if prior is not None:
            mult = prior(cand)
            scores = np.where(mult > 0, (scores + constant) * mult - constant, -np.inf)
        # A passage appears once per term it holds, so k × terms entries hold k distinct ones.
        want = min(cand.size, k * len(parts))
        top = np.argpartition(-scores, want - 1)[:want] if want < cand.size else np.arange(cand.size)
        best: dict[int, float] = {}
        for i in top.tolist():
            if scores[i] > -np.inf:
                best[int(cand[i])] = float(scores[i])
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [self._hit(p, s + constant) for p, s in ranked]

    def _hit(self, passage: int, score: float) -> PassageHit:
        seg = int(np.searchsorted(self.bases, passage, side="right")) - 1
        return PassageHit(passage, score, seg, passage - int(self.bases[seg]))

    def scores(self, terms: Sequence[str]) -> npt.NDArray[np.float64]:
        """Return the score of every passage (deleted ones too), for tests and references."""
        out = np.zeros(self.n_total, dtype=np.float64)
        parts, constant = self._contributions(terms, None)
        for docs, weights in parts:
            out[docs] += weights
        return out + constant
