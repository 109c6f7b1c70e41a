"""Read the corpus into `Article` records: the first stage of the pipeline.

    **load** → split → analyze → index → search → select → answer

A corpus is a folder (searched recursively) or a single file. Three formats:

- `.txt`: the first non-empty line is the headline, then the body. `Published:`/`Date:`/`URL:`
  lines next to the headline or at the end, and a trailing `Source: NAME` line, are metadata;
  page residue (`Leave a Reply`, `Read also: …`, `Share this:` …) is dropped line by line.
- `.md`: front matter (`title`, `source`, `url`, `published`, `language`), then the body;
  without a front-matter title, a leading `# Heading` is the headline. The front matter is
  read by a small strict parser, not a YAML library: `key: value` lines whose values are
  plain, 'single-' or "double-quoted" text, as YAML reads them, except that every plain value
  stays text (`language: no` is "no", a date stays as written). Nested or list values of
  other keys are skipped.
- `.jsonl`: one article a line, `{"id", "title", "source", "url", "published", "text"}`.

A file or line that cannot be used becomes a `LoadProblem` and is skipped; the rest still
loads. Loading only reads: nothing in the corpus folder is ever written.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

from retrieval.errors import CorpusError
from retrieval.models import Article, Corpus, LoadProblem

__all__ = ["SUFFIXES", "corpus_files", "load_corpus", "load_file", "normalize_date"]

SUFFIXES = (".jsonl", ".md", ".txt")

# Articles with the line they came from (known for .jsonl only), and one parse's outcome.
_Found = list[tuple[Article, int | None]]
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
# Front matter: `key: value` from the start of a line; a key holds ':' only before a non-space.
_FRONT_KEY = re.compile(r"(?P<key>\w(?:[\w./ -]|:(?=\S))*?)[ \t]*:(?:[ \t]+(?P<value>.*))?")
_FRONT_ITEM = re.compile(r"-(?:[ \t]|$)")
_PLAIN_COMMENT = re.compile(r"[ \t]#")  # as in YAML, '#' opens a comment only after a space
_PLAIN_COLON = re.compile(r":(?:[ \t]|$)")
_PLAIN_INDICATOR = re.compile(r"[|>&*!%@`,\]}]|[-?:](?:[ \t]|$)")
_SINGLE_QUOTED = re.compile(r"'((?:[^']|'')*)'")
_DOUBLE_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_AFTER_QUOTE = re.compile(r"(?:[ \t]+#.*)?")
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")
_ESCAPES = {
    **{char: char for char in ' "/\\\t'},
    **dict(zip("0abtnvfreN_LP", "\0\a\b\t\n\v\f\r\x1b\x85\xa0\u2028\u2029", strict=True)),
}
_NULLS = ("~", "null", "Null", "NULL")
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


def load_file(path: Path, *, root: Path) -> tuple[list[Article], list[LoadProblem]]:
    """Load the articles of one corpus file; ids of .txt/.md articles derive from the path relative to root."""  # noqa: E501
    found, problems = _read_file(path, root=root)
    articles, duplicates = _drop_duplicates(found, {})
    return articles, problems + duplicates


def load_corpus(path: str | Path) -> Corpus:
    """Load every article under `path`; unusable files and lines are reported and skipped."""
    path = Path(path)
    files, problems = _find_files(path)
    root = path if path.is_dir() else path.parent
    articles: list[Article] = []
    seen: dict[str, str] = {}
    for file in files:
        found, file_problems = _read_file(file, root=root)
        kept, duplicates = _drop_duplicates(found, seen)
        articles.extend(kept)
        problems.extend(file_problems)
        problems.extend(duplicates)
    return Corpus(articles=tuple(articles), problems=tuple(problems))


def _find_files(path: Path) -> tuple[list[Path], list[LoadProblem]]:
    if not path.exists():
        raise CorpusError(f"corpus not found: {path}")
    if not path.is_dir():
        if not path.is_file() or path.suffix.lower() not in SUFFIXES:
            raise CorpusError(f"not a corpus folder or a .txt, .md or .jsonl file: {path}")
        return [path], []

    files: list[tuple[tuple[str, ...], Path]] = []
    problems: list[LoadProblem] = []
    pending = [path]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as error:
            reason = error.strerror or str(error)
            if folder == path:
                raise CorpusError(f"cannot read corpus folder {path}: {reason}") from None
            relative = folder.relative_to(path).as_posix()
            problems.append(LoadProblem(relative, f"cannot read folder: {reason}"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            # Directory symlinks are not followed, so a link loop cannot hang loading.
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
            elif entry.is_file() and os.path.splitext(entry.name)[1].lower() in SUFFIXES:
                file = Path(entry.path)
                files.append((file.relative_to(path).parts, file))
    files.sort()
    problems.sort(key=lambda problem: problem.path)
    return [file for _, file in files], problems


def _drop_duplicates(found: _Found, seen: dict[str, str]) -> tuple[list[Article], list[LoadProblem]]:
    kept: list[Article] = []
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


def _read_file(path: Path, *, root: Path) -> tuple[_Found, list[LoadProblem]]:
    try:
        relative = path.relative_to(root).as_posix()
    except ValueError:
        relative = path.as_posix()
    try:
        data = path.read_bytes()
    except OSError as error:
        return [], [LoadProblem(relative, f"cannot read: {error.strerror or error}")]
    if b"\x00" in data:
        return [], [LoadProblem(relative, "binary file (contains NUL bytes)")]
    if not data.strip():
        return [], [LoadProblem(relative, "empty file")]

    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _read_jsonl(data, relative)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return [], [LoadProblem(relative, f"not valid UTF-8 at byte {error.start}", line)]
    text = _normalize(text)
    # NFC so that a file named on macOS (NFD) and on Linux gets the same id.
    article_id = unicodedata.normalize("NFC", relative[: -len(suffix)])
    if suffix == ".md":
        article, problem = _parse_md(text, article_id=article_id, relative=relative)
    else:
        article, problem = _parse_txt(text, article_id=article_id, relative=relative)
    return ([(article, None)] if article else []), ([problem] if problem else [])


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

    Gives the non-empty values, or a problem at the first line that cannot be read. Other keys
    are skipped along with any nested or list value under them.
    """

    def problem(line: int, reason: str) -> tuple[dict[str, str], LoadProblem]:
        return {}, LoadProblem(relative, reason, line)

    meta: dict[str, str] = {}
    seen: dict[str, int] = {}
    key: str | None = None  # the key that indented lines (and `- item` lines) belong to
    empty = False  # whether that key's own line held no value, so a list may follow unindented
    for number, line in enumerate(lines, start=2):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0] in " \t" or (empty and _FRONT_ITEM.match(line)):
            if key is None:
                return problem(number, "bad front matter: indented line with no key above it")
            if key in _META_KEYS:
                if not empty:
                    what = "a one-line value, got more on an indented line"
                elif _FRONT_ITEM.match(stripped):
                    what = "text, got a list"
                elif _FRONT_KEY.fullmatch(stripped):
                    what = "text, got a mapping"
                else:
                    what = "the value on the key's line, not below it"
                return problem(number, f"front matter {key!r}: expected {what}")
            continue
        match = _FRONT_KEY.fullmatch(line)
        if match is None:
            excerpt = stripped if len(stripped) <= 40 else stripped[:39] + "…"
            return problem(number, f"bad front matter: expected 'key: value', got {excerpt!r}")
        key, raw = match["key"].rstrip(), match["value"] or ""
        empty = not raw or raw.startswith("#")
        if key not in _META_KEYS:
            continue
        if key in seen:
            return problem(number, f"front matter {key!r} given twice (first on line {seen[key]})")
        seen[key] = number
        value, reason = _front_value(raw)
        if reason:
            return problem(number, f"front matter {key!r}: {reason}")
        if value:
            meta[key] = value
    return meta, None


def _front_value(raw: str) -> tuple[str, str | None]:
    """Read one front-matter value: plain, 'single-' or "double-quoted" text on one line."""
    if not raw or raw.startswith("#"):
        return "", None
    if raw[0] in "'\"":
        match = (_SINGLE_QUOTED if raw[0] == "'" else _DOUBLE_QUOTED).match(raw)
        if match is None:
            return "", "quoted value not closed on its line"
        if not _AFTER_QUOTE.fullmatch(raw, match.end()):
            return "", "unexpected text after the closing quote"
        if raw[0] == "'":
            return match[1].replace("''", "'"), None
        return _unescape(match[1])
    if raw[0] in "[{":
        return "", f"expected text, got a {'list' if raw[0] == '[' else 'mapping'}"
    value = _PLAIN_COMMENT.split(raw, maxsplit=1)[0].rstrip()
    if _PLAIN_INDICATOR.match(value):
        return "", f"a value starting with {value[0]!r} must be quoted"
    if _PLAIN_COLON.search(value):
        return "", "a value holding ': ' must be quoted"
    return ("" if value in _NULLS else value), None


def _unescape(text: str) -> tuple[str, str | None]:
    """Resolve the backslash escapes of a YAML double-quoted value."""
    if "\\" not in text:
        return text, None
    parts: list[str] = []
    at = 0
    for match in _ESCAPE.finditer(text):
        code = match[1]
        if len(code) > 1:
            point = int(code[1:], 16)
            if point > 0x10FFFF or 0xD800 <= point <= 0xDFFF:
                return "", f"escape '\\{code}' is not a character"
            char = chr(point)
        elif code in _ESCAPES:
            char = _ESCAPES[code]
        else:
            return "", f"unknown escape '\\{code}' in a double-quoted value"
        parts += [text[at : match.start()], char]
        at = match.end()
    parts.append(text[at:])
    return "".join(parts), None


def _scalar(value: Any, key: str) -> tuple[str, str | None]:
    """Turn a JSON value into text; a list, mapping or boolean is an error naming the key."""
    if value is None:
        return "", None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value), None
    return "", f"{key!r}: expected text, got {type(value).__name__}"


def _article(meta: dict[str, str], body: str, *, article_id: str, relative: str, line: int | None = None) -> _Parsed:
    title = _one_line(meta.get("title", ""))
    if not body:
        what = "headline" if title else "file"
        return None, LoadProblem(relative, f"no article text after the {what}", line)
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
        ),
        None,
    )


def _read_jsonl(data: bytes, relative: str) -> tuple[_Found, list[LoadProblem]]:
    found: _Found = []
    problems: list[LoadProblem] = []
    stem = relative.removesuffix(Path(relative).suffix)
    for number, line in enumerate(_jsonl_lines(data, relative, problems), start=1):
        if line is None or not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            reason = f"not valid JSON: {error.msg} (column {error.colno})"
            problems.append(LoadProblem(relative, reason, number))
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
        for key in _META_KEYS:
            meta[key], bad = _scalar(record.get(key), key)
            if bad:
                break
        raw_id, bad_id = _scalar(record.get("id"), "id")
        if bad or bad_id:
            problems.append(LoadProblem(relative, f"field {bad or bad_id}", number))
            continue
        article_id = raw_id.strip() or f"{stem}:{number}"
        meta = {key: _normalize(value) for key, value in meta.items()}
        article, problem = _article(
            meta, _tidy(_normalize(text)), article_id=article_id, relative=relative, line=number
        )
        if article:
            found.append((article, number))
        if problem:
            problems.append(problem)
    return found, problems


def _jsonl_lines(data: bytes, relative: str, problems: list[LoadProblem]) -> list[str | None]:
    """Split into lines; a line of invalid UTF-8 is reported and becomes None, the rest load."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        # A raw CR cannot occur inside a JSON string, so every CR is a line ending.
        return list(_normalize_newlines(text.removeprefix("\ufeff")).split("\n"))

    lines: list[str | None] = []
    start = 0
    for separator in [*_NEWLINE.finditer(data), None]:
        end = separator.start() if separator else len(data)
        try:
            lines.append(data[start:end].decode("utf-8"))
        except UnicodeDecodeError as error:
            at = start + error.start
            problems.append(LoadProblem(relative, f"not valid UTF-8 at byte {at}", len(lines) + 1))
            lines.append(None)
        start = separator.end() if separator else start
    if lines and lines[0] is not None:
        lines[0] = lines[0].removeprefix("\ufeff")
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
