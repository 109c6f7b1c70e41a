"""The compiled tokeniser of index builds: exactly the analyser's regex tokens, numbered exactly."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval.analyze import Analyzer
from retrieval.tokens import ALNUM, DIGIT, LETTER, Vocabulary, byte_offsets, classes

REFERENCE = Analyzer()


def scanned(vocabulary: Vocabulary, units: list[str]) -> list[list[str]]:
    """Each unit's tokens as the compiled scan finds them."""
    ids, counts = vocabulary.scan(units)
    every = vocabulary.tokens(0, vocabulary.size)
    tokens = [every[i] for i in ids]
    cuts = np.cumsum(counts)
    return [tokens[int(lo) : int(hi)] for lo, hi in zip(cuts - counts, cuts, strict=True)]


def expected(units: list[str]) -> list[list[str]]:
    return [REFERENCE.tokens(u) for u in units]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "U.S. and U.K. troops, the U.S.A and e.g.5 a.b",
        "$1,500 and 3.5% in 2014, 1,2,3. 1.. 1,a 12,345.67,8",
        "3.5x x3.5 1.2.3 .5 5.",
        "Ukraine’s men's rock'n'roll 'quoted' it’’s o'",
        "high-ranking snake_case __init__ tab\tnew\nline\u00a0nbsp\u2009thin",
        "Café naïve Ørsted e\u0301te\u0301 a\u0308",
        "東京都 日本語の文 한국어 Ελληνικά русский ١٢٣ ٣.٤ १२,३४",
        "emoji 😀👍🏽 flags 🇺🇦 zero\u200bwidth ﬁnance ＦＵＬＬ ² ½ Ⅻ ǅ İ",
        "a\ud800b lone surrogates \udfff kept",
    ],
)
def test_units_get_the_tokens_the_analysers_regex_finds(text: str) -> None:
    units = [text, text.upper(), "", text[::-1]]
    assert scanned(Vocabulary(), units) == expected(units)


PIECES = [
    *"abcXYZ019.,'’ _-\n\t\u00a0\u2019\u0301\u0308éÉßı東京٣४²½Ⅻ",
    *["U.S.", "1,500", "3.5", "😀", "e\u0301", "\ud800", "\U00010400", "A.", "a'b", "..", ",,", "'’", "\u200b"],
]


def test_random_mixed_text_gets_the_regexs_tokens_and_the_same_id_for_the_same_token() -> None:
    rng = random.Random(7)
    vocabulary = Vocabulary()
    seen: dict[str, int] = {}
    for _ in range(500):
        units = ["".join(rng.choices(PIECES, k=rng.randint(0, 40))) for _ in range(rng.randint(0, 8))]
        known = vocabulary.size
        before = set(seen)
        ids, _ = vocabulary.scan(units)
        every = vocabulary.tokens(0, vocabulary.size)
        assert vocabulary.tokens(known, vocabulary.size) == every[known:]
        for raw in ids.tolist():
            assert seen.setdefault(every[raw], raw) == raw
        assert {t for t, raw in seen.items() if raw >= known} == set(seen) - before
        assert scanned(vocabulary, units) == expected(units)
    # Every distinct token has one id, numbered from 0 in the order first met.
    assert sorted(seen.values()) == list(range(vocabulary.size))


@given(st.lists(st.text(max_size=60), max_size=6))
def test_any_text_gets_the_regexs_tokens(units: list[str]) -> None:
    assert scanned(Vocabulary(), units) == expected(units)


@pytest.mark.parametrize("context", ["a{}b", "{}.{}.", "1{}2", "1,{}", "x’{}", "{}{}"])
def test_every_code_point_is_classed_as_the_regex_classes_it(context: str) -> None:
    text = " ".join(context.replace("{}", chr(c)) for c in range(0x110000))
    units = [text[i : i + 50_000] for i in range(0, len(text), 50_000)]
    assert scanned(Vocabulary(), units) == expected(units)


def test_the_class_table_holds_letters_and_digits_inside_letters_or_digits() -> None:
    kinds = classes()
    assert kinds.shape == (0x110000,)
    assert [kinds[ord(c)] for c in "a1_ .é٣²"] == [
        ALNUM | LETTER,
        ALNUM | DIGIT,
        0,
        0,
        0,
        ALNUM | LETTER,
        ALNUM | DIGIT,
        ALNUM | LETTER,
    ]
    assert np.all(kinds[(kinds & (LETTER | DIGIT)) > 0] & ALNUM)
    assert not np.any(kinds & (LETTER | DIGIT) == LETTER | DIGIT)


def test_the_table_grows_and_keeps_every_id() -> None:
    vocabulary = Vocabulary()
    words = [f"w{i}x{'y' * (i % 40)}" for i in range(20_000)]
    first, counts = vocabulary.scan([" ".join(words)])
    again, _ = vocabulary.scan(words[::-1])
    assert counts.tolist() == [20_000]
    assert first.tolist() == list(range(20_000))
    assert again.tolist() == list(range(20_000))[::-1]
    assert vocabulary.size == 20_000
    assert vocabulary.tokens(0, 20_000) == words
    assert vocabulary.tokens(19_999, 20_000) == words[-1:]
    assert vocabulary.tokens(5, 5) == []
    # Far more tokens than a quarter of the bytes: the id array grows too.
    ids, counts = vocabulary.scan(["a " * 5_000, "b"])
    assert ids.tolist() == [20_000] * 5_000 + [20_001]
    assert counts.tolist() == [5_000, 1]


@pytest.mark.parametrize("text", ["", "plain ascii", "Café 東京 😀 e\u0301 \ud800!", "ŝ" * 5 + "a"])
def test_byte_offsets_are_where_each_character_offset_falls_in_the_utf8(text: str) -> None:
    chars = np.arange(len(text) + 1, dtype=np.int64)
    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    expected = [len(text[:c].encode("utf-8", "surrogatepass")) for c in chars]
    assert byte_offsets(data, chars).tolist() == expected
    assert byte_offsets(data, chars[::2].copy()).tolist() == expected[::2]
