"""Before analyze, on the question side only: what a person typed, reduced to what they ask.

People wrap questions in markup (HTML tags, Markdown emphasis, links), paste URLs after them,
and pad them with greetings and politeness ("hi bot", "please", "anyone know"). None of that
is part of the question, so none of it may count against an answer. `clean_question` strips
it; `is_small_talk` tells a greeting, thanks or a question about the bot itself from a
question about the news.
"""

from __future__ import annotations

import html
import re

from retrieval.split import split_sentences

_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.I)
_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")
_BLOCK_TAG = re.compile(r"</?(?:p|br|div|li|ul|ol|h[1-6]|tr|td|blockquote|pre)\b[^<>]{0,200}>", re.I)
_SPACE_BEFORE_MARK = re.compile(r"\s+([?.!,;:])")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(\*\*|__|~~|`+|^\s{0,3}#{1,6}\s+|^\s{0,3}>\s?|^\s*[-*+]\s+)", re.M)
_MD_EMPHASIS = re.compile(r"(?<![\w*])[*_]([^*_\n]+)[*_](?![\w*])")
_MENTION = re.compile(r"(?<!\w)@\w+")

# Filler anywhere in a question: greetings, politeness and "does anyone know"-style openers.
_FILLER = re.compile(
    r"\b(?:hi|hello|hey|hiya|yo|greetings|good (?:morning|afternoon|evening|day))(?: there)?"
    r"(?: (?:bot|newsbot|all|everyone|folks|guys))?\b[,!.]*"
    r"|\b(?:please|pls|plz|kindly|thanks|thank you|thx|cheers)\b[,!.]*"
    r"|\b(?:(?:does|do) )?(?:any ?one|any ?body|someone|somebody) (?:know|knows|tell me|remember)(?: if| whether)?\b"
    r"|\b(?:can|could|would) you (?:please )?(?:tell|show|let) me(?: know)?\b"
    r"|\b(?:do you know|i (?:was|am) wondering|i wonder|quick question|just curious|i'?d like to know|i want to know)\b"
    r"|\b(?:tell me|let me know)\b"
    r"|\b(?:lol|btw|fyi|tia)\b",
    re.I,
)
_SPACE = re.compile(r"\s+")

# Messages that are about the conversation or the bot, not the news.
_SMALL_TALK = re.compile(
    r"^(?:"
    r"(?:hi|hello|hey|hiya|yo|greetings|good (?:morning|afternoon|evening|night|day)|morning|evening)"
    r"|(?:thanks|thank you|thx|cheers|ty|great|cool|nice|ok|okay|k|sure|yes|no|yep|nope|bye|goodbye|see you|lol|haha)"
    r"|how are you(?: doing| today)?|how(?:'s| is) it going|what'?s up|sup|how do you do"
    r"|who are you|what are you|what is your name|what'?s your name|are you (?:a )?(?:bot|human|real|there)"
    r"|what can you do|what do you do|how do(?:es)? (?:you|this|it) work|help|help me"
    r"|(?:you(?:'re| are)) (?:great|awesome|useless|stupid|funny|smart|welcome)"
    r"|i love you|nice to meet you|good (?:bot|job)|well done"
    r")(?: (?:bot|newsbot|there|again|so much|a lot|very much|all|everyone))?$",
    re.I,
)
_PUNCT = re.compile(r"[^\w' ]+")


def clean_question(text: str) -> str:
    """Return `text` without markup, URLs, mentions and filler; whitespace collapsed."""
    out = html.unescape(_TAG.sub("", _BLOCK_TAG.sub(" ", text)))
    out = _MD_LINK.sub(r"\1", out)
    out = _URL.sub(" ", out)
    out = _MD_MARKS.sub(" ", out)
    out = _MD_EMPHASIS.sub(r"\1", out)
    out = _MENTION.sub(" ", out)
    out = _FILLER.sub(" ", out)
    return _SPACE_BEFORE_MARK.sub(r"\1", _SPACE.sub(" ", out)).strip(" ,;:-")


def is_small_talk(text: str) -> bool:
    """Whether a message is a greeting, thanks or a question about the bot, not about the news."""
    plain = html.unescape(_TAG.sub(" ", text))
    plain = _MENTION.sub(" ", _URL.sub(" ", plain))
    words = _SPACE.sub(" ", _PUNCT.sub(" ", plain.replace("’", "'"))).strip()
    if not words:
        return bool(plain.strip())  # an emoji or a lone "?" is not a question either
    # A greeting or thanks in front of a real question does not make it small talk.
    parts = [p for p in re.split(r"[,.!?;]+", plain) if p.strip()]
    return all(_SMALL_TALK.match(_SPACE.sub(" ", _PUNCT.sub(" ", p.replace("’", "'"))).strip()) for p in parts)


def asking_clause(question: str) -> str:
    """The sentence that asks, when a question sets the scene first; "" for a one-sentence question.

    A quiz question often tells the story first ("The Avalanche won the Stanley Cup. How many
    titles do they have?"): the story's words find the article, the asking sentence's words
    find the sentence inside it that answers.
    """
    parts = [question[a:b] for a, b in split_sentences(question)]
    if len(parts) < 2:
        return ""
    asking = [p for p in parts if p.rstrip().endswith("?")]
    return (asking or parts)[-1]
