"""A question word the index has never seen is matched to its nearest spelling there."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from retrieval.engine import Engine
from retrieval.index import Segment
from retrieval.spelling import LONG, Speller, SpellerBuilds, correct_by_scan


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


def test_the_terms_of_several_segments_are_merged_with_their_frequencies_summed(
    engine: Engine, corpus_dir: Path
) -> None:
    (corpus_dir / "more.txt").write_text(
        "Negotiations resume\n\nZelensky said negotiations with Brindle officials resume on Monday.\n", encoding="utf-8"
    )
    engine.refresh()
    segments = engine.state.segments
    assert len(segments) == 2
    counts: dict[str, int] = {}
    for seg in segments:
        for word, df in zip(
            np.asarray(seg.vocab).tolist(), np.diff(np.asarray(seg.post_offsets)).tolist(), strict=True
        ):
            counts[word.decode("utf-8")] = counts.get(word.decode("utf-8"), 0) + df
    merged = Speller.of_segments(segments)
    plain = Speller(counts)
    assert (merged.terms, merged.df) == (plain.terms, plain.df)
    assert merged.df[merged.terms.index("negoti")] == counts["negoti"] > 1


class Gate:
    """Holds every speller build until opened (a speller that takes long to build)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, fail: bool = False) -> None:
        self.opened = threading.Event()
        self.built: list[Sequence[Segment]] = []  # (another test's engine may still build its own)
        original = Speller.of_segments.__func__  # type: ignore[attr-defined]

        def held(cls: type[Speller], segments: Sequence[Segment], *, min_df: int = 1) -> Speller:
            self.built.append(segments)
            self.opened.wait(timeout=60)  # only so that a wrong wait fails instead of hanging
            if fail:
                raise OSError("the vocabulary cannot be read")
            speller: Speller = original(cls, segments, min_df=min_df)
            return speller

        monkeypatch.setattr(Speller, "of_segments", classmethod(held))


TYPO = "What did Zelenksy say about negotiations?"


def test_an_answer_does_not_wait_for_a_speller_still_being_built(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(monkeypatch)
    engine = Engine.open(corpus_dir, tmp_path / "index", wait_for_speller=False)
    try:
        answer = engine.answer(TYPO, asked_at="2024-03-06")
        assert (answer.corrected, answer.error) == ((), "")
        assert not engine.speller_ready()
    finally:
        gate.opened.set()
    assert SpellerBuilds(wait=True).get(object()) is None  # nothing asked for: nothing to wait for
    assert engine.speller_ready(wait=True)
    engine._spellers.wait = True  # the next answer waits for the build under way
    assert engine.answer(TYPO, asked_at="2024-03-06").corrected == (("Zelenksy", "Zelensky"),)
    assert [s for s in gate.built if s is engine.state.segments] == [engine.state.segments]


def test_after_a_refresh_the_previous_speller_answers_until_the_new_one_is_built(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(monkeypatch)
    gate.opened.set()
    engine = Engine.open(corpus_dir, tmp_path / "index")  # waits: the first build is done before answering
    assert engine.answer(TYPO, asked_at="2024-03-06").corrected == (("Zelenksy", "Zelensky"),)
    engine._spellers.wait = False
    gate.opened.clear()
    (corpus_dir / "lighthouse.txt").write_text(
        "Lighthouse reopens\n\nThe Quarrington lighthouse reopened to visitors on Saturday.\n"
        "Source: Coast Gazette\nPublished: 2024-03-09\n",
        encoding="utf-8",
    )
    try:
        assert engine.refresh().changed
        assert engine.answer(TYPO, asked_at="2024-03-10").corrected == (("Zelenksy", "Zelensky"),)
        # A word only the new article holds is not known to the previous speller.
        assert engine.answer("When did the Quarringtn lighthouse reopen?", asked_at="2024-03-10").corrected == ()
    finally:
        gate.opened.set()
    engine._spellers.wait = True
    fixed = engine.answer("When did the Quarringtn lighthouse reopen?", asked_at="2024-03-10")
    assert fixed.corrected == (("Quarringtn", "Quarrington"),) and fixed.answered
    assert len([s for s in gate.built if s is engine.state.segments]) == 1


def test_a_speller_that_cannot_be_built_leaves_words_as_typed(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    gate = Gate(monkeypatch, fail=True)
    gate.opened.set()
    engine = Engine.open(corpus_dir, tmp_path / "index")  # waits, and does not wait forever
    answer = engine.answer(TYPO, asked_at="2024-03-06")
    assert (answer.corrected, answer.error) == ((), "")
    assert "cannot build the speller" in caplog.text
