"""Stage 6 of load → split → analyze → index → search → select → answer: the best sentences.

The sentences of the best passages are scored one by one with corpus-level statistics (the
passage index's document frequencies, never a fresh mini-index over a few sentences):

    score = coverage + passage_weight × passage + position_prior / (1 + position)
            + answer_type_boost × cue

- coverage: BM25 of the sentence with little saturation and no length normalisation (k1 ≈
  0.5, b = 0 by default), divided by the query's total idf, so 1.0 means every question word
  once and the threshold means the same for every question;
- passage: the best score of a passage holding the sentence, over the best passage's score;
- position: the sentence's place in its article (news puts the facts first);
- cue: the sentence holds what the question asks for (a number for "how many", a date for
  "when", a name not in the question for "who"/"which"/"where").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval import bm25
from retrieval.search import PassageHit, Searcher
from retrieval.settings import AnswerSettings

_NUMBER_Q = re.compile(
    r"\b(how (many|much|old|long|far|big|large|tall|high|fast)|what (number|percentage|percent|"
    r"amount|share|proportion|age)|approximately|roughly)\b",
    re.I,
)
_DATE_Q = re.compile(r"\b(when|what (year|date|day|month|time)|which (year|date|day|month))\b", re.I)
_NAME_Q = re.compile(r"\b(who|whom|whose|which|what|where|name)\b", re.I)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|hundred|hundreds|thousand|thousands|million|millions|billion|billions|trillion|dozen|dozens|half)\b",
    re.I,
)
_DATE = re.compile(
    r"\b(1[6-9]\d\d|20\d\d|january|february|march|april|may|june|july|august|september|october|"
    r"november|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|yesterday|today|tomorrow|century|decade)\b",
    re.I,
)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'-]*[a-z][\w’'-]*|\b[A-Z]{2,}\b")


@dataclass(frozen=True, slots=True)
class Chosen:
    """A candidate sentence with its score and what the score is made of."""

    segment: int
    sentence: int
    text: str
    score: float
    coverage: float


def _cue(question: str) -> str:
    if _NUMBER_Q.search(question):
        return "number"
    if _DATE_Q.search(question):
        return "date"
    if _NAME_Q.search(question):
        return "name"
    return ""


def _has_cue(cue: str, text: str, question_words: set[str]) -> bool:
    if cue == "number":
        return any(m.group().lower() not in question_words for m in _NUMBER.finditer(text))
    if cue == "date":
        return any(m.group().lower() not in question_words for m in _DATE.finditer(text))
    if cue == "name":
        return any(m.group().lower() not in question_words for m in _CAPITALISED.finditer(text))
    return False


def _dedupe_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def select_sentences(
    searcher: Searcher,
    question: str,
    terms: Sequence[str],
    hits: Sequence[PassageHit],
    settings: AnswerSettings,
    *,
    limit: int,
) -> list[Chosen]:
    """Return up to `limit` distinct sentences of `hits` that answer the question, best first."""
    if not hits or not terms:
        return []
    counts = Counter(terms)
    posts = {t: searcher.postings(t) for t in counts}
    weights = {
        t: counts[t] * float(bm25.idf_lucene(searcher.n_live, np.array([float(p.df)]))[0])
        for t, p in posts.items()
        if p.df > 0
    }
    total = sum(weights.values())
    if total <= 0:
        return []
    k1, b = settings.sentence_k1, settings.sentence_b
    top_score = hits[0].score if hits[0].score > 0 else 1.0
    best_passage: dict[tuple[int, int], float] = {}
    for hit in hits:
        seg = searcher.segments[hit.segment]
        for s in range(int(seg.pass_start[hit.local]), int(seg.pass_end[hit.local])):
            key = (hit.segment, s)
            best_passage[key] = max(best_passage.get(key, 0.0), hit.score / top_score)

    cue = _cue(question)
    question_words = {w.lower() for w in re.findall(r"[\w’'-]+", question)}
    chosen: list[Chosen] = []
    for (si, s), passage in best_passage.items():
        seg = searcher.segments[si]
        ids = np.asarray(seg.sentence_term_ids(s))
        norm = k1 * (1.0 - b + b * ids.size / searcher.avg_sentence_len)
        matched = 0.0
        for term, weight in weights.items():
            tid = posts[term].local_ids[si]
            if tid < 0:
                continue
            tf = int(np.count_nonzero(ids == tid))
            if tf:
                matched += weight * tf * (k1 + 1.0) / (tf + norm) if (tf + norm) > 0 else weight
        if matched <= 0:
            continue
        coverage = matched / total
        if coverage < settings.min_score:
            continue
        text = seg.sentence_text(s)
        score = (
            coverage
            + settings.passage_weight * passage
            + settings.position_prior / (1.0 + int(seg.sent_pos[s]))
        )
        if cue and settings.answer_type_boost and _has_cue(cue, text, question_words):
            score += settings.answer_type_boost
        chosen.append(Chosen(si, s, text, score, coverage))
    chosen.sort(key=lambda c: (-c.score, c.segment, c.sentence))
    seen: set[str] = set()
    out: list[Chosen] = []
    for c in chosen:
        key = _dedupe_key(c.text)
        if key in seen:
            continue
        seen.add(key)
        out.append(c)
        if len(out) >= limit:
            break
    return out
