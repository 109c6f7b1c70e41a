"""Split an article body into sentences: the `split` stage of load → split → analyze → index →
search → select → answer.

An answer quotes sentences verbatim, so a sentence is a (start, end) span into the body, and a
wrong split shows in a reply as half a sentence. The splitter is tuned for news prose: titles and
other abbreviations, initials, numbers, quotations, lists, headings and hard-wrapped lines. One
compiled regex finds the places where a sentence could end (a full stop, ?, !, or ellipsis before
whitespace, or a line break); each is then judged by the word before it and the word after it,
so the Python work grows with the number of full stops, not of characters.

pysbd is not used: it gets 52 of the 66 cases in tests/test_split.py right at about 0.25 MB/s,
a hundredth of this module's speed, too slow to split the corpus at every index build.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from retrieval.wordlists import (
    AMBIGUOUS_ABBREVIATIONS,
    NUMBER_PREFIXES,
    RUN_ON_WORDS,
    SENTENCE_OPENERS,
    TITLES,
)

__all__ = ["split_sentences"]


_RUN_ON_MARKS = frozenset(",;:-–—‐/&(")
_QUOTE_OPENERS = frozenset("\"'“‘«„‚‹»")
_CANNOT_OPEN = frozenset(",;:)]}%")

_STOP_OR_LINE_BREAK = re.compile(
    r"""
    (\.(?:[ ]\.){2,}|[.!?‽…]+)                # the stop; ". . ." is one ellipsis
    (?:[)\]}"'”’»›“‘«]|[ \u00a0\u202f]»)*     # closing quotes and brackets stay with it
    (\s+)
    |
    \n\s*                                      # a line break with no stop before it
    """,
    re.VERBOSE,
)
# Every alternative above starts with one of these: a match can start nowhere else.
_STOP_START = re.compile(r"[.!?‽…\n]")
_NEXT_WORD = re.compile(r"[\"'“‘«„‚‹»(\[{¿¡]*(\w*)")
_NEXT_TOKEN = re.compile(r"\S*")
_LIST_ITEM = re.compile(r"[•·▪◦‣●○■□►▶➤✓✔→◾♦]|[-–—*+]\s|(?:\d{1,3}|[A-Za-z]|[IVXivx]{2,4})[.)]\s|\(\w{1,3}\)\s")
_LIST_MARKER = re.compile(r"\d{1,3}|[A-Za-z]|[IVXivx]{2,4}")
_DOTTED = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_WORD_DELIMITERS = re.compile(r"[\"'“‘«„‚‹(\[{—–/:-]")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) character spans of the sentences of `text`, in order."""
    spans: list[tuple[int, int]] = []
    start = len(text) - len(text.lstrip())
    wrap_width = -1  # measured only when a line break without a stop needs it
    for match in _stops(text):
        stop = match.group(1)
        next_start = match.end()
        if stop is not None:
            end = match.start(2)
            if not _ends_at_stop(text, start, match.start(1), stop, match.group(2), next_start):
                continue
        else:
            end = match.start()
            while end > start and text[end - 1].isspace():
                end -= 1
            if end > start and match.group().count("\n") == 1:
                if wrap_width < 0:
                    wrap_width = _wrap_width(text)
                if not _ends_at_line_break(text, end, next_start, wrap_width):
                    continue
        if end > start:
            spans.append((start, end))
        start = next_start
    end = len(text.rstrip())
    if end > start:
        spans.append((start, end))
    return spans


def _stops(text: str) -> Iterator[re.Match[str]]:
    """Yield what `_STOP_OR_LINE_BREAK.finditer(text)` yields, about three times faster.

    The regex has no literal first character for `re` to scan for, so `finditer` tries it at
    every character; here it is tried only where `_STOP_START` finds one of its first characters.
    """
    pos = 0
    match = _STOP_OR_LINE_BREAK.match
    for start in _STOP_START.finditer(text):
        at = start.start()
        if at >= pos:
            found = match(text, at)
            if found is not None:
                yield found
                pos = found.end()


def _ends_at_stop(text: str, sentence_start: int, stop_start: int, stop: str, gap: str, next_start: int) -> bool:
    """Tell whether the sentence from `sentence_start` ends at `stop` followed by `gap`."""
    if "\n" in gap and (gap.count("\n") > 1 or _LIST_ITEM.match(text, next_start)):
        return True
    following = _NEXT_WORD.match(text, next_start)
    assert following is not None  # the pattern can match the empty string
    next_word = following.group(1)
    first = next_word[:1] or text[following.end() : following.end() + 1]
    if not first:
        return True
    if first.islower() or first in _CANNOT_OPEN:
        return False
    if stop != ".":
        return True

    before = text[max(0, stop_start - 30) : stop_start]
    if not before or before[-1].isspace():
        return True
    token = before.rsplit(None, 1)[-1]
    # Most words hold no delimiter (nor the stops of a dotted abbreviation): no regex for them.
    plain = token.isalnum()
    word = token if plain else _WORD_DELIMITERS.split(token)[-1]
    if word in TITLES:
        return False
    if word in NUMBER_PREFIXES:
        return not first.isdigit()
    if stop_start - len(token) == sentence_start and _LIST_MARKER.fullmatch(token):
        return False  # "1. First thing", also where a list was flattened into one line
    if (
        word in AMBIGUOUS_ABBREVIATIONS
        or (not plain and _DOTTED.fullmatch(word))
        or (len(word) == 1 and word.isupper())
    ):
        if len(next_word) == 1 and text.startswith(".", following.end()):
            return False  # another initial: "J. R. R. Tolkien"
        return next_word in SENTENCE_OPENERS or text[next_start] in _QUOTE_OPENERS
    return True


def _ends_at_line_break(text: str, line_end: int, next_start: int, wrap_width: int) -> bool:
    """Tell whether a line ending at `line_end` without a stop is a sentence of its own."""
    if _LIST_ITEM.match(text, next_start):
        return True
    following = _NEXT_WORD.match(text, next_start)
    assert following is not None  # the pattern can match the empty string
    first = following.group(1)[:1] or text[following.end() : following.end() + 1]
    if first.islower() or text[line_end - 1] in _RUN_ON_MARKS:
        return False
    line_start = text.rfind("\n", 0, line_end) + 1
    if text[line_start:line_end].rsplit(None, 1)[-1] in RUN_ON_WORDS:
        return False
    if wrap_width:
        next_token = _NEXT_TOKEN.match(text, next_start)
        assert next_token is not None  # the pattern can match the empty string
        # A wrapping editor breaks a line only where the next word would not fit on it.
        if line_end - line_start + 1 + len(next_token.group()) > wrap_width:
            return False
    return True


def _wrap_width(text: str) -> int:
    """Return the width `text` looks hard-wrapped at, or 0 if it does not look hard-wrapped."""
    lengths = [len(line.rstrip()) for line in text.split("\n")]
    width = max(lengths)
    # Wrapped text fills most of its lines nearly to the width; a lone long line proves nothing.
    if width >= 30 and sum(length >= width * 0.75 for length in lengths) >= 3:
        return width
    return 0
