"""Sending that survives Telegram's bad moments, without sending anything twice or for ever.

python-telegram-bot (measured on 22.8) retries getUpdates by itself, but a send that fails is
lost: a 429 RetryAfter, a 5xx or a dropped connection raises into the handler and the reply never
arrives. `deliver` retries such a send a bounded number of times, but only when Telegram cannot
have taken it: a RetryAfter or a 5xx answer (Telegram said no), a connection that could not be
opened, a request that could not be written, or a connection closed before any answer (what a
stale keep-alive connection does). A send whose answer timed out or broke off while being read
may have reached Telegram, so it is not repeated: with `SEND_TIMEOUT` well above what a slow
Telegram takes, that is rare, and a duplicate is worse than a reply logged as possibly lost.
RetryAfter is waited out only up to `RetryPolicy.max_retry_after`; past it the send gives up.

`Outbox` is how the bot stops on time: it knows the updates being answered, wakes every retry
pause when the bot stops (`ShuttingDown`), and cancels what is still running after a grace
period, logging each update left unanswered.

Receiving has its own weak spot: after a failed getUpdates, python-telegram-bot sleeps with a
backoff that grows to 30 s and that nothing interrupts, so a bot stopped during an outage takes
that long to exit, and one whose Telegram has recovered may wait that long to poll again.
`PollingRequest` retries a failed long poll itself, with a short capped backoff that is
cancelled the moment polling stops.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest, RequestData
from telegram.warnings import PTBDeprecationWarning

from bot.errors import ShuttingDown

__all__ = ["SEND_TIMEOUT", "Outbox", "PollingRequest", "RetryPolicy", "deliver", "may_have_arrived", "retry_after"]

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds to wait for Telegram's answer to a send. Telegram answers in well under a second, and
# in a bad minute in several; a send is not repeated once it may have arrived, so this is long.
SEND_TIMEOUT = 30.0
# httpx errors after which the request cannot have been taken: it was never sent whole, or the
# server closed the connection without reading it (a keep-alive connection it had dropped).
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError, httpx.WriteTimeout,
             httpx.RemoteProtocolError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard `deliver` tries: attempts in all, and the backoff between failed ones."""

    # 0.5 + 1 + 2 + 4 + 8 + 15 + 15 s: a reply outlives about 45 s of Telegram's trouble.
    tries: int = 8
    first_delay: float = 0.5
    max_delay: float = 15.0
    # A RetryAfter longer than this is not waited out: by then the asker has given up.
    max_retry_after: float = 60.0

    def delay(self, attempt: int) -> float:
        """Return the pause after failed attempt number `attempt` (0-based): doubling, capped."""
        return min(self.first_delay * 2**attempt, self.max_delay)


def retry_after(error: RetryAfter) -> float:
    """Return the seconds a RetryAfter asks to wait."""
    # PTB 22 returns an int with a deprecation warning, or a timedelta when PTB_TIMEDELTA is set.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return float(value if isinstance(value, int | float) else value.total_seconds())


def may_have_arrived(error: NetworkError) -> bool:
    """Tell whether a failed send may still have reached Telegram (so must not be repeated)."""
    cause = error.__cause__
    if cause is None:
        return False  # Telegram answered with an error status: it did not take the request
    return not isinstance(cause, _NOT_SENT)


class Outbox:
    """The updates being answered, so that stopping the bot ends them on time and says which."""

    def __init__(self) -> None:
        self.closing = asyncio.Event()
        self._running: dict[asyncio.Task[Any], str] = {}

    def track(self, what: str) -> None:
        """Count the current task as answering `what` until it ends."""
        task = asyncio.current_task()
        if task is None or task in self._running:
            return
        self._running[task] = what
        task.add_done_callback(lambda done: self._running.pop(done, None))

    async def pause(self, seconds: float) -> None:
        """Sleep `seconds`, or raise ShuttingDown as soon as the bot stops."""
        if self.closing.is_set():
            raise ShuttingDown
        try:
            await asyncio.wait_for(self.closing.wait(), seconds)
        except TimeoutError:
            return
        raise ShuttingDown

    async def close(self, grace: float) -> list[str]:
        """Stop retrying; give running answers `grace` seconds, cancel the rest; return those."""
        self.closing.set()
        running = [task for task in self._running if task is not asyncio.current_task()]
        if running:
            await asyncio.wait(running, timeout=grace)
        left = [(task, what) for task, what in self._running.items() if not task.done()]
        for task, what in left:
            task.cancel()
            _LOGGER.warning("Stopping: %s was not answered (or its answer was still on its way)", what)
        if left:
            await asyncio.wait([task for task, _ in left], timeout=1.0)
        return [what for _, what in left]


async def deliver(
    send: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy = RetryPolicy(),
    what: str = "send",
    outbox: Outbox | None = None,
) -> T:
    """Await `send()`, calling it again while Telegram surely did not take it; see the module."""
    for attempt in range(policy.tries):
        last = attempt == policy.tries - 1
        try:
            return await send()
        except RetryAfter as error:
            wait = retry_after(error) + 0.1
            if last or wait > policy.max_retry_after:
                raise
            _LOGGER.warning("%s: flood control, retrying in %.1f s", what, wait)
        except BadRequest:
            raise  # a subclass of NetworkError, but the same request would fail again
        except NetworkError as error:  # includes TimedOut and 5xx answers
            if last or may_have_arrived(error):
                raise
            wait = policy.delay(attempt)
            _LOGGER.warning("%s failed (%s), retrying in %.1f s", what, error, wait)
        if outbox is None:
            await asyncio.sleep(wait)
        else:
            await outbox.pause(wait)
    raise AssertionError("unreachable: the last attempt returns or raises")


# Polling never gives up (`tries` is not used): it waits at most max_delay between long polls.
POLLING = RetryPolicy(first_delay=0.5, max_delay=5.0)


class PollingRequest(HTTPXRequest):
    """The request getUpdates goes through: a failed long poll is retried here, never for long."""

    def __init__(self, *, policy: RetryPolicy = POLLING, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = policy

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Make the request; while a long poll meets a 5xx or a network error, wait and repeat."""
        # Only long polls (timeout > 0) are retried: the one-off getUpdates PTB makes while
        # shutting down must fail fast, or a bot stopped during an outage would never exit.
        long_poll = bool(request_data and request_data.parameters.get("timeout"))
        attempt = 0
        while True:
            try:
                code, payload = await super().do_request(
                    url,
                    method,
                    request_data,
                    read_timeout,
                    write_timeout,
                    connect_timeout,
                    pool_timeout,
                )
                if not long_poll or code < 500:
                    return code, payload
                problem = f"HTTP {code}"
            except TimedOut:
                raise  # python-telegram-bot polls again at once
            except NetworkError as error:
                if not long_poll:
                    raise
                problem = str(error)
            wait = self.policy.delay(attempt)
            attempt += 1
            _LOGGER.warning("Polling failed (%s), polling again in %.1f s", problem, wait)
            await asyncio.sleep(wait)
