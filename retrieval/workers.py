"""Analysis spread over worker processes for a whole build: part of stage 4, beside `retrieval.maintain`.

    load → split → analyze → **index** (articles analysed here, in parallel) → search → select → answer

A big build forks its workers once, at its start, while the building process is still small:
each worker then holds only its own term ids (`index._TermIds`, kept for the whole build, so
a word is analysed once per worker) and the chunk it is working on. The building process
hands them work of two kinds and gets back analysed chunks (`index._Chunk`), in order:

- `.jsonl` lines read but not parsed (`load.Lines`): the worker parses them exactly as
  `load.read_file_parts` would (the same articles, content keys and problems) and analyses the
  articles it found, so the building process never parses JSON or cleans HTML;
- articles already read (from `.txt`/`.md` files, or a changed file read against the index).

While the workers analyse, the building process assembles, compresses and saves the batch
before; how much work is handed out ahead is bounded (`AHEAD_BYTES`), so its results never
pile up. A small build (`PARALLEL_MIN_BYTES`), or one asked for from a process that runs other
threads (forking those can inherit a lock held mid-way), analyses in-process instead, with
the same results.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import multiprocessing
import os
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType

from retrieval import index
from retrieval.analyze import Analyzer
from retrieval.errors import AnalysisError
from retrieval.index import _analyse, _Chunk, _TermIds
from retrieval.load import Lines, parse_lines
from retrieval.models import Article, LoadProblem
from retrieval.settings import PassageSettings
from retrieval.tokens import warm as warm_tokeniser

__all__ = ["AHEAD_BYTES", "PARALLEL_MIN_BYTES", "PIECE_BYTES", "Analysed", "Analysis", "Found", "Pending"]

# Below this much new corpus text a build analyses in-process: forking costs more than it saves.
PARALLEL_MIN_BYTES = 4 << 20
# A `.jsonl` file is handed to the workers this many bytes of whole lines at a time.
PIECE_BYTES = 4 << 20
# Work handed out and not yet taken back, in bytes of text: enough to keep every worker busy
# while the building process saves a batch, little enough that results never pile up.
AHEAD_BYTES = 24 << 20


@dataclass(frozen=True, slots=True)
class Found:
    """What the building process needs of an article parsed elsewhere: to place and cite it."""

    key: str
    id: str
    path: str
    line: int | None
    size: int  # characters of headline and text: what the memory budget counts


@dataclass(frozen=True, slots=True)
class Analysed:
    """Lines parsed and analysed: the chunk of their articles (in order), the articles, the problems."""

    chunk: _Chunk
    found: tuple[Found, ...]
    problems: tuple[LoadProblem, ...]


_PR_SET_PDEATHSIG = 1
# What analysing takes: the passage settings, and the term ids kept for the whole build.
_State = tuple[PassageSettings, _TermIds]
# This process's, while it is a worker.
_STATE: _State | None = None


def _start(analyzer: Analyzer, passages: PassageSettings) -> None:
    global _STATE
    _STATE = (passages, _TermIds(analyzer))
    # A worker ends with the process that forked it, even one killed outright (Linux only).
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _lines(lines: Lines, state: _State) -> Analysed:
    """Parse and analyse `.jsonl` lines (in a worker, or in-process)."""
    read = parse_lines(lines)
    found = tuple(Found(key, a.id, a.path, line, len(a.text) + len(a.title)) for key, a, line in read.articles)
    chunk = _analyse([a for _, a, _ in read.articles], state[1], state[0])
    return Analysed(chunk, found, read.problems)


def _articles(articles: Sequence[Article], state: _State) -> _Chunk:
    """Analyse articles (in a worker, or in-process)."""
    return _analyse(articles, state[1], state[0])


def _ready() -> int:
    return os.getpid()


def _run(work: str, item: object) -> object:
    """Do one piece of work in a worker: `work` names the function, looked up there."""
    return globals()[work](item, _STATE)


class Pending:
    """Work handed out: its result when asked for; `cost` is what it counts against `AHEAD_BYTES`."""

    def __init__(self, future: Future, cost: int) -> None:
        self._future, self.cost = future, cost

    def result(self) -> object:
        try:
            return self._future.result()
        except BrokenProcessPool:
            raise AnalysisError(
                "an analysis worker process ended before finishing its work (killed, or out of memory);"
                " nothing was indexed, the index stays as it was"
            ) from None


class Analysis:
    """Where a build's articles are analysed: worker processes forked now, or this process.

    Use as a context manager: the workers end with it. `workers` below 2 analyses in-process.
    """

    def __init__(self, analyzer: Analyzer, passages: PassageSettings, *, workers: int) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._state: _State = (passages, _TermIds(analyzer))
        if workers >= 2:
            if index.COMPILED_TOKENS:
                warm_tokeniser()  # loaded once here, inherited by every worker
            # Objects that exist now are never scanned by the workers' collector, so their
            # pages stay shared with this process instead of being copied into each worker.
            gc.freeze()
            try:
                context = multiprocessing.get_context("fork")
                self._pool = ProcessPoolExecutor(workers, context, initializer=_start, initargs=(analyzer, passages))
                # Fork every worker now, before the build holds any of the corpus.
                for started in [self._pool.submit(_ready) for _ in range(workers)]:
                    started.result()
            finally:
                gc.unfreeze()

    @staticmethod
    def workers_for(new_bytes: int) -> int:
        """How many workers a build of `new_bytes` of corpus text should fork (0: in-process)."""
        cpus = os.cpu_count() or 1
        if (
            new_bytes < PARALLEL_MIN_BYTES
            or cpus < 2
            or threading.active_count() > 1
            or "fork" not in multiprocessing.get_all_start_methods()
        ):
            return 0
        return cpus

    @property
    def parallel(self) -> bool:
        return self._pool is not None

    def lines(self, lines: Lines) -> Pending:
        """Hand out `.jsonl` lines to parse and analyse; the result is an `Analysed`."""
        return self._hand_out("_lines", lines, len(lines.data))

    def articles(self, articles: Sequence[Article]) -> Pending:
        """Hand out articles to analyse; the result is their `_Chunk`."""
        return self._hand_out("_articles", list(articles), sum(len(a.text) + len(a.title) for a in articles))

    def _hand_out(self, work: str, item: object, cost: int) -> Pending:
        if self._pool is None:
            future: Future = Future()
            future.set_result(globals()[work](item, self._state))
            return Pending(future, cost)
        return Pending(self._pool.submit(_run, work, item), cost)

    def __enter__(self) -> Analysis:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
