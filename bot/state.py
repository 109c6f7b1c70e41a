"""What the bot's handlers share, typed: the engine, the settings, and what the bot remembers.

`bot.app.build_application` makes one `BotState` and keeps it in `bot_data`; handlers receive a
`NewsContext` (python-telegram-bot's `ContextTypes`) and read it as `context.state`. The engine is
anything that answers like `retrieval.engine.Engine` (`AnswerEngine`), so tests and benchmarks can
wrap it. Everything remembered is bounded: answers behind buttons, which reply answered which
question (so an edited question edits its answer), and the update ids already handled (so a
replayed webhook post is answered once).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.config import TelegramConfig
from bot.delivery import Outbox, RetryPolicy
from retrieval.models import Answer, Context, IndexStats, RefreshReport, Source

__all__ = [
    "CONTEXT_TYPES",
    "AnswerEngine",
    "BotData",
    "BotState",
    "NewsContext",
    "Page",
    "Pages",
    "QuestionLimiter",
    "Recent",
]


class AnswerEngine(Protocol):
    """What the bot needs of the answer engine (`retrieval.engine.Engine` is one)."""

    def answer(self, question: str, *, limit: int | None = None) -> Answer: ...

    def context(self, article_id: str, sentence: int) -> Context | None: ...

    def refresh(self) -> RefreshReport: ...

    def verify(self) -> bool: ...

    @property
    def stats(self) -> IndexStats: ...

    @property
    def articles(self) -> Sequence[Source]: ...


@dataclass
class Page:
    """An answer shown with buttons, which of its sentences that message shows, what was pressed."""

    answer: Answer
    start: int
    more_sent: bool = False
    context_sent: bool = False


K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """A bounded mapping that forgets its oldest entries, and entries older than `ttl` seconds."""

    def __init__(self, *, capacity: int, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self.clock = clock
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def put(self, key: K, value: V) -> None:
        """Remember `value` under `key`."""
        self._items[key] = (self.clock(), value)
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def get(self, key: K) -> V | None:
        """Return the value under `key`, or None when unknown or expired."""
        found = self._items.get(key)
        if found is None or self.clock() - found[0] > self.ttl:
            self._items.pop(key, None)
            return None
        return found[1]

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None  # type: ignore[arg-type]


class Pages:
    """Answers behind buttons, by short ids that fit in callback data; old ones expire."""

    def __init__(
        self, *, capacity: int = 4096, ttl: float = 24 * 3600, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pages: Recent[str, Page] = Recent(capacity=capacity, ttl=ttl, clock=clock)

    def add(self, page: Page) -> str:
        """Keep `page` and return its id."""
        key = secrets.token_urlsafe(6)
        self._pages.put(key, page)
        return key

    def get(self, key: str) -> Page | None:
        """Return the page with id `key`, or None when unknown or expired."""
        return self._pages.get(key)

    def pressed(self, data: str | None) -> tuple[Page, str] | None:
        """The page a button's data (`more:<key>`, `ctx:<key>`) names, with its key; None when gone."""
        _, _, key = (data or "").partition(":")
        page = self.get(key)
        return (page, key) if page is not None else None


class QuestionLimiter:
    """At most `per_minute` questions from a user in any 60 seconds; 0 means no limit."""

    WINDOW = 60.0

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._asked: dict[int, deque[float]] = {}
        self._told: dict[int, float] = {}

    def wait(self, user: int) -> float:
        """Count a question from `user`; return 0 if it may be answered, else seconds to wait."""
        if not self.per_minute:
            return 0.0
        now = self.clock()
        if len(self._asked) > 10_000:  # forget users quiet for a minute, so memory stays bounded
            for key in [k for k, v in self._asked.items() if not v or now - v[-1] > self.WINDOW]:
                del self._asked[key]
                self._told.pop(key, None)
        asked = self._asked.setdefault(user, deque())
        while asked and now - asked[0] >= self.WINDOW:
            asked.popleft()
        if len(asked) >= self.per_minute:
            return self.WINDOW - (now - asked[0])
        asked.append(now)
        self._told.pop(user, None)
        return 0.0

    def tell(self, user: int) -> bool:
        """Tell whether `user` should hear about the limit: once, not for every extra question."""
        if user in self._told:
            return False
        self._told[user] = self.clock()
        return True


@dataclass
class BotState:
    """Everything the handlers share."""

    engine: AnswerEngine
    settings: TelegramConfig
    stats: IndexStats
    examples: tuple[str, ...] = ()
    pages: Pages = field(default_factory=Pages)
    limiter: QuestionLimiter = field(default_factory=lambda: QuestionLimiter(0))
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    outbox: Outbox = field(default_factory=Outbox)
    # (chat id, question message id) → the bot's reply to it, so an edited question edits it.
    replies: Recent[tuple[int, int], int] = field(default_factory=lambda: Recent(capacity=20_000, ttl=48 * 3600))
    # Update ids handled lately: Telegram may post an update again, and it is answered once.
    seen: Recent[int, bool] = field(default_factory=lambda: Recent(capacity=20_000, ttl=24 * 3600))
    # Tasks that run as long as the bot (the corpus watcher), cancelled when it stops.
    background: list[asyncio.Task[None]] = field(default_factory=list)


class BotData:
    """The application's `bot_data`: the state, set once by `build_application`."""

    def __init__(self) -> None:
        self.state: BotState | None = None

    def require(self) -> BotState:
        """Return the state; an application not made by `bot.app.build_application` has none."""
        if self.state is None:
            raise RuntimeError("the application was not built by bot.app.build_application")
        return self.state


class NewsContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """The callback context of newsbot's handlers: python-telegram-bot's, plus `state`."""

    @property
    def state(self) -> BotState:
        """The bot's shared state."""
        return self.bot_data.require()


CONTEXT_TYPES = ContextTypes(context=NewsContext, bot_data=BotData)
