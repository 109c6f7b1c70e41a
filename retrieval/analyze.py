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
from retrieval.wordlists import IRREGULAR, STOPWORDS

# An acronym with full stops (U.S., U.K.) is one word. A word is letters/digits joined by
# inner apostrophes; a number may carry inner , or . separators (1,500 or 3.5). Hyphens and
# slashes split words into their parts.
_TOKEN = re.compile(r"(?:[^\W\d_]\.){2,}|\d+(?:[.,]\d+)+|[^\W_]+(?:['’][^\W_]+)*")
_POSSESSIVE = ("'s", "’s")
_MAX_TERM = 32
_MAX_CACHE = 500_000


def _fold(token: str) -> str:
    """Case-fold, strip accents and unify apostrophes of one raw token."""
    if token.isascii():  # NFKC and NFKD keep ASCII as it is, and its case-folding is lower()
        return token.lower()
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
                # Terms are cached here (and by index builds); PyStemmer's own cache only costs:
                # once full (10,000 words) it is copied afresh every 2,000 or so new words,
                # which made stemming an index build's new words four times slower.
                self._stemmer.maxCacheSize = 0
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
        """Analyse one raw token and remember it; '' means it is dropped (a stopword)."""
        term = self._analysed(token)
        if len(self._cache) >= _MAX_CACHE:
            # Questions bring words without end; past this many, start the cache afresh.
            self._cache.clear()
        self._cache[token] = term
        return term

    def _analysed(self, token: str) -> str:
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
        return term

    def tokens(self, text: str) -> list[str]:
        """Return the raw tokens of `text`, in order (what `terms` analyses one by one)."""
        return _TOKEN.findall(text)

    def term(self, token: str, *, remember: bool = True) -> str:
        """Return the index term of one raw token, '' when it is dropped (a stopword).

        `remember` False leaves the analyser's cache as it is: for a caller that keeps its own.
        """
        term = self._cache.get(token)
        if term is not None:
            return term
        return self._term(token) if remember else self._analysed(token)

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
