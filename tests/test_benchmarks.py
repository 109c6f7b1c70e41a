"""The speed benchmark runs end to end at a toy size; its numbers are not judged."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import newslike  # noqa: E402

LATENCY_KEYS = {"n", "p50", "p95", "p99", "mean", "max"}


def test_the_same_seed_writes_the_same_corpus_and_questions(tmp_path: Path) -> None:
    first = newslike.write_corpus(tmp_path / "a.jsonl", passages=200, seed=3)
    second = newslike.write_corpus(tmp_path / "b.jsonl", passages=200, seed=3)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert (first.articles, first.passages) == (second.articles, second.passages)
    asked = newslike.make_questions(tmp_path / "a.jsonl", count=5, seed=3)
    assert asked == newslike.make_questions(tmp_path / "b.jsonl", count=5, seed=3)


def test_a_corpus_line_is_an_article_in_the_jsonl_format_of_the_design(tmp_path: Path) -> None:
    newslike.write_corpus(tmp_path / "c.jsonl", passages=50, seed=1)
    lines = (tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines()
    article = json.loads(lines[0])
    assert set(article) == {"id", "title", "source", "url", "published", "text"}
    assert all(isinstance(value, str) and value for value in article.values())


def test_the_update_article_is_a_txt_article_whose_two_versions_differ() -> None:
    first, second = newslike.update_article(1), newslike.update_article(2)
    for version in (first, second):
        headline, blank, body = version.text.split("\n", 2)
        assert headline and not blank and version.sentence in body
        assert version.marker in body and version.name in body and version.question
    assert first.marker not in second.text and second.marker not in first.text


def test_every_question_comes_from_a_sentence_of_its_article(tmp_path: Path) -> None:
    newslike.write_corpus(tmp_path / "c.jsonl", passages=300, seed=2)
    texts = {}
    for line in (tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines():
        article = json.loads(line)
        texts[article["id"]] = article["text"]
    for question in newslike.make_questions(tmp_path / "c.jsonl", count=30, seed=2):
        assert question.sentence in texts[question.article_id]
        assert question.question


def test_the_benchmark_writes_every_measure_for_every_engine(tmp_path: Path) -> None:
    engines = ["newsbot", "rank_bm25"]
    engines += [name for name in ("bm25s", "tantivy") if importlib.util.find_spec(name)]
    out = tmp_path / "bench.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_search", "--sizes", "300", "--queries", "20",
         "--out", str(out), "--work", str(tmp_path / "work"), "--engines", *engines],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    report = json.loads(out.read_text(encoding="utf-8"))
    assert {"machine", "seed", "queries", "sizes"} <= set(report)
    [size] = report["sizes"]
    assert size["target_passages"] == 300
    assert set(size["engines"]) == set(engines)
    assert size["targets"] == []
    newsbot = size["engines"]["newsbot"]
    assert "error" not in newsbot
    assert {"build_s", "index_bytes", "build_peak_rss_bytes", "reload_s", "serve_rss_bytes",
            "search_ms", "answer_ms", "passages"} <= set(newsbot)
    assert newsbot["reload_rewrote_index"] is False
    assert set(newsbot["search_ms"]) == LATENCY_KEYS == set(newsbot["answer_ms"])
    assert newsbot["search_ms"]["n"] == 20
    refresh = newsbot["refresh"]
    assert "error" not in refresh
    assert refresh["made_up_words_unseen"] and refresh["noop_changed"] is False
    for step in ("add", "change", "remove"):
        assert refresh[step]["changed"] is True
        assert refresh[step]["refresh_s"] > 0
        assert refresh[step]["reflected_s"] >= refresh[step]["refresh_s"]
    assert refresh["add"]["quotes_new_article"] and refresh["add"]["segments"] == 2
    assert refresh["change"]["quotes_new_version"] and not refresh["change"]["quotes_old_version"]
    assert refresh["remove"]["answers"] == [[], []] and refresh["remove"]["segments"] == 1
    assert refresh["remove"]["passages"] == newsbot["passages"]
    assert refresh["jsonl_append"]["quotes_new_article"] and refresh["jsonl_append"]["segments"] == 2
    assert refresh["jsonl_restore"]["ok"] and refresh["jsonl_restore"]["segments"] == 1
    assert refresh["ok"] is True
    assert not (tmp_path / "work" / "seed7-n300" / "corpus" / "updates").exists()
    for name in engines[1:]:
        other = size["engines"][name]
        assert "error" not in other
        assert set(other["search_ms"]) == LATENCY_KEYS
        assert other["speedup_p50"] > 0
        assert 0 <= other["top10_overlap"] <= 1


def test_the_load_script_answers_every_chat_while_one_search_is_held(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.load_bot", "--questions", "8", "--passages", "300",
         "--slow", "0.5", "--work", str(tmp_path), "--out", str(out)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["errors_logged"] == []
    for run in ("with_rate_limiter", "without_rate_limiter"):
        result = report[run]
        assert (result["questions"], result["answered"], result["missing"]) == (8, 8, 0)
        assert result["refused_by_fake_api"] == 0
        assert all(result["checks"].values())
        assert set(result["latency_ms"]) == {"n", "p50", "p95", "p99", "max"}


def test_the_limits_script_times_the_three_dialogs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bot_limits", "--limiters", "FloodControl"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "FloodControl:"
    assert lines[1].startswith("  flood: a private answer while a group waits out 20 s came after ")
    assert lines[2].startswith("  burst: the last of 15 /ask in one group was answered after ")
    assert lines[-1].startswith("  stopping with a reply in its retry loop took ")


def test_the_integrity_benchmark_runs_end_to_end_at_a_toy_size(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_integrity", "--passages", "300", "--queries", "5", "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split("  ")[0] for line in result.stdout.splitlines()[-4:]]
    assert rows == ["no checks", "default", "all at open", "default + verify()"]


def test_the_damage_trials_run_at_a_toy_size_and_find_nothing_wrong() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.damage_trials", "--trials", "12", "--passages", "200", "--questions", "5"]
        + ["--lazy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    tally = json.loads(result.stdout)
    assert (tally["crashes"], tally["wrong"], tally["right"] + tally["errors"]) == (0, 0, 60)


def test_the_analysis_benchmark_builds_the_same_segment_both_ways_at_a_toy_size(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_analyse", "--passages", "300", "--repeat", "1"]
        + ["--work", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[1:3]] == ["regex", "compiled"]
    assert lines[-1] == "same segment, array by array: yes"


def test_the_merge_benchmark_runs_end_to_end_at_a_toy_size(tmp_path: Path) -> None:
    topics = ["harbour", "council", "budget", "storm", "railway", "festival", "election", "drought"]
    lines = [
        json.dumps({"id": f"n{i}", "title": f"The {topics[i % 8]} report {i}", "text": " ".join(
            f"The {topics[(i + j) % 8]} story number {i * 10 + j} came on day {j + 1}." for j in range(6)
        )})
        for i in range(40)
    ]
    (tmp_path / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_merge", str(tmp_path), "--batches", "3", "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0].startswith("3 batches, ")
    rows = [line[:26].strip() for line in out[-4:]]
    assert rows == ["merge", "merge, records in line", "postings read per run", "postings read per term"]


def test_the_bookkeeping_benchmark_measures_both_forms_at_a_toy_size() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_bookkeeping", "--articles", "3000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert [row[0] for row in rows] == ["tuples", "compact"]
    assert float(rows[1][3]) < float(rows[0][3])  # bytes an article
