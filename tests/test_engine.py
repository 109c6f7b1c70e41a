"""The answer function: quotes that answer, with sources; an empty answer otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.engine import Engine
from retrieval.models import Source

SAMPLE_SOURCE = Source(
    article_id="usa-only-zelensky-can-decide-negotiations",
    title="USA: Only Zelensky can decide to start negotiations with Russia",
    source="RES-MPE",
    url="",
    published="",
)


def test_the_sample_question_quotes_zelensky_with_its_source(engine: Engine) -> None:
    answer = engine.answer("Who decides on negotiations?")
    assert answer.answered
    assert any("Zelensky" in s.text for s in answer.sentences)
    assert all(s.source == SAMPLE_SOURCE for s in answer.sentences)
    assert answer.articles_known == 4


def test_every_quoted_sentence_is_verbatim_from_its_article(engine: Engine, corpus_dir: Path) -> None:
    text = (corpus_dir / "usa-only-zelensky-can-decide-negotiations.txt").read_text()
    for question in ("who decides on negotiations", "what did Lavrov call Ukraine's terms", "largest donor of aid"):
        for s in engine.answer(question).sentences:
            assert s.text in text


def test_matched_spans_mark_the_question_words(engine: Engine) -> None:
    s = engine.answer("What did Lavrov call Ukraine's terms?").sentences[0]
    assert [s.text[a:b] for a, b in s.matched] == ["Lavrov", "called", "Ukraine’s", "terms"]


def test_sources_and_dates_come_with_the_sentence(engine: Engine) -> None:
    s = engine.answer("How much will the bridge repairs cost?").sentences[0]
    assert s.text == "Mayor Ellen Park said the repairs would cost $4.5 million."
    assert s.source == Source(
        article_id="harbour-bridge",
        title="Harbour bridge to close for repairs",
        source="Coast Gazette",
        url="https://example.org/harbour-bridge",
        published="2024-03-05",
    )


def test_a_jsonl_article_is_answered_too(engine: Engine) -> None:
    s = engine.answer("How much did tea prices rise?").sentences[0]
    assert s.text == "Tea prices rose by 12% in October, traders in Kolkata said."
    assert s.source.article_id == "wire-1"


@pytest.mark.parametrize(
    "question",
    [
        "",
        "   ",
        "who is it that they are",
        "what is the capital of Australia",
        "zzzqqq xyzzy",
        "negotiations " * 1500,
        "a" * 10_000,
        "🙂" * 3000,
        "\x00\u202e\ufeff",
        "<script>alert(1)</script>",
    ],
)
def test_odd_questions_get_an_answer_value_never_an_exception(engine: Engine, question: str) -> None:
    answer = engine.answer(question)
    assert answer.question == question
    if question.strip() != "negotiations":
        assert answer.answered is ("negotiations" in question)


def test_answers_never_repeat_a_sentence(engine: Engine) -> None:
    texts = [s.text for s in engine.answer("Zelensky negotiations Russia Ukraine", limit=10).sentences]
    assert len(texts) == len(set(texts))


def test_limit_asks_for_more_sentences(engine: Engine) -> None:
    assert len(engine.answer("Zelensky negotiations Russia Ukraine", limit=6).sentences) == 6


def test_context_gives_the_sentences_around_a_quote(engine: Engine) -> None:
    top = engine.answer("How much will the bridge repairs cost?").sentences[0]
    context = engine.context(top.source.article_id, top.sentence, radius=1)
    assert context is not None
    assert context.sentences[context.focus] == top.text
    assert context.sentences == (
        "The harbour bridge will close for six weeks from Monday while engineers replace its cables.",
        "Mayor Ellen Park said the repairs would cost $4.5 million.",
        "Ferries will run every ten minutes during the closure.",
    )
    assert engine.context("no-such-article", 0) is None
    assert engine.context(top.source.article_id, 99) is None


def test_stats_describe_the_corpus(engine: Engine) -> None:
    stats = engine.stats
    assert (stats.articles, stats.earliest, stats.latest) == (4, "2023-11-02", "2024-03-05")
    assert dict(stats.sources) == {"Board Review": 1, "Coast Gazette": 1, "RES-MPE": 1, "Wire": 1}
    assert stats.passages >= 4 and stats.terms > 50 and stats.size_bytes > 0


def test_a_corpus_whose_sentences_hold_no_words_answers_nothing(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.txt").write_text("0\n\n:\n")
    engine = Engine.open(tmp_path / "c", tmp_path / "index")
    assert engine.answer("0 :").sentences == ()
