"""Sentence selection: no quiz questions as answers, no near-duplicates."""

from __future__ import annotations

from pathlib import Path

from retrieval.engine import Engine

ARTICLES = {
    "ferry.txt": (
        "Ferry line to Brindle Island reopens\n\n"
        "The ferry line to Brindle Island reopened on Monday after a two-month repair of its pier.\n"
        "Captain Mira Holt said the crossing now takes forty minutes.\n\n"
        "Source: Harbour Post\nPublished: 2024-05-06\n"
    ),
    "ferry-copy.txt": (
        "Brindle Island ferry back in service\n\n"
        "The ferry line to Brindle Island reopened on Monday after a two-month repair of the pier.\n"
        "Tickets cost the same as before.\n\n"
        "Source: Coast Wire\nPublished: 2024-05-06\n"
    ),
    "quiz.txt": (
        "Weekly news quiz\n\n"
        "Which island's ferry line reopened on Monday after a repair of its pier?\n"
        "How long does the crossing to Brindle Island now take?\n\n"
        "Source: Quiz Desk\nPublished: 2024-05-07\n"
    ),
}


def engine_for(tmp_path: Path) -> Engine:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return Engine.open(folder, tmp_path / "index")


def test_a_quiz_page_repeating_the_question_is_not_an_answer(tmp_path: Path) -> None:
    answer = engine_for(tmp_path).answer("Which island's ferry line reopened on Monday?", asked_at="2024-05-08")
    assert answer.answered
    assert all(s.source.article_id != "quiz" and not s.text.endswith("?") for s in answer.sentences)


def test_near_duplicate_sentences_are_quoted_once(tmp_path: Path) -> None:
    answer = engine_for(tmp_path).answer("When did the Brindle Island ferry reopen?", asked_at="2024-05-08")
    reopened = [s for s in answer.sentences if "reopened on Monday" in s.text]
    assert len(reopened) == 1

