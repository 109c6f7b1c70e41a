"""Tests for the bot's handlers, through python-telegram-bot's own seams and the real engine.

`FakeRequest` (python-telegram-bot's `BaseRequest` seam) hands every Bot API call to a
`FakeBotAPI`, which records it and refuses what Telegram would refuse; updates go in through
`Application.process_update`.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from benchmarks.fakebotapi import FakeBotAPI, FakeRequest, parse_html
from bot import handlers
from bot.app import build_application, run
from bot.config import Config, TelegramConfig
from bot.delivery import RetryPolicy
from bot.examples import example_questions
from bot.format import format_no_answer
from bot.logs import RedactingFilter
from retrieval.engine import Engine
from retrieval.settings import Settings

pytestmark = pytest.mark.anyio

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
BOT = "newsbot_test_bot"
ANN: dict[str, Any] = {"id": 42, "is_bot": False, "first_name": "Ann"}
BEN: dict[str, Any] = {"id": 43, "is_bot": False, "first_name": "Ben"}
PRIVATE: dict[str, Any] = {"id": 42, "type": "private", "first_name": "Ann"}
GROUP: dict[str, Any] = {"id": -100123, "type": "supergroup", "title": "Newsroom"}

HOSTILE = """Hackers & <script>alert(1)</script> headline <b

The mayor said <script>alert("pwned")</script> & <b unclosed tags are harmless.

Source: Evil & <Co>
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Bot:
    """The application under test, the fake API behind it, and ways to talk to it."""

    def __init__(self, application: Application, api: FakeBotAPI) -> None:
        self.application = application
        self.api = api
        self._update_id = 0

    async def feed(self, kind: str, payload: dict[str, Any]) -> None:
        self._update_id += 1
        data = {"update_id": self._update_id, kind: payload}
        await self.application.process_update(Update.de_json(data, self.application.bot))

    async def say(self, chat: dict[str, Any], text: str, user: dict[str, Any] = ANN, **kw: Any) -> None:
        await self.feed("message", self.api.message(chat, user, text, **kw))

    async def press(self, message: dict[str, Any], data: str, user: dict[str, Any] = ANN) -> None:
        await self.feed(
            "callback_query",
            {"id": "q1", "from": user, "message": message, "chat_instance": "c", "data": data},
        )

    def replies(self, chat: dict[str, Any] = PRIVATE) -> list[str]:
        """The plain text of every message the bot sent to `chat`, in order."""
        return [c.result["text"] for c in self.api.sent(chat["id"])]

    def last(self, chat: dict[str, Any] = PRIVATE) -> dict[str, Any]:
        return self.api.sent(chat["id"])[-1].result

    def answers(self) -> list[str | None]:
        return [c.params.get("text") for c in self.api.called("answerCallbackQuery")]


async def make_bot(engine: Engine, config: TelegramConfig | None = None) -> Bot:
    api = FakeBotAPI(TOKEN, username=BOT)
    application = build_application(config or TelegramConfig(), engine, token=TOKEN, request=FakeRequest(api))
    application.bot_data.state.policy = RetryPolicy(first_delay=0.01)
    await application.initialize()
    return Bot(application, api)


@pytest.fixture
def engine(corpus_dir: Path, tmp_path: Path) -> Engine:
    (corpus_dir / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    return Engine.open(corpus_dir, tmp_path / "index", Settings())


@pytest.fixture
async def bot(engine: Engine) -> AsyncIterator[Bot]:
    made = await make_bot(engine)
    yield made
    await made.application.shutdown()
    assert made.api.refused == [], "the bot sent something Telegram would refuse"


# -- private chats -------------------------------------------------------------------------


async def test_a_private_question_gets_quotes_with_sources_and_buttons(bot: Bot) -> None:
    await bot.say(PRIVATE, "who decides on negotiations")
    reply = bot.last()
    assert "Zelensky" in reply["text"] and "RES-MPE" in reply["text"]
    assert {"type": "bold", "offset": reply["entities"][0]["offset"], "length": 12} in reply["entities"]
    buttons = reply["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["More", "Context"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
    methods = [c.method for c in bot.api.calls]
    assert methods.index("sendChatAction") < methods.index("sendMessage")


async def test_corpus_html_is_shown_as_text(bot: Bot) -> None:
    await bot.say(PRIVATE, "what did the mayor say about unclosed tags")
    html = bot.api.sent(PRIVATE["id"])[-1].params["text"]
    plain, _ = parse_html(html)
    assert 'The mayor said <script>alert("pwned")</script> & <b unclosed tags are harmless.' in plain
    assert "Evil & <Co> · Hackers & <script>alert(1)</script> headline <b" in plain


async def test_no_answer_says_how_much_the_bot_knows(bot: Bot, engine: Engine) -> None:
    await bot.say(PRIVATE, "xylophone quartz zeppelin")
    assert bot.replies() == [parse_html(format_no_answer(engine.stats))[0]]
    assert "5 articles" in bot.replies()[0] and "/sources" in bot.replies()[0]


async def test_an_enormous_question_is_answered_within_limits(bot: Bot) -> None:
    await bot.say(PRIVATE, ("negotiations Zelensky <b>&amp; " * 200)[:4096])
    assert "Zelensky" in bot.replies()[-1]


async def test_unknown_commands_and_non_text_get_a_pointer(bot: Bot) -> None:
    await bot.say(PRIVATE, "/frobnicate")
    sticker = bot.api.message(PRIVATE, ANN, "")
    del sticker["text"]
    sticker["sticker"] = {
        "file_id": "s",
        "file_unique_id": "s",
        "type": "regular",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
    }
    await bot.feed("message", sticker)
    assert bot.replies() == [handlers.UNKNOWN_COMMAND, handlers.TEXT_ONLY]


# -- commands ------------------------------------------------------------------------------


async def test_start_offers_example_questions_from_the_corpus(bot: Bot) -> None:
    await bot.say(PRIVATE, "/start")
    text = bot.replies()[0]
    assert "5 articles" in text
    examples = [line[2:] for line in text.splitlines() if line.startswith("• ")]
    assert 2 <= len(examples) <= 3
    titles = {
        "Harbour bridge to close for repairs",
        "Chess champion keeps her title",
        "Tea prices rise",
        "Only Zelensky can decide to start negotiations with Russia",
        "Hackers & <script>alert(1)</script> headline <b",
    }
    assert set(examples) <= titles


def test_even_a_one_article_corpus_offers_examples_it_answers(tmp_path: Path) -> None:
    engine = Engine.open(Path(__file__).parent.parent / "corpus", tmp_path / "index", Settings())
    examples = example_questions(engine)
    assert examples[0] == "Only Zelensky can decide to start negotiations with Russia"
    assert set(examples[1:]) <= {"What about Zelensky?", "What about Russia?"}
    assert len(examples) >= 2 and all(engine.answer(e).answered for e in examples)


async def test_sources_help_and_about(bot: Bot) -> None:
    for command in ("/sources", "/help", "/about"):
        await bot.say(PRIVATE, command)
    sources, help_text, about = bot.replies()
    assert sources.startswith("I know 5 articles from 5 outlets, published 2 Nov 2023 to 5 Mar 2024.")
    assert "• RES-MPE — 1" in sources and "• Evil & <Co> — 1" in sources
    assert f"@{BOT} your question" in help_text
    assert "verbatim" in about


async def test_commands_are_registered_at_start(engine: Engine) -> None:
    made = await make_bot(engine)
    assert made.application.post_init is not None
    await made.application.post_init(made.application)
    commands = made.api.called("setMyCommands")[0].params["commands"]
    assert [c["command"] for c in commands] == ["start", "ask", "sources", "help", "about"]
    await made.application.shutdown()


# -- groups --------------------------------------------------------------------------------


async def test_in_a_group_only_messages_for_the_bot_are_answered(bot: Bot) -> None:
    await bot.say(GROUP, "who decides on negotiations")
    await bot.say(GROUP, "/ask@SomeOtherBot who decides on negotiations")
    await bot.say(GROUP, "/start@SomeOtherBot")
    assert bot.replies(GROUP) == []

    await bot.say(GROUP, "/ask who decides on negotiations")
    await bot.say(GROUP, f"/ask@{BOT} who decides on negotiations")
    await bot.say(GROUP, f"@{BOT} who decides on negotiations")
    mine = bot.last(GROUP)
    await bot.say(GROUP, "and who decides on negotiations?", reply_to=mine)
    replies = bot.replies(GROUP)
    assert len(replies) == 4 and all("Zelensky" in r for r in replies)


async def test_mentions_and_commands_are_recognised_without_their_entities(bot: Bot) -> None:
    await bot.say(GROUP, f"@{BOT.upper()} who decides on negotiations", entities=[])
    await bot.say(GROUP, "/ask who decides on negotiations", entities=[])
    await bot.say(GROUP, "/ask@SomeOtherBot who decides on negotiations", entities=[])
    await bot.say(GROUP, f"mail me at x@{BOT}.org about negotiations", entities=[])
    await bot.say(PRIVATE, "/sources", entities=[])
    assert len(bot.replies(GROUP)) == 2 and all("Zelensky" in r for r in bot.replies(GROUP))
    assert bot.replies()[0].startswith("I know 5 articles")


async def test_a_bare_ask_explains_itself_or_asks_the_replied_message(bot: Bot) -> None:
    await bot.say(GROUP, "/ask")
    assert bot.replies(GROUP) == ["Ask me a question, for example: /ask who decides on negotiations"]
    question = bot.api.message(GROUP, BEN, "who decides on negotiations")
    await bot.say(GROUP, "/ask", reply_to=question)
    assert "Zelensky" in bot.replies(GROUP)[-1]
    sent = bot.api.sent(GROUP["id"])[-1].params
    assert sent["reply_parameters"]["message_id"] > question["message_id"]


# -- buttons -------------------------------------------------------------------------------


async def test_more_shows_the_next_sentences_once(bot: Bot) -> None:
    await bot.say(PRIVATE, "who decides on negotiations")
    first = bot.last()
    more = first["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await bot.press(first, more)
    await bot.press(first, more)
    first_text, second_text = bot.replies()
    assert second_text and not set(second_text.split("\n\n")) & set(first_text.split("\n\n"))
    assert bot.answers() == [None, "Already shown below."]


async def test_context_shows_the_passage_around_the_first_quote(bot: Bot) -> None:
    await bot.say(PRIVATE, "who decides on negotiations")
    first = bot.last()
    context = first["reply_markup"]["inline_keyboard"][0][-1]["callback_data"]
    await bot.press(first, context)
    quoted = first["text"].split("\n")[0]
    assert quoted in bot.replies()[-1]
    assert bot.replies()[-1].endswith("RES-MPE · USA: Only Zelensky can decide to start negotiations with Russia")


async def test_a_button_answer_that_fails_is_sent_again(bot: Bot) -> None:
    bot.api.fail("answerCallbackQuery", 500)
    await bot.press(bot.api.message(PRIVATE, bot.api.bot, "an old answer"), "more:gone")
    assert [c.status for c in bot.api.called("answerCallbackQuery")] == [500, 200]


@pytest.mark.parametrize("data", ["more:gone", "ctx:gone", "v0:whatever", ""])
async def test_a_stale_or_forged_button_asks_to_ask_again(bot: Bot, data: str) -> None:
    message = bot.api.message(PRIVATE, bot.api.bot, "an old answer")
    await bot.press(message, data)
    assert bot.answers() == [handlers.ASK_AGAIN]
    assert bot.replies() == []


# -- inline mode ---------------------------------------------------------------------------


async def test_inline_queries_return_quotes_with_their_sources(bot: Bot) -> None:
    await bot.feed(
        "inline_query",
        {"id": "i1", "from": ANN, "query": "who decides on negotiations", "offset": ""},
    )
    await bot.feed("inline_query", {"id": "i2", "from": ANN, "query": "   ", "offset": ""})
    full, empty = (c.params["results"] for c in bot.api.called("answerInlineQuery"))
    assert 1 <= len(full) <= 50 and empty == []
    assert all("RES-MPE" in r["description"] for r in full)
    assert "Zelensky" in " ".join(r["input_message_content"]["message_text"] for r in full)


# -- keeping up ----------------------------------------------------------------------------


async def test_the_per_user_limit_is_explained_once(engine: Engine) -> None:
    made = await make_bot(engine, TelegramConfig(questions_per_minute=2, admins=(BEN["id"],)))
    for _ in range(4):
        await made.say(PRIVATE, "who decides on negotiations")
    replies = made.replies()
    assert len(replies) == 3 and replies[2].startswith("You are asking faster than I can keep up")
    for _ in range(3):  # admins are not limited
        await made.say({"id": 43, "type": "private", "first_name": "Ben"}, "tea prices", user=BEN)
    assert len(made.api.sent(43)) == 3
    await made.application.shutdown()


async def test_the_allow_list_keeps_others_out(engine: Engine) -> None:
    config = TelegramConfig(allowed_chats=(GROUP["id"],), admins=(BEN["id"],))
    made = await make_bot(engine, config)
    await made.say(PRIVATE, "who decides on negotiations")
    await made.say({"id": -5, "type": "group", "title": "Other"}, f"@{BOT} chess final")
    await made.say(GROUP, f"@{BOT} chess final")
    await made.say({"id": 43, "type": "private", "first_name": "Ben"}, "chess final", user=BEN)
    assert made.replies() == [handlers.NOT_ALLOWED]
    assert made.api.sent(-5) == []
    assert "Ana Ruiz" in made.replies(GROUP)[0] and "Ana Ruiz" in made.api.sent(43)[0].result["text"]
    await made.application.shutdown()


async def test_a_failing_typing_action_does_not_stop_the_reply(bot: Bot) -> None:
    bot.api.fail("sendChatAction", 500, times=10)
    bot.api.fail("sendChatAction", 0, times=10)
    await bot.say(PRIVATE, "who decides on negotiations")
    assert "Zelensky" in bot.replies()[0]


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500, "times": 3},
        {"status": 502, "times": 1},
        {"status": 429, "times": 1},  # a 429 without retry_after: a NetworkError to PTB
        {"status": 429, "retry_after": 1, "times": 3},
    ],
)
async def test_a_failed_reply_is_sent_again(bot: Bot, fault: dict[str, Any]) -> None:
    bot.api.fail("sendMessage", **fault)
    await bot.say(PRIVATE, "who decides on negotiations")
    assert len(bot.replies()) == 1 and "Zelensky" in bot.replies()[0]
    assert len(bot.api.called("sendMessage")) == fault["times"] + 1


async def test_a_failure_is_logged_with_its_traceback_and_the_asker_told(
    bot: Bot, engine: Engine, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(question: str, *, limit: int | None = None) -> None:
        raise RuntimeError("index on fire")

    monkeypatch.setattr(engine, "answer", broken)
    with caplog.at_level(logging.ERROR):
        await bot.say(PRIVATE, "who decides on negotiations")
    assert bot.replies() == [handlers.SORRY]
    errors = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert [str(e) for e in errors] == ["index on fire"]
    monkeypatch.undo()
    await bot.say(PRIVATE, "who decides on negotiations")
    assert "Zelensky" in bot.replies()[-1]


# -- the token -----------------------------------------------------------------------------


def test_the_token_is_redacted_from_every_log_record() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter([TOKEN, TOKEN.partition(":")[2]]))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("POST https://api.telegram.org/bot%s/getMe", TOKEN)
        try:
            raise ValueError(f"The token `{TOKEN}` was rejected")
        except ValueError:
            logger.exception("failed with %s", TOKEN.partition(":")[2])
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "getMe" in output and "was rejected" in output
    assert TOKEN.partition(":")[2] not in output


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({}, "TELEGRAM_BOT_TOKEN is not set: talk to @BotFather"),
        ({"TELEGRAM_BOT_TOKEN": "not a token"}, "does not look like a bot token"),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "NEWSBOT_TELEGRAM_BASE_URL": "127.0.0.1:8081"},
            "expected an http://",
        ),
    ],
)
def test_run_refuses_a_missing_or_malformed_setting_in_one_line(
    environment: dict[str, str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("TELEGRAM_BOT_TOKEN", "NEWSBOT_TELEGRAM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert run(Config(corpus=tmp_path, index_dir=tmp_path / "index")) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in error


async def test_an_article_added_while_running_is_answered_after_a_refresh(
    bot: Bot, engine: Engine, corpus_dir: Path
) -> None:
    from bot.app import refresh_corpus

    state = bot.application.bot_data.state
    assert await refresh_corpus(state) is False
    (corpus_dir / "volcano.txt").write_text(
        "Volcano erupts\n\nThe Fagradalsfjall volcano erupted in Iceland on Friday.\n"
    )
    assert await refresh_corpus(state) is True
    assert state.stats.articles == engine.stats.articles == 6
    await bot.say(PRIVATE, "Which volcano erupted in Iceland?")
    assert "Fagradalsfjall" in bot.replies()[-1]
    (corpus_dir / "volcano.txt").unlink()
    assert await refresh_corpus(state) is True
    await bot.say(PRIVATE, "Which volcano erupted in Iceland?")
    assert "Fagradalsfjall" not in bot.replies()[-1]


async def test_the_corpus_watcher_refreshes_on_its_own(engine: Engine, corpus_dir: Path) -> None:
    import asyncio

    from bot.app import watch_corpus

    made = await make_bot(engine)
    state = made.application.bot_data.state
    task = asyncio.create_task(watch_corpus(state, 0.05))
    try:
        (corpus_dir / "volcano.txt").write_text("Volcano erupts\n\nThe Fagradalsfjall volcano erupted in Iceland.\n")
        for _ in range(200):
            await asyncio.sleep(0.05)
            if state.stats.articles == 6:
                break
        assert state.stats.articles == 6
    finally:
        task.cancel()
        await made.application.shutdown()


# -- under Telegram's limits ---------------------------------------------------------------


async def until(condition: Any, timeout: float = 15.0) -> None:
    """Wait for condition() (a guard against hanging, not a measure of speed)."""
    import asyncio

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


async def test_a_flood_wait_in_a_group_does_not_hold_up_another_chat(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    bot.api.fail("sendMessage", 429, retry_after=20, chat_id=GROUP["id"])
    group = asyncio.create_task(bot.say(GROUP, "/ask who decides on negotiations"))
    await until(lambda: [c for c in bot.api.called("sendMessage") if c.status == 429])
    # With every send paused for the group's 20 s, this would not finish in 10.
    await asyncio.wait_for(bot.say(PRIVATE, "who decides on negotiations"), 10)
    assert "Zelensky" in bot.replies()[0]
    assert not group.done() and bot.replies(GROUP) == []
    state = bot.application.bot_data.state
    assert await state.outbox.close(grace=0.1) == []  # the group's retry pause ends at once
    await group
    assert bot.replies(GROUP) == []
    assert f"Stopping: update 1 (chat {GROUP['id']}) was not answered" in caplog.text


async def test_fifteen_questions_at_once_in_a_group_are_all_answered_without_waiting(bot: Bot) -> None:
    import asyncio

    users = [{"id": 500 + n, "is_bot": False, "first_name": f"U{n}"} for n in range(15)]
    await asyncio.gather(*(bot.say(GROUP, "/ask who decides on negotiations", user=u) for u in users))
    assert len(bot.replies(GROUP)) == 15
    limits = bot.application.bot.rate_limiter
    assert limits.waited == 0.0  # the group's 20 a minute is spent on answers, not "typing…"


async def test_a_slow_send_that_succeeds_is_not_sent_again(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    api = FakeBotAPI(TOKEN, username=BOT)
    application = build_application(TelegramConfig(), engine, token=TOKEN, request=FakeRequest(api, read_timeout=0.5))
    application.bot_data.state.policy = RetryPolicy(first_delay=0.01)
    await application.initialize()
    made = Bot(application, api)
    api.fail("sendMessage", 200, delay=1.5)  # Telegram takes the message, but answers late
    await made.say(PRIVATE, "who decides on negotiations")  # returns once it gives up waiting
    await until(lambda: made.replies())  # the held message lands in the fake
    assert len(api.called("sendMessage")) == 1 and len(made.replies()) == 1
    assert "may be lost" in caplog.text and "not sent again" in caplog.text
    await application.shutdown()


async def test_a_flood_wait_beyond_the_cap_drops_the_reply_with_one_error_line(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    bot.api.fail("sendMessage", 429, retry_after=125, chat_id=GROUP["id"])
    await bot.say(GROUP, "/ask who decides on negotiations")
    await bot.say(GROUP, "/ask who decides on negotiations")  # not even tried: the chat still waits
    assert bot.replies(GROUP) == [] and len(bot.api.called("sendMessage")) == 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        f"Dropped the reply to update {n} (chat {GROUP['id']}): Telegram asked to wait 125 s" for n in (1, 2)
    ]
    assert all(r.exc_info is None for r in errors)


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 502, "description": "<html><body><h1>502 Bad Gateway</h1></body></html>"},
        {"status": 429, "retry_after": 1},
        {"status": 500, "times": 2},
        {"status": 0},
    ],
    ids=["502-html", "429", "500", "dropped"],
)
async def test_a_handled_fault_is_one_warning_and_no_error(
    bot: Bot, fault: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    bot.api.fail("sendMessage", **fault)
    bot.api.fail("sendChatAction", 500)
    with caplog.at_level(logging.INFO):
        await bot.say(PRIVATE, "who decides on negotiations")
    assert "Zelensky" in bot.replies()[0]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and all(r.exc_info is None and "\n" not in r.getMessage() for r in warnings)


# -- edits, captions, groups ---------------------------------------------------------------


async def test_an_edited_question_edits_the_answer_it_got(bot: Bot) -> None:
    question = bot.api.message(PRIVATE, ANN, "what did the mayor say about the bridge")
    await bot.feed("message", question)
    first = bot.last()
    await bot.feed("edited_message", bot.api.edited(question, "who decides on negotiations"))
    (edit,) = bot.api.called("editMessageText")
    assert edit.params["message_id"] == first["message_id"] and "Zelensky" in edit.result["text"]
    assert len(bot.replies()) == 1  # no second message


async def test_an_edit_of_a_question_never_answered_gets_a_new_answer(bot: Bot) -> None:
    question = bot.api.message(PRIVATE, ANN, "who decides on negotiations")
    await bot.feed("edited_message", question)
    assert "Zelensky" in bot.replies()[0] and bot.api.called("editMessageText") == []


async def test_a_caption_is_a_question(bot: Bot) -> None:
    await bot.feed("message", bot.api.photo(PRIVATE, ANN, "who decides on negotiations"))
    await bot.feed("message", bot.api.photo(GROUP, ANN, f"@{BOT} who decides on negotiations"))
    await bot.feed("message", bot.api.photo(GROUP, ANN, "/ask who decides on negotiations"))
    await bot.feed("message", bot.api.photo(GROUP, ANN, "a holiday picture"))
    assert "Zelensky" in bot.replies()[0]
    assert len(bot.replies(GROUP)) == 2 and all("Zelensky" in r for r in bot.replies(GROUP))


async def test_group_help_and_start_say_what_works_in_a_group(bot: Bot) -> None:
    await bot.say(GROUP, "/help")
    await bot.say(GROUP, "/start")
    help_text, start_text = bot.replies(GROUP)
    assert "just send a question" not in help_text.split("\n")[1]
    assert help_text.split("\n")[1].startswith("• In this group: /ask your question")
    examples = [line[2:] for line in start_text.splitlines() if line.startswith("• ")]
    assert examples and all(e.startswith("/ask ") for e in examples)
    assert "Just send me a question" not in start_text
    quoted = [c.params["reply_parameters"]["message_id"] for c in bot.api.sent(GROUP["id"])]
    assert len(quoted) == 2  # each quotes the command it answers


async def test_being_added_to_a_group_gets_a_short_introduction(bot: Bot) -> None:
    added = bot.api.message(GROUP, ANN, "")
    del added["text"]
    added["new_chat_members"] = [bot.api.bot]
    await bot.feed("message", added)
    someone = bot.api.message(GROUP, ANN, "")
    del someone["text"]
    someone["new_chat_members"] = [BEN]
    await bot.feed("message", someone)
    (intro,) = bot.replies(GROUP)
    assert intro.startswith("Hi! I answer questions about the news") and "/ask your question" in intro


# -- buttons that were used ----------------------------------------------------------------


async def test_context_pressed_twice_is_sent_once_and_the_used_button_goes(bot: Bot) -> None:
    await bot.say(PRIVATE, "who decides on negotiations")
    first = bot.last()
    context = first["reply_markup"]["inline_keyboard"][0][-1]["callback_data"]
    await bot.press(first, context)
    await bot.press(first, context)
    assert len(bot.replies()) == 2
    assert bot.answers() == [None, handlers.ALREADY_SHOWN]
    (update,) = bot.api.called("editMessageReplyMarkup")
    assert [b["text"] for b in update.params["reply_markup"]["inline_keyboard"][0]] == ["More"]


async def test_a_stale_keyboard_is_removed(bot: Bot) -> None:
    await bot.say(PRIVATE, "who decides on negotiations")
    shown = bot.last()
    await bot.press(shown, "more:fromlastweek")
    assert bot.answers() == [handlers.ASK_AGAIN]
    (update,) = bot.api.called("editMessageReplyMarkup")
    assert update.params["message_id"] == shown["message_id"] and "reply_markup" not in update.result


async def test_a_replayed_update_is_answered_once(bot: Bot) -> None:
    message = bot.api.message(PRIVATE, ANN, "who decides on negotiations")
    for _ in range(2):
        data = {"update_id": 77, "message": message}
        await bot.application.process_update(Update.de_json(data, bot.application.bot))
    assert len(bot.replies()) == 1


def test_a_fault_python_telegram_bot_handled_itself_is_one_warning_line() -> None:
    from telegram.error import NetworkError

    from bot.logs import HandledFaults

    try:
        raise NetworkError("Internal Server Error (500)")
    except NetworkError as error:
        record = logging.LogRecord(
            "telegram.ext.Updater",
            logging.ERROR,
            __file__,
            1,
            "Error while calling `get_updates` one more time to mark all fetched updates. "
            "Suppressing error to ensure graceful shutdown. When polling for updates is restarted, …",
            None,
            (type(error), error, error.__traceback__),
        )
    assert HandledFaults().filter(record)
    assert record.levelname == "WARNING" and record.exc_info is None
    assert record.getMessage() == (
        "Error while calling `get_updates` one more time to mark all fetched updates: "
        "NetworkError('Internal Server Error (500)')"
    )


async def test_a_question_that_meets_a_damaged_index_gets_an_apology_then_the_index_is_repaired(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage_quoted_text: Callable[[Path, str], Path]
) -> None:
    from bot.app import refresh_corpus
    from retrieval import index as index_module

    monkeypatch.setattr(index_module, "VERIFY_AT_OPEN_BYTES", 0)
    quoted = Engine.open(corpus_dir, tmp_path / "index", Settings()).answer("who decides on negotiations")
    damage_quoted_text(tmp_path / "index", quoted.sentences[0].text)
    made = await make_bot(Engine.open(corpus_dir, tmp_path / "index", Settings()))
    try:
        await made.say(PRIVATE, "who decides on negotiations")
        assert made.replies() == [handlers.SORRY]
        assert await refresh_corpus(made.application.bot_data.state)
        await made.say(PRIVATE, "who decides on negotiations")
        assert "Zelensky" in made.replies()[-1]
    finally:
        await made.application.shutdown()
