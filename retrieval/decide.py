"""Between select and the answer: does the best evidence answer the question, or is it declined?

Not one lexical threshold but a few measured signals read together:

- support: the share of the question's idf that the best sentence holds with its headline;
- key words: the question's names (or every word of a short question), weighted by idf, that
  the best sentences hold with their headlines; a question whose key words none of them holds
  is about something else, however many common words match;
- age: the best sentence's article must not be much older than the moment asked (or than the
  start of the window the question names, "in 2021"): a two-month-old match for "who won"
  asked today is older coverage of a related subject, not the answer.

The thresholds (`DecideSettings`) were chosen on dev question sets (see benchmarks/trust.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DecideSettings:
    """Thresholds of the decision; see the module docstring. The engine builds them from
    `answers.min_score` and the `declining` settings; `max_age_days` 0 means no age limit."""

    min_support: float = 0.2
    min_key_held: float = 0.3
    # The key-word test applies to evidence holding less than this share of the question.
    key_support: float = 0.3
    max_age_days: float = 60.0
    # Off, every answer with a sentence is given (for measuring the decision itself).
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the decision reads about the best sentences of an answer."""

    support: float
    key_held: float
    # Days from the best sentence's article to the moment asked, or, when the question names
    # a time window, to the window's start (negative inside it); None when undated.
    age_days: float | None


def name_terms(question: str, spans: Sequence[tuple[str, int, int]]) -> frozenset[str]:
    """The terms of the question's names: capitalised words not opening a sentence, acronyms.

    `spans` are the analyser's (term, start, end) over `question`.
    """
    names = set()
    for term, start, end in spans:
        word = question[start:end]
        before = question[:start].rstrip()
        opens = not before or before[-1] in ".!?:\"“'("
        inner = any(c.isupper() for c in word[1:])  # "iPhone", "McDonald", "NASA"
        if (word[:1].isupper() and not opens) or inner:
            names.add(term)
    return frozenset(names)


def key_terms(
    terms: Sequence[str],
    names: frozenset[str],
    idf: Mapping[str, float],
    *,
    share: float = 0.6,
    all_below: int = 4,
) -> frozenset[str]:
    """The question's key terms: every term of a short question (fewer than `all_below`
    distinct terms), else its rare names (idf at least `share` of the question's highest:
    "Newsom", not "US"), else its rarest words."""
    distinct = set(terms)
    if len(distinct) < all_below:
        return frozenset(distinct)
    top = max((idf.get(t, 0.0) for t in distinct), default=0.0)
    # A question that names nothing is keyed by its rarest words.
    candidates = names & distinct or distinct
    return frozenset(t for t in candidates if idf.get(t, 0.0) >= share * top)


def key_held(idf: Mapping[str, float], keys: frozenset[str], held: Sequence[frozenset[str]]) -> float:
    """The share of the key terms' idf that the best of `held` (one set per sentence) holds;
    1.0 when the question has no key terms."""
    total = sum(idf.get(t, 0.0) for t in keys)
    if total <= 0:
        return 1.0
    if not held:
        return 0.0
    return max(sum(idf.get(t, 0.0) for t in keys & h) for h in held) / total


def decide(evidence: Evidence, settings: DecideSettings) -> str:
    """Return "" to answer, or why the evidence does not answer (a key of `models.DECLINED`)."""
    if evidence.support < settings.min_support:
        return "not covered"
    if evidence.key_held < settings.min_key_held and evidence.support < settings.key_support:
        return "not covered"
    age = evidence.age_days
    if settings.max_age_days > 0 and age is not None and age > settings.max_age_days:
        return "too old"
    return ""
