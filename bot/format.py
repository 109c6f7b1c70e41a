"""Answers as Telegram HTML: the last step of the flow, answer → message text.

Every function here is pure: records in, strings out, no Telegram calls. Whatever comes from
outside (corpus text, titles, outlets, URLs) is escaped before it goes into HTML, and every
message returned fits Telegram's limit. A message is cut only between blocks (a sentence with
its source, a line of a list), never inside a tag; a single sentence too long for a message on
its own is shortened at a word boundary and marked with "…".

Length is counted the strictest way a server could count it: the raw HTML and the text after
entity parsing, in UTF-16 code units (how Telegram measures text), must both stay within
`MessageLimit.MAX_TEXT_LENGTH`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from functools import partial

from telegram.constants import MessageLimit

from retrieval.models import Answer, AnswerSentence, Context, IndexStats, Source

__all__ = [
    "MAX_MESSAGE",
    "format_about",
    "format_answer",
    "format_context",
    "format_help",
    "format_no_answer",
    "format_sentence",
    "format_source_plain",
    "format_sources",
    "format_start",
    "html_to_plain",
    "preview",
    "telegram_length",
]

MAX_MESSAGE = MessageLimit.MAX_TEXT_LENGTH

# Caps on the parts of a source line, so that a hostile article cannot push the quote itself
# out of the message: headlines are rarely over 200 characters, outlet names over 60.
MAX_TITLE = 200
MAX_OUTLET = 60
MAX_DATE = 32
MAX_URL = 1024
# How many outlets /sources lists before "…and N more".
MAX_OUTLETS_LISTED = 30

ELLIPSIS = "…"
BLOCK_SEPARATOR = "\n\n"

_TAG = re.compile(r"<[^>]*>")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Telegram links only http(s) URLs; anything else (javascript:, spaces, quotes) is left unlinked.
_LINKABLE = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


def escape(text: str) -> str:
    """Escape text for a Telegram HTML text node (`&`, `<`, `>`)."""
    # quote=False: Telegram needs only these three escaped in text, and html.escape's &#x27;
    # for ' is a numeric entity we would rather not depend on.
    return html.escape(text, quote=False)


def escape_attribute(text: str) -> str:
    """Escape text for a double-quoted Telegram HTML attribute value."""
    return escape(text).replace('"', "&quot;")


def html_to_plain(text: str) -> str:
    """Return the text Telegram shows for HTML made by this module (tags dropped, entities read)."""
    return html.unescape(_TAG.sub("", text))


def telegram_length(text: str) -> int:
    """Return the length of HTML text after entity parsing, in UTF-16 code units."""
    return len(html_to_plain(text).encode("utf-16-le")) // 2


def fits(text: str, *, limit: int = MAX_MESSAGE) -> bool:
    """Tell whether HTML text fits one message, however the server counts."""
    return len(text) <= limit and telegram_length(text) <= limit


def preview(text: str, limit: int) -> str:
    """Shorten plain text to at most `limit` characters, at a word boundary, with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def _word_cut(text: str, end: int) -> int:
    """Move a cut at `end` back to the last whitespace, unless that loses over a fifth."""
    space = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end))
    return space if space >= end * 4 // 5 else end


def _spans(spans: Sequence[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """Clip spans to [0, length], drop empty ones, merge overlapping and touching ones."""
    clipped = sorted((max(0, start), min(length, end)) for start, end in spans)
    merged: list[tuple[int, int]] = []
    for start, end in clipped:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _highlight(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Escape `text`, wrapping each span in <b>."""
    parts: list[str] = []
    at = 0
    for start, end in _spans(spans, len(text)):
        parts.append(escape(text[at:start]))
        parts.append(f"<b>{escape(text[start:end])}</b>")
        at = end
    parts.append(escape(text[at:]))
    return "".join(parts)


def _date(published: str) -> str:
    found = _DATE.match(published.strip())
    return found.group(0) if found else preview(published, MAX_DATE)


def format_source(source: Source) -> str:
    """Return the HTML source line: outlet · headline (linked when there is a url) · date."""
    parts: list[str] = []
    if source.source.strip():
        parts.append(escape(preview(source.source, MAX_OUTLET)))
    title = escape(preview(source.title, MAX_TITLE)) or "untitled"
    url = source.url.strip()
    if _LINKABLE.fullmatch(url) and len(escape_attribute(url)) <= MAX_URL:
        title = f'<a href="{escape_attribute(url)}">{title}</a>'
    parts.append(title)
    if source.published.strip():
        parts.append(escape(_date(source.published)))
    return "— " + " · ".join(parts)


def format_source_plain(source: Source) -> str:
    """Return the source line as plain text, for inline result descriptions."""
    return html_to_plain(format_source(source))[2:]


def _longest(render: Callable[[int], str], text: str) -> str:
    """Return render(len(text)) if it fits a message, else render(end) for the longest that does."""
    if fits(whole := render(len(text))):
        return whole
    low, high = 0, len(text)  # the longest prefix that fits is in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        if fits(render(middle)):
            low = middle
        else:
            high = middle
    return render(_word_cut(text, low) or low)


def _shortened(text: str, end: int) -> str:
    return escape(text[:end]) + (ELLIPSIS if end < len(text) else "")


def _quoted(text: str) -> str:
    return f"<blockquote>{text}</blockquote>"


def _as_is(text: str) -> str:
    return text


def _wrapped_prefix(wrap: Callable[[str], str], text: str, end: int) -> str:
    return wrap(_shortened(text, end))


def _quote_block(sentence: AnswerSentence) -> str:
    source = format_source(sentence.source)

    def render(end: int) -> str:
        text = sentence.text
        quote = _highlight(text[:end], sentence.matched) + (ELLIPSIS if end < len(text) else "")
        return f"<blockquote>{quote}</blockquote>\n{source}"

    return _longest(render, sentence.text)


def format_sentence(sentence: AnswerSentence) -> str:
    """Return one answer sentence as a quote, matched words in bold, with its source line."""
    return _quote_block(sentence)


def pack(blocks: Sequence[str], *, separator: str = BLOCK_SEPARATOR) -> list[str]:
    """Join blocks into as few messages as fit, cutting only between blocks."""
    messages: list[str] = []
    for block in blocks:
        if messages and fits(messages[-1] + separator + block):
            messages[-1] += separator + block
        else:
            messages.append(block)
    return messages


def format_answer(answer: Answer, *, start: int = 0, count: int = 3) -> list[str]:
    """Return the messages quoting sentences [start, start + count) of an answer."""
    return pack([format_sentence(s) for s in answer.sentences[start : start + count]])


def format_no_answer(stats: IndexStats) -> str:
    """Say plainly that nothing matched, how much the bot knows, and where to look."""
    if not stats.articles:
        return "I don't know any articles yet, so I cannot answer. Ask again once I have some."
    newest = f" (the newest from {escape(_date(stats.latest))})" if stats.latest else ""
    return (
        f"I found nothing on that in the {stats.articles} {_plural(stats.articles, 'article')} "
        f"I know{newest}. Try other words, or see /sources for what I cover."
    )


def format_context(context: Context) -> list[str]:
    """Return the passage around a quoted sentence, that sentence quoted, then its source."""
    blocks: list[str] = []
    for position, sentence in enumerate(context.sentences):
        wrap = _quoted if position == context.focus else _as_is
        blocks.append(_longest(partial(_wrapped_prefix, wrap, sentence), sentence))
    blocks.append(format_source(context.source))
    return pack(blocks, separator="\n")


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"


def _range(stats: IndexStats) -> str:
    if stats.earliest and stats.latest and stats.earliest != stats.latest:
        return f", published {escape(_date(stats.earliest))} to {escape(_date(stats.latest))}"
    if stats.latest:
        return f", published {escape(_date(stats.latest))}"
    return ""


def format_sources(stats: IndexStats) -> list[str]:
    """Return /sources: how many articles, from which outlets, over which dates."""
    outlets = len(stats.sources)
    lines = [
        f"I know <b>{stats.articles}</b> {_plural(stats.articles, 'article')} from "
        f"<b>{outlets}</b> {_plural(outlets, 'outlet')}{_range(stats)}."
    ]
    for name, count in stats.sources[:MAX_OUTLETS_LISTED]:
        outlet = escape(preview(name, MAX_OUTLET)) or "<i>no outlet named</i>"
        lines.append(f"• {outlet} — {count}")
    if outlets > MAX_OUTLETS_LISTED:
        lines.append(f"…and {outlets - MAX_OUTLETS_LISTED} more.")
    return pack(lines, separator="\n")


def format_start(examples: Sequence[str], *, articles: int, username: str) -> str:
    """Return the /start greeting: what the bot does and questions to try."""
    text = (
        "Hi! I answer questions about the news by quoting, word for word, the sentences of the "
        f"{articles} {_plural(articles, 'article')} I know that answer them best, "
        "each with its source.\n\nJust send me a question"
    )
    if examples:
        text += ", for example:\n" + "\n".join(f"• <code>{escape(preview(e, 100))}</code>" for e in examples)
    else:
        text += "."
    return text + f"\n\nIn groups, use /ask or mention @{escape(username)}. See /help for more."


def format_help(*, username: str) -> str:
    """Return /help: how to ask, in each kind of chat, and the commands."""
    name = escape(username)
    return (
        "<b>How to ask</b>\n"
        "• In this chat: just send a question.\n"
        f"• In a group: <code>/ask your question</code>, mention @{name}, "
        "or reply to one of my messages.\n"
        f"• In any chat: type <code>@{name} your question</code> and pick a quote.\n\n"
        "Under an answer, <b>More</b> shows the next sentences and <b>Context</b> "
        "the passage around the first one.\n\n"
        "<b>Commands</b>\n"
        "/ask — ask a question\n"
        "/sources — which articles and outlets I know\n"
        "/about — how I work\n"
        "/help — this message"
    )


def format_about(stats: IndexStats) -> str:
    """Return /about: how the bot finds its answers and what it never does."""
    return (
        "I am newsbot. I rank passages of the news articles I know against your question "
        "(BM25), then quote the best-matching sentences verbatim, with outlet, headline, link "
        "and date. I never write an answer of my own: every word I show was printed by the "
        "article I cite.\n\n"
        f"I know {stats.articles} {_plural(stats.articles, 'article')} "
        f"({stats.passages} {_plural(stats.passages, 'passage')}){_range(stats)}."
    )
