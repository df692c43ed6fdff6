"""Synthetic decks in the seed's format, the same content in ankdown's format, and the
one-answer edit that the benchmark times.

The seed format (see the README): `### question` headings, the answer's Markdown below,
and a `question id: <uuid>` line. Every deck comes from a `random.Random(seed)`, so the
same arguments always write the same bytes.
"""

from __future__ import annotations

import itertools
import random
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

QUESTIONS_PER_FILE = 1000

TOPICS = [
    "a reverse proxy",
    "WSGI",
    "a B-tree",
    "the GIL",
    "TCP slow start",
    "a bloom filter",
    "copy-on-write",
    "a mutex",
    "eventual consistency",
    "a hash join",
    "tail calls",
    "the CAP theorem",
    "a write-ahead log",
    "garbage collection",
    "a closure",
    "memoization",
    "a vector clock",
    "backpressure",
    "a trie",
    "idempotency",
]
# Answers are sentences drawn from this passage's words, in its proportions.
PROSE = """
A reverse proxy takes every request from the network and serves static files from its own
cache, while the application server runs the code behind the dynamic pages. The worker pool
keeps one process per core, and each worker holds a connection to the database until the
query returns. When the queue grows faster than the workers drain it, the server answers
with an error instead of a timeout, and the client retries the request after a short delay.
The index keeps the keys of every row in order, so a lookup reads a few pages from disk.
"""
WORDS = re.findall(r"[a-z]+", PROSE.lower())
SITES = [
    "https://docs.python.org/3/library/asyncio.html",
    "https://developer.mozilla.org/en-US/docs/Web/HTTP/Caching",
    "https://www.postgresql.org/docs/current/indexes.html",
    "https://doc.rust-lang.org/book/ch16-00-concurrency.html",
    "https://en.wikipedia.org/wiki/Bloom_filter",
]
INLINE_MATH = ["$O(n \\log n)$", "$a_1 * b_2$", "$p = 1 - e^{-kn/m}$", "$\\sum_i x_i$", "$2^{32}$"]
DISPLAY_MATH = [
    "$$\nT(n) = 2T(n/2) + O(n)\n$$",
    "$$E[X] = \\sum_x x \\, p(x)$$",
    "$$\n\\frac{\\partial L}{\\partial w} = \\frac{1}{N} \\sum_{i=1}^N (y_i - \\hat y_i) x_i\n$$",
]
CODE = {
    "python": 'def {name}(items):\n    """Keep what is new."""\n    seen = set()\n'
    "    return [x for x in items if not (x in seen or seen.add(x))]",
    "javascript": "async function {name}(url) {{\n  const response = await fetch(url);\n"
    "  return response.ok ? response.json() : null;\n}}",
    "rust": "fn {name}(values: &[u64]) -> u64 {{\n"
    "    values.iter().copied().max().unwrap_or(0)\n}}",
    "go": "func {name}(ch chan int) int {{\n\ttotal := 0\n\tfor v := range ch {{\n"
    "\t\ttotal += v\n\t}}\n\treturn total\n}}",
    "sql": "SELECT {name}.id, count(*) AS n\nFROM {name}\nJOIN orders USING (id)\n"
    "GROUP BY {name}.id\nHAVING count(*) > 1;",
    "bash": 'for f in *.log; do\n  gzip -9 "$f" && echo "{name}: $f"\ndone',
    "c": "static int {name}(const int *a, size_t n) {{\n    int s = 0;\n"
    "    for (size_t i = 0; i < n; i++) s += a[i];\n    return s;\n}}",
}


def write_deck(folder: Path, questions: int, files: int, seed: int = 12) -> list[Path]:
    """Write `questions` seed-format questions, spread evenly over `files` deck files."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(files):
        count = questions // files + (index < questions % files)
        body = "".join(itertools.islice(_questions(rng), count))
        path = folder / f"deck-{index:03}.md"
        path.write_text(f"# Systems notes {index}\n\n{body}", encoding="utf-8")
        paths.append(path)
    return paths


def write_deck_of_size(folder: Path, megabytes: float, seed: int = 12) -> Path:
    """Write one deck file of about `megabytes` MB (10**6 bytes): questions until it is."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"deck-{megabytes:g}MB.md"
    with path.open("w", encoding="utf-8") as file:
        written = file.write("# One big deck\n\n")
        questions = _questions(rng)
        while written < megabytes * 1_000_000:
            written += file.write(next(questions))
    return path


def _questions(rng: random.Random) -> Iterator[str]:
    """Questions without end, with a `## Part` section heading before every 25th."""
    for number in itertools.count():
        part = f"## Part {number // 25 + 1}\n\n" if number % 25 == 0 else ""
        yield part + _question(rng, number)


def _question(rng: random.Random, number: int) -> str:
    """One question: a heading, an answer of a few varied blocks, the id line."""
    topic, other = rng.sample(TOPICS, 2)
    heading = rng.choice(
        [
            f"What is {topic}?",
            f"How does {topic} differ from {other}?",
            f"When would you use {topic} with {other}?",
            f"Why does {topic} matter? ({number})",
        ]
    )
    blocks = [_paragraph(rng)]
    if rng.random() < 0.02:  # a few cloze notes
        blocks[0] = f"{{{{c1::{_capital(topic)}}}}} is not {{{{c2::{other}}}}}. " + blocks[0]
    for _ in range(rng.randint(0, 3)):
        blocks.append(rng.choice([_paragraph, _list, _code, _display_math])(rng))
    qid = uuid.UUID(int=rng.getrandbits(128), version=4)
    return f"### {heading}\n\n" + "\n\n".join(blocks) + f"\n\nquestion id: {qid}\n\n\n"


def _sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(6, 16))
    extra = rng.random()
    if extra < 0.15:
        words.insert(2, f"`{rng.choice(WORDS)}_{rng.choice(WORDS)}()`")
    elif extra < 0.25:
        words.insert(3, f"**{rng.choice(WORDS)}**")
    elif extra < 0.33:
        words.append(rng.choice(INLINE_MATH))
    elif extra < 0.41:
        words.append(f"(see [the docs]({rng.choice(SITES)}))")
    elif extra < 0.47:
        words.append(f"— {rng.choice(SITES)}")
    return _capital(" ".join(words)) + "."


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(1, 4)))


def _list(rng: random.Random) -> str:
    marker = rng.choice(["-", "1."])
    return "\n".join(f"{marker} {_sentence(rng)}" for _ in range(rng.randint(2, 5)))


def _code(rng: random.Random) -> str:
    language = rng.choice(sorted(CODE))
    body = CODE[language].format(name=f"{rng.choice(WORDS)}_{rng.choice(WORDS)}")
    return f"```{language}\n{body}\n```"


def _display_math(rng: random.Random) -> str:
    return rng.choice(DISPLAY_MATH)


def edit_one_answer(path: Path) -> None:
    """Change exactly one answer's text: a first sentence more for the middle question."""
    text = path.read_text(encoding="utf-8")
    ids = [match.start() for match in _ID_LINE.finditer(text)]
    heading = text.rfind("\n### ", 0, ids[len(ids) // 2]) if ids else -1
    if heading < 0:
        raise ValueError(f"{path}: no question with a `question id:` line to edit")
    start = text.index("\n", heading + 1) + 1
    path.write_text(text[:start] + "This answer was edited once.\n\n" + text[start:], "utf-8")


_ID_LINE = re.compile(r"^question\s+id\s*:", re.MULTILINE | re.IGNORECASE)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_BLOCK = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1", re.MULTILINE | re.DOTALL)
_HEADING = re.compile(r"#{1,3}(\s|$)")
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
_SRC = re.compile(r'\bsrc\s*=\s*"', re.IGNORECASE)  # raw HTML
_INLINE = re.compile(r"(?<![\\$])\$(?=\S)([^$\n]*?\S)\$(?!\d)")


def to_ankdown(seed_text: str) -> tuple[str, int]:
    """The same questions in ankdown's format, and how many there are.

    ankdown reads cards separated by `---` lines, with a `%` line between front and back,
    and TeX between `\\(…\\)` and `\\[…\\]` rather than dollars. Other headings and the
    id lines are on no card, as in ankiqa. For a deck the benchmark did not write, the
    conversion is close, not exact (dollars in code spans become brackets, say). Images
    become links there: ankdown packs every `src="…"` as a local file, and fails on a
    remote or missing one.
    """
    cards: list[tuple[str, list[str]]] = []
    fence = ""
    for line in seed_text.splitlines():
        opened = _FENCE.match(line)
        if opened and (not fence or opened.group(1).startswith(fence)):
            fence = "" if fence else opened.group(1)[:3]
        elif not fence and _HEADING.match(line):
            if line.startswith("### "):
                cards.append((line[4:], []))
            continue
        elif not fence and _ID_LINE.match(line):
            continue
        if cards:  # text before the first question is on no card
            # A lone `---` or `%` would end ankdown's field, even inside code.
            cards[-1][1].append({"---": "***", "%": "\\%"}.get(line.strip(), line))
    text = "\n---\n\n".join(
        f"{_math(front)}\n\n%\n\n{_math(chr(10).join(back)).strip()}\n" for front, back in cards
    )
    return text, len(cards)


def _math(markdown: str) -> str:
    """`$…$` and `$$…$$` outside fenced code as `\\(…\\)` and `\\[…\\]`, and images there
    as links (see `to_ankdown`)."""
    pieces, end = [], 0
    for block in _CODE_BLOCK.finditer(markdown):
        pieces += [_brackets(markdown[end : block.start()]), block.group()]
        end = block.end()
    pieces.append(_brackets(markdown[end:]))
    return "".join(pieces)


def _brackets(markdown: str) -> str:
    markdown = markdown.replace("![", "[")
    markdown = _SRC.sub('data-url="', markdown)
    markdown = _DISPLAY.sub(lambda m: "\\[" + m.group(1) + "\\]", markdown)
    return _INLINE.sub(lambda m: "\\(" + m.group(1) + "\\)", markdown)
