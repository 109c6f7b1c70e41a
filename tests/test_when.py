"""Time words resolved against a fixed moment, and how age weighs an article."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import numpy as np
import pytest

from retrieval.when import (
    TimeFrame,
    TimeWeights,
    day_number,
    highest,
    lowest,
    parse_asked_at,
    published_day,
    resolve,
    weigh,
)

ASKED = datetime(2023, 5, 17, 12, 0, tzinfo=UTC)


def day(text: str) -> float:
    return published_day(text)


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("What happened in 2021?", "2021-01-01", "2022-01-01"),
        ("Who won the election in March?", "2023-03-01", "2023-04-01"),
        ("What did the council decide in June?", "2022-06-01", "2022-07-01"),  # June is still ahead
        ("Which bank failed in March 2022?", "2022-03-01", "2022-04-01"),
        ("How many storms were there in May?", "2023-05-01", "2023-05-17T12:00:00+00:00"),
        ("What did the mayor say last month?", "2023-04-01", "2023-05-01"),
        ("How many records fell so far this year?", "2023-01-01", "2023-05-17T12:00:00+00:00"),
        ("Who led the league last year?", "2022-01-01", "2023-01-01"),
        ("What did the court rule yesterday?", "2023-05-15T00:00:00+00:00", "2023-05-17T12:00:00+00:00"),
        ("Which company announced layoffs this week?", "2023-05-09T12:00:00+00:00", "2023-05-17T12:00:00+00:00"),
        ("What did the chancellor announce on Monday?", "2023-05-15", "2023-05-16"),
        ("Who resigned last Wednesday?", "2023-05-10", "2023-05-11"),
        ("What did the court rule on Wednesday?", "2023-05-17", "2023-05-17T12:00:00+00:00"),
        ("What happened at the summit on March 3?", "2023-03-03", "2023-03-04"),
        ("What opened on the 4th of May?", "2023-05-04", "2023-05-05"),
        ("Which company went public on 12 April 2022?", "2022-04-12", "2022-04-13"),
        ("What did the retailer report on 2023-04-28?", "2023-04-28", "2023-04-29"),
        ("Which festival began on December 1?", "2022-12-01", "2022-12-02"),  # not yet this year
        ("What was decided two days ago?", "2023-05-15", "2023-05-16"),
        ("Who was arrested 3 weeks ago?", "2023-04-22T12:00:00+00:00", "2023-04-30T12:00:00+00:00"),
        ("What flooded in late April?", "2023-04-21", "2023-05-01"),
        ("What was announced in early February?", "2023-02-01", "2023-02-11"),
        ("Who won the vote in mid-March?", "2023-03-11", "2023-03-21"),
        ("What happened in mid March 2021?", "2021-03-11", "2021-03-21"),
    ],
)
def test_time_words_resolve_to_a_window_before_the_moment_asked(question: str, start: str, end: str) -> None:
    frame = resolve(question, ASKED)
    assert frame.until == day_number(ASKED)
    assert (frame.start, frame.end) == (day(start), day(end))


@pytest.mark.parametrize(
    ("question", "latest"),
    [
        ("Who won the Super Bowl?", False),
        ("Which network will show the awards in 2029?", False),
        ("Who is the latest candidate to join the race?", True),
        ("What is the current interest rate?", True),
        ("Who recently resigned?", True),
    ],
)
def test_a_question_without_dates_has_no_window(question: str, latest: bool) -> None:
    assert resolve(question, ASKED) == TimeFrame(day_number(ASKED), latest=latest)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-05-17", datetime(2023, 5, 17, 23, 59, 59, 999999, tzinfo=UTC)),
        (date(2023, 5, 17), datetime(2023, 5, 17, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2023-05-17T08:30:00", datetime(2023, 5, 17, 8, 30, tzinfo=UTC)),
        ("2023-05-17T08:30:00Z", datetime(2023, 5, 17, 8, 30, tzinfo=UTC)),
    ],
)
def test_asked_at_reads_dates_as_the_end_of_the_day(value: str | date, expected: datetime) -> None:
    assert parse_asked_at(value) == expected


@pytest.mark.parametrize("value", ["soon", "2023-13-01", "17/05/2023", ""])
def test_a_bad_asked_at_says_what_is_allowed(value: str) -> None:
    with pytest.raises(ValueError, match="ISO date"):
        parse_asked_at(value)


def test_asked_at_defaults_to_now() -> None:
    before = datetime.now(UTC)
    assert before <= parse_asked_at(None) <= datetime.now(UTC)


@pytest.mark.parametrize("published", ["", "unknown", "last Tuesday", "2023-02-30"])
def test_an_article_without_a_usable_date_has_none(published: str) -> None:
    assert math.isnan(published_day(published))


def test_future_articles_weigh_nothing_and_old_ones_less() -> None:
    frame = resolve("Who won the final?", ASKED)
    days = np.array([day("2023-05-18"), day("2023-05-16"), day("2021-05-16"), math.nan])
    mult = weigh(days, frame, TimeWeights())
    assert mult[0] == 0.0
    assert 1.0 > mult[1] > mult[2] >= TimeWeights().floor
    assert mult[3] == 1.0


def test_an_explicit_window_prefers_articles_inside_it() -> None:
    frame = resolve("Who won the final in 2021?", ASKED)
    days = np.array([day("2021-06-01"), day("2023-05-01")])
    assert weigh(days, frame, TimeWeights()).tolist() == [1.0, TimeWeights().outside]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    "weights", [TimeWeights(), TimeWeights(floor=1.2, outside=1.5), TimeWeights(floor=-0.2, outside=0.0)]
)
def test_the_highest_and_lowest_multipliers_are_those_of_every_day_with_or_without_a_window(
    seed: int, weights: TimeWeights
) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(300):
        days = np.unique(np.round(rng.uniform(18_000, 20_000, size=rng.integers(0, 60)), rng.integers(0, 3)))
        if rng.random() < 0.2:
            days = np.append(days, np.nan)  # undated articles sort last
        dated = days[~np.isnan(days)]
        # Sometimes on a day an article has, to try the bounds of the window and of `until`.
        on_day = dated.size > 0 and rng.random() < 0.5
        until = float(rng.choice(dated)) if on_day else float(rng.uniform(17_900, 20_100))
        start: float | None = float(rng.choice(dated)) if on_day else float(rng.uniform(17_900, until))
        start = None if rng.random() < 0.5 else start
        length = float(rng.choice([0.0, 1.0, 8.0, 30.0, 365.0]))
        frame = TimeFrame(until, start, None if start is None else start + length, latest=bool(rng.random() < 0.3))
        given = weigh(days, frame, weights)
        if weights == TimeWeights():
            assert highest(days, frame, weights) == (given.max() if given.size else 0.0)
        assert lowest(days, frame, weights) == (given[given > 0].min() if (given > 0).any() else 0.0)
