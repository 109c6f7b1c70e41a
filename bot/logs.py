"""The bot's log: INFO to stderr, the token never in it, handled faults not dressed up as errors.

`bot.app.run` calls `redact_logs(token)` before anything logs. Every record, from newsbot or from
the libraries under it (httpx logs request URLs, and the URL holds the token), passes two
filters on the way out: `HandledFaults` turns python-telegram-bot's ERROR records of faults it
handled itself into one WARNING line, and `RedactingFilter` replaces the token with a placeholder.
The bot's error handler logs each fault of an update through `log_fault`.
"""

from __future__ import annotations

import logging
import warnings

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.warnings import PTBDeprecationWarning

from bot.delivery import SEND_TIMEOUT, retry_after
from bot.errors import ShuttingDown

__all__ = ["HandledFaults", "RedactingFilter", "log_fault", "redact_logs"]

_LOGGER = logging.getLogger(__name__)


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


class HandledFaults(logging.Filter):
    """python-telegram-bot's records of faults it handled itself: one WARNING line, no traceback.

    Its Updater logs a failed last getUpdates while stopping ("Suppressing error to ensure
    graceful shutdown") as an ERROR with a traceback, which wakes an operator for nothing.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and "Suppressing error" in record.getMessage():
            cause = record.exc_info[1] if record.exc_info else None
            record.msg, record.args = f"{record.getMessage().split('. ')[0]}: {cause!r}", None
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def redact_logs(token: str) -> RedactingFilter:
    """Log at INFO to stderr with the token redacted from every record, wherever it comes from."""
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    # httpx logs every request URL at INFO, and the URL holds the token.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    # python-telegram-bot 22 warns on every RetryAfter it builds that `retry_after` will become a
    # timedelta; bot.delivery.retry_after reads either, so the warning says nothing to an operator.
    warnings.filterwarnings("ignore", message=r".*`retry_after` will be of type", category=PTBDeprecationWarning)
    secret = token.partition(":")[2]
    redactor = RedactingFilter([token] + ([secret] if len(secret) >= 8 else []))
    # A filter on a handler sees records from every logger; one on a logger only its own.
    for handler in logging.getLogger().handlers:
        handler.addFilter(HandledFaults())
        handler.addFilter(redactor)
    return redactor


def log_fault(where: str, error: BaseException | None) -> bool:
    """Log the fault of an update (`where`) in one line at the level it deserves; True for a bug.

    Handled faults (flood control, Telegram or the network failing) are WARNINGs; ERROR is kept
    for a reply that was lost and for bugs, which are logged with their traceback.
    """
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
        return True
    return False
