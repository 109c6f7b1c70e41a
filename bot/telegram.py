"""The Telegram bot: one function builds the application, one runs it.

`run(config)` is what `newsbot run` calls: it reads the token from TELEGRAM_BOT_TOKEN, keeps it
out of every log line, opens the engine (loading or building the index) before the first
update, then polls or serves a webhook as config.yaml says until Ctrl-C or SIGTERM.
`build_application` wires the handlers of `bot.handlers`; tests call it with a fake request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import handlers
from bot.config import Config, TelegramConfig
from bot.delivery import PollingRequest
from bot.handlers import BotState, Pages, QuestionLimiter

__all__ = ["BOT_COMMANDS", "build_application", "redact_logs", "run"]

_LOGGER = logging.getLogger(__name__)

_WATCHER_KEY = "newsbot-watcher"
TOKEN_VARIABLE = "TELEGRAM_BOT_TOKEN"
BASE_URL_VARIABLE = "NEWSBOT_TELEGRAM_BASE_URL"
# A bot token is the bot's numeric id, a colon, and a secret of URL-safe characters.
TOKEN_PATTERN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,200}")
UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
# Bootstrapping (getMe, deleteWebhook/setWebhook) is retried this often before giving up.
BOOTSTRAP_RETRIES = 5
# The rate limiter waits out this many RetryAfter answers itself; bot.delivery does the rest.
RATE_LIMITER_RETRIES = 2

BOT_COMMANDS = (
    BotCommand("start", "What I do, with questions to try"),
    BotCommand("ask", "Ask a question about the news"),
    BotCommand("sources", "Which articles and outlets I know"),
    BotCommand("help", "How to ask, in private, groups and inline"),
    BotCommand("about", "How I find my answers"),
)


# -- logging -----------------------------------------------------------------------------


class RedactingFilter(logging.Filter):
    """Replace secrets in every record (message, arguments, traceback) with a placeholder."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<token>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def redact_logs(token: str) -> RedactingFilter:
    """Log at INFO to stderr with the token redacted from every record, wherever it comes from."""
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    # httpx logs every request URL at INFO, and the URL holds the token.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    secret = token.partition(":")[2]
    redactor = RedactingFilter([token] + ([secret] if len(secret) >= 8 else []))
    # A filter on a handler sees records from every logger; one on a logger only its own.
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    return redactor


# -- the application ---------------------------------------------------------------------


async def _post_init(application: Application) -> None:
    """Register the commands so clients show them; a failure here must not stop the bot."""
    try:
        await application.bot.set_my_commands(BOT_COMMANDS)
    except TelegramError as error:
        _LOGGER.warning("Could not register the bot's commands: %s", error)
    _LOGGER.info("Running as @%s", application.bot.username)
    state: BotState = application.bot_data[handlers.STATE_KEY]
    if state.settings.refresh_seconds:
        # Not application.create_task: the application awaits those on stop, and this never ends.
        application.bot_data[_WATCHER_KEY] = asyncio.create_task(
            watch_corpus(state, state.settings.refresh_seconds), name="newsbot-corpus-watcher"
        )


async def _post_stop(application: Application) -> None:
    task = application.bot_data.pop(_WATCHER_KEY, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def refresh_corpus(state: BotState) -> bool:
    """Pick up added, changed and removed corpus files, off the event loop; return whether any."""
    changed = await asyncio.to_thread(state.engine.refresh)
    if changed:
        state.stats = await asyncio.to_thread(lambda: state.engine.stats)
        state.examples = await asyncio.to_thread(handlers.example_questions, state.engine)
        _LOGGER.info("The corpus changed: now serving %d articles", state.stats.articles)
    return changed


async def watch_corpus(state: BotState, every: float) -> None:
    """Refresh the corpus every `every` seconds for as long as the bot runs."""
    while True:
        await asyncio.sleep(every)
        try:
            await refresh_corpus(state)
        except Exception:  # a bad moment on disk must not end the watching
            _LOGGER.exception("Could not refresh the corpus; trying again in %s s", every)


def build_application(
    config: TelegramConfig,
    engine: Any,
    *,
    token: str,
    base_url: str | None = None,
    request: BaseRequest | None = None,
) -> Application:
    """Build the application: defaults, rate limiter, handlers, and the shared state."""
    builder = (
        Application.builder()
        .token(token)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                allow_sending_without_reply=True,
            )
        )
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMITER_RETRIES))
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
        builder = builder.get_updates_request(PollingRequest(connection_pool_size=1))
    application = builder.build()

    application.bot_data[handlers.STATE_KEY] = BotState(
        engine=engine,
        settings=config,
        stats=engine.stats,
        examples=handlers.example_questions(engine),
        pages=Pages(),
        limiter=QuestionLimiter(config.questions_per_minute),
    )

    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    groups = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
    application.add_handler(TypeHandler(Update, handlers.gate), group=-1)
    application.add_handlers(
        [
            *(
                CommandHandler(name, callback, filters.UpdateType.MESSAGE)
                for name, callback in handlers.COMMANDS.items()
            ),
            MessageHandler(
                filters.UpdateType.MESSAGE
                & filters.TEXT
                & ~filters.COMMAND
                & filters.Regex(r"^/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?(\s|$)"),
                handlers.typed_command,
            ),
            MessageHandler(private & filters.TEXT & ~filters.COMMAND, handlers.private_question),
            MessageHandler(
                groups & filters.TEXT & ~filters.COMMAND & handlers.AddressedToBot(),
                handlers.group_question,
            ),
            MessageHandler(private & filters.COMMAND, handlers.unknown_command),
            MessageHandler(private & ~filters.TEXT & ~filters.StatusUpdate.ALL, handlers.non_text),
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


def run(config: Config) -> int:
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
        engine = Engine.open(config.corpus, config.index_dir, config.settings)
    except (RetrievalError, OSError) as error:
        return _fail(f"cannot open the corpus: {error}")
    stats = engine.stats
    _LOGGER.info("Serving %d articles (%d passages) from %s", stats.articles, stats.passages, config.corpus)

    settings = config.telegram
    application = build_application(settings, engine, token=token, base_url=base_url)
    try:
        if settings.mode == "webhook":
            hook = settings.webhook
            application.run_webhook(
                listen=hook.listen,
                port=hook.port,
                url_path=hook.path.strip("/"),
                webhook_url=_webhook_url(settings),
                secret_token=hook.secret_token or None,
                allowed_updates=UPDATES,
                bootstrap_retries=BOOTSTRAP_RETRIES,
            )
        else:
            application.run_polling(allowed_updates=UPDATES, bootstrap_retries=BOOTSTRAP_RETRIES)
    except InvalidToken:
        return _fail("Telegram rejected the token in TELEGRAM_BOT_TOKEN: check it with @BotFather")
    except Exception as error:  # the last line of defence: say what failed, without the token
        _LOGGER.critical("The bot stopped: %s", redactor.redact(repr(error)), exc_info=error)
        return 1
    _LOGGER.info("Stopped")
    return 0
