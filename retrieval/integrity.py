"""Checksums of the index on disk: written with every file, checked before anything is used.

Part of stage 4 (load → split → analyze → **index** → search → select → answer): `index.py`
and `store.py` write every index file through `write_parts` and check it through the functions
here, so what an answer quotes is always what was indexed.

- Every file of a segment gets an xxh3-64 checksum of its bytes, kept in the segment's
  `segment.json`, which is itself sealed (`seal`/`unseal`), as is the manifest.
- The two byte blobs an answer quotes from (sentence text, article metadata) also get one
  checksum per `BLOCK` bytes. They are the largest files, so a reload checks them lazily: a
  block is verified the first time a sentence or article in it is read (`read_checked`), and
  a block that fails raises `DamagedSegmentError` instead of returning wrong text.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import xxhash

from retrieval.errors import CorruptIndexError, DamagedSegmentError

BLOCK = 1 << 16
_SEAL = "xxh3"

Buffer = bytes | memoryview | mmap.mmap


def digest(data: Buffer) -> str:
    """Return the xxh3-64 checksum of `data` as hex."""
    return xxhash.xxh3_64_hexdigest(data)


def write_parts(fh: BinaryIO, parts: Iterable[Buffer]) -> str:
    """Write `parts` to an open file; return the checksum of the bytes written."""
    hasher = xxhash.xxh3_64()
    for part in parts:
        hasher.update(part)
        fh.write(part)
    return hasher.hexdigest()


# Files are checked a piece at a time: a mapped file read whole would all count as this
# process's memory until unmapped.
_READ = 8 << 20


def file_digest(path: Path) -> str:
    """Return the checksum of a file's bytes (read through the page cache, a piece at a time)."""
    hasher = xxhash.xxh3_64()
    buffer = bytearray(_READ)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as fh:
        while True:
            got = fh.readinto(buffer)
            if not got:
                return hasher.hexdigest()
            hasher.update(view[:got])


def check_file(path: Path, expected: Any) -> None:
    """Raise CorruptIndexError unless the file's checksum is `expected`."""
    if file_digest(path) != expected:
        raise CorruptIndexError(f"{path}: does not match its checksum")


def block_sums(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """Return one checksum per BLOCK bytes of `data`."""
    view = np.ascontiguousarray(data).data.cast("B")
    count = -(-len(view) // BLOCK)
    return np.fromiter(
        (xxhash.xxh3_64_intdigest(view[i * BLOCK : (i + 1) * BLOCK]) for i in range(count)),
        dtype=np.uint64,
        count=count,
    )


def read_checked(
    data: npt.NDArray[np.uint8],
    sums: npt.NDArray[np.uint64],
    checked: npt.NDArray[np.bool_] | None,
    lo: int,
    hi: int,
    *,
    where: str,
) -> bytes:
    """Return data[lo:hi], verifying each block it touches once (`checked` None: trusted)."""
    if checked is not None and hi > lo:
        for block in range(lo // BLOCK, (hi - 1) // BLOCK + 1):
            if checked[block]:
                continue
            start = block * BLOCK
            if block >= sums.size or xxhash.xxh3_64_intdigest(data[start : start + BLOCK].data) != int(sums[block]):
                raise DamagedSegmentError(where, f"{where}: bytes {start}–{start + BLOCK} do not match their checksum")
            checked[block] = True
    return bytes(data[lo:hi])


def check_blocks(data: npt.NDArray[np.uint8], sums: npt.NDArray[np.uint64], *, where: str) -> None:
    """Verify every block of `data` now."""
    if sums.size != -(-data.size // BLOCK) or not np.array_equal(block_sums(data), sums):
        raise DamagedSegmentError(where, f"{where}: does not match its checksums")


def seal(record: dict[str, Any]) -> dict[str, Any]:
    """Return `record` with a checksum of its own content added."""
    body = json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return {**record, _SEAL: digest(body)}


def unseal(record: Any) -> dict[str, Any] | None:
    """Return a sealed record without its checksum, or None if it is not one or was altered."""
    if not isinstance(record, dict) or not isinstance(record.get(_SEAL), str):
        return None
    body = {k: v for k, v in record.items() if k != _SEAL}
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return body if digest(raw) == record[_SEAL] else None
