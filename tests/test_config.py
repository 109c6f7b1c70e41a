"""config.yaml: read and checked in one place; a wrong value names its key, value and what is allowed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import (
    Config,
    FeedConfig,
    FetchConfig,
    TelegramConfig,
    WebhookConfig,
    load_config,
    parse_config,
)
from bot.errors import ConfigError
from retrieval.settings import AnswerSettings, BM25Settings, DecliningSettings, PassageSettings, Settings

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_config_is_the_tuned_defaults(tmp_path: Path) -> None:
    config = load_config(ROOT / "config.yaml")
    assert config.corpus == ROOT / "corpus"
    assert config.index_dir == ROOT / ".index"
    assert config.settings == Settings()
    assert config.telegram == TelegramConfig()


def test_an_empty_config_gives_the_defaults_relative_to_its_folder(tmp_path: Path) -> None:
    assert parse_config(None, base=tmp_path) == Config(
        corpus=tmp_path / "corpus",
        index_dir=tmp_path / ".index",
        fetch=FetchConfig(store=tmp_path / "corpus" / "fetched"),
    )


def test_every_section_is_read() -> None:
    config = parse_config(
        {
            "corpus": "/news",
            "index_dir": "/var/newsbot",
            "passages": {"size": 4, "overlap": 2, "title": False},
            "bm25": {"variant": "bm25+", "k1": 1, "b": 0.5},
            "answers": {"max_sentences": 5, "min_score": 0},
            "declining": {"max_age_days": 0, "enabled": False},
            "telegram": {
                "mode": "webhook",
                "webhook": {"url": "https://bot.example.org", "port": 8080, "secret_token": "s3cret_-x"},
                "allowed_chats": [1, -100],
                "admins": [7],
                "questions_per_minute": 0,
                "refresh_seconds": 0,
            },
        },
        base=Path("/etc"),
    )
    assert config.corpus == Path("/news") and config.index_dir == Path("/var/newsbot")
    assert config.settings.passages == PassageSettings(size=4, overlap=2, title=False)
    assert config.settings.bm25 == BM25Settings(variant="bm25+", k1=1.0, b=0.5)
    assert config.settings.answers == AnswerSettings(max_sentences=5, min_score=0.0)
    assert config.settings.declining == DecliningSettings(max_age_days=0.0, enabled=False)
    assert config.telegram == TelegramConfig(
        mode="webhook",
        webhook=WebhookConfig(url="https://bot.example.org", port=8080, secret_token="s3cret_-x"),
        allowed_chats=(1, -100),
        admins=(7,),
        questions_per_minute=0,
        refresh_seconds=0,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"answers": {"max_sentences": -3}}, "answers.max_sentences: expected an integer from 1 to 50, got -3"),
        ({"answers": {"min_score": "high"}}, "answers.min_score: expected a number >= 0, got 'high'"),
        ({"bm25": {"k1": True}}, "bm25.k1: expected a number from 0 to 10, got True"),
        (
            {"declining": {"max_age_days": -1}},
            "declining.max_age_days: expected a number of days from 0 to 100000 (0 means no age limit), got -1",
        ),
        ({"declining": {"key_share": 0.3}}, "declining.key_share: unknown key (allowed: enabled, max_age_days)"),
        ({"declining": {"enabled": "no"}}, "declining.enabled: expected true or false, got 'no'"),
        ({"bm25": {"b": 1.5}}, "bm25.b: expected a number from 0 to 1, got 1.5"),
        ({"analysis": {"language": "en glish"}}, "analysis.language: expected a Snowball language name"),
        ({"analysis": {"stemming": "yes"}}, "analysis.stemming: expected true or false, got 'yes'"),
        ({"passages": {"size": 0}}, "passages.size: expected an integer from 1 to 50, got 0"),
        ({"passages": {"title": 1}}, "passages.title: expected true or false, got 1"),
        ({"index": {"memory_mb": 8}}, "index.memory_mb: expected an integer from 16 to 1048576, got 8"),
        ({"index": {"memory_mb": "1G"}}, "index.memory_mb: expected an integer from 16 to 1048576, got '1G'"),
        ({"index": {"memory": 512}}, "index.memory: unknown key"),
        ({"bm25": {"variant": "bm26"}}, "bm25.variant: expected one of lucene, okapi, bm25+, bm25l, got 'bm26'"),
        ({"bm25": "fast"}, "bm25: expected a mapping, got 'fast'"),
        ({"colour": "blue"}, "colour: unknown key"),
        ({"answers": {"sentences": 3}}, "answers.sentences: unknown key"),
        ({"corpus": ""}, "corpus: expected a path, got ''"),
        ({"telegram": {"mode": "push"}}, "telegram.mode: expected 'polling' or 'webhook', got 'push'"),
        ({"telegram": {"mode": "webhook"}}, "telegram.webhook.url: expected the public https:// URL"),
        ({"telegram": {"webhook": {"port": 70000}}}, "telegram.webhook.port: expected an integer from 1 to 65535"),
        ({"telegram": {"webhook": {"secret_token": "a b"}}}, "telegram.webhook.secret_token: expected 1-256"),
        (
            {"telegram": {"mode": "webhook", "webhook": {"url": "https://bot.example.org"}}},
            "telegram.webhook.secret_token: required in webhook mode",
        ),
        (
            {"telegram": {"webhook": {"allow_without_secret": "yes"}}},
            "telegram.webhook.allow_without_secret: expected true or false, got 'yes'",
        ),
        ({"telegram": {"allowed_chats": ["me"]}}, "telegram.allowed_chats: expected a list of integer ids"),
        ({"telegram": {"questions_per_minute": -1}}, "telegram.questions_per_minute: expected an integer >= 0"),
        ({"telegram": {"refresh_seconds": 1.5}}, "telegram.refresh_seconds: expected an integer >= 0"),
        ({"telegram": {"token": "123:abc"}}, "telegram.token: unknown key"),
        (
            {"feeds": "https://a.example/rss"},
            "feeds: expected a list of {url, name} entries, got 'https://a.example/rss'",
        ),
        ({"feeds": [{"url": "ftp://a.example/rss"}]}, "feeds[0].url: expected an http:// or https:// URL, got 'ftp://"),
        ({"feeds": [{"url": "https://"}]}, "feeds[0].url: expected an http:// or https:// URL, got 'https://'"),
        ({"feeds": [{"name": "A"}]}, "feeds[0].url: expected an http:// or https:// URL, got None"),
        (
            {"feeds": [{"url": "https://a.example/rss", "title": "A"}]},
            "feeds[0].title: unknown key (allowed: name, url)",
        ),
        ({"feeds": [{"url": "https://a.example/rss", "name": 7}]}, "feeds[0].name: expected text"),
        (
            {"feeds": ["https://a.example/x", "https://a.example/x"]},
            "feeds[1].url: 'https://a.example/x' is listed twice",
        ),
        ({"fetch": {"every_seconds": -5}}, "fetch.every_seconds: expected an integer >= 0 (0 means never), got -5"),
        (
            {"fetch": {"max_age_days": "week"}},
            "fetch.max_age_days: expected an integer >= 0 (0 means keep all), got 'week'",
        ),
        ({"fetch": {"timeout_seconds": 0}}, "fetch.timeout_seconds: expected a number of seconds above 0, at most 600"),
        ({"fetch": {"per_host": 0}}, "fetch.per_host: expected an integer from 1 to 16, got 0"),
        ({"fetch": {"interval": 5}}, "fetch.interval: unknown key"),
        (
            {"feeds": ["https://a.example/x"], "fetch": {"store": "/srv/articles"}},
            "fetch.store: expected a folder inside the corpus folder /corpus",
        ),
    ],
)
def test_a_wrong_value_is_named_with_its_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(data, base=Path("/"))
    assert message in str(error.value)


def test_a_webhook_without_a_secret_runs_only_when_allowed() -> None:
    hook = {"url": "https://bot.example.org", "allow_without_secret": True}
    config = parse_config({"telegram": {"mode": "webhook", "webhook": hook}}, base=Path("/"))
    assert config.telegram.webhook == WebhookConfig(url="https://bot.example.org", allow_without_secret=True)


def test_feeds_and_fetch_are_read_with_the_store_inside_the_corpus() -> None:
    config = parse_config(
        {
            "corpus": "news",
            "feeds": [{"url": " https://a.example/rss ", "name": "Outlet  A"}, "http://b.example/atom.xml"],
            "fetch": {"every_seconds": 300, "store": "news/feeds", "max_age_days": 30},
        },
        base=Path("/srv"),
    )
    assert config.feeds == (
        FeedConfig(url="https://a.example/rss", name="Outlet A"),
        FeedConfig(url="http://b.example/atom.xml"),
    )
    assert config.fetch == FetchConfig(every_seconds=300, store=Path("/srv/news/feeds"), max_age_days=30)


def test_a_file_that_is_not_yaml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("corpus: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: WebhookConfig(port=0), "telegram.webhook.port: expected an integer from 1 to 65535, got 0"),
        (lambda: WebhookConfig(port=True), "telegram.webhook.port: expected an integer from 1 to 65535, got True"),
        (lambda: WebhookConfig(url=5), "telegram.webhook.url: expected a string, got 5"),
        (lambda: TelegramConfig(mode="push"), "telegram.mode: expected 'polling' or 'webhook', got 'push'"),
        (lambda: TelegramConfig(sentences_per_reply=11), "telegram.sentences_per_reply: expected an integer from 1"),
        (lambda: TelegramConfig(admins=(1, False)), "telegram.admins: expected a list of integer ids"),
        (lambda: TelegramConfig(refresh_seconds=-1), "telegram.refresh_seconds: expected an integer >= 0"),
    ],
)
def test_telegram_settings_check_their_own_values(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        build()
    assert message in str(error.value)


def test_feed_and_fetch_configs_check_their_own_values() -> None:
    with pytest.raises(ConfigError, match=r"feed\.url: expected an http:// or https:// URL, got 'example\.org'"):
        FeedConfig(url="example.org")
    with pytest.raises(ConfigError, match=r"fetch\.per_host: expected an integer from 1 to 16, got 0"):
        FetchConfig(per_host=0)
