"""Deck files → questions.

A deck file is Markdown. Every top-level `###` heading is a question, and the Markdown
after it, up to the next `#`, `##` or `###` heading, is its answer. The line
`question id: <id>` in the answer is the question's permanent identity. A `#` heading
before the first question names the deck; other `#` and `##` headings are sections,
which become tags.

Structure comes from mistletoe's block parser, so a `###` or an id line inside a code
block is code, not structure. Mistakes that change the structure (a fence never closed,
a `####` that is no question) are reported here; `check` adds the rest.
Text too hostile for mistletoe (see `limits`) is reported instead of read.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from mistletoe import Document, block_token, span_token
from mistletoe.block_token import BlockCode, BlockToken, CodeFence, Heading

from .cache import Cache
from .diagnostics import ERROR, WARNING, Diagnostic
from .frontmatter import read_front_matter
from .limits import (
    MAX_CARD_CHARS,
    MAX_FILE_BYTES,
    hostile_line,
    restore_mistletoe,
    too_complex,
)
from .tokens import (
    BLOCK_TOKENS,
    MAX_CLOZE,
    FootnoteDefinition,
    find_clozes,
    gfm_syntax,
    normalize_label,
)

ID_LINE = re.compile(r"[ \t]*question[ \t]*id[ \t]*:[ \t]*(.*?)[ \t]*", re.IGNORECASE)
# Lines right above or below the id line that say more about the question; like the
# id line, they are on no card.
# Strict, so that prose such as "Tags: they are written…" is never read as options.
_TAG = r"[\w+#/-]+(?:::[\w+#/-]+)*"
OPTION_LINE = re.compile(
    rf"[ \t]*(?:(tags)[ \t]*:[ \t]*({_TAG}(?:[ \t,]+{_TAG})*)"
    r"|(reversed)[ \t]*:[ \t]*(yes|no|true|false|on|off))[ \t]*,?[ \t]*",
    re.IGNORECASE,
)
_YES = frozenset({"yes", "true", "on"})
_ATX_MARKS = re.compile(r"^ {0,3}#{1,6}(?=[ \t]|$)|[ \t]+#+[ \t]*$")
QUESTION_LEVEL = 3

_QUESTION_HEADING = re.compile(r" {0,3}###(?:[ \t]|$)")
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")  # NUL: see nul-character
_DEFINITION_LINE = re.compile(r" {0,3}\[[^\]]+\]:[ \t]*\S")


@dataclass(frozen=True)
class Question:
    """One question as written; `line` is its heading's line, for messages."""

    id: str | None
    heading: str  # inline Markdown: the card's front
    answer: str  # Markdown without the id line: the card's back
    deck: str
    tags: tuple[str, ...]
    path: Path
    line: int
    id_line: int | None  # where the id is written
    end_line: int  # last non-blank line of the answer (the heading's line if it has none)
    answer_line: int  # the line that the answer's first line is on
    kind: str = "basic"  # which note type: basic, reversed or cloze (see `notetypes`)
    clozes: tuple[int, ...] = ()  # the numbers of its `{{cN::…}}` clozes
    # The deck file's link reference definitions and footnotes that the question may use,
    # wherever in the file they stand: (label, destination, title) and (label, Markdown).
    references: tuple[tuple[str, str, str], ...] = ()
    notes: tuple[tuple[str, str], ...] = ()

    @property
    def render_key(self) -> tuple[str, ...]:
        """Everything the question's fields are rendered from."""
        return (self.heading, self.answer, repr(self.references), repr(self.notes))


@dataclass(frozen=True)
class DeckFile:
    path: Path
    deck: str
    questions: tuple[Question, ...]
    diagnostics: tuple[Diagnostic, ...]


def read_deck_file(path: Path, deck_prefix: str = "", cache: Path | None = None) -> DeckFile:
    """Read and parse one deck file. Problems are returned as diagnostics, never raised.

    `deck_prefix` is the `Parent::` part of the deck name that the file's folder gives.
    With a `cache` folder, a file parsed before with the same bytes is not parsed again.
    """
    path = Path(path)
    data = read_bytes(path)
    text = data if isinstance(data, Diagnostic) else decode(data, path)
    if isinstance(text, Diagnostic):
        return DeckFile(path, deck_prefix + path.stem, (), (text,))
    with Cache(cache) as parsed:
        key = hashlib.sha256(f"{path}\0{deck_prefix}\0{text}".encode()).hexdigest()
        cached = parsed.parsed(key)
        deck_file = from_json(cached) if cached is not None else None
        if deck_file is None:
            deck_file = parse_deck(text, path, deck_prefix)
            parsed.put_parsed(key, to_json(deck_file))
    return deck_file


def to_json(deck_file: DeckFile) -> str:
    """A parsed deck file as JSON, for the cache: data only, never code."""
    questions = [
        {**asdict(question), "path": str(question.path)} for question in deck_file.questions
    ]
    diagnostics = [{**d.to_json(), "file": str(d.path)} for d in deck_file.diagnostics]
    record = {"path": str(deck_file.path), "deck": deck_file.deck}
    return json.dumps({**record, "questions": questions, "diagnostics": diagnostics})


def from_json(text: str) -> DeckFile | None:
    """What `to_json` wrote, or None for anything else: a cache row is never trusted."""
    try:
        record = json.loads(text)
        if not all(_cached_question_holds(question) for question in record["questions"]):
            return None
        questions = tuple(
            Question(
                **{
                    **question,
                    "path": Path(question["path"]),
                    "tags": tuple(map(str, question["tags"])),
                    "clozes": tuple(map(int, question["clozes"])),
                    "references": tuple(tuple(map(str, r)) for r in question["references"]),
                    "notes": tuple(tuple(map(str, n)) for n in question["notes"]),
                }
            )
            for question in record["questions"]
        )
        diagnostics = tuple(
            Diagnostic(
                Path(d["file"]), d["line"], d["column"], d["severity"], d["code"], d["message"]
            )
            for d in record["diagnostics"]
        )
        return DeckFile(Path(record["path"]), record["deck"], questions, diagnostics)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _cached_question_holds(question: dict) -> bool:
    """Whether a cached question has what the parser gives: the types, an id that is
    one word of no control character, tags without spaces, a deck name without empty
    parts. (The fields rendered from it pass the sanitizer again, whatever it holds.)"""
    texts = [question[key] for key in ("heading", "answer", "deck", "kind", "path")]
    numbers = [question[key] for key in ("line", "end_line", "answer_line")]
    optional = [question[key] for key in ("id_line",)]
    question_id = question["id"]
    return (
        all(isinstance(value, str) for value in texts)
        and all(type(value) is int for value in numbers)
        and all(value is None or type(value) is int for value in optional)
        and (question_id is None or _plain_word(question_id))
        and all(_plain_word(tag) for tag in question["tags"])
        and all(type(number) is int for number in question["clozes"])
        and all(len(r) == 3 and all(isinstance(v, str) for v in r) for r in question["references"])
        and all(len(n) == 2 and all(isinstance(v, str) for v in n) for n in question["notes"])
        and "" not in question["deck"].split("::")
        and not _CONTROL.search(question["deck"])
    )


def _plain_word(value: object) -> bool:
    return isinstance(value, str) and len(value.split()) == 1 and not _CONTROL.search(value)


def read_bytes(path: Path) -> bytes | Diagnostic:
    """A deck file's bytes, or why they cannot be read (reading no more than the limit)."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        return Diagnostic(path, 1, 1, ERROR, "unreadable", f"cannot read file: {error.strerror}")
    return _too_large(path) if len(data) > MAX_FILE_BYTES else data


def decode(data: bytes, path: Path) -> str | Diagnostic:
    """A deck file's text (a BOM stays, as "\\ufeff"), or why it is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        return _not_utf8(path, data, error)


def _too_large(path: Path) -> Diagnostic:
    limit = MAX_FILE_BYTES // 1_000_000
    message = f"file is larger than {limit} MB: split it into several deck files"
    return Diagnostic(path, 1, 1, ERROR, "too-large", message)


def _not_utf8(path: Path, data: bytes, error: UnicodeDecodeError) -> Diagnostic:
    offset = error.start
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    hint = "it is UTF-16: " if utf16 else ""
    message = f"not valid UTF-8 (byte offset {offset}); {hint}save the file as UTF-8"
    return Diagnostic(path, line, column, ERROR, "not-utf8", message)


def source_lines(text: str) -> list[str]:
    """The text's lines, each ending in "\\n", whatever line endings it was written with."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line + "\n" for line in lines]


def parse_deck(text: str, path: Path = Path("<string>"), deck_prefix: str = "") -> DeckFile:
    """Parse a deck file's text."""
    path = Path(path)
    if len(text) > MAX_FILE_BYTES:
        return DeckFile(path, deck_prefix + path.stem, (), (_too_large(path),))
    lines = source_lines(text)
    problems: list[Diagnostic] = []

    def problem(line: int, code: str, message: str, column: int = 1) -> None:
        problems.append(Diagnostic(path, line, column, ERROR, code, message))

    if "\x00" in text:
        number = next(n for n, line in enumerate(lines, 1) if "\x00" in line)
        message = "NUL characters, shown as \ufffd: is this a text file?"
        column = lines[number - 1].index("\x00") + 1
        problems.append(Diagnostic(path, number, column, WARNING, "nul-character", message))
        lines = [line.replace("\x00", "\ufffd") for line in lines]

    for number, line in enumerate(lines, 1):
        if control := _CONTROL.search(line):
            code_point = f"U+{ord(control.group()):04X}"
            message = f"control character {code_point} (invisible) is removed from the card"
            diagnostic = Diagnostic(
                path, number, control.start() + 1, WARNING, "control-character", message
            )
            problems.append(diagnostic)

    front_matter, front_lines, found = read_front_matter(lines, path)
    problems += found
    lines = ["\n"] * front_lines + lines[front_lines:]  # Markdown reads it as blank lines

    hostile = hostile_line(path, lines)
    if hostile is not None:
        return DeckFile(path, deck_prefix + path.stem, (), (*problems, hostile))
    try:
        with _blocks_only():
            document = Document(lines)
    except RecursionError:  # a last resort: hostile_line should have caught it
        problem(1, "too-deep", "Markdown nested too deeply to read")
        return DeckFile(path, deck_prefix + path.stem, (), tuple(problems))

    code_lines = set(_code_lines(document.children))
    definitions = _Definitions(document)
    headings = [
        (token.line_number, token.level, _heading_text(lines[token.line_number - 1]))
        for token in document.children
        if isinstance(token, Heading) and token.level <= QUESTION_LEVEL
    ]
    first_question = next((n for n, lvl, _ in headings if lvl == QUESTION_LEVEL), len(lines) + 1)
    title_line, title = next(
        ((n, text) for n, lvl, text in headings if lvl == 1 and n < first_question), (0, None)
    )
    deck = deck_prefix + (front_matter.deck or title or path.stem)
    deck = "::".join(part.strip() for part in deck.split("::") if part.strip()) or path.stem

    questions = []
    part: str | None = None  # the current `#` section
    sections: list[str] = []
    ends = [n for n, _, _ in headings[1:]] + [len(lines) + 1]
    for (line, level, text), end in zip(headings, ends, strict=False):
        if line == title_line:  # sections start after the title
            part, sections = None, []
            continue
        if level < QUESTION_LEVEL:
            part = text if level == 1 else part
            sections = [s for s in (part, text if level == 2 else None) if s]
            continue
        body = range(line + 1, end)
        id_lines = [n for n in body if n not in code_lines and ID_LINE.fullmatch(lines[n - 1][:-1])]
        question_id = None
        if not id_lines:
            problem(line, "missing-id", "question has no `question id:` line")
            in_code = [n for n in body if n in code_lines and ID_LINE.fullmatch(lines[n - 1][:-1])]
            if in_code:
                message = (
                    "this `question id:` line is inside a code block, so it is code:"
                    f" the question on line {line} has no id"
                )
                problems.append(Diagnostic(path, in_code[0], 1, WARNING, "id-in-code", message))
        else:
            match = ID_LINE.fullmatch(lines[id_lines[0] - 1][:-1])
            assert match is not None  # it is an id line
            question_id = match.group(1)
            if not question_id or len(question_id.split()) > 1:
                message = "a question id is one word with no spaces"
                problem(id_lines[0], "bad-id", message, match.start(1) + 1)
                question_id = None
            elif _CONTROL.search(question_id):  # Anki cannot store it as written
                message = "a question id has no control characters"
                problem(id_lines[0], "bad-id", message, match.start(1) + 1)
                question_id = None
            for extra in id_lines[1:]:
                problem(extra, "extra-id", f"second id line for the question on line {line}")
        options = _option_lines(lines, id_lines[0], body, code_lines) if id_lines else {}
        tags = [*front_matter.tags, *_section_tags(sections)]
        reversed_ = front_matter.reversed
        for key, value in options.values():
            if key == "tags":
                tags += [tag for tag in re.split(r"[\s,]+", value) if tag]
            else:
                reversed_ = value.lower() in _YES
        hidden = set(id_lines) | options.keys()
        answer = ["\n" if n in hidden else lines[n - 1] for n in body]
        prose = [n for n in body if n not in code_lines and n not in hidden]
        clozes = _clozes(text, line, prose, lines, problem)
        kind = "cloze" if clozes else "reversed" if reversed_ else "basic"
        references, notes = definitions.used_by(text + "\n" + "".join(answer))
        blank_start = next((i for i, text in enumerate(answer) if text != "\n"), len(answer))
        content_lines = [n for n in body if n not in hidden and lines[n - 1].strip()]
        # Link definitions (often all at the end of the file) serve every question.
        size = len(text) + sum(
            len(lines[n - 1]) for n in content_lines if not _DEFINITION_LINE.match(lines[n - 1])
        )
        if size > MAX_CARD_CHARS:
            message = f"question of {size:,} characters: a card holds at most {MAX_CARD_CHARS:,}"
            problem(line, "too-large", message)
        questions.append(
            Question(
                id=question_id,
                heading=text,
                answer="".join(answer).strip("\n"),
                deck=deck,
                tags=tuple(dict.fromkeys(tags)),
                path=path,
                line=line,
                id_line=id_lines[0] if id_lines else None,
                end_line=max(content_lines, default=line),
                answer_line=line + 1 + blank_start,
                kind=kind,
                clozes=clozes,
                references=references,
                notes=notes,
            )
        )
    problems += _structure_problems(path, document.children, lines)
    problems += too_complex(path, document.children)
    if not questions:
        problem(1, "no-questions", "no questions: a question is a `### ` heading")
    return DeckFile(path, deck, tuple(questions), tuple(problems))


class _Definitions:
    """A deck file's link reference definitions and footnotes: on GitHub they belong to
    the whole file, so a definition at the end serves every question."""

    _LABEL = re.compile(r"\[\^?([^\[\]]{1,999})\]")

    def __init__(self, document: Document):
        self.references = document.footnotes  # mistletoe's name for link references
        self.notes: dict[str, str] = {}
        blocks = list(reversed(document.children))  # in file order, lists and quotes too
        while blocks:
            token = blocks.pop()
            if isinstance(token, FootnoteDefinition):
                self.notes.setdefault(token.label, token.source)
            elif isinstance(token, BlockToken) and token.children:
                blocks += [
                    child for child in reversed(token.children) if isinstance(child, BlockToken)
                ]

    def used_by(
        self, markdown: str
    ) -> tuple[tuple[tuple[str, str, str], ...], tuple[tuple[str, str], ...]]:
        """The references and footnotes whose labels `markdown` holds in brackets (and
        those that the footnotes refer to in turn)."""
        if not (self.references or self.notes) or "[" not in markdown:
            return (), ()
        labels: set[str] = set()
        texts = [markdown]
        while texts:
            for match in self._LABEL.finditer(texts.pop()):
                label = normalize_label(match.group(1))
                if label in self.notes and label not in labels:
                    texts.append(self.notes[label])
                labels.add(label)
        references = tuple(
            (label, *self.references[label]) for label in sorted(labels & self.references.keys())
        )
        notes = tuple((label, self.notes[label]) for label in sorted(labels & self.notes.keys()))
        return references, notes


def _clozes(
    heading: str, line: int, numbers: list[int], lines: list[str], problem
) -> tuple[int, ...]:
    """The numbers of a question's clozes (in its heading and in its answer lines
    `numbers`, outside code), and an error at each cloze that Anki would misread."""
    text = heading + "\n" + "".join(lines[n - 1] for n in numbers)
    found = set()
    for cloze in find_clozes(text):
        at = ([line, *numbers])[text.count("\n", 0, cloze.start)]
        if cloze.nested:
            problem(at, "bad-cloze", "a cloze inside a cloze: Anki packages make no card for it")
        elif not 1 <= cloze.number <= MAX_CLOZE:
            problem(at, "bad-cloze", f"cloze numbers go from c1 to c{MAX_CLOZE}")
        elif "\n\n" in text[cloze.start : cloze.end].replace(" ", "").replace("\t", ""):
            problem(at, "bad-cloze", "a cloze cannot span paragraphs: close it in the same one")
        else:
            found.add(cloze.number)
    return tuple(sorted(found))


def _option_lines(
    lines: list[str], id_line: int, body: range, code_lines: set[int]
) -> dict[int, tuple[str, str]]:
    """The option lines (`tags: …`, `reversed: yes`) right above and below the id line:
    line number → (option, value)."""
    found = {}
    for step in (-1, 1):
        number = id_line + step
        while number in body and number not in code_lines:
            match = OPTION_LINE.fullmatch(lines[number - 1][:-1])
            if not match:
                break
            key = (match.group(1) or match.group(3)).lower()
            found[number] = (key, match.group(2) or match.group(4))
            number += step
    return dict(sorted(found.items()))


def _structure_problems(path: Path, tokens: list[BlockToken], lines: list[str]) -> list[Diagnostic]:
    """Mistakes that change which text belongs to which question, and text too complex
    to render."""
    problems = []

    def problem(line: int, code: str, message: str, column: int = 1) -> None:
        problems.append(Diagnostic(path, line, column, ERROR, code, message))

    # In a file without questions, `no-questions` says what a `####` heading is not.
    has_questions = any(isinstance(t, Heading) and t.level == QUESTION_LEVEL for t in tokens)
    section = None  # the last `#`, `##` or `###` heading
    for token in tokens:
        outside_questions = section is None or section.level < QUESTION_LEVEL
        if isinstance(token, Heading) and token.level <= QUESTION_LEVEL:
            section = token
        elif isinstance(token, Heading) and has_questions and outside_questions:
            where = ""
            if section is not None:
                where = f" under the `{'#' * section.level}` on line {section.line_number}"
            message = (
                f"`{'#' * token.level}` heading{where} is not a question"
                " (questions are `###` headings): it and its text are on no card"
            )
            problem(token.line_number, "skipped-level", message, _indent(lines, token) + 1)
        elif isinstance(token, CodeFence) and _runs_to_the_end(token, lines):
            swallowed = sum(
                bool(_QUESTION_HEADING.match(line)) for line in lines[token.line_number :]
            )
            lost = f", including {swallowed} question heading(s)" if swallowed else ""
            message = f"code fence never closed: the rest of the file is code{lost}"
            problem(token.line_number, "unclosed-fence", message, token.indentation + 1)

    return problems


def _indent(lines: list[str], token: BlockToken) -> int:
    line = lines[token.line_number - 1]
    return len(line) - len(line.lstrip(" "))


def _runs_to_the_end(fence: CodeFence, lines: list[str]) -> bool:
    """Whether a top-level fence has no closing line: its content reaches the last line."""
    return fence.line_number + fence.content.count("\n") >= len(lines)


def _heading_text(line: str) -> str:
    return _ATX_MARKS.sub("", line.rstrip("\n")).strip()


def _section_tags(sections: list[str]) -> tuple[str, ...]:
    """Sections as one hierarchical Anki tag: `# Unix` + `## Process control` →
    `Unix::Process_control`."""
    parts = ["_".join(section.replace('"', "").split()) for section in sections]
    tag = "::".join(part for part in parts if part)
    return (tag,) if tag else ()


def _code_lines(tokens: list[BlockToken]) -> Iterator[int]:
    """Line numbers inside code blocks, at any depth (in lists and quotes too)."""
    for token in tokens:
        if isinstance(token, CodeFence):
            yield from range(token.line_number, token.line_number + token.content.count("\n") + 2)
        elif isinstance(token, BlockCode):
            yield from range(token.line_number, token.line_number + token.content.count("\n"))
        elif isinstance(token, BlockToken) and token.children:
            yield from _code_lines([t for t in token.children if isinstance(t, BlockToken)])


@contextmanager
def _blocks_only() -> Iterator[None]:
    """Let mistletoe read block structure only, with the block syntax the renderer reads
    (raw HTML blocks too: a `## x` line inside a `<div>` is HTML, not a section). Inline
    Markdown is parsed per question when the card is rendered; skipping it here makes
    this pass 2.5 times faster."""
    inline_tokens = span_token._token_types
    span_token._token_types = [span_token.RawText]
    structure = (block_token.HtmlBlock, *BLOCK_TOKENS)
    for token in structure:
        block_token.add_token(token)
    try:
        with gfm_syntax():
            yield
    finally:
        for token in structure:
            block_token.remove_token(token)
        span_token._token_types = inline_tokens
        restore_mistletoe()
