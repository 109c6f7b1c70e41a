"""Outlet names for source lines: what a reader calls a news site, not its domain.

Used by `bot.format` when it writes a source line. The corpus names an outlet in its own words
(a `Source:` line, front matter, a feed's title); when it gives a bare domain ("usatoday.com") or
nothing, the article's host is looked up in a small table of well-known news sites. An unknown
domain is shown as it is: a guess at a name would be worse than the plain domain.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["KNOWN_HOSTS", "outlet_name"]

KNOWN_HOSTS: dict[str, str] = {
    "abcnews.go.com": "ABC News",
    "aljazeera.com": "Al Jazeera",
    "apnews.com": "AP News",
    "axios.com": "Axios",
    "bbc.co.uk": "BBC",
    "bbc.com": "BBC",
    "bloomberg.com": "Bloomberg",
    "businessinsider.com": "Business Insider",
    "cbc.ca": "CBC",
    "cbsnews.com": "CBS News",
    "cnbc.com": "CNBC",
    "cnn.com": "CNN",
    "dw.com": "DW",
    "economist.com": "The Economist",
    "euronews.com": "Euronews",
    "forbes.com": "Forbes",
    "foxnews.com": "Fox News",
    "france24.com": "France 24",
    "ft.com": "Financial Times",
    "independent.co.uk": "The Independent",
    "latimes.com": "Los Angeles Times",
    "nbcnews.com": "NBC News",
    "npr.org": "NPR",
    "nytimes.com": "The New York Times",
    "politico.com": "Politico",
    "reuters.com": "Reuters",
    "sky.com": "Sky News",
    "telegraph.co.uk": "The Telegraph",
    "theatlantic.com": "The Atlantic",
    "theguardian.com": "The Guardian",
    "thehill.com": "The Hill",
    "theverge.com": "The Verge",
    "time.com": "Time",
    "usatoday.com": "USA Today",
    "washingtonpost.com": "The Washington Post",
    "wsj.com": "The Wall Street Journal",
}

_DOMAIN = re.compile(r"(?:www\.)?(?:[a-z0-9-]+\.)+[a-z]{2,}", re.IGNORECASE)


def _known(host: str) -> str:
    """Return the outlet of `host` or of any domain it is under ("edition.cnn.com" → CNN)."""
    labels = host.casefold().strip(".").split(".")
    for start in range(len(labels) - 1):
        name = KNOWN_HOSTS.get(".".join(labels[start:]))
        if name:
            return name
    return ""


def outlet_name(source: str, url: str = "") -> str:
    """Return the outlet to show: the corpus's own name, else a known host's name, else the domain."""
    source = " ".join(source.split())
    if source and not _DOMAIN.fullmatch(source):
        return source
    host = source or (urlsplit(url.strip()).hostname or "")
    return _known(host) or source
