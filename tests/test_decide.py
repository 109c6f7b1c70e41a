"""Declining: small talk, questions the news held does not answer, and stale matches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.decide import DecideSettings, Evidence, decide, key_held, key_terms, name_terms
from retrieval.engine import Engine
from retrieval.models import DECLINED
from retrieval.settings import DecliningSettings, Settings


def test_key_terms_are_the_rare_names_of_a_long_question() -> None:
    question = "Which US city did Mayor Ellen Park say would pay for the bridge repairs?"
    words = ("US", "city", "Mayor", "Ellen", "Park", "pay", "bridge", "repairs")
    spans = [(w.lower(), question.index(w), question.index(w) + len(w)) for w in words]
    idf = {"us": 0.5, "city": 2.0, "mayor": 3.0, "ellen": 6.0, "park": 4.0, "pay": 2.0, "bridge": 5.0, "repairs": 4.5}
    names = name_terms(question, spans)
    assert names == frozenset({"us", "mayor", "ellen", "park"})
    # "US" and "Mayor" are names too common to be key; the rest are not names.
    assert key_terms([t for t, _, _ in spans], names, idf) == frozenset({"ellen", "park"})


def test_every_word_of_a_short_question_is_key() -> None:
    keys = key_terms(["capit", "australia"], frozenset({"australia"}), {"capit": 1.0, "australia": 3.0})
    assert keys == frozenset({"capit", "australia"})


def test_key_held_is_the_best_sentences_share_of_the_key_idf() -> None:
    idf = {"ellen": 6.0, "park": 4.0, "bridge": 5.0}
    keys = frozenset({"ellen", "park"})
    assert key_held(idf, keys, [frozenset({"park"}), frozenset({"ellen", "bridge"})]) == 0.6
    assert key_held(idf, frozenset(), [frozenset()]) == 1.0


@pytest.mark.parametrize(
    ("evidence", "reason"),
    [
        (Evidence(support=0.8, key_held=1.0, age_days=2), ""),
        (Evidence(support=0.1, key_held=1.0, age_days=2), "not covered"),
        (Evidence(support=0.25, key_held=0.0, age_days=2), "not covered"),
        (Evidence(support=0.8, key_held=0.0, age_days=2), ""),  # most of the question is there
        (Evidence(support=0.8, key_held=1.0, age_days=400), "too old"),
        (Evidence(support=0.8, key_held=1.0, age_days=-20), ""),
        (Evidence(support=0.8, key_held=1.0, age_days=None), ""),
    ],
)
def test_the_decision_reads_support_key_words_and_age(evidence: Evidence, reason: str) -> None:
    assert decide(evidence, DecideSettings()) == reason
    assert reason == "" or reason in DECLINED


def test_an_age_limit_of_zero_days_lets_old_news_answer() -> None:
    old = Evidence(support=0.8, key_held=1.0, age_days=4000)
    assert decide(old, DecideSettings(max_age_days=0)) == ""
    assert decide(old, DecideSettings(max_age_days=5000)) == ""
    assert decide(old, DecideSettings(max_age_days=3000)) == "too old"


def test_the_age_limit_is_a_setting_for_an_old_archive(tmp_path: Path) -> None:
    article = {
        "id": "bridge",
        "title": "Harbour bridge reopens",
        "source": "Example Gazette",
        "url": "https://example.org/bridge",
        "published": "2019-03-02",
        "text": "The Larkspur harbour bridge reopened after two years of repairs.",
    }
    corpus = tmp_path / "old.jsonl"
    corpus.write_text(json.dumps(article) + "\n", encoding="utf-8")
    question = "Who reopened the Larkspur harbour bridge?"
    fresh = Engine.open(corpus, tmp_path / "a")
    assert fresh.answer(question, asked_at="2023-05-17").declined == "too old"
    patient = Engine.open(corpus, tmp_path / "b", Settings(declining=DecliningSettings(max_age_days=0)))
    assert patient.decide_settings == DecideSettings(max_age_days=0)
    assert patient.answer(question, asked_at="2023-05-17").answered


@pytest.mark.parametrize("message", ["hi", "thanks!", "how are you?", "who are you?"])
def test_small_talk_gets_no_quotes(engine: Engine, message: str) -> None:
    answer = engine.answer(message)
    assert (answer.answered, answer.declined, answer.related) == (False, "small talk", ())


def test_a_question_about_something_else_is_declined(engine: Engine) -> None:
    answer = engine.answer("What is the capital of Australia?")
    assert not answer.answered and answer.declined in ("nothing", "not covered")


def test_only_much_older_coverage_is_declined_and_offered_as_related(engine: Engine) -> None:
    answer = engine.answer("How much will the bridge repairs cost?", asked_at="2025-06-01")
    assert (answer.answered, answer.declined) == (False, "too old")
    assert answer.related[0].text == "Mayor Ellen Park said the repairs would cost $4.5 million."
    assert engine.answer("How much did the bridge repairs cost in 2024?", asked_at="2025-06-01").answered


def test_declined_json_keeps_related_coverage_apart(corpus_dir: Path, tmp_path: Path) -> None:
    from bot.cli import answer_json

    engine = Engine.open(corpus_dir, tmp_path / "index")
    data = answer_json(engine.answer("How much will the bridge repairs cost?", asked_at="2025-06-01"))
    assert (data["answered"], data["sentences"], data["declined"]) == (False, [], "too old")
    assert data["related"][0]["published"] == "2024-03-05" and data["related"][0]["age_days"] == 453
    assert json.loads(json.dumps(data)) == data
