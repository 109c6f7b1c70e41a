"""Tests for bot.format: exact replies for small answers, and Telegram's rules for any answer."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.fakebotapi import HTMLError, parse_html, utf16_length
from bot.format import (
    MAX_MESSAGE,
    SMALL_TALK_REPLY,
    article_link,
    format_age,
    format_answer,
    format_context,
    format_no_answer,
    format_sentence,
    format_source,
    format_sources,
    format_start,
    html_to_plain,
    preview,
    telegram_length,
)
from retrieval.engine import Engine
from retrieval.models import Answer, AnswerSentence, Context, IndexStats, Mention, Source
from retrieval.settings import Settings

SOURCE = Source(
    article_id="a1",
    title="USA: Only Zelensky can decide to start negotiations with Russia",
    source="RES-MPE",
    url="",
    published="",
)


def sentence(text: str, matched: tuple[tuple[int, int], ...] = (), source: Source = SOURCE) -> AnswerSentence:
    return AnswerSentence(text=text, source=source, score=1.0, matched=matched, sentence=0)


def test_a_sentence_is_a_quote_with_matched_words_in_bold_and_its_source_under_it() -> None:
    quoted = sentence("Only Zelensky can approve negotiations.", ((5, 13), (26, 38)))
    assert format_answer(Answer("q", (quoted,), 1)) == [
        "<blockquote>Only <b>Zelensky</b> can approve <b>negotiations</b>.</blockquote>\n"
        "— RES-MPE · USA: Only Zelensky can decide to start negotiations with Russia"
    ]


def test_corpus_text_is_escaped_never_markup() -> None:
    source = Source("a2", "Tom & Jerry <b", "Wire", "https://example.com/a?x=1&y=2", "2022-11-17T10:00Z")
    quoted = sentence("Kyiv said <script>alert(1)</script> & more.", ((0, 4), (36, 37)), source)
    assert format_sentence(quoted) == (
        "<blockquote><b>Kyiv</b> said &lt;script&gt;alert(1)&lt;/script&gt; <b>&amp;</b> more."
        "</blockquote>\n"
        "— Wire · 17 Nov 2022 · "
        '<a href="https://example.com/a?x=1&amp;y=2#:~:text=Kyiv%20said%20%3Cscript%3Ealert%281%29%3C%2Fscript%3E%20%26%20more.">'
        "Tom &amp; Jerry &lt;b</a>"
    )


@pytest.mark.parametrize(
    ("source", "line"),
    [
        (
            Source("a", "Title", "Outlet", "https://x.org/a", "2024-03-05"),
            '— Outlet · 5 Mar 2024 · <a href="https://x.org/a">Title</a>',
        ),
        (Source("a", "Title", "Outlet", "", ""), "— Outlet · Title"),
        (Source("a", "Title", "", "", "2024-03-05"), "— 5 Mar 2024 · Title"),
        # A bare domain, or no outlet at all, becomes the name of a well-known site.
        (Source("a", "T", "usatoday.com", "", "2025-02-09"), "— USA Today · 9 Feb 2025 · T"),
        (Source("a", "T", "", "https://edition.cnn.com/x", ""), '— CNN · <a href="https://edition.cnn.com/x">T</a>'),
        (Source("a", "T", "example.net", "", ""), "— example.net · T"),
        (Source("a", "", "Outlet", "", ""), "— Outlet · untitled"),
        # Only http(s) URLs become links: a javascript: URL or one with a quote stays text.
        (Source("a", "Title", "O", "javascript:alert(1)", ""), "— O · Title"),
        (Source("a", "Title", "O", 'https://x.org/"onclick', ""), "— O · Title"),
        (Source("a", "Title", "O", "https://x.org/" + "a" * 2000, ""), "— O · Title"),
        (Source("a", "T", "O", "", "yesterday <noon>"), "— O · yesterday &lt;noon&gt; · T"),
        # Other outlets that printed the same story are named, escaped, each once.
        (
            Source("a", "T", "O", "", "", (Mention("B & Co", "T", "u"), Mention("C", "T", "v"), Mention("C", "", ""))),
            "— O · T · also: B &amp; Co, C",
        ),
    ],
)
def test_source_line(source: Source, line: str) -> None:
    assert format_source(source) == line


@pytest.mark.parametrize(
    ("matched", "quote"),
    [
        ((), "abcdef"),
        (((1, 3), (2, 4)), "a<b>bcd</b>ef"),  # overlapping spans merge
        (((0, 2), (2, 4)), "<b>abcd</b>ef"),  # touching spans merge
        (((-5, 1), (5, 99)), "<b>a</b>bcde<b>f</b>"),  # spans outside the text are clipped
        (((3, 3), (4, 2)), "abcdef"),  # empty and reversed spans are dropped
    ],
)
def test_matched_spans_become_balanced_bold(matched: tuple[tuple[int, int], ...], quote: str) -> None:
    block = format_sentence(sentence("abcdef", matched))
    assert block.split("\n")[0] == f"<blockquote>{quote}</blockquote>"


def test_quotes_of_one_article_share_one_source_line_and_articles_keep_their_order() -> None:
    other = Source("b", "Tea prices rise", "Wire", "", "2023-11-02")
    answer = Answer(
        "q", (sentence("First."), sentence("Tea rose.", source=other), sentence("Second.")), 1
    )
    (message,) = format_answer(answer)
    assert message == (
        "<blockquote>First.</blockquote>\n<blockquote>Second.</blockquote>\n"
        "— RES-MPE · USA: Only Zelensky can decide to start negotiations with Russia\n\n"
        "<blockquote>Tea rose.</blockquote>\n— Wire · 2 Nov 2023 · Tea prices rise"
    )


def test_only_the_rarest_matched_words_are_bold() -> None:
    def every_word(text: str) -> tuple[tuple[int, int], ...]:
        return tuple((m.start(), m.end()) for m in re.finditer(r"\w+", text))

    words = "the mayor said the harbour bridge will close"
    common = sentence("the mayor said so", every_word("the mayor said")[:3])
    (message,) = format_answer(Answer("q", (sentence(words, every_word(words)), common), 1))
    first = message.split("</blockquote>")[0]
    # "the", "mayor" and "said" are in both quotes; the three longest of the rest are bold.
    assert first == "<blockquote>the mayor said the <b>harbour</b> <b>bridge</b> will <b>close</b>"


@pytest.mark.parametrize(
    ("url", "quoted", "link"),
    [
        ("https://x.org/a", "Short quote, here.", "https://x.org/a#:~:text=Short%20quote%2C%20here."),
        (
            "https://x.org/a#top",
            "one two three four five six seven eight nine-ten",
            "https://x.org/a#top:~:text=one%20two%20three%20four,six%20seven%20eight%20nine%2Dten",
        ),
        ("ftp://x.org/a", "Quote.", ""),
        ("https://x.org/" + "a" * 1020, "Quote.", ""),
    ],
)
def test_the_article_link_opens_at_the_quote(url: str, quoted: str, link: str) -> None:
    assert article_link(url, quoted) == link


def test_answer_pages_start_where_asked() -> None:
    answer = Answer("q", tuple(sentence(f"Sentence {n}.") for n in range(5)), 1)
    assert [html_to_plain(m).count("Sentence") for m in format_answer(answer, start=3, count=3)] == [2]
    assert "Sentence 3." in format_answer(answer, start=3, count=3)[0]


def test_a_long_answer_is_split_between_sentences_never_inside_one() -> None:
    sentences = tuple(sentence(f"{n} " + "word " * 300) for n in range(8))
    messages = format_answer(Answer("q", sentences, 1), count=8)
    assert len(messages) > 1
    assert all(len(m) <= MAX_MESSAGE and telegram_length(m) <= MAX_MESSAGE for m in messages)
    assert all(m.startswith("<blockquote>") for m in messages)
    # One article: its source line once, under its last quote.
    assert "".join(messages).count("— RES-MPE") == 1 and messages[-1].endswith("negotiations with Russia")


def test_a_sentence_too_long_for_a_message_is_cut_at_a_word_with_an_ellipsis() -> None:
    text = "alpha beta gamma " * 1000
    (message,) = format_answer(Answer("q", (sentence(text, ((0, 5), (6000, 6004))),), 1))
    quote = message.split("</blockquote>")[0]
    assert quote.startswith("<blockquote><b>alpha</b> beta gamma alpha")
    assert quote.endswith("gamma…") or quote.endswith("beta…") or quote.endswith("alpha…")
    assert len(message) <= MAX_MESSAGE
    assert message.endswith("— RES-MPE · USA: Only Zelensky can decide to start negotiations with Russia")


def test_escaping_counts_against_the_limit_too() -> None:
    (message,) = format_answer(Answer("q", (sentence("&" * 5000),), 1))
    assert len(message) <= MAX_MESSAGE
    assert html_to_plain(message).startswith("&&&&")


def test_length_is_counted_in_utf16_code_units() -> None:
    assert telegram_length("<b>😀</b> &amp;") == 4
    (message,) = format_answer(Answer("q", (sentence("😀" * 3000),), 1))
    assert telegram_length(message) <= MAX_MESSAGE < len(html_to_plain(message).encode("utf-16-le"))


@pytest.mark.parametrize(
    ("stats", "text"),
    [
        (
            IndexStats(4, 9, 100, (), "2022-11-17", "2024-03-05"),
            "I found nothing on that in the 4 articles I know (the newest from 5 Mar 2024). "
            "Try other words, or see /sources for what I cover.",
        ),
        (
            IndexStats(1, 5, 100),
            "I found nothing on that in the 1 article I know. Try other words, or see /sources for what I cover.",
        ),
        (
            IndexStats(0, 0, 0),
            "I don't know any articles yet, so I cannot answer. Ask again once I have some.",
        ),
    ],
)
def test_no_answer_says_so_with_what_the_bot_knows(stats: IndexStats, text: str) -> None:
    assert format_no_answer(stats) == text


def test_sources_lists_outlets_and_dates() -> None:
    stats = IndexStats(4, 9, 100, (("RES-MPE", 2), ("A & B", 1), ("Wire", 1)), "2022-11-17", "2024-03-05")
    assert format_sources(stats) == [
        "I know <b>4</b> articles from <b>3</b> outlets, published 17 Nov 2022 to 5 Mar 2024.\n"
        "• RES-MPE — 2\n"
        "• A &amp; B — 1\n"
        "• Wire — 1"
    ]


def test_sources_of_a_huge_corpus_stay_within_the_limit() -> None:
    outlets = tuple((f"<Outlet> {n} " + "&" * 60, 1) for n in range(500))
    messages = format_sources(IndexStats(500, 500, 100, outlets))
    assert all(len(m) <= MAX_MESSAGE for m in messages)
    assert messages[-1].endswith("…and 470 more.")


def test_context_quotes_the_focus_sentence_among_its_neighbours() -> None:
    context = Context(Source("a", "T", "O", "", ""), ("A < b.", "Focus & c.", "D."), 1)
    assert format_context(context) == ["A &lt; b.\n<blockquote>Focus &amp; c.</blockquote>\nD.\n— O · T"]


def test_start_shows_example_questions() -> None:
    assert format_start(["Only Zelensky can decide"], articles=2, username="newsbot") == (
        "Hi! I answer questions about the news by quoting, word for word, the sentences of the "
        "2 articles I know that answer them best, each with its source.\n\n"
        "Just send me a question, for example:\n"
        "• <code>Only Zelensky can decide</code>\n\n"
        "In groups, use /ask or mention @newsbot. See /help for more."
    )


@pytest.mark.parametrize(
    ("text", "limit", "short"),
    [
        ("one two three", 20, "one two three"),
        ("one two three", 9, "one two…"),
        ("abcdefgh", 4, "abc…"),
    ],
)
def test_preview(text: str, limit: int, short: str) -> None:
    assert preview(text, limit) == short


@pytest.mark.parametrize(
    "bad",
    [
        "<b>x",
        "x</b>",
        "<b><i>x</b></i>",
        "<script>x</script>",
        "a & b",
        "a < b",
        '<a href="x">y</a>',
    ],
)
def test_the_fake_telegram_refuses_what_telegram_refuses(bad: str) -> None:
    with pytest.raises(HTMLError):
        parse_html(bad)


# -- any input -----------------------------------------------------------------------------

long_text = st.one_of(
    st.text(max_size=300),
    st.text(min_size=1, max_size=12).map(lambda s: s * 700),
)
spans = st.lists(st.tuples(st.integers(-10, 9000), st.integers(-10, 9000)), max_size=6)
sources = st.builds(
    Source,
    article_id=st.text(max_size=5),
    title=long_text,
    source=st.text(max_size=80),
    url=st.one_of(st.just(""), st.text(max_size=50).map(lambda s: "https://x.org/" + s), st.text()),
    published=st.text(max_size=40),
)
answer_sentences = st.builds(AnswerSentence, text=long_text, source=sources, score=st.just(1.0), matched=spans)


def assert_valid_for_telegram(messages: list[str], sentences: tuple[AnswerSentence, ...]) -> None:
    """Each message parses, fits, and shows every quoted text as text (whole, or cut with …)."""
    assert messages
    shown = ""
    for message in messages:
        plain, _ = parse_html(message)  # raises on a disallowed tag, unbalanced tags, bare & < >
        assert len(message) <= MAX_MESSAGE and utf16_length(plain) <= MAX_MESSAGE
        assert plain == html_to_plain(message)
        shown += plain
    for quoted in sentences:
        cut = len(quoted.text)
        while quoted.text[:cut] not in shown:
            cut -= 1
        assert cut == len(quoted.text) or quoted.text[:cut] + "…" in shown


@given(question=st.text(), chosen=st.lists(answer_sentences, min_size=1, max_size=5))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_answer_formats_as_valid_telegram_html_within_the_limit(
    question: str, chosen: list[AnswerSentence]
) -> None:
    answer = Answer(question, tuple(chosen), 1)
    assert_valid_for_telegram(format_answer(answer, count=len(chosen)), answer.sentences)


@given(
    question=st.text(max_size=200),
    title=st.text(max_size=200),
    body=st.text(min_size=1, max_size=3000),
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_question_about_any_article_formats_as_valid_telegram_html(question: str, title: str, body: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder, "corpus")
        corpus.mkdir()
        title = " ".join(title.split()) or "Untitled"
        (corpus / "article.txt").write_text(f"{title}\n\n{body}\n", encoding="utf-8", errors="replace")
        engine = Engine.open(corpus, Path(folder, "index"), Settings())
        answer = engine.answer(question + " " + body[:40])
    if answer.answered:
        assert_valid_for_telegram(format_answer(answer, count=10), answer.sentences)
    else:
        parse_html(format_no_answer(engine.stats))


@pytest.mark.parametrize(
    ("days", "said"),
    [
        (None, ""),
        (-1, ""),
        (0, "today"),
        (1, "1 day old"),
        (6, "6 days old"),
        (14, "2 weeks old"),
        (75, "2 months old"),
        (800, "2 years old"),
    ],
)
def test_the_age_of_a_quote_is_said_in_words(days: int | None, said: str) -> None:
    assert format_age(days) == said


def test_a_quote_says_when_and_how_long_ago_its_article_was_published() -> None:
    source = Source("a", "Bridge to close", "Coast Gazette", "", "2024-03-05")
    assert format_source(source, age_days=3) == "— Coast Gazette · 5 Mar 2024 (3 days old) · Bridge to close"
    assert format_source(source) == "— Coast Gazette · 5 Mar 2024 · Bridge to close"


def test_small_talk_gets_a_pointer_and_a_respelt_word_is_shown() -> None:
    stats = IndexStats(articles=4, passages=9, terms=50)
    assert format_no_answer(stats, Answer("hi", declined="small talk")) == SMALL_TALK_REPLY
    sentence = AnswerSentence("The bridge will close.", Source("a", "Bridge", "", "", ""), 1.0)
    answer = Answer("brigde", (sentence,), 4, corrected=(("brigde", "bridge"),))
    assert format_answer(answer)[0].startswith("<i>I read “brigde” as “bridge”.</i>\n")
