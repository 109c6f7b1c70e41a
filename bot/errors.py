"""Every exception `bot` raises; the CLI turns each into one line on stderr and exit code 2.

BotError
├── ConfigError     config.yaml cannot be used (names the key, the value and what is allowed)
├── QuestionsError  a questions file for `newsbot eval` cannot be used
├── CommandError    a command line the user can fix
└── ShuttingDown    the running bot is stopping: a reply waiting to be retried is given up
                    (handled inside the bot, logged, never shown on the command line)

Errors of the retrieval library are in `retrieval.errors`.
"""

from __future__ import annotations

__all__ = ["BotError", "CommandError", "ConfigError", "QuestionsError", "ShuttingDown"]


class BotError(Exception):
    """Base of every error raised by `bot`."""


class ConfigError(BotError):
    """config.yaml cannot be used; the message says which key and why."""


class QuestionsError(BotError):
    """A questions file cannot be used."""


class CommandError(BotError):
    """A problem the user can fix, reported in one line."""


class ShuttingDown(BotError):
    """The bot is stopping: a send that was waiting to be retried is given up."""
