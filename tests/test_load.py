"""Tests for retrieval.load: corpus files in, Article records and LoadProblems out."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from retrieval.errors import CorpusError
from retrieval.load import corpus_files, load_corpus, load_file, normalize_date, scan_corpus
from retrieval.models import Article, Corpus, LoadProblem, Mention

SAMPLE = Path(__file__).parent.parent / "corpus" / "usa-only-zelensky-can-decide-negotiations.txt"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def load_one(folder: Path, name: str, content: str | bytes) -> tuple[list[Article], list[LoadProblem]]:
    return load_file(write(folder, name, content), root=folder)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        path.relative_to(folder).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


# corpus_files


def test_corpus_files_finds_txt_md_and_jsonl_recursively_sorted_by_relative_path(
    tmp_path: Path,
) -> None:
    for name in ["b.txt", "a.md", "2024/ukraine/talks.txt", "2024/feed.jsonl", "z/one.md"]:
        write(tmp_path, name, "Headline\n\nBody.")
    for name in ["notes.csv", "image.png", "README", ".hidden.txt", ".git/x.md", "z/.cache/x.txt"]:
        write(tmp_path, name, "ignored")

    found = corpus_files(tmp_path)

    assert [path.relative_to(tmp_path).as_posix() for path in found] == [
        "2024/feed.jsonl",
        "2024/ukraine/talks.txt",
        "a.md",
        "b.txt",
        "z/one.md",
    ]


def test_corpus_files_of_one_file_is_that_file(tmp_path: Path) -> None:
    path = write(tmp_path, "feed.jsonl", '{"text": "Body."}\n')
    assert corpus_files(str(path)) == [path]


def test_corpus_files_of_an_empty_folder_is_empty(tmp_path: Path) -> None:
    assert corpus_files(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing", "corpus not found"),
        ("notes.csv", "not a corpus folder or a .txt, .md or .jsonl file"),
    ],
)
def test_corpus_files_raises_a_one_line_error_naming_an_unusable_path(tmp_path: Path, name: str, message: str) -> None:
    write(tmp_path, "notes.csv", "a,b\n")
    with pytest.raises(CorpusError) as error:
        corpus_files(tmp_path / name)
    assert str(error.value) == f"{message}: {tmp_path / name}"


# .txt


def test_the_shipped_sample_loads_without_source_and_page_residue() -> None:
    articles, problems = load_file(SAMPLE, root=SAMPLE.parent)

    dropped = {
        "USA: Only Zelensky can decide to start negotiations with Russia",
        "Read also: Ukraine: Almost half of the energy infrastructure is out of order",
        "Source: RES-MPE",
        "Leave a Reply",
    }
    paragraphs = SAMPLE.read_text(encoding="utf-8").strip().split("\n\n")
    assert dropped <= set(paragraphs)
    assert problems == []
    assert articles == [
        Article(
            id="usa-only-zelensky-can-decide-negotiations",
            title="USA: Only Zelensky can decide to start negotiations with Russia",
            text="\n\n".join(p for p in paragraphs if p not in dropped),
            source="RES-MPE",
            path="usa-only-zelensky-can-decide-negotiations.txt",
        )
    ]
    assert articles[0].text.startswith("The White House reiterated today")
    assert articles[0].text.endswith("the Crimean peninsula it annexed in 2014.")


def test_a_txt_file_gives_headline_body_and_metadata_lines(tmp_path: Path) -> None:
    content = (
        "\n\nPort reopens after storm\n"
        "Published: November 10, 2022\n"
        "URL: https://example.org/port\n\n"
        "The port reopened on Monday.\n\n"
        "Ships queued overnight.\n\n"
        "Source: Harbour Gazette\n"
    )
    articles, problems = load_one(tmp_path, "news/port.txt", content)

    assert problems == []
    assert articles == [
        Article(
            id="news/port",
            title="Port reopens after storm",
            text="The port reopened on Monday.\n\nShips queued overnight.",
            source="Harbour Gazette",
            url="https://example.org/port",
            published="2022-11-10",
            path="news/port.txt",
        )
    ]


def test_metadata_lines_at_the_bottom_are_not_body(tmp_path: Path) -> None:
    content = "Title\n\nBody sentence.\n\nDate: 10 Nov 2022\nURL: https://example.org/a\nSource: Wire\n"
    articles, _ = load_one(tmp_path, "a.txt", content)
    assert articles == [
        Article(
            id="a",
            title="Title",
            text="Body sentence.",
            source="Wire",
            url="https://example.org/a",
            published="2022-11-10",
            path="a.txt",
        )
    ]


@pytest.mark.parametrize(
    ("line", "dropped"),
    [
        ("Leave a Reply", True),
        ("Leave a comment", True),
        ("Read also: Another story about the port", True),
        ("Read more: Another story", True),
        ("READ MORE", True),
        ("See also: Storm season", True),
        ("Related: Storm season", True),
        ("Share this:", True),
        ("Like this:", True),
        ("Loading...", True),
        ("Click to share on X (Opens in new window)", True),
        ("Advertisement", True),
        ("Subscribe to our newsletter", True),
        ("Subscribe now", True),
        ("Readers also wrote in.", False),
        ("The advertisement ran twice.", False),
        ("Subscribers doubled in a year.", False),
        ("Related stories ran elsewhere.", False),
        ("She said: see also the court ruling.", False),
        ("Share prices fell this morning.", False),
        ("Source: officials who asked not to be named said the talks would resume.", False),
    ],
)
def test_only_whole_residue_lines_are_dropped_from_a_txt_body(tmp_path: Path, line: str, dropped: bool) -> None:
    articles, _ = load_one(tmp_path, "a.txt", f"Title\n\nFirst.\n\n{line}\n\nLast.\n")
    expected = "First.\n\nLast." if dropped else f"First.\n\n{line}\n\nLast."
    assert articles[0].text == expected


def test_residue_after_the_source_line_is_dropped_too(tmp_path: Path) -> None:
    content = "Title\n\nBody.\n\nSource: Wire\n\nShare this:\n\nLike this:\n\nLoading...\n"
    articles, _ = load_one(tmp_path, "a.txt", content)
    assert (articles[0].text, articles[0].source) == ("Body.", "Wire")


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ("\ufeffTitle\n\nBody.", "Body."),
        ("Title\r\n\r\nOne.\r\nTwo.\r\n", "One.\nTwo."),
        ("Title\r\rOne.\rTwo.\r", "One.\nTwo."),
        ("Title\n\nCafe\u0301 opens.", "Caf\u00e9 opens."),
        ("Title\n\nOne.   \t\nTwo.\u00a0 ", "One.\nTwo."),
        ("Title\n\nOne.\n\n\n\n\nTwo.\n\n\nThree.", "One.\n\nTwo.\n\nThree."),
        ("Title\n\n<b>Bold</b> &amp; R&D <i>kept</i>.", "<b>Bold</b> &amp; R&D <i>kept</i>."),
    ],
)
def test_text_hygiene_of_a_txt_file(tmp_path: Path, content: str, text: str) -> None:
    articles, problems = load_one(tmp_path, "a.txt", content)
    assert problems == []
    assert (articles[0].title, articles[0].text) == ("Title", text)


# .md


def test_an_md_file_reads_its_front_matter_and_ignores_unknown_keys(tmp_path: Path) -> None:
    content = (
        "---\n"
        "title: Grain deal extended\n"
        "source: Example Wire\n"
        "url: https://example.org/grain\n"
        "published: 2022-11-17\n"
        "language: en\n"
        "tags: [grain, shipping]\n"
        "---\n\n"
        "The grain deal was extended by 120 days.\n"
    )
    articles, problems = load_one(tmp_path, "2022/grain.md", content)

    assert problems == []
    assert articles == [
        Article(
            id="2022/grain",
            title="Grain deal extended",
            text="The grain deal was extended by 120 days.",
            source="Example Wire",
            url="https://example.org/grain",
            published="2022-11-17",
            language="en",
            path="2022/grain.md",
        )
    ]


@pytest.mark.parametrize(
    ("content", "title", "text"),
    [
        ("---\nsource: Wire\n---\n# Heading title\n\nBody.", "Heading title", "Body."),
        ("# Heading title\n\nBody.", "Heading title", "Body."),
        ("---\ntitle: Same\n---\n# Same\n\nBody.", "Same", "Body."),
        ("---\ntitle: Front\n---\n# Other\n\nBody.", "Front", "# Other\n\nBody."),
        ("Plain first line\n\nBody.", "Plain first line", "Body."),
        ("---\n---\n## Not a headline\n\nBody.", "## Not a headline", "Body."),
    ],
)
def test_the_title_of_an_md_file(tmp_path: Path, content: str, title: str, text: str) -> None:
    articles, problems = load_one(tmp_path, "a.md", content)
    assert problems == []
    assert (articles[0].title, articles[0].text) == (title, text)


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        ("2022-11-10", "2022-11-10"),
        ("2022-11-10T12:00:00Z", "2022-11-10"),
        ("'2022-11-10T12:00:00Z'", "2022-11-10"),
        ('"2022-11-10"', "2022-11-10"),
        ("2022-11-10 12:00:00", "2022-11-10"),
        ("2022-11-10T23:30:00-05:00  # local time", "2022-11-10"),
        ("November 10, 2022", "2022-11-10"),
        ("10 Nov 2022", "2022-11-10"),
        ("last week", "last week"),
    ],
)
def test_md_published_becomes_an_iso_date(tmp_path: Path, published: str, expected: str) -> None:
    articles, _ = load_one(tmp_path, "a.md", f"---\ntitle: T\npublished: {published}\n---\nBody.")
    assert articles[0].published == expected


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("source: Example Wire", "Example Wire"),
        ("source:   Example Wire   ", "Example Wire"),
        ("source:\tExample Wire", "Example Wire"),
        ("source : Example Wire", "Example Wire"),
        ("source: Example Wire # the wire service", "Example Wire"),
        ("source: Example Wire\t# the wire service", "Example Wire"),
        ("source: C# Weekly", "C# Weekly"),
        ("source: Issue#4", "Issue#4"),
        ("source: https://example.org/a?b=c#part", "https://example.org/a?b=c#part"),
        ("source: no", "no"),
        ("source: yes", "yes"),
        ("source: off", "off"),
        ("source: 2022", "2022"),
        ("source: 0x1F", "0x1F"),
        ("source: 1.50", "1.50"),
        ("source: a:b", "a:b"),
        ("source: -5", "-5"),
        ("source: 'Wire: Europe'", "Wire: Europe"),
        ("source: 'It''s News'", "It's News"),
        ("source: 'say \"hi\"'", 'say "hi"'),
        ("source: 'back\\slash'", "back\\slash"),
        ("source: 'Wire # not a comment' # a comment", "Wire # not a comment"),
        ('source: "Wire: Europe"', "Wire: Europe"),
        ('source: "The \\"Daily\\" Wire"', 'The "Daily" Wire'),
        ('source: "It\'s News"', "It's News"),
        ('source: "back\\\\slash"', "back\\slash"),
        ('source: "Caf\\u00e9 \\x41\\/B"', "Caf\u00e9 A/B"),
        ('source: "Wire # not a comment" # a comment', "Wire # not a comment"),
        ('source: "#1 Wire"', "#1 Wire"),
        ("source: '- Wire'", "- Wire"),
        ("source: '@wire'", "@wire"),
        ("source:", ""),
        ("source: # nothing", ""),
        ("source: ''", ""),
        ('source: ""', ""),
        ("source: ~", ""),
        ("source: null", ""),
    ],
)
def test_md_front_matter_values_plain_quoted_and_commented(tmp_path: Path, line: str, value: str) -> None:
    articles, problems = load_one(tmp_path, "a.md", f"---\ntitle: T\n{line}\n---\nBody.")
    assert problems == []
    assert articles[0].source == value


def test_md_language_no_is_the_norwegian_code_not_a_boolean(tmp_path: Path) -> None:
    articles, problems = load_one(tmp_path, "a.md", "---\ntitle: T\nlanguage: no\n---\nBody.")
    assert problems == []
    assert articles[0].language == "no"


def test_md_front_matter_skips_comments_blank_lines_and_other_keys_nested_values(
    tmp_path: Path,
) -> None:
    content = (
        "---\n"
        "# written by the scraper\n"
        "\n"
        "title: Grain deal extended  # headline as printed\n"
        "tags:\n"
        "- grain\n"
        "- shipping\n"
        "authors:\n"
        "  - name: A. Writer\n"
        "    role: staff\n"
        "  # an indented comment\n"
        "summary: |\n"
        "  Two lines\n"
        "\n"
        "  of summary.\n"
        "related: [a, b]\n"
        "seo: {index: true}\n"
        "note: 'unclosed\n"
        "  continued'\n"
        "og:title: Other\n"
        "Title: Other\n"
        "source: Wire\n"
        "...\n"
        "Body.\n"
    )
    articles, problems = load_one(tmp_path, "a.md", content)
    assert problems == []
    assert (articles[0].title, articles[0].source, articles[0].text) == (
        "Grain deal extended",
        "Wire",
        "Body.",
    )


@pytest.mark.parametrize(
    ("front", "reason", "line"),
    [
        ("title: T\njust text", "bad front matter: expected 'key: value', got 'just text'", 3),
        ("- a\n- b", "bad front matter: expected 'key: value', got '- a'", 2),
        ("title: T\nurl:https://example.org", "expected 'key: value', got 'url:https://", 3),
        ("title: T\n: value", "expected 'key: value', got ': value'", 3),
        ("title: T\n'quoted': key", "expected 'key: value', got \"'quoted': key\"", 3),
        ("  title: T", "bad front matter: indented line with no key above it", 2),
        ("title: T\ntags: x\n- a", "bad front matter: expected 'key: value', got '- a'", 4),
        ("title: [a, b]", "front matter 'title': expected text, got a list", 2),
        ("title: T\nurl: [a,\n  b]", "front matter 'url': expected text, got a list", 3),
        ("title: {a: 1}", "front matter 'title': expected text, got a mapping", 2),
        ("title:\n- a\n- b", "front matter 'title': expected text, got a list", 3),
        ("title:\n  - a", "front matter 'title': expected text, got a list", 3),
        ("title:\n  a: 1", "front matter 'title': expected text, got a mapping", 3),
        ("title:\n  Grain deal", "front matter 'title': expected the value on the key's line", 3),
        ("title: T\n\tsource: x", "front matter 'title': expected a one-line value", 3),
        ("title: Grain\n  deal", "front matter 'title': expected a one-line value", 3),
        ("title: T\nsource: |\n  Wire", "'source': a value starting with '|' must be quoted", 3),
        ("title: T\nsource: >", "'source': a value starting with '>' must be quoted", 3),
        ("title: T\nsource: &w Wire", "'source': a value starting with '&' must be quoted", 3),
        ("title: T\nsource: *w", "'source': a value starting with '*' must be quoted", 3),
        ("title: T\nsource: !!str 5", "'source': a value starting with '!' must be quoted", 3),
        ("title: T\nsource: @wire", "'source': a value starting with '@' must be quoted", 3),
        ("title: T\nsource: - Wire", "'source': a value starting with '-' must be quoted", 3),
        ("title: Breaking: war", "front matter 'title': a value holding ': ' must be quoted", 2),
        ("title: 'unclosed", "front matter 'title': quoted value not closed on its line", 2),
        ('title: "unclosed\\"', "front matter 'title': quoted value not closed on its line", 2),
        ("title: 'a' b", "front matter 'title': unexpected text after the closing quote", 2),
        ('title: "a"# b', "front matter 'title': unexpected text after the closing quote", 2),
        ('title: "a\\qb"', "front matter 'title': unknown escape '\\q'", 2),
        ('title: "\\ud800"', "front matter 'title': escape '\\ud800' is not a character", 2),
        ("title: A\nsource: S\ntitle: B", "front matter 'title' given twice (first on line 2)", 4),
    ],
)
def test_a_bad_md_front_matter_line_is_reported_with_its_line(
    tmp_path: Path, front: str, reason: str, line: int
) -> None:
    articles, problems = load_one(tmp_path, "a.md", f"---\n{front}\n---\nBody.")
    assert articles == []
    assert len(problems) == 1
    assert (problems[0].path, problems[0].line) == ("a.md", line)
    assert reason in problems[0].reason


def test_an_md_file_with_bad_front_matter_is_skipped_and_the_rest_loads(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "---\ntitle: A\n---\nAlpha.")
    write(tmp_path, "b.md", "---\ntitle: B\nnot a key line\n---\nBeta.")
    write(tmp_path, "c.md", "---\ntitle:\n  - C\n---\nGamma.")
    write(tmp_path, "d.md", "---\ntitle: D\ntags:\n  - x\n---\nDelta.")

    corpus = load_corpus(tmp_path)

    assert [article.id for article in corpus.articles] == ["a", "d"]
    assert corpus.problems == (
        LoadProblem("b.md", "bad front matter: expected 'key: value', got 'not a key line'", 3),
        LoadProblem("c.md", "front matter 'title': expected text, got a list", 3),
    )


# .jsonl


def test_a_jsonl_file_gives_one_article_a_line(tmp_path: Path) -> None:
    content = (
        '{"id": "wire-1", "title": "Rates rise", "source": "Wire", "url": "https://example.org/1",'
        ' "published": "2022-11-10T08:00:00Z", "text": "The bank raised rates."}\n'
        "\n"
        '{"id": 7, "title": "Rates hold", "text": "Line one.\\r\\nLine two.", "extra": true}\n'
        '{"title": "No id", "text": "Body."}\n'
    )
    articles, problems = load_one(tmp_path, "feeds/wire.jsonl", content)

    assert problems == []
    assert articles == [
        Article(
            id="wire-1",
            title="Rates rise",
            text="The bank raised rates.",
            source="Wire",
            url="https://example.org/1",
            published="2022-11-10",
            path="feeds/wire.jsonl",
        ),
        Article(id="7", title="Rates hold", text="Line one.\nLine two.", path="feeds/wire.jsonl"),
        Article(id="feeds/wire:4", title="No id", text="Body.", path="feeds/wire.jsonl"),
    ]


def test_bad_jsonl_lines_are_skipped_and_the_rest_still_load(tmp_path: Path) -> None:
    content = b'{"id": "a", "text": "One."}\nnot json\n{"id": "b", "text": "\xff"}\n{"id": "c", "text": "Three."}\n'
    articles, problems = load_one(tmp_path, "f.jsonl", content)
    assert [article.id for article in articles] == ["a", "c"]
    assert [(problem.line, problem.reason.split(":")[0]) for problem in problems] == [
        (3, "not valid UTF-8 at byte 58"),
        (2, "not valid JSON"),
    ]


# bad files


@pytest.mark.parametrize(
    ("name", "content", "reason", "line"),
    [
        ("a.txt", b"", "empty file", None),
        ("a.txt", b"  \n\n", "empty file", None),
        ("a.txt", b"Headline only\n\n", "no article text after the headline", None),
        ("a.txt", b"Headline\n\nSource: Wire\nLeave a Reply\n", "no article text", None),
        ("a.txt", b"Title\n\nOne \xff two.", "not valid UTF-8 at byte 11", 3),
        ("a.txt", b"Title\n\nBody\x00.", "binary file", None),
        ("a.md", b"\x89PNG\r\n\x1a\n\x00\x00", "binary file", None),
        ("a.md", b"---\ntitle: T\n---\n", "no article text after the headline", None),
        ("a.md", b"---\ntitle: T\n\nBody.", "front matter not closed", 1),
        ("a.md", b"---\ntitle: T\nsource: [a, b]\n---\nB.", "expected text, got a list", 3),
        ("a.jsonl", b"", "empty file", None),
        ("a.jsonl", b"not json\n", "not valid JSON", 1),
        ("a.jsonl", b'\n{"text": "ok"}\n{"text": "cut', "not valid JSON", 3),
        ("a.jsonl", b'["text"]\n', "not a JSON object (list)", 1),
        ("a.jsonl", b'{"title": "T"}\n', 'no "text"', 1),
        ("a.jsonl", b'{"text": "  "}\n', 'no "text"', 1),
        ("a.jsonl", b'{"text": 5}\n', 'no "text"', 1),
        ("a.jsonl", b'{"text": "ok", "title": ["T"]}\n', "'title': expected text, got list", 1),
        ("a.jsonl", b'{"text": "\xc3("}\n', "not valid UTF-8 at byte 10", 1),
        ("a.jsonl", b'{"id": "x", "text": "a"}\n{"id": "x", "text": "b"}\n', "duplicate id 'x'", 2),
    ],
)
def test_a_bad_file_or_line_is_reported_with_reason_and_line(
    tmp_path: Path, name: str, content: bytes, reason: str, line: int | None
) -> None:
    _, problems = load_one(tmp_path, name, content)
    assert len(problems) == 1
    assert (problems[0].path, problems[0].line) == (name, line)
    assert reason in problems[0].reason


def test_an_unreadable_path_is_reported_with_the_os_reason(tmp_path: Path) -> None:
    (tmp_path / "folder.txt").mkdir()
    assert load_file(tmp_path / "folder.txt", root=tmp_path) == (
        [],
        [LoadProblem("folder.txt", "cannot read: Is a directory")],
    )
    assert load_file(tmp_path / "gone.txt", root=tmp_path) == (
        [],
        [LoadProblem("gone.txt", "cannot read: No such file or directory", retry=True)],
    )


def test_a_file_without_read_permission_is_reported_and_retried_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retrieval.load as load_module

    path = write(tmp_path, "secret.txt", "Title\n\nBody.")
    real_open = open

    def refuse(file: Any, *args: Any, **kwargs: Any) -> Any:
        # chmod 0 is no obstacle to root, who runs the suite in CI: refuse the way the OS would.
        if Path(file) == path:
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(load_module, "open", refuse, raising=False)
    assert load_file(path, root=tmp_path) == (
        [],
        [LoadProblem("secret.txt", "cannot read: Permission denied", retry=True)],
    )
    monkeypatch.undo()
    assert [a.title for a in load_file(path, root=tmp_path)[0]] == ["Title"]


# the whole corpus


def test_a_corpus_loads_the_good_files_and_reports_the_bad_ones(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "Alpha\n\nAlpha body.")
    write(tmp_path, "b.txt", b"Beta\n\n\xfe")
    write(tmp_path, "c/d.md", "---\ntitle: Delta\n---\nDelta body.")
    write(tmp_path, "e.jsonl", '{"id": "e1", "title": "Echo", "text": "Echo body."}\n{oops}\n')

    corpus = load_corpus(tmp_path)

    assert corpus == Corpus(
        articles=(
            Article(id="a", title="Alpha", text="Alpha body.", path="a.txt"),
            Article(id="c/d", title="Delta", text="Delta body.", path="c/d.md"),
            Article(id="e1", title="Echo", text="Echo body.", path="e.jsonl"),
        ),
        problems=(
            LoadProblem("b.txt", "not valid UTF-8 at byte 6", 3),
            LoadProblem(
                "e.jsonl",
                "not valid JSON: Expecting property name enclosed in double quotes (column 2)",
                2,
            ),
        ),
    )


def test_a_duplicate_id_across_files_keeps_the_first_in_file_order(tmp_path: Path) -> None:
    write(tmp_path, "story.md", "# From md\n\nOne.")
    write(tmp_path, "story.txt", "From txt\n\nTwo.")
    write(tmp_path, "z.jsonl", '\n{"id": "story", "text": "Three."}\n')

    corpus = load_corpus(tmp_path)

    assert [(article.id, article.title) for article in corpus.articles] == [("story", "From md")]
    assert corpus.problems == (
        LoadProblem("story.txt", "duplicate id 'story' (first in story.md), skipped"),
        LoadProblem("z.jsonl", "duplicate id 'story' (first in story.md), skipped", 2),
    )


def test_a_corpus_of_one_file_takes_ids_relative_to_its_folder(tmp_path: Path) -> None:
    path = write(tmp_path, "deep/story.txt", "Title\n\nBody.")
    assert load_corpus(path).articles == (Article(id="story", title="Title", text="Body.", path="story.txt"),)


def test_loading_does_not_modify_the_corpus_folder(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "\ufeffTitle\r\n\r\nBody.  \r\n\r\n\r\nSource: W\r\nLeave a Reply\r\n")
    write(tmp_path, "b/c.md", "---\ntitle: T\npublished: 10 Nov 2022\n---\nCafe\u0301.")
    write(tmp_path, "d.jsonl", '{"text": "x"}\nbad\n')
    write(tmp_path, "e.txt", b"\xff\xfe")
    write(tmp_path, ".hidden/f.txt", "Title\n\nBody.")
    before = snapshot(tmp_path)

    load_corpus(tmp_path)
    load_corpus(tmp_path / "a.txt")

    assert snapshot(tmp_path) == before


def test_ids_are_stable_across_two_loads(tmp_path: Path) -> None:
    write(tmp_path, "2024/ukraine/talks.txt", "Talks\n\nBody.")
    write(tmp_path, "notes.md", "# Notes\n\nBody.")
    write(tmp_path, "feed.jsonl", '{"text": "a"}\n{"id": "k", "text": "b"}\n')

    first = [article.id for article in load_corpus(tmp_path).articles]
    second = [article.id for article in load_corpus(str(tmp_path)).articles]

    assert first == second == ["2024/ukraine/talks", "feed:1", "k", "notes"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-11-10", "2022-11-10"),
        ("2022-11-10T12:00:00Z", "2022-11-10"),
        ("2022-11-10T23:30:00-05:00", "2022-11-10"),
        ("November 10, 2022", "2022-11-10"),
        ("Nov 10, 2022", "2022-11-10"),
        ("10 Nov 2022", "2022-11-10"),
        ("10 November 2022", "2022-11-10"),
        ("Thu, 10 Nov 2022 12:00:00 +0000", "2022-11-10"),
        ("  2022-11-10  ", "2022-11-10"),
        ("10/11/2022", "10/11/2022"),
        ("Nov 2022", "Nov 2022"),
        ("yesterday", "yesterday"),
        ("", ""),
    ],
)
def test_normalize_date_reads_common_forms_and_keeps_the_rest(value: str, expected: str) -> None:
    assert normalize_date(value) == expected


@pytest.mark.parametrize(
    ("front", "reason", "line"),
    [
        ("title: T\nrelated: [a, b", "bad front matter", 3),
        ("title: T\ntags: @x", "bad front matter: a value starting with '@' must be quoted", 3),
        ('title: "\\U00110000"', "front matter 'title': an escape that is not a character", 2),
    ],
)
def test_broken_yaml_under_any_key_is_reported(tmp_path: Path, front: str, reason: str, line: int) -> None:
    articles, problems = load_one(tmp_path, "a.md", f"---\n{front}\n---\nBody.")
    assert articles == []
    assert [(p.path, p.line) for p in problems] == [("a.md", line)]
    assert problems[0].reason.startswith(reason)


def test_md_front_matter_reads_tabs_between_words_as_spaces(tmp_path: Path) -> None:
    articles, problems = load_one(tmp_path, "a.md", "---\ntitle:\tGrain\tdeal\t# comment\nsource:\t'Wire'\n---\nBody.")
    assert problems == []
    assert (articles[0].title, articles[0].source) == ("Grain deal", "Wire")


def test_md_and_jsonl_also_reported_by_name_the_other_outlets(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "---\ntitle: Ash closes airports\nsource: Coast Gazette\n"
        'also_reported_by: [{"source": "Northern Post", "title": "Flights cancelled", "url": "https://n.example/a"}]\n'
        "---\nAsh closed three airports.\n",
        encoding="utf-8",
    )
    (tmp_path / "b.jsonl").write_text(
        '{"id": "b", "title": "T", "text": "Body.", "also_reported_by": [{"source": "X", "title": "", "url": ""}]}\n',
        encoding="utf-8",
    )
    (tmp_path / "c.md").write_text(
        "---\ntitle: T\nalso_reported_by:\n  - source: Y\n    url: https://y.example/\n---\nBody.\n", encoding="utf-8"
    )
    (tmp_path / "bad.md").write_text("---\ntitle: T\nalso_reported_by: Z\n---\nBody.\n", encoding="utf-8")
    corpus = load_corpus(tmp_path)
    assert {a.id: a.also_reported_by for a in corpus.articles} == {
        "a": (Mention("Northern Post", "Flights cancelled", "https://n.example/a"),),
        "b": (Mention("X", "", ""),),
        "c": (Mention("Y", "", "https://y.example/"),),
    }
    assert [str(p) for p in corpus.problems] == [
        'bad.md: also_reported_by: expected a list of {"source", "title", "url"} objects'
    ]


# hostile corpora: every bad line, name, link and folder is reported by name and skipped


GOOD = '{"id": "good", "title": "Kite festival", "text": "The kite festival drew 3,000 visitors to the dunes."}'
HOSTILE_LINES = {
    2: '{"id": "deep", "text": ' + "[" * 100_000 + "]" * 100_000 + "}",
    3: '{"id": "big", "views": 1' + "0" * 5000 + ', "text": "A body."}',
    4: '{"id": "t", "title": "x", "text": "broken \\ud800 text"}',
    5: '{"id": "h", "title": "broken \\ud800 title", "text": "Body."}',
    6: '{"id": "bad \\ud800 id", "title": "x", "text": "Body."}',
    7: '{"id": "s", "source": "\\udfff", "title": "x", "text": "Body."}',
}


def test_hostile_jsonl_lines_are_reported_one_by_one_and_the_good_line_loads(tmp_path: Path) -> None:
    path = tmp_path / "wire.jsonl"
    path.write_text("\n".join([GOOD, *HOSTILE_LINES.values()]) + "\n")
    corpus = load_corpus(path)
    assert [a.id for a in corpus.articles] == ["good"]
    assert [(p.line, p.reason.split(":")[0]) for p in corpus.problems] == [
        (2, "not valid JSON"),
        (3, "not valid JSON"),
        (4, "field 'text'"),
        (5, "field 'title'"),
        (6, "field 'id'"),
        (7, "field 'source'"),
    ]
    assert corpus.problems[0].reason == "not valid JSON: nested too deeply"


def test_an_oversized_file_is_skipped_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import retrieval.load as load_module

    monkeypatch.setattr(load_module, "MAX_ARTICLE_BYTES", 1 << 20)
    (tmp_path / "huge.txt").write_text("Headline\n" + "word " * 300_000)
    (tmp_path / "huge.jsonl").write_text(GOOD + "\n" + '{"text": "' + "word " * 300_000 + '"}\n')
    corpus = load_corpus(tmp_path)
    assert [a.id for a in corpus.articles] == ["good"]
    assert [str(p) for p in corpus.problems] == [
        "huge.jsonl:2: line too long for one article (1.4 MiB), skipped",
        "huge.txt: too large for one article (1.4 MiB; at most 1 MiB)",
    ]


def test_bad_names_links_and_special_files_are_reported_and_skipped(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Good headline\n\nA good body.\n")
    (tmp_path / "outside.txt").write_text("Outside\n\nNot in the corpus.\n")
    with open(os.fsencode(corpus) + b"/bad\xff.txt", "wb") as fh:
        fh.write(b"Bad name\n\nA body.\n")
    (corpus / "forged\nnewsbot: skipped x.txt").write_text("")
    os.symlink("loop.txt", corpus / "loop.txt")
    os.symlink("missing.txt", corpus / "dangling.txt")
    os.symlink(tmp_path / "outside.txt", corpus / "out.txt")
    os.symlink("good.txt", corpus / "inside.txt")
    os.symlink(tmp_path, corpus / "folder-link")
    os.mkfifo(corpus / "pipe.txt")
    loaded = load_corpus(corpus)
    assert sorted(a.id for a in loaded.articles) == ["good", "inside"]
    assert sorted(str(p) for p in loaded.problems) == [
        "bad\\xff.txt: file name is not valid UTF-8, skipped",
        "dangling.txt: broken link (its target does not exist)",
        "folder-link: link to a folder, not followed",
        "forged\\nnewsbot: skipped x.txt: empty file",
        "loop.txt: link loop, not followed",
        "out.txt: link leads out of the corpus folder, not followed",
        "pipe.txt: not a regular file (a FIFO, socket or device), skipped",
    ]
    followed = load_corpus(corpus, follow_links=True)
    assert sorted(a.id for a in followed.articles) == ["good", "inside", "out"]


def test_a_folder_that_cannot_be_searched_is_reported_and_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "a.txt").write_text("Headline\n\nBody.\n")
    (tmp_path / "b.txt").write_text("Headline\n\nBody.\n")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p).name != "locked" and real_access(p, mode))
    files, problems = scan_corpus(tmp_path)
    assert files == [tmp_path / "b.txt"]
    assert problems == [LoadProblem("locked", "cannot read folder: Permission denied", retry=True)]
