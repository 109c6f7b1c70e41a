"""Telegram handlers: who is asking, what they asked, and the reply.

The last step of the flow for the bot (question → `Engine.answer` → reply): a handler reads the
update (`bot.messages`), asks the engine off the event loop, formats the answer with
`bot.format` and replies with `bot.sending`. What the handlers share is `context.state`
(`bot.state.BotState`); `bot.app.build_application` registers them in this order: `admit`
(a replayed update is dropped; the update is tracked so that stopping the bot can end it),
`gate` (the allow-list), then the commands, questions, buttons and inline queries.
An edited question is answered again by editing the earlier reply; a caption is read as text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import InlineQueryResultArticle, MaybeInaccessibleMessage, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot import format as fmt
from bot import messages
from bot.delivery import deliver
from bot.logs import log_fault
from bot.sending import (
    QUICK,
    acknowledge,
    answer_keyboard,
    forget_buttons,
    respond,
    say_sorry,
    send_below,
    send_html,
    set_keyboard,
    while_typing,
)
from bot.state import NewsContext, Page

_LOGGER = logging.getLogger(__name__)

# Answers are fetched a few pages deep at once, so that "More" needs no new search.
PAGES_FETCHED = 4
# Inline results shown for one query; Telegram allows InlineQueryLimit.RESULTS.
INLINE_RESULTS = 10
INLINE_CACHE_SECONDS = 60

ASK_AGAIN = "That answer is no longer around (I may have restarted). Please ask again."
SORRY = "Sorry, something went wrong on my side. Please try again in a moment."
NOT_ALLOWED = "Sorry, I only answer in chats my operator has allowed."
HOW_TO_ASK = "Ask me a question, for example: <code>/ask who decides on negotiations</code>"
TEXT_ONLY = "I can only read text. Send me your question as a message, or as a photo's caption."
UNKNOWN_COMMAND = "I don't know that command. See /help."
ALREADY_SHOWN = "Already shown below."

Handler = Callable[[Update, NewsContext], Coroutine[Any, Any, None]]


# -- questions ---------------------------------------------------------------------------


async def answer_question(update: Update, context: NewsContext, question: str) -> None:
    """Answer `question`, asked in `update`'s message: quotes with buttons, or an honest no."""
    message = update.effective_message
    assert message is not None
    state = context.state
    if not question.strip():
        await respond(update, context, [HOW_TO_ASK])
        return
    if await _over_limit(update, context):
        return
    count, started = state.settings.sentences_per_reply, time.perf_counter()
    work = asyncio.to_thread(state.engine.answer, question.strip(), limit=count * PAGES_FETCHED)
    answer = await while_typing(message, work)
    took = (time.perf_counter() - started) * 1000
    _LOGGER.info("chat %s: %d sentences in %.0f ms", message.chat.id, len(answer.sentences), took)
    if answer.error:  # the index failed a check; it is rebuilt at the next refresh
        await respond(update, context, [SORRY])
    elif not answer.answered:
        await respond(update, context, [fmt.format_no_answer(state.stats, answer)])
    else:
        texts = fmt.format_answer(answer, start=0, count=count)
        await respond(update, context, texts, answer_keyboard(state, Page(answer, 0)))


async def _over_limit(update: Update, context: NewsContext) -> bool:
    """Whether the asker (never an admin) asks too fast; they are told once, with how long to wait."""
    user, state = update.effective_user, context.state
    if user is None or user.id in state.settings.admins:
        return False
    wait = state.limiter.wait(user.id)
    if wait and state.limiter.tell(user.id):
        assert update.effective_message is not None
        message = update.effective_message
        await send_html(message.reply_text, fmt.format_too_fast(wait), state, do_quote=messages.is_group(message))
    return bool(wait)


async def private_question(update: Update, context: NewsContext) -> None:
    """In a private chat every text message, or caption, is a question."""
    assert update.effective_message is not None
    await answer_question(update, context, messages.text_of(update.effective_message))


async def group_question(update: Update, context: NewsContext) -> None:
    """In a group, a message that mentions the bot or replies to it is a question."""
    message = update.effective_message
    assert message is not None
    await answer_question(update, context, messages.without_mentions(messages.text_of(message), context.bot.username))


async def ask(update: Update, context: NewsContext) -> None:
    """/ask question; a bare /ask in reply to a message asks that message's text."""
    assert update.effective_message is not None
    await answer_question(update, context, messages.asked_by_command(update.effective_message, context.bot.username))


async def typed_command(update: Update, context: NewsContext) -> None:
    """A command without its bot_command entity (some bridges drop them), or in a caption."""
    message = update.effective_message
    assert message is not None
    name = messages.typed_command(message, context.bot.username)
    if name is None:
        return
    handler = COMMANDS.get(name)
    if handler is not None and (update.edited_message is None or handler is ask):
        await handler(update, context)
    elif handler is None and message.chat.type == ChatType.PRIVATE:
        await unknown_command(update, context)


async def non_text(update: Update, context: NewsContext) -> None:
    """In a private chat, say that only text questions are read."""
    assert update.effective_message is not None
    await send_html(update.effective_message.reply_text, TEXT_ONLY, context.state)


async def unknown_command(update: Update, context: NewsContext) -> None:
    """In a private chat, point an unknown command to /help."""
    assert update.effective_message is not None
    await send_html(update.effective_message.reply_text, UNKNOWN_COMMAND, context.state)


# -- commands ----------------------------------------------------------------------------


async def start(update: Update, context: NewsContext) -> None:
    """/start: what the bot does, and questions to try (as /ask commands in a group)."""
    state = context.state
    assert update.effective_message is not None
    text = fmt.format_start(
        state.examples,
        articles=state.stats.articles,
        username=context.bot.username,
        group=messages.is_group(update.effective_message),
    )
    await respond(update, context, [text])


async def help_command(update: Update, context: NewsContext) -> None:
    """/help: how to ask here, and elsewhere."""
    assert update.effective_message is not None
    text = fmt.format_help(username=context.bot.username, group=messages.is_group(update.effective_message))
    await respond(update, context, [text])


async def sources(update: Update, context: NewsContext) -> None:
    """/sources: how many articles, which outlets, what dates."""
    await respond(update, context, fmt.format_sources(context.state.stats))


async def about(update: Update, context: NewsContext) -> None:
    """/about: how the bot works."""
    await respond(update, context, [fmt.format_about(context.state.stats)])


async def added_to_group(update: Update, context: NewsContext) -> None:
    """A short introduction when someone adds the bot to a group."""
    message = update.effective_message
    assert message is not None
    if any(member.id == context.bot.id for member in message.new_chat_members or ()):
        text = fmt.format_group_intro(articles=context.state.stats.articles, username=context.bot.username)
        await send_html(message.reply_text, text, context.state, do_quote=False)


COMMANDS: dict[str, Handler] = {
    "start": start,
    "help": help_command,
    "ask": ask,
    "sources": sources,
    "about": about,
}


# -- buttons -----------------------------------------------------------------------------


async def _pressed(update: Update, context: NewsContext) -> tuple[MaybeInaccessibleMessage, Page, str] | None:
    """The message and answer page behind a pressed button; None (after saying so) when gone."""
    query = update.callback_query
    assert query is not None
    found = context.state.pages.pressed(query.data) if query.message is not None else None
    if found is None or query.message is None:
        await stale_button(update, context)
        return None
    return query.message, *found


async def more(update: Update, context: NewsContext) -> None:
    """The More button: the next sentences of the answer, in a new message; More then goes."""
    pressed, state = await _pressed(update, context), context.state
    if pressed is None:
        return
    (message, page, key), count = pressed, state.settings.sentences_per_reply
    if page.more_sent or page.start + count >= len(page.answer.sentences):
        await acknowledge(update, ALREADY_SHOWN if page.more_sent else "That is all I found.")
        return
    page.more_sent = True
    await acknowledge(update)
    await set_keyboard(message, answer_keyboard(state, page, key))
    texts = fmt.format_answer(page.answer, start=page.start + count, count=count)
    await send_below(update, context, texts, answer_keyboard(state, Page(page.answer, page.start + count)))


async def show_context(update: Update, context: NewsContext) -> None:
    """The Context button: the passage around the first sentence the message quoted, once."""
    pressed, state = await _pressed(update, context), context.state
    if pressed is None:
        return
    message, page, key = pressed
    if page.context_sent:
        await acknowledge(update, ALREADY_SHOWN)
        return
    quoted = page.answer.sentences[page.start]
    passage = await asyncio.to_thread(state.engine.context, quoted.source.article_id, quoted.sentence)
    if passage is None:
        await acknowledge(update, "That article is no longer in my corpus. Please ask again.")
        return
    page.context_sent = True
    await acknowledge(update)
    await set_keyboard(message, answer_keyboard(state, page, key))
    await send_below(update, context, fmt.format_context(passage), None)


async def stale_button(update: Update, context: NewsContext) -> None:
    """Any other button press (from an older version of the bot, forged, or whose answer is gone)."""
    await acknowledge(update, ASK_AGAIN)
    await forget_buttons(update)


# -- inline mode -------------------------------------------------------------------------


async def inline_query(update: Update, context: NewsContext) -> None:
    """@bot question in any chat: the answer sentences as results, each with its source."""
    query = update.inline_query
    assert query is not None
    question = query.query.strip()
    results: list[InlineQueryResultArticle] = []
    if question:
        answer = await asyncio.to_thread(context.state.engine.answer, question, limit=INLINE_RESULTS)
        results = fmt.inline_results(answer)
    try:
        await deliver(
            lambda: query.answer(results, cache_time=INLINE_CACHE_SECONDS), policy=QUICK, what="inline answer"
        )
    except BadRequest as error:
        # Inline queries expire within seconds; a late answer is simply not wanted any more.
        _LOGGER.info("inline answer not taken: %s", error)


# -- which updates are handled, and what went wrong --------------------------------------


def _where(update: Update) -> str:
    chat = update.effective_chat
    return f"update {update.update_id}" + (f" (chat {chat.id})" if chat else "")


async def admit(update: Update, context: NewsContext) -> None:
    """Drop an update handled before (Telegram may post one again); track the rest."""
    state = context.state
    if update.update_id in state.seen:
        _LOGGER.info("update %s came again: already handled", update.update_id)
        raise ApplicationHandlerStop
    state.seen.put(update.update_id, True)
    state.outbox.track(_where(update))


async def gate(update: Update, context: NewsContext) -> None:
    """Stop updates from chats outside the allow-list (admins are always let through)."""
    settings = context.state.settings
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
        await acknowledge(update, NOT_ALLOWED)
    elif chat is not None and chat.type == ChatType.PRIVATE and update.message is not None:
        with contextlib.suppress(TelegramError):
            await update.message.reply_text(NOT_ALLOWED)
    raise ApplicationHandlerStop


async def error_handler(update: object, context: NewsContext) -> None:
    """Log a fault in one line at the level it deserves (`bot.logs.log_fault`); after a bug, say sorry."""
    if isinstance(update, Update):
        if log_fault(_where(update), context.error):
            await say_sorry(update, SORRY)
    elif isinstance(context.error, NetworkError):
        _LOGGER.warning("Telegram could not be reached: %s", context.error)
    else:
        _LOGGER.error("Error outside of an update", exc_info=context.error)
