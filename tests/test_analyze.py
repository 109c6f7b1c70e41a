"""Text analysis: the same terms for questions and passages, whatever the typography."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval.analyze import Analyzer
from retrieval.errors import SettingsError
from retrieval.settings import AnalysisSettings


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("Ukraine’s terms", ["ukrain", "term"]),
        ("Ukraine's terms", ["ukrain", "term"]),
        ("UKRAINE", ["ukrain"]),
        ("Zelensky decides", ["zelenski", "decid"]),
        ("Zelensky decided", ["zelenski", "decid"]),
        ("high-ranking officials", ["high", "rank", "offici"]),
        ("Café naïve Ørsted", ["cafe", "naiv", "ørsted"]),
        ("the U.S. and the US", ["us", "us"]),
        ("$1,500 and 3.5% in 2014", ["1500", "3.5", "2014"]),
        ("who is it that they are", []),
        ("don’t won't", []),
        ("ﬁnance ＦＵＬＬ", ["financ", "full"]),
        ("G20 summit", ["g20", "summit"]),
        ("", []),
    ],
)
def test_text_becomes_these_terms(text: str, terms: list[str]) -> None:
    assert Analyzer().terms(text) == terms


def test_spans_point_at_the_words_in_the_original_text() -> None:
    text = "Ukraine’s President Zelensky decides."
    assert [(t, text[s:e]) for t, s, e in Analyzer().spans(text)] == [
        ("ukrain", "Ukraine’s"),
        ("presid", "President"),
        ("zelenski", "Zelensky"),
        ("decid", "decides"),
    ]


def test_stemming_and_stopwords_can_be_turned_off() -> None:
    analyzer = Analyzer(AnalysisSettings(stopwords=False, stemming=False))
    assert analyzer.terms("Who decides the talks") == ["who", "decides", "the", "talks"]


def test_language_chooses_the_stemmer() -> None:
    assert Analyzer(AnalysisSettings(language="german")).terms("Verhandlungen") == ["verhandl"]


def test_an_unknown_language_is_named_in_the_error() -> None:
    with pytest.raises(SettingsError, match="analysis.language: expected one of .*got 'klingon'"):
        Analyzer(AnalysisSettings(language="klingon"))


@given(st.text())
def test_questions_and_passages_analyse_alike_for_any_text(text: str) -> None:
    analyzer = Analyzer()
    terms = analyzer.terms(text)
    assert terms == [t for t, _, _ in analyzer.spans(text)]
    assert all(t and len(t) <= 64 for t in terms)


def test_the_token_cache_stays_bounded(monkeypatch) -> None:
    import retrieval.analyze as analyze_module

    monkeypatch.setattr(analyze_module, "_MAX_CACHE", 100)
    analyzer = Analyzer()
    for i in range(1000):
        assert analyzer.terms(f"word{i} elections") == [f"word{i}", "elect"]
    assert len(analyzer._cache) <= 100


@pytest.mark.parametrize("token", ["".join(map(chr, range(128))), "UKRAINE's", "G20", "U.S.", "don't", "Ab_9"])
def test_an_ascii_token_folds_as_the_unicode_normalisation_folds_it(token: str) -> None:
    from retrieval.analyze import _fold

    # A trailing é (folded to e) sends the token down the Unicode path.
    assert _fold(token) == _fold(token + "é")[:-1]
    assert _fold(token + "é") != _fold(token) + "é"
