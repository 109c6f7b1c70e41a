"""Seeded news-like corpora and questions for the speed benchmark.

The text is not meant to be read, only to look like news to an index: sentences of 10-40 words
(mean about 22) in paragraphs, a Zipf-like vocabulary whose top ranks are the function words real
news prints (about 45% of tokens, as in ../shared/bench/realtimeqa), a few thousand common words,
a long tail of tens of thousands of synthetic content words, capitalised names and places,
numbers, money, percentages, dates, quotations with attribution, and a handful of outlets. Every
article repeats its own topic words and people, as real articles do, so term frequencies and
posting lists have the burstiness BM25 meets in practice.

Questions are built from the words of one sentence of a random article ("Who ...?", "When did
...?", "How many ...?", "What did X say about Y?", a few long quiz-style ones and bare keyword
queries), so each has an answer in the corpus. The same seed gives the same bytes.

`update_article(version)` is a small hand-written `.txt` article (headline, blank line, a few
sentences) about a made-up person whose name the generator never writes, with a question that
only it answers; versions 1 and 2 tell different stories, so a benchmark can add the file,
change it and delete it, and tell from the answers which version the index holds.

Usage (from the repository root):

    python -m benchmarks.newslike corpus.jsonl --passages 100000 --seed 7
    python -m benchmarks.newslike corpus.jsonl --passages 100000 --questions q.jsonl --count 1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CorpusInfo", "Question", "UpdateArticle", "make_questions", "passages_in",
           "update_article", "write_corpus"]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Ordered roughly by frequency in English news; the Zipf ranks start with these.
FUNCTION_WORDS = _words(
    "the of to and a in that is for on said was with he it as at by from his be have has "
    "are an they not but this who will their had were would its been more after about which "
    "her she or we also one than there up new when all out over two first year into people "
    "could last years our other can some time no him if what i so just now i'm like them only "
    "before you most while three many any because against do did during since may where being "
    "those these then back there's through under both between still even told how much should "
    "us my such me made being off very well per here around including another each down among "
    "because those until without again however across among whether although within already "
    "yet nor upon whose whom ever once"
)

COMMON_WORDS = _words(
    "government president minister police state country city week month day today officials "
    "percent million billion report says told public national international world official "
    "security forces military war attack killed support leader party election vote law court "
    "case health company market business economy prices money bank workers jobs school students "
    "children women men family home house water food power energy oil gas climate weather fire "
    "storm flood rain heat community local region area border foreign deal talks agreement plan "
    "policy program project budget tax spending debt rates growth sales trade team season game "
    "players coach league win won lost match final record history years ago later early late "
    "spokesman spokeswoman statement interview press conference news media television radio "
    "online social video photo department agency committee council commission board group "
    "members leaders chief director secretary general senator governor mayor judge lawyer "
    "prosecutors investigation charges trial prison arrested suspect victims crash accident "
    "hospital doctors patients virus vaccine disease study research scientists university data "
    "technology internet phone software users service services system network million-dollar "
    "announced reported confirmed denied warned expected called asked added noted according "
    "began started ended continued remained became took gave made found saw came went "
    "increase decrease rise fall higher lower major minor key main big small large long short "
    "high low old young recent former current future next previous final second third "
    "political economic financial social cultural federal regional military civil human "
    "rights freedom justice peace crisis conflict troops soldiers army navy weapons missile "
    "drone strike strikes talks negotiations sanctions aid help relief emergency disaster "
    "building buildings road roads bridge airport flight flights train cars vehicle vehicles "
    "industry industries factory production supply demand shortage inflation recession "
    "investors shares stock stocks profit losses revenue quarter annual monthly weekly daily "
    "morning evening night weekend hours minutes moment period decade century "
    "capital province district village town island coast river mountain north south east west "
    "northern southern eastern western central coastal rural urban "
    "campaign candidates voters ballot polls results victory defeat opposition coalition "
    "parliament congress senate assembly cabinet ministry embassy ambassador diplomat "
    "protest protesters demonstrators crowd rally march strike union unions "
    "film music artist album show series festival award awards prize book author "
    "church religious faith pope bishop mosque temple "
    "environment pollution emissions carbon renewable solar wind nuclear plant plants "
    "farmers crops harvest drought wildfire wildfires earthquake hurricane tornado "
    "price cost costs pay wages salary pension benefits insurance housing rent mortgage "
    "education teachers schools universities exams graduates "
    "online platform platforms app apps account accounts hackers cyber "
    "space rocket satellite launch mission moon mars "
    "player players goal goals points champion championship tournament cup olympic "
    "medal medals coach coaches fans stadium "
    "decision decisions question questions answer issue issues problem problems concern "
    "concerns change changes effort efforts process measure measures step steps "
    "response reaction role part number level levels rate amount share "
    "statement statements comments remarks claims allegations evidence documents "
    "officers agents staff employees residents citizens migrants refugees "
    "visit meeting summit session hearing ruling verdict sentence appeal "
    "approve approved reject rejected pass passed sign signed ban banned "
    "open opened close closed build built cut cuts raise raised "
    "sources source analysts experts observers critics supporters "
    "reportedly allegedly officially publicly privately recently currently nearly "
    "almost about roughly least most more less several few dozen hundreds thousands "
    "independent private public national local central global domestic"
)

FIRST_NAMES = _words(
    "John Mary James Maria Robert Anna Michael Elena David Sarah William Olga Richard Laura "
    "Joseph Fatima Thomas Mei Charles Aisha Daniel Ines Matthew Yuki Anthony Nadia Mark Sofia "
    "Paul Chen Steven Amara Andrew Lucia Kevin Hana Brian Zara Emmanuel Volodymyr Sergei Ahmed "
    "Olaf Emmanuelle Narendra Jacinda Luiz Recep Pedro Kamala Giorgia Viktor Ursula Xi Kim "
    "Rishi Keir Justin Alexei Yulia Mohammed Omar Layla Ravi Priya Ana Jose Carlos Diego "
    "Isabel Hiroshi Akira Sven Ingrid Pieter Marta Tomasz Katarzyna Ivan Dmitri Natalia"
)

OUTLETS = (
    ("RES-MPE", "res-mpe.example"), ("Daily Ledger", "dailyledger.example"),
    ("The Morning Courier", "morningcourier.example"),
    ("Northern Herald", "northernherald.example"),
    ("Global Wire", "globalwire.example"), ("City Tribune", "citytribune.example"),
    ("Evening Standard Post", "eveningpost.example"), ("Coastal Times", "coastaltimes.example"),
    ("The Capital Review", "capitalreview.example"), ("Metro Dispatch", "metrodispatch.example"),
    ("Valley Gazette", "valleygazette.example"), ("World Desk", "worlddesk.example"),
    ("Harbor News", "harbornews.example"), ("The Observer Line", "observerline.example"),
    ("Union Press Agency", "upa.example"), ("Summit Chronicle", "summitchronicle.example"),
)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)
SAID = ("said", "said", "said", "told reporters", "added", "said in a statement", "wrote")

# Simple onsets repeat so that most synthetic words are short and pronounceable.
_ONSETS = _words("b c d f g h k l m n p r s t w " * 3
                 + "br ch cl cr dr fl fr gl gr pl pr sh sl sp st th tr v y z")
_VOWELS = _words("a e i o u a e i o a e ea ai ou io")
_CODAS = _words("n r s t l m nd nt rt st ck ng rn ld") + ("",) * 8
_SUFFIXES = ("",) * 10 + _words("s s s ed ed ing ing ion er ers al ly ment ity ive ous ance")
_NAME_ENDINGS = _words("son sen ez ov ova enko ski ska ic ini elli ani ou is as er el an in on "
                       "ard ey")

_SENTENCE_END = re.compile(r"(?<=[.?!])(?:”)?\s+(?=[“A-Z0-9$])")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*|\d[\d.,]*%?")


@dataclass(frozen=True, slots=True)
class CorpusInfo:
    """What `write_corpus` wrote: counts as the generator sees them and how long it took."""

    path: str
    seed: int
    articles: int
    sentences: int
    words: int
    passages: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Question:
    """A question and the article sentence it was built from."""

    id: str
    question: str
    article_id: str
    sentence: str
    kind: str


def passages_in(sentences: int, *, size: int = 3, overlap: int = 1) -> int:
    """Count the windows of `size` sentences sharing `overlap` that cover `sentences` sentences."""
    if sentences <= size:
        return 1 if sentences else 0
    step = size - overlap
    return math.ceil((sentences - size) / step) + 1


def _synthetic_words(rng: np.random.Generator, count: int, taken: set[str], *, name: bool
                     ) -> list[str]:
    """Make `count` new pronounceable words (capitalised surnames when `name`), none in `taken`."""
    words: list[str] = []
    endings = _NAME_ENDINGS if name else _SUFFIXES
    while len(words) < count:
        n = 2 * (count - len(words)) + 100
        syllables = rng.choice(3, size=n, p=(0.3, 0.5, 0.2)) + 1
        onset = rng.integers(len(_ONSETS), size=(n, 3))
        vowel = rng.integers(len(_VOWELS), size=(n, 3))
        coda = rng.integers(len(_CODAS), size=n)
        ending = rng.integers(len(endings), size=n)
        for i in range(n):
            stem = "".join(_ONSETS[o] + _VOWELS[v] for o, v in zip(onset[i, :syllables[i]],
                                                                    vowel[i, :syllables[i]],
                                                                    strict=True))
            word = stem + _CODAS[coda[i]] + endings[ending[i]]
            if name:
                word = word.capitalize()
            if len(word) >= 3 and word not in taken:
                taken.add(word)
                words.append(word)
                if len(words) == count:
                    break
    return words


def _number(rng: np.random.Generator) -> str:
    kind = rng.integers(8)
    if kind == 0:
        return str(int(rng.integers(1990, 2026)))
    if kind == 1:
        return f"{rng.integers(1, 100)}.{rng.integers(0, 10)}%"
    if kind == 2:
        scale = ("million", "billion")[rng.integers(2)]
        return f"${rng.integers(1, 100)}.{rng.integers(1, 10)} {scale}"
    if kind == 3:
        return f"{rng.integers(1, 1000):,}"
    if kind == 4:
        return f"{rng.integers(1000, 100000):,}"
    if kind == 5:
        return f"{MONTHS[rng.integers(12)]} {rng.integers(1, 29)}"
    if kind == 6:
        return f"on {WEEKDAYS[rng.integers(7)]}"
    return str(int(rng.integers(2, 60)))


class _Vocabulary:
    """Words in Zipf rank order, and the pools an article draws its topic and people from."""

    TAIL = 380_000

    def __init__(self, seed: int, tokens: float) -> None:
        rng = np.random.default_rng([seed, 1])
        head = list(dict.fromkeys(FUNCTION_WORDS))
        common = [w for w in dict.fromkeys(COMMON_WORDS) if w not in set(head)]
        taken = set(head) | set(common)
        common_synthetic = _synthetic_words(rng, 3000, taken, name=False)
        surnames = _synthetic_words(rng, 20_000, taken, name=True)
        places = _synthetic_words(rng, 5000, taken, name=True)
        numbers = list(dict.fromkeys(_number(rng) for _ in range(5000)))
        first = rng.integers(len(FIRST_NAMES), size=len(surnames))
        people = [f"{FIRST_NAMES[f]} {s}" for f, s in zip(first.tolist(), surnames, strict=True)]
        # Real common words lead the middle band; names, places and numbers are spread through it.
        middle = common_synthetic + places[:800] + people[:800] + numbers[:600]
        rest: list[str | None] = [None] * self.TAIL + places[800:] + people[800:] + numbers[600:]
        rng.shuffle(middle)
        rng.shuffle(rest)
        prefix = head + common + middle
        # A two-regime Zipf-Mandelbrot law (Ferrer i Cancho & Sole 2001, "Two regimes in the
        # frequency of words"): s = 1.04 over the first 5,000 ranks puts about 45% of tokens in the
        # first 150 as in real news, and a steeper tail (s = 1.75) keeps the number of distinct
        # words growing like real text's (Heaps' law) rather than exhausting the vocabulary.
        ranks = np.arange(1, len(prefix) + len(rest) + 1, dtype=np.float64) + 2.7
        knee = 5000 + 2.7
        weights = np.where(ranks <= knee, ranks ** -1.04, knee ** -1.04 * (knee / ranks) ** 1.75)
        weights /= weights.sum()
        # Ranks a corpus of `tokens` words would draw less than 0.02 times in expectation are
        # left out, so that small corpora do not pay for a vocabulary they never use.
        drawn = max(len(prefix), int(np.searchsorted(-weights, -0.02 / max(tokens, 1.0))))
        cut = drawn - len(prefix)
        tail = iter(_synthetic_words(rng, rest[:cut].count(None), taken, name=False))
        ranked = prefix + [w if w is not None else next(tail) for w in rest[:cut]]
        self.head = len(head)
        self.content_end = len(prefix)
        # Names and places past the cut are never drawn by rank, only as an article's own.
        undrawn = [w for w in rest[cut:] if w is not None]
        self.lexicon = np.array(ranked + undrawn + surnames, dtype=object)
        position = {w: i for i, w in enumerate(ranked + undrawn)}
        self.people = np.array([position[p] for p in people])
        self.surnames = np.arange(len(position), len(position) + len(surnames))
        self.places = np.array([position[p] for p in places])
        self.cdf = np.cumsum(weights[:drawn] / weights[:drawn].sum())
        self.cdf[-1] = 1.0

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.searchsorted(self.cdf, rng.random(n), side="right")


def _articles(vocab: _Vocabulary, seed: int, target_passages: int, size: int, overlap: int
              ) -> Iterator[tuple[dict[str, str], int, int]]:
    """Yield (article, sentences, words) until the passages reach `target_passages`."""
    rng = np.random.default_rng([seed, 2])
    lexicon = vocab.lexicon
    start_day = dt.date(2019, 1, 1).toordinal()
    made = 0
    number = 0
    chunk = 1000
    while made < target_passages:
        counts = rng.integers(8, 31, size=chunk)
        lengths = np.clip(np.rint(rng.normal(21.5, 7.0, size=int(counts.sum()))), 10, 40)
        lengths = lengths.astype(np.int64)
        sentence_article = np.repeat(np.arange(chunk), counts)
        token_article = np.repeat(sentence_article, lengths)
        ids = vocab.draw(rng, len(token_article))
        # Each article keeps coming back to its own topic words, two people and a place.
        topic = rng.integers(vocab.head, vocab.content_end, size=(chunk, 8))
        person = rng.integers(len(vocab.people), size=(chunk, 2))
        place = vocab.places[rng.integers(len(vocab.places), size=chunk)]
        roll = rng.random(len(ids))
        hit = np.flatnonzero(roll < 0.06)
        ids[hit] = topic[token_article[hit], rng.integers(8, size=len(hit))]
        hit = np.flatnonzero((roll >= 0.06) & (roll < 0.072))
        who = person[token_article[hit], rng.integers(2, size=len(hit))]
        ids[hit] = np.where(rng.random(len(hit)) < 0.3, vocab.people[who], vocab.surnames[who])
        hit = np.flatnonzero((roll >= 0.072) & (roll < 0.077))
        ids[hit] = place[token_article[hit]]
        tokens = lexicon[ids].tolist()
        coins = rng.random((len(lengths), 4)).tolist()
        paragraph_sizes = rng.integers(1, 5, size=len(lengths)).tolist()
        outlets = rng.integers(len(OUTLETS), size=chunk).tolist()
        days = rng.integers(0, 2500, size=chunk).tolist()
        names = lexicon[vocab.people[person]].tolist()
        places = lexicon[place].tolist()
        lengths_list = lengths.tolist()
        at = 0
        s_at = 0
        for a, n_sent in enumerate(counts.tolist()):
            if made >= target_passages:
                return
            surnames = [n.rsplit(" ", 1)[-1] for n in names[a]]
            sentences = []
            n_words = 0
            for s in range(s_at, s_at + n_sent):
                length = lengths_list[s]
                toks = tokens[at:at + length]
                at += length
                n_words += length
                c = coins[s]
                if c[0] < 0.25:
                    toks[1 + int(c[1] * (length - 2))] += ","
                text = " ".join(toks)
                if c[2] < 0.12:
                    speaker = f"{surnames[int(c[3] * 2)]} {SAID[int(c[1] * len(SAID))]}"
                    text = f"“{text[0].upper()}{text[1:]},” {speaker}."
                elif c[2] < 0.17:
                    text = f"On {WEEKDAYS[int(c[3] * 7)]}, {text}."
                elif c[2] < 0.20:
                    text = f"In {places[a]}, {text}."
                else:
                    text = f"{text[0].upper()}{text[1:]}."
                sentences.append(text)
            paragraphs = [sentences[0]]
            i = 1
            p = s_at
            while i < n_sent:
                take = paragraph_sizes[p]
                paragraphs.append(" ".join(sentences[i:i + take]))
                i += take
                p += 1
            s_at += n_sent
            lead = [w.strip("“”,.") for w in sentences[0].split()[:6]]
            title = " ".join([*lead[:3], "in", places[a], *lead[3:]])
            outlet, domain = OUTLETS[outlets[a]]
            day = dt.date.fromordinal(start_day + days[a])
            slug = "-".join(w.lower() for w in lead if w.isalpha())
            article = {
                "id": f"nl{seed}-{number:07d}",
                "title": title[0].upper() + title[1:],
                "source": outlet,
                "url": f"https://{domain}/{day:%Y/%m/%d}/{slug}-{number}",
                "published": day.isoformat(),
                "text": "\n\n".join(paragraphs),
            }
            number += 1
            made += passages_in(n_sent, size=size, overlap=overlap)
            yield article, n_sent, n_words


def write_corpus(path: str | Path, *, passages: int, seed: int = 7, size: int = 3,
                 overlap: int = 1) -> CorpusInfo:
    """Write a news-like corpus of about `passages` passages to one .jsonl file."""
    began = time.perf_counter()
    # About 2.05 sentences of 21.5 words a passage with the default windows.
    vocab = _Vocabulary(seed, tokens=passages * 45.0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    articles = sentences = words = made = 0
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8") as out:
        batch: list[str] = []
        for article, n_sent, n_words in _articles(vocab, seed, passages, size, overlap):
            batch.append(json.dumps(article, ensure_ascii=False))
            articles += 1
            sentences += n_sent
            words += n_words
            made += passages_in(n_sent, size=size, overlap=overlap)
            if len(batch) >= 1000:
                out.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            out.write("\n".join(batch) + "\n")
    tmp.replace(path)
    seconds = time.perf_counter() - began
    return CorpusInfo(str(path), seed, articles, sentences, words, made, seconds)


def _split_sentences(text: str) -> list[str]:
    return [s for para in text.split("\n\n") for s in _SENTENCE_END.split(para) if s]


_STOP = frozenset(FUNCTION_WORDS) | {"said", "told", "added", "wrote", "reporters", "statement"}


def _question_from(sentence: str, rng: np.random.Generator) -> tuple[str, str]:
    tokens = _WORD.findall(sentence)
    names = [t for i, t in enumerate(tokens) if i and t[0].isupper() and t.lower() not in _STOP
             and t not in WEEKDAYS]
    content = [t for t in tokens if t[0].islower() and t not in _STOP and len(t) > 3]
    numbers = [t for t in tokens if t[0].isdigit()]
    if not content:
        content = [t for t in tokens if t.lower() not in _STOP] or tokens[:1]

    def pick(n: int) -> str:
        n = min(n, len(content))
        chosen = sorted(rng.choice(len(content), size=n, replace=False).tolist())
        return " ".join(content[i] for i in chosen)

    roll = rng.random()
    name = names[rng.integers(len(names))] if names else ""
    if name and roll < 0.2:
        return f"What did {name} say about {pick(int(rng.integers(1, 3)))}?", "what-said"
    if name and roll < 0.35:
        return f"When did {name} {pick(int(rng.integers(1, 4)))}?", "when"
    if numbers and roll < 0.55:
        return f"How many {pick(int(rng.integers(1, 4)))}?", "how-many"
    if roll < 0.7:
        return f"Who {pick(int(rng.integers(2, 4)))}?", "who"
    if roll < 0.8:
        return f"Where did the {pick(int(rng.integers(1, 3)))} happen?", "where"
    if roll < 0.9:
        lead = pick(int(rng.integers(4, 8)))
        tail = f" {name}" if name else ""
        return f"The {lead} this week{tail}. Which {pick(1)} was it?", "long"
    return pick(int(rng.integers(2, 4))) + (f" {name}" if name else ""), "keywords"


@dataclass(frozen=True, slots=True)
class UpdateArticle:
    """A small .txt article added to a corpus after its index is built, and its question."""

    text: str
    question: str
    sentence: str
    marker: str
    name: str


_UPDATES = (
    ("Quonzhattle opens the Brindlemoor ferry terminal",
     "Xaverly Quonzhattle opened the Brindlemoor ferry terminal on Tuesday, the harbour "
     "authority said. The terminal cost 41 million and will carry 3,000 passengers a day. "
     "Quonzhattle said the new crossing would cut the trip along the coast by an hour. "
     "Traders at the old quay welcomed the opening.",
     "Xaverly Quonzhattle opened the Brindlemoor ferry terminal on Tuesday",
     "When did Xaverly Quonzhattle open the Brindlemoor ferry terminal?",
     "Brindlemoor"),
    ("Quonzhattle shuts the Ostrevane salt mine after a flood",
     "Xaverly Quonzhattle closed the Ostrevane salt mine on Friday after water flooded its "
     "lower galleries. Two hundred miners were sent home on full pay. Quonzhattle told "
     "reporters the mine would stay shut until new pumps were installed, probably in March.",
     "Xaverly Quonzhattle closed the Ostrevane salt mine on Friday",
     "Why did Xaverly Quonzhattle close the Ostrevane salt mine?",
     "Ostrevane"),
)


def update_article(version: int) -> UpdateArticle:
    """Return version 1 or 2 of the made-up article a benchmark adds, changes and removes.

    `sentence` starts the sentence that answers `question`; `marker` is a made-up word that
    appears in this version only (and nowhere in a generated corpus), `name` in both.
    """
    title, body, sentence, question, marker = _UPDATES[version - 1]
    return UpdateArticle(f"{title}\n\n{body}\n", question, sentence, marker, "Quonzhattle")


def make_questions(corpus: str | Path, *, count: int, seed: int = 7) -> list[Question]:
    """Build `count` answerable questions from random sentences of a .jsonl corpus."""
    corpus = Path(corpus)
    rng = np.random.default_rng([seed, 3])
    with corpus.open("rb") as f:
        lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b""))
    wanted = rng.integers(0, lines, size=count)
    need = set(wanted.tolist())
    picked: dict[int, dict[str, str]] = {}
    with corpus.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i in need:
                picked[i] = json.loads(line)
    questions = []
    for q, line_no in enumerate(wanted.tolist()):
        article = picked[line_no]
        sentences = _split_sentences(article["text"])
        sentence = sentences[rng.integers(len(sentences))]
        text, kind = _question_from(sentence, rng)
        questions.append(Question(f"q{q:05d}", text, article["id"], sentence, kind))
    return questions


def main(argv: list[str] | None = None) -> int:
    """Write a corpus (and optionally questions) from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", help="the .jsonl file to write")
    parser.add_argument("--passages", type=int, default=100_000, help="passages to aim for")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--questions", help="also write this many questions to this .jsonl file")
    parser.add_argument("--count", type=int, default=1000, help="how many questions")
    args = parser.parse_args(argv)
    info = write_corpus(args.corpus, passages=args.passages, seed=args.seed)
    print(f"{info.articles:,} articles, {info.sentences:,} sentences, {info.words:,} words, "
          f"~{info.passages:,} passages in {info.seconds:.1f} s -> {info.path}")
    if args.questions:
        qs = make_questions(args.corpus, count=args.count, seed=args.seed)
        with open(args.questions, "w", encoding="utf-8") as out:
            for q in qs:
                record = {"id": q.id, "question": q.question, "article_id": q.article_id,
                          "sentence": q.sentence, "kind": q.kind}
                out.write(json.dumps(record) + "\n")
        print(f"{len(qs)} questions -> {args.questions}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
