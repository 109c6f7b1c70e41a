"""The bot under Telegram's limits, timed beside python-telegram-bot's own rate limiter.

Usage, from the repository root:

    python -m benchmarks.bot_limits            # about a minute: the AIORateLimiter runs wait
    python -m benchmarks.bot_limits --limiters FloodControl

Three dialogs go through the real application (`bot.app.build_application`, every handler) to
the fake Bot API (`benchmarks/fakebotapi.py`), over the shipped corpus, once with newsbot's
`FloodControl` and once with `AIORateLimiter(max_retries=2)` (what the bot used before):

- flood: Telegram answers a group's reply with a 429 (retry_after 20 s); meanwhile a private
  chat asks. Printed: how long the private chat waited for its answer.
- burst: 15 `/ask` at once in one group. Printed: when the last answer was sent.
- stop: a reply whose sends all fail with 500 is in its retry loop when the bot is stopped.
  Printed: how long stopping took (the outbox's grace is 2 s), and what was logged.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import AIORateLimiter

from benchmarks.fakebotapi import FakeBotAPI, FakeRequest
from bot.app import SHUTDOWN_GRACE, build_application
from bot.config import TelegramConfig
from bot.delivery import RetryPolicy
from retrieval.engine import Engine
from retrieval.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
BOT = "newsbot_limits_bot"
QUESTION = "who decides on negotiations"
PRIVATE = {"id": 42, "type": "private", "first_name": "Ann"}
GROUP = {"id": -100123, "type": "supergroup", "title": "Newsroom"}


def _user(n: int) -> dict[str, Any]:
    return {"id": 1000 + n, "is_bot": False, "first_name": f"U{n}"}


async def _app(engine: Engine, limiter: str) -> tuple[Any, FakeBotAPI]:
    api = FakeBotAPI(TOKEN, username=BOT)
    application = build_application(
        TelegramConfig(),
        engine,
        token=TOKEN,
        request=FakeRequest(api),
        rate_limiter=AIORateLimiter(max_retries=2) if limiter == "AIORateLimiter" else None,
    )
    application.bot_data.state.policy = RetryPolicy(first_delay=0.5)
    await application.initialize()
    return application, api


async def _feed(application: Any, api: FakeBotAPI, chat: dict[str, Any], user: dict[str, Any], text: str) -> None:
    message = api.message(chat, user, text)
    api.push("message", message)  # only to number the update
    update_id = api._next_update - 1
    await application.process_update(Update.de_json({"update_id": update_id, "message": message}, application.bot))


async def flood(engine: Engine, limiter: str) -> float:
    """Seconds a private chat waits for its answer while a group waits out a 20 s flood wait."""
    application, api = await _app(engine, limiter)
    api.fail("sendMessage", 429, retry_after=20, chat_id=GROUP["id"])
    group = asyncio.create_task(_feed(application, api, GROUP, _user(0), f"/ask {QUESTION}"))
    while not [c for c in api.called("sendMessage") if c.status == 429]:
        await asyncio.sleep(0.01)
    began = time.monotonic()
    await _feed(application, api, PRIVATE, _user(1), QUESTION)
    waited = time.monotonic() - began
    await group
    await application.shutdown()
    return waited


async def burst(engine: Engine, limiter: str, count: int = 15) -> float:
    """Seconds until the last of `count` /ask sent at once in one group is answered."""
    application, api = await _app(engine, limiter)
    began = time.monotonic()
    await asyncio.gather(*(_feed(application, api, GROUP, _user(n), f"/ask {QUESTION}") for n in range(count)))
    last = max(c.at for c in api.sent(GROUP["id"]))
    assert len(api.sent(GROUP["id"])) == count
    await application.shutdown()
    return last - began


async def stop(engine: Engine) -> float:
    """Seconds from the stop to everything ended, with a reply in its retry loop."""
    application, api = await _app(engine, "FloodControl")
    api.fail("sendMessage", 500, times=1000)
    await application.start()
    message = api.message(PRIVATE, _user(0), QUESTION)
    await application.update_queue.put(Update.de_json({"update_id": 1, "message": message}, application.bot))
    while len(api.called("sendMessage")) < 2:
        await asyncio.sleep(0.01)
    began = time.monotonic()
    await application.bot_data.state.outbox.close(SHUTDOWN_GRACE)
    await application.stop()
    await application.shutdown()
    return time.monotonic() - began


def main(argv: list[str] | None = None) -> int:
    """Run the three dialogs with each limiter and print the numbers."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bot_limits", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--limiters",
        nargs="+",
        choices=["FloodControl", "AIORateLimiter"],
        default=["FloodControl", "AIORateLimiter"],
        help="which rate limiters to time (default: both)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="  log: %(levelname)s %(name)s: %(message)s")
    logging.getLogger("telegram").setLevel(logging.CRITICAL)  # AIORateLimiter's own tracebacks
    with tempfile.TemporaryDirectory(prefix="newsbot-limits-") as work:
        engine = Engine.open(ROOT / "corpus", Path(work) / "index", Settings())
        for limiter in args.limiters:
            print(f"{limiter}:", flush=True)
            waited = asyncio.run(flood(engine, limiter))
            print(f"  flood: a private answer while a group waits out 20 s came after {waited:.2f} s", flush=True)
            last = asyncio.run(burst(engine, limiter))
            print(f"  burst: the last of 15 /ask in one group was answered after {last:.2f} s", flush=True)
        print("stop:", flush=True)
        took = asyncio.run(stop(engine))
        print(f"  stopping with a reply in its retry loop took {took:.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
