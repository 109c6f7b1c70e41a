"""Between search and select: the sentences of the best passages, as records select can score.

Search ranks passages (stage 5); select scores the sentences inside them (stage 6). This is
the one place that reads a segment's sentence arrays for that: `gather` turns the passage
hits of a question into `Candidate` records, each sentence with the question terms it holds
(and how often), its length, its article and place in it, its headline and the question
terms the headline holds, and the best scores of a hit holding it and of a hit of its article.
Select then needs nothing of the index beyond `Candidates`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.search import PassageHit, Searcher


@dataclass(frozen=True, slots=True)
class Candidate:
    """One sentence of a hit passage that holds at least one question term."""

    segment: int
    sentence: int  # in its segment
    article: int  # in its segment
    position: int  # the sentence's place in its article, from 0
    text: str
    length: int  # how many analysed terms the sentence has
    counts: Mapping[str, int]  # each question term the sentence holds, with its count
    headline: str
    headline_terms: frozenset[str]  # the question terms its article's headline holds
    passage_score: float  # the best score of a hit passage holding the sentence
    article_score: float  # the best score of a hit passage of its article


@dataclass(frozen=True, slots=True)
class Candidates:
    """A question's candidate sentences, with the corpus statistics that weigh its terms."""

    sentences: tuple[Candidate, ...]
    top_score: float  # the best hit's score (0.0 without hits)
    doc_freqs: Mapping[str, int]  # live passages holding each distinct question term
    passages: int  # live passages in the index
    avg_sentence_len: float  # analysed terms per sentence, over the index


def gather(searcher: Searcher, terms: Sequence[str], hits: Sequence[PassageHit]) -> Candidates:
    """Return the sentences of `hits` that hold a question term, with what select scores them by."""
    postings = {term: searcher.postings(term) for term in dict.fromkeys(terms)}
    best_passage: dict[tuple[int, int], float] = {}
    best_article: dict[tuple[int, int], float] = {}
    for hit in hits:
        seg = searcher.segments[hit.segment]
        akey = (hit.segment, int(seg.pass_article[hit.local]))
        best_article[akey] = max(best_article.get(akey, -np.inf), hit.score)
        for s in range(int(seg.pass_start[hit.local]), int(seg.pass_end[hit.local])):
            key = (hit.segment, s)
            best_passage[key] = max(best_passage.get(key, -np.inf), hit.score)
    # Each question term's id in each segment, for the terms some live passage holds.
    wanted = [
        {t: p.local_ids[si] for t, p in postings.items() if p.df > 0 and p.local_ids[si] >= 0}
        for si in range(len(searcher.segments))
    ]
    counts = _counts(searcher, list(best_passage), wanted)
    headlines: dict[tuple[int, int], tuple[str, frozenset[str]]] = {}
    out = []
    for (si, s), score in best_passage.items():
        held = counts.get((si, s))
        if not held:
            continue
        seg = searcher.segments[si]
        akey = (si, int(seg.sent_article[s]))
        if akey not in headlines:
            in_title = set(seg.title_term_ids(akey[1]).tolist())
            title = seg.articles[akey[1]].get("title", "")
            headlines[akey] = (title, frozenset(t for t, tid in wanted[si].items() if tid in in_title))
        title, title_terms = headlines[akey]
        out.append(
            Candidate(
                segment=si,
                sentence=s,
                article=akey[1],
                position=int(seg.sent_pos[s]),
                text=seg.sentence_text(s),
                length=int(seg.sent_offsets[s + 1] - seg.sent_offsets[s]),
                counts=held,
                headline=title,
                headline_terms=title_terms,
                passage_score=score,
                article_score=best_article[akey],
            )
        )
    return Candidates(
        sentences=tuple(out),
        top_score=hits[0].score if hits else 0.0,
        doc_freqs={t: p.df for t, p in postings.items()},
        passages=searcher.n_live,
        avg_sentence_len=searcher.avg_sentence_len,
    )


def _counts(
    searcher: Searcher, sentences: Sequence[tuple[int, int]], wanted: Sequence[Mapping[str, int]]
) -> dict[tuple[int, int], dict[str, int]]:
    """How often each sentence ((segment, sentence)) holds each wanted term; only sentences holding one."""
    out: dict[tuple[int, int], dict[str, int]] = {}
    by_segment: dict[int, list[int]] = {}
    for si, s in sentences:
        by_segment.setdefault(si, []).append(s)
    for si, members in by_segment.items():
        if not wanted[si]:
            continue
        seg = searcher.segments[si]
        sents = np.asarray(members, dtype=np.int64)
        starts = np.asarray(seg.sent_offsets[sents], dtype=np.int64)
        lengths = np.asarray(seg.sent_offsets[sents + 1], dtype=np.int64) - starts
        # Every term position of the sentences, and which sentence each belongs to.
        where = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        ids = np.asarray(seg.sent_terms[where])
        owner = np.repeat(sents, lengths)
        term_of = {tid: t for t, tid in wanted[si].items()}
        held = np.isin(ids, np.fromiter(term_of, dtype=np.int64))
        for (s, tid), n in Counter(zip(owner[held].tolist(), ids[held].tolist(), strict=True)).items():
            out.setdefault((si, s), {})[term_of[tid]] = n
    return out
