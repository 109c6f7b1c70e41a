"""Read the corpus into `Article` records: the first stage of the pipeline.

    **load** → split → analyze → index → search → select → answer

A corpus is a folder (searched recursively) or a single file. Three formats:

- `.txt`: the first non-empty line is the headline, then the body. `Published:`/`Date:`/`URL:`
  lines next to the headline or at the end, and a trailing `Source: NAME` line, are metadata;
  page residue (`Leave a Reply`, `Read also: …`, `Share this:` …) is dropped line by line.
- `.md`: front matter (`title`, `source`, `url`, `published`, `language`), then the body;
  without a front-matter title, a leading `# Heading` is the headline. The front matter is
  YAML, read by PyYAML's parser as its `BaseLoader` reads it: every value stays text
  (`language: no` is "no", a date stays as written). The keys above take one line of plain,
  'single-' or "double-quoted" text; other keys may hold anything YAML allows, and are skipped.
  `also_reported_by` is a list of `{source, title, url}` mappings (fetched articles write it
  as JSON on one line): the other outlets that printed the same story.
- `.jsonl`: one article a line, `{"id", "title", "source", "url", "published", "text"}`.

A file or line that cannot be used becomes a `LoadProblem` and is skipped; the rest still
loads. So does every folder that cannot be searched, every name that is not valid UTF-8, and
every link that is broken, loops, or leads out of the corpus folder (followed only with
`follow_links`). A file bigger than `MAX_ARTICLE_BYTES` (a `.jsonl` line, for that format) is
skipped unread, so one enormous file cannot exhaust memory. Loading only reads: nothing in the
corpus folder is ever written.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import errno
import json
import mmap
import os
import re
import unicodedata
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import xxhash
import yaml

from retrieval.clean import clean_body
from retrieval.errors import CorpusError
from retrieval.models import Article, Corpus, LoadProblem, Mention

__all__ = [
    "FileRead",
    "Lines",
    "drop_duplicates",
    "line_breaks",
    "parse_lines",
    "read_file_pieces",
    "read_file",
    "read_file_parts",
    "MAX_ARTICLE_BYTES",
    "SUFFIXES",
    "corpus_files",
    "load_corpus",
    "load_file",
    "mentions_json",
    "normalize_date",
    "read_mentions",
    "scan_corpus",
]

SUFFIXES = (".jsonl", ".md", ".txt")
# Causes of a failed read that can go away while the file stays as it is: tried again next time.
_TRANSIENT = {errno.EACCES, errno.EPERM, errno.ENOENT, errno.EIO, errno.EAGAIN, errno.EBUSY, errno.ESTALE}
# No news article comes near this; a file (or .jsonl line) over it is reported, not read.
MAX_ARTICLE_BYTES = 4 << 20

# Articles with the line they came from (known for .jsonl only), and one parse's outcome.
_Found = list[tuple[Article, int | None]]
_Keyed = list[tuple[str, Article, int | None]]
_Parsed = tuple[Article | None, LoadProblem | None]

# Whole lines that scraped pages leave behind; each must match the entire stripped line.
_RESIDUE = re.compile(
    r"""
      leave\ a\ (?:reply|comment)(?:\ cancel\ reply)?
    | (?:read\ also|read\ more|see\ also|related)\ ?:.*
    | read\ more\W*
    | (?:share|like)\ this\ ?:?
    | loading(?:\.\.\.|…)
    | click\ to\ (?:share|print|email).*
    | advertisement
    | subscribe\b.{0,80}
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Length caps keep a body sentence that happens to start with "Date:" from being eaten.
_TXT_META = re.compile(
    r"""
      (?:published|date)\ ?:\s*(?P<published>\S.{0,39})
    | url\ ?:\s*(?P<url>https?://\S+)
    | source\ ?:\s*(?P<source>\S.{0,99})
    """,
    re.IGNORECASE | re.VERBOSE,
)
_NEWLINE = re.compile(rb"\r\n|\r|\n")
_BLANK_RUN = re.compile(r"\n\n\n+")
_MD_HEADING = re.compile(r"#\s+(\S.*?)(?:\s+#+)?")
_META_KEYS = ("title", "source", "url", "published", "language")
_MENTIONS = "also_reported_by"
_AFTER_QUOTE = re.compile(r"(?:[ \t]+#.*)?")
_NULLS = ("~", "null", "Null", "NULL")
_NOT_A_TOKEN = re.compile(r"found character '(.+)' that cannot start any token")
_UNKNOWN_ESCAPE = re.compile(r"found unknown escape character '?([^']*)'?")
# What a YAML indicator in a plain value means to PyYAML, and the character to quote.
_MISPLACED = {
    "sequence entries are not allowed here": "a value starting with '-' must be quoted",
    "mapping keys are not allowed here": "a value starting with '?' must be quoted",
    "mapping values are not allowed here": "a value holding ': ' must be quoted",
}
_DATE_FORMATS = (
    "%B %d, %Y",
    "%b %d, %Y",
    "%b. %d, %Y",
    "%B %d %Y",
    "%b %d %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%d %b. %Y",
    "%Y/%m/%d",
)


def corpus_files(path: str | Path) -> list[Path]:
    """List the corpus files under `path` (a folder, searched recursively, or one .jsonl/.txt/.md file), sorted."""  # noqa: E501
    return _find_files(Path(path))[0]


def scan_corpus(path: str | Path, *, follow_links: bool = False) -> tuple[list[Path], list[LoadProblem]]:
    """List the corpus files under `path`, with the folders, names and links that were skipped."""
    return _find_files(Path(path), follow_links=follow_links)


@dataclass(frozen=True, slots=True)
class FileRead:
    """One corpus file read against the articles an index already holds from it.

    Every article has a content key: a hash of its `.jsonl` line (with the line number when
    the line has no id, since the id then derives from it) or of its whole `.txt`/`.md` file.
    An article whose key is `known` is not parsed again: its key is listed in `unchanged`.
    When the file only grew (`grown`), only the lines after its old end were read: every
    article it held before is unchanged and `unchanged` is empty.
    """

    articles: tuple[tuple[str, Article, int | None], ...]
    unchanged: tuple[str, ...]
    problems: tuple[LoadProblem, ...]
    digest: str = ""
    size: int = 0
    grown: bool = False
    breaks: int = 0  # line breaks in the file as read (a .jsonl file's lines are numbered by them)


def read_file(
    path: Path, *, root: Path, known: Container[str] = (), before: tuple[int, str, int] | None = None
) -> FileRead:
    """Read one corpus file, parsing only the articles whose content key is not `known`.

    `before` is the (size, digest, line breaks) of the file when last read: a `.jsonl` file
    that still starts with exactly those bytes is read from there on only.
    """
    if before is not None and path.suffix.lower() == ".jsonl":
        grown = _read_grown(path, _relative(path, root), known, before)
        if grown is not None:
            return grown
    return _read_file(path, root=root, known=known)


# A .jsonl file is read this many bytes (whole lines) at a time by `read_file_parts`.
PART_BYTES = 16 << 20


def read_file_parts(path: Path, *, root: Path, part_bytes: int = PART_BYTES) -> Iterator[FileRead]:
    """Read a corpus file new to the index a part at a time: what `read_file` returns, in pieces.

    A `.jsonl` file is parsed `part_bytes` of whole lines at a time, so a file of any size is
    read in bounded memory; each part carries its articles and problems, and a last part
    with none carries the file's digest, size and line breaks (a problem that keeps the whole
    file out comes alone, in the one part). Any other file is one part.
    """
    for piece in read_file_pieces(path, root=root, part_bytes=part_bytes):
        yield parse_lines(piece) if isinstance(piece, Lines) else piece


@dataclass(frozen=True, slots=True)
class Lines:
    """Whole lines of a `.jsonl` file, read but not parsed: `parse_lines` makes them a `FileRead`.

    `first` is the number of the first line, `offset` the byte where it starts in the file,
    `breaks` the line breaks the bytes hold (so the next run's first line is known unparsed).
    """

    data: bytes
    relative: str
    first: int
    offset: int
    breaks: int


def parse_lines(lines: Lines) -> FileRead:
    """Parse a run of `.jsonl` lines (in any process): their articles and problems."""
    found, problems, breaks = _read_jsonl(lines.data, lines.relative, (), [], first=lines.first, offset=lines.offset)
    if breaks != lines.breaks:
        counted = f"{breaks} line breaks parsed from line {lines.first}, {lines.breaks} counted"
        raise AssertionError(f"{lines.relative}: {counted}")
    return FileRead(tuple(found), (), tuple(problems))


def line_breaks(data: bytes) -> int:
    """The line breaks in `data` as `.jsonl` lines are numbered: CR LF, a lone CR, or LF."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def read_file_pieces(path: Path, *, root: Path, part_bytes: int = PART_BYTES) -> Iterator[FileRead | Lines]:
    """What `read_file_parts` yields, with a `.jsonl` file's parts left unparsed (`Lines`).

    The parts can then be parsed elsewhere (an analysis worker) while the next is read.
    """
    if path.suffix.lower() != ".jsonl":
        yield _read_file(path, root=root, known=())
        return
    relative = _relative(path, root)
    try:
        with open(path, "rb") as fh:
            # First a pass that only looks: a NUL anywhere makes the whole file binary.
            empty, binary = True, False
            while chunk := fh.read(part_bytes):
                binary = binary or b"\x00" in chunk
                empty = empty and chunk.isspace()
            size = fh.tell()
            if binary or empty:
                # The one-read path says which, with the digest, as for any other file.
                yield _read_file(path, root=root, known=())
                return
            fh.seek(0)
            hasher = xxhash.xxh3_128()
            line, offset, carry = 1, 0, b""
            while True:
                more = fh.read(min(part_bytes, size - offset - len(carry)))
                chunk = carry + more
                last = not more
                cut = len(chunk) if last else chunk.rfind(b"\n") + 1
                if not cut:
                    if last:
                        break
                    carry = chunk  # a line longer than a part: read on to its end
                    continue
                data, carry = chunk[:cut], chunk[cut:]
                hasher.update(data)
                breaks = line_breaks(data)
                yield Lines(data, relative, line, offset, breaks)
                line, offset = line + breaks, offset + len(data)
                if last:
                    break
            # The bytes read, not the size listed: the digest is of exactly those.
            yield FileRead((), (), (), hasher.hexdigest(), offset, breaks=line - 1)
    except OSError as error:
        retry = error.errno in _TRANSIENT
        yield FileRead((), (), (LoadProblem(relative, f"cannot read: {error.strerror or error}", retry=retry),))


def load_file(path: Path, *, root: Path) -> tuple[list[Article], list[LoadProblem]]:
    """Load the articles of one corpus file; ids of .txt/.md articles derive from the path relative to root."""  # noqa: E501
    read = _read_file(path, root=root, known=())
    articles, duplicates = drop_duplicates([(a, line) for _, a, line in read.articles], {})
    return articles, [*read.problems, *duplicates]


def load_corpus(path: str | Path, *, follow_links: bool = False) -> Corpus:
    """Load every article under `path`; unusable files and lines are reported and skipped."""
    path = Path(path)
    files, problems = _find_files(path, follow_links=follow_links)
    root = path if path.is_dir() else path.parent
    articles: list[Article] = []
    seen: dict[str, str] = {}
    for file in files:
        read = _read_file(file, root=root, known=())
        kept, duplicates = drop_duplicates([(a, line) for _, a, line in read.articles], seen)
        articles.extend(kept)
        problems.extend(read.problems)
        problems.extend(duplicates)
    return Corpus(articles=tuple(articles), problems=tuple(problems))


def _find_files(path: Path, *, follow_links: bool = False) -> tuple[list[Path], list[LoadProblem]]:
    if not path.exists():
        raise CorpusError(f"corpus not found: {path}")
    if not path.is_dir():
        if not path.is_file() or path.suffix.lower() not in SUFFIXES:
            raise CorpusError(f"not a corpus folder or a .txt, .md or .jsonl file: {path}")
        return [path], []

    root = path.resolve()
    files: list[tuple[tuple[str, ...], Path]] = []
    problems: list[LoadProblem] = []
    pending = [path]
    while pending:
        folder = pending.pop()
        relative = folder.relative_to(path).as_posix()
        try:
            if folder != path and not os.access(folder, os.R_OK | os.X_OK):
                raise PermissionError(13, "Permission denied")
            entries = list(os.scandir(folder))
        except OSError as error:
            reason = error.strerror or str(error)
            if folder == path:
                raise CorpusError(f"cannot read corpus folder {path}: {reason}") from None
            problems.append(LoadProblem(relative, f"cannot read folder: {reason}", retry=True))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            suffix = os.path.splitext(entry.name)[1].lower()
            where = Path(entry.path).relative_to(path).as_posix()
            try:
                found, problem = _classify(entry, suffix, root=root, follow_links=follow_links)
            except OSError as error:  # vanished or unreadable between listing and looking
                found, problem = None, f"cannot read: {error.strerror or error}"
            if problem is not None:
                problems.append(LoadProblem(where, problem, retry=problem.startswith("cannot")))
            elif found == "dir":
                pending.append(Path(entry.path))
            elif found == "file":
                file = Path(entry.path)
                files.append((file.relative_to(path).parts, file))
    files.sort()
    problems.sort(key=lambda problem: problem.path)
    return [file for _, file in files], problems


def _classify(entry: os.DirEntry[str], suffix: str, *, root: Path, follow_links: bool) -> tuple[str | None, str | None]:
    """Say whether an entry is a corpus "file", a "dir" to search, or neither; or why it is skipped."""
    corpus_like = suffix in SUFFIXES
    if entry.is_symlink():
        try:
            target = Path(entry.path).resolve(strict=True)
        except RuntimeError:
            return None, "link loop, not followed"
        except OSError as error:
            if error.errno == errno.ELOOP:
                return None, "link loop, not followed"
            if error.errno == errno.ENOENT:
                return (None, "broken link (its target does not exist)") if corpus_like else (None, None)
            raise
        if target.is_dir():
            # Folder links are not followed: a link loop cannot hang loading.
            return None, "link to a folder, not followed"
        if not corpus_like:
            return None, None
        if not follow_links and not target.is_relative_to(root):
            return None, "link leads out of the corpus folder, not followed"
    elif entry.is_dir(follow_symlinks=False):
        if not _utf8(entry.name):
            return None, "folder name is not valid UTF-8, skipped"
        return "dir", None
    elif not corpus_like:
        return None, None
    if not _utf8(entry.name):
        return None, "file name is not valid UTF-8, skipped"
    if not entry.is_file():
        return None, "not a regular file (a FIFO, socket or device), skipped"
    return "file", None


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Identified(Protocol):
    """What `drop_duplicates` reads of an article: its id and the file it came from."""

    @property
    def id(self) -> str: ...

    @property
    def path(self) -> str: ...


_Item = TypeVar("_Item", bound=Identified)


class Seen(Protocol):
    """The ids kept so far, each with its file: a dict, or the compact `retrieval.seen.SeenIds`."""

    def get(self, article_id: str, /) -> str | None: ...

    def __setitem__(self, article_id: str, path: str, /) -> None: ...


def drop_duplicates(found: list[tuple[_Item, int | None]], seen: Seen) -> tuple[list[_Item], list[LoadProblem]]:
    """Keep the first article of each id; `seen` maps the ids kept so far to their file.

    The one rule for duplicate ids, whether a corpus is loaded whole or an index is updated:
    an id already kept (earlier in the corpus, or already in the index) keeps its article,
    and a later one with that id is reported and skipped.
    """
    kept: list[_Item] = []
    problems: list[LoadProblem] = []
    for article, line in found:
        first = seen.get(article.id)
        if first is None:
            seen[article.id] = article.path
            kept.append(article)
        else:
            reason = f"duplicate id {article.id!r} (first in {first}), skipped"
            problems.append(LoadProblem(article.path, reason, line))
    return kept, problems


def _key(data: bytes | memoryview) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _read_grown(path: Path, relative: str, known: Container[str], before: tuple[int, str, int]) -> FileRead | None:
    """Read only what was appended to a `.jsonl` file since `before`, or None if it did not only grow.

    The old part is hashed where it lies (memory-mapped), never copied or parsed.
    """
    size, digest, breaks = before
    hasher = xxhash.xxh3_128()
    try:
        with open(path, "rb") as fh:
            total = os.fstat(fh.fileno()).st_size
            if not 0 < size < total:
                return None
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                if mapped[size - 1 : size] != b"\n":
                    return None
                view = memoryview(mapped)
                try:
                    hasher.update(view[:size])
                finally:
                    view.release()
                tail = mapped[size:]
    except (OSError, ValueError):
        return None
    if hasher.hexdigest() != digest or b"\x00" in tail:
        return None
    hasher.update(tail)
    # Only the appended lines are new; they are numbered on from the old last line.
    found, problems, more = _read_jsonl(tail, relative, known, [], first=breaks + 1, offset=size)
    return FileRead(tuple(found), (), tuple(problems), hasher.hexdigest(), size + len(tail), True, breaks + more)


def _read_file(path: Path, *, root: Path, known: Container[str]) -> FileRead:
    relative = _relative(path, root)
    try:
        data = _read_bytes(path, limit=None if path.suffix.lower() == ".jsonl" else MAX_ARTICLE_BYTES)
        if isinstance(data, int):
            reason = f"too large for one article ({data / 2**20:.1f} MiB; at most {MAX_ARTICLE_BYTES >> 20} MiB)"
            return FileRead((), (), (LoadProblem(relative, reason),))
    except OSError as error:
        retry = error.errno in _TRANSIENT
        return FileRead((), (), (LoadProblem(relative, f"cannot read: {error.strerror or error}", retry=retry),))
    digest, size = _key(data), len(data)
    if b"\x00" in data:
        return FileRead((), (), (LoadProblem(relative, "binary file (contains NUL bytes)"),), digest, size)
    if not data or data.isspace():  # not data.strip(): no copy of a big file
        return FileRead((), (), (LoadProblem(relative, "empty file"),), digest, size)

    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        unchanged: list[str] = []
        found, problems, breaks = _read_jsonl(data, relative, known, unchanged)
        return FileRead(tuple(found), tuple(unchanged), tuple(problems), digest, size, breaks=breaks)
    if digest in known:
        return FileRead((), (digest,), (), digest, size)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return FileRead((), (), (LoadProblem(relative, f"not valid UTF-8 at byte {error.start}", line),), digest, size)
    text = _normalize(text)
    # NFC so that a file named on macOS (NFD) and on Linux gets the same id.
    article_id = unicodedata.normalize("NFC", relative[: -len(suffix)])
    if suffix == ".md":
        article, problem = _parse_md(text, article_id=article_id, relative=relative)
    else:
        article, problem = _parse_txt(text, article_id=article_id, relative=relative)
    parsed: tuple[tuple[str, Article, int | None], ...] = ((digest, article, None),) if article else ()
    return FileRead(parsed, (), (problem,) if problem else (), digest, size)


def _read_bytes(path: Path, *, limit: int | None) -> bytes | int:
    """Return the file's bytes, or its size when that is over `limit` (then nothing is read)."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if limit is not None and size > limit:
            return size
        return fh.read()


def _normalize(text: str) -> str:
    """Strip a BOM, unify newlines, NFC-normalise and drop trailing spaces; keeps line numbers."""
    text = _normalize_newlines(text.removeprefix("\ufeff"))
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _tidy(text: str) -> str:
    """Collapse runs of blank lines into one and trim the ends."""
    # The substring test first: a regex scan of every article costs more than the rest of loading.
    if "\n\n\n" in text:
        text = _BLANK_RUN.sub("\n\n", text)
    return text.strip()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _parse_txt(text: str, *, article_id: str, relative: str) -> _Parsed:
    lines = text.split("\n")
    meta: dict[str, str] = {}
    start = _skip_meta(lines, 0, 1, meta)
    if start >= len(lines):
        return None, LoadProblem(relative, "no headline: the file holds only metadata")
    title = _one_line(lines[start])
    start = _skip_meta(lines, start + 1, 1, meta)
    # Metadata at the bottom is read from the end up, past residue such as "Leave a Reply".
    end = _skip_meta(lines, len(lines) - 1, -1, meta, limit=start) + 1
    body = "\n".join(line for line in lines[start:end] if not _RESIDUE.fullmatch(line.strip()))
    return _article({**meta, "title": title}, _tidy(body), article_id=article_id, relative=relative)


def _skip_meta(lines: list[str], at: int, step: int, meta: dict[str, str], *, limit: int = -1) -> int:
    """Walk from `at` by `step` past blank and metadata lines (upwards, residue too)."""
    while 0 <= at < len(lines) and at >= limit:
        line = lines[at].strip()
        if line:
            match = _TXT_META.fullmatch(line)
            if match is None:
                if step > 0 or not _RESIDUE.fullmatch(line):
                    break
            else:
                key = str(match.lastgroup)
                meta.setdefault(key, match[key].strip())
        at += step
    return at


def _parse_md(text: str, *, article_id: str, relative: str) -> _Parsed:
    meta: dict[str, str] = {}
    body = text
    lines = text.split("\n")
    if lines[0].strip() == "---":
        close = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if close is None:
            return None, LoadProblem(relative, "front matter not closed by a '---' line", 1)
        meta, problem = _front_matter(lines[1:close], relative=relative)
        if problem:
            return None, problem
        body = "\n".join(lines[close + 1 :])

    body_lines = body.lstrip("\n").split("\n")
    heading = _MD_HEADING.fullmatch(body_lines[0].strip())
    if heading:
        # A heading that repeats the front-matter title is the headline, not a body sentence.
        if "title" not in meta or _one_line(heading[1]) == _one_line(meta["title"]):
            meta.setdefault("title", heading[1])
            body_lines = body_lines[1:]
    elif "title" not in meta:
        first = next((i for i, line in enumerate(body_lines) if line.strip()), None)
        if first is None:
            return None, LoadProblem(relative, "no headline and no article text")
        meta["title"] = body_lines[first]
        body_lines = body_lines[first + 1 :]
    return _article(meta, _tidy("\n".join(body_lines)), article_id=article_id, relative=relative)


def _front_matter(lines: list[str], *, relative: str) -> tuple[dict[str, str], LoadProblem | None]:
    """Read the lines between the `---` fences (from line 2 of the file) into the keys we use.

    PyYAML's parser reads them, as its `BaseLoader` does: every value stays text. Gives the
    non-empty values of our keys, or a problem at the first line that cannot be read; other keys
    are skipped along with any nested or list value under them.
    """
    # PyYAML (YAML 1.1) refuses a tab between words; the keys read here fold whitespace anyway.
    text = "\n".join(_untab(line) for line in lines)
    meta: dict[str, str] = {}
    seen: dict[str, int] = {}
    key: str | None = None  # the key being read, for a problem inside its value
    key_line = 0

    def problem(line: int, reason: str) -> tuple[dict[str, str], LoadProblem]:
        where = f"front matter {key!r}" if key in _META_KEYS else "bad front matter"
        return {}, LoadProblem(relative, f"{where}: {reason}", line + 2)

    def bad_line(line: int) -> tuple[dict[str, str], LoadProblem]:
        stripped = lines[line].strip() if line < len(lines) else ""
        excerpt = stripped if len(stripped) <= 40 else stripped[:39] + "…"
        reason = f"bad front matter: expected 'key: value', got {excerpt!r}"
        return {}, LoadProblem(relative, reason, line + 2)

    events = yaml.parse(text, Loader=yaml.BaseLoader)
    last: yaml.Event | None = None
    try:
        root = next(e for e in events if not isinstance(e, yaml.StreamStartEvent | yaml.DocumentStartEvent))
        if isinstance(root, yaml.StreamEndEvent):
            return {}, None
        if not isinstance(root, yaml.MappingStartEvent):
            return bad_line(_at(root.start_mark)[0])
        if _at(root.start_mark)[1] > 0:
            return {}, LoadProblem(relative, "bad front matter: indented line with no key above it", 2)
        for event in events:
            if isinstance(event, yaml.MappingEndEvent):
                break
            if not (isinstance(event, yaml.ScalarEvent) and event.style is None and event.value):
                return bad_line(_at(event.start_mark)[0])
            key, key_line = event.value, _at(event.start_mark)[0]
            last = value = next(events)
            if key == _MENTIONS:
                meta[key] = json.dumps(_node(value, events), ensure_ascii=False)
                continue
            if key not in _META_KEYS:
                _skip_node(value, events)
                continue
            if key in seen:
                twice = f"front matter {key!r} given twice (first on line {seen[key] + 2})"
                return {}, LoadProblem(relative, twice, key_line + 2)
            seen[key] = key_line
            found, reason, line = _front_value(value, key_line, lines)
            if reason:
                return problem(line, reason)
            if found:
                meta[key] = found
        for _ in events:  # the rest must be well-formed too
            pass
    except yaml.MarkedYAMLError as error:
        return _front_error(error, last, problem, bad_line)
    except ValueError:  # PyYAML's chr() of an escape above U+10FFFF
        return problem(key_line, "an escape that is not a character")
    return meta, None


_Problem = Callable[[int, str], tuple[dict[str, str], LoadProblem]]
_BadLine = Callable[[int], tuple[dict[str, str], LoadProblem]]


def _untab(line: str) -> str:
    """Turn the tabs of a line into spaces, except those of its indentation."""
    if "\t" not in line:
        return line
    text = line.lstrip(" \t")
    return line[: len(line) - len(text)] + text.replace("\t", " ")


def _at(mark: Any) -> tuple[int, int]:
    """The line (from 0) and column of a YAML mark; PyYAML gives one to every event and error."""
    return (mark.line, mark.column) if mark is not None else (0, 0)


def _front_error(
    error: yaml.MarkedYAMLError, last: yaml.Event | None, problem: _Problem, bad_line: _BadLine
) -> tuple[dict[str, str], LoadProblem]:
    """Say what a YAML error in front matter means to a writer of news files."""
    message = error.problem or ""
    line, column = _at(error.problem_mark or error.context_mark)
    if error.context == "while scanning a simple key":
        return bad_line(_at(error.context_mark)[0])
    if message in _MISPLACED:
        return problem(line, _MISPLACED[message])
    if error.context == "while scanning a quoted scalar":
        return problem(_at(error.context_mark)[0], "quoted value not closed on its line")
    escape = _UNKNOWN_ESCAPE.fullmatch(message)
    if escape:
        return problem(line, f"unknown escape '\\{escape[1]}' in a double-quoted value")
    character = _NOT_A_TOKEN.fullmatch(message)
    if character and column == 0:
        return problem(line, "expected a one-line value, got more on an indented line")
    if character:
        return problem(line, f"a value starting with {character[1]!r} must be quoted")
    if message.startswith("expected <block end>"):
        if isinstance(last, yaml.ScalarEvent) and last.style in ("'", '"') and _at(last.end_mark)[0] == line:
            return problem(line, "unexpected text after the closing quote")
        return bad_line(line)
    return problem(line, message)


def _front_value(value: yaml.Event, key_line: int, lines: list[str]) -> tuple[str, str | None, int]:
    """Read one front-matter value: one line of plain, 'single-' or "double-quoted" text."""
    at = _at(value.start_mark)[0]
    if isinstance(value, yaml.AliasEvent):
        return "", "a value starting with '*' must be quoted", at
    if isinstance(value, yaml.SequenceStartEvent | yaml.MappingStartEvent):
        what = "list" if isinstance(value, yaml.SequenceStartEvent) else "mapping"
        return "", f"expected text, got a {what}", at
    assert isinstance(value, yaml.ScalarEvent)
    indicator = "&" if value.anchor else "!" if value.tag else value.style if value.style in ("|", ">") else None
    if indicator:
        return "", f"a value starting with {indicator!r} must be quoted", key_line
    if value.style is None and value.value == "":
        return "", None, at
    if at != key_line:
        return "", "expected the value on the key's line, not below it", at
    if _at(value.end_mark)[0] != at:
        return "", "expected a one-line value, got more on an indented line", at + 1
    if value.style is None:
        return ("" if value.value in _NULLS else value.value), None, at
    if not _AFTER_QUOTE.fullmatch(lines[at], _at(value.end_mark)[1]):
        return "", "unexpected text after the closing quote", at
    surrogate = next((c for c in value.value if 0xD800 <= ord(c) <= 0xDFFF), None)
    if surrogate:
        return "", f"escape '\\u{ord(surrogate):04x}' is not a character", at
    return value.value, None, at


def _node(first: yaml.Event, events: Iterator[yaml.Event]) -> Any:
    """Read the node that starts with `first` into text, lists and dicts (every scalar text)."""
    if isinstance(first, yaml.SequenceStartEvent):
        items = []
        while not isinstance(event := next(events), yaml.SequenceEndEvent):
            items.append(_node(event, events))
        return items
    if isinstance(first, yaml.MappingStartEvent):
        mapping = {}
        while not isinstance(event := next(events), yaml.MappingEndEvent):
            mapping[str(_node(event, events))] = _node(next(events), events)
        return mapping
    return first.value if isinstance(first, yaml.ScalarEvent) else ""


def _skip_node(first: yaml.Event, events: Iterator[yaml.Event]) -> None:
    """Consume the events of the node that starts with `first`."""
    depth = int(isinstance(first, yaml.CollectionStartEvent))
    while depth:
        event = next(events)
        depth += isinstance(event, yaml.CollectionStartEvent) - isinstance(event, yaml.CollectionEndEvent)


def _scalar(value: Any, key: str) -> tuple[str, str | None]:
    """Turn a JSON value into text; a list, mapping or boolean is an error naming the key."""
    if value is None:
        return "", None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value), None
    return "", f"{key!r}: expected text, got {type(value).__name__}"


def _article(meta: dict[str, str], body: str, *, article_id: str, relative: str, line: int | None = None) -> _Parsed:
    title = _one_line(meta.get("title", ""))
    body = clean_body(body)
    if not body:
        what = "headline" if title else "file"
        return None, LoadProblem(relative, f"no article text after the {what}", line)
    try:
        mentions = read_mentions(meta[_MENTIONS]) if meta.get(_MENTIONS) else ()
    except ValueError as error:
        return None, LoadProblem(relative, f"{_MENTIONS}: {error}", line)
    return (
        Article(
            id=article_id,
            title=title,
            text=body,
            source=_one_line(meta.get("source", "")),
            url=meta.get("url", "").strip(),
            published=normalize_date(meta.get("published", "")),
            language=meta.get("language", "").strip(),
            path=relative,
            also_reported_by=mentions,
        ),
        None,
    )


def _read_jsonl(
    data: bytes, relative: str, known: Container[str], unchanged: list[str], *, first: int = 1, offset: int = 0
) -> tuple[_Keyed, list[LoadProblem], int]:
    """Parse the lines of `data` (line `first`, byte `offset` of its file) whose keys are not `known`.

    Returns the articles with their content keys, the problems and the line breaks in `data`.
    """
    found: _Keyed = []
    met: set[str] = set()
    problems: list[LoadProblem] = []
    stem = relative.removesuffix(Path(relative).suffix)
    lines = _jsonl_lines(data, relative, problems, first=first, offset=offset)
    for number, line in enumerate(lines, start=first):
        if line is None or not line.strip():
            continue
        key = _key(line.encode("utf-8", "surrogatepass"))
        # A known line met twice is parsed the second time, to be reported as a duplicate.
        if key in known and key not in met:
            unchanged.append(key)
            met.add(key)
            continue
        if f"{key}@{number}" in known:
            unchanged.append(f"{key}@{number}")
            continue
        if len(line) > MAX_ARTICLE_BYTES:
            reason = f"line too long for one article ({len(line) / 2**20:.1f} MiB), skipped"
            problems.append(LoadProblem(relative, reason, number))
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            reason = f"not valid JSON: {error.msg} (column {error.colno})"
            problems.append(LoadProblem(relative, reason, number))
            continue
        except RecursionError:
            problems.append(LoadProblem(relative, "not valid JSON: nested too deeply", number))
            continue
        except ValueError as error:  # e.g. an integer of more digits than Python converts
            problems.append(LoadProblem(relative, f"not valid JSON: {str(error).split(';')[0]}", number))
            continue
        if not isinstance(record, dict):
            reason = f"not a JSON object ({type(record).__name__})"
            problems.append(LoadProblem(relative, reason, number))
            continue
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            problems.append(LoadProblem(relative, 'no "text": expected a non-empty string', number))
            continue
        meta: dict[str, str] = {}
        bad = None
        for field in _META_KEYS:
            meta[field], bad = _scalar(record.get(field), field)
            if bad:
                break
        raw_id, bad_id = _scalar(record.get("id"), "id")
        if bad or bad_id:
            problems.append(LoadProblem(relative, f"field {bad or bad_id}", number))
            continue
        broken = next((k for k, v in (("text", text), ("id", raw_id), *meta.items()) if not _utf8(v)), None)
        if broken:
            reason = f"field {broken!r}: holds an escape such as \\ud800 that is not a character"
            problems.append(LoadProblem(relative, reason, number))
            continue
        article_id = raw_id.strip()
        if not article_id:
            # The id derives from the line number, so the line's place is part of its content.
            article_id, key = f"{stem}:{number}", f"{key}@{number}"
        meta = {name: _normalize(value) for name, value in meta.items()}
        if record.get(_MENTIONS):
            meta[_MENTIONS] = json.dumps(record[_MENTIONS], ensure_ascii=False)
        article, problem = _article(
            meta, _tidy(_normalize(text)), article_id=article_id, relative=relative, line=number
        )
        if article:
            found.append((key, article, number))
        if problem:
            problems.append(problem)
    return found, problems, len(lines) - 1


def _jsonl_lines(
    data: bytes, relative: str, problems: list[LoadProblem], *, first: int = 1, offset: int = 0
) -> list[str | None]:
    """Split into lines (numbered from `first`); a line of invalid UTF-8 is reported and becomes None."""
    bom = "\ufeff" if first == 1 else ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        # A raw CR cannot occur inside a JSON string, so every CR is a line ending.
        return list(_normalize_newlines(text.removeprefix(bom)).split("\n"))

    lines: list[str | None] = []
    start = 0
    for separator in [*_NEWLINE.finditer(data), None]:
        end = separator.start() if separator else len(data)
        try:
            lines.append(data[start:end].decode("utf-8"))
        except UnicodeDecodeError as error:
            at = offset + start + error.start
            problems.append(LoadProblem(relative, f"not valid UTF-8 at byte {at}", len(lines) + first))
            lines.append(None)
        start = separator.end() if separator else start
    if lines and lines[0] is not None:
        lines[0] = lines[0].removeprefix(bom)
    return lines


def normalize_date(value: str) -> str:
    """Return `value` as an ISO date (YYYY-MM-DD) when it reads as a date, else unchanged."""
    value = value.strip()
    if not value:
        return value
    # The date as written, in its own time zone: "2022-11-10T23:30-05:00" is the 10th.
    for parse in (dt.date.fromisoformat, dt.datetime.fromisoformat):
        try:
            return parse(value).isoformat()[:10]
        except ValueError:
            pass
    for form in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, form).date().isoformat()
        except ValueError:
            pass
    # RSS feeds write RFC 2822 dates: "Thu, 10 Nov 2022 12:00:00 +0000".
    try:
        return email.utils.parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return value


def read_mentions(text: str) -> tuple[Mention, ...]:
    """Read an `also_reported_by` JSON list of {source, title, url}; ValueError says what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON: {error.msg} (column {error.colno})") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValueError('expected a list of {"source", "title", "url"} objects')
    mentions = []
    for item in data:
        fields = [item.get(key) or "" for key in ("source", "title", "url")]
        if not all(isinstance(value, str) for value in fields):
            raise ValueError("expected source, title and url as text")
        mentions.append(Mention(*(_one_line(value) for value in fields)))
    return tuple(mentions)


def mentions_json(mentions: tuple[Mention, ...]) -> str:
    """Write mentions as the one-line JSON list that `read_mentions` reads."""
    return json.dumps([{"source": m.source, "title": m.title, "url": m.url} for m in mentions], ensure_ascii=False)
