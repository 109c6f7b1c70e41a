"""Reading an incoming Telegram message: what it says, whether it is for the bot, what it asks.

The handlers (`bot.handlers`) read messages through these pure functions before they ask the
engine: a photo's caption counts as its text, a mention of the bot is not part of the question,
and in a group only a message that mentions the bot or replies to it is a question
(`AddressedToBot`, a filter `bot.app` registers).
"""

from __future__ import annotations

import re

from telegram import Message, MessageEntity
from telegram.constants import ChatType
from telegram.ext import filters


def text_of(message: Message) -> str:
    """What a message says: its text, or a photo's (or any media's) caption."""
    return message.text or message.caption or ""


def is_group(message: Message) -> bool:
    """Whether the message was sent anywhere but a private chat."""
    return message.chat.type != ChatType.PRIVATE


def _mention(username: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w@])@{re.escape(username)}(?!\w)", re.IGNORECASE)


def without_mentions(text: str, username: str) -> str:
    """The text with every @mention of the bot taken out."""
    return _mention(username).sub(" ", text)


def asked_by_command(message: Message, username: str) -> str:
    """The question of `/ask question`; a bare /ask in reply to a message asks that message's text."""
    parts = text_of(message).split(None, 1)
    question = parts[1] if len(parts) > 1 else ""
    replied = message.reply_to_message
    if not question.strip() and replied is not None and text_of(replied):
        question = text_of(replied)
    return without_mentions(question, username)


def typed_command(message: Message, username: str) -> str | None:
    """The command a message types (`/ask@bot …` → "ask"), or None when it is for another bot."""
    name, _, target = text_of(message).split(None, 1)[0][1:].partition("@")
    if target and target.casefold() != username.casefold():
        return None  # /ask@SomeOtherBot is for some other bot
    return name.casefold()


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
        return bool(_mention(bot.username).search(text_of(message)))
