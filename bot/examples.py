"""Questions to try, offered by /start: mined from the corpus, kept only if the engine answers them.

`bot.app` picks them when the bot starts and again when the corpus changes; `bot.handlers`
shows them. A headline of one of the newest articles makes a good question; a corpus of one or
two articles also gets "What about <name>?" for the names in its headlines.
"""

from __future__ import annotations

import re

from bot.state import AnswerEngine

__all__ = ["example_questions"]

_NAME = re.compile(r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*")


def _headline(title: str) -> str:
    """A headline without a short tag before a colon ("USA: Only Zelensky can…")."""
    title = " ".join(title.split())
    head, colon, rest = title.partition(": ")
    if colon and len(head.split()) <= 3 and rest:
        title = rest
    return title.rstrip(".!")


def _names(headline: str) -> list[str]:
    """Capitalised names in a headline, its capitalised first word left out."""
    names = []
    for found in _NAME.finditer(headline):
        words = found.group(0).split()
        if found.start() == 0:
            words = words[1:]
        if words:
            names.append(" ".join(words))
    return names


def example_questions(engine: AnswerEngine, *, count: int = 3, tries: int = 20) -> tuple[str, ...]:
    """Pick questions the corpus answers: headlines of its newest articles, then names in them."""
    newest = sorted(engine.articles, key=lambda a: a.published, reverse=True)[:50]
    headlines = [_headline(a.title) for a in newest]
    candidates = [h for h in headlines if 2 <= len(h.split()) <= 12]
    # A corpus of one or two articles still deserves two or three examples.
    candidates += [f"What about {name}?" for h in headlines for name in _names(h)]
    chosen: list[str] = []
    for candidate in list(dict.fromkeys(candidates))[:tries]:
        if engine.answer(candidate, limit=1).answered:
            chosen.append(candidate)
        if len(chosen) == count:
            break
    return tuple(chosen)
