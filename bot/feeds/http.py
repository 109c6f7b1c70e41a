"""HTTP for feeds and article pages: httpx with newsbot's manners.

A User-Agent naming newsbot, timeouts (each read and the whole request), a cap on the body
(counted after gzip/deflate decoding, so a compressed bomb is caught too), at most
`fetch.max_redirects` redirects, conditional requests (ETag / If-Modified-Since), 429 and 503
with Retry-After reported as `RateLimited`, and at most `per_host` requests to one host at once.
Every failure is a `FetchError` whose message is the reason.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

import httpx

from bot.feeds.errors import FetchError, RateLimited

__all__ = ["USER_AGENT", "HttpClient", "Response"]

USER_AGENT = "newsbot/0.1 (news feed reader; +https://pypi.org/project/newsbot/) httpx"
MAX_REDIRECTS = 8
MAX_CONNECTIONS = 32
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"  # noqa: E501
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True, slots=True)
class Response:
    """A fetched body (empty for 304 Not Modified) with the headers newsbot uses."""

    url: str
    status: int
    body: bytes = b""
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def retry_after_seconds(value: str, *, now: float | None = None) -> float | None:
    """Read a Retry-After header: seconds, or an HTTP date; None when it is neither."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class HttpClient:
    """One shared httpx client for a fetch, with a per-host limit on requests at once."""

    def __init__(self, *, timeout: float, max_bytes: int, per_host: int) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.per_host = per_host
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS),
            trust_env=False,
        )

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self._client.aclose()

    def _host(self, url: str) -> asyncio.Semaphore:
        host = (urlsplit(url).hostname or "").lower()
        if host not in self._hosts:
            self._hosts[host] = asyncio.Semaphore(self.per_host)
        return self._hosts[host]

    async def get(self, url: str, *, accept: str = PAGE_ACCEPT, etag: str = "", last_modified: str = "") -> Response:
        """GET `url`; a 304 comes back as a `Response` with `not_modified`, every failure as FetchError."""
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        async with self._host(url):
            try:
                async with asyncio.timeout(self.timeout * 2):
                    return await self._get(url, headers)
            except httpx.TooManyRedirects:
                raise FetchError(f"redirect loop (more than {MAX_REDIRECTS} redirects)") from None
            except (httpx.TimeoutException, TimeoutError):
                raise FetchError(f"timed out after {self.timeout:g} s") from None
            except httpx.InvalidURL as error:
                raise FetchError(f"invalid URL: {error}") from None
            except httpx.HTTPError as error:
                raise FetchError(f"{type(error).__name__}: {error or 'connection failed'}") from None

    async def _get(self, url: str, headers: dict[str, str]) -> Response:
        async with self._client.stream("GET", url, headers=headers) as response:
            final = str(response.url)
            status = response.status_code
            if status == 304:
                return Response(url=final, status=304, etag=headers.get("If-None-Match", ""))
            if status in (429, 503):
                wait = retry_after_seconds(response.headers.get("Retry-After", ""))
                if status == 429 or wait is not None:
                    wait = 60.0 if wait is None else wait
                    raise RateLimited(f"HTTP {status} {response.reason_phrase}: retry after {wait:.0f} s", wait)
            if status >= 400:
                raise FetchError(f"HTTP {status} {response.reason_phrase}".rstrip())
            if status != 200:
                raise FetchError(f"unexpected HTTP {status} {response.reason_phrase}".rstrip())
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > self.max_bytes and "Content-Encoding" not in response.headers:
                raise FetchError(f"body of {int(length):,} bytes is over the {self.max_bytes:,}-byte limit")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self.max_bytes:
                    raise FetchError(f"body over the {self.max_bytes:,}-byte limit")
            return Response(
                url=final,
                status=status,
                body=bytes(body),
                content_type=response.headers.get("Content-Type", ""),
                etag=response.headers.get("ETag", ""),
                last_modified=response.headers.get("Last-Modified", ""),
            )
