"""Read and validate config.yaml: the only place newsbot reads YAML.

A wrong value raises `ConfigError` naming the key, the value and what is allowed; an unknown
key is an error too. Secrets (the bot token) never live here: they come from the environment.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from retrieval.errors import SettingsError
from retrieval.settings import (
    AnalysisSettings,
    AnswerSettings,
    BM25Settings,
    PassageSettings,
    Settings,
)


class ConfigError(Exception):
    """config.yaml cannot be used; the message says which key and why."""


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Where the webhook server listens and the public URL Telegram posts to."""

    listen: str = "127.0.0.1"
    port: int = 8443
    url: str = ""
    path: str = "telegram"
    secret_token: str = ""


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


@dataclass(frozen=True, slots=True)
class Config:
    """Everything config.yaml says, with paths resolved against the file's folder."""

    corpus: Path
    index_dir: Path
    settings: Settings = field(default_factory=Settings)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)


_SECTIONS: dict[str, type] = {
    "analysis": AnalysisSettings,
    "passages": PassageSettings,
    "bm25": BM25Settings,
    "answers": AnswerSettings,
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
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            data[key] = float(value)
    try:
        return cls(**data)
    except SettingsError as error:
        raise ConfigError(str(error)) from None


def _int_list(key: str, value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ConfigError(f"{key}: expected a list of integer ids, got {value!r}")
    return tuple(value)


def _telegram(data: Any) -> TelegramConfig:
    data = dict(_mapping("telegram", data))
    _check_keys("telegram", data, TelegramConfig)
    mode = data.get("mode", "polling")
    if mode not in ("polling", "webhook"):
        raise ConfigError(f"telegram.mode: expected 'polling' or 'webhook', got {mode!r}")
    hook = dict(_mapping("telegram.webhook", data.get("webhook")))
    _check_keys("telegram.webhook", hook, WebhookConfig)
    for key in ("listen", "url", "path", "secret_token"):
        if key in hook and not isinstance(hook[key], str):
            raise ConfigError(f"telegram.webhook.{key}: expected a string, got {hook[key]!r}")
    port = hook.get("port", 8443)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ConfigError(f"telegram.webhook.port: expected an integer from 1 to 65535, got {port!r}")
    webhook = WebhookConfig(**hook)
    if mode == "webhook" and not webhook.url.startswith("https://"):
        raise ConfigError(
            f"telegram.webhook.url: expected the public https:// URL Telegram posts to, got {webhook.url!r}"
        )
    secret = webhook.secret_token
    if secret and not all(c.isalnum() or c in "_-" for c in secret) or len(secret) > 256:
        raise ConfigError("telegram.webhook.secret_token: expected 1-256 characters of A-Z, a-z, 0-9, _ and -")
    per_minute = data.get("questions_per_minute", 20)
    if not isinstance(per_minute, int) or isinstance(per_minute, bool) or per_minute < 0:
        raise ConfigError(
            f"telegram.questions_per_minute: expected an integer >= 0 (0 means no limit), got {per_minute!r}"
        )
    per_reply = data.get("sentences_per_reply", 3)
    if not isinstance(per_reply, int) or isinstance(per_reply, bool) or not 1 <= per_reply <= 10:
        raise ConfigError(f"telegram.sentences_per_reply: expected an integer from 1 to 10, got {per_reply!r}")
    refresh = data.get("refresh_seconds", 60)
    if not isinstance(refresh, int) or isinstance(refresh, bool) or refresh < 0:
        raise ConfigError(f"telegram.refresh_seconds: expected an integer >= 0 (0 means never), got {refresh!r}")
    return TelegramConfig(
        refresh_seconds=refresh,
        mode=mode,
        webhook=webhook,
        questions_per_minute=per_minute,
        allowed_chats=_int_list("telegram.allowed_chats", data.get("allowed_chats")),
        admins=_int_list("telegram.admins", data.get("admins")),
        sentences_per_reply=per_reply,
    )


def _path(key: str, value: Any, base: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: expected a path, got {value!r}")
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def parse_config(data: Any, *, base: Path) -> Config:
    """Validate an already-parsed config mapping; relative paths are taken from `base`."""
    data = dict(_mapping("config", data))
    allowed = {"corpus", "index_dir", "telegram", *_SECTIONS}
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{key}: unknown key (allowed: {', '.join(sorted(allowed))})")
    corpus = _path("corpus", data.get("corpus", "corpus"), base)
    index_dir = _path("index_dir", data.get("index_dir", ".index"), base)
    sections = {name: _build(name, cls, data.get(name)) for name, cls in _SECTIONS.items()}
    return Config(
        corpus=corpus,
        index_dir=index_dir,
        settings=Settings(**sections),
        telegram=_telegram(data.get("telegram")),
    )


def load_config(path: str | Path) -> Config:
    """Read config.yaml at `path`; a missing file gives the defaults, relative to the current folder."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid YAML ({error.__class__.__name__}: {error})".replace("\n", " ")) from None
    return parse_config(data, base=path.resolve().parent)
