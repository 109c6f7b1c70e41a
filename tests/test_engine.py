"""The answer function: quotes that answer, with sources; an empty answer otherwise."""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path

import numpy as np
import pytest

from retrieval import integrity
from retrieval.analyze import Analyzer
from retrieval.engine import Engine, _article_days
from retrieval.errors import IndexWriteError
from retrieval.index import build_segment
from retrieval.models import Article, Mention, Source
from retrieval.select import quiz_headline
from retrieval.settings import PassageSettings
from retrieval.when import parse_asked_at, published_day, resolve, weigh

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
    s = engine.answer("How much will the bridge repairs cost?", asked_at="2024-03-06").sentences[0]
    assert s.text == "Mayor Ellen Park said the repairs would cost $4.5 million."
    assert s.source == Source(
        article_id="harbour-bridge",
        title="Harbour bridge to close for repairs",
        source="Coast Gazette",
        url="https://example.org/harbour-bridge",
        published="2024-03-05",
    )


def test_a_jsonl_article_is_answered_too(engine: Engine) -> None:
    s = engine.answer("How much did tea prices rise?", asked_at="2023-11-02").sentences[0]
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
    if "negotiations" in question:
        # One word, however often: quoted, or declined as too vague with the coverage as related.
        assert answer.sentences or answer.related
    else:
        assert not answer.answered


def test_answers_never_repeat_a_sentence(engine: Engine) -> None:
    texts = [s.text for s in engine.answer("Zelensky negotiations Russia Ukraine", limit=10).sentences]
    assert len(texts) == len(set(texts))


def test_limit_asks_for_more_sentences(engine: Engine) -> None:
    assert len(engine.answer("Zelensky negotiations Russia Ukraine", limit=6).sentences) == 6


def test_context_gives_the_sentences_around_a_quote(engine: Engine) -> None:
    top = engine.answer("How much will the bridge repairs cost?", asked_at="2024-03-06").sentences[0]
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


# a corpus that changes underneath, a disk that fills up


VOLCANO = "Volcano erupts\n\nThe Fagradalsfjall volcano erupted in Iceland on Friday.\n"


def test_a_file_vanishing_after_listing_is_skipped_not_fatal(
    engine: Engine, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retrieval.engine as engine_module

    (corpus_dir / "volcano.txt").write_text(VOLCANO)
    (corpus_dir / "gone.txt").write_text("Gone\n\nThis file is deleted while the corpus is read.\n")
    real_scan = engine_module.scan_corpus

    def scan_then_delete(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = real_scan(*args, **kwargs)
        (corpus_dir / "gone.txt").unlink()
        return found

    monkeypatch.setattr(engine_module, "scan_corpus", scan_then_delete)
    update = engine.refresh()
    assert update.changed
    assert [str(p) for p in update.problems] == ["gone.txt: cannot read: No such file or directory"]
    assert engine.answer("where did the volcano erupt").answered


def test_a_file_vanishing_before_it_is_read_is_skipped_not_fatal(
    engine: Engine, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retrieval.maintain as maintain_module

    (corpus_dir / "volcano.txt").write_text(VOLCANO)
    (corpus_dir / "gone.txt").write_text("Gone\n\nThis file is deleted while the corpus is read.\n")
    real_read = maintain_module.read_file_parts

    def delete_then_read(path: Path, **kwargs):  # type: ignore[no-untyped-def]
        if path.name == "gone.txt":
            path.unlink()
        return real_read(path, **kwargs)

    # Files new to the index are read a part at a time.
    monkeypatch.setattr(maintain_module, "read_file_parts", delete_then_read)
    update = engine.refresh()
    assert update.changed
    assert [str(p) for p in update.problems] == ["gone.txt: cannot read: No such file or directory"]
    assert engine.answer("where did the volcano erupt").answered


def test_a_file_that_could_not_be_read_is_tried_again_next_time(
    engine: Engine, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retrieval.load as load_module

    (corpus_dir / "volcano.txt").write_text(VOLCANO)
    real_read = load_module._read_bytes

    def denied(path: Path, *, limit: int | None) -> bytes | int:
        if path.name == "volcano.txt":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_read(path, limit=limit)

    monkeypatch.setattr(load_module, "_read_bytes", denied)
    assert [str(p) for p in engine.refresh().problems] == ["volcano.txt: cannot read: Permission denied"]
    assert not engine.answer("where did the volcano erupt").answered
    monkeypatch.undo()  # permissions fixed; the file itself did not change
    assert engine.refresh().problems == ()
    assert engine.answer("where did the volcano erupt").answered


def fill_the_disk(monkeypatch: pytest.MonkeyPatch, *, only: str = "") -> None:
    """Make every index write (or those of files named `only`) fail half way with ENOSPC."""
    real_write = integrity.write_parts

    def write(fh, parts):  # type: ignore[no-untyped-def]
        if only not in Path(fh.name).name:
            return real_write(fh, parts)
        for part in parts:
            fh.write(part[: len(part) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(integrity, "write_parts", write)


@pytest.mark.parametrize("fails", ["", "manifest"], ids=["segment", "manifest"])
def test_a_full_disk_keeps_the_last_good_index_and_the_next_update_succeeds(
    engine: Engine, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: str
) -> None:
    index = tmp_path / "index"
    before = sorted(p.name for p in index.iterdir())
    expected = engine.answer("who decides on negotiations")
    (corpus_dir / "volcano.txt").write_text(VOLCANO)
    fill_the_disk(monkeypatch, only=fails)
    update = engine.refresh()
    assert not update
    (warning,) = update.warnings
    assert warning.startswith("the corpus is newer than the index: no space left on device while writing ")
    assert warning.endswith("; answering from the last good index")
    assert sorted(p.name for p in index.iterdir()) == before  # nothing half-written left behind
    assert engine.answer("who decides on negotiations") == expected
    assert engine.refresh().warnings == ()  # said once
    reopened = Engine.open(corpus_dir, index)  # a new `ask` answers from the old index too
    assert reopened.answer("who decides on negotiations") == expected
    assert [w.split(" while ")[0] for w in reopened.opened.warnings] == [warning.split(" while ")[0]]
    monkeypatch.undo()  # room again
    assert engine.refresh()
    assert engine.answer("where did the volcano erupt").answered


def test_a_full_disk_with_no_index_yet_is_one_clear_error(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_the_disk(monkeypatch)
    with pytest.raises(IndexWriteError, match="^cannot build the index: no space left on device while writing "):
        Engine.open(corpus_dir, tmp_path / "index")
    assert not (tmp_path / "index").exists()  # no lock file left behind


def test_an_index_in_step_with_the_corpus_is_read_without_its_lock(
    engine: Engine, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retrieval.engine as engine_module

    def refuse(index_dir: Path):  # type: ignore[no-untyped-def]
        raise AssertionError("the lock was taken")

    monkeypatch.setattr(engine_module, "locked", refuse)
    assert Engine.open(corpus_dir, tmp_path / "index").stats.articles == 4
    assert not engine.refresh()


def test_a_long_question_is_cut_at_a_word_not_inside_one(engine: Engine) -> None:
    question = "the " * 249 + "theatre"  # the 1,000th character falls inside the last word
    assert len(question) > 1000
    assert engine.question_terms(question) == []
    assert not engine.answer(question).answered


def test_a_folder_that_cannot_be_searched_for_a_while_keeps_its_articles(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (corpus_dir / "world").mkdir()
    (corpus_dir / "world" / "volcano.txt").write_text(VOLCANO)
    engine = Engine.open(corpus_dir, tmp_path / "index")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p).name != "world" and real_access(p, mode))
    assert [str(p) for p in engine.refresh().problems] == ["world: cannot read folder: Permission denied"]
    assert engine.answer("where did the volcano erupt").answered
    monkeypatch.undo()
    assert engine.refresh().problems == ()
    assert engine.answer("where did the volcano erupt").answered


@pytest.mark.parametrize(
    ("asked_at", "answered"),
    [("2023-11-01", False), ("2023-11-02", True), ("2023-11-02T10:00:00+00:00", True), ("2023-12-01", True)],
)
def test_articles_published_after_the_moment_asked_do_not_exist(
    engine: Engine, asked_at: str, answered: bool
) -> None:
    answer = engine.answer("Why did tea prices rise in Kolkata?", asked_at=asked_at)
    assert answer.answered is answered
    quoted = {s.source.article_id for s in (*answer.sentences, *answer.related)}
    assert ("wire-1" in quoted) is answered


def test_every_quote_says_how_old_its_article_was_when_asked(engine: Engine) -> None:
    answer = engine.answer("How much will the bridge repairs cost?", asked_at="2024-03-12")
    assert [(s.source.published, s.age_days) for s in answer.sentences[:1]] == [("2024-03-05", 7)]


@pytest.mark.parametrize(
    ("question", "asked_at"),
    [
        ("Who decides on negotiations?", "2024-03-06"),
        ("What happened last week?", "2024-03-12"),
        ("What is the latest on the bridge?", "2024-03-30"),
        ("What happened in 2023?", "2026-01-01"),
        ("Who won?", "2020-01-01"),
    ],
)
def test_the_prior_worked_out_per_distinct_day_is_each_passage_s_own(
    engine: Engine, corpus_dir: Path, question: str, asked_at: str
) -> None:
    (corpus_dir / "later.txt").write_text(
        "Bridge reopens\n\nThe harbour bridge reopened early.\n\nPublished: 2024-03-20T08:30:00Z\n", encoding="utf-8"
    )
    engine.refresh()
    dated = engine._days(engine.state)
    days = dated.passages
    assert len(engine.state.segments) == 2 and np.isnan(days).any() and np.unique(days).size > 3
    np.testing.assert_array_equal(dated.distinct[dated.passage_day], days)
    frame = resolve(question, parse_asked_at(asked_at))
    rng = np.random.default_rng(len(question))
    cand = np.sort(rng.choice(days.size, size=min(days.size, 7), replace=False))
    by_day = weigh(dated.distinct, frame, engine.time_weights)[dated.passage_day[cand]]
    np.testing.assert_array_equal(by_day, weigh(days[cand], frame, engine.time_weights))


@pytest.mark.parametrize("asked_at", ["2024-03-06", "2026-07-01", "2031-01-01"])
def test_priors_lifted_by_a_power_of_two_give_the_very_same_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asked_at: str
) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, day, text in [
        ("bridge", "2024-03-05", "The harbour bridge repairs will cost $4.5 million, the mayor said."),
        ("bridge-2", "2024-02-11", "Repairs of the old harbour bridge were first costed at $3 million."),
        ("tea", "2023-11-02", "Tea prices rose by 12% in October because dry weather cut the harvest."),
    ]:
        (folder / f"{name}.txt").write_text(f"{name}\n\n{text}\n\nPublished: {day}\n", encoding="utf-8")
    engine = Engine.open(folder, tmp_path / "index")
    questions = ["How much will the bridge repairs cost?", "Why did tea prices rise?", "What did the mayor say?"]
    scales: list[float] = []
    lift = engine._prior_scale
    monkeypatch.setattr(engine, "_prior_scale", lambda top: scales.append(lift(top)) or scales[-1])
    lifted = [engine.answer(q, asked_at=asked_at, limit=10) for q in questions]
    monkeypatch.setattr(engine, "_prior_scale", lambda top: 1.0)
    assert [engine.answer(q, asked_at=asked_at, limit=10) for q in questions] == lifted
    assert all(math.frexp(s)[0] == 0.5 for s in scales)  # powers of two
    assert (max(scales) > 1.0) is (asked_at != "2024-03-06")


def test_article_days_read_from_the_records_are_those_their_parsed_metadata_gives() -> None:
    tricky = [
        Article("plain", "Plain", "The mill reopened.", published="2024-03-05"),
        Article("stamped", "Stamped", "The mill reopened.", published="2024-03-05T22:30:00+02:00"),
        Article("undated", "Undated", "The mill reopened."),
        Article("quoted", 'A "published": "1999-01-01" title', "The mill reopened.", published="2024-03-06"),
        Article("quoted-undated", 'Its "published": "1999-01-01" title', "The mill reopened."),
        Article("escaped", "Escaped", "The mill reopened.", published='2024-03-07 "late"'),
        Article("wrong", "Wrong", "The mill reopened.", published="yesterday"),
    ]
    segment = build_segment(tricky, Analyzer(), PassageSettings())
    parsed = np.array([published_day(meta.get("published", "")) for meta in segment.articles])
    assert np.isnan(parsed).tolist() == [False, False, True, False, True, False, True]
    np.testing.assert_array_equal(_article_days(segment)[0], parsed)


QUIZ_TITLES = [
    # Plain ASCII: the headlines are read from the records' bytes as they are.
    ["Quiz: who won the final?", "The quizmaster retires", "QUESTION OF THE WEEK", "Questions of the day", "Mill"],
    ["Mill reopens", "Tea prices rise", "A questionable call"],
    # Letters outside ASCII that match "quiz" or "question" in some case; escapes; a headline
    # inside a headline: parsed.
    ["QUİZ night", "Mill reopens"],
    ['A "quiz" in quotes', "Weekly \\ quiz", "Ünïcödé quiz", "", 'With "title": "Quiz" inside', "Mill reopens"],
]


@pytest.mark.parametrize("titles", QUIZ_TITLES)
@pytest.mark.parametrize("elsewhere", ["", "url", "also"])
def test_quiz_headlines_read_from_the_records_are_those_their_parsed_metadata_gives(
    titles: list[str], elsewhere: str
) -> None:
    articles = [Article(f"a{i}", t, "The mill reopened.", published="2024-03-05") for i, t in enumerate(titles)]
    # "Quiz" elsewhere in a record: in its link, in the headline of another outlet's report.
    if elsewhere == "url":
        articles.append(Article("url", "Mill reopens", "The mill reopened.", url="https://q.example/quiz"))
    if elsewhere == "also":
        also = (Mention("Wire", "Quiz of the week", "https://wire.example/quiz"),)
        articles.append(Article("also", "Mill reopens", "The mill reopened.", also_reported_by=also))
    segment = build_segment(articles, Analyzer(), PassageSettings())
    parsed = [quiz_headline(meta.get("title", "")) for meta in segment.articles]
    assert parsed == [quiz_headline(t) for t in titles] + [False] * bool(elsewhere)
    assert _article_days(segment)[1].tolist() == parsed
