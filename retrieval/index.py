"""Stage 4 of load → split → analyze → index → search → select → answer: the passage index.

An index is a list of immutable *segments*. A segment holds a batch of articles: their
sentences (verbatim text and analysed term ids), their passages, and an inverted index from
term to (passage, term frequency) postings. Everything is a flat NumPy array saved as `.npy`
and memory-mapped on load, so reloading costs no per-passage Python objects. Every file is
saved with its checksum and checked before use (`retrieval.integrity`).

Terms are stored sorted (a fixed-width byte array), so a question's word is found with one
binary search and the vocabulary need not be rebuilt into a dict at load. Sentence text and
article metadata, read only for the few sentences an answer quotes, are stored zstd-compressed
in small checked blocks (`retrieval.blocks`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import io
import json
import mmap
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from retrieval import integrity, postings
from retrieval.analyze import Analyzer
from retrieval.blocks import FAST_LEVEL, LEVEL, Blocks
from retrieval.errors import CorruptIndexError
from retrieval.load import mentions_json
from retrieval.models import Article
from retrieval.passages import windows
from retrieval.settings import PassageSettings
from retrieval.split import split_sentences
from retrieval.store import replace_synced, sync_folder, write_synced
from retrieval.tokens import Vocabulary, byte_offsets
from retrieval.tokens import loaded as tokeniser_loaded
from retrieval.tokens import warm as warm_tokeniser

SEGMENT_FORMAT = "newsbot-segment/10"

Ints = npt.NDArray[np.int64]
Int32s = npt.NDArray[np.int32]
Narrow = npt.NDArray[np.uint16] | npt.NDArray[np.int32]
Wide = npt.NDArray[np.int32] | npt.NDArray[np.int64]
Progress = Callable[[str, int, int], None]

# A blob this small is checked whole at load; a bigger one block by block as it is read.
VERIFY_AT_OPEN_BYTES = 32 << 20

# name → dtype of every array a segment saves; checked on load.
_ARRAYS: dict[str, str] = {
    "vocab": "S",
    "post_offsets": "int32|int64",
    "post_bytes": "uint8",
    "block_last": "int32",
    "block_end": "int32|int64",
    "block_max_tf": "uint16",
    "block_min_len": "uint16|int32",
    "term_max_tf": "uint16",
    "term_min_len": "uint16|int32",
    "doc_len": "uint16|int32",
    "pass_start": "int32",
    "pass_end": "int32",
    "pass_article": "int32",
    "sent_offsets": "int32|int64",
    "sent_terms": "int32",
    "sent_article": "int32",
    "sent_pos": "uint16|int32",
    "text_offsets": "int32|int64",
    "text_blocks": "int64",
    "text_blob": "uint8",
    "text_dict": "uint8",
    "text_sums": "uint64",
    "article_first": "int32",
    "title_offsets": "int64",
    "title_terms": "int32",
}

# Records a compressed block holds: sentences, and articles' metadata.
TEXT_BLOCK = 8
ARTICLE_BLOCK = 16


class ArticleTable:
    """The articles' metadata, one JSON object per article, parsed only when asked for.

    A million-passage index holds about 100,000 articles; parsing them all into dicts at load
    would cost more memory than the postings the questions touch. Ids are kept parsed: they
    are looked up by every button and refresh.
    """

    __slots__ = ("ids", "records")

    def __init__(self, records: Blocks, ids: list[str]) -> None:
        self.records, self.ids = records, ids

    @classmethod
    def from_records(cls, records: Sequence[dict[str, str]]) -> ArticleTable:
        """Pack metadata records into a table."""
        encoded = [json.dumps(r, ensure_ascii=False).encode("utf-8") for r in records]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return cls(Blocks.pack(b"".join(encoded), offsets, per_block=ARTICLE_BLOCK), [r["id"] for r in records])

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, str]:
        record: dict[str, str] = json.loads(self.records[i])
        return record

    def __iter__(self) -> Iterator[dict[str, str]]:
        return (self[i] for i in range(len(self)))


@dataclass(frozen=True, slots=True)
class Segment:
    """One immutable batch of articles with its inverted index (arrays may be memory-mapped)."""

    articles: ArticleTable
    vocab: np.ndarray
    # Postings packed by `encode_postings` (`retrieval.postings`): term t holds postings
    # post_offsets[t]:post_offsets[t + 1], in blocks whose last passage id and end (in
    # post_bytes) are kept; term t's blocks are block_first[t]:block_first[t + 1].
    post_offsets: Wide
    post_bytes: npt.NDArray[np.uint8]
    block_last: Int32s
    block_end: Wide
    # Per block, the highest count and the shortest passage among its postings (block-max
    # pruning in `retrieval.kernel`).
    block_max_tf: npt.NDArray[np.uint16]
    block_min_len: Narrow
    # Per term, the highest frequency and the shortest passage among its postings: what
    # bounds the term's BM25 part from above, for dynamic pruning (`retrieval.search`).
    term_max_tf: npt.NDArray[np.uint16]
    term_min_len: Narrow
    # Arrays of counts and offsets are stored in the narrower type when every value fits.
    doc_len: Narrow
    pass_start: Int32s
    pass_end: Int32s
    pass_article: Int32s
    sent_offsets: Wide
    sent_terms: Int32s
    sent_article: Int32s
    sent_pos: Narrow
    text_offsets: Wide
    text_blocks: Ints
    text_blob: npt.NDArray[np.uint8]
    text_dict: npt.NDArray[np.uint8]
    article_first: Int32s
    title_offsets: Ints
    title_terms: Int32s
    text_sums: npt.NDArray[np.uint64]
    # Whether each passage is indexed with its headline's terms (passages.title); the
    # headline's terms are kept either way, for sentence selection.
    titled: bool = True
    # Which blocks of text_blob passed their checksum (None: built here, nothing to verify),
    # and the file they came from.
    text_checked: npt.NDArray[np.bool_] | None = None
    origin: str = ""
    texts: Blocks = field(init=False, repr=False, compare=False)
    block_first: Ints = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        texts = Blocks(
            self.text_blob,
            self.text_blocks,
            self.text_offsets,
            per_block=TEXT_BLOCK,
            dictionary=self.text_dict,
            sums=self.text_sums,
            checked=self.text_checked,
            where=f"{self.origin}/text_blob.npy",
        )
        object.__setattr__(self, "texts", texts)
        object.__setattr__(self, "block_first", postings.block_first(self.post_offsets))

    @property
    def n_passages(self) -> int:
        return int(self.doc_len.shape[0])

    @property
    def n_sentences(self) -> int:
        return int(self.sent_article.shape[0])

    def term_id(self, term: str) -> int:
        """Return the segment-local id of `term`, or -1 when the segment lacks it."""
        key = term.encode("utf-8")
        if not self.vocab.size or len(key) > self.vocab.dtype.itemsize:
            return -1
        i = int(np.searchsorted(self.vocab, key))
        if i < self.vocab.size and self.vocab[i] == key:
            return i
        return -1

    def term_postings(self, term_id: int, *, first: int | None = None) -> tuple[Int32s, npt.NDArray[np.uint16]]:
        """Return one term's postings as `encode_postings` took them: (passage ids ascending, counts).

        With `first`, only the first that many (or a few more, up to a whole block).
        """
        count = int(self.post_offsets[term_id + 1] - self.post_offsets[term_id])
        lo, hi = int(self.block_first[term_id]), int(self.block_first[term_id + 1])
        if first is not None and first < count:
            count = first
            hi = min(hi, lo + -(-first // postings.BLOCK))
        return postings.decode(self.post_bytes, self.block_last, self.block_end, lo, hi, count)

    def terms_postings(self, lo: int, hi: int) -> tuple[Int32s, npt.NDArray[np.uint16]]:
        """Return the postings of terms lo..hi-1, one after the other: what `term_postings` gives for each, joined."""
        offsets = np.asarray(self.post_offsets[lo : hi + 1], dtype=np.int64)
        first = int(self.block_first[lo])
        return postings.decode_terms(self.post_bytes, self.block_last, self.block_end, first, offsets)

    def all_posting_docs(self) -> Int32s:
        """Return the passage ids of every term's postings, terms in order (post_offsets places them)."""
        offsets = np.asarray(self.post_offsets, dtype=np.int64)
        return postings.decode_docs(self.post_bytes, self.block_last, self.block_end, offsets)

    def sentence_text(self, sentence: int) -> str:
        """Return one sentence verbatim."""
        return self.texts[sentence].decode()

    def title_term_ids(self, article: int) -> Int32s:
        """Return the term ids of one article's headline, in order."""
        return self.title_terms[int(self.title_offsets[article]) : int(self.title_offsets[article + 1])]

    def passage_term_ids(self, passage: int) -> Int32s:
        """Return the term ids of one passage, in order: its headline's if indexed, then its sentences'."""
        lo = int(self.sent_offsets[int(self.pass_start[passage])])
        hi = int(self.sent_offsets[int(self.pass_end[passage])])
        body = self.sent_terms[lo:hi]
        if not self.titled:
            return body
        return np.concatenate((self.title_term_ids(int(self.pass_article[passage])), body))


# A passage holds a word 65,535 times at most in the index (no real one comes near).
MAX_TF = int(np.iinfo(np.uint16).max)


def _narrow(array: np.ndarray, narrow: type, wide: type) -> np.ndarray:
    """`array` as `narrow` when every value fits, else as `wide`."""
    fits = not array.size or (int(array.min()) >= np.iinfo(narrow).min and int(array.max()) <= np.iinfo(narrow).max)
    return array.astype(narrow if fits else wide)


def _ranges(starts: Ints, lengths: Ints) -> Ints:
    """Concatenate arange(s, s + n) for every (s, n), without a Python loop."""
    run_start = np.cumsum(lengths) - lengths
    return np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - run_start, lengths)


@dataclass(frozen=True, slots=True)
class _Chunk:
    """The analysed form of a run of articles, with term and passage ids local to the chunk.

    Term ids are those of the process that analysed it (`worker`), whose new terms it carries
    in `words`, from id `first_word` on. Its postings are grouped by term: term `group_terms[g]` holds the postings
    `group_offsets[g]:group_offsets[g + 1]` of `post_docs` (ascending) and `post_tf`.
    """

    worker: int
    first_word: int
    words: list[str]
    sent_terms: Int32s
    sent_len: Int32s
    title_terms: Int32s
    title_len: Int32s
    text_blob: bytes
    text_len: Ints
    sent_pos: Int32s
    sent_article: Int32s
    pass_start: Int32s
    pass_end: Int32s
    pass_article: Int32s
    article_first: Int32s
    meta: list[dict[str, str]]
    doc_len: Int32s
    group_terms: Int32s
    group_offsets: Ints
    post_docs: Int32s
    post_tf: npt.NDArray[np.uint16]


class _TermIds:
    """Raw token → term id, each distinct token analysed once; kept by a process for a whole build.

    Ids are numbered in the order terms are first met, so a chunk carries only the terms new
    since the process's last chunk (`_Chunk.words` from `_Chunk.first_word` on). Tokens are
    found and numbered by compiled code (`retrieval.tokens`) unless `COMPILED_TOKENS` is off:
    then by the analyser's regex and a dict, the reference the compiled path must equal.
    """

    def __init__(self, analyzer: Analyzer, *, compiled: bool | None = None) -> None:
        self.analyzer = analyzer
        self.compiled = COMPILED_TOKENS if compiled is None else compiled
        self.words: list[str] = []
        self._number: dict[str, int] = {}
        # The compiled path: raw-token ids, and each one's term id (-1: dropped).
        self._raw = Vocabulary()
        self._raw_terms = np.zeros(0, dtype=np.int32)
        # The reference path: raw token → term id.
        self._ids: dict[str, int] = {}

    def _term_id(self, token: str) -> int:
        """Analyse a token not met before; return its term's id (-1: dropped), numbering a new term."""
        # The build keeps its own cache: the analyser's would hold every token twice.
        term = self.analyzer.term(token, remember=False)
        if not term:
            return -1
        number = self._number.get(term, -1)
        if number < 0:
            number = self._number[term] = len(self.words)
            self.words.append(term)
        return number

    def unit_terms(self, units: list[str]) -> tuple[Int32s, Ints]:
        """The term id of every token of `units` in order (-1: dropped), and each unit's token count."""
        if not self.compiled:
            return self._reference(units)
        known = self._raw.size
        raw, counts = self._raw.scan(units)
        if self._raw.size > known:
            new = list(map(self._term_id, self._raw.tokens(known, self._raw.size)))
            self._raw_terms = np.concatenate((self._raw_terms, np.array(new, dtype=np.int32)))
        return self._raw_terms[raw], counts

    def _reference(self, units: list[str]) -> tuple[Int32s, Ints]:
        """`unit_terms` by the analyser's regex: units joined by a break word, tokenised in one scan.

        A token never spans the spaces around the break word, so every unit gets exactly the
        tokens it gets alone.
        """
        mark = _BREAK
        glue = f" {mark} "
        body = glue.join(units) + glue if units else ""
        while body.count(mark) != len(units):
            mark += "q"
            glue = f" {mark} "
            body = glue.join(units) + glue
        tokens = self.analyzer.tokens(body)
        del body
        ids = self._ids
        # The mark may be a real word of another chunk.
        kept = ids.pop(mark, None)
        ids[mark] = -2
        for token in set(tokens).difference(ids):
            ids[token] = self._term_id(token)
        try:
            flat = np.fromiter(map(ids.__getitem__, tokens), dtype=np.int32, count=len(tokens))
        finally:
            del ids[mark]
            if kept is not None:
                ids[mark] = kept
        marks = np.flatnonzero(flat == -2)
        return flat[flat != -2], np.diff(marks, prepend=-1) - 1


# Whether index builds find tokens by compiled code (`retrieval.tokens`) or by the analyser's regex.
COMPILED_TOKENS = True
# Below this many characters of text, a build in a process that has not loaded the compiled
# scan yet (a refresh adding a few articles) uses the regex: loading the scan from numba's
# cache takes about 0.4 s, more than the regex takes for this much. The index is the same.
COMPILED_MIN_CHARS = 1 << 20

# Put between the headline and sentences of a chunk so one regex scan tokenises them all; a
# word no text holds (another is picked if one does).
_BREAK = "qzxjbreakjxzq"


def _article_record(article: Article) -> dict[str, str]:
    return {
        "id": article.id,
        "title": article.title,
        "source": article.source,
        "url": article.url,
        "published": article.published,
        "language": article.language,
        "path": article.path,
        # Only when present, so that other articles' records stay as they were.
        **({"also": mentions_json(article.also_reported_by)} if article.also_reported_by else {}),
    }


def _analyse(articles: Sequence[Article], ids: _TermIds, passages: PassageSettings) -> _Chunk:
    """Split and analyse a run of articles into flat arrays, postings included.

    Headlines and sentences (the units) are tokenised together in one scan, each unit's
    tokens counted; each distinct token is analysed once (`_TermIds`).
    """
    units: list[str] = []
    sentences: list[str] = []
    n_sent = np.zeros(len(articles), dtype=np.int64)
    for a, article in enumerate(articles):
        text = article.text
        found = [text[s:e] for s, e in split_sentences(text)]
        units.append(article.title)
        units.extend(found)
        sentences.extend(found)
        n_sent[a] = len(found)
    first_word = len(ids.words)
    flat, unit_tokens = ids.unit_terms(units)
    kept = flat >= 0
    kept_before = np.zeros(flat.size + 1, dtype=np.int64)
    np.cumsum(kept, out=kept_before[1:])
    unit_len = np.diff(kept_before[np.cumsum(unit_tokens)], prepend=0).astype(np.int32)
    terms = flat[kept]
    del flat, kept, kept_before
    is_title = np.zeros(len(units), dtype=bool)
    is_title[np.cumsum(1 + n_sent) - (1 + n_sent)] = True
    in_title = np.repeat(is_title, unit_len)
    title_terms, sent_terms = terms[in_title], terms[~in_title]
    title_len, sent_len = unit_len[is_title], unit_len[~is_title]

    n_articles, n_sentences = len(articles), len(sentences)
    first = np.zeros(n_articles + 1, dtype=np.int64)
    np.cumsum(n_sent, out=first[1:])
    sent_article = np.repeat(np.arange(n_articles, dtype=np.int32), n_sent)
    sent_pos = (np.arange(n_sentences, dtype=np.int64) - np.repeat(first[:-1], n_sent)).astype(np.int32)
    pass_start: list[int] = []
    pass_end: list[int] = []
    pass_article: list[int] = []
    for a in range(n_articles):
        base = int(first[a])
        for s, e in windows(int(n_sent[a]), passages):
            pass_start.append(base + s)
            pass_end.append(base + e)
            pass_article.append(a)
    blob = "".join(sentences).encode("utf-8")
    text_len = np.fromiter(map(len, sentences), dtype=np.int64, count=n_sentences)
    if len(blob) != int(text_len.sum()):  # not all ASCII: characters are not bytes
        text_len = np.diff(byte_offsets(np.frombuffer(blob, dtype=np.uint8), np.cumsum(text_len)), prepend=0)
    p_start = np.asarray(pass_start, dtype=np.int32)
    p_end = np.asarray(pass_end, dtype=np.int32)
    p_article = np.asarray(pass_article, dtype=np.int32)
    doc_len, group_terms, group_offsets, post_docs, post_tf = _chunk_postings(
        sent_terms, sent_len, title_terms, title_len, p_start, p_end, p_article, titled=passages.title
    )
    return _Chunk(
        worker=os.getpid(),
        first_word=first_word,
        words=ids.words[first_word:],
        sent_terms=sent_terms,
        sent_len=sent_len,
        title_terms=title_terms,
        title_len=title_len,
        text_blob=blob,
        text_len=text_len,
        sent_pos=sent_pos,
        sent_article=sent_article,
        pass_start=p_start,
        pass_end=p_end,
        pass_article=p_article,
        article_first=first[:-1].astype(np.int32),
        meta=[_article_record(article) for article in articles],
        doc_len=doc_len,
        group_terms=group_terms,
        group_offsets=group_offsets,
        post_docs=post_docs,
        post_tf=post_tf,
    )


def _chunk_postings(
    sent_terms: Int32s,
    sent_len: Int32s,
    title_terms: Int32s,
    title_len: Int32s,
    p_start: Int32s,
    p_end: Int32s,
    p_article: Int32s,
    *,
    titled: bool,
) -> tuple[Int32s, Int32s, Ints, Int32s, npt.NDArray[np.uint16]]:
    """Passage lengths and postings (grouped by term) of a chunk's passages."""
    sent_offsets = np.zeros(sent_len.size + 1, dtype=np.int64)
    np.cumsum(sent_len, out=sent_offsets[1:])
    title_offsets = np.zeros(title_len.size + 1, dtype=np.int64)
    np.cumsum(title_len, out=title_offsets[1:])
    article = p_article.astype(np.int64)
    tok_start = sent_offsets[p_start]
    body_len = sent_offsets[p_end] - tok_start
    head_start = title_offsets[article]
    head_len = title_offsets[article + 1] - head_start if titled else np.zeros_like(head_start)
    passage_ids = np.arange(p_start.size, dtype=np.int64)
    tokens = np.concatenate(
        (sent_terms[_ranges(tok_start, body_len)], title_terms[_ranges(head_start, head_len)])
    ).astype(np.int64)
    docs = np.concatenate((np.repeat(passage_ids, body_len), np.repeat(passage_ids, head_len)))
    n_pass = max(p_start.size, 1)
    pairs, tf = np.unique(tokens * n_pass + docs, return_counts=True)
    terms = pairs // n_pass
    starts = np.flatnonzero(np.diff(terms, prepend=-1))
    group_offsets = np.append(starts, terms.size).astype(np.int64)
    # A passage holds a word 65,535 times at most in the index (no real one comes near).
    counts = np.minimum(tf, np.iinfo(np.uint16).max).astype(np.uint16)
    doc_len = (body_len + head_len).astype(np.int32)
    return doc_len, terms[starts].astype(np.int32), group_offsets, (pairs % n_pass).astype(np.int32), counts


# Articles are analysed a chunk at a time (in a worker process of `retrieval.workers` when
# the build is big); a chunk carries its articles' arrays and the terms new to its process.
CHUNK_ARTICLES = 2_000


class Vocabularies:
    """The terms of every process that analysed chunks of a build, by that process's term ids.

    Each chunk brings the terms its process met first in it (`_Chunk.words` from
    `_Chunk.first_word` on); every chunk a process made must be added, in any order, before a
    chunk of it is assembled, even a chunk whose articles are all dropped.
    """

    def __init__(self) -> None:
        self.words: dict[int, list[str]] = {}

    def add(self, chunk: _Chunk) -> None:
        """Record the terms `chunk` brings."""
        known = self.words.setdefault(chunk.worker, [])
        end = chunk.first_word + len(chunk.words)
        if end > len(known):
            known.extend([""] * (end - len(known)))
        known[chunk.first_word : end] = chunk.words


def build_segment(
    articles: Sequence[Article],
    analyzer: Analyzer,
    passages: PassageSettings,
    *,
    progress: Progress | None = None,
    train: bool = True,
) -> Segment:
    """Split, analyse and index `articles` into one in-memory segment, in this process.

    `train` learns a compression dictionary for its sentences; a batch that is to be merged
    skips it (the merge learns one for all) and compresses them at zstd's fast end (the merge
    compresses them again).
    """
    compiled = COMPILED_TOKENS and (
        tokeniser_loaded() or sum(len(a.title) + len(a.text) for a in articles) >= COMPILED_MIN_CHARS
    )
    if compiled:
        warm_tokeniser()
    ids = _TermIds(analyzer, compiled=compiled)
    vocabularies = Vocabularies()
    chunks = []
    n = len(articles)
    for lo in range(0, n, CHUNK_ARTICLES) if n else [0]:
        chunk = _analyse(articles[lo : lo + CHUNK_ARTICLES], ids, passages)
        vocabularies.add(chunk)
        chunks.append(chunk)
        if progress is not None:
            progress("analyse", min(lo + CHUNK_ARTICLES, n), n)
    return assemble_segment(chunks, vocabularies, passages, progress=progress, train=train)


def select_articles(chunk: _Chunk, keep: npt.NDArray[np.bool_]) -> _Chunk:
    """The chunk of only the articles `keep` marks (one flag per article), ids renumbered.

    Its process and terms stay as they were: the terms only the dropped articles held are not
    in any array, so an assembled segment leaves them out.
    """
    keep = np.asarray(keep, dtype=bool)
    if keep.all():
        return chunk
    sent_keep = keep[chunk.sent_article]
    pass_keep = keep[chunk.pass_article]
    # How many kept sentences (articles, passages) come before each one.
    sent_before = np.concatenate(([0], np.cumsum(sent_keep))).astype(np.int32)
    article_new = (np.cumsum(keep) - 1).astype(np.int32)
    pass_new = (np.cumsum(pass_keep) - 1).astype(np.int32)
    text = np.frombuffer(chunk.text_blob, dtype=np.uint8)[np.repeat(sent_keep, chunk.text_len)]
    post_keep = pass_keep[chunk.post_docs]
    held = np.add.reduceat(post_keep.astype(np.int64), chunk.group_offsets[:-1]) if chunk.group_terms.size else None
    group_terms, group_offsets = chunk.group_terms, chunk.group_offsets
    if held is not None:
        group_terms = group_terms[held > 0]
        group_offsets = np.concatenate(([0], np.cumsum(held[held > 0]))).astype(np.int64)
    return _Chunk(
        worker=chunk.worker,
        first_word=chunk.first_word,
        words=chunk.words,
        sent_terms=chunk.sent_terms[np.repeat(sent_keep, chunk.sent_len)],
        sent_len=chunk.sent_len[sent_keep],
        title_terms=chunk.title_terms[np.repeat(keep, chunk.title_len)],
        title_len=chunk.title_len[keep],
        text_blob=text.tobytes(),
        text_len=chunk.text_len[sent_keep],
        sent_pos=chunk.sent_pos[sent_keep],
        sent_article=article_new[chunk.sent_article[sent_keep]],
        pass_start=sent_before[chunk.pass_start[pass_keep]],
        pass_end=sent_before[chunk.pass_end[pass_keep]],
        pass_article=article_new[chunk.pass_article[pass_keep]],
        article_first=sent_before[chunk.article_first[keep]],
        meta=[m for m, k in zip(chunk.meta, keep.tolist(), strict=True) if k],
        doc_len=chunk.doc_len[pass_keep],
        group_terms=group_terms,
        group_offsets=group_offsets,
        post_docs=pass_new[chunk.post_docs[post_keep]],
        post_tf=chunk.post_tf[post_keep],
    )


def _term_maps(
    chunks: Sequence[_Chunk], vocabularies: Vocabularies
) -> tuple[list[str], dict[int, Int32s]]:
    """The sorted terms the chunks use, and each process's term ids mapped into them."""
    used: dict[int, npt.NDArray[np.bool_]] = {}
    for c in chunks:
        mask = used.get(c.worker)
        if mask is None:
            mask = used[c.worker] = np.zeros(len(vocabularies.words[c.worker]), dtype=bool)
        mask[c.sent_terms] = True
        mask[c.title_terms] = True
    held = {w: np.flatnonzero(mask) for w, mask in used.items()}
    words = sorted(set().union(*([vocabularies.words[w][i] for i in ids.tolist()] for w, ids in held.items())))
    number = {w: i for i, w in enumerate(words)}
    maps = {}
    for w, ids in held.items():
        known = vocabularies.words[w]
        remap = np.full(len(known), -1, dtype=np.int32)
        remap[ids] = np.fromiter((number[known[i]] for i in ids.tolist()), dtype=np.int32, count=ids.size)
        maps[w] = remap
    return words, maps


def assemble_segment(
    chunks: list[_Chunk],
    vocabularies: Vocabularies,
    passages: PassageSettings,
    *,
    progress: Progress | None = None,
    train: bool = True,
) -> Segment:
    """Join analysed chunks (in order) into one in-memory segment; see `build_segment`.

    The list is emptied once its chunks are joined, so that they are freed before the text
    is compressed and the postings encoded.
    """
    # Each process's terms, then one sorted vocabulary of the terms these chunks hold.
    words, by_worker = _term_maps(chunks, vocabularies)
    remaps = [by_worker[c.worker] for c in chunks]
    n_articles = sum(len(c.meta) for c in chunks)

    def join(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)

    sentences = np.cumsum([0] + [c.sent_len.size for c in chunks])
    counted = np.cumsum([0] + [len(c.meta) for c in chunks])
    passed = np.cumsum([0] + [c.pass_start.size for c in chunks])
    sent_terms = join([r[c.sent_terms] for c, r in zip(chunks, remaps, strict=True)], np.int32)
    title_terms = join([r[c.title_terms] for c, r in zip(chunks, remaps, strict=True)], np.int32)
    sent_len = join([c.sent_len for c in chunks], np.int32)
    title_len = join([c.title_len for c in chunks], np.int32)
    p_start = join([c.pass_start + sentences[i] for i, c in enumerate(chunks)], np.int32)
    p_end = join([c.pass_end + sentences[i] for i, c in enumerate(chunks)], np.int32)
    pass_article = join([c.pass_article + counted[i] for i, c in enumerate(chunks)], np.int32)
    sent_article = join([c.sent_article + counted[i] for i, c in enumerate(chunks)], np.int32)
    sent_pos = join([c.sent_pos for c in chunks], np.int32)
    article_first = np.concatenate(
        [*(c.article_first + sentences[i] for i, c in enumerate(chunks)), sentences[-1:]]
    ).astype(np.int32)
    doc_len32 = join([c.doc_len for c in chunks], np.int32)
    text_len = join([c.text_len for c in chunks], np.int64)

    # Postings: each chunk's, grouped by term, put in place by term then passage. Chunks hold
    # ascending passages, so a term's postings come out ascending.
    totals = np.zeros(len(words), dtype=np.int64)
    for c, r in zip(chunks, remaps, strict=True):
        totals[r[c.group_terms]] += np.diff(c.group_offsets)
    post_offsets = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(totals, out=post_offsets[1:])
    del totals
    cursor = post_offsets[:-1].copy()
    post_docs = np.empty(int(post_offsets[-1]), dtype=np.int32)
    post_tf16 = np.empty(int(post_offsets[-1]), dtype=np.uint16)
    for i, (c, r) in enumerate(zip(chunks, remaps, strict=True)):
        held = r[c.group_terms]
        lengths = np.diff(c.group_offsets)
        place = np.arange(c.post_docs.size, dtype=np.int64) + np.repeat(cursor[held] - c.group_offsets[:-1], lengths)
        post_docs[place] = c.post_docs + passed[i]
        post_tf16[place] = c.post_tf
        cursor[held] += lengths
    del cursor
    if progress is not None:
        progress("index", n_articles, n_articles)

    title_offsets = np.zeros(title_len.size + 1, dtype=np.int64)
    np.cumsum(title_len, out=title_offsets[1:])
    sent_offsets = np.zeros(sent_len.size + 1, dtype=np.int64)
    np.cumsum(sent_len, out=sent_offsets[1:])
    encoded = [w.encode("utf-8") for w in words]
    width = max((len(w) for w in encoded), default=1)
    vocab_arr = np.array(encoded, dtype=f"S{width}") if encoded else np.zeros(0, dtype="S1")
    del encoded
    text_offsets = np.zeros(text_len.size + 1, dtype=np.int64)
    np.cumsum(text_len, out=text_offsets[1:])
    meta = [m for c in chunks for m in c.meta]
    blob = b"".join(c.text_blob for c in chunks)
    chunks.clear()
    texts = Blocks.pack(blob, text_offsets, per_block=TEXT_BLOCK, train=train, level=LEVEL if train else FAST_LEVEL)
    del blob
    stored = encode_postings(post_offsets, post_docs, post_tf16, doc_len32)
    post_bytes, block_last = stored["post_bytes"], stored["block_last"]
    block_end = _narrow(stored["block_end"], np.int32, np.int64)
    block_max_tf, block_min_len = stored["block_max_tf"], _narrow(stored["block_min_len"], np.uint16, np.int32)
    # Read-only, as they are once saved and memory-mapped: the compiled search loop is then
    # compiled (and cached) for one kind of array.
    for packed in (post_bytes, block_last, block_end, block_max_tf, block_min_len):
        packed.flags.writeable = False
    max_tf, min_len = _term_bounds(post_offsets, post_docs, post_tf16, doc_len32)
    del post_docs, post_tf16
    return Segment(
        articles=ArticleTable.from_records(meta),
        vocab=vocab_arr,
        post_offsets=_narrow(post_offsets, np.int32, np.int64),
        post_bytes=post_bytes,
        block_last=block_last,
        block_end=block_end,
        block_max_tf=block_max_tf,
        block_min_len=block_min_len,
        term_max_tf=max_tf,
        term_min_len=_narrow(min_len, np.uint16, np.int32),
        doc_len=_narrow(doc_len32, np.uint16, np.int32),
        pass_start=p_start,
        pass_end=p_end,
        pass_article=pass_article,
        sent_offsets=_narrow(sent_offsets, np.int32, np.int64),
        sent_terms=sent_terms,
        sent_article=sent_article,
        sent_pos=_narrow(sent_pos, np.uint16, np.int32),
        text_offsets=_narrow(text_offsets, np.int32, np.int64),
        text_blocks=texts.blocks,
        text_blob=texts.blob,
        text_dict=texts.dictionary,
        text_sums=texts.sums,
        article_first=article_first,
        title_offsets=title_offsets,
        title_terms=title_terms,
        titled=passages.title,
    )


def encode_postings(
    offsets: Ints, docs: Int32s, tfs: npt.NDArray[np.integer], doc_len: Narrow
) -> dict[str, np.ndarray]:
    """Turn a run of terms' postings into the arrays a segment stores for them.

    Term i of the run holds `docs[offsets[i]:offsets[i + 1]]` (passage ids, ascending) with
    their counts `tfs`; `offsets` starts at 0; `doc_len` is every passage's length. The
    result maps each stored postings array to its part for the run: `post_offsets` (from 0,
    one more than the terms) counts postings, `post_bytes` holds them packed
    (`retrieval.postings`), `block_last` is each block's last passage id, `block_end` where
    its bytes end, from 0, and `block_max_tf`, `block_min_len` its highest count and shortest
    passage. Runs are joined by shifting `post_offsets` by the postings and `block_end` by
    the bytes before them. `Segment.term_postings` reads a term back. A count over 65,535 is
    kept as 65,535.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    counts = np.minimum(np.asarray(tfs, dtype=np.int64), MAX_TF).astype(np.uint16)
    packed, last, ends, max_tf, min_len = postings.encode(np.asarray(docs, dtype=np.int32), counts, offsets, doc_len)
    return {
        "post_offsets": offsets,
        "post_bytes": packed,
        "block_last": last,
        "block_end": ends,
        "block_max_tf": max_tf,
        "block_min_len": min_len,
    }


def _term_bounds(
    offsets: Ints, docs: Int32s, tf: npt.NDArray[np.uint16], doc_len: Int32s
) -> tuple[npt.NDArray[np.uint16], Int32s]:
    """Each term's highest frequency and shortest passage over its postings (0 without any)."""
    n_terms = offsets.size - 1
    max_tf, min_len = np.zeros(n_terms, np.uint16), np.zeros(n_terms, np.int32)
    held = np.flatnonzero(np.diff(offsets) > 0)
    if held.size:
        starts = offsets[held]
        max_tf[held] = np.maximum.reduceat(tf, starts)
        min_len[held] = np.minimum.reduceat(doc_len[docs], starts)
    return max_tf, min_len


def release_pages(segment: Segment) -> None:
    """Let go of the pages of a memory-mapped segment this process has read.

    They stay in the page cache and come back at the next read; until then they do not count
    in this process's memory. Reading a whole segment once (checking it, merging it) would
    otherwise leave all of it resident.
    """
    arrays = [getattr(segment, name) for name in _ARRAYS]
    records = segment.articles.records
    for array in (*arrays, records.blob, records.blocks, records.offsets, records.sums):
        _let_go(array)


def trim_heap() -> None:
    """Hand the memory freed since the last call back to the system.

    glibc keeps freed heap memory for reuse (and, once a big array has been freed, serves
    arrays up to 32 MiB from the heap rather than from maps of their own), so a build's
    resident size would otherwise stay at its largest step plus whatever the next one cannot
    fit into the holes left.
    """
    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to hand back this way
        pass


def _mapping(array: np.ndarray) -> mmap.mmap | None:
    """The file mapping an array views, if any."""
    base: object = array
    while base is not None:
        if isinstance(base, mmap.mmap):
            return base
        found = getattr(base, "_mmap", None)
        if isinstance(found, mmap.mmap):
            return found
        base = getattr(base, "base", None)
    return None


def _npy(array: np.ndarray) -> list[integrity.Buffer]:
    """The bytes of `array` in .npy format (what np.save writes), header then data."""
    array = np.ascontiguousarray(array)
    return [_header(array), array.reshape(-1).view(np.uint8).data]


def _header(array: np.ndarray) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(array))
    return header.getvalue()


# The blobs an answer quotes from: checked block by block (their block sums are arrays too).
_BLOBS = {"text_blob.npy": "text_sums.npy", "article_blob.npy": "article_sums.npy"}


def _write(path: Path, parts: list[integrity.Buffer]) -> str:
    """Write one file of a segment, flushed to disk; return its checksum."""
    digest = ""

    def write(fh: BinaryIO) -> None:
        nonlocal digest
        digest = integrity.write_parts(fh, parts)

    write_synced(path, write)
    return digest


def save_segment(segment: Segment, directory: Path) -> int:
    """Write `segment` to `directory` atomically (a temporary folder renamed); return its bytes.

    Every file's checksum goes into the sealed `segment.json`. If anything fails (a full
    disk), the temporary folder is removed before the error is raised.
    """
    return write_folder(directory, lambda tmp: _save(segment, directory, tmp))


def write_folder(directory: Path, write: Callable[[Path], int]) -> int:
    """Run `write(tmp)`: it fills a fresh temporary folder beside `directory` and renames it there.

    If `write` fails, the temporary folder is removed before the error is raised. Returns
    what `write` returns (the bytes written).
    """
    tmp = directory.with_name(directory.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        return write(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _save(segment: Segment, directory: Path, tmp: Path) -> int:
    tmp.mkdir(parents=True)
    records = segment.articles.records
    arrays = {
        **{name: getattr(segment, name) for name in _ARRAYS},
        "article_blob": records.blob,
        "article_blocks": records.blocks,
        "article_offsets": records.offsets,
        "article_sums": records.sums,
    }
    sizes: dict[str, int] = {}
    digests: dict[str, str] = {}
    for name, array in arrays.items():
        parts = _npy(array)
        digests[f"{name}.npy"] = _write(tmp / f"{name}.npy", parts)
        sizes[name] = sum(len(p) for p in parts)
    ids = json.dumps(segment.articles.ids, ensure_ascii=False).encode("utf-8")
    digests["article_ids.json"] = _write(tmp / "article_ids.json", [ids])
    meta = {
        "format": SEGMENT_FORMAT,
        "passages": segment.n_passages,
        "sentences": segment.n_sentences,
        "articles": len(segment.articles),
        "terms": int(segment.vocab.size),
        "sizes": sizes,
        "ids_size": len(ids),
        "titled": segment.titled,
        "block": integrity.BLOCK,
        "checksums": digests,
    }
    _write(tmp / "segment.json", [json.dumps(integrity.seal(meta)).encode()])
    sync_folder(tmp)
    if directory.exists():
        shutil.rmtree(directory)
    replace_synced(tmp, directory)
    return sum(sizes.values()) + len(ids)


_TABLE = ("article_blob", "article_blocks", "article_offsets", "article_sums")


def _load_array(directory: Path, name: str, meta: dict) -> np.ndarray:
    path = directory / f"{name}.npy"
    if path.stat().st_size != meta["sizes"][name]:
        raise CorruptIndexError(f"{path}: size differs from the one recorded")
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    # The header of a blob checked lazily is checked here: it must be the one saving writes.
    header = _header(array)
    with open(path, "rb") as fh:
        if fh.read(len(header)) != header or array.ndim != 1:
            raise CorruptIndexError(f"{path}: header damaged")
    return array


def load_segment(directory: Path, *, verify: bool = False) -> Segment:
    """Memory-map a saved segment; raise CorruptIndexError if anything is missing or wrong.

    Every file is checked against its checksum now, except the text and article blobs when
    they are bigger than VERIFY_AT_OPEN_BYTES (and `verify` is false): their blocks are
    checked as they are read.
    """
    try:
        meta = integrity.unseal(json.loads((directory / "segment.json").read_text(encoding="utf-8")))
        if meta is None or meta.get("format") != SEGMENT_FORMAT or meta.get("block") != integrity.BLOCK:
            raise CorruptIndexError(f"{directory}: not a newsbot segment, or its segment.json is damaged")
        checksums = meta["checksums"]
        if set(checksums) != {f"{n}.npy" for n in (*_ARRAYS, *_TABLE)} | {"article_ids.json"}:
            raise CorruptIndexError(f"{directory}: checksums missing")
        blob_bytes = meta["sizes"]["text_blob"] + meta["sizes"]["article_blob"]
        lazy = not verify and blob_bytes > VERIFY_AT_OPEN_BYTES
        # Files are checked before they are parsed: a damaged header must not reach NumPy.
        for file, expected in checksums.items():
            if not (lazy and file in _BLOBS):
                integrity.check_file(directory / file, expected)
        arrays: dict[str, np.ndarray] = {}
        for name, kind in _ARRAYS.items():
            array = _load_array(directory, name, meta)
            if (kind == "S" and array.dtype.kind != "S") or (kind != "S" and array.dtype.name not in kind.split("|")):
                raise CorruptIndexError(f"{directory / name}.npy: unexpected dtype {array.dtype}")
            # A plain ndarray view of the map: np.memmap's slicing costs microseconds a call.
            arrays[name] = np.asarray(array)
        table = {n: _load_array(directory, n, meta) for n in _TABLE}
        raw = (directory / "article_ids.json").read_bytes()
        if len(raw) != meta["ids_size"]:
            raise CorruptIndexError(f"{directory}/article_ids.json: size differs from the one recorded")
        ids = json.loads(raw)
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise CorruptIndexError(f"{directory}/article_ids.json: not a list of ids")
        if (
            table["article_blob"].dtype != np.uint8
            or table["article_blocks"].dtype != np.int64
            or table["article_offsets"].dtype != np.int64
            or table["article_sums"].dtype != np.uint64
        ):
            raise CorruptIndexError(f"{directory}: article table of unexpected types")
        for blob, sums in ((arrays["text_blob"], arrays["text_sums"]), (table["article_blob"], table["article_sums"])):
            if sums.size != -(-blob.size // integrity.BLOCK):
                raise CorruptIndexError(f"{directory}: block checksums do not cover their blob")
        records = Blocks(
            table["article_blob"],
            table["article_blocks"],
            table["article_offsets"],
            per_block=ARTICLE_BLOCK,
            sums=table["article_sums"],
            checked=np.full(table["article_sums"].size, not lazy),
            where=str(directory / "article_blob.npy"),
        )
        articles = ArticleTable(records, ids)
    except CorruptIndexError:
        raise
    except Exception as error:  # whatever a damaged file makes a parser raise: never trusted
        raise CorruptIndexError(f"{directory}: {error.__class__.__name__}: {error}") from None
    if not isinstance(meta.get("titled"), bool):
        raise CorruptIndexError(f"{directory}: not a newsbot segment")
    segment = Segment(
        articles=articles,
        titled=meta["titled"],
        text_checked=np.full(arrays["text_sums"].size, not lazy),
        origin=str(directory),
        **arrays,
    )
    _check_shapes(segment, meta, directory)
    # The checks read every id array through the map; what an answer needs is read back.
    release_pages(segment)
    return segment


def verify_segment(segment: Segment) -> None:
    """Check every block of a segment's text and article blobs now (those not yet checked)."""
    segment.texts.verify()
    segment.articles.records.verify()


def _check_shapes(segment: Segment, meta: dict[str, int], directory: Path) -> None:
    """Refuse a segment whose arrays disagree with each other (a cheap structural check)."""
    n_terms, n_pass, n_sent = segment.vocab.size, segment.n_passages, segment.n_sentences
    ok = (
        meta.get("passages") == n_pass
        and meta.get("sentences") == n_sent
        and meta.get("terms") == n_terms
        and len(segment.articles) == meta.get("articles")
        and segment.post_offsets.shape == (n_terms + 1,)
        and int(segment.post_offsets[0]) == 0
        and segment.block_last.shape == segment.block_end.shape == (int(segment.block_first[-1]),)
        and segment.block_max_tf.shape == segment.block_min_len.shape == segment.block_last.shape
        and int(segment.block_end[-1] if segment.block_end.size else 0) == segment.post_bytes.size
        and segment.term_max_tf.shape == segment.term_min_len.shape == (n_terms,)
        and segment.pass_start.shape == segment.pass_end.shape == segment.pass_article.shape == (n_pass,)
        and segment.sent_offsets.shape == segment.text_offsets.shape == (n_sent + 1,)
        and int(segment.sent_offsets[-1]) == segment.sent_terms.size
        and segment.texts.sound()
        and segment.articles.records.sound()
        and segment.article_first.shape == segment.title_offsets.shape == (len(segment.articles) + 1,)
        and segment.articles.records.offsets.shape == (len(segment.articles) + 1,)
        and int(segment.title_offsets[-1]) == segment.title_terms.size
    )
    if not ok:
        raise CorruptIndexError(f"{directory}: arrays do not agree with each other")
    _check_ranges(segment, directory)


# Arrays are checked this many items at a time, their pages let go after each piece: a
# segment's arrays read whole through the map would all count as this process's memory.
_CHECK_ITEMS = 1 << 23


def _within(array: np.ndarray, low: int, high: int) -> bool:
    """Whether every value of `array` lies in [low, high) (an empty array does)."""
    for lo in range(0, array.size, _CHECK_ITEMS):
        part = array[lo : lo + _CHECK_ITEMS]
        if int(part.min()) < low or int(part.max()) >= high:
            return False
        _let_go(array)
    return True


def _ascending(array: np.ndarray) -> bool:
    for lo in range(0, max(array.size - 1, 0), _CHECK_ITEMS):
        if not bool((np.diff(array[lo : lo + _CHECK_ITEMS + 1]) >= 0).all()):
            return False
        _let_go(array)
    return True


def _let_go(array: np.ndarray) -> None:
    """Let go of the pages of the file an array maps, if it maps one (see `release_pages`)."""
    mapping = _mapping(array)
    if mapping is not None:
        mapping.madvise(mmap.MADV_DONTNEED)


def _check_ranges(segment: Segment, directory: Path) -> None:
    """Refuse ids that point outside their arrays: damage the sizes alone do not show.

    A bit flipped in place keeps every size; an id out of range would crash a search, so
    every id array is range-checked (one pass over each, a few tens of milliseconds for a
    million passages). Damage that keeps ids in range can only misrank, not crash.
    """
    n_terms, n_pass, n_sent = segment.vocab.size, segment.n_passages, segment.n_sentences
    n_articles = len(segment.articles)
    ok = (
        _within(segment.block_last, 0, n_pass)
        and _within(segment.block_end, 1, segment.post_bytes.size + 1)
        and _within(segment.sent_terms, 0, n_terms)
        and _within(segment.title_terms, 0, n_terms)
        and _within(segment.pass_start, 0, n_sent)
        and _within(segment.pass_end, 1, n_sent + 1)
        and _within(segment.pass_article, 0, n_articles)
        and _within(segment.sent_article, 0, n_articles)
        and _within(segment.doc_len, 0, 1 << 31)
        and all(
            _ascending(a)
            for a in (
                segment.post_offsets,
                segment.block_end,
                segment.sent_offsets,
                segment.title_offsets,
                segment.article_first,
            )
        )
    )
    if not ok:
        raise CorruptIndexError(f"{directory}: ids out of range")
