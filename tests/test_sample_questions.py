"""Questions about the shipped sample article: answered in the top three, or declined."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.evaluate import contains_answer
from retrieval.engine import Engine

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    from bot.config import load_config

    config = load_config(ROOT / "config.yaml")
    return Engine.open(ROOT / "corpus", tmp_path_factory.mktemp("index"), config.settings)


ANSWERABLE = [
    ("Who decides on negotiations?", "Zelensky"),
    ("Who can approve the start of negotiations?", "Zelensky"),
    ("Who is the spokesman of the National Security Council?", "John Kirby"),
    ("What did Lavrov call Ukraine's terms?", "unrealistic"),
    ("Who is the Russian foreign minister?", "Sergei Lavrov"),
    ("When did the conflict begin?", "February 24"),
    ("Who is the largest donor of military aid to Kyiv?", "The US"),
    ("When did Russia annex Crimea?", "2014"),
    ("How many Ukrainian regions did Moscow annex?", "four"),
    ("What is Ukraine demanding?", "withdrawal of Russian troops"),
    ("Who is the US Army Chief of Staff?", "Mark Milley"),
    ("What did Milley say about talks?", "opportunity to start talks"),
    ("Did the US pressure Kyiv?", "rejected any idea of US pressure"),
    ("What did the White House say about negotiations?", "only Ukrainian President Volodymyr Zelensky"),
    ("What did American media report?", "encouraging Ukraine to consider negotiations"),
    ("Where did Lavrov speak?", "G20"),
    ("What was damaged by the Russian strikes?", "civilian infrastructure"),
    ("Why would you negotiate from strength?", "position of strength"),
    ("What is the best possible outcome according to Kirby?", "negotiated diplomatic solution"),
    ("Who denied that officials encouraged negotiations?", "President Zelensky has so far denied"),
]

UNANSWERABLE = [
    "What is the capital of Australia?",
    "Who won the football World Cup?",
    "How much does a kilo of coffee cost in Brazil?",
    "What is the weather forecast for London tomorrow?",
    "Which company makes the iPhone?",
    "When was the Eiffel Tower built?",
    "What did the pope say about climate change?",
    "Who is the prime minister of Japan?",
]


@pytest.mark.parametrize(("question", "answer"), ANSWERABLE)
def test_a_question_about_the_sample_is_answered_in_the_top_three(sample: Engine, question: str, answer: str) -> None:
    sentences = [s.text for s in sample.answer(question).sentences]
    assert any(contains_answer(s, [answer]) for s in sentences[:3]), sentences


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_a_question_the_sample_cannot_answer_is_declined(sample: Engine, question: str) -> None:
    assert sample.answer(question).sentences == ()


def test_the_sample_corpus_ships_as_one_article() -> None:
    assert [p.name for p in (ROOT / "corpus").iterdir()] == ["usa-only-zelensky-can-decide-negotiations.txt"]
