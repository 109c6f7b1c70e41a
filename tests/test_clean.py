"""Page furniture is dropped at load time; the article's own sentences stay."""

from __future__ import annotations

import pytest

from retrieval.clean import clean_body, is_furniture


@pytest.mark.parametrize(
    "line",
    [
        "New York CNN —",
        "Washington CNN Business —",
        "CNN —",
        "– Harriet Lowe",
        "— Tomas de la Vega",
        "-- Priya Raman",
        "−Owen Petrakis",
        "By Lena Markov and Sam Oduya",
        "Contributing: The Associated Press",
        "Reporting by Ines Kahl; Editing by Mark Fell",
        "Associated Press",
        "Reuters",
        "Dana Whitlock:",
        "JUST WATCHED",
        "Video Ad Feedback",
        "Sign up here for our morning briefing.",
        "Subscribe to the Coast Gazette for $1 a week",
        "Need a break? Play the Daily Crossword Puzzle.",
        "Need a news break? Check out the new games hub!",
        "Follow Jordan Vale on Twitter: @jvale.",
        "Photo by Kim Lo/Getty Images",
        "A firefighter at the scene. (Nora Bell/Getty Images)",
        "Good morning, I'm Dana Whitlock and this is Five Things you need to know today.",
        "Hi, Francesca.",
        "(This story was updated to add new information.)",
        "Read more: Harbour bridge to close for repairs",
        "Advertisement",
        "Story continues below advertisement",
        "LEAGUE STATS CENTRAL: The latest scores, schedules, odds and more.",
        "♦",
        "___",
        "—–",
        "@coastgazette",
        "© 2024 Coast Gazette. All rights reserved.",
    ],
)
def test_page_furniture_is_recognised(line: str) -> None:
    assert is_furniture(line)


@pytest.mark.parametrize(
    "line",
    [
        "The harbour bridge will close for six weeks from Monday.",
        "By the end of the year, prices had risen by 12%.",
        "Mayor Ellen Park said the repairs would cost $4.5 million.",
        "Reuters reported that the talks had stalled.",
        "- Apple announced a new phone on Tuesday.",
        "Sign language interpreters will attend every session.",
        "The newsletter was founded in 1999 by two teachers.",
        "Hi, Francesca, he wrote in the letter that was read aloud in court.",
        "Follow the money, the investigators were told.",
        "Registered voters can cast ballots until 8 p.m.",
        "CNN reported the story first.",
    ],
)
def test_article_sentences_are_kept(line: str) -> None:
    assert not is_furniture(line)


def test_a_body_loses_its_furniture_and_the_dateline_that_opens_it() -> None:
    body = (
        "New York CNN —\n"
        "WASHINGTON (AP) — The council voted 7-2 on Tuesday to close the harbour bridge.\n"
        "JUST WATCHED\n"
        "Ferries will run every ten minutes.\n"
        "– Harriet Lowe\n"
        "Sign up here for our morning briefing."
    )
    assert clean_body(body) == (
        "The council voted 7-2 on Tuesday to close the harbour bridge.\nFerries will run every ten minutes."
    )
