"""The BM25 formulas, one small function each; used by `retrieval.search` and `retrieval.select`.

Variants follow Kamphuis, de Vries, Boytsov and Lin, "Which BM25 Do You Mean? A Large-Scale
Reproducibility Study of Scoring Variants" (ECIR 2020):

- ``lucene``: Lucene's idf, log(1 + (N - df + 0.5) / (df + 0.5)), always positive, with
  Robertson's (k1 + 1) numerator kept (a constant factor: rankings equal Lucene's).
- ``okapi``, ``bm25+``: exactly as rank_bm25 0.2.2 implements ``BM25Okapi`` and ``BM25Plus``
  (tests compare scores to 1e-9). Okapi's idf is log((N - df + 0.5) / (df + 0.5)): zero for a
  word in half the passages and floored at epsilon × the mean idf above that, which silences
  the words of a small corpus; hence lucene is the default.
- ``bm25l``: as Lv and Zhai (CIKM 2011) define it, with rank_bm25's idf. rank_bm25's
  ``BM25L`` multiplies each term's part by its raw frequency once more, which the paper does
  not, so this one is tested against a plain implementation of the formula instead.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

OKAPI_EPSILON = 0.25  # rank_bm25's default floor for negative Okapi idf


def idf_lucene(n: int, df: Floats) -> Floats:
    """Lucene's idf: log(1 + (N - df + 0.5) / (df + 0.5))."""
    return np.log1p((n - df + 0.5) / (df + 0.5))


def idf_okapi_raw(n: int, df: Floats) -> Floats:
    """Robertson–Spärck Jones idf as rank_bm25's BM25Okapi computes it, before its floor."""
    return np.log(n - df + 0.5) - np.log(df + 0.5)


def idf_bm25l(n: int, df: Floats) -> Floats:
    """BM25L's idf (Lv and Zhai 2011) as in rank_bm25: log(N + 1) - log(df + 0.5)."""
    return np.log(n + 1) - np.log(df + 0.5)


def idf_bm25plus(n: int, df: Floats) -> Floats:
    """BM25+'s idf (Lv and Zhai 2011) as in rank_bm25: log(N + 1) - log(df)."""
    return np.log(n + 1) - np.log(df)


def okapi_floor(all_raw_idf: Floats) -> float:
    """rank_bm25's replacement for a negative Okapi idf: epsilon × the mean idf of all terms."""
    if all_raw_idf.size == 0:
        return 0.0
    return OKAPI_EPSILON * float(all_raw_idf.sum()) / all_raw_idf.size


def length_norm(doc_len: Floats, avgdl: float, *, k1: float, b: float) -> Floats:
    """The saturation denominator term k1 × (1 - b + b × |d| / avgdl)."""
    return k1 * (1.0 - b + b * doc_len / avgdl)


def tf_saturated(tf: Floats, norm: Floats, *, k1: float) -> Floats:
    """Robertson's term-frequency part: tf × (k1 + 1) / (tf + norm)."""
    return tf * (k1 + 1.0) / (tf + norm)


def tf_bm25l(tf: Floats, doc_len: Floats, avgdl: float, *, k1: float, b: float, delta: float) -> Floats:
    """BM25L's term-frequency part: (k1 + 1)(c + δ) / (k1 + c + δ), c = tf / (1 - b + b|d|/avgdl)."""
    c = tf / (1.0 - b + b * doc_len / avgdl)
    return (k1 + 1.0) * (c + delta) / (k1 + c + delta)

