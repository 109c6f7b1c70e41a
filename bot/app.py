"""The Telegram bot: one function builds the application, one runs it.

`run(config)` is what `newsbot run` calls: it reads the token from TELEGRAM_BOT_TOKEN, keeps it
out of every log line, opens the engine (loading or building the index) before the first
update, reaches Telegram (saying so in one line, and trying again with a backoff, while it
cannot), then polls or serves a webhook as config.yaml says until Ctrl-C or SIGTERM. Stopping
gives the answers under way `SHUTDOWN_GRACE` seconds, then ends them and logs each one.
`build_application` wires the handlers of `bot.handlers`, the shared state of `bot.state` and
the rate limits of `bot.ratelimit`; tests call it with a fake request. With feeds in config.yaml,
`start_feeds` makes it also fetch them at start and every `fetch.every_seconds` (`bot.feeds.schedule`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    ExtBot,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot import handlers
from bot.config import Config, TelegramConfig
from bot.delivery import SEND_TIMEOUT, PollingRequest
from bot.examples import example_questions
from bot.logs import redact_logs
from bot.messages import AddressedToBot
from bot.ratelimit import FloodControl
from bot.state import CONTEXT_TYPES, AnswerEngine, BotData, BotState, NewsContext, Pages, QuestionLimiter
from retrieval.models import RefreshReport

__all__ = ["BOT_COMMANDS", "build_application", "start_feeds", "run", "serve"]

_LOGGER = logging.getLogger(__name__)

TOKEN_VARIABLE = "TELEGRAM_BOT_TOKEN"
BASE_URL_VARIABLE = "NEWSBOT_TELEGRAM_BASE_URL"
# A bot token is the bot's numeric id, a colon, and a secret of URL-safe characters.
TOKEN_PATTERN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,200}")
# What the handlers use, and so what Telegram is asked for.
UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
# Seconds the answers under way get to finish when the bot is told to stop.
SHUTDOWN_GRACE = 2.0
# Reaching Telegram at start: the pause after a failure doubles up to this many seconds.
CONNECT_MAX_DELAY = 60.0

BOT_COMMANDS = (
    BotCommand("start", "What I do, with questions to try"),
    BotCommand("ask", "Ask a question about the news"),
    BotCommand("sources", "Which articles and outlets I know"),
    BotCommand("help", "How to ask, in private, groups and inline"),
    BotCommand("about", "How I find my answers"),
)


# -- the application ---------------------------------------------------------------------

# The application newsbot builds: handlers get a NewsContext, bot_data is a BotData.
NewsApplication = Application[ExtBot[Any], NewsContext, dict[Any, Any], dict[Any, Any], BotData, Any]


async def _post_init(application: NewsApplication) -> None:
    """Register the commands so clients show them; start watching the corpus."""
    try:
        await application.bot.set_my_commands(BOT_COMMANDS)
    except TelegramError as error:
        _LOGGER.warning("Could not register the bot's commands: %s", error)
    _LOGGER.info("Running as @%s", application.bot.username)
    state = application.bot_data.require()
    # Every block of the index is checked once in the background; damage found is rebuilt.
    state.background.append(asyncio.create_task(verify_index(state), name="newsbot-index-check"))
    if state.settings.refresh_seconds:
        # Not application.create_task: the application awaits those on stop, and this never ends.
        state.background.append(
            asyncio.create_task(watch_corpus(state, state.settings.refresh_seconds), name="newsbot-corpus-watcher")
        )


async def _post_stop(application: NewsApplication) -> None:
    state = application.bot_data.require()
    for task in state.background:
        task.cancel()
    for task in state.background:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    state.background.clear()


def start_feeds(application: NewsApplication, config: Config) -> None:
    """Make the application fetch the feeds at start and every `fetch.every_seconds` while it runs."""
    first = application.post_init

    async def post_init(app: NewsApplication) -> None:
        if first is not None:
            await first(app)
        from bot.feeds.schedule import fetch_forever

        state = app.bot_data.require()
        state.background.append(
            asyncio.create_task(fetch_forever(config, lambda: refresh_corpus(state)), name="newsbot-feed-fetcher")
        )

    application.post_init = post_init


async def verify_index(state: BotState) -> None:
    """Check the whole index off the event loop; rebuild any damaged part at once."""
    try:
        if not await asyncio.to_thread(state.engine.verify):
            await refresh_corpus(state)
    except Exception:  # a check that fails must not stop the bot
        _LOGGER.exception("Could not check the index")


async def refresh_corpus(state: BotState) -> bool:
    """Pick up added, changed and removed corpus files, off the event loop; return whether any."""
    update = await asyncio.to_thread(state.engine.refresh)
    _log_refresh(update, problems=update.changed)
    if update:
        state.stats = await asyncio.to_thread(lambda: state.engine.stats)
        state.examples = await asyncio.to_thread(example_questions, state.engine)
        _LOGGER.info("The corpus changed: now serving %d articles", state.stats.articles)
    return update.changed


def _log_refresh(update: RefreshReport, *, problems: bool = True) -> None:
    """Log what a refresh skipped (when it read files) and its warnings (each said once)."""
    for problem in update.problems if problems else ():
        _LOGGER.warning("Skipped %s", problem)
    for warning in update.warnings:
        _LOGGER.warning("%s", warning)


async def watch_corpus(state: BotState, every: float) -> None:
    """Refresh the corpus every `every` seconds for as long as the bot runs."""
    while True:
        await asyncio.sleep(every)
        try:
            await refresh_corpus(state)
        except Exception:  # a bad moment on disk must not end the watching
            _LOGGER.exception("Could not refresh the corpus; trying again in %s s", every)


COMMAND_PATTERN = r"^/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?(\s|$)"


def build_application(
    config: TelegramConfig,
    engine: AnswerEngine,
    *,
    token: str,
    base_url: str | None = None,
    request: BaseRequest | None = None,
    rate_limiter: Any = None,
) -> NewsApplication:
    """Build the application: defaults, rate limits, handlers, and the shared state."""
    builder = (
        Application.builder()
        .token(token)
        .context_types(CONTEXT_TYPES)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                allow_sending_without_reply=True,
            )
        )
        .rate_limiter(rate_limiter if rate_limiter is not None else FloodControl())
        # One slow search or one reply waiting out flood control must not hold up other chats.
        .concurrent_updates(True)
        .post_init(_post_init)
        .post_stop(_post_stop)
    )
    if base_url:
        builder = builder.base_url(base_url).base_file_url(_file_url(base_url))
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        sends = HTTPXRequest(connection_pool_size=256, read_timeout=SEND_TIMEOUT, write_timeout=SEND_TIMEOUT)
        builder = builder.request(sends).get_updates_request(PollingRequest(connection_pool_size=1))
    application: NewsApplication = builder.build()

    application.bot_data.state = BotState(
        engine=engine,
        settings=config,
        stats=engine.stats,
        examples=example_questions(engine),
        pages=Pages(),
        limiter=QuestionLimiter(config.questions_per_minute),
    )

    messages = filters.UpdateType.MESSAGES  # new and edited
    private = filters.ChatType.PRIVATE & messages
    groups = filters.ChatType.GROUPS & messages
    said = filters.TEXT | filters.CAPTION
    application.add_handler(TypeHandler(Update, handlers.admit), group=-2)
    application.add_handler(TypeHandler(Update, handlers.gate), group=-1)
    application.add_handlers(
        [
            *(
                CommandHandler(name, callback, messages if name == "ask" else filters.UpdateType.MESSAGE)
                for name, callback in handlers.COMMANDS.items()
            ),
            MessageHandler(
                messages & ~filters.COMMAND & (filters.Regex(COMMAND_PATTERN) | filters.CaptionRegex(COMMAND_PATTERN)),
                handlers.typed_command,
            ),
            MessageHandler(private & said & ~filters.COMMAND, handlers.private_question),
            MessageHandler(groups & said & ~filters.COMMAND & AddressedToBot(), handlers.group_question),
            MessageHandler(filters.StatusUpdate.NEW_CHAT_MEMBERS, handlers.added_to_group),
            MessageHandler(private & filters.COMMAND, handlers.unknown_command),
            MessageHandler(
                filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & ~said & ~filters.StatusUpdate.ALL,
                handlers.non_text,
            ),
            CallbackQueryHandler(handlers.more, pattern=r"^more:"),
            CallbackQueryHandler(handlers.show_context, pattern=r"^ctx:"),
            CallbackQueryHandler(handlers.stale_button),
            InlineQueryHandler(handlers.inline_query),
        ]
    )
    application.add_error_handler(handlers.error_handler)
    return application


def _file_url(base_url: str) -> str:
    """Return the file URL matching a Bot API base URL: …/bot → …/file/bot."""
    head, bot, tail = base_url.rpartition("/bot")
    return f"{head}/file/bot{tail}" if bot else base_url


def _webhook_url(config: TelegramConfig) -> str:
    """Return the public URL Telegram posts to: webhook.url, plus webhook.path if it has none."""
    url = config.webhook.url
    if urlsplit(url).path.strip("/"):
        return url
    return f"{url.rstrip('/')}/{config.webhook.path.strip('/')}"


# -- running -----------------------------------------------------------------------------


def _fail(message: str) -> int:
    print(f"newsbot: {message}", file=sys.stderr)
    return 2


async def connect(application: NewsApplication, stop: asyncio.Event) -> bool:
    """Initialize (getMe) until Telegram answers; False if told to stop first. InvalidToken raises."""
    delay = 1.0
    while True:
        try:
            await application.initialize()
            return True
        except InvalidToken:
            raise
        except NetworkError as error:  # includes TimedOut and 5xx answers
            _LOGGER.warning("Telegram is unreachable (%s); trying again in %.0f s", error, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            return False
        delay = min(delay * 2, CONNECT_MAX_DELAY)


def _polling_error(error: TelegramError) -> None:
    _LOGGER.warning("Polling failed (%s); polling again", error)


async def serve(application: NewsApplication, settings: TelegramConfig, stop: asyncio.Event) -> None:
    """Reach Telegram, take updates until `stop` is set, then stop within SHUTDOWN_GRACE + ~1 s."""
    if not await connect(application, stop):
        return
    assert application.updater is not None
    if application.post_init is not None:
        await application.post_init(application)
    if settings.mode == "webhook":
        hook = settings.webhook
        if not hook.secret_token:
            _LOGGER.warning(
                "WEBHOOK WITHOUT A SECRET TOKEN: anyone who finds %s can post updates and be answered "
                "(telegram.webhook.allow_without_secret is true)",
                _webhook_url(settings),
            )
        await application.updater.start_webhook(
            listen=hook.listen,
            port=hook.port,
            url_path=hook.path.strip("/"),
            webhook_url=_webhook_url(settings),
            secret_token=hook.secret_token or None,
            allowed_updates=UPDATES,
            bootstrap_retries=-1,
        )
    else:
        await application.updater.start_polling(
            allowed_updates=UPDATES, bootstrap_retries=-1, error_callback=_polling_error
        )
    await application.start()
    try:
        await stop.wait()
    finally:
        _LOGGER.info("Stopping")
        if application.updater.running:
            await application.updater.stop()
        await application.bot_data.require().outbox.close(SHUTDOWN_GRACE)
        await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
        await application.shutdown()


async def _serve_until_signalled(application: NewsApplication, settings: TelegramConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve(application, settings, stop)


def run(config: Config, *, follow_links: bool = False) -> int:
    """Run the bot until Ctrl-C or SIGTERM; return the exit code."""
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        return _fail(
            f"{TOKEN_VARIABLE} is not set: talk to @BotFather in Telegram (/newbot) to get a "
            f"token, then run {TOKEN_VARIABLE}=<token> newsbot run"
        )
    if not TOKEN_PATTERN.fullmatch(token):
        return _fail(
            f"{TOKEN_VARIABLE} does not look like a bot token (digits, a colon, then letters, "
            "digits, _ and -): copy it again from @BotFather in Telegram"
        )
    base_url = os.environ.get(BASE_URL_VARIABLE, "").strip() or None
    if base_url and not base_url.startswith(("http://", "https://")):
        return _fail(
            f"{BASE_URL_VARIABLE}: expected an http:// or https:// URL the token is appended to, "
            "such as http://127.0.0.1:8081/bot"
        )
    redactor = redact_logs(token)

    from retrieval.engine import Engine  # imported here: building the index is the slow part
    from retrieval.errors import RetrievalError

    try:
        engine = Engine.open(
            config.corpus, config.index_dir, config.settings, follow_links=follow_links, wait_for_speller=False
        )
    except (RetrievalError, OSError) as error:
        return _fail(f"cannot open the corpus: {error}")
    _log_refresh(engine.opened)
    stats = engine.stats
    _LOGGER.info("Serving %d articles (%d passages) from %s", stats.articles, stats.passages, config.corpus)

    settings = config.telegram
    application = build_application(settings, engine, token=token, base_url=base_url)
    if config.feeds and config.fetch.every_seconds:
        start_feeds(application, config)
    try:
        asyncio.run(_serve_until_signalled(application, settings))
    except InvalidToken:
        return _fail("Telegram rejected the token in TELEGRAM_BOT_TOKEN: check it with @BotFather")
    except OSError as error:  # the webhook port is taken, or not ours to listen on
        return _fail(f"cannot serve the webhook: {redactor.redact(str(error))}")
    except Exception as error:  # the last line of defence: say what failed, without the token
        _LOGGER.critical("The bot stopped: %s", redactor.redact(repr(error)), exc_info=error)
        return 1
    _LOGGER.info("Stopped")
    return 0
