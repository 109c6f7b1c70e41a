"""Stage 6 of load → split → analyze → index → search → select → answer: the best sentences.

The candidate sentences of the best passages (`retrieval.candidates`) are scored one by one
with corpus-level statistics (the passage index's document frequencies, never a fresh
mini-index over a few sentences):

    score = coverage + passage_weight × passage + article_weight × article
            + title_weight × title + position_prior / √(1 + position) + answer_type_boost × cue

- coverage: BM25 of the sentence with little saturation and no length normalisation (k1 ≈
  0.5, b = 0 by default), divided by the query's total idf, so 1.0 means every question word
  once and the threshold means the same for every question;
- passage: the best score of a passage holding the sentence, over the best passage's score;
- article: the same for the best passage of the sentence's article;
- title: the share of the question's idf that the article's headline holds;
- position: the sentence's place in its article (news puts the facts first);
- cue: the sentence holds what the question asks for (a number for "how many", a date for
  "when", a name not in the question for "who"/"which"/"where").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval import bm25
from retrieval.candidates import Candidates
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
    support: float
    # The question terms the sentence holds, itself or in its headline.
    held: frozenset[str] = frozenset()
    article: int = 0  # in its segment
    position: int = 0  # the sentence's place in its article


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


_WORD = re.compile(r"\w+")
_QUIZ = re.compile(r"\bquiz\b|\bquestions? of the (?:day|week)\b", re.I)
# Two sentences sharing this share of their words say the same thing (a wire story and its copy).
NEAR_DUPLICATE = 0.7
# A second or third quote must hold this share of what the first holds of the question.
EXTRA_SUPPORT = 0.3


def _words(text: str) -> frozenset[str]:
    return frozenset(w.casefold() for w in _WORD.findall(text))


def _near_duplicate(words: frozenset[str], kept: Sequence[frozenset[str]]) -> bool:
    for other in kept:
        union = len(words | other)
        if union and len(words & other) / union >= NEAR_DUPLICATE:
            return True
    return False


def _is_question(text: str) -> bool:
    """A sentence that asks (a quiz page repeating the question) does not answer."""
    return text.rstrip(" \"'”’)]").endswith("?")


def question_weights(
    terms: Sequence[str],
    doc_freqs: Mapping[str, int],
    passages: int,
    names: frozenset[str] = frozenset(),
) -> dict[str, float]:
    """Each distinct question term's idf (over `passages` live passages) times its count in the question.

    A name found in no passage counts in full: a question about France is not answered by a
    sentence that matches only its other words. Another word found in no passage (most often
    a paraphrase: "speak" for "called") weighs as the question's rarest found word, not with
    the idf of a word never seen, which would outweigh the whole question.
    """
    counts = Counter(terms)
    idf = bm25.idf_lucene(max(passages, 1), np.array([float(doc_freqs[t]) for t in counts]))
    weights = {t: counts[t] * float(w) for t, w in zip(counts, idf, strict=True)}
    known = [w / counts[t] for t, w in weights.items() if doc_freqs[t] > 0]
    if known:
        cap = max(known)
        weights = {
            t: w if doc_freqs[t] > 0 or t in names else counts[t] * min(w / counts[t], cap) for t, w in weights.items()
        }
    return weights


def select_sentences(
    question: str,
    terms: Sequence[str],
    pool: Candidates,
    settings: AnswerSettings,
    *,
    limit: int,
    names: frozenset[str] = frozenset(),
) -> list[Chosen]:
    """Return up to `limit` distinct sentences of `pool` that answer the question, best first.

    `pool` is `candidates.gather` of the question's terms and hits; `names` are the terms
    of the question's names (see `question_weights`).
    """
    if not pool.sentences or not terms:
        return []
    weights = question_weights(terms, pool.doc_freqs, pool.passages, names)
    total = sum(weights.values())
    weights = {t: w for t, w in weights.items() if pool.doc_freqs[t] > 0}
    if total <= 0 or not weights:
        return []
    k1, b = settings.sentence_k1, settings.sentence_b
    top_score = pool.top_score if pool.top_score > 0 else 1.0
    cue = _cue(question)
    question_words = {w.lower() for w in re.findall(r"[\w’'-]+", question)}
    chosen: list[Chosen] = []
    for cand in pool.sentences:
        norm = k1 * (1.0 - b + b * cand.length / pool.avg_sentence_len)
        matched = held = 0.0
        holds: list[str] = []
        for term, weight in weights.items():
            tf = cand.counts.get(term, 0)
            if tf:
                matched += weight * tf * (k1 + 1.0) / (tf + norm)
                held += weight
                holds.append(term)
            elif term in cand.headline_terms:
                held += weight
                holds.append(term)
        if matched <= 0:
            continue
        coverage, support = matched / total, held / total
        if support < settings.min_score / 2 or _QUIZ.search(cand.headline):
            continue
        if _is_question(cand.text):
            continue
        title_cover = sum(w for t, w in weights.items() if t in cand.headline_terms) / total
        score = (
            coverage
            + settings.passage_weight * max(0.0, cand.passage_score / top_score)
            + settings.article_weight * max(0.0, cand.article_score / top_score)
            + settings.title_weight * title_cover
            + settings.position_prior / math.sqrt(1.0 + cand.position)
        )
        if cue and settings.answer_type_boost and _has_cue(cue, cand.text, question_words):
            score += settings.answer_type_boost
        chosen.append(
            Chosen(
                cand.segment,
                cand.sentence,
                cand.text,
                score,
                coverage,
                support,
                frozenset(holds),
                article=cand.article,
                position=cand.position,
            )
        )
    chosen.sort(key=lambda c: (-c.score, c.segment, c.sentence))
    seen: set[str] = set()
    kept_words: list[frozenset[str]] = []
    out: list[Chosen] = []
    for c in chosen:
        text_key = _dedupe_key(c.text)
        if text_key in seen:
            continue
        words = _words(c.text)
        if _near_duplicate(words, kept_words):
            continue
        # Beside the first quote, one that shares only a common word with the question is noise.
        if out and c.support < EXTRA_SUPPORT * out[0].support:
            continue
        seen.add(text_key)
        kept_words.append(words)
        out.append(c)
        if len(out) >= limit:
            break
    return out
