"""The manifest: a file's article references survive a write and a read exactly, held compactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.store import ArticleRefs, FileEntry, Manifest, read_manifest, write_manifest

DIGEST = "0123456789abcdef" * 2
REFS = [
    ("seg-a", 0, DIGEST),
    ("seg-a", 7, "f" * 32),
    ("seg-b", 2**31 - 1, f"{DIGEST}@12"),
    ("seg-a", 3, "e" * 32),
]


@pytest.mark.parametrize("refs", [REFS, [r for r in REFS if "@" not in r[2]], []], ids=["lines", "digests", "none"])
def test_article_references_read_back_as_written(tmp_path: Path, refs: list[tuple[str, int, str]]) -> None:
    held = ArticleRefs(refs)
    assert list(held) == refs and len(held) == len(refs)
    assert held == refs and held[1:] == refs[1:] and held[::-2] == refs[::-2] and held[-3:2] == refs[-3:2]
    assert held.copy() == refs and list(held.places()) == [r[:2] for r in refs]
    picked = [i for i in (2, 0, 2) if i < len(refs)]
    assert held.keys() == [r[2] for r in refs] and held.take(picked) == [refs[i] for i in picked]
    manifest = Manifest("fp", "corpus", ["seg-a", "seg-b"], {"feed.jsonl": FileEntry(10, 20, held)})
    write_manifest(tmp_path, manifest)
    again = read_manifest(tmp_path)
    assert again is not None and list(again.files["feed.jsonl"].articles) == refs


def test_articles_moved_to_a_merged_segment_take_their_base_there() -> None:
    held = ArticleRefs(REFS)
    held.move({"seg-a": 100, "seg-c": 5}, "seg-m")
    assert list(held) == [
        ("seg-m", 100, DIGEST),
        ("seg-m", 107, "f" * 32),
        ("seg-b", 2**31 - 1, f"{DIGEST}@12"),
        ("seg-m", 103, "e" * 32),
    ]
    assert held.segments() == {"seg-m", "seg-b"}


@pytest.mark.parametrize("key", [DIGEST.upper(), DIGEST[:-2], f"{DIGEST}@0", f"{DIGEST}@012", "zz" * 16, ""])
def test_a_content_key_of_another_form_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="key"):
        ArticleRefs([("seg-a", 0, key)])
