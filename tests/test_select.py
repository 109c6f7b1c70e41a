"""Sentence selection: no quiz questions as answers, no near-duplicates, the same choice as scoring one by one."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from retrieval import select
from retrieval.candidates import Candidate, Candidates, gather
from retrieval.engine import Engine
from retrieval.index import Segment
from retrieval.select import Chosen, select_sentences
from retrieval.settings import AnswerSettings

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


def _select_one_by_one(
    question: str,
    terms: Sequence[str],
    pool: Candidates,
    settings: AnswerSettings,
    *,
    limit: int,
    names: frozenset[str] = frozenset(),
) -> list[Chosen]:
    """The plain selection: every candidate scored (and read) one at a time, all sorted, then kept in turn."""
    if not pool.sentences or not terms:
        return []
    weights = select.question_weights(terms, pool.doc_freqs, pool.passages, names)
    total = sum(weights.values())
    weights = {t: w for t, w in weights.items() if pool.doc_freqs[t] > 0}
    if total <= 0 or not weights:
        return []
    k1, b = settings.sentence_k1, settings.sentence_b
    top_score = pool.top_score if pool.top_score > 0 else 1.0
    cue = select._cue(question)
    question_words = {w.lower() for w in re.findall(r"[\w’'-]+", question)}
    chosen: list[Chosen] = []
    for cand in pool.sentences:
        norm = k1 * (1.0 - b + b * cand.length / pool.avg_sentence_len)
        matched = held = 0.0
        holds: list[str] = []
        for term, weight in weights.items():
            tf = cand.counts.get(term, 0)
            if tf:
                matched += weight * tf * (k1 + 1.0) / (tf + norm)
                held += weight
                holds.append(term)
            elif term in cand.headline_terms:
                held += weight
                holds.append(term)
        if matched <= 0:
            continue
        coverage, support = matched / total, held / total
        if support < settings.min_score / 2 or select._QUIZ.search(cand.headline):
            continue
        if select._is_question(cand.text):
            continue
        title_cover = sum(w for t, w in weights.items() if t in cand.headline_terms) / total
        score = (
            coverage
            + settings.passage_weight * max(0.0, cand.passage_score / top_score)
            + settings.article_weight * max(0.0, cand.article_score / top_score)
            + settings.title_weight * title_cover
            + settings.position_prior / math.sqrt(1.0 + cand.position)
        )
        if cue and settings.answer_type_boost and select._has_cue(cue, cand.text, question_words):
            score += settings.answer_type_boost
        if len(cand.headline_terms) >= select.HEADLINE_SHARED:
            score += select.headline_news(cand.headline, cand.text, question_words)
        chosen.append(
            Chosen(
                cand.segment,
                cand.sentence,
                cand.text,
                score,
                coverage,
                support,
                frozenset(holds),
                article=cand.article,
                position=cand.position,
            )
        )
    chosen.sort(key=lambda c: (-c.score, c.segment, c.sentence))
    if chosen:
        first = chosen[0].held
        chosen = [
            chosen[0],
            *sorted(
                chosen[1:],
                key=lambda c: (
                    -(c.score - select.REDUNDANCY * select.repeated(c.held, first, weights)),
                    c.segment,
                    c.sentence,
                ),
            ),
        ]
    seen: set[str] = set()
    kept_words: list[frozenset[str]] = []
    out: list[Chosen] = []
    for c in chosen:
        text_key = select._dedupe_key(c.text)
        if text_key in seen:
            continue
        words = select._words(c.text)
        if select._near_duplicate(words, kept_words):
            continue
        if out and c.support < select.EXTRA_SUPPORT * out[0].support:
            continue
        seen.add(text_key)
        kept_words.append(words)
        out.append(c)
        if len(out) >= limit:
            break
    return out


WORDS = [
    "harbour",
    "bridge",
    "ferry",
    "island",
    "council",
    "mayor",
    "budget",
    "storm",
    "river",
    "tunnel",
    "station",
    "museum",
    "festival",
]
NAMES = ["Ellen Park", "Ana Ruiz", "Brindle", "Kolkata", "NASA"]
TAILS = ["", " in 2023", " on Monday", " for $4.5 million", " by 12 votes", " last week", " twice"]


def _random_corpus(folder: Path, rng: random.Random) -> None:
    """Articles of a few shared words, so that many sentences compete: some copied, some asking, some quizzes."""
    folder.mkdir()
    sentences: list[str] = []
    for n in range(40):
        title = " ".join(rng.sample(WORDS, 3)).capitalize()
        if n % 9 == 0:
            title = "News quiz: " + title
        body = []
        for _ in range(rng.randint(2, 7)):
            if sentences and rng.random() < 0.15:
                body.append(rng.choice(sentences))  # a wire copy, word for word
                continue
            words = rng.sample(WORDS, rng.randint(2, 6))
            sentence = " ".join(words).capitalize() + rng.choice(TAILS)
            if rng.random() < 0.3:
                sentence = f"{rng.choice(NAMES)} said the {sentence.lower()}"
            sentence += "?" if rng.random() < 0.1 else "."
            sentences.append(sentence)
            body.append(sentence)
        day = rng.randint(1, 28)
        (folder / f"a{n}.txt").write_text(
            f"{title}\n\n{' '.join(body)}\n\nSource: Test Desk\nPublished: 2024-02-{day:02d}\n", encoding="utf-8"
        )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_selection_chooses_what_scoring_every_candidate_one_by_one_chooses(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    _random_corpus(tmp_path / "corpus", rng)
    engine = Engine.open(tmp_path / "corpus", tmp_path / "index")
    searcher = engine.state.searcher
    variants = [
        AnswerSettings(),
        AnswerSettings(answer_type_boost=0.0, sentence_b=0.7),
        AnswerSettings(answer_type_boost=3.0, sentence_k1=0.0, position_prior=0.0),
        AnswerSettings(min_score=0.0, title_weight=0.0, passage_weight=2.5),
    ]
    compared = 0
    for _ in range(40):
        words = rng.sample(WORDS, rng.randint(1, 4)) + rng.sample(["zzyzx", "Park", "Kolkata", "the"], 1)
        question = rng.choice(["How many ", "When did ", "Who said ", "", "Which "]) + " ".join(words) + "?"
        terms = engine.question_terms(question)
        pool = gather(searcher, terms, searcher.search(terms, rng.choice([5, 30])))
        names = frozenset(t for t in terms if rng.random() < 0.3)
        for settings in variants:
            for limit in (1, 3, 1000):
                expected = _select_one_by_one(question, terms, pool, settings, limit=limit, names=names)
                assert select_sentences(question, terms, pool, settings, limit=limit, names=names) == expected
                compared += bool(expected)
    assert compared > 300


def test_only_the_candidates_taken_in_score_order_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _random_corpus(tmp_path / "corpus", random.Random(5))
    engine = Engine.open(tmp_path / "corpus", tmp_path / "index")
    searcher = engine.state.searcher
    terms = engine.question_terms("Harbour bridge ferry island council budget")
    pool = gather(searcher, terms, searcher.search(terms, 30))
    read: list[int] = []
    original = Segment.sentence_text

    def counted(seg: Segment, sentence: int) -> str:
        read.append(sentence)
        return original(seg, sentence)

    monkeypatch.setattr(Segment, "sentence_text", counted)
    chosen = select_sentences("Harbour bridge ferry island council budget", terms, pool, AnswerSettings(), limit=3)
    assert len(chosen) == 3
    assert 3 <= len(read) < len(pool.sentences) // 2


class _Written:
    """Stands in for the index's stored text: sentences and headlines written here."""

    def __init__(self, sentences: dict[int, str], headline: str) -> None:
        self.sentences, self.headline = sentences, headline

    def sentence(self, segment: int, sentence: int) -> str:
        return self.sentences[sentence]

    def title(self, segment: int, article: int) -> str:
        return self.headline


def _written_pool(texts: list[str], counts: list[dict[str, int]], doc_freqs: dict[str, int]) -> Candidates:
    written = _Written(dict(enumerate(texts)), "Summit host chosen")
    sentences = tuple(
        Candidate(0, i, 0, i, len(t.split()), c, frozenset(), 5.0, 5.0, written)  # type: ignore[arg-type]
        for i, (t, c) in enumerate(zip(texts, counts, strict=True))
    )
    return Candidates(sentences, 5.0, doc_freqs, 1000, 8.0)


@pytest.mark.parametrize(
    "question",
    [
        "Which country will host the summit next year?",
        "Where will the summit be held next year?",
        "Which of the following African nations will host the summit next year?",
    ],
)
def test_a_question_asking_for_a_place_prefers_a_sentence_naming_a_country(question: str) -> None:
    counts = {"summit": 1, "next": 1, "year": 1}
    pool = _written_pool(
        ["Mayor Ellen Park said the summit will come next year.", "The summit will go to Kenya next year."],
        [counts, counts],
        {"summit": 10, "next": 100, "year": 100},
    )
    chosen = select_sentences(question, ["summit", "next", "year"], pool, AnswerSettings(), limit=2)
    assert [c.sentence for c in chosen] == [1, 0]


# A question that tells a story before it asks: "The storm closed the harbour bridge on
# Monday. How long will its repairs last?" (its terms, as the analyser gives them).
STORY = ["storm", "close", "harbour", "bridg", "monday"]
ASKING = ["long", "repair", "last"]
STORY_POOL = _written_pool(
    ["A storm closed the harbour bridge on Monday.", "Repairs to the bridge will last six weeks."],
    [{t: 1 for t in STORY}, {"repair": 1, "bridg": 1, "last": 1}],
    {t: 10 for t in STORY + ASKING},
)
STORY_QUESTION = "The storm closed the harbour bridge on Monday. How long will its repairs last?"


def test_a_story_question_is_answered_by_the_sentence_holding_its_asking_words() -> None:
    chosen = select_sentences(
        STORY_QUESTION, STORY + ASKING, STORY_POOL, AnswerSettings(), limit=2, focus=frozenset(ASKING)
    )
    assert [c.sentence for c in chosen] == [1, 0]


def test_without_an_asking_sentence_the_story_words_count_as_much_as_any() -> None:
    chosen = select_sentences(STORY_QUESTION, STORY + ASKING, STORY_POOL, AnswerSettings(), limit=2)
    assert [c.sentence for c in chosen] == [0, 1]


def test_a_later_quote_that_repeats_the_first_ones_words_gives_way_to_one_adding_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = _written_pool(
        [
            "A storm closed the harbour bridge on Monday.",
            "The storm closed the harbour for a day.",
            "The repair crews will last the winter, a bridge engineer said.",
        ],
        [{t: 1 for t in STORY}, {"storm": 1, "close": 1, "harbour": 1}, {"repair": 1, "last": 1, "bridg": 1}],
        {t: 10 for t in STORY + ASKING},
    )
    question = "The storm closed the harbour bridge on Monday. Who will repair it?"
    terms = STORY + ["repair", "last"]
    assert [c.sentence for c in select_sentences(question, terms, pool, AnswerSettings(), limit=3)] == [0, 2, 1]
    monkeypatch.setattr(select, "REDUNDANCY", 0.0)
    assert [c.sentence for c in select_sentences(question, terms, pool, AnswerSettings(), limit=3)] == [0, 1, 2]


SHOW_TERMS = ["wild", "popular", "show", "recent", "green", "lit", "new", "season"]


@pytest.mark.parametrize(
    ("headline", "headline_terms", "order"),
    [
        ("Harbour Sagas renewed for a new season by streaming service Wavely", frozenset({"new", "season"}), [1, 0]),
        # A title that names, not one that tells the news.
        ("Harbour Sagas", frozenset(), [0, 1]),
        # A headline telling another story (one question word in common).
        ("Harbour Sagas renewed for a second season by streaming service Wavely", frozenset({"season"}), [0, 1]),
    ],
)
def test_the_sentence_repeating_the_news_of_its_headline_comes_first(
    headline: str, headline_terms: frozenset[str], order: list[int]
) -> None:
    texts = [
        "The show is popular and will return for a new season.",
        "The show Harbour Sagas will be back for a season, Wavely said.",
    ]
    counts = [{"popular": 1, "show": 1, "new": 1, "season": 1}, {"season": 1, "show": 1}]
    written = _Written(dict(enumerate(texts)), headline)
    pool = Candidates(
        tuple(
            Candidate(0, i, 0, i, len(t.split()), c, headline_terms, 5.0, 5.0, written)  # type: ignore[arg-type]
            for i, (t, c) in enumerate(zip(texts, counts, strict=True))
        ),
        5.0,
        {t: 10 for t in SHOW_TERMS} | {"season": 40},
        1000,
        8.0,
    )
    question = "Which wildly popular show was recently green lit for a new season?"
    chosen = select_sentences(question, SHOW_TERMS, pool, AnswerSettings(), limit=2)
    assert [c.sentence for c in chosen] == order
