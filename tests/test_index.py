"""The index on disk: reused when fresh, updated when the corpus or settings change, never trusted when broken."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from retrieval import postings
from retrieval.analyze import Analyzer
from retrieval.engine import Engine
from retrieval.index import build_segment, encode_postings, load_segment, save_segment
from retrieval.models import Article
from retrieval.settings import AnalysisSettings, PassageSettings, Settings
from retrieval.store import LOCK, MANIFEST


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


def segments(index: Path) -> list[str]:
    return json.loads((index / MANIFEST).read_text())["segments"]


def test_a_fresh_index_is_loaded_not_rebuilt(corpus_dir: Path, tmp_path: Path) -> None:
    Engine.open(corpus_dir, tmp_path / "index")
    before = snapshot(tmp_path / "index")
    again = Engine.open(corpus_dir, tmp_path / "index")
    assert snapshot(tmp_path / "index") == before
    assert again.stats.articles == 4


def test_indexing_never_writes_into_the_corpus(corpus_dir: Path, tmp_path: Path) -> None:
    before = snapshot(corpus_dir)
    Engine.open(corpus_dir, tmp_path / "index").answer("who decides on negotiations")
    assert snapshot(corpus_dir) == before


def test_an_index_inside_the_corpus_is_refused(corpus_dir: Path) -> None:
    from retrieval.errors import CorpusError

    with pytest.raises(CorpusError, match="outside the corpus"):
        Engine.open(corpus_dir, corpus_dir / ".index")


@pytest.mark.parametrize(
    "settings",
    [
        Settings(analysis=AnalysisSettings(stemming=False)),
        Settings(analysis=AnalysisSettings(stopwords=False)),
        Settings(passages=PassageSettings(size=2, overlap=0)),
    ],
)
def test_changing_an_analysis_or_passage_setting_rebuilds(corpus_dir: Path, tmp_path: Path, settings: Settings) -> None:
    first = Engine.open(corpus_dir, tmp_path / "index")
    old = segments(tmp_path / "index")
    changed = Engine.open(corpus_dir, tmp_path / "index", settings)
    assert segments(tmp_path / "index") != old
    assert changed.fingerprint != first.fingerprint
    assert not (tmp_path / "index" / old[0]).exists()


def test_an_added_article_is_answerable_after_refresh(corpus_dir: Path, tmp_path: Path) -> None:
    engine = Engine.open(corpus_dir, tmp_path / "index")
    assert not engine.answer("Which volcano erupted in Iceland?").answered
    (corpus_dir / "volcano.txt").write_text(
        "Volcano erupts\n\nThe Fagradalsfjall volcano erupted in Iceland on Friday.\n"
    )
    assert engine.refresh().changed is True
    answer = engine.answer("Which volcano erupted in Iceland?")
    assert answer.sentences[0].text == "The Fagradalsfjall volcano erupted in Iceland on Friday."
    assert len(segments(tmp_path / "index")) == 2


def test_a_removed_article_is_no_longer_quoted(corpus_dir: Path, tmp_path: Path) -> None:
    engine = Engine.open(corpus_dir, tmp_path / "index")
    assert engine.answer("chess final in Oslo").answered
    (corpus_dir / "chess-final.txt").unlink()
    engine.refresh()
    assert not engine.answer("chess final in Oslo").answered
    assert engine.stats.articles == 3


def test_a_changed_article_is_quoted_as_it_now_reads(corpus_dir: Path, tmp_path: Path) -> None:
    engine = Engine.open(corpus_dir, tmp_path / "index")
    path = corpus_dir / "chess-final.txt"
    path.write_text(path.read_text().replace("61 moves", "75 moves"))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    engine.refresh()
    texts = [s.text for s in engine.answer("How many moves did the final game take?", limit=5).sentences]
    assert any("75 moves" in t for t in texts)
    assert not any("61 moves" in t for t in texts)


QUESTIONS = [
    "who decides on negotiations",
    "how much will the bridge repairs cost",
    "tea prices in October",
    "Ruiz chess title",
    "Russian troops withdrawal territory",
]


def test_updated_index_scores_exactly_as_a_full_rebuild(corpus_dir: Path, tmp_path: Path) -> None:
    engine = Engine.open(corpus_dir, tmp_path / "live")
    (corpus_dir / "chess-final.txt").unlink()
    (corpus_dir / "new.txt").write_text("Bridge news\n\nThe bridge repairs will cost more than the tea harvest.\n")
    path = corpus_dir / "harbour-bridge.md"
    path.write_text(path.read_text().replace("six weeks", "seven weeks"))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    engine.refresh()
    assert len(segments(tmp_path / "live")) > 1
    rebuilt = Engine.open(corpus_dir, tmp_path / "fresh")
    assert len(segments(tmp_path / "fresh")) == 1
    for question in QUESTIONS:
        ours = [(h.score, engine.passage_terms(h.passage)) for h in engine.search(question, 20)]
        theirs = [(h.score, rebuilt.passage_terms(h.passage)) for h in rebuilt.search(question, 20)]
        assert [t for _, t in ours] == [t for _, t in theirs]
        np.testing.assert_allclose([s for s, _ in ours], [s for s, _ in theirs], rtol=0, atol=1e-9)
        assert engine.answer(question) == rebuilt.answer(question)


def test_compacting_merges_segments_into_one(corpus_dir: Path, tmp_path: Path) -> None:
    engine = Engine.open(corpus_dir, tmp_path / "index")
    (corpus_dir / "new.txt").write_text("Bridge news\n\nThe bridge repairs will cost more than planned.\n")
    engine.refresh()
    before = engine.answer("bridge repairs cost")
    compacted = Engine.open(corpus_dir, tmp_path / "index", rebuild=True)
    assert len(segments(tmp_path / "index")) == 1
    assert compacted.answer("bridge repairs cost") == before
    assert sorted(p.name for p in (tmp_path / "index").iterdir()) == sorted(
        [LOCK, MANIFEST, *segments(tmp_path / "index")]
    )


def break_manifest(index: Path) -> None:
    (index / MANIFEST).write_text("{not json")


def break_array(index: Path) -> None:
    seg = index / segments(index)[0]
    with open(seg / "post_bytes.npy", "ab") as fh:
        fh.write(b"\0" * 16)


def truncate_array(index: Path) -> None:
    seg = index / segments(index)[0]
    data = (seg / "sent_terms.npy").read_bytes()
    (seg / "sent_terms.npy").write_bytes(data[: len(data) // 2])


def flip_a_posting(index: Path) -> None:
    """Damage that keeps every size: passage ids made to point past the end."""
    seg = index / segments(index)[0]
    path = seg / "block_last.npy"
    array = np.load(path)
    array[:] = 10**6
    with open(path, "r+b") as fh:
        fh.seek(len(fh.read()) - array.nbytes)
        fh.write(array.tobytes())


def lose_segment(index: Path) -> None:
    shutil.rmtree(index / segments(index)[0])


def foreign_manifest(index: Path) -> None:
    (index / MANIFEST).write_text(json.dumps({"format": "someone-else/3", "segments": []}))


@pytest.mark.parametrize(
    "damage", [break_manifest, break_array, truncate_array, flip_a_posting, lose_segment, foreign_manifest]
)
def test_a_damaged_index_is_rebuilt_not_trusted(corpus_dir: Path, tmp_path: Path, damage) -> None:
    expected = Engine.open(corpus_dir, tmp_path / "index").answer("who decides on negotiations")
    damage(tmp_path / "index")
    engine = Engine.open(corpus_dir, tmp_path / "index")
    assert engine.answer("who decides on negotiations") == expected
    assert engine.stats.articles == 4


CRASHER = """
import os, sys
from pathlib import Path
import retrieval.maintain as engine_module
from retrieval.engine import Engine

stage = sys.argv[3]
real_save, real_write = engine_module.save_segment, engine_module.write_manifest

def save(segment, directory):
    if stage == "segment":
        # die half way through writing the segment's files
        tmp = directory.with_name(directory.name + ".tmp")
        tmp.mkdir(parents=True)
        (tmp / "post_bytes.npy").write_bytes(b"half")
        os._exit(9)
    return real_save(segment, directory)

def write(index_dir, manifest):
    if stage == "manifest":
        (index_dir / "manifest.json.tmp").write_text('{"format": "newsbot-index/1", "segm')
        os._exit(9)
    return real_write(index_dir, manifest)

engine_module.save_segment, engine_module.write_manifest = save, write
Engine.open(Path(sys.argv[1]), Path(sys.argv[2]))
"""


@pytest.mark.parametrize("stage", ["segment", "manifest"])
def test_an_update_killed_half_way_leaves_a_usable_index(corpus_dir: Path, tmp_path: Path, stage: str) -> None:
    index = tmp_path / "index"
    before = Engine.open(corpus_dir, index).answer("who decides on negotiations")
    (corpus_dir / "volcano.txt").write_text(
        "Volcano erupts\n\nThe Fagradalsfjall volcano erupted in Iceland on Friday.\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", CRASHER, str(corpus_dir), str(index), stage],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 9, result.stderr
    # The old index is still whole: its manifest names only complete segments.
    assert len(segments(index)) == 1
    engine = Engine.open(corpus_dir, index)
    assert [s.text for s in engine.answer("who decides on negotiations").sentences] == [
        s.text for s in before.sentences
    ]
    assert engine.answer("Which volcano erupted in Iceland?").answered
    assert not any(p.name.endswith(".tmp") for p in index.iterdir())


def test_a_build_analysed_a_few_articles_at_a_time_equals_one_analysed_whole(
    corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrieval import index as index_module
    from retrieval.load import load_corpus

    articles = load_corpus(corpus_dir).articles * 3
    whole = index_module.build_segment(articles, Analyzer(), PassageSettings())
    monkeypatch.setattr(index_module, "CHUNK_ARTICLES", 2)
    chunked = index_module.build_segment(articles, Analyzer(), PassageSettings())
    assert list(chunked.articles) == list(whole.articles)
    for name in index_module._ARRAYS:
        np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name), err_msg=name)


def test_a_chunk_without_some_articles_assembles_as_those_articles_analysed_alone(corpus_dir: Path) -> None:
    from retrieval import index as index_module
    from retrieval.load import load_corpus

    articles = load_corpus(corpus_dir).articles * 2
    keep = np.array([i % 3 != 1 for i in range(len(articles))])
    alone = build_segment([a for a, k in zip(articles, keep, strict=True) if k], Analyzer(), PassageSettings())
    vocabularies = index_module.Vocabularies()
    chunk = index_module._analyse(articles, index_module._TermIds(Analyzer()), PassageSettings())
    vocabularies.add(chunk)
    kept = index_module.assemble_segment(
        [index_module.select_articles(chunk, keep)], vocabularies, PassageSettings()
    )
    assert list(kept.articles) == list(alone.articles)
    for name in index_module._ARRAYS:
        np.testing.assert_array_equal(getattr(kept, name), getattr(alone, name), err_msg=name)


SENTENCES = [
    "The U.S. and U.K. ministers met on Monday; 1,500 troops (3.5% of them reservists) left.",
    "Ukraine’s president said it's the G20's turn — naïve Café owners agreed.",
    "東京 hosted the talks. 日本語 text, émigrés and e\u0301te\u0301 all count: ²½ Ⅻ 😀.",
    "qzxjbreakjxzq is a word too, as are snake_case and high-ranking.",
    "Who is it that they are?",
]


@pytest.mark.parametrize("title", [True, False])
def test_a_segment_built_by_the_compiled_tokeniser_equals_the_regex_built_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, title: bool
) -> None:
    from retrieval import index as index_module

    articles = [
        Article(
            id=f"a{i}",
            title=SENTENCES[(i + 3) % len(SENTENCES)].upper(),
            text=" ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(i % 4 + 1)),
            source="wire",
            url=f"https://example.org/{i}",
            published="2024-05-01",
        )
        for i in range(12)
    ]
    passages = PassageSettings(size=2, overlap=1, title=title)
    monkeypatch.setattr(index_module, "CHUNK_ARTICLES", 5)
    monkeypatch.setattr(index_module, "COMPILED_MIN_CHARS", 0)
    built = {}
    for compiled in (False, True):
        monkeypatch.setattr(index_module, "COMPILED_TOKENS", compiled)
        built[compiled] = build_segment(articles, Analyzer(), passages)
    for name in index_module._ARRAYS:
        np.testing.assert_array_equal(getattr(built[True], name), getattr(built[False], name), err_msg=name)
    assert built[True].vocab.size > 30
    assert list(built[True].articles) == list(built[False].articles)


REBUILDER = """
import sys
from pathlib import Path
from retrieval.engine import Engine
for _ in range(3):
    Engine.open(Path(sys.argv[1]), Path(sys.argv[2]), rebuild=True)
"""


def test_two_processes_updating_one_index_take_turns(corpus_dir: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    expected = Engine.open(corpus_dir, index).answer("who decides on negotiations")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", REBUILDER, str(corpus_dir), str(index)],
            cwd=Path(__file__).resolve().parent.parent,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert len(segments(index)) == 1
    assert sorted(p.name for p in index.iterdir()) == sorted([LOCK, MANIFEST, *segments(index)])
    assert Engine.open(corpus_dir, index).answer("who decides on negotiations") == expected


STALLED_BUILD = """
import os, sys, time
from pathlib import Path
from retrieval import workers
from retrieval.engine import Engine

workers.PARALLEL_MIN_BYTES = 0
workers.os.cpu_count = lambda: 2

def stall(item, state):
    with open(sys.argv[3], "a") as fh:
        fh.write(f"{os.getpid()}\\n")
    time.sleep(600)

workers._lines = workers._articles = stall
Engine.open(Path(sys.argv[1]), Path(sys.argv[2]))
"""


def test_a_killed_builds_workers_do_not_hold_the_index_lock(corpus_dir: Path, tmp_path: Path) -> None:
    import fcntl
    import signal

    index, started = tmp_path / "index", tmp_path / "workers"
    build = subprocess.Popen(
        [sys.executable, "-c", STALLED_BUILD, str(corpus_dir), str(index), str(started)],
        cwd=Path(__file__).resolve().parent.parent,
    )
    workers: list[int] = []
    try:
        for _ in range(600):  # until a worker has started analysing (at most a minute)
            if started.exists() and started.read_text().strip():
                break
            time.sleep(0.1)
        workers = [int(pid) for pid in started.read_text().split()]
        build.send_signal(signal.SIGKILL)
        build.wait(timeout=60)
        with open(index / LOCK, "a") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if a worker still held it
        # The workers end with the build that forked them (at most a minute to be sure).
        for _ in range(600):
            if not any(_running(pid) for pid in workers):
                break
            time.sleep(0.1)
        assert not any(_running(pid) for pid in workers)
    finally:
        build.kill()
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    """Whether a process is alive (a zombie, ended but not yet reaped, is not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.parametrize("repeats", [3, 300, 70_000])
def test_term_counts_read_back_as_counted(tmp_path: Path, repeats: int) -> None:
    text = "The gong sounded. " + "Gong " * repeats + "went the gong all night."
    segment = build_segment(
        [Article(id="g", title="Gong", text=text)], Analyzer(Settings().analysis), PassageSettings()
    )
    save_segment(segment, tmp_path / "seg")
    loaded = load_segment(tmp_path / "seg")
    docs, tfs = loaded.term_postings(loaded.term_id("gong"))
    # One passage (headline and both sentences); a count past 65,535 is kept as 65,535.
    assert (docs.tolist(), tfs.tolist()) == ([0], [min(repeats + 3, 65_535)])
    assert int(loaded.term_max_tf.max()) == min(repeats + 3, 65_535)
    assert [loaded.sentence_text(s) for s in range(loaded.n_sentences)] == [
        "The gong sounded.",
        "Gong " * repeats + "went the gong all night.",
    ]


def test_each_terms_postings_read_back_as_they_were_encoded(tmp_path: Path) -> None:
    articles = [
        Article(id=f"a{i}", title=f"Harbour news {i}", text=f"Boats sail at dawn. Gulls follow {i} boats. Rain fell.")
        for i in range(12)
    ]
    segment = build_segment(articles, Analyzer(Settings().analysis), PassageSettings(size=1, overlap=0))
    save_segment(segment, tmp_path / "seg")
    loaded = load_segment(tmp_path / "seg")
    boat = loaded.term_id("boat")
    docs, tfs = loaded.term_postings(boat)
    # A passage is one sentence (with its headline): the first two of each article hold "boats".
    assert docs.tolist() == [p for p in range(36) if p % 3 in (0, 1)]
    assert tfs.tolist() == [1] * 24
    # Each term's parts, appended in order as the contract says, are the segment's arrays.
    data, last, ends, top, short = bytearray(), [], [], [], []
    for term in range(loaded.vocab.size):
        docs, tfs = loaded.term_postings(term)
        stored = encode_postings(np.array([0, docs.size]), docs, tfs, loaded.doc_len)
        part, part_last, part_ends = stored["post_bytes"], stored["block_last"], stored["block_end"]
        ends.extend((part_ends + len(data)).tolist())
        data += part.tobytes()
        last.extend(part_last.tolist())
        top.extend(stored["block_max_tf"].tolist())
        short.extend(stored["block_min_len"].tolist())
    assert bytes(data) == loaded.post_bytes.tobytes()
    assert (last, ends) == (loaded.block_last.tolist(), loaded.block_end.tolist())
    assert (top, short) == (loaded.block_max_tf.tolist(), loaded.block_min_len.tolist())


@pytest.mark.parametrize("size", [1, 127, 128, 129, 1000])
def test_postings_of_any_length_read_back_whole_or_in_part(size: int) -> None:
    rng = np.random.default_rng(size)
    docs = np.sort(rng.choice(3_000_000, size=size, replace=False)).astype(np.int32)
    tfs = rng.choice([1, 1, 1, 2, 200, 40_000], size=size).astype(np.uint16)
    doc_len = rng.integers(1, 70_000, size=3_000_000).astype(np.int32)
    stored = encode_postings(np.array([0, size]), docs, tfs, doc_len)
    data, last, ends = stored["post_bytes"], stored["block_last"], stored["block_end"]
    assert last.tolist() == docs[127::128].tolist() + ([] if size % 128 == 0 else [int(docs[-1])])
    cuts = range(0, size, 128)
    assert stored["block_max_tf"].tolist() == [int(tfs[c : c + 128].max()) for c in cuts]
    assert stored["block_min_len"].tolist() == [int(doc_len[docs[c : c + 128]].min()) for c in cuts]
    got_docs, got_tfs = postings.decode(data, last, ends, 0, last.size, size)
    assert (got_docs.tolist(), got_tfs.tolist()) == (docs.tolist(), tfs.tolist())
    head = min(size, 5)
    assert postings.decode(data, last, ends, 0, 1, head)[0].tolist() == docs[:head].tolist()


SMALL_BUILD = """
import sys
import retrieval.index as index_module
from retrieval import tokens
from retrieval.analyze import Analyzer
from retrieval.models import Article
from retrieval.settings import PassageSettings
index_module.COMPILED_MIN_CHARS = int(sys.argv[1])
article = Article(id="a1", title="Harbour news", text="The harbour opened on Monday. Boats came in.",
                  source="wire", url="https://example.org/1", published="2024-05-01")
segment = index_module.build_segment([article], Analyzer(), PassageSettings())
print(tokens.loaded(), segment.vocab.size)
"""


@pytest.mark.parametrize(("min_chars", "expected"), [(1 << 20, "False"), (0, "True")])
def test_a_small_build_finds_tokens_without_loading_the_compiled_scan(min_chars: int, expected: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SMALL_BUILD, str(min_chars)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    loaded, terms = done.stdout.split()
    assert loaded == expected
    assert int(terms) > 3
