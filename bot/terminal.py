"""Answers for the command line: terminal text and JSON, the last step of the flow for `newsbot`.

What `bot.format` is to Telegram, this is to `bot.cli`: pure functions from an `Answer` (or
the index's articles) to the text `newsbot ask`, `chat`, `sources` and `index` print. Matched
words are bold on a terminal and between asterisks in a pipe.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot.format import SMALL_TALK_REPLY, format_age, html_to_plain
from retrieval.models import Answer, AnswerSentence, Source

__all__ = ["answer_json", "format_answer", "format_size", "format_sources"]

BOLD, RESET = "\033[1m", "\033[0m"


def _mark(text: str, spans: Sequence[tuple[int, int]], *, tty: bool) -> str:
    on, off = (BOLD, RESET) if tty else ("*", "*")
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        out.append(f"{on}{text[start:end]}{off}")
        last = end
    out.append(text[last:])
    return "".join(out)


def format_answer(answer: Answer, *, tty: bool = False) -> str:
    """Render an answer as terminal text: quoted sentences with their sources under them."""
    if answer.error:
        return f"newsbot: could not answer: {answer.error}"
    if answer.declined == "small talk":
        return html_to_plain(SMALL_TALK_REPLY)
    if not answer.answered:
        return (
            f"I found nothing on that in the {answer.articles_known} "
            f"article{'' if answer.articles_known == 1 else 's'} I know.\n"
            "Try other words: a name, a place or an event from the news."
        )
    blocks = []
    if answer.corrected:
        blocks.append("(read " + ", ".join(f"“{typed}” as “{known}”" for typed, known in answer.corrected) + ")")
    for s in answer.sentences:
        src = s.source
        age = format_age(s.age_days)
        when = f"{src.published} ({age})" if src.published and age else src.published
        origin = " · ".join(p for p in (src.source, src.title, when) if p)
        quote = _mark(s.text, s.matched, tty=tty)
        # A sentence that opens with its own quotation mark is shown as printed.
        if not s.text.startswith(("“", '"', "«", "‘", "'", "„")):
            quote = f"“{quote}”"
        lines = [quote, f"  — {origin}"]
        also = list(dict.fromkeys(m.source for m in src.also_reported_by if m.source))
        if also:
            lines[-1] += f" (also: {', '.join(also)})"
        if src.url:
            lines.append(f"    {src.url}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def format_size(size: int) -> str:
    """Render a byte count as people read it: 812 bytes, 13.7 KiB, 79.0 MiB, 1.2 GiB."""
    if size < 1024:
        return f"{size} byte{'' if size == 1 else 's'}"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


def format_sources(articles: Sequence[Source]) -> str:
    """Render what is indexed: each outlet with its article count and date range, busiest first."""
    counts: Counter[str] = Counter()
    dates: dict[str, list[str]] = {}
    for article in articles:
        outlet = article.source or "(no outlet)"
        counts[outlet] += 1
        if article.published[:4].isdigit():
            dates.setdefault(outlet, []).append(article.published[:10])
    rows = [("outlet", "articles", "from", "to")]
    for outlet, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        span = dates.get(outlet, [""])
        rows.append((outlet, str(count), min(span), max(span)))
    every = [d for span in dates.values() for d in span]
    rows.append(("all", str(len(articles)), min(every, default=""), max(every, default="")))
    width = max(len(row[0]) for row in rows)
    return "\n".join(f"{o:<{width}}  {n:>8}  {a:<10}  {b}".rstrip() for o, n, a, b in rows)


def _sentence_json(s: AnswerSentence) -> dict[str, Any]:
    return {
        "text": s.text,
        "article_id": s.source.article_id,
        "title": s.source.title,
        "source": s.source.source,
        "url": s.source.url,
        "published": s.source.published,
        "age_days": s.age_days,
        "score": s.score,
        "also_reported_by": [{"source": m.source, "title": m.title, "url": m.url} for m in s.source.also_reported_by],
    }


def answer_json(answer: Answer) -> dict[str, Any]:
    """The JSON form of an answer, as `newsbot ask --json` prints it.

    A declined answer has `"answered": false`, the reason under `"declined"` and any older or
    partial coverage under `"related"`, never under `"sentences"`; a failed one has "error".
    """
    out: dict[str, Any] = {
        **({"error": answer.error} if answer.error else {}),
        "question": answer.question,
        "asked_at": answer.asked_at,
        "answered": answer.answered,
        "sentences": [_sentence_json(s) for s in answer.sentences],
    }
    if not answer.answered and not answer.error:
        out["declined"] = answer.declined or "nothing"
        out["related"] = [_sentence_json(s) for s in answer.related]
    if answer.corrected:
        out["corrected"] = {typed: known for typed, known in answer.corrected}
    return out
