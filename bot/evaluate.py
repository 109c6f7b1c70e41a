"""Measure answer quality on a question set: hit@1, hit@3, MRR@10, answer rate, latency.

The matching rule is the one of the public question sets newsbot is measured on: a returned
sentence hits when it contains one of the question's answers, case-insensitively, with curly
quotes and dashes folded to plain ones, at word boundaries (so "6" does not match "2026").
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import QuestionsError
from retrieval.engine import Engine
from retrieval.when import parse_asked_at

_FOLD = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "‐": "-", "‑": "-"})


def fold(text: str) -> str:
    """Fold case, curly quotes and dashes the way the matching rule does."""
    return " ".join(text.translate(_FOLD).casefold().split())


def contains_answer(sentence: str, answers: Iterable[str]) -> bool:
    """Whether `sentence` contains one of `answers` at word boundaries."""
    text = fold(sentence)
    for answer in answers:
        a = fold(answer)
        if a and re.search(r"(?<!\w)" + re.escape(a) + r"(?!\w)", text):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Question:
    """One question of a questions file."""

    id: str
    question: str
    answers: tuple[str, ...]
    split: str = ""
    tags: tuple[str, ...] = ()
    # The day the question was asked (ISO), when the set says: it is answered as of then.
    asked_at: str = ""


def read_questions(path: Path, *, split: str | None = None) -> list[Question]:
    """Read a questions .jsonl file; `split` keeps only that split."""
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise QuestionsError(f"{path}: cannot read ({error})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data: Any = json.loads(line)
            q = Question(
                id=str(data.get("id", n)),
                question=str(data["question"]),
                answers=tuple(str(a) for a in data.get("answers", [])),
                split=str(data.get("split", "")),
                tags=tuple(
                    t
                    for t in (
                        str(data["evidence_kind"]) if "evidence_kind" in data else "",
                        "numeric" if data.get("answer_is_numeric") else "",
                    )
                    if t
                ),
                asked_at=str(data.get("question_date") or data.get("asked_at") or ""),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise QuestionsError(f"{path}:{n}: expected an object with a 'question'") from None
        if q.asked_at:
            try:
                parse_asked_at(q.asked_at)
            except ValueError as error:
                raise QuestionsError(f"{path}:{n}: question_date: {error}") from None
        if split is None or q.split == split:
            out.append(q)
    return out


@dataclass(slots=True)
class Tally:
    """Running totals for one group of questions."""

    questions: int = 0
    hit1: int = 0
    hit3: int = 0
    rr: float = 0.0
    answered: int = 0

    def add(self, rank: int | None, answered: bool) -> None:
        self.questions += 1
        self.answered += answered
        if rank is not None:
            self.hit1 += rank == 1
            self.hit3 += rank <= 3
            self.rr += 1.0 / rank

    def summary(self) -> dict[str, float | int]:
        n = max(self.questions, 1)
        return {
            "questions": self.questions,
            "hit@1": round(self.hit1 / n, 4),
            "hit@3": round(self.hit3 / n, 4),
            "mrr@10": round(self.rr / n, 4),
            "answered": round(self.answered / n, 4),
        }


@dataclass(slots=True)
class Report:
    """The result of an evaluation run."""

    groups: dict[str, Tally] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def evaluate(engine: Engine, questions: Iterable[Question]) -> Report:
    """Ask every question and tally how often and how high an answer is found."""
    report = Report()
    for row in run_questions(engine, questions):
        report.latencies_ms.append(row["ms"])
        report.results.append(row)
        rank = row["rank"]
        for group in ("all", *row["tags"], *(["non-numeric"] if "numeric" not in row["tags"] else [])):
            report.groups.setdefault(group, Tally()).add(rank, row["answered"])
    return report


def run_questions(engine: Engine, questions: Iterable[Question]) -> Iterator[dict[str, Any]]:
    """Yield one result row per question: its rank of the first hit among 10 sentences."""
    for q in questions:
        start = time.perf_counter()
        answer = engine.answer(q.question, limit=10, asked_at=q.asked_at or None)
        ms = (time.perf_counter() - start) * 1000
        rank = next(
            (i for i, s in enumerate(answer.sentences, 1) if contains_answer(s.text, q.answers)),
            None,
        )
        yield {
            "id": q.id,
            "question": q.question,
            "answered": answer.answered,
            "rank": rank,
            "ms": round(ms, 3),
            "tags": list(q.tags),
            "top": answer.sentences[0].text if answer.sentences else "",
        }
