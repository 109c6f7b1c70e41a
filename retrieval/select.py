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
  "when", a country or US state for "which country"/"which state"/"where", a name not in the
  question for "who"/"which"/"what");
- focus: when the question tells a story before it asks ("X won the cup. How many titles do
  they have?"), the share of the asking sentence's idf the sentence holds, times
  FOCUS_WEIGHT: the story's words find the article, the asking words the sentence in it.

A sentence whose headline tells the question's story gains for holding the headline's news
(its words the question lacks: `headline_news`). After the first quote, each one is taken in
the order of its score less REDUNDANCY times the share of its matched idf that the first
already holds (`repeated`), so the second and third quotes add to the first rather than
repeat it.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from retrieval import bm25
from retrieval.candidates import Candidates
from retrieval.settings import AnswerSettings
from retrieval.wordlists import ENGLISH_STOPWORDS, PLACES

_NUMBER_Q = re.compile(
    r"\b(how (many|much|old|long|far|big|large|tall|high|fast)|what (number|percentage|percent|"
    r"amount|share|proportion|age)|approximately|roughly)\b",
    re.I,
)
_PLACE_Q = re.compile(
    r"\bwhere\b|\b(?:which|what)\s+(?:\S+\s+){0,4}?(?:country|countries|nation|nations|state|states)\b", re.I
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
_CAPITAL_WORD = re.compile(r"(?<![\w.])[A-Z][\w.]*")
# The place names that start with each first word, longest first ("South Korea" before "South").
_PLACES_BY_FIRST: dict[str, tuple[str, ...]] = {}
for _place in sorted(PLACES, key=len, reverse=True):
    _first = _place.split()[0]
    _PLACES_BY_FIRST[_first] = (*_PLACES_BY_FIRST.get(_first, ()), _place)
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
    if _PLACE_Q.search(question):
        return "place"
    if _NAME_Q.search(question):
        return "name"
    return ""


def _has_cue(cue: str, text: str, question_words: set[str]) -> bool:
    if cue == "number":
        return any(m.group().lower() not in question_words for m in _NUMBER.finditer(text))
    if cue == "date":
        return any(m.group().lower() not in question_words for m in _DATE.finditer(text))
    if cue == "place":
        return any(not set(_WORD.findall(p.lower())) <= question_words for p in _places(text))
    if cue == "name":
        return any(m.group().lower() not in question_words for m in _CAPITALISED.finditer(text))
    return False


def _places(text: str) -> list[str]:
    """The country and US state names (`wordlists.PLACES`) that `text` holds."""
    found = []
    for m in _CAPITAL_WORD.finditer(text):
        word = m.group()
        for place in _PLACES_BY_FIRST.get(word, ()) or _PLACES_BY_FIRST.get(word.rstrip("."), ()):
            end = m.start() + len(place)
            if text.startswith(place, m.start()) and not (end < len(text) and text[end].isalnum()):
                found.append(place)
                break
    return found


def _dedupe_key(text: str) -> str:
    return " ".join(text.split()).casefold()


_WORD = re.compile(r"\w+")
_QUIZ = re.compile(r"\bquiz\b|\bquestions? of the (?:day|week)\b", re.I)
# Two sentences sharing this share of their words say the same thing (a wire story and its copy).
NEAR_DUPLICATE = 0.7
# A second or third quote must hold this share of what the first holds of the question.
EXTRA_SUPPORT = 0.3
# What holding all of the asking sentence's words adds, when the question sets a scene first.
FOCUS_WEIGHT = 1.0
# A later quote loses this much for holding only the question words the first quote holds.
REDUNDANCY = 0.3
# What holding all of its headline's news adds to a sentence (see `headline_news`), when the
# headline holds at least HEADLINE_SHARED of the question's words (it tells its story) and
# HEADLINE_STATES words that are not stopwords (it states news, not a name).
HEADLINE_NEWS_WEIGHT = 0.6
HEADLINE_SHARED = 2
HEADLINE_STATES = 6


def _words(text: str) -> frozenset[str]:
    return frozenset(w.casefold() for w in _WORD.findall(text))


def _near_duplicate(words: frozenset[str], kept: Sequence[frozenset[str]]) -> bool:
    for other in kept:
        union = len(words | other)
        if union and len(words & other) / union >= NEAR_DUPLICATE:
            return True
    return False


def quiz_headline(headline: str) -> bool:
    """Whether a headline is a quiz page's: its sentences repeat questions, they do not answer."""
    return _QUIZ.search(headline) is not None


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
    focus: frozenset[str] = frozenset(),
) -> list[Chosen]:
    """Return up to `limit` distinct sentences of `pool` that answer the question, best first.

    `pool` is `candidates.gather` of the question's terms and hits; `names` are the terms
    of the question's names (see `question_weights`); `focus` the terms of its asking
    sentence when it has a scene-setting one before it (`question.asking_clause`).

    Every candidate is scored from its counts and scores at once; the parts that need its
    words (a quiz headline, a sentence that asks, the answer-type cue) are read only for the
    candidates taken in score order until `limit` are kept: the cue can only add, so a
    candidate whose score with the cue counted in is below the next one's exact score is
    never read.
    """
    if not pool.sentences or not terms:
        return []
    weights = question_weights(terms, pool.doc_freqs, pool.passages, names)
    total = sum(weights.values())
    weights = {t: w for t, w in weights.items() if pool.doc_freqs[t] > 0}
    if total <= 0 or not weights:
        return []
    cands = pool.sentences
    matched, support, base = _scores(pool, weights, total, settings, focus)
    coverage = matched / total
    cue = _cue(question)
    boost = settings.answer_type_boost if cue else 0.0
    question_words = {w.lower() for w in re.findall(r"[\w’'-]+", question)}
    ordered = np.flatnonzero(~(matched <= 0) & ~(support < settings.min_score / 2)).tolist()
    # A headline telling the question's story may add its news (read only when taken).
    news_of: dict[str, frozenset[str]] = {}
    storied = np.array(
        [
            len(c.headline_terms) >= HEADLINE_SHARED and bool(news_words(c.headline, question_words, news_of))
            for c in cands
        ],
        dtype=bool,
    )
    bounds = (base + boost + HEADLINE_NEWS_WEIGHT * storied).tolist()
    # (-score, segment, sentence, candidate, exact): the score is an upper bound until exact.
    # (-key, segment, sentence, candidate, stage, score): the key is an upper bound at stage 0,
    # the exact score at stage 1, and that less what repeats the first quote at stage 2.
    heap = [(-bounds[i], cands[i].segment, cands[i].sentence, i, 0, 0.0) for i in ordered]
    heapq.heapify(heap)
    seen: set[str] = set()
    kept_words: list[frozenset[str]] = []
    out: list[Chosen] = []
    while heap:
        negative, segment, sentence, i, stage, score = heapq.heappop(heap)
        cand = cands[i]
        if stage == 0:
            if (quiz_headline(cand.headline) if cand.quiz is None else cand.quiz) or _is_question(cand.text):
                continue
            score = float(base[i])
            if boost and _has_cue(cue, cand.text, question_words):
                score += boost
            if storied[i]:
                score += headline_news(cand.headline, cand.text, question_words, news_of)
            heapq.heappush(heap, (-score, segment, sentence, i, 1, score))
            continue
        held = frozenset(t for t in weights if cand.counts.get(t, 0) or t in cand.headline_terms)
        if stage == 1 and out:
            again = REDUNDANCY * repeated(held, out[0].held, weights)
            if again > 0:
                heapq.heappush(heap, (-(score - again), segment, sentence, i, 2, score))
                continue
        text_key = _dedupe_key(cand.text)
        if text_key in seen:
            continue
        words = _words(cand.text)
        if _near_duplicate(words, kept_words):
            continue
        # Beside the first quote, one that shares only a common word with the question is noise.
        if out and float(support[i]) < EXTRA_SUPPORT * out[0].support:
            continue
        seen.add(text_key)
        kept_words.append(words)
        out.append(
            Chosen(
                segment,
                sentence,
                cand.text,
                score,
                float(coverage[i]),
                float(support[i]),
                held,
                article=cand.article,
                position=cand.position,
            )
        )
        if len(out) >= limit:
            break
    return out


def news_words(
    headline: str, question_words: set[str], known: dict[str, frozenset[str]] | None = None
) -> frozenset[str]:
    """The news of a headline: its words that are not stopwords and that the question lacks.

    A title of fewer than HEADLINE_STATES such words names a subject (as in an encyclopedia)
    and says no news. `known` keeps each headline's words between calls.
    """
    news = None if known is None else known.get(headline)
    if news is None:
        content = [w for w in _WORD.findall(headline.lower()) if len(w) > 2 and w not in ENGLISH_STOPWORDS]
        news = (
            frozenset(w for w in content if w not in question_words) if len(content) >= HEADLINE_STATES else frozenset()
        )
        if known is not None:
            known[headline] = news
    return news


def headline_news(
    headline: str, text: str, question_words: set[str], known: dict[str, frozenset[str]] | None = None
) -> float:
    """What a sentence gains for holding the news of its headline (one telling the question's story).

    A news headline states the story in a line ("X renewed for a new season"); its words that
    the question lacks are most often what the question asks, and the sentence repeating them
    answers it: HEADLINE_NEWS_WEIGHT times the share of them (`news_words`) it holds.
    """
    news = news_words(headline, question_words, known)
    if not news:
        return 0.0
    return HEADLINE_NEWS_WEIGHT * len(news.intersection(_WORD.findall(text.lower()))) / len(news)


def repeated(held: frozenset[str], first: frozenset[str], weights: Mapping[str, float]) -> float:
    """The share of the idf of `held` (a candidate's question terms) that `first` holds too.

    A second quote matching the same question words as the first most often says the same
    thing again (the story the question tells); one matching the others is likelier to hold
    the answer (maximal marginal relevance, Carbonell and Goldstein 1998).
    """
    mine = shared = 0.0
    for term, weight in weights.items():
        if term in held:
            mine += weight
            if term in first:
                shared += weight
    return shared / mine if mine > 0 else 0.0


def _scores(
    pool: Candidates,
    weights: Mapping[str, float],
    total: float,
    settings: AnswerSettings,
    focus: frozenset[str] = frozenset(),
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each candidate's matched idf, support and score without the answer-type cue (see the module docstring).

    Vectorised over the candidates; each candidate's sums are added term by term in the
    order of `weights`, as a loop over one candidate adds them, so the floats are the same.
    """
    cands = pool.sentences
    k1, b = settings.sentence_k1, settings.sentence_b
    lengths = np.array([c.length for c in cands], dtype=np.float64)
    norm = k1 * (1.0 - b + b * lengths / pool.avg_sentence_len)
    matched = np.zeros(len(cands))
    held = np.zeros(len(cands))
    focused = np.zeros(len(cands))
    for term, weight in weights.items():
        tf = np.array([c.counts.get(term, 0) for c in cands], dtype=np.float64)
        has = tf > 0
        in_title = np.array([term in c.headline_terms for c in cands], dtype=bool)
        matched = np.where(has, matched + weight * tf * (k1 + 1.0) / np.where(has, tf + norm, 1.0), matched)
        held = np.where(has | in_title, held + weight, held)
        if term in focus:
            focused = np.where(has, focused + weight, focused)
    # Candidates of one article share a headline: its share of the question is summed once.
    title_share = {h: sum(w for t, w in weights.items() if t in h) / total for h in {c.headline_terms for c in cands}}
    title = np.array([title_share[c.headline_terms] for c in cands], dtype=np.float64)
    top_score = pool.top_score if pool.top_score > 0 else 1.0
    passage = np.array([c.passage_score for c in cands], dtype=np.float64)
    article = np.array([c.article_score for c in cands], dtype=np.float64)
    position = np.array([c.position for c in cands], dtype=np.float64)
    coverage = matched / total
    base = (
        coverage
        + settings.passage_weight * np.maximum(0.0, passage / top_score)
        + settings.article_weight * np.maximum(0.0, article / top_score)
        + settings.title_weight * title
        + settings.position_prior / np.sqrt(1.0 + position)
    )
    focus_total = sum(w for t, w in weights.items() if t in focus)
    if focus_total > 0:
        base = base + FOCUS_WEIGHT * focused / focus_total
    return matched, held / total, base
