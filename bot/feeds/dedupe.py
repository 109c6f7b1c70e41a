"""Near-duplicate articles: the same wire story printed by several outlets under other URLs.

Each article's text becomes a MinHash signature of its word 4-grams (datasketch); an LSH
index over the stored signatures finds, for a new article, those whose estimated Jaccard
similarity is at least `THRESHOLD`. The first outlet's copy is kept and quoted; later copies
are named beside it (`also_reported_by`). Signatures are kept with the fetch state, so
nothing is re-read from the corpus to check a new article.
"""

from __future__ import annotations

import base64
import re

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

__all__ = ["THRESHOLD", "NearDuplicates", "signature"]

NUM_PERM = 64
THRESHOLD = 0.6
SHINGLE = 4
SEED = 1
SCHEME = "affine32"  # 32-bit hash values: 256 bytes a signature
_WORD = re.compile(r"\w+")


def signature(text: str) -> str:
    """Return the MinHash signature of `text` (word 4-grams, lower-cased) as compact text."""
    words = _WORD.findall(text.lower())
    shingles = {" ".join(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    minhash.update_batch([s.encode("utf-8") for s in shingles])
    return base64.b64encode(np.asarray(minhash.hashvalues, dtype=np.uint32).tobytes()).decode("ascii")


def _minhash(sig: str) -> LeanMinHash:
    values = np.frombuffer(base64.b64decode(sig), dtype=np.uint32)
    return LeanMinHash(seed=SEED, hashvalues=values, scheme=SCHEME)


class NearDuplicates:
    """An LSH index of article signatures, keyed by canonical URL."""

    def __init__(self, signatures: dict[str, str]) -> None:
        self._lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
        self._hashes: dict[str, LeanMinHash] = {}
        for key, sig in signatures.items():
            self.add(key, sig)

    def add(self, key: str, sig: str) -> None:
        """Index `key` under signature `sig`, replacing what it had."""
        self.remove(key)
        minhash = _minhash(sig)
        self._hashes[key] = minhash
        self._lsh.insert(key, minhash)

    def remove(self, key: str) -> None:
        """Forget `key`."""
        if key in self._hashes:
            self._lsh.remove(key)
            del self._hashes[key]

    def find(self, sig: str, *, exclude: str = "") -> tuple[str, float] | None:
        """Return the most similar indexed key at or above the threshold, and its similarity."""
        minhash = _minhash(sig)
        best: tuple[str, float] | None = None
        for key in self._lsh.query(minhash):
            if key == exclude:
                continue
            similarity = float(minhash.jaccard(self._hashes[key]))
            if similarity >= THRESHOLD and (best is None or (similarity, best[0]) > (best[1], key)):
                best = (key, similarity)
        return best
