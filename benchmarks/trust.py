"""Measure what makes an answer trustworthy, on the public question sets in a bench folder.

    python -m benchmarks.trust --bench ../shared/bench                # dev splits
    python -m benchmarks.trust --bench ../shared/bench --split test   # test splits (report once)

Prints, for the chosen split:

- hit@1 / hit@3 / answered on realtimeqa and wikiqa, each question asked as of its
  `question_date` when it has one, and on rtqa-archive-dev (dev only: a 13,872-article archive);
- declining: the share of small talk and general-knowledge messages declined against the
  realtimeqa articles, asked now and as of the newest article (where age cannot do the
  declining), for the messages the decision was tuned on (benchmarks/data/offtopic.txt and
  general-tune.txt) and for the held-out ones (general-heldout.txt); and (dev only: the
  archive's questions are dev ones), for each of several dates D, inside the archive cut at D
  (only the articles published before D indexed), the share of questions dated at least
  `--gap` days after D whose answer is in none of those articles that are declined, beside
  the share of questions dated before D that are still answered;
- typos: hit@3 with one typo (seeded) in each question's rarest word, beside hit@3 without.

Nothing here is needed to run newsbot or its tests; the bench folder is read, never written.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import random
import re
import string
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path

from bot.evaluate import Question, evaluate, fold, read_questions
from retrieval.engine import Engine
from retrieval.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
# Small talk and general knowledge: the messages the decision was tuned on, and held-out ones.
OFFTOPIC = {"tuned": ("offtopic.txt", "general-tune.txt"), "held out": ("general-heldout.txt",)}


def open_engine(corpus: Path, work: Path) -> Engine:
    """Open (building once) an index of `corpus` under `work`."""
    # By folder and name: realtimeqa/articles.jsonl and wikiqa/articles.jsonl need their own.
    return Engine.open(corpus, work / f"index-{corpus.parent.name}-{corpus.stem}", Settings())


def archive_file(bench: Path, work: Path) -> Path:
    """The archive's articles as a plain .jsonl under `work` (unzipped once)."""
    out = work / "rtqa-archive-dev.jsonl"
    if not out.exists():
        with gzip.open(bench / "rtqa-archive-dev" / "articles.jsonl.gz", "rb") as src:
            out.write_bytes(src.read())
    return out


def summary(engine: Engine, questions: Sequence[Question]) -> dict[str, float]:
    """hit@1, hit@3, MRR@10 and the answered share over `questions`."""
    report = evaluate(engine, questions)
    s = report.groups["all"].summary()
    return {"questions": s["questions"], "hit@1": s["hit@1"], "hit@3": s["hit@3"], "answered": s["answered"]}


def declined_share(engine: Engine, messages: Iterable[str], *, asked_at: str | None = None) -> tuple[float, int]:
    """The share of `messages` that get no answer (asked as of `asked_at`, else now), and how many."""
    asked = list(messages)
    declined = sum(not engine.answer(m, asked_at=asked_at).answered for m in asked)
    return declined / max(len(asked), 1), len(asked)


def offtopic_messages(part: str = "held out") -> list[str]:
    """The small talk and general-knowledge messages of `part` (a key of OFFTOPIC), comments
    and blank lines skipped."""
    out = []
    for name in OFFTOPIC[part]:
        lines = (DATA / name).read_text(encoding="utf-8").splitlines()
        out += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return out


def after_corpus(
    bench: Path, work: Path, *, cutoff: str, gap: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Index the archive before `cutoff`; ask questions from `gap` days after it and before it."""
    articles = archive_file(bench, work)
    cut = work / f"archive-before-{cutoff}.jsonl"
    texts: list[str] = []
    kept = []
    for line in articles.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["published"][:10] < cutoff:
            kept.append(line)
            texts.append(fold(record["title"] + " " + record["text"]))
    if not cut.exists():
        cut.write_text("\n".join(kept) + "\n", encoding="utf-8")
    engine = open_engine(cut, work)
    questions = read_questions(bench / "rtqa-archive-dev" / "questions.jsonl", split="dev")
    late = (date.fromisoformat(cutoff) + timedelta(days=gap)).isoformat()
    blob = "\n".join(texts)
    unanswerable = [
        q for q in questions if q.asked_at >= late and not any(_in_blob(blob, a) for a in q.answers)
    ]
    before = [q for q in questions if q.asked_at < cutoff]
    after_declined = sum(not engine.answer(q.question, asked_at=q.asked_at).answered for q in unanswerable)
    early = summary(engine, before)
    return (
        {"questions": len(unanswerable), "declined": round(after_declined / max(len(unanswerable), 1), 4)},
        early,
    )


def _in_blob(blob: str, answer: str) -> bool:
    a = fold(answer)
    if not a or a not in blob:
        return False
    return re.search(r"(?<!\w)" + re.escape(a) + r"(?!\w)", blob) is not None


def misspell(word: str, rng: random.Random) -> str:
    """One typo in `word`: a letter swapped with the next, dropped, doubled or replaced."""
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("swap", "drop", "double", "replace"))
    if kind == "swap" and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    letters = [c for c in string.ascii_lowercase if c != word[i].lower()]
    return word[:i] + rng.choice(letters) + word[i + 1 :]


def with_typos(engine: Engine, questions: Sequence[Question], *, seed: int) -> list[Question]:
    """Each question with one typo in its rarest word (lowest document frequency in the index)."""
    rng = random.Random(seed)
    out = []
    searcher = engine.state.searcher
    for q in questions:
        words = [(m.start(), m.group()) for m in re.finditer(r"[A-Za-z]{4,}", q.question)]
        scored = []
        for start, word in words:
            terms = engine.analyzer.terms(word)
            if terms:
                scored.append((searcher.postings(terms[0]).df, start, word))
        if not scored:
            out.append(q)
            continue
        _, start, word = min(scored)
        typo = misspell(word, rng)
        text = q.question[:start] + typo + q.question[start + len(word) :]
        out.append(dataclasses.replace(q, question=text))
    return out


def _row(name: str, s: dict[str, float]) -> str:
    return f"{name:<34}{s['questions']:>6}{s['hit@1']:>8.3f}{s['hit@3']:>8.3f}{s['answered']:>10.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", type=Path, default=ROOT.parent / "shared" / "bench")
    parser.add_argument("--work", type=Path, default=Path("/tmp/newsbot-trust"))
    parser.add_argument("--split", default="dev", choices=("dev", "test"))
    parser.add_argument(
        "--cutoffs",
        nargs="+",
        default=["2023-01-01", "2023-07-01", "2024-07-01", "2025-07-01"],
        help="archive dates D for the after-the-corpus sets (one index each)",
    )
    parser.add_argument("--gap", type=int, default=30, help="days after D a question must be asked")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", nargs="*", default=["hits", "declining", "typos"])
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    bench = args.bench
    started = time.perf_counter()
    rtqa = open_engine(bench / "realtimeqa" / "articles.jsonl", args.work)
    rtqa_q = read_questions(bench / "realtimeqa" / "questions.jsonl", split=args.split)
    if "hits" in args.only:
        print(f"{'set (' + args.split + ')':<34}{'n':>6}{'hit@1':>8}{'hit@3':>8}{'answered':>10}")
        print(_row("realtimeqa, as of question_date", summary(rtqa, rtqa_q)))
        undated = [dataclasses.replace(q, asked_at="") for q in rtqa_q]
        print(_row("realtimeqa, asked now", summary(rtqa, undated)))
        wiki = open_engine(bench / "wikiqa" / "articles.jsonl", args.work)
        print(_row("wikiqa", summary(wiki, read_questions(bench / "wikiqa" / "questions.jsonl", split=args.split))))
        if args.split == "dev":
            archive = open_engine(archive_file(bench, args.work), args.work)
            archive_q = read_questions(bench / "rtqa-archive-dev" / "questions.jsonl", split="dev")
            print(_row("rtqa-archive-dev, as of date", summary(archive, archive_q)))
    if "declining" in args.only:
        newest = rtqa.stats.latest
        for part in OFFTOPIC:
            said = offtopic_messages(part)
            share, n = declined_share(rtqa, said)
            print(f"declined: small talk and general knowledge, {part:<8} {share:.3f} of {n} (now)")
            share, n = declined_share(rtqa, said, asked_at=newest)
            print(f"declined: small talk and general knowledge, {part:<8} {share:.3f} of {n} (as of {newest})")
    if "declining" in args.only and args.split == "dev":
        declined = total = answered = before = 0.0
        for cutoff in args.cutoffs:
            late, early = after_corpus(bench, args.work, cutoff=cutoff, gap=args.gap)
            print(
                f"declined: news after the corpus ends        {late['declined']:.3f} of {late['questions']} "
                f"(archive before {cutoff}, asked {args.gap}+ days later, answer in no indexed article)"
            )
            print(_row(f"archive before {cutoff}, earlier qs", early))
            declined += late["declined"] * late["questions"]
            total += late["questions"]
            answered += early["answered"] * early["questions"]
            before += early["questions"]
        print(
            f"declined: news after the corpus ends, all   {declined / max(total, 1):.3f} of {total:.0f}; "
            f"earlier questions answered {answered / max(before, 1):.3f} of {before:.0f}"
        )
    if "typos" in args.only:
        clean = summary(rtqa, rtqa_q)
        typo = summary(rtqa, with_typos(rtqa, rtqa_q, seed=args.seed))
        cost = (clean["hit@3"] - typo["hit@3"]) / clean["hit@3"] if clean["hit@3"] else 0.0
        print(
            f"typos: realtimeqa {args.split} hit@3 {clean['hit@3']:.3f} clean, {typo['hit@3']:.3f} with one typo "
            f"in the rarest word (seed {args.seed}): {cost:.1%} lost"
        )
    print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
