"""Telegram handlers: who is asking, what they asked, and the reply.

A handler reads the update, asks the engine off the event loop, formats the answer with
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
import re
import time
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import (
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType, InlineQueryLimit, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ApplicationHandlerStop, filters

from bot import format as fmt
from bot.delivery import SEND_TIMEOUT, deliver, retry_after
from bot.errors import ShuttingDown
from bot.sending import QUICK, acknowledge, answer_keyboard, edit_reply, reply, send_html, set_keyboard, show_typing
from bot.state import NewsContext, Page

_LOGGER = logging.getLogger(__name__)

# Answers are fetched a few pages deep at once, so that "More" needs no new search.
PAGES_FETCHED = 4
# Inline results shown for one query; Telegram allows InlineQueryLimit.RESULTS.
INLINE_RESULTS = 10
INLINE_CACHE_SECONDS = 60
# How long the reply waits for the "typing…" action before it goes anyway.
TYPING_WAIT = 2.0

ASK_AGAIN = "That answer is no longer around (I may have restarted). Please ask again."
SORRY = "Sorry, something went wrong on my side. Please try again in a moment."
NOT_ALLOWED = "Sorry, I only answer in chats my operator has allowed."
HOW_TO_ASK = "Ask me a question, for example: <code>/ask who decides on negotiations</code>"
TEXT_ONLY = "I can only read text. Send me your question as a message, or as a photo's caption."
UNKNOWN_COMMAND = "I don't know that command. See /help."
ALREADY_SHOWN = "Already shown below."

Handler = Callable[[Update, NewsContext], Coroutine[Any, Any, None]]


def _text(message: Message) -> str:
    """What a message says: its text, or a photo's (or any media's) caption."""
    return message.text or message.caption or ""


def _is_group(message: Message) -> bool:
    return message.chat.type != ChatType.PRIVATE


# -- replying, or editing the earlier reply -----------------------------------------------


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
    sent = await reply(message, texts, state, quote=_is_group(message), markup=markup)
    state.replies.put(key, sent[0].message_id)


# -- questions ---------------------------------------------------------------------------


async def answer_question(update: Update, context: NewsContext, question: str) -> None:
    """Answer `question`, asked in `update`'s message: quotes with buttons, or an honest no."""
    message = update.effective_message
    assert message is not None
    state = context.state
    question = question.strip()
    if not question:
        await respond(update, context, [HOW_TO_ASK])
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
                await send_html(message.reply_text, note, state, do_quote=_is_group(message))
            return
    typing = asyncio.create_task(show_typing(message))
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
    if answer.error:  # the index failed a check; it is rebuilt at the next refresh
        await respond(update, context, [SORRY])
        return
    if not answer.answered:
        await respond(update, context, [fmt.format_no_answer(state.stats, answer)])
        return
    page = Page(answer, 0)
    await respond(update, context, fmt.format_answer(answer, start=0, count=count), answer_keyboard(state, page))


async def private_question(update: Update, context: NewsContext) -> None:
    """In a private chat every text message, or caption, is a question."""
    assert update.effective_message is not None
    await answer_question(update, context, _text(update.effective_message))


def _mention(username: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w@])@{re.escape(username)}(?!\w)", re.IGNORECASE)


def _without_mentions(text: str, username: str) -> str:
    return _mention(username).sub(" ", text)


async def group_question(update: Update, context: NewsContext) -> None:
    """In a group, a message that mentions the bot or replies to it is a question."""
    message = update.effective_message
    assert message is not None
    await answer_question(update, context, _without_mentions(_text(message), context.bot.username))


async def ask(update: Update, context: NewsContext) -> None:
    """/ask question; a bare /ask in reply to a message asks that message's text."""
    message = update.effective_message
    assert message is not None
    parts = _text(message).split(None, 1)
    question = parts[1] if len(parts) > 1 else ""
    replied = message.reply_to_message
    if not question.strip() and replied is not None and _text(replied):
        question = _text(replied)
    await answer_question(update, context, _without_mentions(question, context.bot.username))


class AddressedToBot(filters.MessageFilter):
    """Group messages meant for the bot: a mention of it, or a reply to one of its messages."""

    def filter(self, message: Message) -> bool:
        bot = message.get_bot()
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
            return True
        entities = message.parse_entities([MessageEntity.TEXT_MENTION]) or message.parse_caption_entities(
            [MessageEntity.TEXT_MENTION]
        )
        if any(entity.user is not None and entity.user.id == bot.id for entity in entities):
            return True
        # Read the text rather than the mention entities, which a bridge or client may omit.
        return bool(_mention(bot.username).search(_text(message)))


async def typed_command(update: Update, context: NewsContext) -> None:
    """A command without its bot_command entity (some bridges drop them), or in a caption."""
    message = update.effective_message
    assert message is not None
    name, _, target = _text(message).split(None, 1)[0][1:].partition("@")
    if target and target.casefold() != context.bot.username.casefold():
        return  # /ask@SomeOtherBot is for some other bot
    handler = COMMANDS.get(name.casefold())
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
        group=_is_group(update.effective_message),
    )
    await respond(update, context, [text])


async def help_command(update: Update, context: NewsContext) -> None:
    """/help: how to ask here, and elsewhere."""
    assert update.effective_message is not None
    text = fmt.format_help(username=context.bot.username, group=_is_group(update.effective_message))
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


def _pressed(update: Update, context: NewsContext) -> tuple[Page, str] | None:
    query = update.callback_query
    assert query is not None
    _, _, key = (query.data or "").partition(":")
    page = context.state.pages.get(key) if query.message is not None else None
    return (page, key) if page is not None else None


async def _send_below(
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


async def _forget_buttons(update: Update) -> None:
    """Take the buttons off a message whose answer is gone."""
    query = update.callback_query
    assert query is not None
    if query.message is not None and isinstance(query.message, Message) and query.message.reply_markup:
        await set_keyboard(query.message, None)


async def more(update: Update, context: NewsContext) -> None:
    """The More button: the next sentences of the answer, in a new message; More then goes."""
    found = _pressed(update, context)
    if found is None:
        await acknowledge(update, ASK_AGAIN)
        await _forget_buttons(update)
        return
    page, key = found
    state = context.state
    count = state.settings.sentences_per_reply
    start_at = page.start + count
    if page.more_sent or start_at >= len(page.answer.sentences):
        await acknowledge(update, ALREADY_SHOWN if page.more_sent else "That is all I found.")
        return
    page.more_sent = True
    await acknowledge(update)
    query = update.callback_query
    assert query is not None and query.message is not None
    await set_keyboard(query.message, answer_keyboard(state, page, key))
    texts = fmt.format_answer(page.answer, start=start_at, count=count)
    await _send_below(update, context, texts, answer_keyboard(state, Page(page.answer, start_at)))


async def show_context(update: Update, context: NewsContext) -> None:
    """The Context button: the passage around the first sentence the message quoted, once."""
    found = _pressed(update, context)
    if found is None:
        await acknowledge(update, ASK_AGAIN)
        await _forget_buttons(update)
        return
    page, key = found
    if page.context_sent:
        await acknowledge(update, ALREADY_SHOWN)
        return
    state = context.state
    quoted = page.answer.sentences[page.start]
    passage = await asyncio.to_thread(state.engine.context, quoted.source.article_id, quoted.sentence)
    if passage is None:
        await acknowledge(update, "That article is no longer in my corpus. Please ask again.")
        return
    page.context_sent = True
    await acknowledge(update)
    query = update.callback_query
    assert query is not None and query.message is not None
    await set_keyboard(query.message, answer_keyboard(state, page, key))
    await _send_below(update, context, fmt.format_context(passage), None)


async def stale_button(update: Update, context: NewsContext) -> None:
    """Any other button press (from an older version of the bot, or forged): ask again."""
    await acknowledge(update, ASK_AGAIN)
    await _forget_buttons(update)


# -- inline mode -------------------------------------------------------------------------


async def inline_query(update: Update, context: NewsContext) -> None:
    """@bot question in any chat: the answer sentences as results, each with its source."""
    query = update.inline_query
    assert query is not None
    state = context.state
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
    """Log a fault in one line at the level it deserves; a bug with its traceback, and say sorry.

    Handled faults (flood control, Telegram or the network failing) are WARNINGs; ERROR is kept
    for a reply that was lost and for bugs.
    """
    error = context.error
    if not isinstance(update, Update):
        if isinstance(error, NetworkError):
            _LOGGER.warning("Telegram could not be reached: %s", error)
        else:
            _LOGGER.error("Error outside of an update", exc_info=error)
        return
    where = _where(update)
    if isinstance(error, ShuttingDown):
        _LOGGER.warning("Stopping: %s was not answered", where)
    elif isinstance(error, RetryAfter):
        _LOGGER.error("Dropped the reply to %s: Telegram asked to wait %.0f s", where, retry_after(error))
    elif isinstance(error, Forbidden):
        _LOGGER.warning("Could not reply to %s: %s", where, error)
    elif isinstance(error, TimedOut):
        _LOGGER.error(
            "The reply to %s may be lost: no answer from Telegram in %.0f s, and it is not sent again "
            "in case it did arrive",
            where,
            SEND_TIMEOUT,
        )
    elif isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        _LOGGER.error("The reply to %s is lost: Telegram failed every try (%s)", where, error)
    else:
        _LOGGER.error("%s failed", where.capitalize(), exc_info=error)
        await _say_sorry(update)


async def _say_sorry(update: Update) -> None:
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(SORRY)
        elif update.effective_message is not None and update.inline_query is None:
            await update.effective_message.reply_text(SORRY)
    except TelegramError as failure:
        _LOGGER.warning("Could not tell the asker about the error: %s", failure)
