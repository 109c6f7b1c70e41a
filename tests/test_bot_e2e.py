"""End to end: the real `newsbot run` in a subprocess, against a fake Bot API on 127.0.0.1.

The bot polls the fake server (NEWSBOT_TELEGRAM_BASE_URL) as it would poll Telegram; the tests
queue updates as users would send them and read what the bot sent back. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from benchmarks.fakebotapi import FakeBotAPI, FakeBotAPIServer, parse_html

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "987654321:AAF-secret_Part0fTheT0kenXYZabcdefgh"
SECRET = TOKEN.partition(":")[2]
BOT = "newsbot_test_bot"
ANN: dict[str, Any] = {"id": 42, "is_bot": False, "first_name": "Ann"}
PRIVATE: dict[str, Any] = {"id": 42, "type": "private", "first_name": "Ann"}
GROUP: dict[str, Any] = {"id": -100777, "type": "supergroup", "title": "Newsroom"}
HOSTILE = """Hackers & <script>alert(1)</script> headline <b

The mayor said <script>alert("pwned")</script> & <b unclosed tags are harmless.

Source: Evil & <Co>
"""
STARTUP = 30.0  # seconds: imports, index build, getMe
REPLY = 15.0


@dataclass
class Running:
    """A `newsbot run` subprocess and the fake API it talks to."""

    process: subprocess.Popen[str]
    api: FakeBotAPI
    output: str = ""

    def stop(self) -> int:
        """Stop the bot as an operator would (SIGTERM); return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            out, err = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate(timeout=5)
        self.output += out + err
        return self.process.returncode


def read_until(running: Running, text: str, timeout: float = STARTUP) -> None:
    """Read the bot's log as it runs until it holds `text` (kept in running.output)."""
    stream = running.process.stderr
    assert stream is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while time.monotonic() < deadline and text not in running.output:
            if not selector.select(timeout=0.2):
                continue
            chunk = os.read(stream.fileno(), 65536)  # the raw pipe: no buffer to hide lines in
            if not chunk:
                break
            running.output += chunk.decode("utf-8", "replace")
    if text not in running.output:
        raise TimeoutError(f"{text!r} not logged; log so far:\n{running.output}")


def write_config(folder: Path, telegram: dict[str, object] | None = None) -> Path:
    corpus = folder / "corpus"
    corpus.mkdir()
    shutil.copy(ROOT / "corpus" / "usa-only-zelensky-can-decide-negotiations.txt", corpus)
    (corpus / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    config: dict[str, Any] = {"corpus": str(corpus), "index_dir": str(folder / "index")}
    if telegram:
        config["telegram"] = telegram
    path = folder / "config.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    return path


def start(config: Path, api: FakeBotAPI, server: FakeBotAPIServer, token: str = TOKEN) -> Running:
    environment = dict(os.environ, TELEGRAM_BOT_TOKEN=token, NEWSBOT_TELEGRAM_BASE_URL=server.base_url)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Running(process, api)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A polling bot, shared by the tests of this module, in the order they are written."""
    config = write_config(tmp_path_factory.mktemp("e2e"))
    api = FakeBotAPI(TOKEN, username=BOT)
    with FakeBotAPIServer(api) as server:
        running = start(config, api, server)
        try:
            api.wait_for(lambda: api.called("getUpdates"), STARTUP)
            yield running
        finally:
            running.stop()


def replies(api: FakeBotAPI, chat: dict[str, Any]) -> list[dict[str, Any]]:
    return [call.result for call in api.sent(chat["id"])]


def test_a_private_question_gets_zelensky_quoted_with_res_mpe_in_valid_html(bot: Running) -> None:
    bot.api.say(PRIVATE, ANN, "who decides on negotiations")
    reply = bot.api.wait_for(lambda: bot.api.sent(PRIVATE["id"]), REPLY)[0]
    plain, entities = parse_html(reply.params["text"])
    assert "Zelensky" in plain and "RES-MPE" in plain
    assert {e["type"] for e in entities} == {"blockquote", "b"}
    assert reply.params["parse_mode"] == "HTML"
    buttons = reply.params["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["More", "Context"]
    asked_for = bot.api.called("getUpdates")[-1].params["allowed_updates"]
    assert set(asked_for) == {"message", "edited_message", "callback_query", "inline_query"}


def test_a_group_message_not_addressing_the_bot_gets_no_reply(bot: Running) -> None:
    bot.api.say(GROUP, ANN, "who decides on negotiations")
    bot.api.say(GROUP, ANN, "/ask@SomeOtherBot who decides on negotiations")
    mention = bot.api.say(GROUP, ANN, f"@{BOT} who decides on negotiations")
    ask = bot.api.say(GROUP, ANN, "/ask what did the mayor say")
    bot.api.wait_for(lambda: len(bot.api.sent(GROUP["id"])) >= 2, REPLY)
    first, second = sorted(bot.api.sent(GROUP["id"]), key=lambda c: c.params["text"])
    answered = {c.params["reply_parameters"]["message_id"] for c in (first, second)}
    assert answered == {mention["message_id"], ask["message_id"]}
    assert "&lt;script&gt;" in first.params["text"] and "Zelensky" in second.params["text"]


def test_a_more_press_is_answered(bot: Running) -> None:
    before = len(bot.api.sent(PRIVATE["id"]))
    bot.api.say(PRIVATE, ANN, "who decides on negotiations")
    bot.api.wait_for(lambda: len(bot.api.sent(PRIVATE["id"])) > before, REPLY)
    first = replies(bot.api, PRIVATE)[before]
    before += 1
    more = first["reply_markup"]["inline_keyboard"][0][0]["callback_data"]  # type: ignore[index]
    query = bot.api.press(first, more, ANN)
    bot.api.wait_for(
        lambda: [c for c in bot.api.called("answerCallbackQuery") if c.params["callback_query_id"] == query],
        REPLY,
    )
    bot.api.wait_for(lambda: len(bot.api.sent(PRIVATE["id"])) > before, REPLY)
    stale = bot.api.press(first, "more:fromlastweek", ANN)
    answer = bot.api.wait_for(
        lambda: [c for c in bot.api.called("answerCallbackQuery") if c.params["callback_query_id"] == stale],
        REPLY,
    )[0]
    assert "ask again" in answer.params["text"]


@pytest.mark.parametrize(
    "fault",
    [{"status": 429, "retry_after": 1}, {"status": 500, "times": 2}, {"status": 0}],
    ids=["429", "500", "dropped"],
)
def test_a_failed_send_is_survived_and_the_reply_still_arrives(bot: Running, fault: dict[str, Any]) -> None:
    before = len(bot.api.sent(PRIVATE["id"]))
    bot.api.fail("sendMessage", **fault)
    bot.api.say(PRIVATE, ANN, "who decides on negotiations")
    bot.api.wait_for(lambda: len(bot.api.sent(PRIVATE["id"])) > before, REPLY)
    assert "Zelensky" in str(replies(bot.api, PRIVATE)[-1]["text"])


def test_polling_survives_bot_api_faults(bot: Running) -> None:
    bot.api.fail("getUpdates", 500, times=3)
    bot.api.fail("getUpdates", 0)
    before = len(bot.api.sent(PRIVATE["id"]))
    bot.api.say(PRIVATE, ANN, "who decides on negotiations")
    bot.api.wait_for(lambda: len(bot.api.sent(PRIVATE["id"])) > before, REPLY)


def test_it_stops_on_sigterm_having_sent_only_what_telegram_takes_and_never_the_token(
    bot: Running,
) -> None:
    bot.api.say(GROUP, ANN, "/ask who decides on negotiations")
    bot.api.wait_for(lambda: bot.api.sent(GROUP["id"]), REPLY)
    assert bot.stop() == 0
    assert bot.api.refused == []
    assert "Serving 2 articles" in bot.output
    assert SECRET not in bot.output
    assert " ERROR " not in bot.output and " CRITICAL " not in bot.output, bot.output


def test_sigterm_during_a_retry_loop_ends_it_and_logs_the_unanswered_update(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    api = FakeBotAPI(TOKEN, username=BOT)
    with FakeBotAPIServer(api) as server:
        running = start(config, api, server)
        api.wait_for(lambda: api.called("getUpdates"), STARTUP)
        api.fail("sendMessage", 500, times=100)
        api.say(PRIVATE, ANN, "who decides on negotiations")
        api.wait_for(lambda: len(api.called("sendMessage")) >= 2, REPLY)
        assert running.stop() == 0
    assert f"Stopping: update 1 (chat {PRIVATE['id']}) was not answered" in running.output
    # The retry loop was cut short: the policy allows 8 tries over about 45 s.
    assert len(api.called("sendMessage")) < 8
    assert api.sent() == []


def test_a_send_held_eight_seconds_then_answered_arrives_once(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    api = FakeBotAPI(TOKEN, username=BOT)
    with FakeBotAPIServer(api) as server:
        running = start(config, api, server)
        try:
            api.wait_for(lambda: api.called("getUpdates"), STARTUP)
            api.fail("sendMessage", 200, delay=8)
            api.say(PRIVATE, ANN, "who decides on negotiations")
            api.wait_for(lambda: api.sent(PRIVATE["id"]), REPLY + 8)
            api.say(PRIVATE, ANN, "/about")  # a later reply shows the bot went on, and no retry came
            api.wait_for(lambda: len(api.sent(PRIVATE["id"])) >= 2, REPLY)
        finally:
            running.stop()
    first, about = api.sent(PRIVATE["id"])
    assert "Zelensky" in first.params["text"] and "verbatim" in about.params["text"]
    assert len(api.called("sendMessage")) == 2


def test_without_telegram_the_bot_says_so_in_one_line_and_keeps_trying(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    api = FakeBotAPI(TOKEN, username=BOT)
    server = FakeBotAPIServer(api)
    server.__exit__()  # closed: nothing listens on its port
    running = start(config, api, server)
    read_until(running, "Telegram is unreachable")
    assert running.stop() == 0
    output = running.output
    assert sum("Telegram is unreachable" in line for line in output.splitlines()) >= 1
    assert "Traceback" not in output and " ERROR " not in output
    assert len(output.splitlines()) < 15


def test_a_token_telegram_rejects_ends_the_run_with_one_clear_line(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    api = FakeBotAPI(TOKEN, username=BOT)
    wrong = "111:AAwrongWrongWrongWrongWrongWrong"
    with FakeBotAPIServer(api) as server:
        running = start(config, api, server, token=wrong)
        try:
            running.process.wait(timeout=STARTUP)
        finally:
            running.stop()
    assert running.process.returncode == 2
    assert "newsbot: Telegram rejected the token in TELEGRAM_BOT_TOKEN" in running.output
    assert wrong.partition(":")[2] not in running.output


def test_sigterm_during_an_outage_stops_the_bot_promptly(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    api = FakeBotAPI(TOKEN, username=BOT)
    with FakeBotAPIServer(api) as server:
        running = start(config, api, server)
        api.wait_for(lambda: api.called("getUpdates"), STARTUP)
        api.fail("getUpdates", 0, times=10_000)  # the outage: every poll's connection dropped
        # Several failed polls: python-telegram-bot alone would now back off for seconds.
        api.wait_for(lambda: len([c for c in api.called("getUpdates") if c.status == 0]) >= 3, STARTUP)
        assert running.stop() == 0
    assert "Polling failed" in running.output and SECRET not in running.output


def post_until_listening(request: urllib.request.Request, *, tries: int = 50) -> None:
    """POST `request`, retrying while the bot's webhook server is still starting."""
    for _ in range(tries):
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 200
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens at {request.full_url}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_webhook_mode_answers_what_telegram_posts(tmp_path: Path) -> None:
    port = free_port()
    webhook = {
        "listen": "127.0.0.1",
        "port": port,
        "url": "https://bot.example.org",
        "path": "hook",
        "secret_token": "s3cret-Value",
    }
    config = write_config(tmp_path, {"mode": "webhook", "webhook": webhook})
    api = FakeBotAPI(TOKEN, username=BOT)
    with FakeBotAPIServer(api) as server:
        running = start(config, api, server)
        try:
            registered = api.wait_for(lambda: api.called("setWebhook"), STARTUP)[0]
            assert registered.params["url"] == "https://bot.example.org/hook"
            assert registered.params["secret_token"] == "s3cret-Value"
            update = {
                "update_id": 1,
                "message": api.message(PRIVATE, ANN, "who decides on negotiations"),
            }
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/hook",
                data=json.dumps(update).encode(),
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": "s3cret-Value",
                },
            )
            post_until_listening(request)
            api.wait_for(lambda: api.sent(PRIVATE["id"]), REPLY)
        finally:
            assert running.stop() == 0
    assert "Zelensky" in str(replies(api, PRIVATE)[0]["text"])
    assert SECRET not in running.output


def test_webhook_mode_without_a_secret_is_refused_unless_allowed_and_then_warned(tmp_path: Path) -> None:
    port = free_port()
    webhook: dict[str, object] = {"listen": "127.0.0.1", "port": port, "url": "https://bot.example.org", "path": "hook"}
    (tmp_path / "refused").mkdir()
    (tmp_path / "allowed").mkdir()
    refused = write_config(tmp_path / "refused", {"mode": "webhook", "webhook": webhook})
    api = FakeBotAPI(TOKEN, username=BOT)
    with FakeBotAPIServer(api) as server:
        running = start(refused, api, server)
        running.process.wait(timeout=STARTUP)
        assert running.stop() == 2
        assert "telegram.webhook.secret_token: required in webhook mode" in running.output
        assert api.calls == []

        allowed = write_config(
            tmp_path / "allowed", {"mode": "webhook", "webhook": {**webhook, "allow_without_secret": True}}
        )
        running = start(allowed, api, server)
        try:
            api.wait_for(lambda: api.called("setWebhook"), STARTUP)
            update = {"update_id": 5, "message": api.message(PRIVATE, ANN, "who decides on negotiations")}
            for _ in range(2):  # Telegram posting the same update again
                post_until_listening(
                    urllib.request.Request(
                        f"http://127.0.0.1:{port}/hook",
                        data=json.dumps(update).encode(),
                        headers={"Content-Type": "application/json"},
                    )
                )
            api.wait_for(lambda: api.sent(PRIVATE["id"]), REPLY)
            read_until(running, "came again: already handled")
        finally:
            assert running.stop() == 0
    assert "WEBHOOK WITHOUT A SECRET TOKEN" in running.output
    assert len(api.sent(PRIVATE["id"])) == 1
