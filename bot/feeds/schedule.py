"""The running bot's feed loop: fetch at start, then every `fetch.every_seconds`, off the event loop.

Each fetch runs `fetch_feeds` in a worker thread (the same code as `newsbot fetch`), logs one
line per feed that failed, and when anything was stored calls `on_change` (the bot's corpus
refresh), so new articles are answerable as soon as they are kept.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable

from bot.config import Config
from bot.feeds.errors import FetchStopped
from bot.feeds.fetch import FetchReport, fetch_feeds

__all__ = ["fetch_forever"]

_LOGGER = logging.getLogger(__name__)


def _log(report: FetchReport) -> None:
    for feed in report.feeds:
        if feed.error:
            _LOGGER.warning("Feed %s: %s", feed.url, feed.error)
    new = sum(f.new for f in report.feeds)
    updated = sum(f.updated for f in report.feeds)
    merged = sum(f.merged for f in report.feeds)
    read = sum(f.read for f in report.feeds)
    _LOGGER.info(
        "Fetched %d of %d feeds: %d new, %d updated, %d named beside another outlet's copy",
        read, len(report.feeds), new, updated, merged,
    )  # fmt: skip


async def fetch_forever(config: Config, on_change: Callable[[], Awaitable[object]]) -> None:
    """Fetch every feed now and then every `config.fetch.every_seconds`, until cancelled."""
    every = config.fetch.every_seconds
    stop = threading.Event()
    try:
        while True:
            try:
                report = await asyncio.to_thread(fetch_feeds, config, stop=stop)
                _log(report)
                if report.changed:
                    await on_change()
            except FetchStopped:
                return
            except Exception:  # a bad fetch must not end the loop; the next one may succeed
                _LOGGER.exception("Fetching the feeds failed; trying again in %s s", every)
            await asyncio.sleep(every)
    finally:
        # Cancelling this task does not stop the worker thread; the flag does, so shutdown is quick.
        stop.set()
