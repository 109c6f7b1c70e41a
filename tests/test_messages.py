"""Reading a message: its text or caption, mentions of the bot taken out, commands typed by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from telegram import Chat, Message

from bot import messages

WHEN = datetime(2024, 5, 6, tzinfo=UTC)


def message(text: str | None = None, *, caption: str | None = None, chat: str = Chat.PRIVATE, **kw: object) -> Message:
    return Message(1, WHEN, Chat(5, chat), text=text, caption=caption, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@newsbot who won?", "  who won?"),
        ("who won @NewsBot", "who won  "),
        ("mail me@newsbot.org", "mail me@newsbot.org"),
        ("@newsbotter is another bot", "@newsbotter is another bot"),
    ],
)
def test_mentions_of_the_bot_are_taken_out_and_nothing_else(text: str, expected: str) -> None:
    assert messages.without_mentions(text, "newsbot") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("/ask who won", "ask"), ("/Ask@NewsBot who won", "ask"), ("/ask@otherbot who won", None), ("/help", "help")],
)
def test_a_typed_command_is_read_unless_it_names_another_bot(text: str, expected: str | None) -> None:
    assert messages.typed_command(message(text), "newsbot") == expected


def test_a_caption_is_read_as_the_text() -> None:
    assert messages.text_of(message(caption="who won?")) == "who won?"
    assert messages.text_of(message()) == ""


def test_a_bare_ask_in_reply_asks_the_replied_message() -> None:
    replied = message("@newsbot who won the final?")
    asked = messages.asked_by_command(message("/ask", reply_to_message=replied), "newsbot")
    assert asked.strip() == "who won the final?"
    assert messages.asked_by_command(message("/ask where?", reply_to_message=replied), "newsbot") == "where?"


@pytest.mark.parametrize(("chat", "group"), [(Chat.PRIVATE, False), (Chat.GROUP, True), (Chat.SUPERGROUP, True)])
def test_only_a_private_chat_is_not_a_group(chat: str, group: bool) -> None:
    assert messages.is_group(message("hi", chat=chat)) is group
