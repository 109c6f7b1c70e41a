"""Invented news for the feed tests: stories, feeds (RSS 2.0, Atom, RDF) and news pages.

The pages look like real news sites: navigation, a cookie banner, share buttons, the article,
"related stories", a newsletter prompt and comments. Every word here was written for these
tests; none of it may ever appear in an answer except the article paragraphs.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Story:
    slug: str
    title: str
    paragraphs: tuple[str, ...]
    published: str = "Tue, 05 Mar 2024 10:00:00 GMT"

    @property
    def summary(self) -> str:
        return self.paragraphs[0].split(". ")[0] + "."


LIGHTHOUSE = Story(
    "lighthouse-keeper-retires",
    "Lighthouse keeper retires after four decades",
    (
        "Marta Olsen, the keeper of the Skerry Point lighthouse, retired on Friday after 41 years of service.",
        "She climbed the 212 steps of the tower twice a day and logged every passing ship by hand. "
        "Her successor will be a remote camera system installed by the coastal authority last spring.",
        "Olsen said she plans to spend her retirement growing blue potatoes on the island of Vardholm.",
    ),
)
GLACIER = Story(
    "glacier-museum-opens",
    "Glacier museum opens its doors in Fjellby",
    (
        "A museum dedicated to the shrinking Brenna glacier opened in Fjellby on Saturday.",
        "The building is cooled by meltwater piped from the glacier itself, the architect Ivo Lind said. "
        "Entry is free for children under twelve during the first season.",
        "The museum expects 30,000 visitors a year, most of them hikers on the northern trail.",
    ),
)
VOLCANO_A = Story(
    "volcano-ash-closes-airports",
    "Volcano ash closes three northern airports",
    (
        "Ash from the Hekkla volcano closed three airports in the north on Wednesday, the aviation agency said.",
        "Flights to Nordvik, Sandhamn and Isafell were cancelled until at least Thursday evening. "
        "About 14,000 passengers were affected, according to the agency's spokesperson Lena Berg.",
        "Scientists said the eruption was the strongest at the volcano since 1998 "
        "and that the ash cloud was drifting slowly east.",
    ),
)
# The same wire story as printed by a second outlet: another headline, a line of its own.
VOLCANO_B = Story(
    "ash-cloud-flights-cancelled",
    "Flights cancelled as ash cloud drifts east",
    (
        "Ash from the Hekkla volcano closed three airports in the north on Wednesday, the aviation agency said.",
        "Flights to Nordvik, Sandhamn and Isafell were cancelled until at least Thursday evening. "
        "About 14,000 passengers were affected, according to the agency's spokesperson Lena Berg.",
        "Scientists said the eruption was the strongest at the volcano since 1998 "
        "and that the ash cloud was drifting slowly east. Reporting by the northern desk.",
    ),
)
CHOIR = Story(
    "choir-wins-prize",
    "Harbour choir wins the national prize",
    (
        "The Lundvik harbour choir won the national choir prize in Bergstad on Sunday with a song about herring.",
        "The 38 singers, most of them fishermen, rehearse every Tuesday in the old net loft.",
    ),
)
TRAM = Story(
    "tram-line-extended",
    "Tram line to reach the airport by 2027",
    (
        "The city council voted on Monday to extend the blue tram line to the airport by 2027.",
        "The extension will cost 310 million crowns and add six stops, the transport chief Nils Aas said.",
    ),
)

FURNITURE = {
    "nav": "Home World Politics Business Sport Culture Weather Podcasts",
    "cookie": "We use cookies to give you the best experience on our website. By continuing you accept "
    "our cookie policy. Accept all cookies. Manage preferences.",
    "share": "Share on Facebook Share on X Share by email Copy link",
    "related": "Related stories: Mayor promises new harbour bathhouse. Storm warning for the weekend "
    "issued by the weather service. Ferry timetable changes from Monday.",
    "newsletter": "Sign up for our morning newsletter and never miss the stories that matter to you. "
    "Subscribe now for free.",
    "comments": "Comments (3). Great article, thanks for sharing this with us! I remember the old days "
    "when everything was better. Who pays for all of this anyway?",
}


def page(story: Story, *, outlet: str, canonical: str, date: str = "2024-03-05", author: str = "Kari Dahl") -> bytes:
    """A news page with the story wrapped in everything a news site puts around it."""
    paragraphs = "\n".join(f"<p>{escape(p)}</p>" for p in story.paragraphs)
    nav = "".join(f'<li><a href="/{w.lower()}">{w}</a></li>' for w in FURNITURE["nav"].split())
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(story.title)} | {escape(outlet)}</title>
<link rel="canonical" href="{escape(canonical)}">
<meta property="og:title" content="{escape(story.title)}">
<meta property="article:published_time" content="{date}T08:30:00Z">
<meta name="author" content="{escape(author)}">
</head><body>
<header><nav class="main-nav"><ul>{nav}</ul></nav></header>
<div id="cookie-banner" class="cookie-consent"><p>{FURNITURE["cookie"]}</p><button>Accept</button></div>
<main><article class="story">
<h1>{escape(story.title)}</h1>
<div class="byline">By {escape(author)} · {date}</div>
<div class="share-buttons social">{FURNITURE["share"]}</div>
<div class="article-body">
{paragraphs}
</div>
</article>
<aside class="related-stories"><h2>Related stories</h2><p>{FURNITURE["related"]}</p></aside>
<div class="newsletter-signup"><h3>Newsletter</h3><p>{FURNITURE["newsletter"]}</p>
<form><input type="email"><button>Subscribe</button></form></div>
<section id="comments" class="comments"><h3>Comments</h3><p>{FURNITURE["comments"]}</p></section>
</main>
<footer><p>© 2024 {escape(outlet)}. All rights reserved. Privacy policy. Terms of use.</p></footer>
</body></html>"""
    return html.encode("utf-8")


def rss(title: str, items: list[tuple[Story, str]], *, full: bool = False, encoding: str = "utf-8") -> bytes:
    """An RSS 2.0 feed; `full` puts the whole story in content:encoded, else only a summary."""
    entries = []
    for story, link in items:
        content = ""
        if full:
            body = "".join(f"<p>{escape(p)}</p>" for p in story.paragraphs)
            content = f"<content:encoded><![CDATA[{body}]]></content:encoded>"
        entries.append(
            f"<item><title>{escape(story.title)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid>"
            f"<pubDate>{story.published}</pubDate><description>{escape(story.summary)}</description>{content}</item>"
        )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{escape(title)}</title><link>https://example.org/</link><description>News</description>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode(encoding)


def atom(title: str, items: list[tuple[Story, str]]) -> bytes:
    """An Atom feed with each story's full text in <content type="html">."""
    entries = "".join(
        f'<entry><title>{escape(s.title)}</title><link href="{escape(link)}"/><id>{escape(link)}</id>'
        f"<updated>2024-03-06T09:00:00Z</updated><summary>{escape(s.summary)}</summary>"
        f'<content type="html">{escape("".join(f"<p>{escape(p)}</p>" for p in s.paragraphs))}</content></entry>'
        for s, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test:{escape(title)}</id><updated>2024-03-06T09:00:00Z</updated>"
        f"{entries}</feed>"
    ).encode()


def rdf(title: str, items: list[tuple[Story, str]]) -> bytes:
    """An RSS 1.0 (RDF) feed with summaries only."""
    entries = "".join(
        f'<item rdf:about="{escape(link)}"><title>{escape(s.title)}</title><link>{escape(link)}</link>'
        f"<description>{escape(s.summary)}</description><dc:date>2024-03-04T07:00:00Z</dc:date></item>"
        for s, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<channel rdf:about="https://example.org/"><title>{escape(title)}</title><link>https://example.org/</link>'
        f"<description>News</description></channel>{entries}</rdf:RDF>"
    ).encode()
