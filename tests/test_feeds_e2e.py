"""End to end: `newsbot run` with a feed, against a fake Bot API and a local feed server.

An item that appears in the feed while the bot runs must be answerable within one fetch
interval plus 10 seconds, and the reply names every outlet that printed the story.
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feedserver import FeedServer, Route
from newsfixtures import LIGHTHOUSE, TRAM, VOLCANO_A, VOLCANO_B, Story, page, rss
from test_bot_e2e import ANN, BOT, PRIVATE, STARTUP, TOKEN, start

from benchmarks.fakebotapi import FakeBotAPI, FakeBotAPIServer

INTERVAL = 3  # fetch.every_seconds for this test
QUESTION = "when will the tram line reach the airport"


def ask_until(api: FakeBotAPI, question: str, expected: str, timeout: float) -> tuple[str, float]:
    """Ask again each time the bot answers without `expected`; return the reply that has it and when."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = len(api.sent(PRIVATE["id"]))
        api.say(PRIVATE, ANN, question)
        api.wait_for(lambda n=before: len(api.sent(PRIVATE["id"])) > n, deadline - time.monotonic())
        text = str(api.sent(PRIVATE["id"])[-1].params["text"])
        if expected in text:
            return text, time.monotonic()
        time.sleep(0.5)
    raise AssertionError(f"no reply with {expected!r} within {timeout} s")


def fresh(story: Story) -> Story:
    """The story published now: the bot answers as of now, and news years old is declined."""
    return dataclasses.replace(story, published=email.utils.format_datetime(datetime.now(UTC)))


def test_the_running_bot_answers_from_a_new_feed_item_within_one_interval_plus_10_s(tmp_path: Path) -> None:
    today = datetime.now(UTC).date().isoformat()
    volcano_a, volcano_b, lighthouse, tram_story = (fresh(s) for s in (VOLCANO_A, VOLCANO_B, LIGHTHOUSE, TRAM))
    with FeedServer() as feeds:
        html = "text/html; charset=utf-8"
        feeds.routes["/coast/volcano"] = Route(
            page(volcano_a, outlet="Coast Gazette", canonical=feeds.url("/coast/volcano"), date=today), html
        )  # noqa: E501
        feeds.routes["/north/ash"] = Route(
            page(volcano_b, outlet="Northern Post", canonical=feeds.url("/north/ash"), date=today), html
        )  # noqa: E501
        coast = [(lighthouse, feeds.url("/coast/lighthouse")), (volcano_a, feeds.url("/coast/volcano"))]
        feeds.routes["/coast.rss"] = Route(rss("Coast Gazette", coast, full=False))
        feeds.routes["/north.rss"] = Route(rss("Northern Post", [(volcano_b, feeds.url("/north/ash"))]))
        (tmp_path / "corpus").mkdir()
        config: dict[str, Any] = {
            "corpus": "corpus",
            "index_dir": "index",
            "feeds": [{"url": feeds.url("/coast.rss")}, {"url": feeds.url("/north.rss")}],
            "fetch": {"every_seconds": INTERVAL},
            "telegram": {"refresh_seconds": 0},
        }
        (tmp_path / "config.yaml").write_text(json.dumps(config), encoding="utf-8")
        api = FakeBotAPI(TOKEN, username=BOT)
        with FakeBotAPIServer(api) as server:
            running = start(tmp_path / "config.yaml", api, server)
            try:
                api.wait_for(lambda: api.called("getUpdates"), STARTUP)
                volcano, _ = ask_until(api, "how many passengers were affected by the ash", "14,000", STARTUP)

                feeds.routes["/coast.rss"] = Route(
                    rss("Coast Gazette", [*coast, (tram_story, feeds.url("/coast/tram"))], full=True)
                )  # noqa: E501
                appeared = time.monotonic()
                tram, answered = ask_until(api, QUESTION, "2027", INTERVAL + 10)
            finally:
                running.stop()
    assert answered - appeared <= INTERVAL + 10
    assert "also: " in volcano and ("Coast Gazette" in volcano and "Northern Post" in volcano)
    assert "Tram line to reach the airport by 2027" in tram
    assert "Fetched 2 of 2 feeds" in running.output
