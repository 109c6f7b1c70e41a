"""Following news feeds: fetch them, keep their articles once as corpus files.

    config.yaml feeds ──http──▶ feed bytes ──parse──▶ items ──extract──▶ article text
        ──dedupe (canonical URL, then near-duplicate text)──▶ store: one .md file per article
        in `fetch.store`, inside the corpus, which the index then picks up like any other file.

Operator-side I/O only: `retrieval` never imports this package. `fetch_feeds` is the one
entry point (`newsbot fetch`, and the running bot every `fetch.every_seconds`);
`feed_statuses` is what `newsbot feeds` lists.
"""

from bot.feeds.fetch import FeedReport, FeedStatus, FetchReport, feed_statuses, fetch_feeds

__all__ = ["FeedReport", "FeedStatus", "FetchReport", "feed_statuses", "fetch_feeds"]
