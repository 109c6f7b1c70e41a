"""Answers as Telegram HTML: the last step of the flow, answer → message text.

Every function here is pure: records in, strings (or inline results) out, no Telegram calls.
Whatever comes from outside (corpus text, titles, outlets, URLs) is escaped before it goes
into HTML, and every message returned fits Telegram's limit. A message is cut only between blocks (a sentence with
its source, a line of a list), never inside a tag; a single sentence too long for a message on
its own is shortened at a word boundary and marked with "…".

Length is counted the strictest way a server could count it: the raw HTML and the text after
entity parsing, in UTF-16 code units (how Telegram measures text), must both stay within
`MessageLimit.MAX_TEXT_LENGTH`.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from urllib.parse import quote

from telegram import InlineQueryResultArticle, InputTextMessageContent, LinkPreviewOptions
from telegram.constants import InlineQueryLimit, MessageLimit, ParseMode

from bot.outlets import outlet_name
from retrieval.models import Answer, AnswerSentence, Context, IndexStats, Source

__all__ = [
    "MAX_MESSAGE",
    "SMALL_TALK_REPLY",
    "article_link",
    "format_age",
    "format_about",
    "format_answer",
    "format_context",
    "format_group_intro",
    "format_help",
    "format_no_answer",
    "format_sentence",
    "format_source_plain",
    "format_sources",
    "format_start",
    "format_too_fast",
    "html_to_plain",
    "inline_results",
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
MAX_ALSO = 5
# How many outlets /sources lists before "…and N more".
MAX_OUTLETS_LISTED = 30
# Words in bold per quote: the question's rarest among the quotes, so bold still stands out.
MAX_BOLD = 3
# Words from each end of a quote that make its text fragment (#:~:text=start,end).
FRAGMENT_WORDS = 4

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


def human_date(published: str) -> str:
    """Return a publication date as people write it ("9 Feb 2025"); other text as it is."""
    found = _DATE.match(published.strip())
    if found:
        try:
            day = dt.date.fromisoformat(found.group(0))
        except ValueError:
            return found.group(0)
        return f"{day.day} {day:%b %Y}"
    return preview(published, MAX_DATE)


def _fragment(quoted: str) -> str:
    """Return a text fragment directive that finds `quoted` in the page: its first and last words."""
    words = quoted.split()
    if not words:
        return ""

    def encoded(part: list[str]) -> str:
        # Text fragments reserve -, & and , (https://wicg.github.io/scroll-to-text-fragment/).
        return quote(" ".join(part), safe="").replace("-", "%2D")

    if len(words) <= 2 * FRAGMENT_WORDS:
        return f":~:text={encoded(words)}"
    return f":~:text={encoded(words[:FRAGMENT_WORDS])},{encoded(words[-FRAGMENT_WORDS:])}"


def article_link(url: str, quoted: str = "") -> str:
    """Return the article's URL, opening at `quoted` where browsers support it; "" if not linkable."""
    url = url.strip()
    if not _LINKABLE.fullmatch(url):
        return ""
    if quoted:
        fragment = _fragment(quoted)
        linked = url + fragment if "#" in url else f"{url}#{fragment}"
        if len(escape_attribute(linked)) <= MAX_URL:
            return linked
    return url if len(escape_attribute(url)) <= MAX_URL else ""


def format_age(days: int | None) -> str:
    """Say how old an article was when asked: "today", "3 days old", "2 years old"; "" if unknown."""
    if days is None or days < 0:
        return ""
    for unit, size in (("year", 365.25), ("month", 30.44), ("week", 7.0), ("day", 1.0)):
        if days >= size * (2 if unit != "day" else 1):
            count = int(days // size)
            return f"{count} {_plural(count, unit)} old"
    return "today"


def format_source(source: Source, *, quoted: str = "", age_days: int | None = None) -> str:
    """Return the HTML source line: outlet · date (age) · headline (linked, at `quoted`, with a url)."""
    parts: list[str] = []
    outlet = outlet_name(source.source, source.url)
    if outlet:
        parts.append(escape(preview(outlet, MAX_OUTLET)))
    if source.published.strip():
        age = format_age(age_days)
        parts.append(escape(human_date(source.published)) + (f" ({age})" if age else ""))
    title = escape(preview(source.title, MAX_TITLE)) or "untitled"
    link = article_link(source.url, quoted)
    if link:
        title = f'<a href="{escape_attribute(link)}">{title}</a>'
    parts.append(title)
    return "— " + " · ".join(parts) + _also(source)


def _also(source: Source) -> str:
    """Name the other outlets that printed the same story: " · also: Outlet B, Outlet C"."""
    names = list(dict.fromkeys(m.source.strip() for m in source.also_reported_by if m.source.strip()))
    if not names:
        return ""
    shown = ", ".join(escape(preview(name, MAX_OUTLET)) for name in names[:MAX_ALSO])
    more = f" and {len(names) - MAX_ALSO} more" if len(names) > MAX_ALSO else ""
    return f" · also: {shown}{more}"


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


def _quote_block(sentence: AnswerSentence, *, source: str | None = None, bold: frozenset[str] | None = None) -> str:
    """Return a quote, its bold words limited to `bold` (all matches if None), then `source`."""
    if source is None:
        source = format_source(sentence.source, quoted=sentence.text, age_days=sentence.age_days)
    line = source
    spans = [(a, b) for a, b in sentence.matched if bold is None or sentence.text[a:b].casefold() in bold]

    def render(end: int) -> str:
        text = sentence.text
        shown = _highlight(text[:end], spans) + (ELLIPSIS if end < len(text) else "")
        return f"<blockquote>{shown}</blockquote>" + (f"\n{line}" if line else "")

    return _longest(render, sentence.text)


def format_sentence(sentence: AnswerSentence) -> str:
    """Return one answer sentence as a quote, matched words in bold, with its source line."""
    return _quote_block(sentence)


def pack(blocks: Sequence[str], *, separator: str = BLOCK_SEPARATOR) -> list[str]:
    """Join blocks into as few messages as fit, cutting only between blocks."""
    return pack_joined([(block, separator) for block in blocks])


def pack_joined(blocks: Sequence[tuple[str, str]]) -> list[str]:
    """Join (block, separator before it) pairs into as few messages as fit, cutting between blocks."""
    messages: list[str] = []
    for block, separator in blocks:
        if messages and fits(messages[-1] + separator + block):
            messages[-1] += separator + block
        else:
            messages.append(block)
    return messages


def _rare_words(sentences: Sequence[AnswerSentence]) -> list[frozenset[str]]:
    """For each quote, the matched words worth bold: its MAX_BOLD rarest among all the quotes."""
    words = [{s.text[a:b].casefold() for a, b in s.matched} for s in sentences]
    seen = Counter(word for found in words for word in found)
    return [frozenset(sorted(found, key=lambda w: (seen[w], -len(w), w))[:MAX_BOLD]) for found in words]


def format_answer(answer: Answer, *, start: int = 0, count: int = 3) -> list[str]:
    """Return the messages quoting sentences [start, start + count) of an answer.

    Quotes of one article stand together, its source line once under them, articles in the
    order of their best quote; only each quote's rarest matched words are bold.
    """
    shown = answer.sentences[start : start + count]
    bold = dict(zip((id(s) for s in shown), _rare_words(shown), strict=True))
    articles: dict[str, list[AnswerSentence]] = {}
    for sentence in shown:
        articles.setdefault(sentence.source.article_id, []).append(sentence)
    blocks: list[tuple[str, str]] = []
    for quotes in articles.values():
        source = format_source(quotes[0].source, quoted=quotes[0].text, age_days=quotes[0].age_days)
        for position, sentence in enumerate(quotes):
            line = source if position == len(quotes) - 1 else ""
            block = _quote_block(sentence, source=line, bold=bold[id(sentence)])
            blocks.append((block, "\n" if position else BLOCK_SEPARATOR))
    if start == 0 and answer.corrected:
        read = ", ".join(f"“{escape(typed)}” as “{escape(known)}”" for typed, known in answer.corrected)
        blocks.insert(0, (f"<i>I read {read}.</i>", BLOCK_SEPARATOR))
    return pack_joined(blocks)


SMALL_TALK_REPLY = (
    "Hello! I answer questions about the news by quoting the articles I know. "
    "Ask me about a person, a place or an event, e.g. <i>who won the election?</i>"
)


def format_no_answer(stats: IndexStats, answer: Answer | None = None) -> str:
    """Say plainly that nothing matched, how much the bot knows, and where to look."""
    if answer is not None and answer.declined == "small talk":
        return SMALL_TALK_REPLY
    if not stats.articles:
        return "I don't know any articles yet, so I cannot answer. Ask again once I have some."
    newest = f" (the newest from {escape(human_date(stats.latest))})" if stats.latest else ""
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
    blocks.append(format_source(context.source, quoted=context.sentences[context.focus]))
    return pack(blocks, separator="\n")


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"


def _range(stats: IndexStats) -> str:
    if stats.earliest and stats.latest and stats.earliest != stats.latest:
        return f", published {escape(human_date(stats.earliest))} to {escape(human_date(stats.latest))}"
    if stats.latest:
        return f", published {escape(human_date(stats.latest))}"
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


def format_start(examples: Sequence[str], *, articles: int, username: str, group: bool = False) -> str:
    """Return the /start greeting: what the bot does and questions to try, as this chat asks them."""
    name = escape(username)
    text = (
        "Hi! I answer questions about the news by quoting, word for word, the sentences of the "
        f"{articles} {_plural(articles, 'article')} I know that answer them best, "
        "each with its source.\n\n"
    )
    if group:
        text += f"In this group, start a message with /ask or mention @{name}"
        shown = [f"/ask {preview(e, 100)}" for e in examples]
    else:
        text += "Just send me a question"
        shown = [preview(e, 100) for e in examples]
    if shown:
        text += ", for example:\n" + "\n".join(f"• <code>{escape(e)}</code>" for e in shown)
    else:
        text += "."
    if group:
        return text + "\n\nOther messages here I do not read. See /help for more."
    return text + f"\n\nIn groups, use /ask or mention @{name}. See /help for more."


def format_help(*, username: str, group: bool = False) -> str:
    """Return /help: how to ask in this kind of chat first, then elsewhere, and the commands."""
    name = escape(username)
    in_group = (
        f"<code>/ask your question</code>, a message that mentions @{name}, "
        "or a reply to one of my messages"
    )
    if group:
        ways = (
            f"• In this group: {in_group}. I do not read other messages here.\n"
            f"• In a private chat with @{name}: just send a question.\n"
        )
    else:
        ways = f"• In this chat: just send a question.\n• In a group: {in_group}.\n"
    return (
        "<b>How to ask</b>\n"
        + ways
        + f"• In any chat: type <code>@{name} your question</code> and pick a quote.\n"
        "• Edit your question, and I edit my answer.\n\n"
        "Under an answer, <b>More</b> shows the next sentences and <b>Context</b> "
        "the passage around the first one.\n\n"
        "<b>Commands</b>\n"
        "/ask — ask a question\n"
        "/sources — which articles and outlets I know\n"
        "/about — how I work\n"
        "/help — this message"
    )


def format_group_intro(*, articles: int, username: str) -> str:
    """Return the greeting when the bot is added to a group: how to ask here, in two lines."""
    return (
        f"Hi! I answer questions about the news by quoting the {articles} {_plural(articles, 'article')} "
        f"I know, with their sources.\nAsk with <code>/ask your question</code> or mention @{escape(username)}; "
        "I do not read other messages here. /help tells more."
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


def inline_results(answer: Answer) -> list[InlineQueryResultArticle]:
    """The sentences of an answer as inline-mode results, each sending its quote and source."""
    return [
        InlineQueryResultArticle(
            id=str(position),
            title=preview(sentence.text, 120) or "…",
            description=preview(format_source_plain(sentence.source), 120),
            input_message_content=InputTextMessageContent(
                format_sentence(sentence),
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            ),
        )
        for position, sentence in enumerate(answer.sentences[: InlineQueryLimit.RESULTS])
    ]


def format_too_fast(wait: float) -> str:
    """Tell an asker over the question limit how long to wait."""
    return f"You are asking faster than I can keep up with. Please wait {max(1, round(wait))} seconds and ask again."
