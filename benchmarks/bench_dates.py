"""Time expressions in questions: newsbot's own resolver (retrieval/when.py) beside dateparser.

    python -m benchmarks.bench_dates [--repeat 20]

Both read the same table of questions, asked as of one fixed moment (Wednesday 2023-05-17,
end of day). A question that names a time has the window it means (inclusive days); the
others name none, and resolving a time in them ("second", "May" the verb, a year still to
come) is an error that would steer ranking away from the answer. A resolver is right on a
question naming a time when the day it resolves to lies in the window (newsbot: the middle
of its window; dateparser: the first date `search_dates` finds, past dates preferred), and on
the others when it resolves nothing. Prints accuracy on each kind and the time per question.

dateparser is a benchmark dependency (the `bench` extra), not one newsbot needs to run.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta

from retrieval.when import day_number, resolve

ASKED = datetime(2023, 5, 17, 23, 59, 59, tzinfo=UTC)

Window = tuple[str, str] | None

TABLE: tuple[tuple[str, Window], ...] = (
    ("Who won the runoff election yesterday?", ("2023-05-16", "2023-05-16")),
    ("What did the governor say today about the strike?", ("2023-05-17", "2023-05-17")),
    ("Which team won the final last night?", ("2023-05-16", "2023-05-17")),
    ("Which airline cancelled hundreds of flights last week?", ("2023-05-08", "2023-05-14")),
    ("What did the court decide this week?", ("2023-05-15", "2023-05-17")),
    ("Who was fired this past weekend?", ("2023-05-13", "2023-05-14")),
    ("Which minister resigned last month?", ("2023-04-01", "2023-04-30")),
    ("How many jobs were added in March?", ("2023-03-01", "2023-03-31")),
    ("Who was elected mayor in March 2022?", ("2022-03-01", "2022-03-31")),
    ("Which bank collapsed in 2021?", ("2021-01-01", "2021-12-31")),
    ("What did the central bank do in January?", ("2023-01-01", "2023-01-31")),
    ("What bill did the senate pass in May?", ("2023-05-01", "2023-05-17")),
    ("What did the chancellor announce on Monday?", ("2023-05-15", "2023-05-15")),
    ("What rate did the Fed set on Tuesday?", ("2023-05-16", "2023-05-16")),
    ("Who won the derby on Sunday?", ("2023-05-14", "2023-05-14")),
    ("What happened at the summit on March 3?", ("2023-03-03", "2023-03-03")),
    ("Which company went public on 12 April 2023?", ("2023-04-12", "2023-04-12")),
    ("What did the retailer report on 2023-04-28?", ("2023-04-28", "2023-04-28")),
    ("Who won the championship last year?", ("2022-01-01", "2022-12-31")),
    ("How many storms have there been so far this year?", ("2023-01-01", "2023-05-17")),
    ("What was decided two days ago?", ("2023-05-15", "2023-05-15")),
    ("Who was arrested three weeks ago?", ("2023-04-24", "2023-04-28")),
    ("What did the regulator say earlier this month?", ("2023-05-01", "2023-05-17")),
    ("Which film topped the box office in December?", ("2022-12-01", "2022-12-31")),
    ("What flooded in late April?", ("2023-04-20", "2023-04-30")),
    ("Which prices rose over the past month?", ("2023-04-17", "2023-05-17")),
    ("What did the coach say last Friday?", ("2023-05-12", "2023-05-12")),
    ("Who won the award in 2019?", ("2019-01-01", "2019-12-31")),
    ("What burned during the summer of 2022?", ("2022-06-01", "2022-08-31")),
    ("Which law took effect this year?", ("2023-01-01", "2023-05-17")),
    ("What did the president sign on Thursday?", ("2023-05-11", "2023-05-11")),
    ("Which museum reopened on April 30?", ("2023-04-30", "2023-04-30")),
    ("Which shares fell 10 days ago?", ("2023-05-07", "2023-05-07")),
    ("Who won the vote in mid-March?", ("2023-03-11", "2023-03-20")),
    ("What opened on the 4th of May?", ("2023-05-04", "2023-05-04")),
    ("What did the mayor say on 1 May?", ("2023-05-01", "2023-05-01")),
    ("Which team won the cup two weeks ago?", ("2023-04-30", "2023-05-06")),
    ("What was announced in early February?", ("2023-02-01", "2023-02-10")),
    ("Who died last Saturday?", ("2023-05-13", "2023-05-13")),
    ("Who is the prime minister of the United Kingdom?", None),
    ("Which singer released the album 1989?", None),
    ("What is the name of the storm that hit Florida?", None),
    ("How many days ago was the ceasefire agreed?", None),
    ("Which team may win the cup?", None),
    ("What is the second largest city in Canada?", None),
    ("What did the company unveil alongside the iPhone 15?", None),
    ("Which company is laying off 16,000 employees?", None),
    ("Which state has the highest average price of a gallon of gas?", None),
    ("Who scored 3 goals for the home side?", None),
    ("Which virus was linked to an outbreak aboard a cruise ship?", None),
    ("What did the 95th Academy Awards celebrate?", None),
    ("Who was named chief executive of the airline?", None),
    ("Which movie won best picture at the Oscars?", None),
    ("How old is the oldest living person?", None),
    ("What will the city build by 2030?", None),
    ("Which player holds the record for most points?", None),
    ("Where will the next Olympic Games be held?", None),
)


def _day(iso: str) -> float:
    return day_number(datetime.combine(date.fromisoformat(iso), datetime.min.time(), tzinfo=UTC))


def own(question: str) -> float | None:
    """The middle day of the window newsbot resolves, or None when it names none."""
    frame = resolve(question, ASKED)
    if frame.start is None or frame.end is None:
        return None
    return (frame.start + frame.end) / 2.0


def with_dateparser() -> Callable[[str], float | None]:
    """dateparser's first date found in the question (past preferred), as a day number."""
    from dateparser.search import search_dates

    settings = {
        "RELATIVE_BASE": ASKED.replace(tzinfo=None),
        "PREFER_DATES_FROM": "past",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }

    def parse(question: str) -> float | None:
        found = search_dates(question, languages=["en"], settings=settings)  # type: ignore[arg-type]
        if not found:
            return None
        return day_number(found[0][1].replace(tzinfo=UTC))

    return parse


def right(resolved: float | None, window: Window) -> bool:
    """Whether a resolved day matches what the question means (a day of slack either side)."""
    if window is None:
        return resolved is None
    if resolved is None:
        return False
    return _day(window[0]) - 1.0 <= resolved <= _day(window[1]) + 2.0


def measure(parse: Callable[[str], float | None], repeat: int) -> tuple[int, int, list[str], float]:
    """Right answers on questions naming a time, on the others, the misses, and µs per question."""
    timed, plain, misses = 0, 0, []
    for question, window in TABLE:
        resolved = parse(question)
        if right(resolved, window):
            timed += window is not None
            plain += window is None
        else:
            got = "nothing" if resolved is None else str(date(1970, 1, 1) + timedelta(days=int(resolved)))
            misses.append(f"{question}  -> {got}")
    start = time.perf_counter()
    for _ in range(repeat):
        for question, _window in TABLE:
            parse(question)
    per = (time.perf_counter() - start) / (repeat * len(TABLE)) * 1e6
    return timed, plain, misses, per


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed passes over the table")
    parser.add_argument("--misses", action="store_true", help="list each resolver's wrong answers")
    args = parser.parse_args(argv)
    n_timed = sum(w is not None for _, w in TABLE)
    n_plain = len(TABLE) - n_timed
    print(f"asked as of {ASKED.date()}; {n_timed} questions naming a time, {n_plain} naming none")
    print(f"{'resolver':<22}{'names a time':>14}{'names none':>12}{'µs/question':>13}")
    for name, parse in (("newsbot (when.py)", own), ("dateparser", with_dateparser())):
        timed, plain, misses, per = measure(parse, args.repeat)
        print(f"{name:<22}{timed:>9}/{n_timed:<4}{plain:>7}/{n_plain:<4}{per:>13.0f}")
        if args.misses:
            print("\n".join("    " + m for m in misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
