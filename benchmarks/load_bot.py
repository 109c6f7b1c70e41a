"""Load test of the bot: many questions arriving at once, through the real handler path.

Usage, from the repository root:

    python -m benchmarks.load_bot                        # 200 questions, 100,000 passages
    python -m benchmarks.load_bot --questions 200 --passages 10000 --slow 3
    python -m benchmarks.load_bot --corpus corpus/ --index /tmp/idx

The application is the one `newsbot run` serves (`bot.app.build_application`, concurrent
updates, rate limiter, every handler), with python-telegram-bot's request layer answered in
process by the fake Bot API the tests use too (`benchmarks/fakebotapi.py`, which refuses what
Telegram would refuse). Every question is a private message from its own user, so the
per-user limit does not apply; all of them are put on the application's update queue at the
same instant and the application is started, which dispatches them as it does when polling.

With `--slow S` (default 5 s) the engine call of the first question is held S seconds, standing
in for one long search: the other chats must be answered meanwhile, not after it.

It prints throughput and latency (update queued to reply recorded by the fake API) and checks:
every chat answered exactly once, nothing refused by the fake API, no error logged. The exit
status is 1 when a check fails. Results go to `--out` as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
BOT_NAME = "newsbot_load_bot"


class _SlowFirst:
    """The engine, except that answering one chosen question takes `delay` seconds longer."""

    def __init__(self, engine: Any, question: str, delay: float) -> None:
        self._engine = engine
        self._question = question
        self._delay = delay

    def answer(self, question: str, **kwargs: Any) -> Any:
        if question == self._question and self._delay:
            time.sleep(self._delay)
        return self._engine.answer(question, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


class _Errors(logging.Handler):
    """Collects every record at ERROR or above."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


def _percentiles(values: list[float]) -> dict[str, float]:
    import numpy as np

    if not values:
        return {"n": 0}
    ms = np.asarray(values) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {"n": len(values), "p50": float(p50), "p95": float(p95), "p99": float(p99),
            "max": float(ms.max())}


def _open_engine(args: argparse.Namespace, work: Path) -> tuple[Any, list[str]]:
    from benchmarks import newslike
    from retrieval.engine import Engine
    from retrieval.settings import Settings

    corpus = Path(args.corpus) if args.corpus else work / f"newslike-{args.passages}.jsonl"
    if not args.corpus and not corpus.exists():
        newslike.write_corpus(corpus, passages=args.passages, seed=args.seed)
    index = Path(args.index) if args.index else work / f"index-{corpus.stem}"
    began = time.perf_counter()
    engine = Engine.open(corpus, index, Settings())
    print(f"engine: {engine.stats.passages:,} passages, opened in "
          f"{time.perf_counter() - began:.1f} s", flush=True)
    if corpus.suffix == ".jsonl":
        questions = [q.question for q in
                     newslike.make_questions(corpus, count=args.questions, seed=args.seed)]
    else:
        questions = [f"{a.title}?" for a in engine.articles]
        questions = (questions * (args.questions // max(1, len(questions)) + 1))[: args.questions]
    return engine, questions


async def _run(engine: Any, questions: list[str], args: argparse.Namespace, *,
               rate_limited: bool) -> dict[str, Any]:
    from telegram import Update
    from telegram.ext import BaseRateLimiter

    from benchmarks.fakebotapi import FakeBotAPI, FakeRequest
    from bot import app
    from bot.config import TelegramConfig

    class PassThrough(BaseRateLimiter[None]):
        """No rate limit: shows what the handler path alone can do."""

        async def initialize(self) -> None:
            pass

        async def shutdown(self) -> None:
            pass

        async def process_request(self, callback: Any, args: Any, kwargs: dict[str, Any],
                                  endpoint: str, data: dict[str, Any],
                                  rate_limit_args: None) -> Any:
            return await callback(*args, **kwargs)

    api = FakeBotAPI(TOKEN, username=BOT_NAME)
    slow_question = questions[0]
    served = _SlowFirst(engine, slow_question, args.slow)
    application = app.build_application(TelegramConfig(), served, token=TOKEN, request=FakeRequest(api),
                                        rate_limiter=None if rate_limited else PassThrough())
    await application.initialize()
    chats = []
    updates = []
    for i, question in enumerate(questions):
        user = {"id": 100_000 + i, "is_bot": False, "first_name": f"Asker{i}"}
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        chats.append(chat["id"])
        message = api.message(chat, user, question)
        updates.append(Update.de_json({"update_id": i + 1, "message": message}, application.bot))
    began = time.monotonic()
    for update in updates:
        application.update_queue.put_nowait(update)
    await application.start()
    deadline = began + args.timeout
    while time.monotonic() < deadline:
        answered = {c.params.get("chat_id") for c in api.sent()}
        if answered >= set(chats):
            break
        await asyncio.sleep(0.01)
    # Let anything still in flight land, so duplicates and late errors are counted.
    await asyncio.sleep(0.2)
    await application.stop()
    await application.shutdown()

    first_reply: dict[int, float] = {}
    replies: dict[int, int] = {}
    with_quotes = 0
    for call in api.sent():
        chat_id = int(call.params["chat_id"])
        replies[chat_id] = replies.get(chat_id, 0) + 1
        if chat_id not in first_reply:
            first_reply[chat_id] = call.at
            with_quotes += bool(call.params.get("reply_markup"))
    latencies = [first_reply[c] - began for c in chats if c in first_reply]
    slow_chat = chats[0]
    slow_at = first_reply.get(slow_chat)
    others_before_slow = sum(1 for c in chats[1:] if slow_at and first_reply.get(c, 1e18) < slow_at)
    # Throughput over the chats that were not held, so the hold does not count as work.
    counted = chats[1:] if args.slow and len(chats) > 1 else chats
    done = [first_reply[c] for c in counted if c in first_reply]
    wall = max(done, default=began) - began
    state = application.bot_data.state
    return {
        "questions": len(questions),
        "answered": len(first_reply),
        "answered_with_quotes": with_quotes,
        "answered_no_answer": len(first_reply) - with_quotes,
        "missing": len(set(chats) - set(first_reply)),
        "chats_with_more_than_one_first_reply_message": sum(1 for n in replies.values() if n > 1),
        "refused_by_fake_api": len(api.refused),
        "wall_s": wall,
        "throughput_chats": len(done),
        "throughput_per_s": len(done) / wall if wall else None,
        "latency_ms": _percentiles(latencies),
        "slow": {"delay_s": args.slow, "latency_ms": (slow_at - began) * 1000 if slow_at else None,
                 "other_chats_answered_before_it": others_before_slow},
        "sentences_per_reply": state.settings.sentences_per_reply,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the load test; print its numbers and checks; exit 1 when a check fails."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load_bot",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=200, help="questions at once (200)")
    parser.add_argument("--passages", type=int, default=100_000,
                        help="size of the news-like corpus to write (default: 100000)")
    parser.add_argument("--corpus", help="use this corpus (folder or .jsonl) instead")
    parser.add_argument("--index", help="index folder (default: in the work folder)")
    parser.add_argument("--work", help="folder for the corpus and index (default: temporary)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--slow", type=float, default=5.0,
                        help="hold the first question's search this many seconds (default: 5)")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up after (s)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "load_bot.json"))
    args = parser.parse_args(argv)
    if args.questions < 1:
        parser.error("--questions: expected a positive integer")

    errors = _Errors()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().addHandler(errors)
    with tempfile.TemporaryDirectory(prefix="newsbot-load-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        engine, questions = _open_engine(args, work)
        runs = {
            "with_rate_limiter": asyncio.run(_run(engine, questions, args, rate_limited=True)),
            "without_rate_limiter": asyncio.run(_run(engine, questions, args, rate_limited=False)),
        }
    failed = False
    for name, result in runs.items():
        failed |= not _report(name, result, args)
    if errors.records:
        failed = True
        for record in errors.records[:5]:
            print(f"  error logged: {record}")
    print(f"{'FAIL' if errors.records else 'PASS'}  no error logged")
    result = {**runs, "errors_logged": errors.records}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"results: {out}")
    return 1 if failed else 0


def _report(name: str, result: dict[str, Any], args: argparse.Namespace) -> bool:
    """Print one run's numbers and checks; return whether every check passed."""
    title = {"with_rate_limiter": "as deployed, with the Bot API rate limiter (30 messages/s)",
             "without_rate_limiter": "the handler path alone, rate limiter replaced by a no-op"}
    print(f"\n{title[name]}:")
    lat = result["latency_ms"]
    print(f"  {result['questions']} questions at once: {result['answered']} answered "
          f"({result['answered_with_quotes']} with quotes, {result['answered_no_answer']} "
          f"'found nothing'), {result['missing']} missing")
    print(f"  throughput: {result['throughput_chats']} replies in {result['wall_s']:.2f} s = "
          f"{result['throughput_per_s'] or 0:.0f} answers/s"
          + (" (the held question not counted)" if args.slow else ""))
    if lat.get("n"):
        print(f"  latency from arrival to reply: p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} "
              f"ms, p99 {lat['p99']:.0f} ms, max {lat['max']:.0f} ms")
    slow = result["slow"]
    if args.slow:
        print(f"  one search held {args.slow:g} s: its reply came after "
              f"{(slow['latency_ms'] or 0) / 1000:.2f} s; "
              f"{slow['other_chats_answered_before_it']} of {result['questions'] - 1} other chats "
              f"were answered before it")
    checks = {
        "every chat answered": result["missing"] == 0,
        "one reply message per chat": result["chats_with_more_than_one_first_reply_message"] == 0,
        "nothing refused by the Bot API": result["refused_by_fake_api"] == 0,
    }
    if args.slow:
        # Every other chat should be answered while the held search runs, unless answering all
        # of them takes longer than the hold itself.
        checks["the held search held up no other chat"] = (
            slow["other_chats_answered_before_it"] == result["questions"] - 1
            or (lat.get("p50", 0) < slow["latency_ms"] if slow["latency_ms"] else False)
        )
    result["checks"] = checks
    for check, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {check}")
    return all(checks.values())


if __name__ == "__main__":
    sys.exit(main())
