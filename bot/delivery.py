"""Sending that survives Telegram's bad moments: the bot's own retry loop around a send.

python-telegram-bot (measured on 22.8) retries getUpdates by itself, but a send that fails is
lost: a 429 RetryAfter (unless the rate limiter retries it), a 5xx or a dropped connection raises
into the handler and the reply never arrives. `deliver` retries such a send a bounded number of
times: it waits out RetryAfter as Telegram asks, and backs off exponentially on server and
network errors. Errors a retry cannot fix (a bad request, a bot blocked by the user) are raised
at once.

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

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest, RequestData
from telegram.warnings import PTBDeprecationWarning

__all__ = ["PollingRequest", "RetryPolicy", "deliver"]

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard `deliver` tries: attempts in all, and the backoff between failed ones."""

    # 0.5 + 1 + 2 + 4 + 8 + 15 + 15 s: a reply outlives about 45 s of Telegram's trouble.
    tries: int = 8
    first_delay: float = 0.5
    max_delay: float = 15.0
    # A RetryAfter longer than this is not waited out: by then the asker has given up.
    max_retry_after: float = 120.0

    def delay(self, attempt: int) -> float:
        """Return the pause after failed attempt number `attempt` (0-based): doubling, capped."""
        return min(self.first_delay * 2**attempt, self.max_delay)


def _retry_after(error: RetryAfter) -> float:
    # PTB 22 returns an int with a deprecation warning, or a timedelta when PTB_TIMEDELTA is set.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return float(value if isinstance(value, int | float) else value.total_seconds())


async def deliver(send: Callable[[], Awaitable[T]], *, policy: RetryPolicy = RetryPolicy(), what: str = "send") -> T:
    """Await `send()`, calling it again after a RetryAfter, a server or a network error."""
    for attempt in range(policy.tries):
        last = attempt == policy.tries - 1
        try:
            return await send()
        except RetryAfter as error:
            wait = _retry_after(error) + 0.1
            if last or wait > policy.max_retry_after:
                raise
            _LOGGER.warning("%s: flood control, retrying in %.1f s", what, wait)
        except BadRequest:
            raise  # a subclass of NetworkError, but the same request would fail again
        except NetworkError as error:  # includes TimedOut and 5xx answers
            if last:
                raise
            wait = policy.delay(attempt)
            _LOGGER.warning("%s failed (%s), retrying in %.1f s", what, error, wait)
        await asyncio.sleep(wait)
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
