"""Compressed record blocks: every record comes back exactly, and damage is an error, never text."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest

from retrieval import integrity
from retrieval.blocks import DICTIONARY_MIN_BLOCKS, Blocks, BlockWriter
from retrieval.errors import DamagedSegmentError


def offsets_of(records: list[bytes]) -> np.ndarray:
    offsets = np.zeros(len(records) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in records], out=offsets[1:])
    return offsets


def noisy_records(count: int) -> list[bytes]:
    """Records that barely compress, so that the blob spans several checksum blocks."""
    rng = random.Random(3)
    return [f"record {i}: ".encode() + rng.randbytes(rng.randrange(200, 600)) for i in range(count)]


def loaded(blocks: Blocks, blob: np.ndarray, *, sums: np.ndarray | None = None) -> Blocks:
    """The blocks as a reload sees them: every checksum block still to be verified."""
    sums = blocks.sums if sums is None else sums
    return Blocks(
        blob, blocks.blocks, blocks.offsets, per_block=blocks.per_block, sums=sums, checked=np.zeros(sums.size, bool)
    )


@pytest.mark.parametrize("count", [0, 1, 7, 8, 9, 100])
def test_compressed_blocks_give_back_every_record_exactly(count: int) -> None:
    records = [("é" * (i % 7) + f"record {i}.").encode() if i % 5 else b"" for i in range(count)]
    blocks = Blocks.pack(b"".join(records), offsets_of(records), per_block=8)
    assert blocks.sound()
    assert blocks.blocks.size == -(-count // 8) + 1
    assert [blocks[i] for i in reversed(range(count))] == records[::-1]


def test_compressed_blocks_of_a_big_segment_share_a_trained_dictionary() -> None:
    words = ["harbour", "bridge", "council", "election", "storm", "market", "river", "minister"]
    records = [
        f"The {words[i % 8]} {words[i * 7 % 8]} story number {i} was told on day {i % 31}.".encode()
        for i in range(8 * DICTIONARY_MIN_BLOCKS)
    ]
    blocks = Blocks.pack(b"".join(records), offsets_of(records), per_block=8, train=True)
    assert blocks.dictionary.size > 0
    again = Blocks(blocks.blob, blocks.blocks, blocks.offsets, per_block=8, dictionary=blocks.dictionary)
    assert [again[i] for i in range(0, len(records), 37)] == records[::37]


def test_a_flipped_compressed_byte_fails_its_checksum_block_only() -> None:
    records = noisy_records(600)
    blocks = Blocks.pack(b"".join(records), offsets_of(records), per_block=8)
    assert blocks.sums.size >= 3
    blob = blocks.blob.copy()
    damaged_block = 1
    blob[damaged_block * integrity.BLOCK + 100] ^= 0x04
    reread = loaded(blocks, blob)
    for i, record in enumerate(records):
        b = i // 8
        lo, hi = int(blocks.blocks[b]), int(blocks.blocks[b + 1])
        if lo // integrity.BLOCK <= damaged_block <= (hi - 1) // integrity.BLOCK:
            with pytest.raises(DamagedSegmentError, match="do not match their checksum"):
                reread[i]
        else:
            assert reread[i] == record
    with pytest.raises(DamagedSegmentError):
        reread.verify()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda blob, lo, hi: blob.__setitem__(slice(lo, lo + 4), 0), "cannot be decompressed"),
        (lambda blob, lo, hi: blob.__setitem__(hi - 1, blob[hi - 1] ^ 0xFF), "cannot be decompressed|wrong size"),
    ],
    ids=["frame-header", "frame-end"],
)
def test_a_block_that_will_not_decompress_is_damage_even_when_its_checksum_agrees(damage, message: str) -> None:  # type: ignore[no-untyped-def]
    records = [f"Sentence {i} of a short report.".encode() for i in range(40)]
    blocks = Blocks.pack(b"".join(records), offsets_of(records), per_block=8)
    blob = blocks.blob.copy()
    lo, hi = int(blocks.blocks[2]), int(blocks.blocks[3])
    damage(blob, lo, hi)
    reread = loaded(blocks, blob, sums=integrity.block_sums(blob))  # the damage was summed too
    assert reread[0] == records[0]
    with pytest.raises(DamagedSegmentError, match=message):
        reread[2 * 8 + 3]


def test_a_block_that_decompresses_to_another_size_is_damage() -> None:
    records = [f"Sentence {i} of a short report.".encode() for i in range(16)]
    blocks = Blocks.pack(b"".join(records), offsets_of(records), per_block=8)
    longer = blocks.offsets.copy()
    longer[8:] += 1  # claims a byte more in the first block than it holds
    reread = Blocks(blocks.blob, blocks.blocks, longer, per_block=8)
    with pytest.raises(DamagedSegmentError, match="wrong size"):
        reread[0]


@pytest.mark.parametrize(
    "change",
    [
        lambda b: Blocks(b.blob, b.blocks[:-1], b.offsets, per_block=8),
        lambda b: Blocks(b.blob[:-1], b.blocks, b.offsets, per_block=8),
        lambda b: Blocks(b.blob, b.blocks[::-1].copy(), b.offsets, per_block=8),
        lambda b: Blocks(b.blob, b.blocks, b.offsets + 1, per_block=8),
    ],
    ids=["blocks-short", "blob-short", "blocks-descending", "offsets-shifted"],
)
def test_offsets_that_disagree_with_the_blob_are_not_sound(change) -> None:  # type: ignore[no-untyped-def]
    records = [f"Sentence {i}.".encode() for i in range(20)]
    blocks = Blocks.pack(b"".join(records), offsets_of(records), per_block=8)
    assert blocks.sound()
    assert not change(blocks).sound()


@pytest.mark.parametrize("count", [0, 1, 8, 9, 100])
@pytest.mark.parametrize("run", [1, 2, 3, 1_000])
def test_blocks_read_a_run_at_a_time_give_every_record_with_its_end(count: int, run: int) -> None:
    records = [f"record {i} {'x' * (i % 11)}".encode() if i % 4 else b"" for i in range(count)]
    packed = Blocks.pack(b"".join(records), offsets_of(records), per_block=8)
    blocks = loaded(packed, packed.blob)
    runs = list(blocks.raw_runs(run))
    n_blocks = -(-count // 8)
    assert len(runs) == -(-n_blocks // run)
    got: list[bytes] = []
    for data, ends in runs:
        starts = np.concatenate(([0], ends[:-1]))
        got.extend(data[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True))
        assert len(data) == (int(ends[-1]) if ends.size else 0)
    assert got == records
    assert [d for d, _ in runs] == [
        b"".join(raw for raw, _ in list(blocks.raw_blocks())[i : i + run]) for i in range(0, len(runs) * run, run)
    ]


def test_a_run_of_blocks_with_damage_in_it_is_an_error_never_text() -> None:
    records = noisy_records(600)
    blocks = Blocks.pack(b"".join(records), offsets_of(records), per_block=8)
    blob = blocks.blob.copy()
    blob[integrity.BLOCK + 100] ^= 0x04
    with pytest.raises(DamagedSegmentError, match="do not match their checksum"):
        list(loaded(blocks, blob).raw_runs(16))
    longer = blocks.offsets.copy()
    longer[8 * 20 :] += 1  # block 19 claims a byte more than it holds
    with pytest.raises(DamagedSegmentError, match="block 19 decompresses to the wrong size"):
        list(Blocks(blocks.blob, blocks.blocks, longer, per_block=8).raw_runs(7))


@pytest.mark.parametrize("pieces", [1, 3, 50, 137])
def test_records_written_in_any_pieces_make_the_blocks_packing_them_at_once_makes(pieces: int) -> None:
    records = [f"Sentence {i} about the {'harbour' if i % 3 else 'council'}.".encode() for i in range(137)]
    whole = Blocks.pack(b"".join(records), offsets_of(records), per_block=8)
    out = io.BytesIO()
    writer = BlockWriter(out, per_block=8)
    cuts = np.linspace(0, len(records), pieces + 1).astype(int).tolist()
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        writer.add(b"".join(records[lo:hi]), offsets_of(records[lo:hi])[1:])
    assert np.array_equal(writer.finish(), whole.blocks)
    assert out.getvalue() == whole.blob.tobytes()
