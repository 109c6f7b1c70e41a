"""Stage 7 of load → split → analyze → index → search → select → answer: the answer engine.

`Engine.open` brings the index on disk up to date with the corpus (`retrieval.maintain`:
building it, loading it, or indexing only the files that changed into a new segment) and
`Engine.answer` turns a question into the sentences that answer it, in this order:
`question` (small talk, the words that ask) → `analyze` (terms) → `spelling` (a word the
index lacks) → `when` (the moment asked, a prior by article age) → `search` (top passages)
→ `candidates` (their sentences as records) → `select` (the best sentences) → `decide`
(answer or decline) → `Answer`. `answer` is pure, thread-safe and never raises for any
question; "no answer" is an `Answer` without sentences.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from retrieval import postings
from retrieval.analyze import Analyzer
from retrieval.candidates import gather
from retrieval.decide import DecideSettings, decide, name_terms, weigh_evidence
from retrieval.errors import CorpusError, CorruptIndexError, DamagedSegmentError, IndexWriteError
from retrieval.index import (
    Progress,
    Segment,
    load_segment,
    release_pages,
    verify_segment,
)
from retrieval.load import read_mentions, scan_corpus
from retrieval.maintain import IndexState, Refreshed, fingerprint, make_state, refresh_index, stat_files
from retrieval.models import (
    Answer,
    AnswerSentence,
    Context,
    IndexStats,
    LoadProblem,
    RefreshReport,
    Source,
)
from retrieval.question import asking_clause, clean_question, is_small_talk
from retrieval.search import PassageHit
from retrieval.select import question_weights, quiz_headline, select_sentences
from retrieval.settings import Settings
from retrieval.spelling import SpellerBuilds
from retrieval.store import Manifest, index_size, locked, read_manifest, sweep
from retrieval.when import (
    TimeWeights,
    day_number,
    highest,
    lowest,
    parse_asked_at,
    published_day,
    resolve,
    weigh,
)

log = logging.getLogger(__name__)

# Questions are cut here before analysis: nobody asks in more words, and a pasted essay
# must not cost more than a question.
MAX_QUESTION_CHARS = 1000
MAX_QUESTION_TERMS = 32
# The publication date in an article's metadata record, as `json.dumps` writes it (no escapes).
_PUBLISHED = re.compile(rb'"published": "([^"\\]*)"')
# Where the headline starts in an article's metadata record, as `json.dumps` writes it.
_TITLE = b'"title": "'
_ALSO = b'"also": '
# How many of the best sentences the decision reads for the question's key words.
DECIDE_DEPTH = 3


@dataclass(frozen=True, slots=True)
class _Days:
    """When the articles of one index state appeared: day numbers, NaN where unknown."""

    articles: tuple[npt.NDArray[np.float64], ...]  # per segment, by article
    # Per segment, by article: whether its headline is a quiz page's (`select.quiz_headline`).
    quiz: tuple[npt.NDArray[np.bool_], ...]
    passages: npt.NDArray[np.float64]  # by global passage id
    # The distinct days, and each passage's place among them: a prior by age, a function of
    # the day alone, is then worked out once per distinct day.
    distinct: npt.NDArray[np.float64]
    passage_day: npt.NDArray[np.int32]
    # Set when an article's date could not be read from a damaged segment.
    error: CorruptIndexError | None = None


def _source(meta: dict[str, str]) -> Source:
    return Source(
        article_id=meta["id"],
        title=meta["title"],
        source=meta["source"],
        url=meta["url"],
        published=meta["published"],
        also_reported_by=read_mentions(meta["also"]) if "also" in meta else (),
    )


class Engine:
    """A corpus, its index and the answer function over them."""

    def __init__(
        self,
        corpus: Path,
        index_dir: Path,
        settings: Settings,
        *,
        follow_links: bool = False,
        wait_for_speller: bool = True,
    ) -> None:
        self.corpus = corpus
        self.index_dir = index_dir
        self.settings = settings
        self.follow_links = follow_links
        self.analyzer = Analyzer(settings.analysis)
        self._root = corpus if corpus.is_dir() else corpus.parent
        # What opening the index met (files skipped, warnings); later refreshes return theirs.
        self.opened = RefreshReport(changed=False)
        self._warned = ""
        self._damaged: set[str] = set()
        self._lock = threading.Lock()
        self._state: IndexState | None = None
        self.time_weights = TimeWeights()
        declining = settings.declining
        self.decide_settings = DecideSettings(
            max_age_days=declining.max_age_days,
            enabled=declining.enabled,
        )
        # Built in the background for each new state (see `retrieval.spelling.SpellerBuilds`).
        self._spellers = SpellerBuilds(wait=wait_for_speller)
        self._dated: tuple[IndexState, _Days] | None = None
        # Segments never change: their articles' days (and quiz headlines) are read once, kept
        # by segment name.
        self._segment_days: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]] = {}

    # -- opening and refreshing --------------------------------------------------------

    @classmethod
    def open(
        cls,
        corpus: str | Path,
        index_dir: str | Path,
        settings: Settings | None = None,
        *,
        progress: Progress | None = None,
        rebuild: bool = False,
        follow_links: bool = False,
        wait_for_speller: bool = True,
    ) -> Engine:
        """Open the index of `corpus` in `index_dir`, building or updating it as needed.

        The speller of each new index state (what a misspelt question word is matched to) is
        built in the background from then on. Until it is built, an answer that needs it
        waits for it with `wait_for_speller` (the same answer however soon it is asked: the
        command line), or else respells with the previous state's speller, or not at all
        right after opening (a long-running bot, which must not stall for a second).
        """
        corpus, index_dir = Path(corpus).resolve(), Path(index_dir).resolve()
        if corpus.is_dir() and (index_dir == corpus or corpus in index_dir.parents):
            raise CorpusError(f"{index_dir}: the index directory must be outside the corpus {corpus}")
        engine = cls(
            corpus, index_dir, settings or Settings(), follow_links=follow_links, wait_for_speller=wait_for_speller
        )
        engine.opened = engine.refresh(progress=progress, rebuild=rebuild)
        postings.warm()
        return engine

    @property
    def fingerprint(self) -> str:
        """Changes whenever a setting that shapes the index changes."""
        return fingerprint(self.analyzer, self.settings)

    @property
    def damaged(self) -> bool:
        """Whether a segment failed a checksum while answering (the next refresh rebuilds it)."""
        return bool(self._damaged)

    def refresh(self, *, progress: Progress | None = None, rebuild: bool = False) -> RefreshReport:
        """Bring the index up to date with the corpus; return whether it changed and what it met.

        When nothing changed, the index is read without its lock, so asking never waits for
        another process's update. A failed write (a full disk) leaves the last good index in
        use and says so once among the report's warnings.
        """
        with self._lock:
            files, problems = scan_corpus(self.corpus, follow_links=self.follow_links)
            current = stat_files(files, self._root, problems)
            if not rebuild and not self._damaged and self._unchanged(current):
                return RefreshReport(False, tuple(problems))
            try:
                with locked(self.index_dir):
                    try:
                        result = self._refresh(current, problems, progress, rebuild)
                    except OSError:
                        on_disk = read_manifest(self.index_dir)
                        with contextlib.suppress(OSError):  # what the failed update wrote goes
                            sweep(self.index_dir, set(on_disk.segments) if on_disk else set())
                        raise
            except OSError as error:  # a full disk, a read-only index folder
                return RefreshReport(False, tuple(problems), self._write_failed(error))
            self._warned = ""
            return RefreshReport(result.changed, result.problems, result.warnings)

    def _unchanged(self, current: dict[str, tuple[Path, int, int]]) -> bool:
        """Whether the index on disk matches the corpus; if so, make it the state (no lock taken)."""
        manifest = read_manifest(self.index_dir)
        if (
            manifest is None
            or manifest.fingerprint != self.fingerprint
            or manifest.corpus != str(self.corpus)
            or manifest.files.keys() != current.keys()
            or any((e.size, e.mtime_ns) != current[n][1:] for n, e in manifest.files.items())
        ):
            return False
        if self._state is not None and self._state.names == tuple(manifest.segments):
            return True
        try:
            self._use(self._open_segments(manifest))
        except CorruptIndexError:
            return False  # changed underneath, or damaged: the locked path sorts it out
        return True

    def _use(self, state: IndexState) -> None:
        """Answer from `state` from now on; its speller starts building in the background.

        Its articles' days are read now, before the first answer: only a new segment's
        records are parsed (a refresh's few articles), but at opening that is every article.
        """
        self._days(state)
        self._state = state
        self._spellers.start(state, state.segments)

    def _open_segments(self, manifest: Manifest) -> IndexState:
        open_now = dict(zip(self._state.names, self._state.segments, strict=True)) if self._state else {}
        segments = {n: open_now.get(n) or load_segment(self.index_dir / n) for n in manifest.segments}
        return make_state(manifest, segments, self.settings)

    def _write_failed(self, error: OSError) -> tuple[str, ...]:
        """Keep answering from the last good index; return why it is behind the corpus (said once)."""
        cause = (error.strerror or str(error)).lower() if error.errno else str(error)
        where = f" while writing {error.filename}" if error.filename else ""
        message = f"the corpus is newer than the index: {cause}{where}; answering from the last good index"
        if self._state is None:
            manifest = read_manifest(self.index_dir)
            if manifest is None or manifest.fingerprint != self.fingerprint or manifest.corpus != str(self.corpus):
                raise IndexWriteError(f"cannot build the index: {cause}{where}") from None
            try:
                self._use(self._open_segments(manifest))
            except CorruptIndexError:
                raise IndexWriteError(f"cannot build the index: {cause}{where}") from None
        # Said once per cause, not at every refresh while the disk stays full.
        warnings = () if cause == self._warned else (message,)
        if warnings:
            log.warning("%s", message)
        self._warned = cause
        return warnings

    def _refresh(
        self,
        current: dict[str, tuple[Path, int, int]],
        problems: list[LoadProblem],
        progress: Progress | None,
        rebuild: bool,
    ) -> Refreshed:
        """Update the index on disk (`retrieval.maintain`) and make it the state."""
        result = refresh_index(
            self.corpus,
            self.index_dir,
            self.analyzer,
            self.settings,
            previous=self._state,
            progress=progress,
            rebuild=rebuild,
            scanned=(current, problems),
            damaged=frozenset(self._damaged),
        )
        self._damaged.clear()
        self._use(result.state)
        return result

    def verify(self) -> bool:
        """Check every block of every segment now; return False (and rebuild at the next refresh) on damage."""
        state = self.state
        for name, segment in zip(state.names, state.segments, strict=True):
            try:
                verify_segment(segment)
            except CorruptIndexError as error:
                log.warning("index segment damaged: %s", error)
                self._damaged.add(name)
        return not self._damaged

    def speller_ready(self, *, wait: bool = False) -> bool:
        """Whether the speller of the current index state is built; with `wait`, once its build has ended."""
        return self._spellers.ready(self.state, wait=wait)

    # -- asking ------------------------------------------------------------------------

    @property
    def state(self) -> IndexState:
        assert self._state is not None, "Engine.open() builds the state"
        return self._state

    @property
    def problems(self) -> tuple[LoadProblem, ...]:
        """Every corpus file problem recorded in the index."""
        return self.state.problems

    def question_terms(self, question: str) -> list[str]:
        """Analyse a question as passages are analysed, capped in length (at a word's end)."""
        if len(question) > MAX_QUESTION_CHARS:
            cut = question[: MAX_QUESTION_CHARS + 1]
            question = cut.rsplit(maxsplit=1)[0] if not cut[-1].isspace() and cut.split() else cut
        terms = self.analyzer.terms(question)
        if len(set(terms)) > MAX_QUESTION_TERMS:
            keep = set(list(dict.fromkeys(terms))[:MAX_QUESTION_TERMS])
            terms = [t for t in terms if t in keep]
        return terms

    def search(self, question: str, k: int = 10) -> list[PassageHit]:
        """Return the k best passages for a question."""
        return self.state.searcher.search(self.question_terms(question), k)

    def answer(
        self,
        question: str,
        *,
        limit: int | None = None,
        asked_at: str | date | datetime | None = None,
    ) -> Answer:
        """Return the sentences that answer `question` as of `asked_at`, best first.

        `asked_at` is now unless given (a date means the end of that day); articles published
        after it are invisible. A bad `asked_at` raises ValueError; any question gets an
        Answer, empty when nothing answers it. If the index fails a check on the way (a damaged
        block), the Answer carries an error instead of sentences, and the damaged segment is
        rebuilt at the next refresh.
        """
        state = self.state
        moment = parse_asked_at(asked_at)
        stamp = moment.isoformat()
        known = len(state.by_id)
        if not isinstance(question, str):
            return Answer(question="", articles_known=known, asked_at=stamp, declined="nothing")
        try:
            return self._answer(state, question, limit, moment)
        except (CorruptIndexError, ValueError, IndexError, KeyError) as error:
            if isinstance(error, DamagedSegmentError):
                self._damaged.add(Path(error.where).parent.name)
            log.error("cannot answer %r: %s", question[:80], error)
            reason = "the index is damaged" if isinstance(error, CorruptIndexError) else "the index could not be read"
            return Answer(
                question, (), known, error=f"{reason} ({error}); it is rebuilt at the next update", asked_at=stamp
            )

    def _answer(self, state: IndexState, question: str, limit: int | None, moment: datetime) -> Answer:
        dated = self._days(state)
        if dated.error is not None:
            raise dated.error
        known = len(state.by_id)
        stamp = moment.isoformat()
        if is_small_talk(question[:MAX_QUESTION_CHARS]):
            return Answer(question, articles_known=known, asked_at=stamp, declined="small talk")
        asked = clean_question(question[:MAX_QUESTION_CHARS])
        terms = self.question_terms(asked)
        limit = self.settings.answers.max_sentences if limit is None else max(1, limit)
        searcher = state.searcher
        fixes = self._respell(state, [t for t in dict.fromkeys(terms) if searcher.postings(t).df == 0])
        if fixes:
            terms = [fixes.get(t, t) for t in terms]
        frame = resolve(asked, moment)
        days, weights = dated.passages, self.time_weights

        top = highest(dated.distinct, frame, weights)
        scale = self._prior_scale(top)
        by_day: list[npt.NDArray[np.float64]] = []  # the prior of each distinct day, once an answer

        def prior(cand: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
            if dated.distinct.size >= cand.size:
                return weigh(days[cand], frame, weights) * scale
            if not by_day:
                by_day.append(weigh(dated.distinct, frame, weights) * scale)
            return by_day[0][dated.passage_day[cand]]

        shown = (lowest(dated.distinct, frame, weights) * scale, top * scale)
        hits = searcher.search(terms, self.settings.answers.candidate_passages, prior=prior, prior_range=shown)
        if scale != 1.0:
            hits = [PassageHit(h.passage, h.score / scale, h.segment, h.local) for h in hits]
        pool = gather(searcher, terms, hits, quiz=dated.quiz)
        names = name_terms(asked, list(self.analyzer.spans(asked)))
        names = frozenset(fixes.get(t, t) for t in names)
        focus = frozenset(fixes.get(t, t) for t in self.analyzer.terms(asking_clause(asked)))
        chosen = select_sentences(asked, terms, pool, self.settings.answers, limit=limit, names=names, focus=focus)
        wanted = set(terms)
        now = day_number(moment)
        sentences = []
        for c in chosen:
            meta = state.segments[c.segment].articles[c.article]
            matched = tuple((s, e) for term, s, e in self.analyzer.spans(c.text) if term in wanted)
            day = float(dated.articles[c.segment][c.article])
            sentences.append(
                AnswerSentence(
                    text=c.text,
                    source=_source(meta),
                    score=round(c.score, 6),
                    matched=matched,
                    sentence=c.position,
                    age_days=None if np.isnan(day) else int(np.floor(now - day)),
                )
            )
        corrected = self._shown_fixes(asked, fixes, sentences)
        unique = tuple(dict.fromkeys(terms))
        if not chosen:
            return Answer(question, (), known, unique, asked_at=stamp, declined="nothing", corrected=corrected)
        idf = question_weights(list(pool.doc_freqs), pool.doc_freqs, pool.passages, names)
        best_day = now - sentences[0].age_days if sentences[0].age_days is not None else None
        evidence = weigh_evidence(
            asked,
            idf,
            pool.doc_freqs,
            names,
            chosen[:DECIDE_DEPTH],
            passages=pool.passages,
            age_days=None if best_day is None else (frame.start if frame.start is not None else now) - best_day,
            timed=frame.windowed or frame.latest,
        )
        reason = decide(evidence, self.decide_settings)
        if reason:
            return Answer(
                question,
                (),
                known,
                unique,
                asked_at=stamp,
                declined=reason,
                related=tuple(sentences),
                corrected=corrected,
            )
        return Answer(question, tuple(sentences), known, unique, asked_at=stamp, corrected=corrected)

    def _prior_scale(self, top: float) -> float:
        """A power of two that lifts the highest prior by age to between 1/2 and 1, or 1.

        Search skips the passages that cannot reach the k-th best score seen, bounding each
        word's part by its unweighted score: with every article old (a prior near its floor,
        0.35) that bound is three times too high and little is skipped. Multiplying every prior
        and so every score by a power of two changes no ranking and no bit of a score once
        divided back, when the BM25 variant adds nothing for the words a passage lacks (lucene,
        okapi); the other variants are searched as they are.
        """
        if self.settings.bm25.variant not in ("lucene", "okapi") or not 2.0**-16 < top < 0.5:
            return 1.0
        return math.ldexp(1.0, -math.frexp(top)[1])

    def _days(self, state: IndexState) -> _Days:
        """The publication days of `state`'s articles and passages (computed once per state)."""
        dated = self._dated
        if dated is not None and dated[0] is state:
            return dated[1]
        days: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]] = {}
        error: CorruptIndexError | None = None
        for name, seg in zip(state.names, state.segments, strict=True):
            try:
                days[name] = self._segment_days[name] if name in self._segment_days else _article_days(seg)
            except CorruptIndexError as damage:
                # Damaged metadata: answering says so (and the next refresh rebuilds the
                # segment) rather than answer without knowing when its articles appeared.
                days[name] = (np.full(len(seg.articles), np.nan), np.zeros(len(seg.articles), dtype=np.bool_))
                error = error or damage
        self._segment_days = {n: d for n, d in days.items() if error is None or n in self._segment_days}
        articles = tuple(days[n][0] for n in state.names)
        quiz = tuple(days[n][1] for n in state.names)
        distinct, inverse = np.unique(np.concatenate(articles) if articles else np.zeros(0), return_inverse=True)
        bounds = np.cumsum([0] + [d.size for d in articles])
        pairs = list(zip(range(len(articles)), state.segments, strict=True))
        passage_day = (
            np.concatenate([inverse.ravel()[bounds[i] : bounds[i + 1]][np.asarray(s.pass_article)] for i, s in pairs])
            if pairs
            else np.zeros(0, dtype=np.int32)
        )
        passages = (
            np.concatenate([d[np.asarray(s.pass_article)] for d, s in zip(articles, state.segments, strict=True)])
            if state.segments
            else np.zeros(0)
        )
        result = _Days(articles, quiz, passages, distinct, passage_day.astype(np.int32), error)
        self._dated = (state, result)
        return result

    def _respell(self, state: IndexState, missing: Sequence[str]) -> dict[str, str]:
        """Match each question term that no passage holds to the nearest spelling in the index."""
        if not missing:
            return {}
        self._spellers.start(state, state.segments)
        speller = self._spellers.get(state)
        if speller is None:  # not built yet, and not waited for
            return {}
        fixes = {}
        for term in missing:
            fixed = speller.correct(term)
            # The speller counts every stored posting (an earlier state's speller may know terms
            # this state lacks); a term no live passage holds is no match.
            if fixed is not None and fixed != term and state.searcher.postings(fixed).df > 0:
                fixes[term] = fixed
        return fixes

    def _shown_fixes(
        self, asked: str, fixes: dict[str, str], sentences: Sequence[AnswerSentence]
    ) -> tuple[tuple[str, str], ...]:
        """Each corrected word as typed and as the quoted sentences print it (else its stem)."""
        if not fixes:
            return ()
        typed = {term: asked[a:b] for term, a, b in self.analyzer.spans(asked) if term in fixes}
        printed: dict[str, str] = {}
        for text in [s.text for s in sentences] + [s.source.title for s in sentences]:
            for term, a, b in self.analyzer.spans(text):
                printed.setdefault(term, text[a:b])
        return tuple((typed.get(t, t), printed.get(f, f)) for t, f in fixes.items())

    def context(self, article_id: str, sentence: int, *, radius: int = 2) -> Context | None:
        """Return the sentences around sentence `sentence` of an article, or None if gone."""
        state = self.state
        where = state.by_id.get(article_id)
        if where is None:
            return None
        seg = state.segments[where[0]]
        first, last = int(seg.article_first[where[1]]), int(seg.article_first[where[1] + 1])
        if not 0 <= sentence < last - first:
            return None
        lo, hi = max(first, first + sentence - radius), min(last, first + sentence + radius + 1)
        try:
            texts = tuple(seg.sentence_text(s) for s in range(lo, hi))
            return Context(_source(seg.articles[where[1]]), texts, first + sentence - lo)
        except DamagedSegmentError as error:
            self._damaged.add(state.names[where[0]])
            log.error("cannot show context: %s", error)
            return None

    # -- describing --------------------------------------------------------------------

    @property
    def articles(self) -> Sequence[Source]:
        """Metadata of every live article."""
        state = self.state
        return [_source(state.segments[si].articles[ai]) for si, ai in state.by_id.values()]

    @property
    def stats(self) -> IndexStats:
        """What the index holds."""
        state = self.state
        # One article's metadata at a time: a list of them all would take more memory than
        # the index's serving state at a few million passages.
        outlets: Counter[str] = Counter()
        dates: list[str] = []
        for si, ai in state.by_id.values():
            article = _source(state.segments[si].articles[ai])
            if article.source:
                outlets[article.source] += 1
            if article.published[:4].isdigit():
                day = article.published[:10]
                dates = [min(dates[0], day), max(dates[1], day)] if dates else [day, day]
        for segment in state.segments:
            release_pages(segment)
        vocabs = [np.asarray(s.vocab) for s in state.segments]
        if len(vocabs) == 1:
            terms = int(vocabs[0].size)
        else:
            terms = int(np.unique(np.concatenate(vocabs)).size) if vocabs else 0
        return IndexStats(
            articles=len(state.by_id),
            passages=state.searcher.n_live,
            terms=terms,
            sources=tuple(sorted(outlets.items(), key=lambda kv: (-kv[1], kv[0]))),
            earliest=dates[0] if dates else "",
            latest=dates[-1] if dates else "",
            size_bytes=index_size(self.index_dir),
        )

    def passage_terms(self, passage: int) -> list[str]:
        """Return the analysed terms of a passage (its global id), as the index holds them."""
        searcher = self.state.searcher
        seg = int(np.searchsorted(searcher.bases, passage, side="right")) - 1
        segment = self.state.segments[seg]
        ids = segment.passage_term_ids(passage - int(searcher.bases[seg]))
        return [w.decode("utf-8") for w in np.asarray(segment.vocab)[ids]]


def _article_days(segment: Segment) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """The publication day of each article of a segment (NaN where unknown), and whether its
    headline is a quiz page's (`select.quiz_headline`).

    Read when a segment joins the index, for all of its articles (a hundred thousand at a
    million passages): each field is found in the JSON record as `json.dumps` writes it, and
    a record that holds it any other way (escapes in the value, a headline elsewhere in the
    record too) is parsed whole.
    """
    known: dict[bytes, float] = {}  # many articles share a day: each distinct field is parsed once
    days = []
    quiz = []
    for block, ends in segment.articles.records.raw_blocks():
        maybe = _may_hold_quiz(block)
        start = 0
        for end in ends.tolist():
            record = block[start:end]
            start = end
            parsed: dict[str, Any] | None = None
            found = _PUBLISHED.search(record)
            field = found.group(1) if found else b"published" if b"published" in record else b""
            day = known.get(field)
            if day is None:
                if field == b"published":
                    parsed = json.loads(record)
                published = parsed.get("published", "") if parsed is not None else field.decode()
                day = published_day(published)
                if field != b"published":
                    known[field] = day
            days.append(day)
            quiz.append(maybe and quiz_headline(_title(record, parsed)))
    # Every record was read: what an answer needs is read back.
    release_pages(segment)
    return np.array(days, dtype=np.float64), np.array(quiz, dtype=np.bool_)


def _may_hold_quiz(block: bytes) -> bool:
    """Whether a block of metadata records may hold a quiz page's headline.

    In a block of ASCII without escapes, every headline is there as it is: one that
    `select.quiz_headline` finds holds "quiz" or "question" in some case.
    """
    if b"\\" in block or not block.isascii():
        return True
    lower = block.lower()
    return b"quiz" in lower or b"question" in lower


def _title(record: bytes, parsed: dict[str, Any] | None) -> str:
    """An article's headline from its metadata record (`parsed`, when it was parsed already)."""
    at = record.find(_TITLE)
    stop = record.find(b'"', at + len(_TITLE)) if at >= 0 else -1
    plain = record[at + len(_TITLE) : stop] if stop >= 0 else b"\\"
    # Outlets that printed it too have headlines of their own, in the same record.
    if b"\\" in plain or record.find(_TITLE, stop) >= 0 or _ALSO in record:
        return str((parsed if parsed is not None else json.loads(record)).get("title", ""))
    return plain.decode()
