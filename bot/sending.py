"""Putting replies into chats: sending, editing, keyboards, button answers, chat actions.

The handlers (`bot.handlers`) decide what to say; these helpers say it through `bot.delivery`
(retries only where Telegram cannot have taken the message) and fall back to plain text if
Telegram ever refuses the HTML. Keyboards carry short page ids (`bot.state.Pages`) and shrink as
their buttons are used: a pressed More or Context disappears, an article link stays.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MaybeInaccessibleMessage, Message, Update
from telegram.constants import ChatAction, InlineKeyboardButtonLimit
from telegram.error import BadRequest, TelegramError

from bot import format as fmt
from bot.delivery import RetryPolicy, deliver
from bot.messages import is_group
from bot.state import BotState, NewsContext, Page
from retrieval.models import Answer

__all__ = [
    "QUICK",
    "acknowledge",
    "answer_keyboard",
    "edit_reply",
    "forget_buttons",
    "reply",
    "respond",
    "say_sorry",
    "send_below",
    "send_html",
    "set_keyboard",
    "show_typing",
    "while_typing",
]

_LOGGER = logging.getLogger(__name__)

# How long a reply waits for the "typing…" action before it goes anyway.
TYPING_WAIT = 2.0
T = TypeVar("T")

# Button presses and inline queries expire within seconds: retry them briefly, if at all.
QUICK = RetryPolicy(tries=3, first_delay=0.2, max_delay=1.0, max_retry_after=5.0)


async def send_html(send: Callable[..., Awaitable[Message]], text: str, state: BotState, **kwargs: Any) -> Message:
    """Send HTML text with retries; if Telegram cannot parse it after all, send it as plain text."""
    try:
        return await deliver(lambda: send(text, **kwargs), policy=state.policy, what="reply", outbox=state.outbox)
    except BadRequest as error:
        if "parse" not in str(error).lower():
            raise
        # Every reply is built escaped and balanced; this is a last resort so a question never
        # goes unanswered because of a formatting bug.
        _LOGGER.warning("Telegram could not parse a reply (%s); sending it as plain text", error)
        plain = fmt.html_to_plain(text)
        return await deliver(
            lambda: send(plain, parse_mode=None, **kwargs), policy=state.policy, what="reply", outbox=state.outbox
        )


async def reply(
    message: Message,
    texts: Sequence[str],
    state: BotState,
    *,
    quote: bool = False,
    markup: InlineKeyboardMarkup | None = None,
) -> list[Message]:
    """Send texts in order to `message`'s chat (quoting it if asked), the buttons under the last."""
    sent = []
    for position, text in enumerate(texts):
        last = position == len(texts) - 1
        sent.append(
            await send_html(
                message.reply_text, text, state, do_quote=quote and position == 0, reply_markup=markup if last else None
            )
        )
    return sent


async def edit_reply(
    chat_id: int, message_id: int, texts: Sequence[str], state: BotState, markup: InlineKeyboardMarkup | None, bot: Any
) -> None:
    """Put `texts` in place of the bot's earlier reply: the first edits it, the rest follow it."""
    first, *rest = texts
    try:
        await send_html(
            bot.edit_message_text,
            first,
            state,
            chat_id=chat_id,
            message_id=message_id,
            reply_markup=markup if not rest else None,
        )
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise
    for position, text in enumerate(rest):
        last = position == len(rest) - 1
        await send_html(bot.send_message, text, state, chat_id=chat_id, reply_markup=markup if last else None)


async def while_typing(message: Message, work: Awaitable[T]) -> T:
    """Show "typing…" in the message's chat while `work` runs, and return its result."""
    typing = asyncio.create_task(show_typing(message))
    try:
        return await work
    finally:
        # The action should reach the chat before the reply, but never hold it up for long.
        await asyncio.wait({typing}, timeout=TYPING_WAIT)
        typing.cancel()


async def show_typing(message: Message) -> None:
    """Show "typing…"; best effort, as a failure here must not stop the reply."""
    try:
        await message.reply_chat_action(ChatAction.TYPING)
    except (TelegramError, RuntimeError) as error:
        _LOGGER.debug("typing action failed: %s", error)


def answer_keyboard(state: BotState, page: Page, key: str | None = None) -> InlineKeyboardMarkup | None:
    """Return the buttons under an answer page: More and Context while unused, and the article."""
    key = key or state.pages.add(page)
    row = []
    if len(page.answer.sentences) > page.start + state.settings.sentences_per_reply and not page.more_sent:
        row.append(InlineKeyboardButton("More", callback_data=f"more:{key}"))
    if not page.context_sent:
        row.append(InlineKeyboardButton("Context", callback_data=f"ctx:{key}"))
    limit = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    assert all(len(str(button.callback_data).encode()) <= limit for button in row)
    link = _first_link(page.answer, page.start)
    if link:
        row.append(InlineKeyboardButton("Open article", url=link))
    return InlineKeyboardMarkup([row]) if row else None


def _first_link(answer: Answer, start: int) -> str:
    """The link to the page's first quoted article, opening it at the quote."""
    if start >= len(answer.sentences):
        return ""
    first = answer.sentences[start]
    return fmt.article_link(first.source.url, first.text)


async def set_keyboard(message: MaybeInaccessibleMessage, markup: InlineKeyboardMarkup | None) -> None:
    """Replace (or remove) the buttons under one of the bot's messages; best effort."""
    try:
        await deliver(
            lambda: message.get_bot().edit_message_reply_markup(
                chat_id=message.chat.id, message_id=message.message_id, reply_markup=markup
            ),
            policy=QUICK,
            what="keyboard update",
        )
    except TelegramError as error:
        _LOGGER.info("could not update a keyboard: %s", error)


async def acknowledge(update: Update, text: str | None = None) -> None:
    """Answer a button press; best effort, as an old press can no longer be answered."""
    query = update.callback_query
    assert query is not None
    try:
        await deliver(lambda: query.answer(text), policy=QUICK, what="button answer")
    except TelegramError as error:
        _LOGGER.info("could not answer a button press: %s", error)


async def respond(
    update: Update, context: NewsContext, texts: list[str], markup: InlineKeyboardMarkup | None = None
) -> None:
    """Reply to the update's message; to an edited message, edit the reply it got before."""
    message = update.effective_message
    assert message is not None
    state = context.state
    key = (message.chat.id, message.message_id)
    earlier = state.replies.get(key) if update.edited_message is not None else None
    if earlier is not None:
        await edit_reply(message.chat.id, earlier, texts, state, markup, context.bot)
        return
    sent = await reply(message, texts, state, quote=is_group(message), markup=markup)
    state.replies.put(key, sent[0].message_id)


async def send_below(
    update: Update, context: NewsContext, texts: list[str], markup: InlineKeyboardMarkup | None
) -> None:
    """Send texts to the chat of the message whose button was pressed."""
    query = update.callback_query
    assert query is not None and query.message is not None
    state = context.state
    if isinstance(query.message, Message):
        await reply(query.message, texts, state, markup=markup)
        return
    # A message too old to be read (InaccessibleMessage) still names its chat.
    for position, text in enumerate(texts):
        last = position == len(texts) - 1
        await send_html(
            context.bot.send_message, text, state, chat_id=query.message.chat.id, reply_markup=markup if last else None
        )


async def forget_buttons(update: Update) -> None:
    """Take the buttons off a message whose answer is gone."""
    query = update.callback_query
    assert query is not None
    if query.message is not None and isinstance(query.message, Message) and query.message.reply_markup:
        await set_keyboard(query.message, None)


async def say_sorry(update: Update, text: str) -> None:
    """Tell the asker something failed (a button press gets it as its answer); best effort."""
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text)
        elif update.effective_message is not None and update.inline_query is None:
            await update.effective_message.reply_text(text)
    except TelegramError as failure:
        _LOGGER.warning("Could not tell the asker about the error: %s", failure)
