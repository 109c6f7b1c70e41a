"""Speed benchmark: newsbot's engine beside rank_bm25, bm25s and tantivy on news-like corpora.

Usage, from the repository root with the bench extra installed (`pip install -e '.[bench]'`):

    python -m benchmarks.bench_search                                  # 100,000 passages
    python -m benchmarks.bench_search --sizes 10000 100000 1000000     # the three sizes
    python -m benchmarks.bench_search --engines newsbot rank_bm25 --sizes 300 --queries 20

For each size it writes a seeded news-like corpus (`benchmarks.newslike`, one .jsonl file in a
folder of its own, which is what newsbot opens as its corpus) and `--queries` questions built
from its sentences, then runs every measurement in a child process of its own, so that one
engine's memory never counts against another's:

- newsbot build: `Engine.open` on an empty index folder (load, split, analyse, index, save),
  timed; the index size on disk; the child's peak RSS.
- newsbot serve: `Engine.open` again in a fresh process on the saved index (the reload, timed;
  the benchmark checks nothing in the index folder was rewritten), the time until the speller
  (built in a thread of its own from the open on) is ready, then `engine.search(q, k=10)`
  and `engine.answer(q)` for every question, each timed alone; RSS after serving, and how much
  of it is heap and how much memory-mapped index pages (which the kernel can drop and reread).
- newsbot refresh (new articles without a rebuild), in a third child after serving: `Engine.open` on the saved
  index (with `wait_for_speller=False`, as the bot opens it: no answer waits for the speller), one
  `engine.refresh()` with nothing changed, then (a) a small new `.txt` article about
  a made-up person (`newslike.update_article`) is written into the corpus folder, and
  `engine.refresh()` and then `engine.answer(its question)` are timed, checking that the answer
  quotes the new article; (b) the file is rewritten with another story: refresh and answer
  timed, the new sentence must be quoted and nothing of the old one; (c) the file is deleted:
  refresh timed, and the article must be gone from answers and postings. The target is 1 s from
  the file's change to an answer (refresh + answer). When a step misses it, or with
  `--profile`, the three steps run once more under cProfile and the listing, with the time per
  retrieval function, goes next to the JSON. Compaction (`newsbot index --compact`) is a full
  rebuild, `Engine.open(..., rebuild=True)`, so the timed build stands for it; it is not run.
- rank_bm25 (`BM25Okapi`), bm25s (`method="lucene"`, numpy backend) and tantivy, all fed the
  very terms newsbot's index holds (`engine.passage_terms`) and the very question terms
  (`engine.question_terms`), so the comparison is of indexing and ranking, not of tokenizers.
  tantivy gets those terms joined by spaces in a field with its `whitespace` tokenizer and
  frequencies but no positions, is queried with a boolean OR of term queries (`count=False`),
  and indexes with its default writer threads (2 on this machine; the others use one).
  rank_bm25 takes seconds a query at 1,000,000 passages, so it answers a sample of the questions
  there (`--rank-bm25-sample`; all of them up to 100,000 passages) and the table says so.

Latencies are single calls, one after another, no warm-up, measured with `perf_counter_ns`;
percentiles are over all questions asked. `top10 overlap` is the mean share of newsbot's ten
passages that the other engine also returns: near 1 where the scoring agrees (bm25s and tantivy
score Lucene BM25 as newsbot does by default), lower for rank_bm25's Okapi idf.

The targets (at 100,000 passages and at 1,000,000) are printed beside the
numbers with PASS or FAIL. Results go to `--out` as JSON, rewritten after every size.
`--profile` also builds newsbot's index a second time under cProfile (the timed build runs
without it) and writes the listing next to the JSON, as it does for the refresh steps.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("newsbot", "rank_bm25", "bm25s", "tantivy")
REFRESH_TARGET_S = 1.0
REFRESH_STEPS = ("add", "change", "remove")
FORMAT_VERSION = 1
MiB = 1 << 20
GiB = 1 << 30

# (size the target applies to, engine, metric path, "<=" or ">=", limit, unit, where it comes from)
TARGETS: tuple[tuple[int, str, str, str, float, str, str], ...] = (
    (100_000, "newsbot", "reload_s", "<=", 1.0, "s", "at 100,000"),
    (100_000, "newsbot", "search_ms.p50", "<=", 2.0, "ms", "at 100,000"),
    (100_000, "newsbot", "answer_ms.p50", "<=", 10.0, "ms", "at 100,000"),
    (100_000, "rank_bm25", "speedup_p50", ">=", 100.0, "x", "at 100,000"),
    (1_000_000, "newsbot", "search_ms.p50", "<=", 5.0, "ms", "at 1,000,000"),
    (1_000_000, "newsbot", "search_ms.p99", "<=", 50.0, "ms", "at 1,000,000"),
    (1_000_000, "newsbot", "answer_ms.p50", "<=", 15.0, "ms", "at 1,000,000"),
    (1_000_000, "newsbot", "build_s", "<=", 90.0, "s", "at 1,000,000"),
    (1_000_000, "newsbot", "reload_s", "<=", 1.0, "s", "at 1,000,000"),
    (1_000_000, "newsbot", "serve_rss_bytes", "<=", 1.0 * GiB, "bytes", "at 1,000,000"),
    *((1_000_000, "newsbot", f"refresh.{step}.reflected_s", "<=", REFRESH_TARGET_S, "s",
       "at 1,000,000") for step in REFRESH_STEPS),
    (1_000_000, "newsbot", "refresh.jsonl_append.reflected_s", "<=", REFRESH_TARGET_S, "s",
     "at 1,000,000"),
)


# -- measuring inside a child -------------------------------------------------------------


def _rss_bytes() -> int:
    """Resident set size of this process now (Linux /proc; psutil elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import psutil

    return int(psutil.Process().memory_info().rss)


def _rss_split() -> dict[str, int]:
    """Resident memory by kind: anonymous (the heap) and file-backed (memory-mapped files)."""
    found = {}
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                key = line.split(":")[0]
                if key in ("RssAnon", "RssFile", "RssShmem"):
                    found[key] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {f"serve_rss_{k[3:].lower()}_bytes": v for k, v in found.items()}


def _peak_rss_bytes() -> int:
    """The largest RSS this process has had since it started its program."""
    # VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so a child would report its
    # parent's size at fork time whenever that was larger.
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) * (1 if sys.platform == "darwin" else 1024)


def _cpu_s() -> float:
    """CPU seconds (user and system) of this process and of the children it has waited for.

    On a machine that others share, the wall time of a build says as much about them as
    about it; its CPU time, forked analysis workers included, says less.
    """
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _bytes_by_name(path: Path) -> dict[str, int]:
    """Bytes of the index by file name, summed over its segments (which file holds what)."""
    out: dict[str, int] = {}
    for p in path.rglob("*"):
        if p.is_file():
            out[p.name] = out.get(p.name, 0) + p.stat().st_size
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _snapshot(path: Path) -> dict[str, tuple[int, int]]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in files}


def _percentiles(nanoseconds: Sequence[int]) -> dict[str, float]:
    import numpy as np

    ms = np.asarray(nanoseconds, dtype=np.float64) / 1e6
    if ms.size == 0:
        return {"n": 0}
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {
        "n": int(ms.size), "p50": float(p50), "p95": float(p95), "p99": float(p99),
        "mean": float(ms.mean()), "max": float(ms.max()),
    }


def _timed(fn: Callable[[Any], Any], items: Sequence[Any]) -> tuple[list[int], list[Any]]:
    times, results = [], []
    clock = time.perf_counter_ns
    for item in items:
        began = clock()
        result = fn(item)
        times.append(clock() - began)
        results.append(result)
    return times, results


def _read_lines(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as f:
        return f.read().split("\n")[:-1]


def _child_newsbot_build(spec: dict[str, Any]) -> dict[str, Any]:
    from retrieval.engine import Engine
    from retrieval.settings import Settings

    index = Path(spec["index"])
    shutil.rmtree(index, ignore_errors=True)
    profiler = None
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    began = time.perf_counter()
    cpu_began = _cpu_s()
    engine = Engine.open(spec["corpus"], index, Settings(), progress=None)
    build_s = time.perf_counter() - began
    build_cpu_s = _cpu_s() - cpu_began
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
        Path(spec["profile"]).write_text(text.getvalue(), encoding="utf-8")
    peak = _peak_rss_bytes()
    stats = engine.stats
    return {
        "build_s": build_s,
        "build_cpu_s": build_cpu_s,
        "build_peak_rss_bytes": peak,
        "index_bytes": _dir_bytes(index),
        "index_files": _bytes_by_name(index),
        "articles": stats.articles,
        "passages": stats.passages,
        "terms": stats.terms,
    }


def _child_newsbot_serve(spec: dict[str, Any]) -> dict[str, Any]:
    baseline = _rss_bytes()
    from retrieval.engine import Engine
    from retrieval.settings import Settings

    index = Path(spec["index"])
    questions = _read_lines(Path(spec["questions"]))
    before = _snapshot(index)
    began = time.perf_counter()
    engine = Engine.open(spec["corpus"], index, Settings(), progress=None)
    reload_s = time.perf_counter() - began
    rewritten = _snapshot(index) != before
    # The speller is built in a thread of its own from the open on: timed to its end, so that
    # the searches and answers below are timed without it running beside them.
    began = time.perf_counter()
    speller_built = engine.speller_ready(wait=True)
    speller_s = time.perf_counter() - began + reload_s
    rss_open = _rss_bytes()
    search_ns, hits = _timed(lambda q: engine.search(q, k=10), questions)
    answer_ns, answers = _timed(engine.answer, questions)
    serve_rss = _rss_bytes()
    serve_split = _rss_split()
    serve_peak = _peak_rss_bytes()
    result: dict[str, Any] = {
        "reload_s": reload_s,
        "reload_rewrote_index": rewritten,
        "speller_built": speller_built,
        "speller_ready_s": speller_s,
        "rss_before_open_bytes": baseline,
        "rss_after_open_bytes": rss_open,
        "serve_rss_bytes": serve_rss,
        "serve_peak_rss_bytes": serve_peak,
        **serve_split,
        "search_ms": _percentiles(search_ns),
        # The first search loads the compiled search loop (numba's cache; compiled if absent).
        "first_search_ms": search_ns[0] / 1e6 if search_ns else None,
        "answer_ms": _percentiles(answer_ns),
        "answered": sum(a.answered for a in answers) / max(1, len(answers)),
        "top10": [[h.passage for h in hs] for hs in hits],
        "search_ns": search_ns,
    }
    if spec.get("terms_out"):
        # Everything the other engines need, written after the serving numbers are taken.
        with open(spec["terms_out"], "w", encoding="utf-8") as out:
            for i in range(engine.stats.passages):
                out.write(" ".join(engine.passage_terms(i)))
                out.write("\n")
        with open(spec["queries_out"], "w", encoding="utf-8") as out:
            json.dump([engine.question_terms(q) for q in questions], out)
    return result


def _answer_sentences(answer: Any) -> list[tuple[str, str]]:
    return [(s.source.article_id, s.text) for s in answer.sentences]


def _df(engine: Any, word: str) -> int:
    """Live passages holding the analysed form of `word` (0 when the index has never seen it)."""
    searcher = engine.state.searcher
    return sum(searcher.postings(term).df for term in dict.fromkeys(engine.question_terms(word)))


def _refresh_step(engine: Any, refresh: Callable[[], bool], questions: Sequence[str]
                  ) -> dict[str, Any]:
    """Time one refresh and then one answer per question, as a user would see them."""
    began = time.perf_counter()
    changed = bool(refresh())
    refresh_s = time.perf_counter() - began
    answer_ns, answers = _timed(engine.answer, questions)
    return {"refresh_s": refresh_s, "changed": changed,
            "answer_ms": answer_ns[0] / 1e6,
            "reflected_s": refresh_s + answer_ns[0] / 1e9,
            "segments": len(engine.state.segments), "passages": engine.state.searcher.n_live,
            "answers": [_answer_sentences(a) for a in answers]}


def _profile_summary(profiler: Any, text_out: Any, title: str) -> list[dict[str, Any]]:
    """Print a cumulative listing to `text_out`; return retrieval's functions by cumulative time."""
    import pstats

    text_out.write(f"\n===== {title} =====\n")
    stats = pstats.Stats(profiler, stream=text_out)
    stats.sort_stats("cumulative").print_stats(45)
    rows = []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = Path(filename)
        if where.parent.name == "retrieval" or name in ("<method 'stat' of 'os.DirEntry' objects>",
                                                         "<built-in method posix.stat>"):
            label = f"{where.parent.name}/{where.name}:{line}({name})" if line else name
            rows.append({"function": label, "calls": calls, "own_s": round(own, 4),
                         "cumulative_s": round(cumulative, 4)})
    rows.sort(key=lambda r: -r["cumulative_s"])
    return rows[:14]


def _child_newsbot_refresh(spec: dict[str, Any]) -> dict[str, Any]:
    from benchmarks import newslike
    from retrieval.engine import Engine
    from retrieval.settings import Settings

    corpus, index = Path(spec["corpus"]), Path(spec["index"])
    updates = corpus / "updates"
    shutil.rmtree(updates, ignore_errors=True)
    path = updates / "quonzhattle.txt"
    article_id = path.relative_to(corpus).with_suffix("").as_posix()
    first, second = newslike.update_article(1), newslike.update_article(2)
    began = time.perf_counter()
    # As the running bot does: an answer never waits for the speller of a refreshed index.
    engine = Engine.open(corpus, index, Settings(), progress=None, wait_for_speller=False)
    open_s = time.perf_counter() - began
    unseen = {w: _df(engine, w) for w in (first.name, first.marker, second.marker)}
    result: dict[str, Any] = {"open_s": open_s, "article_id": article_id,
                              "df_before": unseen, "made_up_words_unseen": not any(unseen.values())}
    began = time.perf_counter()
    result["noop_changed"] = engine.refresh().changed
    result["noop_refresh_s"] = time.perf_counter() - began

    def quotes(answers: list[list[tuple[str, str]]], version: Any, other: Any) -> bool:
        # A sentence of this version's article that the other version does not have.
        return any(aid == article_id and text in version.text and text not in other.text
                   for sentences in answers for aid, text in sentences)

    def cycle(refresh: Callable[[], bool]) -> dict[str, dict[str, Any]]:
        steps = {}
        updates.mkdir(parents=True, exist_ok=True)
        path.write_text(first.text, encoding="utf-8")
        add = _refresh_step(engine, refresh, [first.question])
        add["quotes_new_article"] = any(aid == article_id for aid, _ in add["answers"][0])
        add["quotes_answer_sentence"] = any(first.sentence in text for _, text in add["answers"][0])
        add["ok"] = add["changed"] and add["quotes_new_article"]
        steps["add"] = add
        path.write_text(second.text, encoding="utf-8")
        change = _refresh_step(engine, refresh, [second.question, first.question])
        change["quotes_new_version"] = quotes(change["answers"][:1], second, first)
        change["quotes_answer_sentence"] = any(second.sentence in text
                                               for _, text in change["answers"][0])
        change["quotes_old_version"] = quotes(change["answers"], first, second)
        change["old_marker_df"] = _df(engine, first.marker)
        change["ok"] = (change["changed"] and change["quotes_new_version"]
                        and not change["quotes_old_version"] and change["old_marker_df"] == 0)
        steps["change"] = change
        path.unlink()
        updates.rmdir()
        remove = _refresh_step(engine, refresh, [second.question, first.question])
        remove["quotes_removed_article"] = any(aid == article_id for sentences in remove["answers"]
                                               for aid, _ in sentences)
        remove["name_df"] = _df(engine, first.name)
        remove["ok"] = (remove["changed"] and not remove["quotes_removed_article"]
                        and remove["name_df"] == 0)
        steps["remove"] = remove
        return steps

    try:
        result.update(_jsonl_steps(engine, corpus))
        steps = cycle(engine.refresh)
        slow = [k for k, v in steps.items() if v["reflected_s"] > spec["target_s"]]
        if spec.get("profile") and (slow or spec.get("always_profile")):
            import cProfile
            import io

            listing = io.StringIO()
            profiled = {step: cProfile.Profile() for step in REFRESH_STEPS}
            # cycle() refreshes once per step, in order: each step gets a profiler of its own,
            # enabled around the refresh only.
            turn = iter(REFRESH_STEPS)

            def refresh_in_turn() -> bool:
                profiler = profiled[next(turn)]
                profiler.enable()
                try:
                    return bool(engine.refresh())
                finally:
                    profiler.disable()

            again = cycle(refresh_in_turn)
            result["profile"] = {
                "file": spec["profile"],
                "refresh_s_under_profile": {k: v["refresh_s"] for k, v in again.items()},
                **{step: _profile_summary(profiled[step], listing, f"refresh: {step}")
                   for step in REFRESH_STEPS},
            }
            Path(spec["profile"]).write_text(listing.getvalue(), encoding="utf-8")
    finally:
        shutil.rmtree(updates, ignore_errors=True)
    for record in steps.values():
        record["answers"] = [[text for _, text in sentences] for sentences in record["answers"]]
    result.update(steps)
    result["ok"] = (all(steps[k]["ok"] for k in REFRESH_STEPS) and result["made_up_words_unseen"]
                    and result["jsonl_append"]["ok"] and result["jsonl_restore"]["ok"])
    result["compaction"] = ("not run: `newsbot index --compact` is Engine.open(..., rebuild=True), "
                            "a full rebuild, which build_s times")
    return result


def _jsonl_steps(engine: Any, corpus: Path) -> dict[str, Any]:
    """One article line appended to the corpus's big .jsonl file, then the file put back as it was.

    The append is read alone (the file's old part is only hashed); putting the file back is
    a rewrite, compared line by line: both are timed to the answer.
    """
    from benchmarks import newslike

    path = next(corpus.glob("*.jsonl"))
    size = path.stat().st_size
    article = newslike.update_article(1)
    title, body = article.text.split("\n\n", 1)
    line = json.dumps({"id": "appended-quonzhattle", "title": title, "source": "Bench", "text": body.strip()})
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        append = _refresh_step(engine, engine.refresh, [article.question])
    finally:
        with path.open("r+b") as fh:
            fh.truncate(size)
    restore = _refresh_step(engine, engine.refresh, [article.question])
    append["quotes_new_article"] = any(aid == "appended-quonzhattle" for aid, _ in append["answers"][0])
    restore["quotes_removed_article"] = any(aid == "appended-quonzhattle" for aid, _ in restore["answers"][0])
    append["ok"] = append["changed"] and append["quotes_new_article"]
    restore["ok"] = restore["changed"] and not restore["quotes_removed_article"]
    for record in (append, restore):
        record["answers"] = [[text for _, text in sentences] for sentences in record["answers"]]
    return {"jsonl_append": append, "jsonl_restore": restore, "jsonl_bytes": size}


def _load_terms(spec: dict[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    passages = [line.split() for line in _read_lines(Path(spec["terms"]))]
    with open(spec["queries"], encoding="utf-8") as f:
        queries = json.load(f)[: spec.get("sample") or None]
    return passages, queries


def _child_rank_bm25(spec: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    from rank_bm25 import BM25Okapi

    passages, queries = _load_terms(spec)
    began = time.perf_counter()
    bm25 = BM25Okapi(passages, k1=spec["k1"], b=spec["b"])
    build_s = time.perf_counter() - began
    peak = _peak_rss_bytes()
    del passages
    gc.collect()

    def search(terms: list[str]) -> list[int]:
        scores = bm25.get_scores(terms)
        top = np.argpartition(-scores, 10)[:10]
        return top[np.argsort(-scores[top], kind="stable")].tolist()

    search_ns, top10 = _timed(search, queries)
    return {"build_s": build_s, "build_peak_rss_bytes": peak, "serve_rss_bytes": _rss_bytes(),
            "search_ms": _percentiles(search_ns), "top10": top10}


def _child_bm25s(spec: dict[str, Any]) -> dict[str, Any]:
    import bm25s

    passages, queries = _load_terms(spec)
    began = time.perf_counter()
    retriever = bm25s.BM25(method="lucene", k1=spec["k1"], b=spec["b"], backend="numpy")
    retriever.index(passages, show_progress=False)
    build_s = time.perf_counter() - began
    peak = _peak_rss_bytes()
    del passages
    gc.collect()
    saved = Path(spec["index"])
    shutil.rmtree(saved, ignore_errors=True)
    retriever.save(str(saved))
    index_bytes = _dir_bytes(saved)
    shutil.rmtree(saved, ignore_errors=True)

    def search(terms: list[str]) -> list[int]:
        docs, _ = retriever.retrieve([terms], k=10, show_progress=False, n_threads=0)
        return docs[0].tolist()

    search_ns, top10 = _timed(search, queries)
    return {"build_s": build_s, "build_peak_rss_bytes": peak, "index_bytes": index_bytes,
            "serve_rss_bytes": _rss_bytes(), "search_ms": _percentiles(search_ns), "top10": top10}


def _child_tantivy(spec: dict[str, Any]) -> dict[str, Any]:
    import tantivy

    passages = _read_lines(Path(spec["terms"]))
    with open(spec["queries"], encoding="utf-8") as f:
        queries = json.load(f)[: spec.get("sample") or None]
    path = Path(spec["index"])
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", tokenizer_name="whitespace", index_option="freq")
    builder.add_integer_field("pid", stored=True)
    schema = builder.build()
    began = time.perf_counter()
    index = tantivy.Index(schema, path=str(path))
    writer = index.writer(heap_size=256_000_000)
    for i, text in enumerate(passages):
        writer.add_document(tantivy.Document(body=text, pid=i))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    build_s = time.perf_counter() - began
    peak = _peak_rss_bytes()
    del passages
    gc.collect()
    should = tantivy.Occur.Should

    def search(terms: list[str]) -> Any:
        query = tantivy.Query.boolean_query(
            [(should, tantivy.Query.term_query(schema, "body", t, index_option="freq"))
             for t in terms]
        )
        return searcher.search(query, 10, count=False).hits

    search_ns, hits = _timed(search, queries)
    top10 = [[searcher.doc(address)["pid"][0] for _, address in found] for found in hits]
    return {"build_s": build_s, "build_peak_rss_bytes": peak, "index_bytes": _dir_bytes(path),
            "serve_rss_bytes": _rss_bytes(), "search_ms": _percentiles(search_ns), "top10": top10,
            "index_threads": "tantivy default (one per core, up to 8)"}


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "newsbot-build": _child_newsbot_build,
    "newsbot-serve": _child_newsbot_serve,
    "newsbot-refresh": _child_newsbot_refresh,
    "rank_bm25": _child_rank_bm25,
    "bm25s": _child_bm25s,
    "tantivy": _child_tantivy,
}


def _run_child(role: str, spec: dict[str, Any], work: Path) -> dict[str, Any]:
    """Run one measurement in a fresh Python process; return its result or {"error": ...}."""
    spec_path = work / f"{role}.spec.json"
    out_path = work / f"{role}.result.json"
    out_path.unlink(missing_ok=True)
    spec_path.write_text(json.dumps({**spec, "result": str(out_path)}), encoding="utf-8")
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    began = time.perf_counter()
    log_path = work / f"{role}.log"
    with log_path.open("w", encoding="utf-8") as log, subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_search", "--child", role, str(spec_path)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    ) as child:
        tree_peak = _watch_tree(child)
    output = log_path.read_text(encoding="utf-8", errors="replace")
    proc = subprocess.CompletedProcess(child.args, child.returncode, output, output)
    wall = time.perf_counter() - began
    if proc.returncode != 0 or not out_path.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        print(f"  {role}: FAILED (exit {proc.returncode}): {' | '.join(tail)}", flush=True)
        return {"error": "\n".join(tail), "exit": proc.returncode}
    result = json.loads(out_path.read_text(encoding="utf-8"))
    result[f"{role.replace('newsbot-', '')}_child_wall_s"] = wall
    for kind, peak in tree_peak.items():
        result[f"{role.replace('newsbot-', '')}_tree_peak_{kind}_bytes"] = peak
    return result


def _watch_tree(child: subprocess.Popen[str]) -> dict[str, int]:
    """The largest memory a child and its descendants (forked workers) took together, sampled.

    Sampled every 50 ms from this process, so that the child runs no thread of its own
    (a build forks its workers only from a single-threaded process). Two sums: of RSS, where
    pages a forked worker shares with its parent count in both (an upper bound), and of PSS,
    where a shared page is split between the processes sharing it (what the tree takes).
    """
    import psutil

    peak = {"rss": 0, "pss": 0}
    try:
        root = psutil.Process(child.pid)
    except psutil.Error:
        return peak
    while child.poll() is None:
        rss = pss = 0
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            procs = []
        for proc in procs:
            try:
                full = proc.memory_full_info()
            except psutil.Error:
                continue
            rss, pss = rss + full.rss, pss + getattr(full, "pss", full.rss)
        peak = {"rss": max(peak["rss"], rss), "pss": max(peak["pss"], pss)}
        time.sleep(0.05)
    return peak


def _child_main(role: str, spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    result = CHILDREN[role](spec)
    Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


# -- the run --------------------------------------------------------------------------------


def _lookup(record: dict[str, Any], path: str) -> float | None:
    value: Any = record
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _check_targets(size: int, engines: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    checks = []
    for at, engine, metric, op, limit, unit, origin in TARGETS:
        if at != size:
            continue
        measured = _lookup(engines.get(engine, {}), metric)
        passed = None
        if measured is not None:
            passed = measured <= limit if op == "<=" else measured >= limit
        checks.append({"engine": engine, "metric": metric, "op": op, "limit": limit, "unit": unit,
                       "from": origin, "measured": measured, "pass": passed})
    return checks


def _overlap(a: list[list[int]], b: list[list[int]]) -> float | None:
    pairs = [(x, y) for x, y in zip(a, b, strict=False) if x]
    if not pairs:
        return None
    return sum(len(set(x) & set(y)) / len(x) for x, y in pairs) / len(pairs)


def _prepare(size: int, args: argparse.Namespace, work: Path) -> tuple[Path, Path, dict[str, Any]]:
    """Write (or reuse, when the seed, size and generator are the same) a corpus and questions."""
    import hashlib

    from benchmarks import newslike

    generator = hashlib.sha256(Path(newslike.__file__).read_bytes()).hexdigest()[:12]
    folder = work / f"seed{args.seed}-n{size}"
    # The corpus is a folder holding the one .jsonl file, so that the refresh step can add an
    # article file beside it; the index and everything else stay outside that folder.
    (folder / "corpus").mkdir(parents=True, exist_ok=True)
    corpus, questions = folder / "corpus" / "corpus.jsonl", folder / "questions.txt"
    shutil.rmtree(folder / "corpus" / "updates", ignore_errors=True)  # an interrupted refresh step
    meta_path = folder / "meta.json"
    wanted = {"seed": args.seed, "size": size, "queries": args.queries, "generator": generator}
    if meta_path.exists() and corpus.exists() and questions.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if {k: meta.get(k) for k in wanted} == wanted:
            print(f"  corpus: reusing {corpus}", flush=True)
            return corpus, questions, meta
    info = newslike.write_corpus(corpus, passages=size, seed=args.seed)
    asked = newslike.make_questions(corpus, count=args.queries, seed=args.seed)
    lines = "".join(q.question.replace("\n", " ") + "\n" for q in asked)
    questions.write_text(lines, encoding="utf-8")
    kinds: dict[str, int] = {}
    for q in asked:
        kinds[q.kind] = kinds.get(q.kind, 0) + 1
    meta = {**wanted, "articles": info.articles, "sentences": info.sentences, "words": info.words,
            "passages_planned": info.passages, "generate_s": info.seconds,
            "corpus_bytes": corpus.stat().st_size, "question_kinds": kinds,
            "question_examples": [q.question for q in asked[:5]]}
    meta_path.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    print(f"  corpus: {info.articles:,} articles, {info.sentences:,} sentences, "
          f"{info.words:,} words written in {info.seconds:.1f} s", flush=True)
    return corpus, questions, meta


def _bench_size(size: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from retrieval.settings import Settings

    print(f"\n== {size:,} passages ==", flush=True)
    corpus_file, questions, meta = _prepare(size, args, work)
    corpus = corpus_file.parent
    folder = corpus.parent
    bm25 = Settings().bm25
    engines: dict[str, dict[str, Any]] = {}
    terms, queries = folder / "passage_terms.txt", folder / "question_terms.json"
    others = [e for e in args.engines if e != "newsbot"]
    if "newsbot" in args.engines or others:
        index = folder / "index-newsbot"
        print("  newsbot: building the index in a child process ...", flush=True)
        build = _run_child("newsbot-build", {"corpus": str(corpus), "index": str(index)}, folder)
        if args.profile and "error" not in build:
            # A second build under cProfile, so that the timed one runs at full speed.
            profile = Path(args.out).with_suffix(f".n{size}.build-profile.txt")
            print(f"  newsbot: building again under cProfile -> {profile}", flush=True)
            spec = {"corpus": str(corpus), "index": str(folder / "index-profiled"),
                    "profile": str(profile)}
            build["profiled_build_s"] = _run_child("newsbot-build", spec, folder).get("build_s")
            shutil.rmtree(folder / "index-profiled", ignore_errors=True)
        serve: dict[str, Any] = {}
        if "error" not in build:
            print(f"  newsbot: built in {build['build_s']:.1f} s; reloading and serving "
                  f"{args.queries} questions in a fresh child ...", flush=True)
            serve = _run_child("newsbot-serve", {
                "corpus": str(corpus), "index": str(index), "questions": str(questions),
                "terms_out": str(terms) if others else "", "queries_out": str(queries),
            }, folder)
            if serve.get("reload_rewrote_index"):
                print("  WARNING: the reload rewrote the index: it was not recognised as fresh",
                      flush=True)
        refresh: dict[str, Any] = {}
        if "error" not in build and "error" not in serve:
            print("  newsbot: adding, changing and removing an article file, refreshing each "
                  "time, in a fresh child ...", flush=True)
            profile = Path(args.out).with_suffix(f".n{size}.refresh-profile.txt")
            refresh = _run_child("newsbot-refresh", {
                "corpus": str(corpus), "index": str(index), "target_s": REFRESH_TARGET_S,
                "profile": str(profile), "always_profile": args.profile,
            }, folder)
        engines["newsbot"] = {**build, **serve, "refresh": refresh}
        if not args.keep_indexes:
            shutil.rmtree(index, ignore_errors=True)
    for name in others:
        if not terms.exists():
            engines[name] = {"error": "no analysed passages: the newsbot serve step failed"}
            continue
        sample = 0
        if name == "rank_bm25":
            sample = args.rank_bm25_sample or (0 if size <= 100_000 else 50)
        asked = min(sample or args.queries, args.queries)
        note = f" (a sample of {asked} of the {args.queries} questions)" if sample else ""
        print(f"  {name}: building and searching {asked} questions{note} ...", flush=True)
        spec = {"terms": str(terms), "queries": str(queries), "sample": sample,
                "index": str(folder / f"index-{name}"), "k1": bm25.k1, "b": bm25.b}
        result = _run_child(name, spec, folder)
        result["queries_sampled"] = asked
        result["sample"] = bool(sample) and asked < args.queries
        engines[name] = result
        shutil.rmtree(folder / f"index-{name}", ignore_errors=True)
    base = engines.get("newsbot", {})
    for name in others:
        other = engines[name]
        ours, theirs = _lookup(base, "search_ms.p50"), _lookup(other, "search_ms.p50")
        if ours and theirs:
            # A sampled engine answered the first n questions: compare with newsbot on those.
            n = other["search_ms"]["n"]
            if n < len(base.get("search_ns", ())):
                ours = _percentiles(base["search_ns"][:n])["p50"]
                other["newsbot_p50_same_questions_ms"] = ours
            other["speedup_p50"] = theirs / ours
        if "top10" in base and "top10" in other:
            other["top10_overlap"] = _overlap(base["top10"], other["top10"])
    for record in engines.values():
        record.pop("top10", None)
        record.pop("search_ns", None)
    if not args.keep_work:
        terms.unlink(missing_ok=True)
    return {"target_passages": size, "corpus": meta, "questions": args.queries,
            "bm25": {"variant": bm25.variant, "k1": bm25.k1, "b": bm25.b},
            "engines": engines, "targets": _check_targets(size, engines)}


# -- printing ---------------------------------------------------------------------------------


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "bytes":
        return f"{value / MiB:,.0f} MiB"
    if unit == "x":
        return f"{value:,.0f}x"
    if unit == "ms":
        return f"{value:.2f} ms" if value < 100 else f"{value:,.0f} ms"
    return f"{value:.2f} s"


def _cell(record: dict[str, Any], path: str, unit: str) -> str:
    text = _fmt(_lookup(record, path), unit)
    return text.replace(" MiB", "").replace(" ms", "").replace(" s", "")


def _versus(speedup: float | None) -> str:
    if not speedup:
        return ""
    return f"{speedup:,.1f}x slower" if speedup >= 1 else f"{1 / speedup:,.1f}x faster"


def _print_refresh(refresh: dict[str, Any]) -> None:
    if not refresh:
        return
    if "error" in refresh:
        print(f"newsbot refresh: error: {refresh['error'].splitlines()[-1][:100]}")
        return
    print(f"newsbot refresh (a new article file answerable within {REFRESH_TARGET_S:.0f} s; "
          f"opened in {refresh['open_s']:.2f} s, a refresh with nothing changed "
          f"{refresh['noop_refresh_s']:.2f} s):")
    checks = {
        "add": ("quotes the new article", refresh["add"].get("quotes_new_article")),
        "change": ("new version quoted, old one nowhere", refresh["change"].get("ok")),
        "remove": ("gone from answers and postings", refresh["remove"].get("ok")),
    }
    for step in REFRESH_STEPS:
        r = refresh[step]
        mark = "PASS" if r["reflected_s"] <= REFRESH_TARGET_S else "FAIL"
        what, good = checks[step]
        print(f"  {mark}  {step:<7} refresh {r['refresh_s']:6.3f} s + answer "
              f"{r['answer_ms']:6.1f} ms = {r['reflected_s']:6.3f} s   target <= "
              f"{REFRESH_TARGET_S:.0f} s;  {what}: {'yes' if good else 'NO'}")
    for key, what in (("jsonl_append", "a line appended to the .jsonl file, quoted"),
                      ("jsonl_restore", "the file put back (a rewrite), line gone")):
        if key in refresh:
            r = refresh[key]
            mark = "PASS" if r["reflected_s"] <= REFRESH_TARGET_S else "FAIL"
            if key == "jsonl_restore":
                mark = "    "
            print(f"  {mark}  {key:<14} refresh {r['refresh_s']:6.3f} s + answer {r['answer_ms']:6.1f} ms = "
                  f"{r['reflected_s']:6.3f} s; {what}: {'yes' if r['ok'] else 'NO'}")
    if not refresh.get("made_up_words_unseen", True):
        print(f"  WARNING: the made-up words were already in the corpus: {refresh['df_before']}")
    if "profile" in refresh:
        prof = refresh["profile"]
        print(f"  cProfile of the refresh steps (listing: {prof['file']}):")
        for step in REFRESH_STEPS:
            rows = [row for row in prof[step]
                    if not row["function"].endswith(("(refresh)", "(_refresh)"))]
            top = ", ".join(f"{row['function'].split('(')[-1].rstrip(')')} "
                            f"{row['cumulative_s']:.2f}" for row in rows[:6])
            print(f"    {step}: {prof['refresh_s_under_profile'][step]:.2f} s profiled; {top}")
    print(f"  compaction: {refresh['compaction']}")


def print_size(result: dict[str, Any]) -> None:
    """Print one size's table and its targets."""
    engines = result["engines"]
    nb = engines.get("newsbot", {})
    meta = result["corpus"]
    print(f"\n{nb.get('passages', result['target_passages']):,} passages "
          f"({meta['articles']:,} articles, {meta['words']:,} words, "
          f"{nb.get('terms', 0):,} terms), {result['questions']:,} questions")
    head = (f"{'engine':<22}{'build s':>9}{'index MiB':>11}{'build RSS':>11}{'reload s':>10}"
            f"{'serve RSS':>11}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
            f"{'p50 vs newsbot':>16}{'top10':>7}")
    print(head)
    print("-" * len(head))
    rows = []
    if "newsbot" in engines:
        rows.append(("newsbot search", nb, "search_ms"))
        rows.append(("newsbot answer", nb, "answer_ms"))
    for name in ENGINES[1:]:
        if name in engines:
            r = engines[name]
            label = name + (f" ({r.get('queries_sampled')} q)" if r.get("sample") else "")
            rows.append((label, r, "search_ms"))
    for label, r, lat in rows:
        if "error" in r:
            print(f"{label:<22}  error: {r['error'].splitlines()[-1][:80]}")
            continue
        first = lat == "search_ms"
        speed = r.get("speedup_p50")
        overlap = r.get("top10_overlap")
        print(f"{label:<22}"
              f"{_cell(r, 'build_s', 's') if first else '':>9}"
              f"{_cell(r, 'index_bytes', 'bytes') if first else '':>11}"
              f"{_cell(r, 'build_peak_rss_bytes', 'bytes') if first else '':>11}"
              f"{_cell(r, 'reload_s', 's') if first else '':>10}"
              f"{_cell(r, 'serve_rss_bytes', 'bytes') if first else '':>11}"
              f"{_cell(r, lat + '.p50', 'ms'):>9}{_cell(r, lat + '.p95', 'ms'):>9}"
              f"{_cell(r, lat + '.p99', 'ms'):>9}"
              f"{_versus(speed):>16}"
              f"{(f'{overlap:.2f}' if overlap is not None else ''):>7}")
    if "build_tree_peak_pss_bytes" in nb:
        print(f"newsbot build peak {nb['build_peak_rss_bytes'] / MiB:,.0f} MiB in the building process, "
              f"{nb['build_tree_peak_pss_bytes'] / MiB:,.0f} MiB with its analysis workers (PSS, "
              f"sampled); {nb.get('build_cpu_s', 0):.1f} s of CPU")
    if "serve_rss_anon_bytes" in nb:
        print(f"newsbot serving RSS {nb['serve_rss_bytes'] / MiB:,.0f} MiB = "
              f"{nb['serve_rss_anon_bytes'] / MiB:,.0f} MiB heap + "
              f"{nb.get('serve_rss_file_bytes', 0) / MiB:,.0f} MiB of mapped files "
              f"(page cache, shared and reclaimable)")
    if "speller_ready_s" in nb:
        print(f"newsbot speller (built in the background from the open on) ready "
              f"{nb['speller_ready_s']:.2f} s after the open began")
    if nb.get("index_files"):
        files = list(nb["index_files"].items())
        shown = ", ".join(f"{name.removesuffix('.npy')} {size / MiB:,.1f}" for name, size in files[:8])
        rest = sum(size for _, size in files[8:])
        print(f"newsbot index MiB by file (all segments): {shown}, the other {len(files) - 8} {rest / MiB:,.1f}")
    if nb.get("first_search_ms") is not None:
        print(f"newsbot first search (loading the compiled search loop): {nb['first_search_ms']:,.0f} ms")
    _print_refresh(nb.get("refresh") or {})
    if result["targets"]:
        print("targets:")
        for t in result["targets"]:
            mark = {True: "PASS", False: "FAIL", None: "n/a "}[t["pass"]]
            limit = _fmt(t["limit"], t["unit"])
            print(f"  {mark}  {t['engine']} {t['metric']:<33} {_fmt(t['measured'], t['unit']):>12}"
                  f"   target {t['op']} {limit}  ({t['from']})")
    sampled = [f"{n} answered {r['queries_sampled']} of {result['questions']} questions"
               for n, r in engines.items() if r.get("sample")]
    if sampled:
        print("note: " + "; ".join(sampled) + " (a sample; its ratio compares the same questions)")


def _machine() -> dict[str, Any]:
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        memory = 0
    return {"cpus": os.cpu_count(), "memory_bytes": memory, "python": platform.python_version(),
            "platform": platform.platform(), "processor": platform.processor()}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_search",
        description="Time newsbot's index beside rank_bm25, bm25s and tantivy on news-like text.",
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000], metavar="PASSAGES",
                        help="corpus sizes in passages (default: 100000)")
    parser.add_argument("--queries", type=int, default=1000,
                        help="questions per size (default: 1000)")
    parser.add_argument("--seed", type=int, default=7,
                        help="seed of corpus and questions (default: 7)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench.json"),
                        help="JSON results file (default: benchmarks/results/bench.json)")
    parser.add_argument("--work", help="folder for corpora and indexes, kept and reused "
                                       "(default: a temporary folder, removed at the end)")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES),
                        help="engines to run (default: all)")
    parser.add_argument("--rank-bm25-sample", type=int, default=0, metavar="N",
                        help="questions for rank_bm25 "
                             "(default: all up to 100000 passages, 50 above)")
    parser.add_argument("--profile", action="store_true",
                        help="write a cProfile listing of each newsbot build next to --out")
    parser.add_argument("--keep-indexes", action="store_true",
                        help="keep newsbot's index in --work")
    args = parser.parse_args(argv)
    for name in ("queries", "rank_bm25_sample"):
        if getattr(args, name) < 0 or (name == "queries" and args.queries < 1):
            parser.error(f"--{name.replace('_', '-')}: expected a positive integer")
    if any(s < 10 for s in args.sizes):
        parser.error("--sizes: expected passage counts of at least 10")
    args.keep_work = bool(args.work)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table per size and write the JSON results."""
    args = parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="newsbot-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "benchmark": "benchmarks.bench_search", "format": FORMAT_VERSION,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": _machine(), "seed": args.seed, "queries": args.queries,
        "engines": args.engines, "sizes": [],
    }
    try:
        for size in args.sizes:
            result = _bench_size(size, args, work)
            report["sizes"].append(result)
            report["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            out.write_text(json.dumps(report, indent=1), encoding="utf-8")
            print_size(result)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        sys.exit(_child_main(sys.argv[2], sys.argv[3]))
    sys.exit(main())
