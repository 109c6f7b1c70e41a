"""Telegram handlers: who is asking, what they asked, and the reply.

A handler reads the update, asks the engine off the event loop, formats the answer with
`bot.format` and sends it through `bot.delivery`, which retries what Telegram fails to take.
What the handlers share (the engine, the settings, answers waiting behind buttons, the
per-user question limit) is one `BotState` in `context.bot_data`, put there by
`bot.telegram.build_application`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import (
    ChatAction,
    ChatType,
    InlineKeyboardButtonLimit,
    InlineQueryLimit,
    ParseMode,
)
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes, filters

from bot import format as fmt
from bot.config import TelegramConfig
from bot.delivery import RetryPolicy, deliver
from retrieval.models import Answer, IndexStats

_LOGGER = logging.getLogger(__name__)

STATE_KEY = "newsbot"
# Answers are fetched a few pages deep at once, so that "More" needs no new search.
PAGES_FETCHED = 4
# Inline results shown for one query; Telegram allows InlineQueryLimit.RESULTS.
INLINE_RESULTS = 10
INLINE_CACHE_SECONDS = 60
# How long the reply waits for the "typing…" action before it goes anyway.
TYPING_WAIT = 2.0
# Button presses and inline queries expire within seconds: retry them briefly, if at all.
QUICK = RetryPolicy(tries=3, first_delay=0.2, max_delay=1.0, max_retry_after=5.0)

ASK_AGAIN = "That answer is no longer around (I may have restarted). Please ask again."
SORRY = "Sorry, something went wrong on my side. Please try again in a moment."
NOT_ALLOWED = "Sorry, I only answer in chats my operator has allowed."
HOW_TO_ASK = "Ask me a question, for example: <code>/ask who decides on negotiations</code>"
TEXT_ONLY = "I can only read text. Send me your question as a message."
UNKNOWN_COMMAND = "I don't know that command. See /help."


# -- shared state ------------------------------------------------------------------------


@dataclass
class Page:
    """An answer shown with buttons, and which of its sentences that message shows."""

    answer: Answer
    start: int
    more_sent: bool = False


class Pages:
    """Answers behind buttons, by short ids that fit in callback data; old ones expire."""

    def __init__(
        self,
        *,
        capacity: int = 4096,
        ttl: float = 24 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self.clock = clock
        self._pages: OrderedDict[str, tuple[float, Page]] = OrderedDict()

    def add(self, page: Page) -> str:
        """Keep `page` and return its id."""
        key = secrets.token_urlsafe(6)
        self._pages[key] = (self.clock(), page)
        while len(self._pages) > self.capacity:
            self._pages.popitem(last=False)
        return key

    def get(self, key: str) -> Page | None:
        """Return the page with id `key`, or None when unknown or expired."""
        found = self._pages.get(key)
        if found is None or self.clock() - found[0] > self.ttl:
            self._pages.pop(key, None)
            return None
        return found[1]


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
    """Everything the handlers share, kept in `bot_data[STATE_KEY]`."""

    engine: Any  # retrieval.engine.Engine: answer(), context()
    settings: TelegramConfig
    stats: IndexStats
    examples: tuple[str, ...] = ()
    pages: Pages = field(default_factory=Pages)
    limiter: QuestionLimiter = field(default_factory=lambda: QuestionLimiter(0))
    policy: RetryPolicy = field(default_factory=RetryPolicy)


def state_of(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    """Return the bot's shared state."""
    return context.bot_data[STATE_KEY]


_NAME = re.compile(r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*")


def _headline(title: str) -> str:
    """A headline without a short tag before a colon ("USA: Only Zelensky can…")."""
    title = " ".join(title.split())
    head, colon, rest = title.partition(": ")
    if colon and len(head.split()) <= 3 and rest:
        title = rest
    return title.rstrip(".!")


def _names(headline: str) -> list[str]:
    """Capitalised names in a headline, its capitalised first word left out."""
    names = []
    for found in _NAME.finditer(headline):
        words = found.group(0).split()
        if found.start() == 0:
            words = words[1:]
        if words:
            names.append(" ".join(words))
    return names


def example_questions(engine: Any, *, count: int = 3, tries: int = 20) -> tuple[str, ...]:
    """Pick questions the corpus answers: headlines of its newest articles, then names in them."""
    newest = sorted(engine.articles, key=lambda a: a.published, reverse=True)[:50]
    headlines = [_headline(a.title) for a in newest]
    candidates = [h for h in headlines if 2 <= len(h.split()) <= 12]
    # A corpus of one or two articles still deserves two or three examples.
    candidates += [f"What about {name}?" for h in headlines for name in _names(h)]
    chosen: list[str] = []
    for candidate in list(dict.fromkeys(candidates))[:tries]:
        if engine.answer(candidate, limit=1).answered:
            chosen.append(candidate)
        if len(chosen) == count:
            break
    return tuple(chosen)


# -- sending -----------------------------------------------------------------------------


async def _send(send: Callable[..., Awaitable[Message]], text: str, state: BotState, **kwargs: Any) -> Message:
    """Send HTML text with retries; if Telegram cannot parse it after all, send it as plain text."""
    try:
        return await deliver(lambda: send(text, **kwargs), policy=state.policy, what="reply")
    except BadRequest as error:
        if "parse" not in str(error).lower():
            raise
        # Every reply is built escaped and balanced; this is a last resort so a question never
        # goes unanswered because of a formatting bug.
        _LOGGER.warning("Telegram could not parse a reply (%s); sending it as plain text", error)
        plain = fmt.html_to_plain(text)
        return await deliver(lambda: send(plain, parse_mode=None, **kwargs), policy=state.policy, what="reply")


async def reply_messages(
    message: Message,
    texts: Sequence[str],
    state: BotState,
    *,
    quote: bool = False,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Send texts in order as replies to `message`'s chat, the buttons under the last one."""
    for position, text in enumerate(texts):
        last = position == len(texts) - 1
        await _send(
            message.reply_text,
            text,
            state,
            do_quote=quote and position == 0,
            reply_markup=markup if last else None,
        )


async def _typing(message: Message) -> None:
    """Show "typing…"; best effort, as a failure here must not stop the reply."""
    try:
        await message.reply_chat_action(ChatAction.TYPING)
    except (TelegramError, RuntimeError) as error:
        _LOGGER.debug("typing action failed: %s", error)


def _buttons(state: BotState, answer: Answer, start: int) -> InlineKeyboardMarkup:
    key = state.pages.add(Page(answer, start))
    row = []
    if len(answer.sentences) > start + state.settings.sentences_per_reply:
        row.append(InlineKeyboardButton("More", callback_data=f"more:{key}"))
    row.append(InlineKeyboardButton("Context", callback_data=f"ctx:{key}"))
    limit = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    assert all(len(str(button.callback_data).encode()) <= limit for button in row)
    return InlineKeyboardMarkup([row])


# -- questions ---------------------------------------------------------------------------


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    """Answer `question`, asked in `update`'s message: quotes with buttons, or an honest no."""
    message = update.effective_message
    assert message is not None
    state = state_of(context)
    group = message.chat.type != ChatType.PRIVATE
    question = question.strip()
    if not question:
        await _send(message.reply_text, HOW_TO_ASK, state, do_quote=group)
        return
    user = update.effective_user
    if user is not None and user.id not in state.settings.admins:
        wait = state.limiter.wait(user.id)
        if wait:
            if state.limiter.tell(user.id):
                note = (
                    "You are asking faster than I can keep up with. "
                    f"Please wait {max(1, round(wait))} seconds and ask again."
                )
                await _send(message.reply_text, note, state, do_quote=group)
            return
    typing = asyncio.create_task(_typing(message))
    count = state.settings.sentences_per_reply
    started = time.perf_counter()
    try:
        answer = await asyncio.to_thread(state.engine.answer, question, limit=count * PAGES_FETCHED)
    finally:
        # The action should reach the chat before the reply, but never hold it up for long.
        await asyncio.wait({typing}, timeout=TYPING_WAIT)
        typing.cancel()
    _LOGGER.info(
        "chat %s: %d sentences in %.0f ms",
        message.chat.id,
        len(answer.sentences),
        (time.perf_counter() - started) * 1000,
    )
    if not answer.answered:
        await _send(message.reply_text, fmt.format_no_answer(state.stats), state, do_quote=group)
        return
    texts = fmt.format_answer(answer, start=0, count=count)
    await reply_messages(message, texts, state, quote=group, markup=_buttons(state, answer, 0))


async def private_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a private chat every text message is a question."""
    assert update.effective_message is not None
    await answer_question(update, context, update.effective_message.text or "")


def _mention(username: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w@])@{re.escape(username)}(?!\w)", re.IGNORECASE)


def _mentions(text: str, username: str) -> bool:
    return bool(_mention(username).search(text))


def _without_mentions(text: str, username: str) -> str:
    return _mention(username).sub(" ", text)


async def group_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a group, a message that mentions the bot or replies to it is a question."""
    message = update.effective_message
    assert message is not None
    username = context.bot.username
    await answer_question(update, context, _without_mentions(message.text or "", username))


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask question; a bare /ask in reply to a message asks that message's text."""
    message = update.effective_message
    assert message is not None
    parts = (message.text or "").split(None, 1)
    question = parts[1] if len(parts) > 1 else ""
    replied = message.reply_to_message
    if not question.strip() and replied is not None and replied.text:
        question = replied.text
    await answer_question(update, context, _without_mentions(question, context.bot.username))


class AddressedToBot(filters.MessageFilter):
    """Group messages meant for the bot: a mention of it, or a reply to one of its messages."""

    def filter(self, message: Message) -> bool:
        bot = message.get_bot()
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
            return True
        for entity in message.parse_entities([MessageEntity.TEXT_MENTION]):
            if entity.user is not None and entity.user.id == bot.id:
                return True
        # Read the text rather than the mention entities, which a bridge or client may omit.
        return _mentions(message.text or "", bot.username)


async def typed_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command that came without its bot_command entity (some bridges drop them)."""
    message = update.effective_message
    assert message is not None and message.text is not None
    name, _, target = message.text.split(None, 1)[0][1:].partition("@")
    if target and target.casefold() != context.bot.username.casefold():
        return  # /ask@SomeOtherBot is for some other bot
    handler = COMMANDS.get(name.casefold())
    if handler is not None:
        await handler(update, context)
    elif message.chat.type == ChatType.PRIVATE:
        await unknown_command(update, context)


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a private chat, say that only text questions are read."""
    assert update.effective_message is not None
    await _send(update.effective_message.reply_text, TEXT_ONLY, state_of(context))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a private chat, point an unknown command to /help."""
    assert update.effective_message is not None
    await _send(update.effective_message.reply_text, UNKNOWN_COMMAND, state_of(context))


# -- commands ----------------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: what the bot does, and questions to try."""
    state = state_of(context)
    text = fmt.format_start(state.examples, articles=state.stats.articles, username=context.bot.username)
    assert update.effective_message is not None
    await reply_messages(update.effective_message, [text], state)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: how to ask in each kind of chat."""
    assert update.effective_message is not None
    text = fmt.format_help(username=context.bot.username)
    await reply_messages(update.effective_message, [text], state_of(context))


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/sources: how many articles, which outlets, what dates."""
    state = state_of(context)
    assert update.effective_message is not None
    await reply_messages(update.effective_message, fmt.format_sources(state.stats), state)


async def about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/about: how the bot works."""
    state = state_of(context)
    assert update.effective_message is not None
    await reply_messages(update.effective_message, [fmt.format_about(state.stats)], state)


COMMANDS: dict[str, Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]] = {
    "start": start,
    "help": help_command,
    "ask": ask,
    "sources": sources,
    "about": about,
}


# -- buttons -----------------------------------------------------------------------------


async def _acknowledge(update: Update, text: str | None = None) -> None:
    """Answer a button press; best effort, as an old press can no longer be answered."""
    query = update.callback_query
    assert query is not None
    try:
        await deliver(lambda: query.answer(text), policy=QUICK, what="button answer")
    except TelegramError as error:
        _LOGGER.info("could not answer a button press: %s", error)


def _pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Page | None:
    query = update.callback_query
    assert query is not None
    _, _, key = (query.data or "").partition(":")
    if query.message is None:
        return None
    return state_of(context).pages.get(key)


async def _send_to(update: Update, texts: Sequence[str], state: BotState, **kwargs: Any) -> None:
    """Send texts to the chat of the message whose button was pressed."""
    query = update.callback_query
    assert query is not None and query.message is not None
    if isinstance(query.message, Message):
        await reply_messages(query.message, texts, state, **kwargs)
        return
    # A message too old to be read (InaccessibleMessage) still names its chat.
    bot = query.get_bot()
    for position, text in enumerate(texts):
        markup = kwargs.get("markup") if position == len(texts) - 1 else None
        chat_id = query.message.chat.id
        await _send(bot.send_message, text, state, chat_id=chat_id, reply_markup=markup)


async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The More button: the next sentences of the answer, in a new message."""
    page = _pressed(update, context)
    if page is None:
        await _acknowledge(update, ASK_AGAIN)
        return
    state = state_of(context)
    count = state.settings.sentences_per_reply
    start_at = page.start + count
    if start_at >= len(page.answer.sentences):
        await _acknowledge(update, "That is all I found.")
        return
    if page.more_sent:
        await _acknowledge(update, "Already shown below.")
        return
    page.more_sent = True
    await _acknowledge(update)
    texts = fmt.format_answer(page.answer, start=start_at, count=count)
    await _send_to(update, texts, state, markup=_buttons(state, page.answer, start_at))


async def show_context(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The Context button: the passage around the first sentence the message quoted."""
    page = _pressed(update, context)
    if page is None:
        await _acknowledge(update, ASK_AGAIN)
        return
    state = state_of(context)
    quoted = page.answer.sentences[page.start]
    found = await asyncio.to_thread(state.engine.context, quoted.source.article_id, quoted.sentence)
    if found is None:
        await _acknowledge(update, "That article is no longer in my corpus. Please ask again.")
        return
    await _acknowledge(update)
    await _send_to(update, fmt.format_context(found), state)


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other button press (from an older version of the bot, or forged): ask again."""
    await _acknowledge(update, ASK_AGAIN)


# -- inline mode -------------------------------------------------------------------------


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@bot question in any chat: the answer sentences as results, each with its source."""
    query = update.inline_query
    assert query is not None
    state = state_of(context)
    question = query.query.strip()
    results: list[InlineQueryResultArticle] = []
    if question:
        answer = await asyncio.to_thread(state.engine.answer, question, limit=INLINE_RESULTS)
        for position, sentence in enumerate(answer.sentences[: InlineQueryLimit.RESULTS]):
            results.append(
                InlineQueryResultArticle(
                    id=str(position),
                    title=fmt.preview(sentence.text, 120) or "…",
                    description=fmt.preview(fmt.format_source_plain(sentence.source), 120),
                    input_message_content=InputTextMessageContent(
                        fmt.format_sentence(sentence),
                        parse_mode=ParseMode.HTML,
                        link_preview_options=LinkPreviewOptions(is_disabled=True),
                    ),
                )
            )
    try:
        await deliver(
            lambda: query.answer(results, cache_time=INLINE_CACHE_SECONDS),
            policy=QUICK,
            what="inline answer",
        )
    except BadRequest as error:
        # Inline queries expire within seconds; a late answer is simply not wanted any more.
        _LOGGER.info("inline answer not taken: %s", error)


# -- who may ask, and what went wrong ----------------------------------------------------


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop updates from chats outside the allow-list (admins are always let through)."""
    settings = state_of(context).settings
    if not settings.allowed_chats:
        return
    chat, user = update.effective_chat, update.effective_user
    if user is not None and user.id in settings.admins:
        return
    if chat is not None and chat.id in settings.allowed_chats:
        return
    if chat is None and user is not None and user.id in settings.allowed_chats:
        return  # inline queries carry no chat: the asker's own id stands for it
    if update.callback_query is not None:
        await _acknowledge(update, NOT_ALLOWED)
    elif chat is not None and chat.type == ChatType.PRIVATE and update.message is not None:
        with contextlib.suppress(TelegramError):
            await update.message.reply_text(NOT_ALLOWED)
    raise ApplicationHandlerStop


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error with its traceback and tell the asker, briefly, that it went wrong."""
    error = context.error
    if not isinstance(update, Update):
        if isinstance(error, NetworkError):
            _LOGGER.warning("Telegram could not be reached: %s", error)
        else:
            _LOGGER.error("Error outside of an update", exc_info=error)
        return
    chat = update.effective_chat
    _LOGGER.error("Update %s (chat %s) failed", update.update_id, chat.id if chat else None, exc_info=error)
    if isinstance(error, Forbidden):
        return  # blocked or removed from the chat: there is nobody to tell
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(SORRY)
        elif update.effective_message is not None and update.inline_query is None:
            await update.effective_message.reply_text(SORRY)
    except TelegramError as failure:
        _LOGGER.warning("Could not tell the asker about the error: %s", failure)
