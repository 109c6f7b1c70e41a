"""Every exception `retrieval` raises.

RetrievalError
├── SettingsError      a setting has a value it cannot take
├── CorpusError        the corpus path cannot be used at all (missing, not a folder or .jsonl)
├── CorruptIndexError  an index on disk is corrupt, half-written or foreign (rebuilt, never trusted)
│   └── DamagedSegmentError  a checksum failed while reading one segment (that segment is rebuilt)
├── IndexWriteError    the index could not be written (disk full, permissions); the old one stays
├── AnalysisError      a worker process analysing a build ended before finishing (the old index stays)
└── DecideModelError   the decision model file is missing or malformed
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


class DamagedSegmentError(CorruptIndexError):
    """Bytes of one segment failed their checksum when read; `where` names the segment's file."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where


class IndexWriteError(RetrievalError):
    """Writing the index failed; the message names the cause and the file."""


class AnalysisError(RetrievalError):
    """A worker process analysing a build ended before finishing its work; nothing was indexed."""


class DecideModelError(RetrievalError):
    """The decision model file cannot be used; the message names the file and what is wrong."""
