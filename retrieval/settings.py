"""Plain typed settings for every stage of the pipeline; validated on construction.

`bot.config` reads config.yaml and builds these; `retrieval` itself never sees YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from retrieval.errors import SettingsError

BM25_VARIANTS = ("lucene", "okapi", "bm25+", "bm25l")


def _require(ok: bool, key: str, value: object, allowed: str) -> None:
    if not ok:
        raise SettingsError(f"{key}: expected {allowed}, got {value!r}")


def is_int(value: object) -> bool:
    """Whether `value` is an integer, and not a boolean (which Python counts as one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, float) or is_int(value)


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    """How text becomes terms: the same for questions and passages."""

    language: str = "english"
    stopwords: bool = True
    stemming: bool = True

    def __post_init__(self) -> None:
        _require(
            isinstance(self.language, str) and self.language.isalpha(),
            "analysis.language",
            self.language,
            "a Snowball language name such as 'english'",
        )
        _require(isinstance(self.stopwords, bool), "analysis.stopwords", self.stopwords, "true or false")
        _require(isinstance(self.stemming, bool), "analysis.stemming", self.stemming, "true or false")


@dataclass(frozen=True, slots=True)
class PassageSettings:
    """Passages are windows of `size` consecutive sentences, `overlap` shared with the next.

    With `title`, every passage is indexed with its article's headline words too (as passage
    retrieval commonly does: a passage alone often lacks the topic its headline names).
    """

    size: int = 3
    overlap: int = 1
    title: bool = True

    def __post_init__(self) -> None:
        _require(
            is_int(self.size) and 1 <= self.size <= 50,
            "passages.size",
            self.size,
            "an integer from 1 to 50",
        )
        _require(
            is_int(self.overlap) and 0 <= self.overlap < self.size,
            "passages.overlap",
            self.overlap,
            f"an integer from 0 to {self.size - 1} (below passages.size)",
        )
        _require(isinstance(self.title, bool), "passages.title", self.title, "true or false")


@dataclass(frozen=True, slots=True)
class BM25Settings:
    """The BM25 variant and its parameters (Kamphuis et al. 2020 name the variants)."""

    variant: str = "lucene"
    k1: float = 0.9
    b: float = 0.4
    delta: float = 1.0

    def __post_init__(self) -> None:
        _require(self.variant in BM25_VARIANTS, "bm25.variant", self.variant, f"one of {', '.join(BM25_VARIANTS)}")
        _require(_is_number(self.k1) and 0 <= self.k1 <= 10, "bm25.k1", self.k1, "a number from 0 to 10")
        _require(_is_number(self.b) and 0 <= self.b <= 1, "bm25.b", self.b, "a number from 0 to 1")
        _require(_is_number(self.delta) and 0 <= self.delta <= 5, "bm25.delta", self.delta, "a number from 0 to 5")


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    """How many sentences an answer quotes and how good a match must be to be quoted."""

    max_sentences: int = 3
    min_score: float = 0.2
    candidate_passages: int = 30
    sentence_k1: float = 0.5
    sentence_b: float = 0.0
    passage_weight: float = 1.0
    article_weight: float = 0.3
    title_weight: float = 1.2
    position_prior: float = 0.6
    answer_type_boost: float = 0.4

    def __post_init__(self) -> None:
        _require(
            is_int(self.max_sentences) and 1 <= self.max_sentences <= 50,
            "answers.max_sentences",
            self.max_sentences,
            "an integer from 1 to 50",
        )
        _require(
            _is_number(self.min_score) and self.min_score >= 0, "answers.min_score", self.min_score, "a number >= 0"
        )
        _require(
            is_int(self.candidate_passages) and 1 <= self.candidate_passages <= 1000,
            "answers.candidate_passages",
            self.candidate_passages,
            "an integer from 1 to 1000",
        )
        for key in (
            "sentence_k1",
            "passage_weight",
            "article_weight",
            "title_weight",
            "position_prior",
            "answer_type_boost",
        ):
            value = getattr(self, key)
            _require(_is_number(value) and 0 <= value <= 10, f"answers.{key}", value, "a number from 0 to 10")
        _require(
            _is_number(self.sentence_b) and 0 <= self.sentence_b <= 1,
            "answers.sentence_b",
            self.sentence_b,
            "a number from 0 to 1",
        )


@dataclass(frozen=True, slots=True)
class DecliningSettings:
    """When the best evidence does not answer the question (see `retrieval.decide`).

    A learned model reads the evidence (support, key words, names, age, the question's form);
    beside it, the best match must be at most `max_age_days` older than the moment asked (0:
    no limit and age not read at all, for an archive whose news is all old).
    """

    enabled: bool = True
    max_age_days: float = 365.0

    def __post_init__(self) -> None:
        _require(isinstance(self.enabled, bool), "declining.enabled", self.enabled, "true or false")
        _require(
            _is_number(self.max_age_days) and 0 <= self.max_age_days <= 100_000,
            "declining.max_age_days",
            self.max_age_days,
            "a number of days from 0 to 100000 (0 means no age limit)",
        )


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """How much memory building the index may take (new articles are indexed in batches that fit).

    Each batch becomes a segment of its own; search over several segments is exact.
    """

    memory_mb: int = 1024

    def __post_init__(self) -> None:
        _require(
            is_int(self.memory_mb) and 16 <= self.memory_mb <= 1_048_576,
            "index.memory_mb",
            self.memory_mb,
            "an integer from 16 to 1048576",
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the retrieval pipeline needs to know."""

    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    passages: PassageSettings = field(default_factory=PassageSettings)
    bm25: BM25Settings = field(default_factory=BM25Settings)
    answers: AnswerSettings = field(default_factory=AnswerSettings)
    declining: DecliningSettings = field(default_factory=DecliningSettings)
    index: IndexSettings = field(default_factory=IndexSettings)
