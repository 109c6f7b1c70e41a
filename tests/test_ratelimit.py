"""Tests for the outgoing rate limits, on a clock that only moves when the limiter sleeps."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.delivery import retry_after
from bot.ratelimit import Budget, FloodControl

pytestmark = pytest.mark.anyio

GROUP = -100123
PRIVATE = 42


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    """Time that passes only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(clock: Clock, **kwargs: Any) -> FloodControl:
    return FloodControl(clock=clock, sleep=clock.sleep, **kwargs)


async def send(control: FloodControl, endpoint: str, chat: object, answer: Any = True) -> Any:
    async def call() -> Any:
        if isinstance(answer, Exception):
            raise answer
        return answer

    return await control.process_request(call, (), {}, endpoint, {"chat_id": chat}, None)


def test_a_budget_counts_a_sliding_window() -> None:
    clock = Clock()
    budget = Budget(2, 60.0, clock=clock)
    budget.take()
    clock.now += 30
    budget.take()
    assert (budget.free(), budget.delay()) == (0, 30.0)
    clock.now += 30
    assert (budget.free(), budget.delay()) == (1, 0.0)


async def test_a_group_gets_twenty_messages_a_minute_and_then_waits() -> None:
    clock = Clock()
    control = limiter(clock)
    for _ in range(20):
        await send(control, "sendMessage", GROUP)
    assert clock.slept == []
    await send(control, "sendMessage", GROUP)
    assert clock.slept == [60.0] and control.waited == 60.0


async def test_private_chats_share_only_the_overall_thirty_a_second() -> None:
    clock = Clock()
    control = limiter(clock)
    for chat in range(1, 31):
        await send(control, "sendMessage", chat)
    assert clock.slept == []
    await send(control, "sendMessage", 31)
    assert clock.slept == [1.0]


async def test_chat_actions_spend_no_group_budget_and_are_skipped_when_it_runs_short() -> None:
    clock = Clock()
    control = limiter(clock)
    for _ in range(5):
        await send(control, "sendChatAction", GROUP)
    for _ in range(10):
        await send(control, "sendMessage", GROUP)
    assert control.skipped_actions == 0
    await send(control, "sendChatAction", GROUP)  # half of the group's minute is used
    assert control.skipped_actions == 1
    for _ in range(10):
        await send(control, "sendMessage", GROUP)
    assert clock.slept == []  # twenty answers in the minute, chat actions or not


async def test_a_flood_wait_holds_back_only_its_own_chat() -> None:
    clock = Clock()
    control = limiter(clock)
    with pytest.raises(RetryAfter):
        await send(control, "sendMessage", GROUP, RetryAfter(dt.timedelta(seconds=20)))
    assert control.blocked_for(GROUP) == 20.0 and control.blocked_for(PRIVATE) == 0.0
    await send(control, "sendMessage", PRIVATE)
    assert clock.slept == []
    assert await send(control, "sendChatAction", GROUP) is True  # skipped, not waited for
    assert control.skipped_actions == 1 and clock.slept == []
    await send(control, "sendMessage", GROUP)
    assert clock.slept == [20.0]


async def test_a_flood_wait_beyond_the_cap_is_not_waited_out() -> None:
    clock = Clock()
    control = limiter(clock, max_wait=60.0)
    with pytest.raises(RetryAfter):
        await send(control, "sendMessage", GROUP, RetryAfter(dt.timedelta(seconds=125)))
    with pytest.raises(RetryAfter) as raised:
        await send(control, "sendMessage", GROUP)
    assert retry_after(raised.value) == 125.0 and clock.slept == []
