"""Find, read and validate config.yaml: the only reader of the operator's config file.

The file is `--config PATH`, else $NEWSBOT_CONFIG, else ./config.yaml, else config.yaml in the
user's config folder ($XDG_CONFIG_HOME/newsbot or ~/.config/newsbot); relative paths in it are
taken from its own folder. Without any, the defaults apply, relative to the current folder.

A wrong value raises `ConfigError` naming the key, the value and what is allowed; an unknown
key is an error too. Secrets (the bot token) never live here: they come from the environment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.errors import ConfigError
from retrieval.errors import SettingsError
from retrieval.settings import (
    AnalysisSettings,
    AnswerSettings,
    BM25Settings,
    DecliningSettings,
    IndexSettings,
    PassageSettings,
    Settings,
    is_int,
)

CONFIG_VARIABLE = "NEWSBOT_CONFIG"


def _require(ok: bool, key: str, value: object, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: expected {allowed}, got {value!r}")


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Where the webhook server listens and the public URL Telegram posts to."""

    listen: str = "127.0.0.1"
    port: int = 8443
    url: str = ""
    path: str = "telegram"
    secret_token: str = ""
    # Without a secret token anyone who finds the URL can post updates; only on explicit request.
    allow_without_secret: bool = False

    def __post_init__(self) -> None:
        for key in ("listen", "url", "path", "secret_token"):
            value = getattr(self, key)
            _require(isinstance(value, str), f"telegram.webhook.{key}", value, "a string")
        _require(
            is_int(self.port) and 1 <= self.port <= 65535,
            "telegram.webhook.port",
            self.port,
            "an integer from 1 to 65535",
        )
        secret = self.secret_token
        if secret and not all(c.isalnum() or c in "_-" for c in secret) or len(secret) > 256:
            raise ConfigError("telegram.webhook.secret_token: expected 1-256 characters of A-Z, a-z, 0-9, _ and -")
        _require(
            isinstance(self.allow_without_secret, bool),
            "telegram.webhook.allow_without_secret",
            self.allow_without_secret,
            "true or false",
        )


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    """How the bot talks to Telegram and whom it serves."""

    mode: str = "polling"
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    questions_per_minute: int = 20
    allowed_chats: tuple[int, ...] = ()
    admins: tuple[int, ...] = ()
    sentences_per_reply: int = 3
    refresh_seconds: int = 60

    def __post_init__(self) -> None:
        _require(self.mode in ("polling", "webhook"), "telegram.mode", self.mode, "'polling' or 'webhook'")
        if self.mode == "webhook" and not self.webhook.url.startswith("https://"):
            raise ConfigError(
                f"telegram.webhook.url: expected the public https:// URL Telegram posts to, got {self.webhook.url!r}"
            )
        if self.mode == "webhook" and not self.webhook.secret_token and not self.webhook.allow_without_secret:
            raise ConfigError(
                "telegram.webhook.secret_token: required in webhook mode, so that only Telegram's posts are "
                "answered (1-256 characters of A-Z, a-z, 0-9, _ and -); to run without one anyway, set "
                "telegram.webhook.allow_without_secret: true"
            )
        _require(
            is_int(self.questions_per_minute) and self.questions_per_minute >= 0,
            "telegram.questions_per_minute",
            self.questions_per_minute,
            "an integer >= 0 (0 means no limit)",
        )
        for key in ("allowed_chats", "admins"):
            ids = getattr(self, key)
            _require(
                isinstance(ids, tuple) and all(is_int(i) for i in ids),
                f"telegram.{key}",
                ids,
                "a list of integer ids",
            )
        _require(
            is_int(self.sentences_per_reply) and 1 <= self.sentences_per_reply <= 10,
            "telegram.sentences_per_reply",
            self.sentences_per_reply,
            "an integer from 1 to 10",
        )
        _require(
            is_int(self.refresh_seconds) and self.refresh_seconds >= 0,
            "telegram.refresh_seconds",
            self.refresh_seconds,
            "an integer >= 0 (0 means never)",
        )


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """One news feed to follow: its URL and, optionally, the outlet name shown in sources."""

    url: str
    name: str = ""

    def __post_init__(self) -> None:
        # "feed." becomes "feeds[N]." in parse_config's messages.
        _require(isinstance(self.url, str) and _is_http_url(self.url), "feed.url", self.url,
                 "an http:// or https:// URL")  # fmt: skip
        _require(isinstance(self.name, str), "feed.name", self.name, "text (the outlet's name)")


@dataclass(frozen=True, slots=True)
class FetchConfig:
    """How feeds are fetched; `store` is a folder inside the corpus (checked by `parse_config`)."""

    every_seconds: int = 900
    store: Path = Path("corpus/fetched")
    max_age_days: int = 0
    timeout_seconds: float = 20.0
    max_bytes: int = 5_000_000
    per_host: int = 2

    def __post_init__(self) -> None:
        _require(is_int(self.every_seconds) and self.every_seconds >= 0, "fetch.every_seconds", self.every_seconds,
                 "an integer >= 0 (0 means never)")  # fmt: skip
        _require(is_int(self.max_age_days) and self.max_age_days >= 0, "fetch.max_age_days", self.max_age_days,
                 "an integer >= 0 (0 means keep all)")  # fmt: skip
        seconds = self.timeout_seconds
        _require(isinstance(seconds, float) and 0 < seconds <= 600, "fetch.timeout_seconds", seconds,
                 "a number of seconds above 0, at most 600")  # fmt: skip
        _require(is_int(self.max_bytes) and 10_000 <= self.max_bytes <= 1_000_000_000, "fetch.max_bytes",
                 self.max_bytes, "an integer from 10000 to 1000000000")  # fmt: skip
        _require(is_int(self.per_host) and 1 <= self.per_host <= 16, "fetch.per_host", self.per_host,
                 "an integer from 1 to 16")  # fmt: skip


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in url)


@dataclass(frozen=True, slots=True)
class Config:
    """Everything config.yaml says, with paths resolved against the file's folder."""

    corpus: Path
    index_dir: Path
    settings: Settings = field(default_factory=Settings)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    file: Path | None = None  # the file read, or None when no config file was found
    feeds: tuple[FeedConfig, ...] = ()
    fetch: FetchConfig = field(default_factory=FetchConfig)


_SECTIONS: dict[str, type] = {
    "analysis": AnalysisSettings,
    "passages": PassageSettings,
    "bm25": BM25Settings,
    "answers": AnswerSettings,
    "declining": DecliningSettings,
    "index": IndexSettings,
}


def _fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(cls)}


def _check_keys(section: str, data: dict[str, Any], cls: type) -> None:
    allowed = _fields(cls)
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{section}.{key}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _mapping(key: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping, got {value!r}")
    return value


def _build(section: str, cls: type, data: Any) -> Any:
    data = _mapping(section, data)
    _check_keys(section, data, cls)
    kinds = _fields(cls)
    for key, value in data.items():
        default = kinds[key].default
        if isinstance(default, float) and is_int(value):
            data[key] = float(value)
    try:
        return cls(**data)
    except SettingsError as error:
        raise ConfigError(str(error)) from None


def _telegram(data: Any) -> TelegramConfig:
    data = dict(_mapping("telegram", data))
    _check_keys("telegram", data, TelegramConfig)
    hook = dict(_mapping("telegram.webhook", data.pop("webhook", None)))
    _check_keys("telegram.webhook", hook, WebhookConfig)
    for key in ("allowed_chats", "admins"):
        # YAML gives lists; the config keeps tuples, so it stays hashable and frozen.
        if isinstance(data.get(key), list):
            data[key] = tuple(data[key])
        elif data.get(key, ()) is None:
            data[key] = ()
    return TelegramConfig(webhook=WebhookConfig(**hook), **data)


def _feeds(value: Any) -> tuple[FeedConfig, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"feeds: expected a list of {{url, name}} entries, got {value!r}")
    feeds: list[FeedConfig] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(value):
        key = f"feeds[{number}]"
        entry = dict(_mapping(key, {"url": entry} if isinstance(entry, str) else entry))
        _check_keys(key, entry, FeedConfig)
        url: Any = entry.get("url")
        name: Any = entry.get("name", "")
        try:
            feed = FeedConfig(
                url=url.strip() if isinstance(url, str) else url,
                name=" ".join(name.split()) if isinstance(name, str) else name,
            )
        except ConfigError as error:
            raise ConfigError(str(error).replace("feed.", f"{key}.", 1)) from None
        if feed.url in seen:
            raise ConfigError(f"{key}.url: {feed.url!r} is listed twice (first at feeds[{seen[feed.url]}])")
        seen[feed.url] = number
        feeds.append(feed)
    return tuple(feeds)


def store_outside(store: Path, corpus: Path) -> bool:
    """Whether `store` is not a folder inside the corpus folder (so its files would not be indexed)."""
    resolved, root = store.resolve(), corpus.resolve()
    return root.suffix.lower() == ".jsonl" or root not in resolved.parents


def _fetch(data: Any, *, base: Path, corpus: Path, feeds: bool) -> FetchConfig:
    data = dict(_mapping("fetch", data))
    _check_keys("fetch", data, FetchConfig)
    given = data.get("store", "corpus/fetched")
    data["store"] = store = _path("fetch.store", given, base)
    if feeds and store_outside(store, corpus):
        raise ConfigError(
            f"fetch.store: expected a folder inside the corpus folder {corpus} (fetched articles are "
            f"corpus files), got {given!r}"
        )
    if is_int(data.get("timeout_seconds")):
        data["timeout_seconds"] = float(data["timeout_seconds"])
    return FetchConfig(**data)


def _path(key: str, value: Any, base: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: expected a path, got {value!r}")
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def parse_config(data: Any, *, base: Path) -> Config:
    """Validate an already-parsed config mapping; relative paths are taken from `base`."""
    data = dict(_mapping("config", data))
    allowed = {"corpus", "index_dir", "telegram", "feeds", "fetch", *_SECTIONS}
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{key}: unknown key (allowed: {', '.join(sorted(allowed))})")
    corpus = _path("corpus", data.get("corpus", "corpus"), base)
    index_dir = _path("index_dir", data.get("index_dir", ".index"), base)
    sections = {name: _build(name, cls, data.get(name)) for name, cls in _SECTIONS.items()}
    feeds = _feeds(data.get("feeds"))
    return Config(
        corpus=corpus,
        index_dir=index_dir,
        settings=Settings(**sections),
        telegram=_telegram(data.get("telegram")),
        feeds=feeds,
        fetch=_fetch(data.get("fetch"), base=base, corpus=corpus, feeds=bool(feeds)),
    )


def user_config_path(environ: Mapping[str, str]) -> Path:
    """The config file in the user's config folder: $XDG_CONFIG_HOME/newsbot, else ~/.config/newsbot."""
    folder = environ.get("XDG_CONFIG_HOME", "")
    # The XDG spec ignores a relative XDG_CONFIG_HOME.
    base = Path(folder) if folder and Path(folder).is_absolute() else Path(environ.get("HOME", "~")) / ".config"
    return base.expanduser() / "newsbot" / "config.yaml"


def find_config(explicit: str | None, *, environ: Mapping[str, str], cwd: Path) -> Path | None:
    """Pick the config file: `explicit` (--config), then $NEWSBOT_CONFIG, ./config.yaml, the user's.

    The first two must exist; the last two are used when they do. None means no config file.
    """
    if explicit:
        return Path(explicit)
    named = environ.get(CONFIG_VARIABLE, "")
    if named:
        path = Path(named).expanduser()
        if not path.exists():
            raise ConfigError(f"{CONFIG_VARIABLE}={named}: no such config file")
        return path
    for path in (cwd / "config.yaml", user_config_path(environ)):
        if path.is_file():
            return path
    return None


def load_config(path: str | Path) -> Config:
    """Read the config file at `path`; relative paths in it are taken from the file's folder."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid YAML ({error.__class__.__name__}: {error})".replace("\n", " ")) from None
    return dataclasses.replace(parse_config(data, base=path.resolve().parent), file=path.resolve())
