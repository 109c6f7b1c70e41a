"""What people type around a question is stripped; small talk is told from questions."""

from __future__ import annotations

import pytest

from retrieval.question import asking_clause, clean_question, is_small_talk


@pytest.mark.parametrize(
    ("typed", "asked"),
    [
        ("please who decides on negotiations?", "who decides on negotiations?"),
        ("hi bot, who decides on negotiations", "who decides on negotiations"),
        ("Anyone know who decides on negotiations?", "who decides on negotiations?"),
        ("can you tell me who decides on negotiations? thanks!", "who decides on negotiations?"),
        ("<b>Who</b> decides on <i>negotiations</i>?", "Who decides on negotiations?"),
        ("**Who** decides on _negotiations_?", "Who decides on negotiations?"),
        ("who decides on negotiations? https://example.org/story?id=3", "who decides on negotiations?"),
        ("[who decides](https://example.org) on negotiations", "who decides on negotiations"),
        ("@newsbot who decides on negotiations", "who decides on negotiations"),
        ("What did the mayor say?", "What did the mayor say?"),
    ],
)
def test_markup_urls_and_filler_are_stripped(typed: str, asked: str) -> None:
    assert clean_question(typed) == asked


@pytest.mark.parametrize(
    ("message", "small_talk"),
    [
        ("hi", True),
        ("Hello there!", True),
        ("thanks!", True),
        ("thank you so much", True),
        ("how are you?", True),
        ("who are you?", True),
        ("what can you do?", True),
        ("👍", True),
        ("", False),
        ("hi, who won the chess final?", False),
        ("thanks! and how much will the bridge cost?", False),
        ("Who is Ellen Park?", False),
        ("help with the harbour bridge closure", False),
    ],
)
def test_small_talk_is_told_from_questions(message: str, small_talk: bool) -> None:
    assert is_small_talk(message) is small_talk


@pytest.mark.parametrize(
    ("question", "asking"),
    [
        ("Who won the chess final?", ""),
        ("The harbour bridge closed on Monday. How long will the repairs take?", "How long will the repairs take?"),
        ("Gen. Ellen Park visited the U.S. base this week. Who went with her?", "Who went with her?"),
        ("Is the bridge open? The ferry is late. Which line runs tonight?", "Which line runs tonight?"),
        ("Which line runs tonight? The ferry is late.", "Which line runs tonight?"),
        ("The ferry is late. The bridge is shut", "The bridge is shut"),
    ],
)
def test_the_asking_sentence_is_told_from_the_story_before_it(question: str, asking: str) -> None:
    assert asking_clause(question) == asking
