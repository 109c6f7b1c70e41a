"""Feed fetching benchmark: speed of a fetch with nothing changed, and answers from news pages.

Usage, from the repository root:

    python -m benchmarks.bench_fetch                      # 50 feeds x 50 items, then quality
    python -m benchmarks.bench_fetch --feeds 5 --items 5 --quality-articles 40 --no-bench-data

Everything is served by a local HTTP server on 127.0.0.1 in a child process (so serving does
not share the fetcher's interpreter), with ETag / Last-Modified and 304 answers like a real
server.

**Speed.** `--feeds` feeds of `--items` items each, over seeded news-like articles
(`benchmarks.newslike`): four items in five carry the whole article in `content:encoded`, the
fifth only a summary, so its page (the article wrapped in page furniture) is fetched and
extracted. Timed, each a whole `fetch_feeds` call in this process: (1) the first fetch, storing
everything; (2) a fetch with nothing changed (conditional requests: every feed answers 304),
the target being under 5 s; (3) the obvious alternative, the same fetch without conditional
requests (the ETags and dates forgotten, so every feed is downloaded and parsed again and each
item compared with what is stored); both must store nothing.

**Quality.** Articles are wrapped in realistic page furniture (navigation, cookie banner, share
buttons, "related stories" naming other articles' headlines, a newsletter prompt, comments),
served as pages behind summary-only feeds, fetched and extracted; the same articles are also
indexed as a clean `.jsonl`. Both answer the same questions; hit@1/hit@3 are printed side by
side, with the number of answer sentences (top 3) that hold furniture text, and of stored
articles whose text holds any. Two sets:

- seeded news-like articles with questions built from their sentences (always; no data needed);
- ../shared/bench/realtimeqa (`--bench-data`), its dev split: the articles are read from there
  at run time and never written anywhere but a temporary folder. Skipped, saying so, when the
  folder is missing or with `--no-bench-data`.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import multiprocessing
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import newslike  # noqa: E402
from bot.config import Config, parse_config  # noqa: E402
from bot.evaluate import Question, contains_answer, read_questions  # noqa: E402
from bot.feeds import fetch_feeds  # noqa: E402
from bot.feeds.store import STATE  # noqa: E402
from retrieval.engine import Engine  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench" / "realtimeqa"
TARGET_SECONDS = 5.0
HTML_TYPE = "text/html; charset=utf-8"
RSS_TYPE = "application/rss+xml; charset=utf-8"

# Page furniture, written for this benchmark. Each entry is (css class, text).
NAV = "Home World Politics Business Technology Science Health Sport Culture Opinion Weather Podcasts"
COOKIE = (
    "We value your privacy. We and our partners use cookies to personalise content and ads and to "
    "analyse our traffic. You can accept all cookies or manage your preferences at any time."
)
SHARE = "Share this article on Facebook. Share on X. Share on WhatsApp. Send by email. Copy the link."
NEWSLETTER = (
    "Get the morning briefing: the five stories you need to know, in your inbox before breakfast. "
    "Sign up for free. You can unsubscribe at any time."
)
COMMENTS = (
    "This is exactly what I have been saying for years and nobody listens.",
    "Does anyone know when the council will publish the full report on this?",
    "Great reporting, thank you for covering the story in such detail.",
)
FOOTER = "All rights reserved. Terms of use. Privacy policy. Contact us. Advertise with us."
# Headings too: a "Related stories" block that leaked in would bring other articles' headlines.
FURNITURE = (NAV, COOKIE, SHARE, NEWSLETTER, *COMMENTS, FOOTER, "Related stories", "Newsletter. Comments")


@dataclass(frozen=True, slots=True)
class Item:
    """One article as a feed item: its link, and the page behind it."""

    id: str
    title: str
    text: str
    source: str
    published: str
    path: str


# -- the site ------------------------------------------------------------------------------


def news_page(item: Item, related: list[str], url: str) -> bytes:
    """The article as a news site prints it, with everything around it."""
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in item.text.split("\n") if p.strip())
    nav = "".join(f'<li><a href="/{w.lower()}">{w}</a></li>' for w in NAV.split())
    links = "".join(f'<li><a href="/related/{i}">{html.escape(t)}</a></li>' for i, t in enumerate(related))
    comments = "".join(f'<div class="comment"><p>{html.escape(c)}</p></div>' for c in COMMENTS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(item.title)} | {html.escape(item.source)}</title>
<link rel="canonical" href="{html.escape(url)}">
<meta property="article:published_time" content="{html.escape(item.published)}">
</head><body>
<header><nav class="site-nav"><ul>{nav}</ul></nav></header>
<div id="cookie-consent" class="cookie-banner"><p>{COOKIE}</p><button>Accept all</button></div>
<main><article>
<h1>{html.escape(item.title)}</h1>
<div class="share-bar">{SHARE}</div>
<div class="article-body">
{paragraphs}
</div>
</article>
<aside class="related"><h2>Related stories</h2><ul>{links}</ul></aside>
<section class="newsletter"><h3>Newsletter</h3><p>{NEWSLETTER}</p><input type="email"></section>
<section id="comments"><h3>Comments</h3>{comments}</section>
</main>
<footer><p>{FOOTER}</p></footer>
</body></html>""".encode()


def feed_xml(title: str, entries: list[tuple[Item, str, bool]]) -> bytes:
    """An RSS 2.0 feed; each entry is (item, link, whether the whole text goes in content:encoded)."""
    out = []
    for item, link, full in entries:
        summary = item.text.split("\n")[0][:300]
        content = ""
        if full:
            body = "".join(f"<p>{html.escape(p)}</p>" for p in item.text.split("\n") if p.strip())
            content = f"<content:encoded><![CDATA[{body}]]></content:encoded>"
        out.append(
            f"<item><title>{html.escape(item.title)}</title><link>{html.escape(link)}</link>"
            f"<guid>{html.escape(link)}</guid><description>{html.escape(summary)}</description>{content}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{html.escape(title)}</title><link>http://127.0.0.1/</link><description>news</description>"
        + "".join(out)
        + "</channel></rss>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    routes: dict[str, tuple[bytes, str]] = {}

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        found = self.routes.get(self.path)
        if found is None:
            self._send(404, b"not found", {"Content-Type": "text/plain"})
            return
        body, kind = found
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self._send(304, b"", {"ETag": etag})
            return
        self._send(200, body, {"Content-Type": kind, "ETag": etag, "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        pass


def _serve(routes: dict[str, tuple[bytes, str]], port: int, ports: Any) -> None:
    _Handler.routes = routes
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    server.daemon_threads = True
    ports.put(server.server_address[1])
    server.serve_forever()


class Site:
    """Routes served from a child process; `url(path)` once started."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.port = 0
        self._process: Any = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self, port: int) -> None:
        context = multiprocessing.get_context("fork")
        ports = context.Queue()
        self._process = context.Process(target=_serve, args=(self.routes, port, ports), daemon=True)
        self._process.start()
        self.port = ports.get(timeout=30)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.join(10)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_site(items: list[Item], *, feeds: int, full_share: float, seed: int) -> tuple[Site, list[str]]:
    """Feeds of the items (round robin), pages for the summary-only ones; returns the feed URLs."""
    site = Site()
    # The port is fixed before the child starts, since feeds and pages hold absolute links.
    port = _free_port()
    site.port = port
    rng = random.Random(seed)
    titles = [i.title for i in items]
    groups: list[list[tuple[Item, str, bool]]] = [[] for _ in range(feeds)]
    for n, item in enumerate(items):
        link = site.url(item.path)
        full = rng.random() < full_share
        groups[n % feeds].append((item, link, full))
        if not full:
            related = rng.sample(titles, k=min(4, len(titles)))
            site.routes[item.path] = (news_page(item, [t for t in related if t != item.title][:3], link), HTML_TYPE)
    urls = []
    for f, entries in enumerate(groups):
        site.routes[f"/feed/{f}.xml"] = (feed_xml(f"Outlet {f}", entries), RSS_TYPE)
        urls.append(site.url(f"/feed/{f}.xml"))
    site.start(port)
    return site, urls


def configure(folder: Path, feeds: list[str]) -> Config:
    (folder / "corpus").mkdir(parents=True, exist_ok=True)
    data = {
        "corpus": "corpus",
        "index_dir": "index",
        "feeds": [{"url": u} for u in feeds],
        "fetch": {"per_host": 8, "timeout_seconds": 60},
    }
    return parse_config(data, base=folder)


# -- speed ---------------------------------------------------------------------------------


def synthetic_items(count: int, seed: int, folder: Path) -> list[Item]:
    """`count` seeded news-like articles as items."""
    path = folder / "synthetic.jsonl"
    passages = count * 12
    while True:
        newslike.write_corpus(path, passages=passages, seed=seed)
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        if len(rows) >= count:
            break
        passages *= 2
    return [
        Item(r["id"], r["title"], r["text"].replace("\n\n", "\n"), r["source"], r["published"], f"/a/{n}")
        for n, r in enumerate(rows[:count])
    ]


def bench_speed(feeds: int, items_per_feed: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        items = synthetic_items(feeds * items_per_feed, seed, folder)
        site, urls = build_site(items, feeds=feeds, full_share=0.8, seed=seed)
        try:
            config = configure(folder / "speed", urls)
            timings: dict[str, Any] = {}
            for label in ("first fetch", "nothing changed, conditional", "nothing changed, unconditional"):
                if label.endswith("unconditional"):
                    state = json.loads((config.fetch.store / STATE).read_text(encoding="utf-8"))
                    for feed in state["feeds"].values():
                        feed["etag"] = feed["last_modified"] = ""
                    (config.fetch.store / STATE).write_text(json.dumps(state), encoding="utf-8")
                start = time.perf_counter()
                report = fetch_feeds(config)
                seconds = time.perf_counter() - start
                timings[label] = {
                    "seconds": round(seconds, 3),
                    "feeds read": sum(f.read for f in report.feeds),
                    "seen": sum(f.seen for f in report.feeds),
                    "new": sum(f.new for f in report.feeds),
                    "updated": sum(f.updated for f in report.feeds),
                    "unchanged": sum(f.unchanged for f in report.feeds),
                    "merged": sum(f.merged for f in report.feeds),
                    "failed": sum(f.failed for f in report.feeds),
                }
            pages = sum(1 for p in site.routes if p.startswith("/a/"))
            return {"feeds": feeds, "items": items_per_feed, "pages": pages, "runs": timings}
        finally:
            site.stop()


# -- quality -------------------------------------------------------------------------------


def furniture_in(text: str) -> bool:
    """Whether `text` holds a sentence of page furniture (or furniture holds all of it)."""
    folded = " ".join(text.split()).lower()
    for block in FURNITURE:
        for piece in block.split(". "):
            piece = piece.strip(". ").lower()
            if len(piece) > 12 and (piece in folded or (len(folded) > 12 and folded in piece)):
                return True
    return False


@dataclass
class Scores:
    questions: int = 0
    hit1: int = 0
    hit3: int = 0
    furniture_quotes: int = 0

    def row(self) -> dict[str, Any]:
        n = max(self.questions, 1)
        return {
            "questions": self.questions,
            "hit@1": round(self.hit1 / n, 3),
            "hit@3": round(self.hit3 / n, 3),
            "furniture quotes": self.furniture_quotes,
        }


def score(engine: Engine, questions: list[Question]) -> Scores:
    scores = Scores()
    for q in questions:
        top = engine.answer(q.question, limit=3).sentences
        ranks = [i for i, s in enumerate(top, 1) if contains_answer(s.text, q.answers)]
        scores.questions += 1
        scores.hit1 += bool(ranks and ranks[0] == 1)
        scores.hit3 += bool(ranks)
        scores.furniture_quotes += sum(furniture_in(s.text) for s in top)
    return scores


def compare(name: str, items: list[Item], questions: list[Question], seed: int, folder: Path) -> dict[str, Any]:
    """Answer `questions` from the items fetched as furniture-wrapped pages and from clean .jsonl."""
    clean = folder / f"{name}-clean" / "articles.jsonl"
    clean.parent.mkdir(parents=True)
    with clean.open("w", encoding="utf-8") as out:
        for item in items:
            record = {"id": item.id, "title": item.title, "source": item.source, "url": "", "published": item.published}
            out.write(json.dumps({**record, "text": item.text}, ensure_ascii=False) + "\n")
    site, urls = build_site(items, feeds=max(1, len(items) // 50), full_share=0.0, seed=seed)
    try:
        config = configure(folder / f"{name}-fetched", urls)
        start = time.perf_counter()
        report = fetch_feeds(config)
        fetch_seconds = time.perf_counter() - start
    finally:
        site.stop()
    fetched = Engine.open(config.corpus, config.index_dir, Settings())
    reference = Engine.open(clean, folder / f"{name}-clean-index", Settings())
    stored = [p.read_text(encoding="utf-8") for p in config.fetch.store.rglob("*.md")]
    bodies = [text.split("\n---\n", 1)[1] for text in stored]
    return {
        "set": name,
        "articles": len(items),
        "fetched": {"seconds": round(fetch_seconds, 1), "stored": len(stored),
                    "merged": sum(f.merged for f in report.feeds), "failed": sum(f.failed for f in report.feeds),
                    "articles with furniture": sum(furniture_in(b) for b in bodies)},  # fmt: skip
        "from pages": score(fetched, questions).row(),
        "clean .jsonl": score(reference, questions).row(),
    }


def synthetic_quality(count: int, seed: int, folder: Path) -> dict[str, Any]:
    items = synthetic_items(count, seed + 1, folder)
    source = folder / "synthetic-questions.jsonl"
    with source.open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps({"id": item.id, "title": item.title, "source": item.source, "url": "",
                                  "published": item.published, "text": item.text}) + "\n")  # fmt: skip
    asked = newslike.make_questions(source, count=min(300, count), seed=seed)
    questions = [Question(q.id, q.question, (q.sentence,)) for q in asked]
    return compare("news-like (seeded)", items, questions, seed, folder)


def realtimeqa_quality(limit: int, seed: int, folder: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in (BENCH / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    if limit:
        rows = rows[:limit]
    known = {r["id"] for r in rows}
    items = [
        Item(r["id"], r["title"] or "Untitled", r["text"], r["source"] or "news", r["published"] or "", f"/a/{n}")
        for n, r in enumerate(rows)
    ]
    questions = read_questions(BENCH / "questions.jsonl", split="dev")
    if limit:
        ids = {json.loads(line)["id"]: json.loads(line)["article_ids"]
               for line in (BENCH / "questions.jsonl").read_text(encoding="utf-8").splitlines()}  # fmt: skip
        questions = [q for q in questions if set(ids[q.id]) & known]
    return compare("realtimeqa dev", items, questions, seed, folder)


# -- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--items", type=int, default=50, help="items per feed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quality-articles", type=int, default=500, help="seeded articles for the quality check")
    parser.add_argument("--bench-data", dest="bench", action="store_true", default=True)
    parser.add_argument("--no-bench-data", dest="bench", action="store_false", help="skip ../shared/bench")
    parser.add_argument("--bench-limit", type=int, default=0, help="use only the first N realtimeqa articles")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    args = parser.parse_args(argv)

    results: dict[str, Any] = {}
    speed = bench_speed(args.feeds, args.items, args.seed)
    results["speed"] = speed
    print(f"fetch of {speed['feeds']} feeds x {speed['items']} items ({speed['pages']} article pages), local server")
    print(f"{'run':<34}{'seconds':>9}{'seen':>7}{'new':>6}{'updated':>9}{'unchanged':>11}{'failed':>8}")
    for label, run in speed["runs"].items():
        print(
            f"{label:<34}{run['seconds']:>9.2f}{run['seen']:>7}{run['new']:>6}{run['updated']:>9}"
            f"{run['unchanged']:>11}{run['failed']:>8}"
        )
    warm = speed["runs"]["nothing changed, conditional"]["seconds"]
    verdict = "met" if warm < TARGET_SECONDS else "MISSED"
    print(f"target: nothing changed under {TARGET_SECONDS:g} s: {warm:.2f} s, {verdict}")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sets = [synthetic_quality(args.quality_articles, args.seed, folder)]
        if not args.bench:
            print("\nrealtimeqa: skipped (--no-bench-data)")
        elif not (BENCH / "articles.jsonl").exists():
            print(f"\nrealtimeqa: skipped, needs {BENCH} (the public question sets), which is not here")
        else:
            sets.append(realtimeqa_quality(args.bench_limit, args.seed, folder))
        shutil.rmtree(folder, ignore_errors=True)
    results["quality"] = sets
    print("\nanswers from furniture-wrapped pages (fetched, extracted) vs the same articles as clean .jsonl")
    print(f"{'set':<22}{'corpus':<14}{'questions':>10}{'hit@1':>8}{'hit@3':>8}{'furniture quotes':>18}")
    for s in sets:
        for corpus in ("from pages", "clean .jsonl"):
            row = s[corpus]
            print(
                f"{s['set']:<22}{corpus:<14}{row['questions']:>10}{row['hit@1']:>8.3f}{row['hit@3']:>8.3f}"
                f"{row['furniture quotes']:>18}"
            )
        f = s["fetched"]
        print(
            f"{'':<22}fetched {s['articles']} pages in {f['seconds']} s: {f['stored']} stored, {f['merged']} merged "
            f"as near-duplicates, {f['failed']} failed, {f['articles with furniture']} with furniture text"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
