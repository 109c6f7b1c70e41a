"""Tests for retrieval.split: a table of news-prose cases, and the span invariants for any text."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval.split import split_sentences


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


CASES: list[tuple[str, list[str]]] = [
    # Plain prose and empty input.
    (
        "The council met on Monday. It voted to close the bridge.",
        ["The council met on Monday.", "It voted to close the bridge."],
    ),
    ("  The storm passed.  ", ["The storm passed."]),
    ("", []),
    (" \n\n \t", []),
    # Titles and other abbreviations.
    (
        "Gen. Mark Hale and Lt. Col. Ann Byrd visited the base. Sgt. Tom Reyes met them.",
        ["Gen. Mark Hale and Lt. Col. Ann Byrd visited the base.", "Sgt. Tom Reyes met them."],
    ),
    (
        "Capt. Lee spoke to Gov. Ortiz and Sen. Marsh. Rep. Kim was absent.",
        ["Capt. Lee spoke to Gov. Ortiz and Sen. Marsh.", "Rep. Kim was absent."],
    ),
    (
        "Mr. and Mrs. Patel met Ms. Greene and Dr. Oduya. Prof. Lind joined them later.",
        ["Mr. and Mrs. Patel met Ms. Greene and Dr. Oduya.", "Prof. Lind joined them later."],
    ),
    ("Lt.-Gen. Mark Hale retired on Friday.", ["Lt.-Gen. Mark Hale retired on Friday."]),
    (
        "The march went past St. Paul's church. Martin Luther King Jr. Day is next week.",
        ["The march went past St. Paul's church.", "Martin Luther King Jr. Day is next week."],
    ),
    (
        "Officials in the U.S. and the U.K. agreed on Tuesday. The deal starts in May.",
        ["Officials in the U.S. and the U.K. agreed on Tuesday.", "The deal starts in May."],
    ),
    (
        "The U.N. Security Council will meet again. E.U. leaders said they would attend.",
        ["The U.N. Security Council will meet again.", "E.U. leaders said they would attend."],
    ),
    (
        "She moved to the U.S. The move surprised her family.",
        ["She moved to the U.S.", "The move surprised her family."],
    ),
    (
        "He grew up in Washington, D.C. His parents were teachers.",
        ["He grew up in Washington, D.C.", "His parents were teachers."],
    ),
    (
        "Zenith Inc. bought Acme Corp. last year. Both are based in Ohio.",
        ["Zenith Inc. bought Acme Corp. last year.", "Both are based in Ohio."],
    ),
    (
        "He sold his stake in Bolt Ltd. The shares fell on the news.",
        ["He sold his stake in Bolt Ltd.", "The shares fell on the news."],
    ),
    (
        "Zenith Inc. Chief Executive Ana Ruiz spoke.",
        ["Zenith Inc. Chief Executive Ana Ruiz spoke."],
    ),
    (
        "The rules cover fruit, nuts, etc. and some dairy products. They passed easily.",
        ["The rules cover fruit, nuts, etc. and some dairy products.", "They passed easily."],
    ),
    (
        "They packed tents, stoves, maps, etc. The trip took a week.",
        ["They packed tents, stoves, maps, etc.", "The trip took a week."],
    ),
    (
        "The score was 3-1 vs. Leeds. It was their first win since Aug. 4.",
        ["The score was 3-1 vs. Leeds.", "It was their first win since Aug. 4."],
    ),
    (
        "Smith et al. found the same effect in mice. Others did not.",
        ["Smith et al. found the same effect in mice.", "Others did not."],
    ),
    (
        "He works for Acme Co. in Ohio. His office is on Fifth Ave. The rent is high.",
        ["He works for Acme Co. in Ohio.", "His office is on Fifth Ave.", "The rent is high."],
    ),
    (
        "The deal was signed in Phoenix, Ariz. It takes effect in June.",
        ["The deal was signed in Phoenix, Ariz.", "It takes effect in June."],
    ),
    # Dates and times.
    (
        "The vote is set for Jan. 15 in Ohio. It was moved from Dec. 3 after a court ruling.",
        ["The vote is set for Jan. 15 in Ohio.", "It was moved from Dec. 3 after a court ruling."],
    ),
    (
        "The plant opened in Sept. The first cars left in Oct. 2021.",
        ["The plant opened in Sept.", "The first cars left in Oct. 2021."],
    ),
    (
        "Police were called at 9 a.m. The suspect had already fled.",
        ["Police were called at 9 a.m.", "The suspect had already fled."],
    ),
    (
        "The shop opens at 9 a.m. and closes at 5 p.m. on weekdays.",
        ["The shop opens at 9 a.m. and closes at 5 p.m. on weekdays."],
    ),
    (
        "The hearing starts at 10 a.m. ET on Friday.",
        ["The hearing starts at 10 a.m. ET on Friday."],
    ),
    (
        "The train left at 10.30 and arrived at 12.15. Nobody was hurt.",
        ["The train left at 10.30 and arrived at 12.15.", "Nobody was hurt."],
    ),
    # Names with initials.
    (
        "John F. Kennedy was elected in 1960. He was 43.",
        ["John F. Kennedy was elected in 1960.", "He was 43."],
    ),
    (
        "J.K. Rowling and J. R. R. Tolkien sold millions of books.",
        ["J.K. Rowling and J. R. R. Tolkien sold millions of books."],
    ),
    (
        "The prize went to George W. Bush. A crowd cheered.",
        ["The prize went to George W. Bush.", "A crowd cheered."],
    ),
    # Numbers, money, versions, numbered things.
    (
        "The firm raised $1.5 billion, up 3.5% on last year. It owes 1,000.50 euros a share.",
        ["The firm raised $1.5 billion, up 3.5% on last year.", "It owes 1,000.50 euros a share."],
    ),
    (
        "Sales rose 5%. 2024 was a record year.",
        ["Sales rose 5%.", "2024 was a record year."],
    ),
    (
        "Version v2.0 of the app fixed the bug. Users can update now.",
        ["Version v2.0 of the app fixed the bug.", "Users can update now."],
    ),
    (
        "She lives at No. 10 Downing Street. Fig. 2 shows the floor plan.",
        ["She lives at No. 10 Downing Street.", "Fig. 2 shows the floor plan."],
    ),
    (
        "The No. 1 seed lost. No. 2 Arsenal won.",
        ["The No. 1 seed lost.", "No. 2 Arsenal won."],
    ),
    (
        "The list is short. 1. Rates are rising. 2. Jobs",
        ["The list is short.", "1. Rates are rising.", "2. Jobs"],
    ),
    # Web addresses.
    (
        "Read more at www.bbc.co.uk or example.com today. Write to tips@example.org now.",
        ["Read more at www.bbc.co.uk or example.com today.", "Write to tips@example.org now."],
    ),
    (
        "The full text is at https://example.com/news/2024/report.html. It runs to 40 pages.",
        ["The full text is at https://example.com/news/2024/report.html.", "It runs to 40 pages."],
    ),
    # Ellipses.
    (
        "I waited… and waited. Then the bus came.",
        ["I waited… and waited.", "Then the bus came."],
    ),
    ("Wait… what happened next? Nobody knows.", ["Wait… what happened next?", "Nobody knows."]),
    (
        "The line went dead... Nobody answered after that.",
        ["The line went dead...", "Nobody answered after that."],
    ),
    ("He paused . . . Then he spoke.", ["He paused . . .", "Then he spoke."]),
    # Question and exclamation marks.
    (
        "What?! That cannot be right! Who signed it?",
        ["What?!", "That cannot be right!", "Who signed it?"],
    ),
    ("“Why?” he asked.", ["“Why?” he asked."]),
    ("“Is it over?” “Yes,” she said.", ["“Is it over?”", "“Yes,” she said."]),
    # Quotations.
    (
        "“We will do whatever it would take,” he said.",
        ["“We will do whatever it would take,” he said."],
    ),
    (
        "“…only the president can decide,” the aide said.",
        ["“…only the president can decide,” the aide said."],
    ),
    (
        "He said: “It is over.” Then he left.",
        ["He said: “It is over.”", "Then he left."],
    ),
    ("“First. Second,” she said.", ["“First.", "Second,” she said."]),
    (
        '"Stop the count," she said. "We are done here."',
        ['"Stop the count," she said.', '"We are done here."'],
    ),
    (
        "She called it ‘a disaster.’ Others disagreed.",
        ["She called it ‘a disaster.’", "Others disagreed."],
    ),
    (
        "« Nous partons. » Il est parti le soir même.",
        ["« Nous partons. »", "Il est parti le soir même."],
    ),
    ("„Wir gehen.“ Dann ging er.", ["„Wir gehen.“", "Dann ging er."]),
    # Brackets.
    (
        "The minister resigned. (He denied any wrongdoing.) A successor will be named.",
        ["The minister resigned.", "(He denied any wrongdoing.)", "A successor will be named."],
    ),
    (
        "The budget passed (by two votes). Critics were furious.",
        ["The budget passed (by two votes).", "Critics were furious."],
    ),
    # Paragraphs, headings, lists and hard-wrapped lines.
    (
        "The first paragraph ends here\n\nAnd a second one begins.",
        ["The first paragraph ends here", "And a second one begins."],
    ),
    ("One.\n   \nTwo.", ["One.", "Two."]),
    ("One line.\r\nAnother line.", ["One line.", "Another line."]),
    (
        "Key points\nThe mayor resigned. Her deputy takes over.",
        ["Key points", "The mayor resigned.", "Her deputy takes over."],
    ),
    (
        "Key points:\n- item one\n- item two\n• item three",
        ["Key points:", "- item one", "- item two", "• item three"],
    ),
    ("1. First thing\n2. Second thing", ["1. First thing", "2. Second thing"]),
    (
        "History\nThe town was founded in 1820 by settlers.",
        ["History", "The town was founded in 1820 by settlers."],
    ),
    (
        "The council said on Monday it would\nclose the bridge for repairs. Drivers will\nhave to take the ferry.",
        [
            "The council said on Monday it would\nclose the bridge for repairs.",
            "Drivers will\nhave to take the ferry.",
        ],
    ),
    (
        "The award went to Mr.\nSmith and his team.",
        ["The award went to Mr.\nSmith and his team."],
    ),
    (
        "The harbour plan was approved late on Tuesday by\n"
        "the city council, after a long debate with Mayor\n"
        "Laura Hale and her deputy, who had both opposed\n"
        "it for months.\n",
        [
            "The harbour plan was approved late on Tuesday by\n"
            "the city council, after a long debate with Mayor\n"
            "Laura Hale and her deputy, who had both opposed\n"
            "it for months."
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_news_prose_splits_into_the_expected_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_the_table_has_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


_TRICKY_PIECES = st.sampled_from(
    [
        " ",
        "\n",
        "\n\n",
        "\r\n",
        "\t",
        "\u00a0",
        "\u2029",
        "\u3000",
        "\u200b",
        ".",
        "...",
        "…",
        "?!",
        "!",
        "“",
        "”",
        "‘",
        "’",
        "«",
        "»",
        "„",
        '"',
        "'",
        "(",
        ")",
        "- ",
        "• ",
        "1. ",
        "Mr.",
        "U.S.",
        "a.m.",
        "No.",
        "J.",
        "The",
        "the",
        "and",
        "said",
        "3.5",
        ":",
        ",",
    ]
)
_ANY_TEXT = st.lists(st.one_of(_TRICKY_PIECES, st.text()), max_size=40).map("".join)


@given(_ANY_TEXT)
def test_spans_are_verbatim_ordered_and_lose_nothing_for_any_text(text: str) -> None:
    spans = split_sentences(text)
    position = 0
    for start, end in spans:
        assert isinstance(start, int) and isinstance(end, int)
        assert position <= start < end <= len(text)
        assert text[position:start].strip() == ""
        assert text[start:end] == text[start:end].strip()
        position = end
    assert text[position:].strip() == ""


@given(_ANY_TEXT)
def test_the_stops_tried_only_where_one_can_start_are_those_the_regex_finds_anywhere(text: str) -> None:
    from retrieval.split import _STOP_OR_LINE_BREAK, _stops

    def found(matches: Iterable[re.Match[str]]) -> list[tuple[tuple[int, int], tuple[str | None, ...]]]:
        return [(m.span(), m.groups()) for m in matches]

    assert found(_stops(text)) == found(_STOP_OR_LINE_BREAK.finditer(text))
