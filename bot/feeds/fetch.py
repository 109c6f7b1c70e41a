"""One fetch of every configured feed: the step between feeds on the web and corpus files.

    feed (conditional GET) ──▶ items ──▶ known and unchanged? skip
                                       ──▶ full text: the article page (trafilatura), else the
                                           item's content, else its summary
                                       ──▶ same canonical URL as a kept article? replace it if changed
                                       ──▶ near-duplicate of a kept article? name it there
                                       ──▶ else a new `.md` file in fetch.store

Feeds are fetched concurrently (at most `fetch.per_host` requests to a host at once); a feed
that fails is reported with its reason and backed off (doubling from a minute up to six
hours, or as long as its Retry-After said) and never touches what is stored. `newsbot fetch`
and the running bot both call `fetch_feeds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from bot.config import Config, FeedConfig
from bot.feeds.dedupe import NearDuplicates, signature
from bot.feeds.errors import FetchError, FetchStopped, RateLimited
from bot.feeds.extract import Page, extract_page
from bot.feeds.http import FEED_ACCEPT, HttpClient
from bot.feeds.parse import FeedItem, parse_feed
from bot.feeds.store import (
    ArticleFile,
    FeedState,
    FetchState,
    StoredArticle,
    add_mention,
    locked,
    read_state,
    sweep,
    write_article,
    write_state,
)
from bot.feeds.urls import canonical_url
from retrieval.models import Mention

__all__ = ["FeedReport", "FeedStatus", "FetchReport", "feed_statuses", "fetch_feeds"]

_LOGGER = logging.getLogger(__name__)

BACKOFF_FIRST = 60.0
BACKOFF_MAX = 6 * 3600.0
FEEDS_AT_ONCE = 16
# An item whose own content is this long and twice its summary is taken as the full article
# (content:encoded, Atom content); otherwise it is a teaser and the page is fetched.
FULL_CONTENT_CHARS = 200
# During a long fetch the state is saved at most this often (seconds), and always at the end.
SAVE_EVERY = 10.0


@dataclass(frozen=True, slots=True)
class FeedReport:
    """What one feed's fetch did; `error` says why the feed could not be read at all."""

    url: str
    name: str
    seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    failed: int = 0
    seconds: float = 0.0
    error: str = ""
    problems: tuple[str, ...] = ()

    @property
    def read(self) -> bool:
        return not self.error


@dataclass(frozen=True, slots=True)
class FetchReport:
    """Every feed's report, and how many stored articles passed `fetch.max_age_days`."""

    feeds: tuple[FeedReport, ...]
    expired: int = 0

    @property
    def changed(self) -> bool:
        return self.expired > 0 or any(f.new or f.updated or f.merged for f in self.feeds)


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """A feed as `newsbot feeds` lists it."""

    url: str
    name: str
    last_fetch: str
    status: str
    articles: int


def _iso(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, tz=dt.UTC).isoformat(timespec="seconds")


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def _digest(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode("utf-8")).hexdigest()[:16]


def _item_key(feed: FeedConfig, item: FeedItem) -> str:
    """What an item is remembered by: its canonical link, else its guid within its feed."""
    return canonical_url(item.link) if item.link else f"{feed.url}#{item.guid or _digest(item.title, item.summary)}"


def _forget(config: Config, state: FetchState) -> None:
    """Forget what no configured feed lists any more, so the state grows with the feeds, not with time.

    An article stays known (its URL and text signature keep it from being stored twice) unless
    it has passed `fetch.max_age_days` and no feed lists it.
    """
    urls = {feed.url for feed in config.feeds}
    state.feeds = {url: known for url, known in state.feeds.items() if url in urls}
    live = {key for known in state.feeds.values() for key in known.keys}
    state.items = {key: value for key, value in state.items.items() if key in live}
    listed = {value[1] for value in state.items.values()}
    state.articles = {
        url: article for url, article in state.articles.items() if not article.expired or url in listed
    }


@dataclass(frozen=True, slots=True)
class _Outcome:
    kind: str  # new | updated | unchanged | merged | failed
    problem: str = ""


class _Fetch:
    """One fetch run: the shared client, the state it updates, the near-duplicate index."""

    def __init__(self, config: Config, state: FetchState, client: HttpClient, *, force: bool, now: float) -> None:
        self.config = config
        self.store = config.fetch.store
        self.state = state
        self.client = client
        self.force = force
        self.now = now
        cutoff_days = config.fetch.max_age_days
        self.cutoff = _iso(now - cutoff_days * 86400)[:10] if cutoff_days else ""
        self._near: NearDuplicates | None = None
        self._saved = time.monotonic()

    @property
    def near(self) -> NearDuplicates:
        if self._near is None:
            self._near = NearDuplicates(
                {
                    url: a.signature
                    for url, a in self.state.articles.items()
                    if a.signature and not a.duplicate_of and not a.expired
                }
            )
        return self._near

    async def feed(self, feed: FeedConfig) -> FeedReport:
        start = time.perf_counter()
        known = self.state.feeds.setdefault(feed.url, FeedState())
        name = feed.name or known.title or _host(feed.url)
        if not self.force and known.next_try > self.now:
            wait = known.next_try - self.now
            failures = f"{known.failures} failure{'' if known.failures == 1 else 's'}"
            return FeedReport(
                feed.url,
                name,
                error=f"skipped: backing off after {failures} ({known.reason}); next try in {wait:.0f} s",
            )
        try:
            response = await self.client.get(
                feed.url, accept=FEED_ACCEPT, etag=known.etag, last_modified=known.last_modified
            )
            if response.not_modified:
                outcomes: list[_Outcome] = [_Outcome("unchanged")] * known.items
            else:
                parsed = await asyncio.to_thread(parse_feed, response.body, content_type=response.content_type)
                known.title = parsed.title
                name = feed.name or parsed.title or _host(feed.url)
                outcomes = list(await asyncio.gather(*(self.item(feed, name, item) for item in parsed.items)))
                known.etag, known.last_modified, known.items = response.etag, response.last_modified, len(outcomes)
                known.keys = [_item_key(feed, item) for item in parsed.items]
        except FetchError as error:
            self._failed(known, error)
            return FeedReport(feed.url, name, seconds=time.perf_counter() - start, error=str(error))
        except Exception as error:  # a parser's bug on one feed must not end the others' fetch
            _LOGGER.exception("Unexpected error reading feed %s", feed.url)
            failure = FetchError(f"unexpected error: {type(error).__name__}: {error}")
            self._failed(known, failure)
            return FeedReport(feed.url, name, seconds=time.perf_counter() - start, error=str(failure))
        known.last_fetch, known.status, known.reason, known.failures, known.next_try = _iso(self.now), "ok", "", 0, 0.0
        kinds = [o.kind for o in outcomes]
        report = FeedReport(
            url=feed.url,
            name=name,
            seen=len(outcomes),
            new=kinds.count("new"),
            updated=kinds.count("updated"),
            unchanged=kinds.count("unchanged"),
            merged=kinds.count("merged"),
            failed=kinds.count("failed"),
            seconds=time.perf_counter() - start,
            problems=tuple(o.problem for o in outcomes if o.problem),
        )
        if (report.new or report.updated or report.merged) and time.monotonic() - self._saved > SAVE_EVERY:
            # A fetch killed later keeps this work; file names alone already keep it from duplicating.
            write_state(self.store, self.state)
            self._saved = time.monotonic()
        return report

    def _failed(self, known: FeedState, error: FetchError) -> None:
        known.last_fetch, known.status, known.reason = _iso(self.now), "failed", str(error)
        known.failures += 1
        wait = min(BACKOFF_FIRST * 2 ** (known.failures - 1), BACKOFF_MAX)
        if isinstance(error, RateLimited):
            wait = max(wait, error.retry_after)
        known.next_try = self.now + wait

    async def item(self, feed: FeedConfig, name: str, item: FeedItem) -> _Outcome:
        key = _item_key(feed, item)
        seen = self.state.items.get(key)
        if seen and seen[0] == item.fingerprint and seen[1] in self.state.articles:
            return _Outcome("unchanged")
        page: Page | None = None
        final = item.link
        problem = ""
        full = len(item.content) >= max(FULL_CONTENT_CHARS, 2 * len(item.summary))
        if item.link and not full:
            try:
                response = await self.client.get(item.link)
                final = response.url
                page = await asyncio.to_thread(
                    extract_page, response.body, content_type=response.content_type, url=response.url
                )
                if page is None:
                    problem = f"{item.link}: no article text found on the page"
            except FetchError as error:
                problem = f"{item.link}: {error}"
            except Exception as error:  # an extractor's bug on one page: fall back to the item's text
                _LOGGER.exception("Unexpected error extracting %s", item.link)
                problem = f"{item.link}: unexpected error: {type(error).__name__}: {error}"
        text = item.content or item.summary
        if page is not None and len(page.text) >= 0.8 * len(item.content):
            text = page.text
        if not text:
            return _Outcome("failed", problem or f"{item.link or key}: no text in the item and no page")
        url = key
        if item.link:
            canonical = page.canonical if page is not None and page.canonical.startswith("http") else final
            url = canonical_url(canonical)
        published, origin = item.published, "item"
        if not published and page is not None and page.published:
            published, origin = page.published, "page"
        if not published:
            published, origin = _iso(self.now), "fetch"
        article = ArticleFile(
            url=url,
            title=item.title or (page.title if page else "") or url,
            source=name,
            text=text,
            published=published,
            published_from=origin,
            author=item.author or (page.author if page else ""),
            feed=feed.url,
            fetched=_iso(self.now),
        )
        outcome, kept = self.keep(article, page=canonical_url(final) if item.link else "")
        if not problem:  # a page that failed is tried again next time
            self.state.items[key] = [item.fingerprint, kept]
        return _Outcome(outcome, problem)

    def keep(self, article: ArticleFile, *, page: str = "") -> tuple[str, str]:
        """Store an article once: replace a changed one, name another outlet's copy, or add it.

        Returns what happened and the key (URL) it is kept under. `page` is the URL the article
        was read from, when its canonical URL names another address.
        """
        digest = _digest(article.title, article.text)
        stored = self.state.articles.get(article.url)
        if stored is not None and stored.source != article.source:
            # Another outlet's page naming this article as its canonical one: a syndicated copy.
            first = stored.duplicate_of or article.url
            alias = page if page and page != article.url else f"{article.url}#{_digest(article.source)}"
            article = replace(article, url=alias)
            stored = self.state.articles.get(alias)
            if stored is None:
                return self._merge(article, first, digest, signature(article.text)), alias
        if stored is not None and (stored.expired or stored.hash == digest):
            return "unchanged", article.url
        if self.cutoff and article.published[:10] < self.cutoff:
            return "unchanged", article.url  # older than fetch.max_age_days: not kept
        sig = signature(article.text)
        if stored is not None:
            stored.hash, stored.signature, stored.title = digest, sig, article.title
            if not stored.duplicate_of:
                self.near.add(article.url, sig)
                stored.path = write_article(self.store, replace(article, also_reported_by=self.mentions(article)))
            return "updated", article.url
        match = self.near.find(sig)
        if match is not None:
            return self._merge(article, match[0], digest, sig), article.url
        self._record(article, write_article(self.store, article), digest, sig)
        self.near.add(article.url, sig)
        return "new", article.url

    def _merge(self, article: ArticleFile, first: str, digest: str, sig: str) -> str:
        """Keep `article` as another outlet's copy of the kept article `first`, named in its file."""
        kept = self.state.articles[first]
        if kept.source != article.source and kept.path:
            add_mention(self.store / kept.path, Mention(article.source, article.title, article.url))
        self._record(article, "", digest, sig, duplicate_of=first)
        return "merged"

    def _record(self, article: ArticleFile, path: str, digest: str, sig: str, *, duplicate_of: str = "") -> None:
        """Remember `article` by its canonical URL: its file (none for a copy) and what identifies its text."""
        self.state.articles[article.url] = StoredArticle(
            path=path,
            hash=digest,
            feed=article.feed,
            source=article.source,
            title=article.title,
            url=article.url,
            published=article.published,
            signature=sig,
            duplicate_of=duplicate_of,
        )

    def mentions(self, article: ArticleFile) -> tuple[Mention, ...]:
        """The other outlets' copies of a kept article, as its file names them."""
        return tuple(
            Mention(a.source, a.title, a.url)
            for a in self.state.articles.values()
            if a.duplicate_of == article.url and a.source != article.source
        )

    def expire(self) -> int:
        """Delete stored articles older than fetch.max_age_days; return how many."""
        if not self.cutoff:
            return 0
        removed = 0
        for article in self.state.articles.values():
            if not article.expired and article.published[:10] < self.cutoff:
                article.expired = True
                if article.path:
                    (self.store / article.path).unlink(missing_ok=True)
                    removed += 1
        return removed


# How often a fetch running in a worker thread looks at its stop flag.
_STOP_POLL_SECONDS = 0.1


async def _until(stop: threading.Event) -> None:
    while not stop.is_set():
        await asyncio.sleep(_STOP_POLL_SECONDS)


async def _stoppable(work: Awaitable[FetchReport], stop: threading.Event | None) -> FetchReport:
    """Run `work`, cancelling it as soon as `stop` is set (from another thread)."""
    if stop is None:
        return await work
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_until(stop))
    await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    watch.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise FetchStopped("the fetch was stopped")
    return task.result()


async def _fetch_all(
    config: Config, state: FetchState, *, force: bool, now: float, progress: Callable[[FeedReport], None] | None
) -> FetchReport:
    fetch = config.fetch
    async with HttpClient(timeout=fetch.timeout_seconds, max_bytes=fetch.max_bytes, per_host=fetch.per_host) as client:
        run = _Fetch(config, state, client, force=force, now=now)
        gate = asyncio.Semaphore(FEEDS_AT_ONCE)

        async def one(feed: FeedConfig) -> FeedReport:
            async with gate:
                report = await run.feed(feed)
            if progress is not None:
                progress(report)
            return report

        reports = await asyncio.gather(*(one(feed) for feed in config.feeds))
        return FetchReport(feeds=tuple(reports), expired=run.expire())


def fetch_feeds(
    config: Config,
    *,
    force: bool = False,
    progress: Callable[[FeedReport], None] | None = None,
    now: float | None = None,
    stop: threading.Event | None = None,
) -> FetchReport:
    """Fetch every feed of `config` once and store new and changed articles; `force` ignores backoff.

    Setting `stop` from another thread ends the fetch within a fraction of a second with
    `FetchStopped`; every article stored before then is complete and recorded.
    """
    store = config.fetch.store
    with locked(store):
        sweep(store)
        state = read_state(store)
        try:
            report = asyncio.run(
                _stoppable(
                    _fetch_all(config, state, force=force, now=time.time() if now is None else now, progress=progress),
                    stop,
                )
            )
        finally:
            # Even a stopped fetch records the articles it stored, so the next one knows them.
            _forget(config, state)
            write_state(store, state)
    return report


def feed_statuses(config: Config, *, now: float | None = None) -> list[FeedStatus]:
    """Each configured feed with its last fetch, status and number of articles kept."""
    state = read_state(config.fetch.store)
    now = time.time() if now is None else now
    counts: dict[str, int] = {}
    for article in state.articles.values():
        if article.path and not article.expired and (config.fetch.store / article.path).exists():
            counts[article.feed] = counts.get(article.feed, 0) + 1
    statuses = []
    for feed in config.feeds:
        known = state.feeds.get(feed.url, FeedState())
        if not known.last_fetch:
            status = "not fetched yet"
        elif known.status == "ok":
            status = "ok"
        else:
            status = f"failed {known.failures}×: {known.reason}"
            if known.next_try > now:
                status += f" (next try in {known.next_try - now:.0f} s)"
        statuses.append(
            FeedStatus(
                url=feed.url,
                name=feed.name or known.title or _host(feed.url),
                last_fetch=known.last_fetch,
                status=status,
                articles=counts.get(feed.url, 0),
            )
        )
    return statuses
