"""The `newsbot` command: every subcommand has help; bad input is one clear line, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import __version__
from bot.cli import ask_json, build_parser, format_size, main
from retrieval.engine import Engine
from retrieval.models import Answer

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "usa-only-zelensky-can-decide-negotiations.txt"
COMMANDS = ["ask", "chat", "index", "sources", "eval", "fetch", "feeds", "run"]


def newsbot(
    *args: str, stdin: str = "", cwd: Path = ROOT, environ: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # No config of the machine's user leaks in: their config folder is one that does not exist.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(ROOT / "tests" / "no-such-folder")}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.pop("NEWSBOT_CONFIG", None)
    env.update(environ or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def write_config(tmp_path: Path, corpus: Path, extra: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"corpus: {corpus}\nindex_dir: {tmp_path / 'index'}\n{extra}")
    return path


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    assert sorted(parser._subparsers._group_actions[0].choices) == sorted(COMMANDS)  # type: ignore[union-attr]
    for command in COMMANDS:
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: newsbot {command}") and "--corpus" in out and "--config" in out


def test_ask_quotes_the_answer_with_its_source(corpus_dir: Path, tmp_path: Path) -> None:
    result = newsbot("ask", "who decides on negotiations", "--config", str(write_config(tmp_path, corpus_dir)))
    assert result.returncode == 0, result.stderr
    assert "*Zelensky*" not in result.stdout  # only question words are marked
    assert "*negotiations*" in result.stdout
    assert "— RES-MPE · USA: Only Zelensky can decide to start negotiations with Russia" in result.stdout


def test_ask_says_when_it_found_nothing(corpus_dir: Path, tmp_path: Path) -> None:
    result = newsbot("ask", "what is the capital of Australia", "--config", str(write_config(tmp_path, corpus_dir)))
    assert result.returncode == 0
    assert result.stdout.startswith("I found nothing on that in the 4 articles I know.")


def test_ask_json_prints_one_object(corpus_dir: Path, tmp_path: Path) -> None:
    result = newsbot(
        "ask",
        "--json",
        "--at",
        "2024-03-08",
        "How much will the bridge repairs cost?",
        "--config",
        str(write_config(tmp_path, corpus_dir)),
    )
    data = json.loads(result.stdout)
    assert data["question"] == "How much will the bridge repairs cost?"
    assert data["asked_at"] == "2024-03-08T23:59:59.999999+00:00"
    assert data["answered"] is True
    first = dict(data["sentences"][0])
    score = first.pop("score")
    assert isinstance(score, float) and score > 0
    assert first == {
        "text": "Mayor Ellen Park said the repairs would cost $4.5 million.",
        "article_id": "harbour-bridge",
        "title": "Harbour bridge to close for repairs",
        "source": "Coast Gazette",
        "url": "https://example.org/harbour-bridge",
        "published": "2024-03-05",
        "also_reported_by": [],
        "age_days": 3,
    }


def test_ask_json_answers_stdin_line_by_line_in_order(corpus_dir: Path, tmp_path: Path) -> None:
    questions = ["who decides on negotiations", "", "capital of Australia", "tea prices"]
    result = newsbot(
        "ask",
        "--json",
        "--at",
        "2023-11-03",
        "--config",
        str(write_config(tmp_path, corpus_dir)),
        stdin="\n".join(questions) + "\n",
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in rows] == questions
    assert [r["answered"] for r in rows] == [True, False, False, True]


def test_ask_json_reads_stdin_objects_with_the_moment_asked(corpus_dir: Path, tmp_path: Path) -> None:
    lines = [
        '{"question": "tea prices Kolkata", "asked_at": "2023-10-01"}',
        '{"question": "tea prices Kolkata", "asked_at": "2023-11-05T08:00:00"}',
        "tea prices Kolkata",
        '{"question": "tea prices", "asked_at": "next week"}',
        '{"asked_at": "2023-10-01"}',
    ]
    config = str(write_config(tmp_path, corpus_dir))
    result = newsbot("ask", "--json", "--at", "2023-11-20", "--config", config, stdin="\n".join(lines) + "\n")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r.get("asked_at", "")[:10], r.get("answered")) for r in rows] == [
        ("2023-10-01", False),
        ("2023-11-05", True),
        ("2023-11-20", True),
        ("", None),
        ("", None),
    ]
    assert rows[1]["sentences"][0]["age_days"] == 3
    assert "ISO date" in rows[3]["error"] and "question" in rows[4]["error"]


def test_ask_at_rejects_a_date_it_cannot_read(corpus_dir: Path, tmp_path: Path) -> None:
    result = newsbot("ask", "--at", "tomorrow", "tea", "--config", str(write_config(tmp_path, corpus_dir)))
    assert result.returncode == 2
    assert result.stderr.startswith("newsbot: error: --at: expected an ISO date")


def test_corpus_option_takes_a_jsonl_file(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text('{"id": "x", "title": "Storm", "source": "S", "text": "A storm hit Lisbon on Monday."}\n')
    cache = tmp_path / "cache"
    result = newsbot(
        "ask", "--json", "storm Lisbon", "--corpus", str(path), cwd=tmp_path, environ={"XDG_CACHE_HOME": str(cache)}
    )
    assert json.loads(result.stdout)["sentences"][0]["text"] == "A storm hit Lisbon on Monday."
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [".index-corpora"]
    assert [p.name.startswith("one-") for p in (tmp_path / ".index-corpora").iterdir()] == [True]
    assert not cache.exists()


def test_index_describes_what_it_built(corpus_dir: Path, tmp_path: Path) -> None:
    result = newsbot("index", "--config", str(write_config(tmp_path, corpus_dir)))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["articles        4", "passages        8"]
    assert lines[2].startswith("distinct terms  ") and int(lines[2].split()[-1]) > 0
    assert lines[4].startswith("index size      ") and lines[4].endswith(f"KiB in {tmp_path / 'index'}")


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1023 bytes"),
        (1024, "1.0 KiB"),
        (14_067, "13.7 KiB"),
        (83_000_000, "79.2 MiB"),
        (5 * 1024**3, "5.0 GiB"),
        (3 * 1024**5, "3072.0 TiB"),
    ],
)
def test_sizes_read_as_people_read_them(size: int, text: str) -> None:
    assert format_size(size) == text


def test_sources_lists_each_outlet_with_its_articles_and_dates(corpus_dir: Path, tmp_path: Path) -> None:
    (corpus_dir / "more.jsonl").write_text(
        '{"id": "w2", "title": "Rice", "source": "Wire", "published": "2023-12-24", "text": "Rice prices fell."}\n'
        '{"id": "n1", "title": "Untold", "text": "Nobody signed this."}\n'
    )
    result = newsbot("sources", "--config", str(write_config(tmp_path, corpus_dir)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "outlet         articles  from        to",
        "Wire                  2  2023-11-02  2023-12-24",
        "(no outlet)           1",
        "Board Review          1",
        "Coast Gazette         1  2024-03-05  2024-03-05",
        "RES-MPE               1",
        "all                   6  2023-11-02  2024-03-05",
    ]


def test_the_config_is_found_in_the_environment_then_here_then_in_the_user_folder(
    corpus_dir: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    named, here, user = (tmp_path / name for name in ("named", "here", "user"))
    for folder, corpus in ((named, "named-corpus"), (here, "here-corpus"), (user / "newsbot", "user-corpus")):
        folder.mkdir(parents=True)
        (folder / "config.yaml").write_text(f"corpus: {corpus}\nindex_dir: index\n")
    environ = {"XDG_CONFIG_HOME": str(user), "NEWSBOT_CONFIG": str(named / "config.yaml")}

    def corpus_line(cwd: Path, environ: dict[str, str]) -> str:
        return newsbot("ask", "x", cwd=cwd, environ=environ).stderr.strip()

    # Relative paths are taken from the config file's folder, whatever the current folder.
    assert corpus_line(elsewhere, environ) == (
        f"newsbot: error: corpus not found: {named / 'named-corpus'}; config: {named / 'config.yaml'}"
    )
    del environ["NEWSBOT_CONFIG"]
    assert corpus_line(here, environ).startswith(f"newsbot: error: corpus not found: {here / 'here-corpus'};")
    assert corpus_line(elsewhere, environ).startswith(
        f"newsbot: error: corpus not found: {user / 'newsbot' / 'user-corpus'};"
    )
    assert corpus_line(elsewhere, {}) == (
        f"newsbot: error: corpus not found: {elsewhere / 'corpus'}; config: none found (looked for --config, "
        f"$NEWSBOT_CONFIG, ./config.yaml, {ROOT / 'tests/no-such-folder/newsbot/config.yaml'}), defaults apply"
    )
    missing = newsbot("ask", "x", cwd=here, environ={"NEWSBOT_CONFIG": str(tmp_path / "gone.yaml")})
    assert missing.stderr == f"newsbot: error: NEWSBOT_CONFIG={tmp_path / 'gone.yaml'}: no such config file\n"


def test_index_says_which_config_it_used(corpus_dir: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, corpus_dir)
    result = newsbot("index", "--config", str(config))
    assert result.stdout.splitlines()[-1] == f"config          {config}"


def test_corpus_dot_inside_an_article_folder_indexes_it_outside(corpus_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    result = newsbot(
        "ask",
        "--json",
        "--at",
        "2023-11-03",
        "--corpus",
        ".",
        "tea prices",
        cwd=corpus_dir,
        environ={"XDG_CACHE_HOME": str(cache)},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sentences"][0]["article_id"] == "wire-1"
    assert [p.name.startswith("corpus-") for p in cache.joinpath("newsbot", ".index-corpora").iterdir()] == [True]
    assert sorted(p.name for p in corpus_dir.iterdir()) == sorted(
        ["harbour-bridge.md", "chess-final.txt", "wire.jsonl", SAMPLE]
    )


def test_index_reports_a_bad_file_and_indexes_the_rest(corpus_dir: Path, tmp_path: Path) -> None:
    (corpus_dir / "broken.txt").write_bytes(b"Title\n\n\xff\xfe bad bytes\n")
    result = newsbot("index", "--config", str(write_config(tmp_path, corpus_dir)))
    assert result.returncode == 0
    assert "broken.txt" in result.stderr and "UTF-8" in result.stderr
    assert "articles        4" in result.stdout


def test_eval_prints_hit_rates_and_latency(corpus_dir: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"id": "1", "question": "Who won the chess final?", "answers": ["Ana Ruiz"], "split": "dev"}\n'
        '{"id": "2", "question": "How much will the bridge repairs cost?", "answers": ["$4.5 million"], '
        '"split": "dev", "question_date": "2024-03-06"}\n'
        '{"id": "3", "question": "Where were tea traders?", "answers": ["Kolkata"], "split": "test", '
        '"question_date": "2023-11-03"}\n'
    )
    result = newsbot("eval", str(questions), "--split", "dev", "--config", str(write_config(tmp_path, corpus_dir)))
    assert result.returncode == 0, result.stderr
    row = result.stdout.splitlines()[1].split()
    assert row == ["all", "2", "1.000", "1.000", "1.000", "1.000"]
    assert "latency  p50" in result.stdout
    per_question = newsbot("eval", str(questions), "--json", "--config", str(write_config(tmp_path, corpus_dir)))
    assert [json.loads(line)["rank"] for line in per_question.stdout.splitlines()] == [1, 1, 1]


def test_version_prints_the_version() -> None:
    result = newsbot("--version")
    assert (result.returncode, result.stdout) == (0, f"newsbot {__version__}\n")


def test_a_reader_that_stops_early_ends_ask_quietly(corpus_dir: Path, tmp_path: Path) -> None:
    questions = tmp_path / "questions.txt"
    questions.write_text("who decides on negotiations\n" * 400)  # far more answers than a pipe holds
    config = write_config(tmp_path, corpus_dir)
    with questions.open() as stdin:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "ask", "--json", "--config", str(config)],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert process.stdout is not None and process.stderr is not None
        assert json.loads(process.stdout.readline())["answered"] is True
        process.stdout.close()  # as `| head -1` does after its line
        stderr = process.stderr.read()
        assert process.wait(timeout=120) == 141  # 128 + SIGPIPE, what a shell reports for a closed pipe
    assert stderr == b""


def test_eval_asks_each_question_as_of_its_question_date(corpus_dir: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"id": "1", "question": "Why did tea prices rise?", "answers": ["harvest"], "question_date": "2023-10-30"}\n'
        '{"id": "2", "question": "Why did tea prices rise?", "answers": ["harvest"], "question_date": "2023-11-03"}\n'
    )
    result = newsbot("eval", str(questions), "--json", "--config", str(write_config(tmp_path, corpus_dir)))
    assert [json.loads(line)["answered"] for line in result.stdout.splitlines()] == [False, True]
    questions.write_text('{"question": "Why?", "question_date": "someday"}\n')
    result = newsbot("eval", str(questions), "--config", str(write_config(tmp_path, corpus_dir)))
    assert result.returncode == 2 and "q.jsonl:1: question_date: expected an ISO date" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "x", "--corpus", "/no/such/corpus"], "/no/such/corpus"),
        (["ask", "x", "--config", "/no/such/config.yaml"], "/no/such/config.yaml: no such config file"),
        (["ask"], "give a QUESTION"),
        (["eval", "/no/such/questions.jsonl"], "/no/such/questions.jsonl"),
    ],
)
def test_bad_input_is_one_clear_line_and_a_nonzero_exit(args: list[str], message: str, tmp_path: Path) -> None:
    result = newsbot(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("newsbot: error:") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("answers:\n  max_sentences: -3\n", "answers.max_sentences: expected an integer from 1 to 50, got -3"),
        ("bm25:\n  variant: bm26\n", "bm25.variant: expected one of lucene, okapi, bm25+, bm25l, got 'bm26'"),
        ("colour: blue\n", "colour: unknown key"),
        ("answers:\n  sentences: 3\n", "answers.sentences: unknown key"),
        ("passages:\n  size: 2\n  overlap: 2\n", "passages.overlap: expected an integer from 0 to 1"),
        ("corpus: [1, 2\n", "not valid YAML"),
    ],
)
def test_a_bad_config_value_names_its_key(yaml_text: str, message: str, tmp_path: Path, corpus_dir: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"corpus: {corpus_dir}\n" + yaml_text if "corpus:" not in yaml_text else yaml_text)
    result = newsbot("ask", "x", "--config", str(path))
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_chat_answers_each_line_until_an_empty_one(corpus_dir: Path, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, corpus_dir))
    result = newsbot("chat", "--at", "2023-11-03", "--config", config, stdin="tea prices\n\nnever asked\n")
    assert result.returncode == 0
    assert result.stdout.startswith("newsbot: 4 articles.")
    assert "“*Tea* *prices* rose by 12% in October, traders in Kolkata said.”" in result.stdout
    assert "never asked" not in result.stdout


def test_chat_answers_from_files_added_while_it_is_open(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = iter(["storm Lisbon", "storm Lisbon", ""])
    # The first question is asked before the file exists; the second after.
    asked: list[str] = []

    def ask_then_add(prompt: str) -> str:
        line = next(lines)
        if len(asked) == 1:
            (corpus_dir / "storm.txt").write_text("Storm closes port\n\nA storm hit Lisbon on Monday.\n")
        asked.append(line)
        return line

    monkeypatch.setattr("builtins.input", ask_then_add)
    assert main(["chat", "--config", str(write_config(tmp_path, corpus_dir))]) == 0
    out = capsys.readouterr().out.split("\n\n")
    assert out[0].startswith("newsbot: 4 articles.") and "I found nothing on that in the 4 articles" in out[0]
    assert out[1].startswith("newsbot: the corpus changed: now 5 articles.\n“A *storm* hit *Lisbon* on Monday.”")


@pytest.mark.parametrize(("stop", "code"), [(KeyboardInterrupt, 130), (EOFError, 0)])
def test_chat_ends_on_ctrl_c_with_130_and_on_ctrl_d_with_0(
    stop: type[BaseException], code: int, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(prompt: str) -> str:
        raise stop

    monkeypatch.setattr("builtins.input", interrupted)
    assert main(["chat", "--config", str(write_config(tmp_path, corpus_dir))]) == code


def test_eval_runs_on_the_shipped_example_questions(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"corpus: {ROOT / 'corpus'}\nindex_dir: {tmp_path / 'index'}\n")
    questions = ROOT / "examples" / "questions.jsonl"
    result = newsbot("eval", str(questions), "--config", str(config))
    assert result.returncode == 0, result.stderr
    header, everything = result.stdout.splitlines()[:2]
    assert header.split() == ["group", "questions", "hit@1", "hit@3", "MRR@10", "answered"]
    name, count, *rates = everything.split()
    assert (name, count) == ("all", "8") and all(0 <= float(rate) <= 1 for rate in rates)
    rows = [
        json.loads(line)
        for line in newsbot("eval", str(questions), "--json", "--config", str(config)).stdout.splitlines()
    ]
    assert [row["id"] for row in rows] == [f"ex-{n}" for n in range(1, 9)]


def newsbot_bytes(*args: str, stdin: bytes, locale: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LC_ALL": locale, "LANG": locale}
    env.pop("PYTHONIOENCODING", None)
    env.pop("PYTHONUTF8", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, timeout=120, cwd=ROOT, env=env
    )


@pytest.mark.parametrize("locale", ["C.UTF-8", "C"])
def test_ask_json_answers_every_stdin_line_with_valid_utf8_whatever_the_bytes(
    corpus_dir: Path, tmp_path: Path, locale: str
) -> None:
    lines = [
        b"who decides on negotiations",
        b"\xff\xfe bad \xc3 bytes",
        "caf\u00e9 \ud800".encode("utf-8", "surrogatepass"),
        b"tea prices\r",
    ]
    config = str(write_config(tmp_path, corpus_dir))
    stdin = b"\n".join(lines) + b"\n"
    result = newsbot_bytes("ask", "--json", "--at", "2023-11-03", "--config", config, stdin=stdin, locale=locale)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line.decode("utf-8")) for line in result.stdout.splitlines()]
    assert [r["question"] for r in rows] == [
        "who decides on negotiations",
        "\ufffd\ufffd bad \ufffd bytes",
        "caf\u00e9 \ufffd\ufffd\ufffd",
        "tea prices",
    ]
    assert [r["answered"] for r in rows] == [True, False, False, True]


def test_a_question_argument_that_is_not_utf8_is_answered_with_replacement(corpus_dir: Path, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, corpus_dir))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LC_ALL": "C.UTF-8"}
    result = subprocess.run(
        [sys.executable.encode(), b"-m", b"bot.cli", b"ask", b"--json", b"tea \xff prices", b"--config", config],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.decode("utf-8"))["question"] == "tea \ufffd prices"


def test_one_failing_question_is_an_error_line_not_the_end_of_the_batch(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = engine.answer

    def answer(question: str, **kwargs: object) -> Answer:
        if question == "boom":
            raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
        return real(question, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "answer", answer)
    rows = [ask_json(engine, q, asked_at="2023-11-03") for q in ("tea prices", "boom", "who decides on negotiations")]
    assert [r["answered"] for r in rows] == [True, False, True]
    assert rows[1]["error"].startswith("UnicodeDecodeError:")


def test_index_lists_every_recorded_problem_beside_its_count(corpus_dir: Path, tmp_path: Path) -> None:
    (corpus_dir / "empty.txt").write_text("")
    (corpus_dir / "forged\nnewsbot: skipped nothing.txt").write_text("")
    config = str(write_config(tmp_path, corpus_dir))
    newsbot("index", "--config", config)
    again = newsbot("index", "--config", config)  # the problems were recorded by the first run
    assert again.returncode == 0, again.stderr
    assert again.stderr.splitlines() == [
        "newsbot: skipped empty.txt: empty file",
        "newsbot: skipped forged\\nnewsbot: skipped nothing.txt: empty file",
    ]
    assert "skipped         2 problems (listed on stderr)" in again.stdout


def test_corpus_indexes_live_in_one_cache_folder_and_can_be_listed_and_pruned(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"corpus: {tmp_path / 'main'}\nindex_dir: {tmp_path / 'index'}\n")
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.txt").write_text("Storm in Lisbon\n\nA storm hit Lisbon on Monday.\n")
        assert newsbot("ask", "storm", "--corpus", str(tmp_path / name), "--config", str(config)).returncode == 0
    shutil.rmtree(tmp_path / "two")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "index-corpora", "one"]
    listed = newsbot("index", "--list", "--config", str(config)).stdout.splitlines()
    assert len(listed) == 2
    assert listed[0].endswith(f"for {tmp_path / 'one'}")
    assert listed[1].endswith(f"for {tmp_path / 'two'}  (corpus gone)")
    pruned = newsbot("index", "--prune", "--config", str(config))
    assert len(pruned.stdout.splitlines()) == 2
    assert not (tmp_path / "index-corpora").exists()


def test_a_run_that_fails_before_indexing_leaves_no_index_folder_or_lock(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"corpus: {tmp_path / 'missing'}\nindex_dir: {tmp_path / 'index'}\n")
    assert newsbot("ask", "x", "--config", str(config)).returncode == 2
    assert newsbot("ask", "x", "--corpus", str(tmp_path / "gone"), "--config", str(config)).returncode == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


def test_ask_json_over_a_damaged_index_answers_every_line_rightly(
    corpus_dir: Path, tmp_path: Path, damage_quoted_text: Callable[[Path, str], Path]
) -> None:
    config = str(write_config(tmp_path, corpus_dir))
    questions = "who decides on negotiations\ntea prices\nwho won the chess final\n"
    expected = newsbot("ask", "--json", "--at", "2023-11-03", "--config", config, stdin=questions).stdout
    damage_quoted_text(tmp_path / "index", json.loads(expected.splitlines()[0])["sentences"][0]["text"])
    result = newsbot("ask", "--json", "--at", "2023-11-03", "--config", config, stdin=questions)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert result.stdout == expected
    assert result.stderr.startswith("newsbot: warning: index damaged, its articles indexed again: ")
    assert len(result.stderr.splitlines()) == 1
