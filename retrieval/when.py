"""Time on the answer path, between analyze and search: the moment a question is asked.

Every answer is given as of a moment, `asked_at`. Articles published after it do not exist for
that answer. The question's own time words ("yesterday", "last week", "in March", "in 2023",
"so far this year", "latest") are resolved against it into a `TimeFrame`, and `weigh` turns
the frame into one multiplier per passage: 0 for an article from the future, a decay with age
for news (coverage near `asked_at` beats older coverage of the same subject), and a penalty
outside an explicit window.

Days are floats counted from 1970-01-01 UTC; an article dated without a time is taken as
published at the start of its day, and a date given as `asked_at` means the end of that day.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
del _MONTHS["may"]  # "may" is far more often the verb; "in May" is matched on its own below
_MONTH_WORDS = "|".join(sorted(_MONTHS, key=len, reverse=True))

_YEAR = re.compile(r"\b(?:in|of|during|for|from|by)\s+(?:early\s+|late\s+|mid-?)?((?:19|20)\d\d)\b", re.I)
_MONTH = re.compile(
    rf"\b(?:(?:in|of|during|since|on|this|last|early|late|mid)\s+|mid-)({_MONTH_WORDS}|may)\.?(?:\s*,?\s*((?:19|20)\d\d))?\b"
    rf"|\b({_MONTH_WORDS})\.?\s+((?:19|20)\d\d)\b",
    re.I,
)
_RELATIVE = (
    (re.compile(r"\b(today|tonight|this (morning|afternoon|evening))\b", re.I), 1.5),
    (re.compile(r"\b(yesterday|last night)\b", re.I), 2.5),
    (re.compile(r"\b(this|past) weekend\b", re.I), 4.0),
    (re.compile(r"\b(this|past) week\b|\bin recent days\b|\bthis past\b", re.I), 8.0),
    (re.compile(r"\blast week(end)?\b", re.I), 15.0),
    (re.compile(r"\b(this|past) month\b|\bin recent weeks\b", re.I), 31.0),
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(rf"\b(on|last|this past|past)\s+({'|'.join(_WEEKDAYS)})\b", re.I)
_NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
_COUNTS = {"a": 1} | {w: i for i, w in enumerate(_NUMBERS, 1)}
_AGO = re.compile(rf"\b(\d{{1,3}}|{'|'.join(_COUNTS)})\s+(day|week|month|year)s?\s+ago\b", re.I)
# Half a unit either side of "N units ago": "three weeks ago" is the week around that day.
_AGO_UNIT = {"day": (1.0, 0.0), "week": (7.0, 3.5), "month": (30.4, 15.0), "year": (365.25, 182.0)}
_ISO_DAY = re.compile(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b")
_MONTH_DAY = re.compile(
    rf"\b({_MONTH_WORDS}|may)\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s*((?:19|20)\d\d)\b)?"
    rf"|\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_WORDS}|may)\b\.?(?:,?\s*((?:19|20)\d\d)\b)?",
    re.I,
)
# "early", "mid" and "late" in a month: its first, middle and last ten days or so.
_PART = {"early": (1, 10), "mid": (11, 20), "late": (21, 31)}
_FIRST_WORD = re.compile(r"[a-z]+")
_LAST_MONTH = re.compile(r"\blast month\b", re.I)
_THIS_YEAR = re.compile(r"\b(this|so far this|past) year\b|\bthis season\b", re.I)
_LAST_YEAR = re.compile(r"\blast year\b", re.I)
_LATEST = re.compile(
    r"\b(latest|newest|most recent|recent|recently|currently|current|now|ongoing|so far)\b", re.I
)


@dataclass(frozen=True, slots=True)
class TimeFrame:
    """What a question asks about in time, resolved against the moment it is asked.

    `until` is `asked_at` as a day number; `start`/`end` bound an explicit window the question
    names (None when it names none); `latest` says it wants the newest coverage.
    """

    until: float
    start: float | None = None
    end: float | None = None
    latest: bool = False

    @property
    def windowed(self) -> bool:
        return self.start is not None


@dataclass(frozen=True, slots=True)
class TimeWeights:
    """How much age counts: `half_life` days for news, `latest_half_life` when the question
    asks for the newest, and the floor an old article keeps; `outside` multiplies an article
    outside the question's explicit window."""

    half_life: float = 60.0
    latest_half_life: float = 14.0
    floor: float = 0.35
    outside: float = 0.4


def day_number(moment: datetime) -> float:
    """Days since 1970-01-01 UTC (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH).total_seconds() / 86400.0


def parse_asked_at(value: str | date | datetime | None) -> datetime:
    """Read an `asked_at`: None is now; a date (or ISO date string) means the end of that day.

    Raises ValueError with the value when it is not an ISO date or datetime.
    """
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time.max, tzinfo=UTC)
    text = str(value).strip()
    if len(text) == 10:
        try:
            return datetime.combine(date.fromisoformat(text), time.max, tzinfo=UTC)
        except ValueError:
            pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected an ISO date or datetime such as 2023-05-17, got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def published_day(published: str) -> float:
    """The day number of an article's `published` field; NaN when it holds no date."""
    text = published.strip()
    if len(text) < 10 or not text[:4].isdigit():
        return math.nan
    try:
        if len(text) == 10:
            return day_number(datetime.combine(date.fromisoformat(text), time.min, tzinfo=UTC))
        return day_number(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        try:
            return day_number(datetime.combine(date.fromisoformat(text[:10]), time.min, tzinfo=UTC))
        except ValueError:
            return math.nan


def _day(d: date) -> float:
    return day_number(datetime.combine(d, time.min, tzinfo=UTC))


def _month_range(year: int, month: int) -> tuple[float, float]:
    last = calendar.monthrange(year, month)[1]
    return _day(date(year, month, 1)), _day(date(year, month, last)) + 1.0


def _one_day(d: date, until: float, latest: bool) -> TimeFrame:
    start = _day(d)
    return TimeFrame(until, start, min(start + 1.0, until), latest=latest)


def _past_day(today: date, month: int, day: int, year: int | None) -> date | None:
    """The date named by a month and day: in `year`, else the latest one not after today."""
    try:
        if year is not None:
            return date(year, month, day)
        named = date(today.year, month, day)
        return named if named <= today else date(today.year - 1, month, day)
    except ValueError:
        return None


def _named_day(question: str, today: date) -> date | None:
    """A calendar day the question names: 2023-04-28, March 3, 12 April 2023."""
    iso = _ISO_DAY.search(question)
    if iso:
        try:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        except ValueError:
            return None
    found = _MONTH_DAY.search(question)
    if not found:
        return None
    name = (found.group(1) or found.group(5)).lower()
    month = 5 if name == "may" else _MONTHS[name]
    day = int(found.group(2) or found.group(4))
    year_text = found.group(3) or found.group(6)
    return _past_day(today, month, day, int(year_text) if year_text else None)


def resolve(question: str, asked_at: datetime) -> TimeFrame:
    """Resolve the time words of `question` against `asked_at` into a TimeFrame."""
    until = day_number(asked_at)
    today = asked_at.date()
    latest = bool(_LATEST.search(question))
    for pattern, days in _RELATIVE:
        if pattern.search(question):
            return TimeFrame(until, until - days, until, latest=True)
    ago = _AGO.search(question)
    if ago:
        count = ago.group(1).lower()
        n = int(count) if count.isdigit() else _COUNTS[count]
        step, half = _AGO_UNIT[ago.group(2).lower()]
        middle = _day(today) - n * step
        return TimeFrame(until, middle - half, min(middle + half + 1.0, until), latest=latest)
    named = _named_day(question, today)
    if named is not None and named <= today:
        return _one_day(named, until, latest)
    weekday = _WEEKDAY.search(question)
    if weekday:
        back = (today.weekday() - _WEEKDAYS.index(weekday.group(2).lower())) % 7
        if back == 0 and weekday.group(1).lower() != "on":
            back = 7
        return _one_day(today - timedelta(days=back), until, latest)
    if _LAST_MONTH.search(question):
        first = today.replace(day=1) - timedelta(days=1)
        start, end = _month_range(first.year, first.month)
        return TimeFrame(until, start, end, latest=latest)
    found = _MONTH.search(question)
    if found:
        name = (found.group(1) or found.group(3)).lower().rstrip(".")
        month = 5 if name == "may" else _MONTHS[name]
        year_text = found.group(2) or found.group(4)
        year = int(year_text) if year_text else (today.year if month <= today.month else today.year - 1)
        if found.group(0).lower().startswith("last ") and not year_text and month == today.month:
            year -= 1
        start, end = _month_range(year, month)
        opening = _FIRST_WORD.match(found.group(0).lower())
        part = _PART.get(opening.group()) if found.group(1) and opening else None
        if part is not None:
            start, end = start + part[0] - 1, min(end, start + part[1])
        return TimeFrame(until, start, min(end, until), latest=latest)
    # A year still to come ("will move to streaming in 2029") names a plan, not when it was reported.
    years = [int(m.group(1)) for m in _YEAR.finditer(question) if int(m.group(1)) <= today.year]
    if years:
        year = years[0]
        return TimeFrame(until, _day(date(year, 1, 1)), min(_day(date(year + 1, 1, 1)), until), latest=latest)
    if _THIS_YEAR.search(question):
        return TimeFrame(until, _day(date(today.year, 1, 1)), until, latest=True)
    if _LAST_YEAR.search(question):
        return TimeFrame(until, _day(date(today.year - 1, 1, 1)), _day(date(today.year, 1, 1)), latest=latest)
    return TimeFrame(until, latest=latest)


def weigh(days: Floats, frame: TimeFrame, weights: TimeWeights) -> Floats:
    """One multiplier per article day: 0 after `until`, a decay with age, a window penalty.

    An article without a date (NaN) keeps 1: nothing says it is old or from the future.
    """
    out = np.ones(days.shape, dtype=np.float64)
    known = ~np.isnan(days)
    if not known.any():
        return out
    age = np.where(known, frame.until - days, 0.0)
    if frame.windowed:
        assert frame.start is not None and frame.end is not None
        # Coverage published a few days after the window still reports on it.
        inside = (days >= frame.start) & (days <= frame.end + 7.0)
        mult = np.where(inside, 1.0, weights.outside)
    else:
        half = weights.latest_half_life if frame.latest else weights.half_life
        decay = np.exp2(-np.maximum(age, 0.0) / half)
        mult = weights.floor + (1.0 - weights.floor) * decay
    out = np.where(known, mult, 1.0)
    out[known & (age < 0)] = 0.0
    return out


def highest(days: Floats, frame: TimeFrame, weights: TimeWeights) -> float:
    """The highest multiplier `weigh` gives any of `days` (ascending, NaN last), found by bisection.

    Outside a window the multiplier only falls with age (the floor is below 1) and is 0 after
    `until`, so the newest day up to `until` holds the highest. Inside one, a day up to `until`
    gets 1 within the window (or a week after it) and `outside` beyond it: a question naming a
    week no article falls in ("this week", asked of an archive) has every article at `outside`.
    An undated article holds 1.
    """
    if weights.floor > 1.0 or (days.size and np.isnan(days[-1])):
        return 1.0
    past = int(np.searchsorted(days, frame.until, side="right"))  # days[:past] are not after `until`
    if past == 0:
        return 0.0
    if frame.windowed:
        assert frame.start is not None and frame.end is not None
        first = int(np.searchsorted(days, frame.start, side="left"))
        last = int(np.searchsorted(days, frame.end + 7.0, side="right"))
        inside = min(last, past) > first
        beyond = first > 0 or last < past
        return max(1.0 if inside else 0.0, weights.outside if beyond else 0.0)
    return float(weigh(days[past - 1 : past], frame, weights)[0])


def lowest(days: Floats, frame: TimeFrame, weights: TimeWeights) -> float:
    """The lowest multiplier above 0 that `weigh` gives any of `days` (ascending, NaN last); 0 when none.

    Outside a window the oldest day up to `until` holds it (the multiplier falls with age down
    to the floor); inside one, a day beyond the window holds `outside`. Together with `highest`
    it tells how far the prior can reorder passages.
    """
    past = int(np.searchsorted(days, frame.until, side="right"))
    found = [1.0] if days.size and np.isnan(days[-1]) else []
    if frame.windowed:
        assert frame.start is not None and frame.end is not None
        first = int(np.searchsorted(days, frame.start, side="left"))
        last = int(np.searchsorted(days, frame.end + 7.0, side="right"))
        found += [1.0] * (min(last, past) > first) + [weights.outside] * (first > 0 or last < past)
    elif past and 0.0 <= weights.floor <= 1.0:
        found.append(float(weigh(days[:1], frame, weights)[0]))
    elif past:
        found += weigh(days[:past], frame, weights).tolist()
    return min((v for v in found if v > 0), default=0.0)
