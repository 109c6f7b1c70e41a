"""A question word the index has never seen is matched to its nearest spelling there."""

from __future__ import annotations

import pytest

from retrieval.engine import Engine


@pytest.mark.parametrize(
    ("question", "typed", "read"),
    [
        ("Who decides on negociations?", "negociations", "negotiations"),
        ("What did Zelenksy say about negotiations?", "Zelenksy", "Zelensky"),
        ("Only Zelenskyy can decide on negotiations?", "Zelenskyy", "Zelensky"),
        ("How much will the brigde repairs cost?", "brigde", "bridge"),
        ("Can Volodimir Zelensky decide on negotiations?", "Volodimir", "Volodymyr"),  # not "Vladimir"
    ],
)
def test_a_misspelt_word_is_read_as_the_index_spells_it(engine: Engine, question: str, typed: str, read: str) -> None:
    answer = engine.answer(question, asked_at="2024-03-06")
    assert answer.answered
    assert answer.corrected == ((typed, read),)


def test_known_and_short_words_are_left_alone(engine: Engine) -> None:
    assert engine.answer("Who decides on negotiations?").corrected == ()
    assert engine.answer("Who won the chess final in Olso?").corrected == (("Olso", "Oslo"),)
    assert engine.answer("Who won the chess final in Olo?").corrected == ()  # too short to guess


def test_the_reply_says_what_was_matched(engine: Engine) -> None:
    from bot.cli import answer_json, format_answer

    answer = engine.answer("Who decides on negociations?")
    assert format_answer(answer).startswith("(read “negociations” as “negotiations”)")
    assert answer_json(answer)["corrected"] == {"negociations": "negotiations"}
