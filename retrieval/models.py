"""The records that flow through the pipeline: load → split → analyze → index → search → select → answer.

Every record is a frozen dataclass. An answer sentence always carries its article, so whoever
shows it can cite it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Mention:
    """Another outlet that printed the same story: named beside a quote, never quoted itself."""

    source: str
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Article:
    """One news article as loaded from the corpus; `text` is the body without the headline."""

    id: str
    title: str
    text: str
    source: str = ""
    url: str = ""
    published: str = ""
    language: str = ""
    path: str = ""
    also_reported_by: tuple[Mention, ...] = ()


@dataclass(frozen=True, slots=True)
class LoadProblem:
    """A corpus file (or one line of it) that could not be used, and why."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Corpus:
    """The articles that loaded and the problems met on the way."""

    articles: tuple[Article, ...]
    problems: tuple[LoadProblem, ...] = ()


@dataclass(frozen=True, slots=True)
class Passage:
    """A window of consecutive sentences of one article: sentences [start, end) of it."""

    article: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Source:
    """Where a quoted sentence comes from."""

    article_id: str
    title: str
    source: str
    url: str
    published: str
    also_reported_by: tuple[Mention, ...] = ()


@dataclass(frozen=True, slots=True)
class AnswerSentence:
    """A sentence quoted verbatim from an article, with the spans of `text` that matched."""

    text: str
    source: Source
    score: float
    matched: tuple[tuple[int, int], ...] = ()
    sentence: int = 0


@dataclass(frozen=True, slots=True)
class Answer:
    """The sentences that answer a question; no sentences means "no answer"."""

    question: str
    sentences: tuple[AnswerSentence, ...] = ()
    articles_known: int = 0
    terms: tuple[str, ...] = field(default=())

    @property
    def answered(self) -> bool:
        return bool(self.sentences)


@dataclass(frozen=True, slots=True)
class Context:
    """The sentences around one quoted sentence, `focus` being its position in `sentences`."""

    source: Source
    sentences: tuple[str, ...]
    focus: int


@dataclass(frozen=True, slots=True)
class IndexStats:
    """What an index holds, for `newsbot index`, /sources and the log."""

    articles: int
    passages: int
    terms: int
    sources: tuple[tuple[str, int], ...] = ()
    earliest: str = ""
    latest: str = ""
    size_bytes: int = 0
