"""Where fetched articles live: one `.md` corpus file per article, and the fetch state beside them.

    fetch.store/
      <host>/<slug>-<hash>.md   one article: front matter (title, source, url, published, …) and text
      .newsbot-fetch.json       what was fetched: per feed ETag/Last-Modified, status and backoff;
                                per item its fingerprint; per article its file, hash and signature
      .newsbot-fetch.lock       held while a fetch runs, so a bot and `newsbot fetch` take turns

A file's name derives from the article's canonical URL only, so fetching an article again
(after a restart, or a fetch killed half way) writes the same file, never a second one. Every
write goes to a dot-named temporary file first, fsynced, then `os.replace`d: a killed fetch
leaves the old file or the new one, and the loader skips dot files. Files are ordinary corpus
files: an operator may read or delete them (a deleted article is not fetched again unless
its feed item changes).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from retrieval.load import mentions_json, read_mentions
from retrieval.models import Mention

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: one fetch at a time is up to the operator
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ArticleFile",
    "FeedState",
    "FetchState",
    "StoredArticle",
    "add_mention",
    "article_path",
    "locked",
    "read_state",
    "sweep",
    "write_article",
    "write_state",
]

STATE = ".newsbot-fetch.json"
LOCK = ".newsbot-fetch.lock"
STATE_FORMAT = "newsbot-fetch/1"
_SLUG = re.compile(r"[^a-z0-9]+")
_TEMPORARY = ".tmp-"


@dataclass(slots=True)
class FeedState:
    """What newsbot remembers of one feed between fetches."""

    title: str = ""
    etag: str = ""
    last_modified: str = ""
    last_fetch: str = ""
    status: str = ""
    reason: str = ""
    failures: int = 0
    next_try: float = 0.0
    items: int = 0
    keys: list[str] = field(default_factory=list)  # the items of its last successful read


@dataclass(slots=True)
class StoredArticle:
    """One article kept, by canonical URL: its file (none for a copy named beside another)."""

    path: str
    hash: str
    feed: str
    source: str
    title: str
    url: str
    published: str = ""
    signature: str = ""
    duplicate_of: str = ""
    expired: bool = False


@dataclass(slots=True)
class FetchState:
    """Everything remembered across fetches; replaced whole on disk."""

    feeds: dict[str, FeedState] = field(default_factory=dict)
    items: dict[str, list[str]] = field(default_factory=dict)  # item key → [fingerprint, canonical URL]
    articles: dict[str, StoredArticle] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ArticleFile:
    """An article as written to its `.md` file."""

    url: str
    title: str
    source: str
    text: str
    published: str = ""
    published_from: str = ""
    author: str = ""
    feed: str = ""
    fetched: str = ""
    also_reported_by: tuple[Mention, ...] = ()


def read_state(store: Path) -> FetchState:
    """Return the fetch state of `store`; a missing or unreadable one starts afresh."""
    try:
        data: Any = json.loads((store / STATE).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            return FetchState()
        return FetchState(
            feeds={url: FeedState(**value) for url, value in data["feeds"].items()},
            items={key: [str(v) for v in value] for key, value in data["items"].items()},
            articles={url: StoredArticle(**value) for url, value in data["articles"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return FetchState()


def _replace(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically: a dot-named temporary file, fsynced, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{_TEMPORARY}{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_state(store: Path, state: FetchState) -> None:
    """Replace the fetch state atomically."""
    data = {"format": STATE_FORMAT, **asdict(state)}
    _replace(store / STATE, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


@contextmanager
def locked(store: Path) -> Iterator[None]:
    """Hold the store's lock for one fetch."""
    store.mkdir(parents=True, exist_ok=True)
    with open(store / LOCK, "a") as fh:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def sweep(store: Path) -> None:
    """Remove temporary files a killed fetch left behind."""
    for path in store.rglob(f".*{_TEMPORARY}*"):
        path.unlink(missing_ok=True)


def article_path(url: str) -> str:
    """The file an article is kept in, relative to the store: `<host>/<slug>-<hash>.md`."""
    parts = urlsplit(url)
    host = _SLUG.sub("-", (parts.hostname or "feed").lower()).strip("-") or "feed"
    words = [w for w in _SLUG.split(parts.path.lower()) if w and w not in ("html", "htm", "php", "aspx")]
    slug = "-".join(words)[-60:].strip("-") or "article"
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:10]
    return f"{host}/{slug}-{digest}.md"


def _quoted(value: str) -> str:
    # A JSON string is a YAML double-quoted value, as the corpus loader reads it.
    return json.dumps(" ".join(value.split()), ensure_ascii=False)


def render(article: ArticleFile) -> str:
    """The `.md` text of an article: front matter, a blank line, the paragraphs."""
    meta = {
        "title": article.title,
        "source": article.source,
        "url": article.url,
        "published": article.published,
        "published_from": article.published_from,
        "author": article.author,
        "feed": article.feed,
        "fetched": article.fetched,
    }
    lines = ["---", *(f"{key}: {_quoted(value)}" for key, value in meta.items() if value)]
    if article.also_reported_by:
        lines.append(f"also_reported_by: {mentions_json(article.also_reported_by)}")
    lines += ["---", "", article.text.strip(), ""]
    return "\n".join(lines)


def write_article(store: Path, article: ArticleFile) -> str:
    """Write (or replace) an article's file atomically; return its path relative to the store."""
    relative = article_path(article.url)
    _replace(store / relative, render(article).encode("utf-8"))
    return relative


def add_mention(path: Path, mention: Mention) -> bool:
    """Name another outlet's copy in an article file's front matter; False when there is nothing to do."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False  # deleted by the operator
    lines = text.split("\n")
    close = next((i for i in range(1, len(lines)) if lines[i] == "---"), None)
    if lines[0] != "---" or close is None:
        return False
    at = next((i for i in range(1, close) if lines[i].startswith("also_reported_by:")), None)
    mentions: tuple[Mention, ...] = ()
    if at is not None:
        try:
            mentions = read_mentions(lines[at].partition(":")[2].strip())
        except ValueError:
            mentions = ()
    if any(m.url == mention.url for m in mentions):
        return False
    line = f"also_reported_by: {mentions_json((*mentions, mention))}"
    if at is None:
        lines.insert(close, line)
    else:
        lines[at] = line
    _replace(path, "\n".join(lines).encode("utf-8"))
    return True
