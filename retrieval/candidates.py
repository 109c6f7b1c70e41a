"""Between search and select: the sentences of the best passages, as records select can score.

Search ranks passages (stage 5); select scores the sentences inside them (stage 6). This is
the one place that reads a segment's sentence arrays for that: `gather` turns the passage
hits of a question into `Candidate` records, each sentence with the question terms it holds
(and how often), its length, its article and place in it, its headline and the question
terms the headline holds, and the best scores of a hit holding it and of a hit of its article.
Select then needs nothing of the index beyond `Candidates`.

A sentence's text and its headline are stored compressed and are read (and kept) the first
time a candidate's `text` or `headline` is asked for: select scores every candidate from its
counts and scores, and reads the words of only those it may quote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from retrieval.index import Segment
from retrieval.search import PassageHit, Searcher


@dataclass(frozen=True, slots=True)
class Candidate:
    """One sentence of a hit passage that holds at least one question term."""

    segment: int
    sentence: int  # in its segment
    article: int  # in its segment
    position: int  # the sentence's place in its article, from 0
    length: int  # how many analysed terms the sentence has
    counts: Mapping[str, int]  # each question term the sentence holds, with its count
    headline_terms: frozenset[str]  # the question terms its article's headline holds
    passage_score: float  # the best score of a hit passage holding the sentence
    article_score: float  # the best score of a hit passage of its article
    texts: _Texts = field(repr=False, compare=False)
    # Whether its headline is a quiz page's (`select.quiz_headline`), when known without reading it.
    quiz: bool | None = None

    @property
    def text(self) -> str:
        """The sentence verbatim (read from the index the first time it is asked for)."""
        return self.texts.sentence(self.segment, self.sentence)

    @property
    def headline(self) -> str:
        """Its article's headline (read from the index the first time it is asked for)."""
        return self.texts.title(self.segment, self.article)


class _Texts:
    """The stored text of one question's candidates, read on first use and kept."""

    __slots__ = ("_sentences", "_titles", "segments")

    def __init__(self, segments: Sequence[Segment]) -> None:
        self.segments = segments
        self._sentences: dict[tuple[int, int], str] = {}
        self._titles: dict[tuple[int, int], str] = {}

    def sentence(self, segment: int, sentence: int) -> str:
        key = (segment, sentence)
        found = self._sentences.get(key)
        if found is None:
            found = self._sentences[key] = self.segments[segment].sentence_text(sentence)
        return found

    def title(self, segment: int, article: int) -> str:
        key = (segment, article)
        found = self._titles.get(key)
        if found is None:
            found = self._titles[key] = self.segments[segment].articles[article].get("title", "")
        return found


@dataclass(frozen=True, slots=True)
class Candidates:
    """A question's candidate sentences, with the corpus statistics that weigh its terms."""

    sentences: tuple[Candidate, ...]
    top_score: float  # the best hit's score (0.0 without hits)
    doc_freqs: Mapping[str, int]  # live passages holding each distinct question term
    passages: int  # live passages in the index
    avg_sentence_len: float  # analysed terms per sentence, over the index


def gather(
    searcher: Searcher,
    terms: Sequence[str],
    hits: Sequence[PassageHit],
    *,
    quiz: Sequence[npt.NDArray[np.bool_]] | None = None,
) -> Candidates:
    """Return the sentences of `hits` that hold a question term, with what select scores them by.

    `quiz`, when given, tells for each segment's articles whether the headline is a quiz
    page's (read once when the segment joined the index), so that select need not read it.
    """
    postings = {term: searcher.postings(term) for term in dict.fromkeys(terms)}
    segments = searcher.segments
    best_passage: dict[tuple[int, int], float] = {}
    best_article: dict[tuple[int, int], float] = {}
    for hit, (start, end, article) in zip(hits, _hit_places(segments, hits), strict=True):
        akey = (hit.segment, article)
        best_article[akey] = max(best_article.get(akey, -np.inf), hit.score)
        for s in range(start, end):
            key = (hit.segment, s)
            best_passage[key] = max(best_passage.get(key, -np.inf), hit.score)
    # Each question term's id in each segment, for the terms some live passage holds.
    wanted = [
        {t: p.local_ids[si] for t, p in postings.items() if p.df > 0 and p.local_ids[si] >= 0}
        for si in range(len(segments))
    ]
    counts = _counts(searcher, list(best_passage), wanted)
    holding = [key for key in best_passage if counts.get(key)]
    places = _sentence_places(segments, holding)
    texts = _Texts(segments)
    headlines: dict[tuple[int, int], frozenset[str]] = {}
    out = []
    for key, (article, position, length) in zip(holding, places, strict=True):
        si, s = key
        akey = (si, article)
        title_terms = headlines.get(akey)
        if title_terms is None:
            in_title = set(segments[si].title_term_ids(article).tolist())
            title_terms = headlines[akey] = frozenset(t for t, tid in wanted[si].items() if tid in in_title)
        out.append(
            Candidate(
                segment=si,
                sentence=s,
                article=article,
                position=position,
                length=length,
                counts=counts[key],
                headline_terms=title_terms,
                passage_score=best_passage[key],
                article_score=best_article[akey],
                texts=texts,
                quiz=None if quiz is None else bool(quiz[si][article]),
            )
        )
    return Candidates(
        sentences=tuple(out),
        top_score=hits[0].score if hits else 0.0,
        doc_freqs={t: p.df for t, p in postings.items()},
        passages=searcher.n_live,
        avg_sentence_len=searcher.avg_sentence_len,
    )


def _by_segment(keys: Sequence[tuple[int, int]]) -> dict[int, tuple[list[int], list[int]]]:
    """Group (segment, item) keys by segment: for each, the items and their places in `keys`."""
    groups: dict[int, tuple[list[int], list[int]]] = {}
    for at, (si, item) in enumerate(keys):
        members, where = groups.setdefault(si, ([], []))
        members.append(item)
        where.append(at)
    return groups


def _hit_places(segments: Sequence[Segment], hits: Sequence[PassageHit]) -> list[tuple[int, int, int]]:
    """(first sentence, end sentence, article) of each hit passage, read a segment at a time."""
    out: list[tuple[int, int, int]] = [(0, 0, 0)] * len(hits)
    for si, (local, where) in _by_segment([(h.segment, h.local) for h in hits]).items():
        seg = segments[si]
        at = np.asarray(local, dtype=np.int64)
        rows = zip(seg.pass_start[at].tolist(), seg.pass_end[at].tolist(), seg.pass_article[at].tolist(), strict=True)
        for i, row in zip(where, rows, strict=True):
            out[i] = row
    return out


def _sentence_places(segments: Sequence[Segment], keys: Sequence[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(article, place in the article, analysed length) of each (segment, sentence), a segment at a time."""
    out: list[tuple[int, int, int]] = [(0, 0, 0)] * len(keys)
    for si, (sents, where) in _by_segment(keys).items():
        seg = segments[si]
        at = np.asarray(sents, dtype=np.int64)
        lengths = np.asarray(seg.sent_offsets[at + 1]) - np.asarray(seg.sent_offsets[at])
        rows = zip(seg.sent_article[at].tolist(), seg.sent_pos[at].tolist(), lengths.tolist(), strict=True)
        for i, row in zip(where, rows, strict=True):
            out[i] = row
    return out


def _counts(
    searcher: Searcher, sentences: Sequence[tuple[int, int]], wanted: Sequence[Mapping[str, int]]
) -> dict[tuple[int, int], dict[str, int]]:
    """How often each sentence ((segment, sentence)) holds each wanted term; only sentences holding one."""
    out: dict[tuple[int, int], dict[str, int]] = {}
    for si, (members, _) in _by_segment(sentences).items():
        if not wanted[si]:
            continue
        seg = searcher.segments[si]
        sents = np.asarray(members, dtype=np.int64)
        starts = np.asarray(seg.sent_offsets[sents], dtype=np.int64)
        lengths = np.asarray(seg.sent_offsets[sents + 1], dtype=np.int64) - starts
        # Every term position of the sentences, a sentence's positions one run.
        ends = np.cumsum(lengths)
        where = np.repeat(starts - ends + lengths, lengths) + np.arange(int(ends[-1]))
        names = list(wanted[si])
        ids = np.fromiter(wanted[si].values(), dtype=np.int64, count=len(names))
        # Positions by wanted terms: whether each position holds each term; summed per run.
        held = np.zeros((where.size + 1, len(names)), dtype=np.int64)
        np.cumsum(np.asarray(seg.sent_terms[where])[:, None] == ids[None, :], axis=0, out=held[1:])
        table = held[ends] - held[ends - lengths]
        rows, cols = np.nonzero(table)
        for r, c, n in zip(rows.tolist(), cols.tolist(), table[rows, cols].tolist(), strict=True):
            out.setdefault((si, members[r]), {})[names[c]] = n
    return out
