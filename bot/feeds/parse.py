"""Feed bytes to items: RSS 0.9x/1.0 (RDF)/2.0 and Atom through feedparser.

A body that is not a feed (an HTML page), malformed XML or a charset that does not match its
declaration is a `FetchError` with the reason; an undefined entity (`&nbsp;` in XML) is
forgiven when feedparser still read the items, as every feed reader does.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import xml.sax
from dataclasses import dataclass
from typing import Any

import feedparser

from bot.feeds.errors import FetchError
from bot.feeds.extract import html_text

__all__ = ["FeedItem", "ParsedFeed", "parse_feed"]


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One item of a feed: texts are plain text; `published` an ISO timestamp or ""."""

    link: str
    guid: str
    title: str
    summary: str
    content: str
    published: str
    author: str

    @property
    def fingerprint(self) -> str:
        """Changes when anything the feed says about the item changes."""
        parts = (self.link, self.title, self.summary, self.content, self.published)
        return hashlib.sha1("\x00".join(parts).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed's title and its items, in the feed's order."""

    title: str
    items: tuple[FeedItem, ...]


def _iso(parsed: Any) -> str:
    if not parsed:
        return ""
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(parsed), tz=dt.UTC).isoformat()
    except (TypeError, ValueError, OverflowError):
        return ""


def _content(entry: Any) -> str:
    """The longest full-content body of an entry (content:encoded, Atom content), as text."""
    bodies = [html_text(c.get("value") or "") for c in entry.get("content") or []]
    return max(bodies, key=len, default="")


def _item(entry: Any) -> FeedItem:
    summary = html_text(entry.get("summary") or "")
    content = _content(entry)
    if content == summary:
        content = ""
    return FeedItem(
        link=(entry.get("link") or "").strip(),
        guid=(entry.get("id") or "").strip(),
        title=" ".join(html_text(entry.get("title") or "").split()),
        summary=summary,
        content=content,
        published=_iso(entry.get("published_parsed") or entry.get("updated_parsed")),
        author=" ".join((entry.get("author") or "").split()),
    )


def _looks_like_html(body: bytes, content_type: str) -> bool:
    head = body[:512].lstrip().lower()
    return "html" in content_type.lower() or head.startswith((b"<!doctype html", b"<html"))


def parse_feed(body: bytes, *, content_type: str = "") -> ParsedFeed:
    """Parse a feed body; FetchError when it is not a feed or cannot be trusted."""
    result = feedparser.parse(body, response_headers={"content-type": content_type} if content_type else {})
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if not result.get("version") and not result.entries:
        if _looks_like_html(body, content_type):
            raise FetchError(f"not a feed: got an HTML page ({content_type or 'no content type'})")
        detail = f" ({problem})" if problem else ""
        raise FetchError(f"not an RSS, RDF or Atom feed{detail}")
    if isinstance(problem, feedparser.CharacterEncodingOverride):
        raise FetchError(f"wrong charset: {problem}")
    if isinstance(problem, feedparser.CharacterEncodingUnknown):
        raise FetchError(f"unknown charset: {problem}")
    if isinstance(problem, xml.sax.SAXParseException):
        forgiven = "undefined entity" in str(problem) and result.entries
        if not forgiven:
            raise FetchError(f"malformed XML: {problem.getMessage()} at line {problem.getLineNumber()}")
    title = " ".join((result.feed.get("title") or "").split())
    return ParsedFeed(title=title, items=tuple(_item(e) for e in result.entries))
