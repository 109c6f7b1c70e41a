"""Stage 7 of load → split → analyze → index → search → select → answer: the answer engine.

`Engine.open` brings the index on disk up to date with the corpus (building it, loading it,
or indexing only the files that changed into a new segment) and `Engine.answer` turns a
question into the sentences that answer it. `answer` is pure, thread-safe and never raises
for any question; "no answer" is an `Answer` without sentences.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.analyze import Analyzer
from retrieval.errors import CorpusError, CorruptIndexError
from retrieval.index import SEGMENT_FORMAT, Progress, Segment, build_segment, load_segment, save_segment
from retrieval.load import corpus_files, load_file, read_mentions
from retrieval.models import (
    Answer,
    AnswerSentence,
    Article,
    Context,
    IndexStats,
    LoadProblem,
    Source,
)
from retrieval.search import PassageHit, Searcher
from retrieval.select import select_sentences
from retrieval.settings import Settings
from retrieval.store import FileEntry, Manifest, index_size, locked, read_manifest, sweep, write_manifest

log = logging.getLogger(__name__)

# Questions are cut here before analysis: nobody asks in more words, and a pasted essay
# must not cost more than a question.
MAX_QUESTION_CHARS = 1000
MAX_QUESTION_TERMS = 32


@dataclass(frozen=True, slots=True)
class _State:
    """An immutable view of the index: swapped whole when the corpus changes."""

    segments: tuple[Segment, ...]
    names: tuple[str, ...]
    searcher: Searcher
    by_id: dict[str, tuple[int, int]]
    problems: tuple[LoadProblem, ...]


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

    def __init__(self, corpus: Path, index_dir: Path, settings: Settings) -> None:
        self.corpus = corpus
        self.index_dir = index_dir
        self.settings = settings
        self.analyzer = Analyzer(settings.analysis)
        self._root = corpus if corpus.is_dir() else corpus.parent
        self.new_problems: tuple[LoadProblem, ...] = ()
        self._lock = threading.Lock()
        self._state: _State | None = None

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
    ) -> Engine:
        """Open the index of `corpus` in `index_dir`, building or updating it as needed."""
        corpus, index_dir = Path(corpus).resolve(), Path(index_dir).resolve()
        if corpus.is_dir() and (index_dir == corpus or corpus in index_dir.parents):
            raise CorpusError(f"{index_dir}: the index directory must be outside the corpus {corpus}")
        engine = cls(corpus, index_dir, settings or Settings())
        engine.refresh(progress=progress, rebuild=rebuild)
        return engine

    @property
    def fingerprint(self) -> str:
        """Changes whenever a setting that shapes the index changes."""
        p = self.settings.passages
        return f"{SEGMENT_FORMAT}|{self.analyzer.fingerprint}|passages={p.size},{p.overlap},{p.title}"

    def refresh(self, *, progress: Progress | None = None, rebuild: bool = False) -> bool:
        """Bring the index up to date with the corpus; return whether anything changed."""
        with self._lock, locked(self.index_dir):
            return self._refresh(progress, rebuild)

    def _refresh(self, progress: Progress | None, rebuild: bool) -> bool:
        files = corpus_files(self.corpus)
        root: Path = self._root
        manifest = None if rebuild else read_manifest(self.index_dir)
        if manifest is not None and (manifest.fingerprint != self.fingerprint or manifest.corpus != str(self.corpus)):
            manifest = None
        segments: dict[str, Segment] = {}
        # Segments never change once written: those already open are not read again.
        open_now = dict(zip(self._state.names, self._state.segments, strict=True)) if self._state else {}
        if manifest is not None:
            try:
                for name in manifest.segments:
                    segments[name] = open_now.get(name) or load_segment(self.index_dir / name)
            except CorruptIndexError as error:
                log.warning("index cannot be trusted, rebuilding: %s", error)
                manifest, segments = None, {}
        changed = manifest is None
        if manifest is None:
            manifest = Manifest(fingerprint=self.fingerprint, corpus=str(self.corpus))

        current = {}
        for path in files:
            st = path.stat()
            current[path.relative_to(root).as_posix()] = (path, st.st_size, st.st_mtime_ns)
        stale = [
            name
            for name, entry in manifest.files.items()
            if name not in current or (entry.size, entry.mtime_ns) != current[name][1:]
        ]
        for name in stale:
            entry = manifest.files.pop(name)
            if entry.segment is not None and entry.articles:
                manifest.deleted.setdefault(entry.segment, []).extend(entry.articles)
            changed = True
        fresh = [name for name in current if name not in manifest.files]
        problems: list[LoadProblem] = []
        if fresh:
            changed = True
            live_ids = self._live_ids(manifest, segments)
            articles: list[Article] = []
            for name in sorted(fresh):
                path, size, mtime = current[name]
                loaded, found = load_file(path, root=root)
                entry = FileEntry(size=size, mtime_ns=mtime, problems=[(p.reason, p.line) for p in found])
                problems.extend(found)
                for article in loaded:
                    if article.id in live_ids:
                        problem = LoadProblem(name, f"duplicate article id {article.id!r}, skipped")
                        problems.append(problem)
                        entry.problems.append((problem.reason, None))
                        continue
                    live_ids.add(article.id)
                    entry.articles.append(len(articles))
                    articles.append(article)
                manifest.files[name] = entry
            if articles:
                seg_name = f"seg-{uuid.uuid4().hex[:12]}"
                segment = build_segment(articles, self.analyzer, self.settings.passages, progress=progress)
                save_segment(segment, self.index_dir / seg_name)
                segments[seg_name] = segment
                manifest.segments.append(seg_name)
                for name in fresh:
                    if manifest.files[name].articles:
                        manifest.files[name].segment = seg_name
        # A segment whose every article is deleted is dropped from the manifest.
        for name in list(manifest.segments):
            if len(set(manifest.deleted.get(name, ()))) >= len(segments[name].articles):
                manifest.segments.remove(name)
                manifest.deleted.pop(name, None)
                segments.pop(name)
        if changed or self._state is None:
            if changed:
                write_manifest(self.index_dir, manifest)
            sweep(self.index_dir, set(manifest.segments))
            self._state = self._make_state(manifest, segments)
        self.new_problems = tuple(problems)
        return changed

    @staticmethod
    def _live_ids(manifest: Manifest, segments: dict[str, Segment]) -> set[str]:
        ids: set[str] = set()
        for name in manifest.segments:
            dead = set(manifest.deleted.get(name, ()))
            ids.update(a for i, a in enumerate(segments[name].articles.ids) if i not in dead)
        return ids

    def _make_state(self, manifest: Manifest, segments: dict[str, Segment]) -> _State:
        names = tuple(manifest.segments)
        segs = tuple(segments[n] for n in names)
        live = []
        by_id: dict[str, tuple[int, int]] = {}
        for si, (name, seg) in enumerate(zip(names, segs, strict=True)):
            dead = sorted(set(manifest.deleted.get(name, ())))
            live.append(None if not dead else ~np.isin(np.asarray(seg.pass_article), dead))
            dead_set = set(dead)
            for ai, article_id in enumerate(seg.articles.ids):
                if ai not in dead_set:
                    by_id[article_id] = (si, ai)
        problems = tuple(
            LoadProblem(name, reason, line)
            for name, entry in sorted(manifest.files.items())
            for reason, line in entry.problems
        )
        return _State(segs, names, Searcher(segs, live, self.settings.bm25), by_id, problems)

    # -- asking ------------------------------------------------------------------------

    @property
    def state(self) -> _State:
        assert self._state is not None, "Engine.open() builds the state"
        return self._state

    @property
    def problems(self) -> tuple[LoadProblem, ...]:
        """Every corpus file problem recorded in the index."""
        return self.state.problems

    def question_terms(self, question: str) -> list[str]:
        """Analyse a question as passages are analysed, capped in length."""
        terms = self.analyzer.terms(question[:MAX_QUESTION_CHARS])
        if len(set(terms)) > MAX_QUESTION_TERMS:
            keep = set(list(dict.fromkeys(terms))[:MAX_QUESTION_TERMS])
            terms = [t for t in terms if t in keep]
        return terms

    def search(self, question: str, k: int = 10) -> list[PassageHit]:
        """Return the k best passages for a question."""
        return self.state.searcher.search(self.question_terms(question), k)

    def answer(self, question: str, *, limit: int | None = None) -> Answer:
        """Return the sentences that answer `question`, best first, or an empty Answer."""
        state = self.state
        known = len(state.by_id)
        if not isinstance(question, str):
            return Answer(question="", articles_known=known)
        terms = self.question_terms(question)
        limit = self.settings.answers.max_sentences if limit is None else max(1, limit)
        found = state.searcher.lookup(terms)
        hits = state.searcher.search(terms, self.settings.answers.candidate_passages, found=found)
        chosen = select_sentences(
            state.searcher,
            question,
            terms,
            hits,
            self.settings.answers,
            limit=limit,
            found=found,
        )
        wanted = set(terms)
        sentences = []
        for c in chosen:
            seg = state.segments[c.segment]
            meta = seg.articles[int(seg.sent_article[c.sentence])]
            matched = tuple((s, e) for term, s, e in self.analyzer.spans(c.text) if term in wanted)
            sentences.append(
                AnswerSentence(
                    text=c.text,
                    source=_source(meta),
                    score=round(c.score, 6),
                    matched=matched,
                    sentence=int(seg.sent_pos[c.sentence]),
                )
            )
        return Answer(question, tuple(sentences), known, tuple(dict.fromkeys(terms)))

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
        texts = tuple(seg.sentence_text(s) for s in range(lo, hi))
        return Context(_source(seg.articles[where[1]]), texts, first + sentence - lo)

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
        articles = self.articles
        outlets = Counter(a.source for a in articles if a.source)
        dates = sorted(a.published[:10] for a in articles if a.published[:4].isdigit())
        vocabs = [np.asarray(s.vocab) for s in state.segments]
        if len(vocabs) == 1:
            terms = int(vocabs[0].size)
        else:
            terms = int(np.unique(np.concatenate(vocabs)).size) if vocabs else 0
        return IndexStats(
            articles=len(articles),
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
