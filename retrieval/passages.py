"""Stage 3b of load → split → analyze → index → search → select → answer: sentence windows.

A passage is `size` consecutive sentences of one article; consecutive passages share
`overlap` sentences. A short article is one passage; no window lies wholly inside another.
"""

from __future__ import annotations

from retrieval.settings import PassageSettings


def windows(n_sentences: int, settings: PassageSettings) -> list[tuple[int, int]]:
    """Return the [start, end) sentence ranges of the passages of an n-sentence article."""
    if n_sentences <= 0:
        return []
    step = settings.size - settings.overlap
    spans = []
    start = 0
    while True:
        end = min(start + settings.size, n_sentences)
        spans.append((start, end))
        if end >= n_sentences:
            return spans
        start += step
