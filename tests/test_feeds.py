"""Following feeds, against a local HTTP server serving fixture feeds and news pages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from feedserver import FeedServer, Route
from newsfixtures import CHOIR, FURNITURE, GLACIER, LIGHTHOUSE, TRAM, VOLCANO_A, VOLCANO_B, Story, atom, page, rdf, rss

from bot.config import Config, parse_config
from bot.feeds import feed_statuses, fetch_feeds
from bot.feeds.errors import FetchStopped
from bot.feeds.http import USER_AGENT
from bot.feeds.store import STATE, article_path
from bot.feeds.urls import canonical_url
from retrieval.engine import Engine
from retrieval.load import load_corpus

ROOT = Path(__file__).resolve().parent.parent
HTML = "text/html; charset=utf-8"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def configure(folder: Path, feeds: list[dict[str, Any]], **fetch: Any) -> Config:
    (folder / "corpus").mkdir(exist_ok=True)
    data = {"corpus": "corpus", "index_dir": "index", "feeds": feeds, "fetch": fetch}
    (folder / "config.yaml").write_text(json.dumps(data), encoding="utf-8")
    return parse_config(data, base=folder)


def serve_story(server: FeedServer, path: str, story: Story, outlet: str, *, canonical: str = "") -> str:
    server.routes[path] = Route(page(story, outlet=outlet, canonical=canonical or server.url(path)), content_type=HTML)
    return server.url(path)


def stored(config: Config) -> dict[str, str]:
    """Title → text of every article in the store, as the corpus loader reads them."""
    corpus = load_corpus(config.fetch.store)
    assert corpus.problems == ()
    return {a.title: a.text for a in corpus.articles}


def md_files(config: Config) -> list[Path]:
    return sorted(p for p in config.fetch.store.rglob("*") if p.is_file() and not p.name.startswith("."))


def body(story: Story) -> str:
    return "\n\n".join(story.paragraphs)


# -- reading feeds -------------------------------------------------------------------------


def test_rss_atom_and_rdf_items_become_corpus_files_without_the_page_furniture(
    server: FeedServer, tmp_path: Path
) -> None:
    u = server.url
    summary_only = [(LIGHTHOUSE, serve_story(server, "/coast/lighthouse", LIGHTHOUSE, "Coast Gazette"))]
    server.routes["/coast.rss"] = Route(rss("Coast Gazette", summary_only))
    server.routes["/full.rss"] = Route(rss("Fjord Daily", [(GLACIER, u("/fjord/glacier"))], full=True))
    server.routes["/north.atom"] = Route(atom("Northern Post", [(CHOIR, u("/north/choir"))]))
    rdf_items = [(TRAM, serve_story(server, "/city/tram", TRAM, "City Courier"))]
    server.routes["/city.rdf"] = Route(rdf("City Courier", rdf_items), content_type="application/rdf+xml")
    feeds = [{"url": u(p)} for p in ("/coast.rss", "/full.rss", "/north.atom", "/city.rdf")]
    config = configure(tmp_path, feeds)

    report = fetch_feeds(config)

    assert [(f.name, f.seen, f.new, f.failed, f.error) for f in report.feeds] == [
        ("Coast Gazette", 1, 1, 0, ""),
        ("Fjord Daily", 1, 1, 0, ""),
        ("Northern Post", 1, 1, 0, ""),
        ("City Courier", 1, 1, 0, ""),
    ]
    texts = stored(config)
    assert texts == {s.title: body(s) for s in (LIGHTHOUSE, GLACIER, CHOIR, TRAM)}
    everything = " ".join(texts.values())
    for furniture in FURNITURE.values():
        assert furniture[:25] not in everything
    # Full content in the feed: no page fetched for it.
    assert server.requested("/fjord/glacier") == []


def test_requests_name_newsbot_and_gzip_and_a_declared_charset_are_read(server: FeedServer, tmp_path: Path) -> None:
    story = Story(
        "cafe", "Café reopens on the quay", ("The café on the quay reopened on Monday with crème brûlée.",) * 5
    )
    server.routes["/latin.rss"] = Route(
        rss("Quay News", [(story, server.url("/quay/cafe"))], full=True, encoding="iso-8859-1"),
        content_type="application/rss+xml; charset=iso-8859-1",
        gzip=True,
    )
    config = configure(tmp_path, [{"url": server.url("/latin.rss")}])
    assert fetch_feeds(config).feeds[0].new == 1
    assert stored(config) == {"Café reopens on the quay": body(story)}
    request = server.requested("/latin.rss")[0]
    assert request.headers["user-agent"] == USER_AGENT and "newsbot" in USER_AGENT
    assert "gzip" in request.headers["accept-encoding"]


def test_an_item_date_is_kept_else_the_pages_else_the_fetch_time_marked_so(server: FeedServer, tmp_path: Path) -> None:
    link = serve_story(server, "/coast/lighthouse", LIGHTHOUSE, "Coast Gazette")
    feed = rss("Coast Gazette", [(LIGHTHOUSE, link)]).replace(
        f"<pubDate>{LIGHTHOUSE.published}</pubDate>".encode(), b""
    )
    server.routes["/coast.rss"] = Route(feed)
    server.routes["/full.rss"] = Route(
        rss("Fjord Daily", [(GLACIER, server.url("/fjord/glacier"))], full=True).replace(
            f"<pubDate>{GLACIER.published}</pubDate>".encode(), b""
        )
    )
    config = configure(tmp_path, [{"url": server.url("/coast.rss")}, {"url": server.url("/full.rss")}])
    fetch_feeds(config, now=1_700_000_000.0)
    fronts = {p.read_text(encoding="utf-8").split("\n")[1]: p.read_text(encoding="utf-8") for p in md_files(config)}
    lighthouse = fronts[f'title: "{LIGHTHOUSE.title}"']
    glacier = fronts[f'title: "{GLACIER.title}"']
    assert 'published: "2024-03-05"' in lighthouse and 'published_from: "page"' in lighthouse
    assert 'published: "2023-11-14T22:13:20+00:00"' in glacier and 'published_from: "fetch"' in glacier


# -- kept once -----------------------------------------------------------------------------


def test_a_second_fetch_stores_nothing_new_by_conditional_requests(server: FeedServer, tmp_path: Path) -> None:
    items = [(s, serve_story(server, f"/coast/{s.slug}", s, "Coast Gazette")) for s in (LIGHTHOUSE, TRAM)]
    server.routes["/coast.rss"] = Route(rss("Coast Gazette", items))
    config = configure(tmp_path, [{"url": server.url("/coast.rss")}])
    first = fetch_feeds(config).feeds[0]
    before = {p: p.stat().st_mtime_ns for p in md_files(config)}

    second = fetch_feeds(config).feeds[0]

    assert (first.new, second.new, second.updated, second.unchanged) == (2, 0, 0, 2)
    assert {p: p.stat().st_mtime_ns for p in md_files(config)} == before
    feed_requests = server.requested("/coast.rss")
    assert "if-none-match" not in feed_requests[0].headers
    assert feed_requests[1].headers["if-none-match"].startswith('"')
    assert len(server.requested("/coast/lighthouse-keeper-retires")) == 1


def test_a_changed_feed_fetches_only_its_new_item_and_keeps_the_rest(server: FeedServer, tmp_path: Path) -> None:
    items = [(LIGHTHOUSE, serve_story(server, "/coast/lighthouse", LIGHTHOUSE, "Coast Gazette"))]
    server.routes["/coast.rss"] = Route(rss("Coast Gazette", items))
    config = configure(tmp_path, [{"url": server.url("/coast.rss")}])
    fetch_feeds(config)
    items.append((TRAM, serve_story(server, "/coast/tram", TRAM, "Coast Gazette")))
    server.routes["/coast.rss"] = Route(rss("Coast Gazette", items))

    report = fetch_feeds(config).feeds[0]

    assert (report.seen, report.new, report.unchanged) == (2, 1, 1)
    assert len(server.requested("/coast/lighthouse")) == 1
    assert set(stored(config)) == {LIGHTHOUSE.title, TRAM.title}


def test_tracking_parameters_and_the_canonical_link_keep_one_article_across_feeds(
    server: FeedServer, tmp_path: Path
) -> None:
    clean = serve_story(server, "/coast/lighthouse", LIGHTHOUSE, "Coast Gazette")
    # The same article under an AMP address whose page names the clean URL as canonical.
    serve_story(server, "/amp/coast/lighthouse", LIGHTHOUSE, "Coast Gazette", canonical=clean)
    server.routes["/a.rss"] = Route(rss("Coast Gazette", [(LIGHTHOUSE, clean + "?utm_source=rss&utm_medium=feed")]))
    server.routes["/b.rss"] = Route(rss("Coast Gazette", [(LIGHTHOUSE, server.url("/amp/coast/lighthouse"))]))
    server.routes["/c.rss"] = Route(rss("Coast Gazette", [(LIGHTHOUSE, clean + "#comments")]))
    config = configure(tmp_path, [{"url": server.url(p)} for p in ("/a.rss", "/b.rss", "/c.rss")])

    report = fetch_feeds(config)

    assert sum(f.new for f in report.feeds) == 1
    assert [p.relative_to(config.fetch.store).as_posix() for p in md_files(config)] == [article_path(clean)]


def test_a_changed_article_replaces_its_old_text(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/full.rss"] = Route(rss("Fjord Daily", [(GLACIER, server.url("/fjord/glacier"))], full=True))
    config = configure(tmp_path, [{"url": server.url("/full.rss")}])
    fetch_feeds(config)
    corrected = Story(GLACIER.slug, GLACIER.title, (*GLACIER.paragraphs[:2], "The museum expects 45,000 visitors."))
    server.routes["/full.rss"] = Route(rss("Fjord Daily", [(corrected, server.url("/fjord/glacier"))], full=True))

    report = fetch_feeds(config).feeds[0]

    assert (report.new, report.updated) == (0, 1)
    assert stored(config) == {GLACIER.title: body(corrected)}


def test_one_story_under_two_outlets_is_quoted_once_naming_the_other(server: FeedServer, tmp_path: Path) -> None:
    a = serve_story(server, "/coast/volcano", VOLCANO_A, "Coast Gazette")
    b = serve_story(server, "/north/ash", VOLCANO_B, "Northern Post")
    server.routes["/coast.rss"] = Route(rss("Coast Gazette", [(VOLCANO_A, a), (LIGHTHOUSE, server.url("/none"))]))
    server.routes["/north.rss"] = Route(rss("Northern Post", [(VOLCANO_B, b)]))
    config = configure(tmp_path, [{"url": server.url("/coast.rss")}, {"url": server.url("/north.rss")}])

    report = fetch_feeds(config)
    answer = Engine.open(config.corpus, config.index_dir, config.settings).answer(
        "how many passengers were affected by the volcano ash", asked_at="2024-03-06"
    )

    assert sum(f.merged for f in report.feeds) == 1
    volcano = [p for p in md_files(config) if "Hekkla" in p.read_text(encoding="utf-8")]
    assert len(volcano) == 1
    quoted = next(s for s in answer.sentences if "14,000 passengers" in s.text)
    outlets = {quoted.source.source} | {m.source for m in quoted.source.also_reported_by}
    assert outlets == {"Coast Gazette", "Northern Post"} and len(quoted.source.also_reported_by) == 1
    assert len({s.source.article_id for s in answer.sentences if "Hekkla" in s.text or "passengers" in s.text}) == 1
    # Fetching again adds no second mention and no file.
    fetch_feeds(config)
    assert (
        len(
            Engine.open(config.corpus, config.index_dir)
            .answer("passengers ash", asked_at="2024-03-06")
            .sentences[0]
            .source.also_reported_by
        )
        == 1
    )


def test_a_syndicated_page_naming_another_outlets_canonical_url_is_named_not_stored(
    server: FeedServer, tmp_path: Path
) -> None:
    original = serve_story(server, "/coast/volcano", VOLCANO_A, "Coast Gazette")
    # The second outlet prints the story with its own headline and points its canonical link at the original.
    copy = serve_story(server, "/north/ash", VOLCANO_B, "Northern Post", canonical=original)
    server.routes["/coast.rss"] = Route(rss("Coast Gazette", [(VOLCANO_A, original)]))
    server.routes["/north.rss"] = Route(rss("Northern Post", [(VOLCANO_B, copy)]))
    config = configure(tmp_path, [{"url": server.url("/coast.rss")}, {"url": server.url("/north.rss")}])

    first = fetch_feeds(config)
    second = fetch_feeds(config)

    assert sum(f.new for f in first.feeds) == 1 and sum(f.merged for f in first.feeds) == 1
    assert sum(f.unchanged for f in second.feeds) == 2
    (only,) = load_corpus(config.fetch.store).articles
    outlets = {only.source} | {m.source for m in only.also_reported_by}
    assert outlets == {"Coast Gazette", "Northern Post"} and len(only.also_reported_by) == 1


def test_the_state_forgets_items_and_feeds_no_longer_listed_but_keeps_their_articles(
    server: FeedServer, tmp_path: Path
) -> None:
    full = [(GLACIER, server.url("/fjord/glacier")), (LIGHTHOUSE, server.url("/fjord/lighthouse"))]
    server.routes["/full.rss"] = Route(rss("Fjord Daily", full, full=True))
    server.routes["/other.rss"] = Route(rss("Other", [(CHOIR, server.url("/other/choir"))], full=True))
    config = configure(tmp_path, [{"url": server.url("/full.rss")}, {"url": server.url("/other.rss")}])
    fetch_feeds(config)
    server.routes["/full.rss"] = Route(rss("Fjord Daily", full[1:], full=True))
    config = configure(tmp_path, [{"url": server.url("/full.rss")}])

    fetch_feeds(config)

    state = json.loads((config.fetch.store / STATE).read_text(encoding="utf-8"))
    assert list(state["feeds"]) == [server.url("/full.rss")]
    assert list(state["items"]) == [canonical_url(server.url("/fjord/lighthouse"))]
    assert len(state["articles"]) == 3 and set(stored(config)) == {GLACIER.title, LIGHTHOUSE.title, CHOIR.title}


def test_articles_older_than_max_age_days_are_not_kept(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/full.rss"] = Route(rss("Fjord Daily", [(GLACIER, server.url("/fjord/glacier"))], full=True))
    config = configure(tmp_path, [{"url": server.url("/full.rss")}], max_age_days=30)
    report = fetch_feeds(config, now=1_800_000_000.0)  # 2027: the 2024 story is too old
    assert (report.feeds[0].new, md_files(config)) == (0, [])


# -- failures --------------------------------------------------------------------------------


def _malformed(server: FeedServer) -> Route:
    return Route(rss("Broken", [(TRAM, server.url("/x"))]).replace(b"</title><link>", b"</titel><link>"))


def _wrong_charset(server: FeedServer) -> Route:
    text = rss("Quay", [(TRAM, server.url("/x"))], full=True).decode().replace("crowns", "kronor ø å")
    return Route(text.encode("latin-1"), content_type="application/rss+xml; charset=utf-8")


BROKEN = {
    "timeout": (lambda s: Route(rss("Slow", []), delay=3), "timed out after 1 s"),
    "404": (lambda s: Route(b"gone", status=404), "HTTP 404 Not Found"),
    "html": (
        lambda s: Route(b"<!DOCTYPE html><html><body><p>Welcome</p></body></html>", content_type=HTML),
        "not a feed: got an HTML page",
    ),  # noqa: E501
    "malformed XML": (_malformed, "malformed XML: mismatched tag at line 2"),
    "20 MB body": (lambda s: Route(endless=20_000_000), "over the 5,000,000-byte limit"),
    "redirect loop": (lambda s: Route(redirect=s.url("/broken")), "redirect loop"),
    "wrong charset": (_wrong_charset, "wrong charset: document declared as utf-8"),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_a_broken_feed_is_reported_and_skipped_beside_a_working_one(
    server: FeedServer, tmp_path: Path, kind: str
) -> None:
    make, reason = BROKEN[kind]
    server.routes["/broken"] = make(server)
    server.routes["/full.rss"] = Route(rss("Fjord Daily", [(GLACIER, server.url("/fjord/glacier"))], full=True))
    config = configure(tmp_path, [{"url": server.url("/broken")}, {"url": server.url("/full.rss")}], timeout_seconds=1)

    broken, working = fetch_feeds(config).feeds

    assert reason in broken.error and not broken.read
    assert (working.new, working.error) == (1, "")
    assert stored(config) == {GLACIER.title: body(GLACIER)}
    assert feed_statuses(config)[0].status.startswith(f"failed 1×: {broken.error}")


def test_a_feed_that_keeps_failing_backs_off_and_retry_after_is_respected(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/busy.rss"] = Route(b"slow down", status=429, headers={"Retry-After": "120"})
    config = configure(tmp_path, [{"url": server.url("/busy.rss")}])
    first = fetch_feeds(config, now=1_000_000.0).feeds[0]
    second = fetch_feeds(config, now=1_000_100.0).feeds[0]
    third = fetch_feeds(config, now=1_000_121.0).feeds[0]
    fourth = fetch_feeds(config, now=1_000_121.0).feeds[0]

    assert "HTTP 429" in first.error and "retry after 120 s" in first.error
    assert second.error.startswith("skipped: backing off after 1 failure") and "next try in 20 s" in second.error
    assert len(server.requested("/busy.rss")) == 2 and "HTTP 429" in third.error
    # After the second failure the wait is the longer of the doubled backoff (2 min) and Retry-After.
    assert "backing off after 2 failures" in fourth.error and "next try in 120 s" in fourth.error
    assert "HTTP 429" in fetch_feeds(config, now=1_000_121.0, force=True).feeds[0].error


def test_a_page_that_fails_falls_back_to_the_items_summary_and_is_tried_again(
    server: FeedServer, tmp_path: Path
) -> None:
    server.routes["/coast.rss"] = Route(rss("Coast Gazette", [(LIGHTHOUSE, server.url("/coast/lighthouse"))]))
    config = configure(tmp_path, [{"url": server.url("/coast.rss")}])
    report = fetch_feeds(config).feeds[0]
    assert report.new == 1 and report.problems == (f"{server.url('/coast/lighthouse')}: HTTP 404 Not Found",)
    assert stored(config) == {LIGHTHOUSE.title: LIGHTHOUSE.summary}
    serve_story(server, "/coast/lighthouse", LIGHTHOUSE, "Coast Gazette")
    server.routes["/coast.rss"] = Route(rss("Coast Gazette", [(LIGHTHOUSE, server.url("/coast/lighthouse"))]) + b" ")
    assert fetch_feeds(config).feeds[0].updated == 1
    assert stored(config) == {LIGHTHOUSE.title: body(LIGHTHOUSE)}


def test_requests_to_one_host_are_limited_to_per_host_at_once(server: FeedServer, tmp_path: Path) -> None:
    stories = [Story(f"s{i}", f"Story number {i}", (" ".join(f"w{i}o{j}" for j in range(40)) + ".",)) for i in range(6)]
    for s in stories:
        server.routes[f"/p/{s.slug}"] = Route(
            page(s, outlet="X", canonical=server.url(f"/p/{s.slug}")), HTML, delay=0.2
        )
    server.routes["/many.rss"] = Route(rss("Many", [(s, server.url(f"/p/{s.slug}")) for s in stories]))
    config = configure(tmp_path, [{"url": server.url("/many.rss")}], per_host=2)
    assert fetch_feeds(config).feeds[0].new == 6
    assert server.most_active == 2


# -- interrupted writes ----------------------------------------------------------------------


def test_a_crash_while_writing_leaves_no_half_written_article(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.routes["/full.rss"] = Route(rss("Fjord Daily", [(GLACIER, server.url("/fjord/glacier"))], full=True))
    config = configure(tmp_path, [{"url": server.url("/full.rss")}])

    def crash(src: Any, dst: Any) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        fetch_feeds(config)
    monkeypatch.undo()
    assert md_files(config) == [] and load_corpus(config.corpus).articles == ()

    assert fetch_feeds(config).feeds[0].new == 1
    assert [p.name for p in config.fetch.store.rglob(".*tmp*")] == []
    assert stored(config) == {GLACIER.title: body(GLACIER)}


def test_a_fetch_killed_half_way_leaves_whole_articles_and_no_duplicate_next_time(
    server: FeedServer, tmp_path: Path
) -> None:
    stories = [LIGHTHOUSE, TRAM, CHOIR]
    items = [(s, serve_story(server, f"/coast/{s.slug}", s, "Coast Gazette")) for s in stories]
    server.routes["/coast/choir-wins-prize"].delay = 60  # the fetch is killed while waiting for this page
    server.routes["/coast.rss"] = Route(rss("Coast Gazette", items))
    configure(tmp_path, [{"url": server.url("/coast.rss")}], per_host=1)
    config_path = tmp_path / "config.yaml"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "fetch", "--config", str(config_path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        store = tmp_path / "corpus" / "fetched"
        while time.monotonic() < deadline and (
            not server.requested("/coast/choir-wins-prize") or len(list(store.rglob("*.md"))) < 2
        ):
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    config = parse_config(json.loads(config_path.read_text(encoding="utf-8")), base=tmp_path)
    assert len(md_files(config)) == 2  # the two pages it had, whole
    assert set(stored(config)) == {LIGHTHOUSE.title, TRAM.title}

    server.routes["/coast/choir-wins-prize"].delay = 0
    report = fetch_feeds(config).feeds[0]

    assert report.seen == 3 and report.failed == 0
    assert stored(config) == {s.title: body(s) for s in stories}
    assert len(md_files(config)) == 3


def test_a_fetch_told_to_stop_ends_at_once_and_keeps_what_it_stored(server: FeedServer, tmp_path: Path) -> None:
    stories = [LIGHTHOUSE, TRAM, CHOIR]
    items = [(s, serve_story(server, f"/coast/{s.slug}", s, "Coast Gazette")) for s in stories]
    server.routes["/coast/choir-wins-prize"].delay = 60  # stopped while waiting for this page
    server.routes["/coast.rss"] = Route(rss("Coast Gazette", items))
    config = configure(tmp_path, [{"url": server.url("/coast.rss")}], per_host=1, timeout_seconds=50)
    stop = threading.Event()
    outcome: list[BaseException] = []

    def fetch() -> None:
        try:
            fetch_feeds(config, stop=stop)
        except BaseException as error:  # noqa: BLE001 - the test inspects what ended the fetch
            outcome.append(error)

    worker = threading.Thread(target=fetch)
    worker.start()
    deadline = time.monotonic() + 30
    waiting = "/coast/choir-wins-prize"
    while time.monotonic() < deadline and (not server.requested(waiting) or len(md_files(config)) < 2):
        time.sleep(0.05)
    stop.set()
    worker.join(timeout=5)

    assert not worker.is_alive()
    assert [type(e) for e in outcome] == [FetchStopped]
    assert set(stored(config)) == {LIGHTHOUSE.title, TRAM.title}
    server.routes["/coast/choir-wins-prize"].delay = 0
    report = fetch_feeds(config).feeds[0]
    assert (report.seen, report.new, report.unchanged, report.failed) == (3, 1, 2, 0)
    assert len(md_files(config)) == 3


def test_the_state_file_is_a_dot_file_the_corpus_loader_skips(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/full.rss"] = Route(rss("Fjord Daily", [(GLACIER, server.url("/fjord/glacier"))], full=True))
    config = configure(tmp_path, [{"url": server.url("/full.rss")}])
    fetch_feeds(config)
    assert (config.fetch.store / STATE).exists()
    assert [a.title for a in load_corpus(config.corpus).articles] == [GLACIER.title]


# -- canonical URLs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://Example.org/news/a?utm_source=rss&utm_medium=feed", "https://example.org/news/a"),
        ("https://example.org:443/news/a#comments", "https://example.org/news/a"),
        ("http://example.org:8080/a?b=2&a=1&fbclid=XYZ", "http://example.org:8080/a?a=1&b=2"),
        ("https://example.org/story?id=42&gclid=abc", "https://example.org/story?id=42"),
        ("https://example.org", "https://example.org/"),
        ("not a url", "not a url"),
    ],
)
def test_canonical_url_drops_tracking_fragment_and_default_port(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


# -- the commands ----------------------------------------------------------------------------


def newsbot(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env
    )


def test_fetch_reports_each_feed_exits_0_when_one_was_read_and_answers_name_both_outlets(
    server: FeedServer, tmp_path: Path
) -> None:
    a = serve_story(server, "/coast/volcano", VOLCANO_A, "Coast Gazette")
    b = serve_story(server, "/north/ash", VOLCANO_B, "Northern Post")
    server.routes["/coast.rss"] = Route(rss("Coast Gazette", [(VOLCANO_A, a)]))
    server.routes["/north.rss"] = Route(rss("Northern Post", [(VOLCANO_B, b), (TRAM, server.url("/north/tram"))]))
    feeds = [{"url": server.url(p)} for p in ("/coast.rss", "/north.rss", "/gone.rss")]
    config = str(configure(tmp_path, feeds).corpus.parent / "config.yaml")

    fetched = newsbot("fetch", "--config", config)
    listed = newsbot("feeds", "--config", config)
    question = "how many passengers were affected by the ash"
    asked = newsbot("ask", "--json", "--at", "2024-03-06", "--config", config, question)

    assert fetched.returncode == 0, fetched.stderr
    lines = fetched.stdout.splitlines()
    assert lines[0].split() == ["feed", "seen", "new", "updated", "unchanged", "also", "failed", "time"]
    rows = sorted(line.split()[:2] for line in lines[1:4])
    assert rows == [["127.0.0.1", "0"], ["Coast", "Gazette"], ["Northern", "Post"]]
    assert f"newsbot: feed {server.url('/gone.rss')}: HTTP 404 Not Found" in fetched.stderr
    assert lines[-1] == "index: 2 articles, 3 passages"
    assert listed.returncode == 0 and "failed 1×: HTTP 404 Not Found" in listed.stdout
    sentence = next(s for s in json.loads(asked.stdout)["sentences"] if "14,000" in s["text"])
    other = {"Coast Gazette": ("Northern Post", VOLCANO_B, b), "Northern Post": ("Coast Gazette", VOLCANO_A, a)}
    source, story, url = other[sentence["source"]]
    assert sentence["also_reported_by"] == [{"source": source, "title": story.title, "url": url}]


def test_fetch_exits_1_when_every_feed_failed(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/html"] = Route(b"<html><body>hello</body></html>", content_type=HTML)
    configure(tmp_path, [{"url": server.url("/gone.rss")}, {"url": server.url("/html")}])
    result = newsbot("fetch", "--config", str(tmp_path / "config.yaml"))
    assert result.returncode == 1
    assert "HTTP 404 Not Found" in result.stderr and "not a feed: got an HTML page" in result.stderr


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"feeds": [{"url": "example.org/rss"}]}, "feeds[0].url: expected an http:// or https:// URL"),
        ({"feeds": ["https://example.org/rss"], "fetch": {"every_seconds": -1}}, "fetch.every_seconds: expected"),
        ({}, "fetch: no feeds in the config"),
    ],
)
def test_fetch_exits_2_on_a_bad_config(tmp_path: Path, config: dict[str, Any], message: str) -> None:
    (tmp_path / "config.yaml").write_text(json.dumps({"corpus": str(tmp_path), **config}), encoding="utf-8")
    result = newsbot("fetch", "--config", str(tmp_path / "config.yaml"))
    assert result.returncode == 2
    assert result.stderr.startswith("newsbot: error:") and message in result.stderr


def test_an_unexpected_error_on_one_feed_is_reported_and_the_others_still_fetched(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.feeds.fetch

    real = bot.feeds.fetch.parse_feed

    def fragile(body: bytes, *, content_type: str = "") -> Any:
        if b"Trouble" in body:
            raise RuntimeError("parser bug")
        return real(body, content_type=content_type)

    monkeypatch.setattr(bot.feeds.fetch, "parse_feed", fragile)
    server.routes["/trouble.rss"] = Route(rss("Trouble", []))
    server.routes["/full.rss"] = Route(rss("Fjord Daily", [(GLACIER, server.url("/fjord/glacier"))], full=True))
    config = configure(tmp_path, [{"url": server.url("/trouble.rss")}, {"url": server.url("/full.rss")}])

    broken, working = fetch_feeds(config).feeds

    assert broken.error == "unexpected error: RuntimeError: parser bug"
    assert working.new == 1


# -- parsing and HTTP details ----------------------------------------------------------------

RSS_091 = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old Times</title><link>http://o.example/</link>
<description>d</description><language>en</language>
<item><title>Mill reopens</title><link>http://o.example/mill</link><description>The mill reopened.</description></item>
</channel></rss>"""
RSS_092 = RSS_091.replace(b'version="0.91"', b'version="0.92"')


@pytest.mark.parametrize(
    ("body", "version_title"),
    [
        (RSS_091, ("Old Times", "Mill reopens", "http://o.example/mill", "The mill reopened.")),
        (RSS_092, ("Old Times", "Mill reopens", "http://o.example/mill", "The mill reopened.")),
        (
            rdf("City Courier", [(TRAM, "http://c.example/tram")]),
            ("City Courier", TRAM.title, "http://c.example/tram", TRAM.summary),
        ),  # noqa: E501
        (rss("Coast", [(TRAM, "http://c.example/tram")]), ("Coast", TRAM.title, "http://c.example/tram", TRAM.summary)),
        (
            atom("North", [(TRAM, "http://n.example/tram")]),
            ("North", TRAM.title, "http://n.example/tram", TRAM.summary),
        ),
    ],
    ids=["rss 0.91", "rss 0.92", "rdf (rss 1.0)", "rss 2.0", "atom"],
)
def test_every_feed_format_gives_its_items(body: bytes, version_title: tuple[str, str, str, str]) -> None:
    from bot.feeds.parse import parse_feed

    feed = parse_feed(body, content_type="application/xml")
    item = feed.items[0]
    assert (feed.title, item.title, item.link, item.summary) == version_title


def test_retry_after_reads_seconds_and_http_dates() -> None:
    from bot.feeds.http import retry_after_seconds

    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412400.0) == 80.0
    assert retry_after_seconds("soon") is None
