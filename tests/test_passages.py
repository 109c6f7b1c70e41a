"""Passages: windows of consecutive sentences, none inside another."""

from __future__ import annotations

import pytest

from retrieval.passages import windows
from retrieval.settings import PassageSettings


@pytest.mark.parametrize(
    ("n", "size", "overlap", "expected"),
    [
        (0, 3, 1, []),
        (1, 3, 1, [(0, 1)]),
        (3, 3, 1, [(0, 3)]),
        (4, 3, 1, [(0, 3), (2, 4)]),
        (7, 3, 1, [(0, 3), (2, 5), (4, 7)]),
        (8, 3, 1, [(0, 3), (2, 5), (4, 7), (6, 8)]),
        (5, 1, 0, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]),
        (5, 2, 0, [(0, 2), (2, 4), (4, 5)]),
        (6, 4, 2, [(0, 4), (2, 6)]),
    ],
)
def test_an_article_of_n_sentences_has_these_passages(
    n: int, size: int, overlap: int, expected: list[tuple[int, int]]
) -> None:
    assert windows(n, PassageSettings(size=size, overlap=overlap)) == expected


@pytest.mark.parametrize("n", range(0, 40))
@pytest.mark.parametrize(("size", "overlap"), [(1, 0), (2, 1), (3, 1), (3, 2), (5, 2)])
def test_passages_cover_every_sentence_and_none_lies_inside_another(n: int, size: int, overlap: int) -> None:
    spans = windows(n, PassageSettings(size=size, overlap=overlap))
    assert sorted({i for s, e in spans for i in range(s, e)}) == list(range(n))
    assert all(e - s <= size for s, e in spans)
    assert all(a[0] < b[0] and a[1] < b[1] for a, b in zip(spans, spans[1:], strict=False))
