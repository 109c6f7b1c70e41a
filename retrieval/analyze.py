"""Stage 3 of load → split → analyze → index → search → select → answer: text to terms.

The same analysis runs on passages at index time and on questions at ask time: NFKC
normalisation, case folding, accent folding, apostrophes and possessives (`Ukraine’s` →
`ukraine`), hyphenated words split into their parts, numbers kept (`1,500` → `1500`,
`3.5` stays), stopwords dropped and Snowball stemming (PyStemmer) in the configured language.

Speed: a news corpus repeats its words, so each distinct raw token is analysed once and
cached; a passage costs one regex scan and one dict lookup per token.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version

import Stemmer

try:
    _STEMMER_VERSION = version("PyStemmer")
except PackageNotFoundError:  # pragma: no cover - a source checkout without metadata
    _STEMMER_VERSION = "unknown"

from retrieval.errors import SettingsError
from retrieval.settings import AnalysisSettings

# The Snowball project's English stopword list, plus the question words and contractions
# that carry no topic ("who", "did", "'s").
ENGLISH_STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren't",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "can't",
        "cannot",
        "could",
        "couldn't",
        "did",
        "didn't",
        "do",
        "does",
        "doesn't",
        "doing",
        "don't",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "hadn't",
        "has",
        "hasn't",
        "have",
        "haven't",
        "having",
        "he",
        "he'd",
        "he'll",
        "he's",
        "her",
        "here",
        "here's",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "how's",
        "i",
        "i'd",
        "i'll",
        "i'm",
        "i've",
        "if",
        "in",
        "into",
        "is",
        "isn't",
        "it",
        "it's",
        "its",
        "itself",
        "let's",
        "me",
        "more",
        "most",
        "mustn't",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "ought",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "shan't",
        "she",
        "she'd",
        "she'll",
        "she's",
        "should",
        "shouldn't",
        "so",
        "some",
        "such",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "there's",
        "these",
        "they",
        "they'd",
        "they'll",
        "they're",
        "they've",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "wasn't",
        "we",
        "we'd",
        "we'll",
        "we're",
        "we've",
        "were",
        "weren't",
        "what",
        "what's",
        "when",
        "when's",
        "where",
        "where's",
        "which",
        "while",
        "who",
        "who's",
        "whom",
        "why",
        "why's",
        "with",
        "won't",
        "would",
        "wouldn't",
        "you",
        "you'd",
        "you'll",
        "you're",
        "you've",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "also",
        "s",
        "t",
        "whose",
        "will",
        "shall",
        "may",
        "might",
        "must",
    ]
)

STOPWORDS = {"english": ENGLISH_STOPWORDS}

# Irregular past forms that a Snowball stemmer leaves apart from their verb, common in news
# ("the war began" answers "when did the war begin"). Applied before stemming, English only.
ENGLISH_IRREGULAR = {
    past: verb
    for verb, forms in {
        "arise": "arose arisen",
        "be": "was were been",
        "bear": "bore born borne",
        "beat": "beaten",
        "become": "became",
        "begin": "began begun",
        "bite": "bit bitten",
        "blow": "blew blown",
        "break": "broke broken",
        "bring": "brought",
        "build": "built",
        "buy": "bought",
        "catch": "caught",
        "choose": "chose chosen",
        "come": "came",
        "dig": "dug",
        "do": "did done",
        "draw": "drew drawn",
        "drink": "drank drunk",
        "drive": "drove driven",
        "eat": "ate eaten",
        "fall": "fell fallen",
        "feed": "fed",
        "feel": "felt",
        "fight": "fought",
        "find": "found",
        "flee": "fled",
        "fly": "flew flown",
        "forbid": "forbade forbidden",
        "forget": "forgot forgotten",
        "forgive": "forgave forgiven",
        "freeze": "froze frozen",
        "get": "got gotten",
        "give": "gave given",
        "go": "went gone",
        "grow": "grew grown",
        "hang": "hung",
        "have": "had",
        "hear": "heard",
        "hide": "hid hidden",
        "hold": "held",
        "keep": "kept",
        "know": "knew known",
        "lay": "laid",
        "lead": "led",
        "leave": "left",
        "lend": "lent",
        "lie": "lay lain",
        "lose": "lost",
        "make": "made",
        "mean": "meant",
        "meet": "met",
        "pay": "paid",
        "ride": "rode ridden",
        "ring": "rang rung",
        "rise": "rose risen",
        "run": "ran",
        "say": "said",
        "see": "saw seen",
        "seek": "sought",
        "sell": "sold",
        "send": "sent",
        "shake": "shook shaken",
        "shoot": "shot",
        "show": "shown",
        "sing": "sang sung",
        "sink": "sank sunk",
        "sit": "sat",
        "sleep": "slept",
        "speak": "spoke spoken",
        "spend": "spent",
        "stand": "stood",
        "steal": "stole stolen",
        "stick": "stuck",
        "strike": "struck stricken",
        "swear": "swore sworn",
        "swim": "swam swum",
        "take": "took taken",
        "teach": "taught",
        "tear": "tore torn",
        "tell": "told",
        "think": "thought",
        "throw": "threw thrown",
        "understand": "understood",
        "wake": "woke woken",
        "wear": "wore worn",
        "win": "won",
        "withdraw": "withdrew withdrawn",
        "write": "wrote written",
        "die": "died",
        "marry": "married",
    }.items()
    for past in forms.split()
}
IRREGULAR = {"english": ENGLISH_IRREGULAR}

# An acronym with full stops (U.S., U.K.) is one word. A word is letters/digits joined by
# inner apostrophes; a number may carry inner , or . separators (1,500 or 3.5). Hyphens and
# slashes split words into their parts.
_TOKEN = re.compile(r"(?:[^\W\d_]\.){2,}|\d+(?:[.,]\d+)+|[^\W_]+(?:['’][^\W_]+)*")
_POSSESSIVE = ("'s", "’s")
_MAX_TERM = 32
_MAX_CACHE = 500_000


def _fold(token: str) -> str:
    """Case-fold, strip accents and unify apostrophes of one raw token."""
    token = unicodedata.normalize("NFKC", token).casefold().replace("’", "'")
    decomposed = unicodedata.normalize("NFKD", token)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Analyzer:
    """Turn text into index terms; the one analysis shared by passages and questions."""

    def __init__(self, settings: AnalysisSettings | None = None) -> None:
        settings = settings or AnalysisSettings()
        self.settings = settings
        language = settings.language.lower()
        if settings.stemming:
            try:
                self._stemmer: Stemmer.Stemmer | None = Stemmer.Stemmer(language)
            except KeyError:
                raise SettingsError(
                    f"analysis.language: expected one of {', '.join(Stemmer.algorithms())}, got {settings.language!r}"
                ) from None
        else:
            self._stemmer = None
        self._stopwords = STOPWORDS.get(language, frozenset()) if settings.stopwords else frozenset()
        self._irregular = IRREGULAR.get(language, {}) if settings.stemming else {}
        self._cache: dict[str, str] = {}

    def _term(self, token: str) -> str:
        """Analyse one raw token; '' means it is dropped (a stopword)."""
        folded = _fold(token)
        if folded in self._stopwords:
            term = ""
        else:
            if folded.endswith(_POSSESSIVE[0]):
                folded = folded[:-2]
            folded = folded.replace("'", "")
            if folded.endswith("."):  # an acronym: U.S. is us, like US
                folded = folded.replace(".", "")
            if folded[:1].isdigit():
                folded = folded.replace(",", "")
            term = self._irregular.get(folded, folded)[:_MAX_TERM]
            if self._stemmer is not None and not term[:1].isdigit():
                term = self._stemmer.stemWord(term)
            if term in self._stopwords:
                term = ""
        if len(self._cache) >= _MAX_CACHE:
            # Questions bring words without end; past this many, start the cache afresh.
            self._cache.clear()
        self._cache[token] = term
        return term

    def terms(self, text: str) -> list[str]:
        """Return the index terms of `text`, in order, stopwords dropped."""
        tokens = _TOKEN.findall(text)
        found = list(map(self._cache.get, tokens))
        if None in found:
            found = [self._term(t) if f is None else f for t, f in zip(tokens, found, strict=True)]
        return [t for t in found if t]

    def spans(self, text: str) -> Iterator[tuple[str, int, int]]:
        """Yield (term, start, end) for every kept token of `text`, spans into `text`."""
        for match in _TOKEN.finditer(text):
            token = match.group()
            term = self._cache.get(token)
            if term is None:
                term = self._term(token)
            if term:
                yield term, match.start(), match.end()

    @property
    def fingerprint(self) -> str:
        """A string that changes whenever the analysis would produce other terms."""
        s = self.settings
        return f"v2|{s.language.lower()}|stop={s.stopwords}|stem={s.stemming}|pystemmer={_STEMMER_VERSION}"
