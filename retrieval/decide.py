"""Between select and the answer: does the best evidence answer the question, or is it declined?

Not one lexical threshold but a small learned model over measured signals of the evidence
(`Evidence`, turned into numbers by `features`):

- support and coverage: the share of the question's idf that the best sentence holds with its
  headline, and its saturated match;
- key words and names: the question's names (or every word of a short question), weighted by
  idf, that the best sentences hold with their headlines; a question whose key words none of
  them holds is about something else, however many common words match;
- words no passage holds, how many words the question has and how rare its rarest one is
  (a general-knowledge question is made of common words);
- age: how much older the best sentence's article is than the moment asked (or than the start
  of the window the question names, "in 2021"); whether the question names a time;
- the question's form: a definition ("what is a haiku?"), a how-to, an opinion asked of the bot.

A logistic regression over those (`DecideModel`, coefficients in `decide_model.json`, trained
by `benchmarks/train_decide.py` on dev question sets) gives the odds that the evidence answers;
below the model's threshold the question is declined. Around it:

- two guards, for what its training questions never showed (they cost no hit on the dev sets):
  a question most of whose weight lies in words no article holds, or whose best sentences hold
  almost none of its key words nor of the question, is not covered;
- one limit an operator sets, the oldest a match may be (`declining.max_age_days`; 0 for an
  archive of old news, which also stops the model from reading age at all);
- under 1,000 passages the model is not read: in a corpus of a few articles every word is
  common, its idf says little, and the guards alone decide.

Runs with the standard library alone: no scikit-learn at run time.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from retrieval.errors import DecideModelError
from retrieval.select import Chosen

MODEL_FORMAT = "newsbot-decide/1"
MODEL_FILE = "decide_model.json"

# Days over which the age feature grows from 0 to 1 (on a log scale): a year.
AGE_SCALE_DAYS = 365.0

_DEFINE = re.compile(
    r"^\s*(?:what|who)(?:'s|\s+(?:is|are|was|were))\s+(?:an?\s+|the\s+)?[\w'-]+(?:\s+[\w'-]+)?\s*\??\s*$"
    r"|\b(?:mean|means|meaning|stand\s+for|stands\s+for|definition)\b|^\s*define\b",
    re.I,
)
_HOWTO = re.compile(r"^\s*how\s+(?:do|can|should|would|to)\s+(?:i|you|we|one|to)?\b|^\s*how\s+to\b", re.I)
_OPINION = re.compile(
    r"\b(?:your|yours|yourself)\b|\bshould\s+i\b|\bfavou?rite\b|\btell\s+me\b"
    r"|\b(?:do|did|would|can|could|will|are)\s+you\s+(?:like|love|think|believe|prefer|recommend|dream|feel|rather)\b",
    re.I,
)

FEATURES = (
    "support",
    "coverage",
    "key_held",
    "names_held",
    "named",
    "unseen",
    "terms",
    "rarest",
    "mass",
    "rarest_held",
    "age",
    "timed",
    "define",
    "howto",
    "opinion",
)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the decision reads about the question and the best sentences of its answer."""

    support: float
    key_held: float
    # Days from the best sentence's article to the moment asked, or, when the question names
    # a time window, to the window's start (negative inside it); None when undated.
    age_days: float | None
    coverage: float = 1.0
    # Share of the idf of the question's names the best sentences hold; 1.0 without names.
    names_held: float = 1.0
    named: bool = False
    # Share of the question's idf in words that no passage holds.
    unseen: float = 0.0
    terms: int = 1  # distinct question terms
    # The rarest question word's idf over the idf of a word held by one passage (0 to 1).
    rarest: float = 1.0
    # The idf the best sentence holds, in units of a word held by one passage; and the idf of
    # the rarest question word it holds, in the same unit (0 to 1).
    mass: float = 1.0
    rarest_held: float = 1.0
    timed: bool = False  # the question names a time ("in 2021", "latest")
    question: str = ""  # the question as cleaned, for its form
    passages: int = 1_000_000  # live passages in the index


@dataclass(frozen=True, slots=True)
class DecideModel:
    """A logistic regression over `FEATURES`: standardised by `mean`/`scale`, then `coef`."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    # The least probability of answering at which the question is answered.
    threshold: float = 0.5

    def probability(self, values: Sequence[float]) -> float:
        """The odds, as a probability, that evidence with these feature values answers."""
        z = self.intercept + sum(
            c * (v - m) / s for c, v, m, s in zip(self.coef, values, self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@functools.cache
def _shipped() -> DecideModel:
    return read_model(Path(str(resources.files("retrieval").joinpath(MODEL_FILE))))


@dataclass(frozen=True, slots=True)
class DecideSettings:
    """The decision's model and limit; see the module docstring. The engine builds them from
    the `declining` settings; `max_age_days` 0 means no age limit."""

    max_age_days: float = 365.0
    # The guards: the most of the question's idf that may lie in words no passage holds, and
    # the least share of key words held by evidence holding less than `key_support` of it.
    max_unseen: float = 0.7
    min_key_held: float = 0.3
    key_support: float = 0.2
    # Below this many passages the model is not read: in a corpus of a few articles every word
    # is common, so the idf it weighs says little, and the guards alone decide.
    model_min_passages: int = 1000
    # Off, every answer with a sentence is given (for measuring the decision itself).
    enabled: bool = True
    model: DecideModel = field(default_factory=_shipped)


def read_model(path: Path) -> DecideModel:
    """Read and check a decision model file; a malformed one raises DecideModelError naming what is wrong."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DecideModelError(f"{path}: cannot read the decision model: {error}") from error
    return parse_model(raw, where=str(path))


def parse_model(raw: Any, *, where: str = "decision model") -> DecideModel:
    """Check a decision model's JSON value and build it."""

    def fail(what: str) -> DecideModelError:
        return DecideModelError(f"{where}: {what}")

    if not isinstance(raw, dict):
        raise fail(f"expected a JSON object, got {type(raw).__name__}")
    if raw.get("format") != MODEL_FORMAT:
        raise fail(f"format: expected {MODEL_FORMAT!r}, got {raw.get('format')!r}")
    if raw.get("features") != list(FEATURES):
        raise fail(f"features: expected {list(FEATURES)}, got {raw.get('features')!r}")

    def numbers(key: str) -> tuple[float, ...]:
        value = raw.get(key)
        if not isinstance(value, list) or len(value) != len(FEATURES):
            raise fail(f"{key}: expected a list of {len(FEATURES)} numbers, got {value!r}")
        return tuple(number(f"{key}[{i}]", v) for i, v in enumerate(value))

    def number(key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise fail(f"{key}: expected a finite number, got {value!r}")
        return float(value)

    scale = numbers("scale")
    if any(s <= 0 for s in scale):
        raise fail(f"scale: expected numbers > 0, got {list(scale)}")
    threshold = number("threshold", raw.get("threshold"))
    if not 0 < threshold < 1:
        raise fail(f"threshold: expected a number between 0 and 1, got {threshold}")
    return DecideModel(
        mean=numbers("mean"),
        scale=scale,
        coef=numbers("coef"),
        intercept=number("intercept", raw.get("intercept")),
        threshold=threshold,
    )


def question_form(question: str) -> tuple[bool, bool, bool]:
    """Whether the question asks for a definition, how to do something, or the bot's opinion."""
    text = question.replace("’", "'")
    return bool(_DEFINE.search(text)), bool(_HOWTO.search(text)), bool(_OPINION.search(text))


def features(evidence: Evidence, *, read_age: bool = True) -> list[float]:
    """The model's inputs, in `FEATURES` order; without `read_age` the evidence counts as fresh."""
    age = evidence.age_days if read_age else None
    define, howto, opinion = question_form(evidence.question)
    return [
        evidence.support,
        evidence.coverage,
        evidence.key_held,
        evidence.names_held,
        float(evidence.named),
        evidence.unseen,
        math.log1p(evidence.terms),
        evidence.rarest,
        math.log1p(evidence.mass),
        evidence.rarest_held,
        math.log1p(max(age, 0.0)) / math.log1p(AGE_SCALE_DAYS) if age is not None else 0.0,
        float(evidence.timed),
        float(define),
        float(howto),
        float(opinion),
    ]


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


def weigh_evidence(
    question: str,
    idf: Mapping[str, float],
    doc_freqs: Mapping[str, int],
    names: frozenset[str],
    best: Sequence[Chosen],
    *,
    passages: int,
    age_days: float | None,
    timed: bool,
) -> Evidence:
    """Read the evidence of `best` (the first sentences chosen, best first) for `question`.

    `idf` weighs each question term (`select.question_weights`), `doc_freqs` counts the
    passages holding it, out of `passages`; `names` are the terms of the question's names.
    """
    terms = list(idf)
    total = sum(idf.values())
    held = [c.held for c in best]
    seen = [t for t in terms if doc_freqs.get(t, 0) > 0]
    # Lucene's idf of a word that one passage holds: the most a seen word can weigh.
    one = math.log1p((max(passages, 1) - 0.5) / 1.5)
    rarest = max((idf[t] for t in seen), default=0.0)
    first = best[0].held if best else frozenset()
    unit = one if one > 0 else 1.0
    return Evidence(
        support=best[0].support if best else 0.0,
        key_held=key_held(idf, key_terms(terms, names, idf), held),
        age_days=age_days,
        coverage=best[0].coverage if best else 0.0,
        names_held=key_held(idf, names & set(terms), held),
        named=bool(names & set(terms)),
        unseen=sum(w for t, w in idf.items() if doc_freqs.get(t, 0) == 0) / total if total > 0 else 0.0,
        terms=len(terms),
        rarest=min(rarest / unit, 1.0),
        mass=sum(idf.get(t, 0.0) for t in first) / unit,
        rarest_held=min(max((idf.get(t, 0.0) for t in first), default=0.0) / unit, 1.0),
        timed=timed,
        question=question,
        passages=passages,
    )


def decide(evidence: Evidence, settings: DecideSettings) -> str:
    """Return "" to answer, or why the evidence does not answer (a key of `models.DECLINED`)."""
    if not settings.enabled:
        return ""
    if evidence.unseen >= settings.max_unseen:
        return "not covered"
    if evidence.key_held < settings.min_key_held and evidence.support < settings.key_support:
        return "not covered"
    limit = settings.max_age_days
    age = evidence.age_days
    if limit > 0 and age is not None and age > limit:
        return "too old"
    if evidence.passages < settings.model_min_passages:
        return ""
    model = settings.model
    if model.probability(features(evidence, read_age=limit > 0)) >= model.threshold:
        return ""
    # Declined: for its age when the same evidence, fresh, would have answered.
    fresh = model.probability(features(evidence, read_age=False))
    return "too old" if age is not None and age > 0 and fresh >= model.threshold else "not covered"
