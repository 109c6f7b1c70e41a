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


def printable(text: str) -> str:
    """Return `text` with control characters and undecodable bytes escaped, so it fits one line."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable():
            out.append(char)
        elif 0xDC80 <= ord(char) <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        else:
            out.append(repr(char)[1:-1])
    return "".join(out)


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """What bringing the index up to date met: whether it changed, files skipped, warnings.

    True when the index changed, so `if engine.refresh():` reads as it says. `warnings` are
    said once per cause (a full disk is not repeated at every refresh while it stays full).
    """

    changed: bool
    problems: tuple[LoadProblem, ...] = ()
    warnings: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.changed


@dataclass(frozen=True, slots=True)
class LoadProblem:
    """A corpus file (or one line of it) that could not be used, and why.

    `retry`: the cause may go away without the file changing (permissions, a file that
    vanished while being read), so the file is tried again on the next update.
    """

    path: str
    reason: str
    line: int | None = None
    retry: bool = False

    def __str__(self) -> str:
        where = printable(self.path) if self.line is None else f"{printable(self.path)}:{self.line}"
        return f"{where}: {printable(self.reason)}"


@dataclass(frozen=True, slots=True)
class Corpus:
    """The articles that loaded and the problems met on the way."""

    articles: tuple[Article, ...]
    problems: tuple[LoadProblem, ...] = ()


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
    # Whole days from the article's publication to the moment asked; None when it has no date.
    age_days: int | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """The sentences that answer a question; no sentences means "no answer".

    `asked_at` is the ISO moment the answer holds for. When there are no sentences,
    `declined` says why (see `DECLINED`) and `related` may hold older or partial coverage,
    never presented as the answer. `corrected` pairs each question word that the index did
    not know with the spelling it was matched to.
    """

    question: str
    sentences: tuple[AnswerSentence, ...] = ()
    articles_known: int = 0
    terms: tuple[str, ...] = field(default=())
    # Set when the question could not be answered because the index failed a check.
    error: str = ""
    # Two answers holding the same sentences are equal whenever each was asked.
    asked_at: str = field(default="", compare=False)
    declined: str = ""
    related: tuple[AnswerSentence, ...] = ()
    corrected: tuple[tuple[str, str], ...] = ()

    @property
    def answered(self) -> bool:
        return bool(self.sentences)


# Why an answer holds no sentences.
DECLINED = {
    "nothing": "no article matches the question",
    "small talk": "a greeting or thanks, not a question about the news",
    "not covered": "the best sentences lack the question's key words",
    "too old": "the only matches are much older than the question needs",
}


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
