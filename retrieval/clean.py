"""Part of load (stage 1 of load → split → analyze → index → search → select → answer): page furniture.

Scraped news pages carry lines that are not the article: datelines ("New York CNN —"),
bylines ("– David Jackson", "Contributing: Reuters"), video and newsletter prompts
("JUST WATCHED", "Sign up here", "Need a break? Play the Daily Crossword"), photo credits,
podcast greetings and social-media handles. `clean_body` drops such lines and strips a
dateline that opens a paragraph, so they are never indexed or quoted. Each rule must match
a whole line (or, for datelines, only the opening words): a sentence of the article that
merely mentions a newsletter stays.
"""

from __future__ import annotations

import re

# Bumped whenever the rules change: an index built with other rules is rebuilt.
CLEAN_VERSION = 1

# Case matters in a name even inside the case-blind patterns below.
_NAME = r"(?-i:[A-Z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]*|de|van|von|der|la|le|da|di|bin|al))*)"

_FURNITURE = re.compile(
    rf"""
      (?:[A-Z][\w.]*\s+){{0,3}}\(?(?:CNN|AP|Reuters|AFP|CNN\ Business|CNN\ Sport)\)?\s*[—–-]+   # a dateline alone
    | [—–−-]{{1,3}}\s*{_NAME}                                         # a byline: "– David Jackson"
    | by\ {_NAME}(?:\ and\ {_NAME})?(?:,\ [\w ]{{1,40}})?
    | (?:reporting\ by|editing\ by|contributing|written\ by|additional\ reporting\ by)\b:?.{{0,80}}
    | {_NAME}:                                                          # a speaker label alone
    | (?:the\ )?(?:associated\ press|reuters|ap|afp|cnn|usa\ today)
    | (?:photo|image|video|graphic|illustration)s?(?:\ credit)?\s*(?:by|:).{{0,100}}
    | .{{0,80}}\b(?:getty\ images|ap\ photo|afp\ via\ getty|shutterstock|reuters/[\w ]+)\)?\.?
    | just\ watched.*
    | video\ ad\ feedback.*
    | (?:replay|more\ videos|now\ playing)\W*.{{0,60}}
    | (?:sign[\ -]up|subscribe|register)\b.{{0,120}}
    | need\ a\ (?:news\ )?break\?.*
    | (?:follow|contact)\ {_NAME}\ (?:on\ (?:twitter|x|instagram|facebook|threads|bluesky)|at)\b.{{0,80}}
    | (?:get|want)\ (?:the|our|more)\b.{{0,60}}\b(?:newsletter|app|inbox|alerts?)\b.{{0,60}}
    | (?:good\ (?:morning|afternoon|evening)|hello|hi)\b,?\ (?:and\ welcome|i'?m|this\ is)\b.{{0,120}}
    | (?:hi|hello|hey),?\ {_NAME}[.!]?
    | \(?(?:this\ story|this\ article)\ (?:was|has\ been)\ updated.{{0,80}}
    | (?:read\ more|read\ also|more\ from|related|see\ also|watch|listen|play)\ ?:.{{0,120}}
    | (?:advertisement|ad|story\ continues\ below(?:\ advertisement)?|skip\ advertisement)
    | [\w ]{{0,40}}:\ the\ latest\b.{{0,80}}
    | (?:developments|breakfast\ browse|and\ finally)\s*:?
    | [♦•*_—–=-]{{1,}}
    | @\w+\.?
    | copyright\b.{{0,100}}|©.{{0,100}}|all\ rights\ reserved.{{0,40}}
    """,
    re.IGNORECASE | re.VERBOSE,
)
# A dateline that opens a paragraph: "WASHINGTON (AP) — ", "New York CNN Business — ".
_DATELINE = re.compile(
    r"^(?:[A-Z][\w.'’-]*,?\s+){0,4}\(?(?:CNN|AP|Reuters|AFP|CNN Business|CNN Sport)\)?\s*[—–-]+\s+(?=\S)"
)


def is_furniture(line: str) -> bool:
    """Whether a whole line is page furniture rather than article text."""
    text = line.strip()
    return bool(text) and _FURNITURE.fullmatch(text) is not None


def clean_body(text: str) -> str:
    """Drop furniture lines from an article body and strip datelines that open paragraphs."""
    kept = []
    for line in text.split("\n"):
        if is_furniture(line):
            continue
        kept.append(_DATELINE.sub("", line, count=1))
    return "\n".join(kept).strip()
