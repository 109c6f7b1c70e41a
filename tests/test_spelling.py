"""A question word the index has never seen is matched to its nearest spelling there."""

from __future__ import annotations

import random

import pytest

from retrieval.engine import Engine
from retrieval.spelling import LONG, Speller, correct_by_scan


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


def _made_up_words(rng: random.Random, count: int) -> dict[str, int]:
    onsets = ["b", "br", "d", "f", "g", "k", "kr", "l", "m", "n", "p", "s", "st", "t", "v", "z", "ž", ""]
    vowels = ["a", "e", "i", "o", "u", "ai", "é"]
    words: dict[str, int] = {}
    while len(words) < count:
        syllables = rng.choice([1, 1, 2, 2, 2, 3, 3, 4, 5, 6])
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables))
        word += rng.choice(["", "n", "s", "r"])
        words[word] = rng.randint(1, 500)
    return words


def _typo(rng: random.Random, word: str, alphabet: str) -> str:
    at = rng.randrange(len(word) + 1)
    kind = rng.choice(["delete", "insert", "substitute", "swap"])
    if kind == "delete" and at < len(word):
        return word[:at] + word[at + 1 :]
    if kind == "substitute" and at < len(word):
        return word[:at] + rng.choice(alphabet) + word[at + 1 :]
    if kind == "swap" and at < len(word) - 1:
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return word[:at] + rng.choice(alphabet) + word[at:]


def test_the_deletion_index_finds_what_comparing_every_term_finds() -> None:
    rng = random.Random(11)
    counts = _made_up_words(rng, 4000)
    # A dense corner: more equally near terms than the tie-break looks at.
    letters = "abdegiklmnoprstuvz"
    counts.update({f"zo{a}{b}ra": rng.randint(1, 9) for a in letters for b in letters if a != b})
    speller = Speller(counts)
    words = sorted(counts)
    alphabet = "".join(sorted(set("".join(words))))
    typed = []
    for _ in range(600):
        word = rng.choice(words)
        for _ in range(rng.choice([1, 2])):
            word = _typo(rng, word, alphabet) or word
        typed.append(word)
    typed += rng.sample(words, 50) + ["zottra", "zossra", "zovvra", "zzzzzzzz", "qqq", "stai9n", ""]
    assert any(len(w) > LONG for w in words)
    assert sum(correct_by_scan(speller, w) is not None for w in typed) > 400
    for word in typed:
        assert speller.correct(word) == correct_by_scan(speller, word), word
