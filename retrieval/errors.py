"""Every exception `retrieval` raises.

RetrievalError
├── SettingsError      a setting has a value it cannot take
├── CorpusError        the corpus path cannot be used at all (missing, not a folder or .jsonl)
└── CorruptIndexError  an index on disk is corrupt, half-written or foreign (rebuilt, never trusted)
"""

from __future__ import annotations


class RetrievalError(Exception):
    """Base of every error raised by `retrieval`."""


class SettingsError(RetrievalError, ValueError):
    """A setting has a value it cannot take; the message names key, value and what is allowed."""


class CorpusError(RetrievalError):
    """The corpus path cannot be used at all."""


class CorruptIndexError(RetrievalError):
    """An index on disk cannot be trusted."""
