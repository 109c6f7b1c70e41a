"""A few-article corpus shared by the tests, written into a temporary folder."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from retrieval.engine import Engine
from retrieval.index import TEXT_BLOCK, load_segment
from retrieval.settings import Settings
from retrieval.store import MANIFEST

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpus" / "usa-only-zelensky-can-decide-negotiations.txt"

ARTICLES = {
    "harbour-bridge.md": """---
title: Harbour bridge to close for repairs
source: Coast Gazette
url: https://example.org/harbour-bridge
published: 2024-03-05
---
The harbour bridge will close for six weeks from Monday while engineers replace its cables.

Mayor Ellen Park said the repairs would cost $4.5 million. Ferries will run every ten minutes during the closure.
""",
    "chess-final.txt": """Chess champion keeps her title

Grandmaster Ana Ruiz won the final game in Oslo on Sunday after 61 moves.
“It was the hardest match of my life,” Ruiz said. She has now held the title since 2019.

Source: Board Review
""",
    "wire.jsonl": '{"id": "wire-1", "title": "Tea prices rise", "source": "Wire", "url": "", '
    '"published": "2023-11-02", "text": "Tea prices rose by 12% in October, traders in Kolkata said. '
    'Dry weather cut the harvest in Assam."}\n',
}


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A corpus folder: the shipped sample article and three tiny ones in every format."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / SAMPLE.name)
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def engine(corpus_dir: Path, tmp_path: Path) -> Engine:
    """An engine over `corpus_dir` with the default settings."""
    return Engine.open(corpus_dir, tmp_path / "index", Settings())


def _damage_quoted_text(index: Path, quoted: str) -> Path:
    """Flip one byte in the compressed block that holds the sentence `quoted`; return the blob's path."""
    for name in json.loads((index / MANIFEST).read_text())["segments"]:
        segment = load_segment(index / name, verify=True)
        found = [s for s in range(segment.n_sentences) if segment.sentence_text(s) == quoted]
        if found:
            block = found[0] // TEXT_BLOCK
            lo, hi = int(segment.texts.blocks[block]), int(segment.texts.blocks[block + 1])
            from_end = segment.text_blob.size - (lo + hi) // 2
            del segment  # the file is rewritten below: nothing may still map it
            path = index / name / "text_blob.npy"
            data = bytearray(path.read_bytes())
            data[len(data) - from_end] ^= 0x10
            path.write_bytes(bytes(data))
            return path
    raise AssertionError(f"no segment holds {quoted!r}")


@pytest.fixture
def damage_quoted_text() -> Callable[[Path, str], Path]:
    """Damage an index where it stores one quoted sentence (compressed): `damage(index, sentence)`."""
    return _damage_quoted_text
