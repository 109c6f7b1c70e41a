"""Outgoing rate limits the way Telegram counts them: per chat, per group, overall.

Every Bot API call of the bot passes through `FloodControl.process_request` (python-telegram-bot's
`BaseRateLimiter` seam) on its way out. It keeps Telegram's published limits (about 30 messages
a second overall, 20 a minute per group) and, unlike python-telegram-bot's `AIORateLimiter`,
which pauses every send while one chat waits out flood control, it holds back only the chat
Telegram named in a 429: other chats keep their pace.

Answers come first. A chat action ("typing…") is not a message, so it does not spend a group's
message budget, but it is skipped, never waited for, when the chat waits out flood control, when
half of this second's overall budget is used, or when the group has used half of its minute.
A send to a chat whose flood wait is longer than `max_wait` is not held at all: it raises
RetryAfter at once, and the caller gives it up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery import retry_after

__all__ = ["Budget", "FloodControl"]

_LOGGER = logging.getLogger(__name__)

# Telegram's limits: https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
MESSAGES_PER_SECOND = 30
GROUP_MESSAGES_PER_MINUTE = 20
# Calls that send or change a message in a chat, and so count against its limits.
_MESSAGES = {
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "sendPhoto",
    "sendDocument",
    "forwardMessage",
    "copyMessage",
}
_ACTION = "sendChatAction"


class Budget:
    """At most `limit` sends in any `period` seconds (a sliding window)."""

    def __init__(self, limit: int, period: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.period = period
        self.clock = clock
        self._sent: deque[float] = deque()

    def _prune(self, now: float) -> None:
        while self._sent and now - self._sent[0] >= self.period:
            self._sent.popleft()

    def free(self) -> int:
        """Return how many sends the window has room for now."""
        self._prune(self.clock())
        return self.limit - len(self._sent)

    def delay(self) -> float:
        """Return the seconds until one more send fits (0 if it fits now)."""
        now = self.clock()
        self._prune(now)
        if len(self._sent) < self.limit:
            return 0.0
        return self._sent[0] + self.period - now

    def take(self) -> None:
        """Count one send, now."""
        self._sent.append(self.clock())


def _is_group(chat: object) -> bool:
    """Group and channel ids are negative; a channel may also be named by its @username."""
    if isinstance(chat, int):
        return chat < 0
    return isinstance(chat, str) and (chat.startswith("-") or chat.startswith("@"))


class FloodControl(BaseRateLimiter[None]):
    """Per-chat flood waits, a per-group and an overall budget, answers before chat actions."""

    def __init__(
        self,
        *,
        per_second: int = MESSAGES_PER_SECOND,
        per_group_minute: int = GROUP_MESSAGES_PER_MINUTE,
        max_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.max_wait = max_wait
        self.per_group_minute = per_group_minute
        self.overall = Budget(per_second, 1.0, clock=clock)
        self._groups: dict[object, Budget] = {}
        self._blocked: dict[object, float] = {}
        # What the limits cost, for tests and the load benchmark: seconds messages waited for
        # a budget, and chat actions left out.
        self.waited = 0.0
        self.skipped_actions = 0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def blocked_for(self, chat: object) -> float:
        """Return the seconds `chat` still waits out Telegram's flood control (0 if none)."""
        until = self._blocked.get(str(chat))
        if until is None:
            return 0.0
        left = until - self.clock()
        if left <= 0:
            del self._blocked[str(chat)]
            return 0.0
        return left

    def _group(self, chat: object) -> Budget | None:
        if not _is_group(chat):
            return None
        budget = self._groups.get(str(chat))
        if budget is None:
            if len(self._groups) > 10_000:  # forget groups quiet for a minute
                self._groups = {k: v for k, v in self._groups.items() if v.free() < v.limit}
            budget = self._groups[str(chat)] = Budget(self.per_group_minute, 60.0, clock=self.clock)
        return budget

    def _action_fits(self, chat: object) -> bool:
        group = self._group(chat)
        if self.blocked_for(chat) or self.overall.free() * 2 <= self.overall.limit:
            return False
        return group is None or group.free() * 2 > group.limit

    async def _wait_for_budget(self, group: Budget | None) -> None:
        while True:
            wait = max(self.overall.delay(), group.delay() if group else 0.0)
            if wait <= 0:
                break
            self.waited += wait
            await self.sleep(wait)
        self.overall.take()
        if group is not None:
            group.take()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Send the request within the limits; remember a flood wait for its chat only."""
        chat = data.get("chat_id")
        if endpoint == _ACTION:
            if not self._action_fits(chat):
                self.skipped_actions += 1
                return True  # what sendChatAction returns: the action is only a courtesy
            self.overall.take()
        elif chat is not None:
            wait = self.blocked_for(chat)
            if wait > self.max_wait:
                raise RetryAfter(dt.timedelta(seconds=math.ceil(wait)))
            if wait:
                await self.sleep(wait)
            if endpoint in _MESSAGES:
                await self._wait_for_budget(self._group(chat))
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as error:
            key = str(chat) if chat is not None else "*"
            self._blocked[key] = max(self._blocked.get(key, 0.0), self.clock() + retry_after(error))
            raise
