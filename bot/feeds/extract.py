"""Article text out of HTML: a whole news page (trafilatura) or a feed item's HTML fragment.

trafilatura keeps the article and leaves out what surrounds it on a news page: navigation,
cookie banners, share buttons, "related stories", comments and newsletter prompts. It also
reads the page's title, date, author and canonical link.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import lxml.html
import trafilatura
from lxml import etree

__all__ = ["Page", "decode_html", "extract_page", "html_text"]

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_BLOCKS = frozenset(
    [
        "p",
        "div",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "section",
        "article",
        "header",
        "footer",
        "tr",
        "table",
        "ul",
        "ol",
        "dd",
        "dt",
        "figcaption",
    ]
)
_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")


@dataclass(frozen=True, slots=True)
class Page:
    """What was read from an article page; empty strings where the page did not say."""

    text: str
    title: str = ""
    published: str = ""
    author: str = ""
    canonical: str = ""


def paragraphs(text: str) -> str:
    """Tidy extracted text: one paragraph a block, spaces collapsed, blank lines between."""
    lines = (_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n\n".join(line for line in lines if line)


def html_text(fragment: str) -> str:
    """Return the plain text of an HTML fragment (a feed item's content), one paragraph a block."""
    if "<" not in fragment:
        return paragraphs(html.unescape(fragment))
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return paragraphs(fragment)
    for bad in root.xpath("//script|//style|//noscript|//iframe"):
        bad.drop_tree()
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag == "br":
            element.tail = "\n" + (element.tail or "")
        elif element.tag in _BLOCKS:
            element.tail = "\n" + (element.tail or "")
            element.text = "\n" + (element.text or "")
    return paragraphs(root.text_content())


def decode_html(body: bytes, content_type: str) -> str | bytes:
    """Decode a page by its HTTP charset; without one (or a wrong one) leave it to trafilatura's detection."""
    found = _CHARSET.search(content_type)
    if found:
        try:
            return body.decode(found[1])
        except (LookupError, UnicodeDecodeError):
            pass
    return body


def extract_page(body: bytes, *, content_type: str, url: str) -> Page | None:
    """Extract the article of a news page; None when the page holds no article text."""
    document = trafilatura.bare_extraction(
        decode_html(body, content_type),
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        favor_precision=True,
    )
    if document is None:
        return None
    data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    title = " ".join((data.get("title") or "").split())
    text = paragraphs(data.get("text") or "")
    # trafilatura may repeat the headline as the text's first line.
    first, _, rest = text.partition("\n\n")
    if title and first == title:
        text = rest
    if not text:
        return None
    return Page(
        text=text,
        title=title,
        published=data.get("date") or "",
        author=" ".join((data.get("author") or "").split()),
        canonical=data.get("url") or "",
    )
