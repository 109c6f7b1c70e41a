"""Every exception the feed fetcher raises; each message is the reason shown beside the URL.

FetchError        a feed or page could not be fetched or read (timeout, HTTP status, size, …)
└── RateLimited   the server said 429 / 503 with Retry-After: not before `retry_after` seconds
FetchStopped      the fetch was asked to stop (the bot is shutting down); what it stored stays
"""

from __future__ import annotations


class FetchError(Exception):
    """A feed or page could not be fetched or read; the message is the reason."""


class RateLimited(FetchError):
    """The server asked us to come back later."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FetchStopped(Exception):
    """The fetch was asked to stop before it finished; every article it stored is complete and kept."""
