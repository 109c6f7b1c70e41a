"""Declining: small talk, questions the news held does not answer, and stale matches."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import newslike
from retrieval.decide import (
    FEATURES,
    MODEL_FORMAT,
    DecideModel,
    DecideSettings,
    Evidence,
    decide,
    features,
    key_held,
    key_terms,
    name_terms,
    parse_model,
    question_form,
    read_model,
)
from retrieval.engine import Engine
from retrieval.errors import DecideModelError
from retrieval.models import DECLINED
from retrieval.settings import DecliningSettings, Settings

SHIPPED = Path(__file__).resolve().parent.parent / "retrieval" / "decide_model.json"


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
    ("question", "form"),
    [
        ("What is a haiku?", (True, False, False)),
        ("Who was Cleopatra?", (True, False, False)),
        ("What does NATO stand for?", (True, False, False)),
        ("Define democracy.", (True, False, False)),
        ("How do I boil an egg?", (False, True, False)),
        ("How to tie a tie", (False, True, False)),
        ("What is your favorite color?", (False, False, True)),
        ("Should I learn Python?", (False, False, True)),
        ("Who won the chess final in Oslo on Sunday?", (False, False, False)),
        ("What is the name of the new harbour ferry operator?", (False, False, False)),
        ("How many moves did the final game last?", (False, False, False)),
    ],
)
def test_the_form_of_a_question_is_read_from_its_words(question: str, form: tuple[bool, bool, bool]) -> None:
    assert question_form(question) == form


# A hand-made model: answers when the best sentence holds most of the question and its
# names, and reads age as a strong reason against.
TOY = DecideModel(
    mean=(0.0,) * len(FEATURES),
    scale=(1.0,) * len(FEATURES),
    coef=tuple({"support": 6.0, "names_held": 3.0, "age": -6.0}.get(f, 0.0) for f in FEATURES),
    intercept=-5.0,
    threshold=0.5,
)
FRESH = Evidence(support=0.9, key_held=1.0, age_days=2, names_held=1.0, named=True, question="Who won?")


@pytest.mark.parametrize(
    ("evidence", "reason"),
    [
        (FRESH, ""),
        (dataclasses.replace(FRESH, support=0.1), "not covered"),  # under answers.min_score
        (dataclasses.replace(FRESH, support=0.3, names_held=0.0), "not covered"),
        (dataclasses.replace(FRESH, age_days=200), "too old"),  # the model reads age against it
        (dataclasses.replace(FRESH, age_days=400), "too old"),  # beyond max_age_days
        (dataclasses.replace(FRESH, age_days=-20), ""),  # inside the window the question names
        (dataclasses.replace(FRESH, age_days=None), ""),
    ],
)
def test_the_decision_reads_the_model_and_the_limits(evidence: Evidence, reason: str) -> None:
    assert decide(evidence, DecideSettings(model=TOY)) == reason
    assert reason == "" or reason in DECLINED


def test_the_model_is_a_logistic_regression_over_the_standardised_features() -> None:
    values = features(FRESH)
    assert len(values) == len(FEATURES)
    z = -5.0 + 6.0 * 0.9 + 3.0 * 1.0 - 6.0 * values[FEATURES.index("age")]
    assert TOY.probability(values) == pytest.approx(1 / (1 + 2.718281828459045**-z))


def test_an_age_limit_of_zero_days_stops_the_decision_reading_age() -> None:
    old = dataclasses.replace(FRESH, age_days=4000)
    assert decide(old, DecideSettings(model=TOY, max_age_days=0)) == ""
    assert decide(old, DecideSettings(model=TOY, max_age_days=5000)) == "too old"  # by the model
    assert decide(old, DecideSettings(model=TOY, max_age_days=3000)) == "too old"  # by the limit


def test_declining_off_answers_whatever_the_evidence() -> None:
    nothing = Evidence(support=0.0, key_held=0.0, age_days=9000)
    assert decide(nothing, DecideSettings(model=TOY, enabled=False)) == ""


@pytest.mark.parametrize(
    ("evidence", "answered"),
    [
        # Most of a news question held, names and all, in last week's coverage.
        (
            Evidence(
                0.9,
                1.0,
                5,
                coverage=0.8,
                named=True,
                terms=6,
                rarest=0.9,
                mass=3.5,
                rarest_held=0.9,
                question="Who did Ana Ruiz beat in the final in Oslo?",
            ),
            True,
        ),
        # A definition whose only match is a common word of a fresh article.
        (
            Evidence(
                0.35, 0.3, 3, coverage=0.3, terms=2, rarest=0.3, mass=0.3, rarest_held=0.2, question="What is a haiku?"
            ),
            False,
        ),
        # A named subject the best sentences never mention.
        (
            Evidence(
                0.3,
                0.0,
                10,
                coverage=0.3,
                names_held=0.0,
                named=True,
                terms=3,
                rarest=0.8,
                mass=0.4,
                rarest_held=0.3,
                question="Where was Mozart born?",
            ),
            False,
        ),
    ],
)
def test_the_shipped_model_on_clear_cases(evidence: Evidence, answered: bool) -> None:
    assert (decide(evidence, DecideSettings()) == "") is answered


share = st.floats(0.0, 1.0)


@given(
    st.builds(
        Evidence,
        support=share,
        key_held=share,
        age_days=st.none() | st.floats(-400.0, 100_000.0),
        coverage=st.floats(0.0, 5.0),
        names_held=share,
        named=st.booleans(),
        unseen=share,
        terms=st.integers(1, 32),
        rarest=share,
        mass=st.floats(0.0, 40.0),
        rarest_held=share,
        timed=st.booleans(),
        question=st.text(max_size=80),
        passages=st.integers(0, 10**7),
    ),
    st.sampled_from([0.0, 60.0, 365.0]),
)
def test_the_shipped_decision_gives_a_known_reason_for_any_evidence(evidence: Evidence, limit: float) -> None:
    assert decide(evidence, DecideSettings(max_age_days=limit)) in {"", *DECLINED}


def test_the_shipped_model_file_loads() -> None:
    model = read_model(SHIPPED)
    assert len(model.coef) == len(FEATURES) and 0 < model.threshold < 1
    assert DecideSettings().model == model


def _shipped_json() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(SHIPPED.read_text(encoding="utf-8"))
    return raw


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "other/9"}, f"format: expected {MODEL_FORMAT!r}, got 'other/9'"),
        ({"features": ["support"]}, "features: expected ["),
        ({"coef": [1.0, 2.0]}, f"coef: expected a list of {len(FEATURES)} numbers"),
        ({"mean": ["x"] * len(FEATURES)}, "mean[0]: expected a finite number, got 'x'"),
        ({"scale": [0.0] * len(FEATURES)}, "scale: expected numbers > 0"),
        ({"intercept": None}, "intercept: expected a finite number, got None"),
        ({"intercept": True}, "intercept: expected a finite number, got True"),
        ({"threshold": 1.5}, "threshold: expected a number between 0 and 1, got 1.5"),
    ],
)
def test_a_malformed_model_file_is_refused_naming_what_is_wrong(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(_shipped_json() | change), encoding="utf-8")
    with pytest.raises(DecideModelError, match="^" + str(path).replace("\\", "\\\\") + ": ") as caught:
        read_model(path)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"), [("{not json", "cannot read the decision model"), ("[]", "expected a JSON object, got list")]
)
def test_a_model_file_that_is_not_a_model_object_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "model.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DecideModelError, match=message):
        read_model(path)


def test_a_missing_model_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DecideModelError, match="cannot read the decision model"):
        read_model(tmp_path / "absent.json")


def test_parse_model_builds_the_model_it_reads() -> None:
    raw = _shipped_json()
    model = parse_model(raw)
    assert (list(model.coef), model.intercept, model.threshold) == (raw["coef"], raw["intercept"], raw["threshold"])


# -- end to end, through Engine.answer on a small corpus of invented news ---------------------

NEWS = [
    (
        "ferry",
        "2025-05-28",
        "Island ferry line names new operator",
        "The Vardholm ferry line will be run by Nordhav Shipping from July, the county council said on Tuesday. "
        "Nordhav won the tender with a bid of 38 million crowns over five years. "
        "The old operator, Skarv Lines, had run the crossing since 2009.",
    ),
    (
        "orchestra",
        "2025-05-30",
        "City orchestra appoints conductor",
        "The Fjellby Symphony Orchestra appointed Lena Brekke as its chief conductor on Friday. "
        "Brekke, 38, has led the orchestra's youth programme for six years. "
        "She takes over from Paul Eide, who retires after the summer festival.",
    ),
    (
        "marathon",
        "2025-05-31",
        "Harbour marathon record falls",
        "Kenyan runner Ruth Chebet set a course record at the harbour marathon on Saturday. "
        "She finished in two hours, 19 minutes and 40 seconds. "
        "About 9,000 runners took part, the organisers said.",
    ),
    (
        "bridge",
        "2022-02-10",
        "Harbour bridge toll to end",
        "The toll on the Larkspur harbour bridge will end in March, the transport agency said. "
        "Drivers have paid the toll since the bridge opened in 2001.",
    ),
]


def _write_news(path: Path) -> None:
    lines = [
        json.dumps({"id": i, "title": t, "source": "Example Gazette", "url": "", "published": d, "text": x})
        for i, d, t, x in NEWS
    ]
    with path.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The invented news among a seeded news-like background: an index big enough for the model."""
    folder = tmp_path_factory.mktemp("news")
    corpus = folder / "news.jsonl"
    newslike.write_corpus(corpus, passages=1500, seed=11)
    _write_news(corpus)
    engine = Engine.open(corpus, folder / "index")
    assert engine.stats.passages >= engine.decide_settings.model_min_passages
    return engine


@pytest.fixture(scope="module")
def few(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The invented news alone: a corpus of four articles."""
    folder = tmp_path_factory.mktemp("few")
    _write_news(folder / "news.jsonl")
    engine = Engine.open(folder / "news.jsonl", folder / "index")
    assert engine.stats.passages < engine.decide_settings.model_min_passages
    return engine


ASKED = "2025-06-02"


@pytest.mark.parametrize(
    "question",
    [
        "Who will run the Vardholm ferry line?",
        "Who did the Fjellby Symphony Orchestra appoint as chief conductor?",
        "What course record did Ruth Chebet set at the harbour marathon?",
    ],
)
def test_news_the_corpus_holds_is_answered(news: Engine, question: str) -> None:
    answer = news.answer(question, asked_at=ASKED)
    assert (answer.answered, answer.declined) == (True, "")


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of Australia?",
        "How do I make bread at home?",
        "What is a haiku?",
        "Where was Mozart born?",
    ],
)
def test_general_knowledge_is_declined(news: Engine, question: str) -> None:
    answer = news.answer(question, asked_at=ASKED)
    # Not covered, or matched only by the background's years-old articles.
    assert (answer.answered, answer.sentences) == (False, ())
    assert answer.declined in ("nothing", "not covered", "too old")


@pytest.mark.parametrize("message", ["hi", "thanks!", "how are you?", "who are you?"])
def test_small_talk_gets_no_quotes(news: Engine, message: str) -> None:
    answer = news.answer(message, asked_at=ASKED)
    assert (answer.answered, answer.declined, answer.related) == (False, "small talk", ())


def test_only_much_older_coverage_is_declined_and_offered_as_related(news: Engine) -> None:
    answer = news.answer("When will the toll on the Larkspur harbour bridge end?", asked_at=ASKED)
    assert (answer.answered, answer.declined) == (False, "too old")
    assert (
        answer.related[0].text
        == "The toll on the Larkspur harbour bridge will end in March, the transport agency said."
    )
    asked_then = news.answer("When will the toll on the Larkspur harbour bridge end?", asked_at="2022-02-20")
    assert asked_then.answered


@pytest.mark.parametrize(
    ("question", "answered"),
    [
        ("Who will run the Vardholm ferry line?", True),
        ("Nordhav Shipping", True),
        ("Which company makes the iPhone?", False),  # most of its weight in words no article holds
        ("What did the pope say about climate change?", False),
    ],
)
def test_in_a_corpus_of_a_few_articles_the_guards_decide(few: Engine, question: str, answered: bool) -> None:
    answer = few.answer(question, asked_at=ASKED)
    assert answer.answered is answered
    assert answered or answer.declined in ("nothing", "not covered")


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


def test_a_question_about_something_else_is_declined(engine: Engine) -> None:
    answer = engine.answer("What is the capital of Australia?")
    assert not answer.answered and answer.declined in ("nothing", "not covered")


def test_declined_json_keeps_related_coverage_apart(corpus_dir: Path, tmp_path: Path) -> None:
    from bot.cli import answer_json

    engine = Engine.open(corpus_dir, tmp_path / "index")
    data = answer_json(engine.answer("How much will the bridge repairs cost?", asked_at="2025-06-01"))
    assert (data["answered"], data["sentences"], data["declined"]) == (False, [], "too old")
    assert data["related"][0]["published"] == "2024-03-05" and data["related"][0]["age_days"] == 453
    assert json.loads(json.dumps(data)) == data
    assert engine.answer("How much did the bridge repairs cost in 2024?", asked_at="2025-06-01").answered
