"""Checksums of the index: damage anywhere is detected before it reaches an answer, and repaired."""

from __future__ import annotations

import itertools
import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from retrieval import index as index_module
from retrieval import integrity
from retrieval.engine import Engine
from retrieval.errors import DamagedSegmentError
from retrieval.store import MANIFEST

Damage = Callable[[Path, str], Path]

QUESTIONS = (
    "who decides on negotiations",
    "how much will the bridge repairs cost",
    "who won the chess final",
    "why did tea prices rise",
    "what did Lavrov call Ukraine's terms",
)


def segment_files(index: Path) -> list[Path]:
    names = json.loads((index / MANIFEST).read_text())["segments"]
    return sorted(p for name in names for p in (index / name).iterdir())


def flip(path: Path, rng: random.Random, *, start: int = 0) -> None:
    """Change one byte at or after `start` in place: the damage that keeps every size."""
    data = bytearray(path.read_bytes())
    at = rng.randrange(start, len(data))
    data[at] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))


def data_start(path: Path) -> int:
    """Where the array's bytes begin in a .npy file."""
    with open(path, "rb") as fh:
        assert np.lib.format.read_magic(fh) == (1, 0)
        np.lib.format.read_array_header_1_0(fh)
        return fh.tell()


def test_seal_detects_any_change_to_a_record() -> None:
    sealed = integrity.seal({"segments": ["seg-1"], "n": 3})
    assert integrity.unseal(sealed) == {"segments": ["seg-1"], "n": 3}
    assert integrity.unseal({**sealed, "n": 4}) is None
    assert integrity.unseal({"segments": ["seg-1"], "n": 3}) is None


def test_a_block_is_verified_when_first_read_and_damage_raises() -> None:
    data = np.frombuffer(bytes(range(256)) * 1024, dtype=np.uint8).copy()
    sums = integrity.block_sums(data)
    checked = np.zeros(sums.size, bool)
    assert integrity.read_checked(data, sums, checked, 10, 20, where="t") == bytes(range(10, 20))
    assert checked.tolist() == [True] + [False] * (sums.size - 1)
    data[integrity.BLOCK + 5] ^= 1
    with pytest.raises(DamagedSegmentError, match="do not match their checksum"):
        integrity.read_checked(data, sums, checked, integrity.BLOCK, integrity.BLOCK + 8, where="t")


@pytest.mark.parametrize("lazy", [False, True], ids=["checked-at-open", "checked-when-read"])
@pytest.mark.parametrize("seed", range(4))
def test_a_flipped_byte_in_any_index_file_never_gives_a_wrong_answer(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, lazy: bool
) -> None:
    if lazy:
        monkeypatch.setattr(index_module, "VERIFY_AT_OPEN_BYTES", 0)
    index = tmp_path / "index"
    expected = [Engine.open(corpus_dir, index).answer(q) for q in QUESTIONS]
    for name in [p.name for p in segment_files(index)]:
        (path,) = [p for p in segment_files(index) if p.name == name]
        flip(path, random.Random(f"{seed}{name}"))
        engine = Engine.open(corpus_dir, index)
        for question, answer in zip(QUESTIONS, expected, strict=True):
            got = engine.answer(question)
            assert got == answer or (got.error and not got.sentences), (path.name, question)
        engine.refresh()  # a segment that failed while answering is indexed again
        assert [engine.answer(q) for q in QUESTIONS] == expected, path.name
        assert not engine.damaged


def test_damage_to_the_quoted_text_is_an_error_for_that_question_then_repaired(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage_quoted_text: Damage
) -> None:
    monkeypatch.setattr(index_module, "VERIFY_AT_OPEN_BYTES", 0)
    index = tmp_path / "index"
    expected = Engine.open(corpus_dir, index).answer("who decides on negotiations")
    damage_quoted_text(index, expected.sentences[0].text)
    engine = Engine.open(corpus_dir, index)
    got = engine.answer("who decides on negotiations")
    assert not got.sentences and got.error.startswith("the index is damaged")
    assert engine.damaged
    engine.refresh()
    assert engine.answer("who decides on negotiations") == expected


@pytest.mark.parametrize("blob", ["text_blob.npy", "article_blob.npy"])
def test_a_flipped_byte_in_any_compressed_block_is_an_error_never_other_text(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blob: str
) -> None:
    monkeypatch.setattr(index_module, "VERIFY_AT_OPEN_BYTES", 0)
    pristine = tmp_path / "pristine"
    expected = [Engine.open(corpus_dir, pristine).answer(q) for q in QUESTIONS]
    (path,) = [p for p in segment_files(pristine) if p.name == blob]
    start = data_start(path)
    segment = index_module.load_segment(path.parent, verify=True)
    blocks = segment.texts.blocks if blob == "text_blob.npy" else segment.articles.records.blocks
    bounds = blocks.tolist()
    del segment, blocks
    assert len(bounds) > 1
    for lo, hi in itertools.pairwise(bounds):
        index = tmp_path / f"index-{lo}"
        shutil.copytree(pristine, index)
        damaged = index / path.relative_to(pristine)
        data = bytearray(damaged.read_bytes())
        data[start + (lo + hi) // 2] ^= 0x01
        damaged.write_bytes(bytes(data))
        engine = Engine.open(corpus_dir, index)
        got = [engine.answer(q) for q in QUESTIONS]
        assert all(g == e or (g.error and not g.sentences) for g, e in zip(got, expected, strict=True)), lo
        assert got != expected or not engine.verify(), lo  # the damage is found, by a question or by verify
        engine.refresh()
        assert [engine.answer(q) for q in QUESTIONS] == expected
        assert engine.verify()


def test_verify_finds_damage_that_no_question_has_read(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "VERIFY_AT_OPEN_BYTES", 0)
    index = tmp_path / "index"
    Engine.open(corpus_dir, index)
    (blob,) = [p for p in segment_files(index) if p.name == "article_blob.npy"]
    flip(blob, random.Random(1), start=data_start(blob))  # past the header, checked at open
    engine = Engine.open(corpus_dir, index)
    assert not engine.verify()
    engine.refresh()
    assert engine.verify()
    assert engine.stats.articles == 4


@pytest.mark.parametrize("seed", range(4))
def test_a_flipped_byte_in_the_manifest_rebuilds_the_index(corpus_dir: Path, tmp_path: Path, seed: int) -> None:
    index = tmp_path / "index"
    expected = [Engine.open(corpus_dir, index).answer(q) for q in QUESTIONS]
    flip(index / MANIFEST, random.Random(seed))
    assert [Engine.open(corpus_dir, index).answer(q) for q in QUESTIONS] == expected


def test_an_altered_manifest_is_not_trusted(corpus_dir: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    expected = Engine.open(corpus_dir, index).answer("who won the chess final")
    manifest = json.loads((index / MANIFEST).read_text())
    first = next(iter(manifest["files"]))
    manifest["files"][first]["articles"] = [3]  # still valid JSON, still the right shape
    (index / MANIFEST).write_text(json.dumps(manifest))
    assert Engine.open(corpus_dir, index).answer("who won the chess final") == expected
