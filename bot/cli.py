"""The `newsbot` command: ask, chat, index, sources, eval, fetch, feeds and run.

Every command takes `--config PATH` and `--corpus PATH`. Domain errors (a bad config value, a
missing corpus, an unusable questions file) end in one clear line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot import __version__, indexes, textio
from bot.config import CONFIG_VARIABLE, Config, find_config, load_config, parse_config, store_outside, user_config_path
from bot.errors import BotError, CommandError
from bot.evaluate import evaluate, read_questions, run_questions
from bot.terminal import answer_json, format_answer, format_size, format_sources
from retrieval.engine import Engine
from retrieval.errors import CorpusError, RetrievalError
from retrieval.models import RefreshReport
from retrieval.when import parse_asked_at

EXIT_ERROR = 2
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130, as shells report Ctrl-C
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE  # 141, as shells report a closed pipe


def read_config(args: argparse.Namespace) -> Config:
    """Find and load the config file (see `bot.config`) and apply --corpus."""
    path = find_config(args.config, environ=os.environ, cwd=Path.cwd())
    # Without a config file, the defaults apply, relative to the current folder.
    config = parse_config({}, base=Path.cwd()) if path is None else load_config(path)
    if args.corpus:
        corpus = Path(args.corpus).resolve()
        config = dataclasses.replace(config, corpus=corpus, index_dir=indexes.index_for(config.index_dir, corpus))
    return config


def describe_config(config: Config) -> str:
    """Say which config file is in use, or where none was found."""
    if config.file is not None:
        return str(config.file)
    looked = f"--config, ${CONFIG_VARIABLE}, ./config.yaml, {user_config_path(os.environ)}"
    return f"none found (looked for {looked}), defaults apply"


def _progress_bar() -> Callable[[str, int, int], None]:
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(
                total=total, desc=stage, unit="article", file=sys.stderr, leave=False, disable=None
            )
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def open_engine(
    config: Config, *, progress: bool = False, rebuild: bool = False, follow_links: bool = False
) -> Engine:
    """Open (building or updating) the index and report any corpus file problems and warnings."""
    try:
        engine = Engine.open(
            config.corpus,
            config.index_dir,
            config.settings,
            progress=_progress_bar() if progress or sys.stderr.isatty() else None,
            rebuild=rebuild,
            follow_links=follow_links,
        )
    except CorpusError as error:
        raise CommandError(f"{error}; config: {describe_config(config)}") from None
    report(engine.opened)
    return engine


def report(update: RefreshReport) -> None:
    """Print what a refresh skipped and any warning, one line each, on stderr."""
    for problem in update.problems:
        print(f"newsbot: skipped {problem}", file=sys.stderr)
    for warning in update.warnings:
        print(f"newsbot: warning: {warning}", file=sys.stderr)


def repair(engine: Engine) -> RefreshReport | None:
    """Rebuild the segments that failed a checksum while answering, if any; return what that met."""
    if not engine.damaged:
        return None
    print("newsbot: warning: the index is damaged; rebuilding the damaged part", file=sys.stderr)
    update = engine.refresh()
    report(update)
    return update


def read_request(line: str, *, asked_at: str | None = None) -> tuple[str, str | None]:
    """Read one stdin line of `ask --json`: a plain question, or {"question", "asked_at"}.

    Raises ValueError saying what is wrong with a line that is an object but not a usable one.
    """
    text = line.strip()
    if not text.startswith("{"):
        return line.rstrip("\r\n"), asked_at
    try:
        data = json.loads(text)
    except ValueError:
        return line.rstrip("\r\n"), asked_at
    if not isinstance(data, dict) or not isinstance(data.get("question"), str):
        raise ValueError('expected {"question": "...", "asked_at": "YYYY-MM-DD"} with a string question')
    when = data.get("asked_at", asked_at)
    if when is not None:
        if not isinstance(when, str):
            raise ValueError(f"asked_at: expected an ISO date or datetime string, got {when!r}")
        parse_asked_at(when)
    return data["question"], when


def _asked_at(value: str | None) -> str | None:
    if value is not None:
        try:
            parse_asked_at(value)
        except ValueError as error:
            raise CommandError(f"--at: {error}") from None
    return value


# -- commands -------------------------------------------------------------------------


def cmd_ask(args: argparse.Namespace) -> int:
    if not args.question and not args.json:
        raise CommandError("ask: give a QUESTION, or --json to read one question a line from stdin")
    at = _asked_at(args.at)
    engine = open_engine(read_config(args), follow_links=args.follow_links)
    out = sys.stdout.buffer
    if args.question:
        answer = engine.answer(textio.clean(" ".join(args.question)), asked_at=at)
        if args.json:
            textio.write_line(json.dumps(answer_json(answer), ensure_ascii=False), out)
        else:
            textio.write_line(format_answer(answer, tty=sys.stdout.isatty()), out)
    else:
        for line in textio.read_lines(sys.stdin.buffer):
            textio.write_line(json.dumps(ask_json(engine, line, asked_at=at), ensure_ascii=False), out)
    repair(engine)
    return 0


def ask_json(engine: Engine, line: str, *, asked_at: str | None = None) -> dict[str, Any]:
    """Answer one stdin line for `ask --json` (a question, or {"question", "asked_at"}); a
    failure becomes that line's error, never the batch's."""
    try:
        question, when = read_request(line, asked_at=asked_at)
    except ValueError as error:
        return {"input": line, "error": str(error)}
    try:
        return answer_json(engine.answer(question, asked_at=when))
    except Exception as error:  # one question must not end the batch
        failed = f"{error.__class__.__name__}: {error}"
        return {"error": failed, "question": question, "answered": False, "sentences": []}


def _line_editing() -> Callable[[], None]:
    """Give input() line editing and a history kept across sessions; return what saves it."""
    import readline  # imported only at a terminal: it may write escape codes to a pipe

    state = os.environ.get("XDG_STATE_HOME", "")
    folder = Path(state) if state and Path(state).is_absolute() else Path.home() / ".local" / "state"
    history = folder / "newsbot" / "chat_history"
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    readline.set_history_length(1000)

    def save() -> None:
        with contextlib.suppress(OSError):
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(history)

    return save


def cmd_chat(args: argparse.Namespace) -> int:
    at = _asked_at(args.at)
    engine = open_engine(read_config(args), follow_links=args.follow_links)
    print(f"newsbot: {_articles(engine.stats.articles)}. Ask a question; an empty line or Ctrl-D quits.")
    tty = sys.stdout.isatty()
    save_history = _line_editing() if sys.stdin.isatty() else None
    try:
        while True:
            try:
                question = input("? ")
            except EOFError:
                print()
                return 0
            except KeyboardInterrupt:
                print()
                return EXIT_INTERRUPTED
            if not question.strip():
                return 0
            # Files added, changed or removed while the prompt was open are answered from too.
            update = engine.refresh()
            if update:
                report(update)
                print(f"newsbot: the corpus changed: now {_articles(engine.stats.articles)}.")
            print(format_answer(engine.answer(textio.clean(question), asked_at=at), tty=tty), end="\n\n")
            repair(engine)
    finally:
        if save_history:
            save_history()


def _articles(count: int) -> str:
    return f"{count} article{'' if count == 1 else 's'}"


def cmd_index(args: argparse.Namespace) -> int:
    config = read_config(args)
    if args.list or args.prune:
        configured = read_config(argparse.Namespace(**{**vars(args), "corpus": None}))
        return _cached_indexes(configured.index_dir, keep=config.index_dir, prune=args.prune)
    start = time.perf_counter()
    engine = open_engine(config, progress=True, rebuild=args.compact, follow_links=args.follow_links)
    # `newsbot index` checks every block of the index, not only those questions read.
    repaired = repair(engine) if not engine.verify() else None
    took = time.perf_counter() - start
    stats = engine.stats
    print(f"articles        {stats.articles}")
    print(f"passages        {stats.passages}")
    print(f"distinct terms  {stats.terms}")
    print(f"time            {took:.2f} s")
    print(f"index size      {format_size(stats.size_bytes)} in {config.index_dir}")
    print(f"config          {describe_config(config)}")
    # Problems recorded when files were indexed earlier are listed again, so the count has its lines.
    known = set((repaired or engine.opened).problems)
    earlier = [p for p in engine.problems if p not in known]
    for problem in earlier:
        print(f"newsbot: skipped {problem}", file=sys.stderr)
    count = len(known) + len(earlier)
    if count:
        print(f"skipped         {count} problem{'' if count == 1 else 's'} (listed on stderr)")
    return 0


def _cached_indexes(index_dir: Path, *, keep: Path, prune: bool) -> int:
    """List (or remove, but `keep`) the indexes kept for corpora given with --corpus."""
    if prune:
        for cached in indexes.prune(index_dir, keep=keep):
            print(f"removed  {format_size(cached.size_bytes):>10}  {cached.path}")
        return 0
    for cached in indexes.cached_indexes(index_dir):
        corpus = cached.corpus or "(unfinished build)"
        gone = "  (corpus gone)" if cached.corpus and cached.orphaned else ""
        print(f"{format_size(cached.size_bytes):>10}  {cached.path}  for {textio.clean(corpus)}{gone}")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    print(format_sources(open_engine(read_config(args), follow_links=args.follow_links).articles))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    config = read_config(args)
    questions = read_questions(Path(args.questions), split=args.split)
    if not questions:
        raise CommandError(f"{args.questions}: no questions" + (f" in split {args.split!r}" if args.split else ""))
    engine = open_engine(config, follow_links=args.follow_links)
    if args.json:
        for row in run_questions(engine, questions):
            print(json.dumps(row, ensure_ascii=False), flush=True)
        return 0
    report = evaluate(engine, questions)
    print(f"{'group':<14}{'questions':>10}{'hit@1':>8}{'hit@3':>8}{'MRR@10':>8}{'answered':>10}")
    for name, tally in sorted(report.groups.items(), key=lambda kv: (kv[0] != "all", kv[0])):
        s = tally.summary()
        print(
            f"{name:<14}{s['questions']:>10}{s['hit@1']:>8.3f}{s['hit@3']:>8.3f}{s['mrr@10']:>8.3f}{s['answered']:>10.3f}"
        )
    print(f"latency  p50 {report.percentile(50):.2f} ms  p95 {report.percentile(95):.2f} ms")
    return 0


def _feeds_config(args: argparse.Namespace) -> Config:
    config = read_config(args)
    if not config.feeds:
        raise CommandError(f"{args.command}: no feeds in the config: list them under `feeds:` (url, and name optional)")
    if store_outside(config.fetch.store, config.corpus):
        raise CommandError(f"fetch.store: {config.fetch.store} is not a folder inside the corpus {config.corpus}")
    return config


def cmd_fetch(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from bot.feeds import fetch_feeds

    config = _feeds_config(args)
    with tqdm(
        total=len(config.feeds), desc="feeds", unit="feed", file=sys.stderr, leave=False, disable=None
    ) as bar:
        report = fetch_feeds(config, force=args.force, progress=lambda _: bar.update(1))
    width = min(40, max(len("feed"), *(len(f.name) for f in report.feeds)))
    print(f"{'feed':<{width}}{'seen':>6}{'new':>6}{'updated':>9}{'unchanged':>11}{'also':>6}{'failed':>8}{'time':>8}")
    for feed in report.feeds:
        name = feed.name if len(feed.name) <= width else feed.name[: width - 1] + "…"
        counts = f"{feed.seen:>6}{feed.new:>6}{feed.updated:>9}{feed.unchanged:>11}{feed.merged:>6}{feed.failed:>8}"
        print(f"{name:<{width}}{counts}{feed.seconds:>7.2f}s" + ("  FAILED" if feed.error else ""))
    for feed in report.feeds:
        if feed.error:
            print(f"newsbot: feed {feed.url}: {feed.error}", file=sys.stderr)
        for problem in feed.problems:
            print(f"newsbot: in feed {feed.url}: {problem}", file=sys.stderr)
    if report.expired:
        print(f"removed {report.expired} articles older than {config.fetch.max_age_days} days")
    stats = open_engine(config).stats
    print(f"index: {stats.articles} articles, {stats.passages} passages")
    return 0 if any(feed.read for feed in report.feeds) else 1


def cmd_feeds(args: argparse.Namespace) -> int:
    from bot.feeds import feed_statuses

    statuses = feed_statuses(_feeds_config(args))
    width = min(40, max(len("feed"), *(len(s.name) for s in statuses)))
    print(f"{'feed':<{width}}  {'last fetch':<25}  {'articles':>8}  status")
    for s in statuses:
        name = s.name if len(s.name) <= width else s.name[: width - 1] + "…"
        print(f"{name:<{width}}  {s.last_fetch or '-':<25}  {s.articles:>8}  {s.status}")
        print(f"{'':<{width}}  {s.url}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bot.app import run

    return run(read_config(args), follow_links=args.follow_links)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        help=f"config file (default: ${CONFIG_VARIABLE}, else ./config.yaml, else ~/.config/newsbot/config.yaml)",
    )
    common.add_argument("--corpus", metavar="PATH", help="a corpus folder or one .jsonl file, instead of config's")
    common.add_argument(
        "--follow-links", action="store_true", help="follow file links that lead out of the corpus folder"
    )
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="Answer questions about the news by quoting the articles, with their sources.",
    )
    parser.add_argument("--version", action="version", version=f"newsbot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = sub.add_parser("ask", parents=[common], help="answer one question (or, with --json, one a line from stdin)")
    ask.add_argument("question", nargs="*", metavar="QUESTION")
    ask.add_argument(
        "--json",
        action="store_true",
        help='print JSON: one object, or one line per stdin line (a question or {"question", "asked_at"})',
    )
    ask.add_argument("--at", metavar="DATE", help="answer as of this ISO date or datetime (default: now)")
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", parents=[common], help="ask questions at an interactive prompt")
    chat.add_argument("--at", metavar="DATE", help="answer as of this ISO date or datetime (default: now)")
    chat.set_defaults(func=cmd_chat)

    index = sub.add_parser("index", parents=[common], help="build or refresh the index and describe it")
    index.add_argument("--compact", action="store_true", help="rebuild the index as one segment from the corpus")
    index.add_argument("--list", action="store_true", help="list the indexes kept for corpora given with --corpus")
    index.add_argument("--prune", action="store_true", help="remove those indexes (each is rebuilt when next used)")
    index.set_defaults(func=cmd_index)

    sources = sub.add_parser("sources", parents=[common], help="list the outlets indexed, their articles and dates")
    sources.set_defaults(func=cmd_sources)

    ev = sub.add_parser("eval", parents=[common], help="measure hit@1, hit@3, MRR@10 and latency on a questions file")
    ev.add_argument("questions", metavar="QUESTIONS.jsonl")
    ev.add_argument("--split", help="only questions of this split (e.g. dev)")
    ev.add_argument("--json", action="store_true", help="print one JSON result per question")
    ev.set_defaults(func=cmd_eval)

    fetch = sub.add_parser(
        "fetch", parents=[common], help="fetch every feed once, store new and changed articles, update the index"
    )
    fetch.add_argument("--force", action="store_true", help="fetch feeds that are backing off after failures too")
    fetch.set_defaults(func=cmd_fetch)

    feeds = sub.add_parser("feeds", parents=[common], help="list the feeds with their last fetch, status and articles")
    feeds.set_defaults(func=cmd_feeds)

    run = sub.add_parser("run", parents=[common], help="run the Telegram bot (token from TELEGRAM_BOT_TOKEN)")
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `newsbot` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # The library's warnings reach the terminal through `report`, once, not through logging too.
    logging.getLogger("retrieval").addHandler(logging.NullHandler())
    try:
        return int(args.func(args))
    except (BotError, RetrievalError) as error:
        print(f"newsbot: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader went away (`newsbot ask ... | head`): stop quietly, as a Unix tool killed by
        # SIGPIPE would, and point stdout at /dev/null so the interpreter's last flush cannot fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as error:
        print(f"newsbot: error: {error.strerror or error}: {error.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
