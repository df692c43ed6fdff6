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
import pickle
import re
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Union

from mistletoe import Document, block_token, span_token
from mistletoe.block_token import BlockCode, BlockToken, CodeFence, Heading, Paragraph

from . import split
from .cache import Cache
from .diagnostics import ERROR, WARNING, Diagnostic
from .frontmatter import MAX_LINES as FRONT_MATTER_LINES
from .frontmatter import FrontMatter, read_front_matter
from .limits import (
    MAX_CARD_CHARS,
    MAX_FILE_BYTES,
    MAX_PIECE_CHARS,
    hostile_line,
    restore_mistletoe,
    too_complex,
)
from .tokens import (
    BLOCK_TOKENS,
    MAX_CLOZE,
    FootnoteDefinition,
    MathBlock,
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

# Pieces in flight when they are parsed on worker processes: enough to keep two busy while
# this process reads the one before, each a document tree in a worker's memory at most.
AHEAD = 4
SPOOL_FROM = 1_000_000  # characters: the questions of a larger deck file wait on disk
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
    return joined(read_deck_parts(path, deck_prefix, cache))


def read_deck_parts(
    path: Path, deck_prefix: str = "", cache: Path | None = None, pool: Executor | None = None
) -> Iterator[DeckFile]:
    """`read_deck_file` in parts, each with some of the file's questions, in order, and
    every one of its diagnostics. A file larger than one piece (see `split`) is read whole
    before the first part is given, its questions kept in a temporary file if it is over
    SPOOL_FROM characters, so that memory holds one piece and one part of it; such a file
    is cached a piece at a time (see `_PieceRecord`): after an edit, only the pieces that
    changed are parsed again. With a `pool` of worker processes, its pieces are parsed on
    them, ahead of their turn (see `_Ahead`)."""
    path = Path(path)
    data = read_bytes(path)
    text = data if isinstance(data, Diagnostic) else decode(data, path)
    del data
    if isinstance(text, Diagnostic):
        yield DeckFile(path, deck_prefix + path.stem, (), (text,))
        return
    if len(text) > split.PIECE_CHARS:
        with Cache(cache) as known:
            on_disk = len(text) > SPOOL_FROM
            deck = _read(text, path, deck_prefix, on_disk, known, pool)
        del text
        with deck:
            yield from deck.parts()
        return
    with Cache(cache) as parsed:
        key = hashlib.sha256(f"{path}\0{deck_prefix}\0{text}".encode()).hexdigest()
        cached = parsed.parsed(key)
        deck_file = from_json(cached) if cached is not None else None
        if deck_file is None:
            deck_file = parse_deck(text, path, deck_prefix)
            parsed.put_parsed(key, to_json(deck_file))
    yield deck_file


def joined(parts: Iterable[DeckFile]) -> DeckFile:
    """One deck file of its parts."""
    parts = list(parts)
    questions = tuple(question for part in parts for question in part.questions)
    return replace(parts[0], questions=questions)


def to_json(deck_file: DeckFile) -> str:
    """A parsed deck file as JSON, for the cache: data only, never code."""
    questions = [
        {**_question_json(question), "path": str(question.path)} for question in deck_file.questions
    ]
    diagnostics = [{**d.to_json(), "file": str(d.path)} for d in deck_file.diagnostics]
    record = {"path": str(deck_file.path), "deck": deck_file.deck}
    return json.dumps({**record, "questions": questions, "diagnostics": diagnostics})


def from_json(text: str) -> DeckFile | None:
    """What `to_json` wrote, or None for anything else: a cache row is never trusted."""
    try:
        record = json.loads(text)
        questions = tuple(_question_from_json(q, _text(q["path"])) for q in record["questions"])
        diagnostics = tuple(
            Diagnostic(
                Path(d["file"]), d["line"], d["column"], d["severity"], d["code"], d["message"]
            )
            for d in record["diagnostics"]
        )
        return DeckFile(Path(record["path"]), record["deck"], questions, diagnostics)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _question_json(question: Question) -> dict:
    """A question as JSON, but its path."""
    return {f.name: getattr(question, f.name) for f in fields(Question) if f.name != "path"}


def _question_from_json(question: dict, path: Path, lines: int = 0) -> Question:
    """What `_question_json` wrote, the question of the deck file at `path` moved `lines`
    lines down; raises ValueError (or KeyError, TypeError, AttributeError) for anything
    else."""
    if not _cached_question_holds(question):
        raise ValueError("not a parsed question")
    return Question(
        **{
            **_moved(question, lines),
            "path": path,
            "tags": tuple(map(str, question["tags"])),
            "clozes": tuple(map(int, question["clozes"])),
            "references": tuple(tuple(map(str, r)) for r in question["references"]),
            "notes": tuple(tuple(map(str, n)) for n in question["notes"]),
        }
    )


def _moved(question: dict, lines: int) -> dict:
    """A question's JSON with its lines `lines` further down."""
    moved = {key: question[key] + lines for key in _LINES if question[key] is not None}
    return {**question, **moved}


_LINES = ("line", "id_line", "end_line", "answer_line")  # a question's line numbers


def _text(value: object) -> Path:
    if not isinstance(value, str):
        raise TypeError("a path is text")
    return Path(value)


def _cached_question_holds(question: dict) -> bool:
    """Whether a cached question has what the parser gives: the types, an id that is
    one word of no control character, tags without spaces, a deck name without empty
    parts. (The fields rendered from it pass the sanitizer again, whatever it holds.)"""
    texts = [question[key] for key in ("heading", "answer", "deck", "kind")]
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
    with _read(text, Path(path), deck_prefix, on_disk=False) as deck:
        return joined(deck.parts())


def _read(
    text: str,
    path: Path,
    deck_prefix: str,
    on_disk: bool,
    known: Cache | None = None,
    pool: Executor | None = None,
) -> _ReadDeck:
    """Read a deck file's text, a piece at a time (see `split`); its questions wait in a
    spool (a temporary file when `on_disk`) until the link references and footnotes that
    they use are known. A piece that `known` holds a record of is not parsed again; the
    others are parsed on `pool`'s workers, if given, a few ahead of their turn."""
    if len(text) > MAX_FILE_BYTES:
        return _ReadDeck(path, deck_prefix + path.stem, [_too_large(path)])
    text = _normalized(text)
    problems: list[Diagnostic] = []
    if "\x00" in text:
        problems.append(_nul_problem(path, text))
        text = text.replace("\x00", "\ufffd")
    problems += _control_problems(path, text)
    front_matter, front_lines, found = read_front_matter(_first_lines(text), path)
    problems += found
    if front_lines:  # Markdown reads it as blank lines
        text = "\n" * front_lines + text[len("".join(_first_lines(text)[:front_lines])) :]
    ahead = None if pool is None else _Ahead(pool, text, path, AHEAD)
    reader = _Reader(path, deck_prefix, front_matter, on_disk, known, ahead)
    reader.problems += problems
    try:
        pieces: Iterator[split.Piece[_Piece]] = split.pieces(
            text, reader.recall_or_parse, ahead=None if ahead is None else ahead.plan
        )
        for piece in pieces:
            read = piece.read
            if isinstance(read, _PieceRecord):
                reader.replay(read)
            else:
                key, lines, outline = read
                reader.keep(key, reader.read_piece(lines, outline, piece.line - 1))
    except split.TooLong as error:
        limit = MAX_PIECE_CHARS // 1_000_000
        message = (
            f"{error.chars:,} characters without a `#`, `##` or `###` heading to start a line"
            f" (more than {limit} MB: a code fence or HTML block left open?): split it"
        )
        return reader.refused(Diagnostic(path, error.line, 1, ERROR, "too-large", message))
    except _Unreadable as error:
        return reader.refused(error.diagnostic)
    finally:
        if ahead is not None:
            ahead.cancel()
    return reader.finish()


def _normalized(text: str) -> str:
    """The text without a BOM, with "\\n" line endings, ending in one (unless empty)."""
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if not text or text.endswith("\n") else text + "\n"


def _first_lines(text: str) -> list[str]:
    """The lines that may hold front matter."""
    lines: list[str] = []
    start = 0
    while start < len(text) and len(lines) < FRONT_MATTER_LINES:
        end = text.index("\n", start) + 1
        lines.append(text[start:end])
        start = end
    return lines


def _nul_problem(path: Path, text: str) -> Diagnostic:
    at = text.index("\x00")
    line, column = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
    message = "NUL characters, shown as \ufffd: is this a text file?"
    return Diagnostic(path, line, column, WARNING, "nul-character", message)


def _control_problems(path: Path, text: str) -> list[Diagnostic]:
    """A warning at the first control character of each line that has one."""
    problems: list[Diagnostic] = []
    line, counted = 1, 0
    for control in _CONTROL.finditer(text):
        at = control.start()
        line, counted = line + text.count("\n", counted, at), at
        if problems and problems[-1].line == line:
            continue
        code_point = f"U+{ord(control.group()):04X}"
        message = f"control character {code_point} (invisible) is removed from the card"
        column = at - text.rfind("\n", 0, at)
        problems.append(Diagnostic(path, line, column, WARNING, "control-character", message))
    return problems


class _Unreadable(Exception):
    """Text that the Markdown reader is not given: the file has no questions."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic)
        self.diagnostic = diagnostic


class _Reader:
    """What reading a deck file carries from piece to piece: its title, the sections,
    the link references and footnotes, the problems, and the questions read so far."""

    def __init__(
        self,
        path: Path,
        deck_prefix: str,
        front_matter: FrontMatter,
        on_disk: bool,
        known: Cache | None = None,
        ahead: _Ahead | None = None,
    ):
        self.path, self.deck_prefix, self.front_matter = path, deck_prefix, front_matter
        self.known = known  # where pieces read before are recorded
        self.ahead = ahead  # worker processes that parse pieces ahead of their turn
        self.lines_read = 0  # in the pieces before the next one
        self.problems: list[Diagnostic] = []
        self.title: str | None = None  # the first `#` heading before the first question
        self.questions = 0
        self.part: str | None = None  # the current `#` section
        self.sections: list[str] = []
        self.section: tuple[int, int] | None = None  # the last `#`, `##` or `###`: line, level
        self.skipped: list[Diagnostic] = []  # `skipped-level`, if the file has questions
        self.definitions = _Definitions()
        self.spool = _Spool(on_disk)
        self._deck: str | None = None

    @property
    def deck(self) -> str:
        """The deck's name, known by the first question."""
        if self._deck is None or not self.questions:
            path = self.path
            deck = self.deck_prefix + (self.front_matter.deck or self.title or path.stem)
            parts = [part.strip() for part in deck.split("::") if part.strip()]
            self._deck = "::".join(parts) or path.stem
        return self._deck

    def recall_or_parse(self, text: str, at_cut: bool, math_follows: bool) -> _Piece | None:
        """`parse`, unless `known` holds a record of the piece (read whole, so at a cut
        that held); a piece parsed comes with the key to record it under."""
        if self.known is None:
            parsed = self.parse(text, at_cut, math_follows)
            return None if parsed is None else (None, *parsed)
        key = self._key(text, at_cut, math_follows)
        recorded = self.known.parsed(key)
        record = None
        if recorded is not None:
            record = _PieceRecord.from_json(recorded, self.path, self.lines_read)
        if record is not None and record.lines == text.count("\n") - at_cut:
            return record
        parsed = self.parse(text, at_cut, math_follows)
        return None if parsed is None else (key, *parsed)

    def _key(self, text: str, at_cut: bool, math_follows: bool) -> str:
        """What reading the piece `text` depends on: the file's path, deck prefix and front
        matter, what the pieces before it left (the title, whether there were questions,
        the sections) and its text (with the next piece's first line when `at_cut`, and
        whether a `$$` line follows it).
        The section the piece starts in is not: a piece but the first starts with a
        heading, which sets it."""
        where = [str(self.path), self.deck_prefix, repr(self.front_matter)]
        state = [self.title, bool(self.questions), self.part, self.sections, at_cut, math_follows]
        digest = hashlib.sha256(json.dumps(["piece", *where, *state]).encode("utf-8"))
        digest.update(text.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def keep(self, key: str | None, record: _PieceRecord | None) -> None:
        """Record a piece in the cache, now: a large file's records are not held till its end."""
        if self.known is not None and key is not None and record is not None:
            self.known.put_parsed(key, record.to_json())
            self.known.write(self.known.pending())

    def replay(self, record: _PieceRecord) -> None:
        """What `read_piece` did with the piece `record` was made of."""
        self.definitions.add(record.definitions)
        self.title, self.part, self.sections = record.title, record.part, record.sections
        self.section = record.section
        self.questions += len(record.questions)
        self.spool.add(record.questions)
        self.lines_read += record.lines

    def parse(
        self, text: str, at_cut: bool, math_follows: bool
    ) -> tuple[list[str], _Outline] | None:
        """A piece's lines and the outline of its blocks (see `_outline`; read ahead in
        a worker process if `ahead` did), or None when it is to end at a cut that does
        not hold. Raises _Unreadable."""
        lines = _lines(text)
        try:
            if self.ahead is not None:
                outline = self.ahead.outline(text, lines, at_cut, math_follows)
            else:
                outline = _outline(lines, at_cut, math_follows, self.path)
        except _Unreadable as error:  # at a line of the piece: said at the file's
            found = error.diagnostic
            raise _Unreadable(replace(found, line=found.line + self.lines_read)) from None
        if outline is None:
            return None
        if at_cut:
            lines.pop()
        return lines, outline

    def read_piece(self, lines: list[str], outline: _Outline, offset: int) -> _PieceRecord | None:
        """Read the questions of a piece whose first line is the file's line `offset` + 1.
        Returns its record, unless it has a problem (an error, or a warning with one)."""
        path = self.path
        found: list[Diagnostic] = []
        problems_before, skipped_before = len(self.problems), len(self.skipped)
        self.lines_read = offset + len(lines)

        def problem(line: int, code: str, message: str, column: int = 1) -> None:
            found.append(Diagnostic(path, line, column, ERROR, code, message))

        code_lines = outline.code_lines
        definitions = outline.definitions
        self.definitions.add(definitions)
        headings = [
            (line, level, _heading_text(lines[line - 1]))
            for line, level in outline.headings
            if level <= QUESTION_LEVEL
        ]
        front_matter = self.front_matter
        questions = []
        ends = [n for n, _, _ in headings[1:]] + [len(lines) + 1]
        for (line, level, text), end in zip(headings, ends, strict=False):
            if level == 1 and self.title is None and not self.questions:
                self.title = text
                self.part, self.sections = None, []  # sections start after the title
                continue
            if level < QUESTION_LEVEL:
                self.part = text if level == 1 else self.part
                self.sections = [s for s in (self.part, text if level == 2 else None) if s]
                continue
            self.questions += 1
            body = range(line + 1, end)

            id_lines = [
                n for n in body if n not in code_lines and ID_LINE.fullmatch(lines[n - 1][:-1])
            ]
            question_id = None
            if not id_lines:
                problem(line, "missing-id", "question has no `question id:` line")
                in_code = [
                    n for n in body if n in code_lines and ID_LINE.fullmatch(lines[n - 1][:-1])
                ]
                if in_code:
                    message = (
                        "this `question id:` line is inside a code block, so it is code:"
                        f" the question on line {line + offset} has no id"
                    )
                    found.append(Diagnostic(path, in_code[0], 1, WARNING, "id-in-code", message))
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
                    problem(
                        extra,
                        "extra-id",
                        f"second id line for the question on line {line + offset}",
                    )
            options = _option_lines(lines, id_lines[0], body, code_lines) if id_lines else {}
            tags = [*front_matter.tags, *_section_tags(self.sections)]
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
            labels = _Definitions.labels(text + "\n" + "".join(answer))
            blank_start = next((i for i, text in enumerate(answer) if text != "\n"), len(answer))
            content_lines = [n for n in body if n not in hidden and lines[n - 1].strip()]
            # Link definitions (often all at the end of the file) serve every question.
            size = len(text) + sum(
                len(lines[n - 1]) for n in content_lines if not _DEFINITION_LINE.match(lines[n - 1])
            )
            if size > MAX_CARD_CHARS:
                message = (
                    f"question of {size:,} characters: a card holds at most {MAX_CARD_CHARS:,}"
                )
                problem(line, "too-large", message)
            questions.append(
                (
                    Question(
                        id=question_id,
                        heading=text,
                        answer="".join(answer).strip("\n"),
                        deck=self.deck,
                        tags=tuple(dict.fromkeys(tags)),
                        path=path,
                        line=line + offset,
                        id_line=id_lines[0] + offset if id_lines else None,
                        end_line=max(content_lines, default=line) + offset,
                        answer_line=line + 1 + blank_start + offset,
                        kind=kind,
                        clozes=clozes,
                    ),
                    labels,
                )
            )
        found += outline.too_complex
        self.problems += [replace(d, line=d.line + offset) for d in found]
        self.problems += self.structure_problems(outline, lines, offset)
        self.spool.add(questions)
        if len(self.problems) > problems_before or len(self.skipped) > skipped_before:
            return None
        return _PieceRecord(
            offset,
            len(lines),
            questions,
            definitions,
            self.title,
            self.part,
            self.sections,
            self.section,
        )

    def structure_problems(
        self, outline: _Outline, lines: list[str], offset: int
    ) -> list[Diagnostic]:
        """Mistakes that change which text belongs to which question, at the file's lines
        (`skipped-level` is kept for `finish`: in a file without questions,
        `no-questions` says what a `####` heading is not)."""
        problems: list[Diagnostic] = []
        path = self.path
        for number, level in outline.headings:
            line = number + offset
            outside_questions = self.section is None or self.section[1] < QUESTION_LEVEL
            if level <= QUESTION_LEVEL:
                self.section = (line, level)
            elif outside_questions:
                where = ""
                if self.section is not None:
                    where = f" under the `{'#' * self.section[1]}` on line {self.section[0]}"
                message = (
                    f"`{'#' * level}` heading{where} is not a question"
                    " (questions are `###` headings): it and its text are on no card"
                )
                column = _indent(lines[number - 1]) + 1
                self.skipped.append(Diagnostic(path, line, column, ERROR, "skipped-level", message))
        for number, column in outline.open_fences:
            swallowed = sum(bool(_QUESTION_HEADING.match(line)) for line in lines[number:])
            lost = f", including {swallowed} question heading(s)" if swallowed else ""
            message = f"code fence never closed: the rest of the file is code{lost}"
            problems.append(
                Diagnostic(path, number + offset, column, ERROR, "unclosed-fence", message)
            )
        return problems

    def refused(self, diagnostic: Diagnostic) -> _ReadDeck:
        """The file, unread from `diagnostic` on: no questions."""
        self.spool.close()
        return _ReadDeck(self.path, self.deck, [*self.problems, diagnostic])

    def finish(self) -> _ReadDeck:
        """The file, read to its end."""
        problems = self.problems
        if self.questions:
            problems += self.skipped
        else:
            message = "no questions: a question is a `### ` heading"
            problems.append(Diagnostic(self.path, 1, 1, ERROR, "no-questions", message))
        return _ReadDeck(self.path, self.deck, problems, self.definitions, self.spool)


_Labelled = tuple[Question, frozenset[str]]  # a question and the labels it holds in brackets
# A piece as the reader takes it: recalled, or parsed (with the key to record it under).
_Piece = Union["_PieceRecord", tuple[str | None, list[str], "_Outline"]]
# Link reference definitions as (label, (destination, title)), footnotes as (label, Markdown).
_Found = tuple[list[tuple[str, tuple[str, str]]], list[tuple[str, str]]]


@dataclass(frozen=True)
class _PieceRecord:
    """What reading a piece of a large deck file without a problem gave, kept in the cache
    (see `_Reader.recall_or_parse`) so that an edit elsewhere in the file does not parse it
    again: its questions and what `_Reader` carries on to the next piece. Its lines are
    the file's; the cache keeps them counted from the piece's first line, so that lines
    added or removed above it move it. A record is data, checked as it is read back (a
    cache is never trusted); what it holds reaches a card through the sanitizer."""

    offset: int  # lines before the piece
    lines: int
    questions: list[_Labelled]
    definitions: _Found
    title: str | None
    part: str | None
    sections: list[str]
    section: tuple[int, int] | None  # the last heading read: line, level

    def to_json(self) -> str:
        offset = self.offset
        questions = []
        for question, labels in self.questions:
            questions.append((_moved(_question_json(question), -offset), sorted(labels)))
        section = self.section and (self.section[0] - offset, self.section[1])
        record = {**self.__dict__, "questions": questions, "section": section}
        del record["offset"]  # where the piece is now is not the record's
        return json.dumps(record, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, path: Path, offset: int) -> _PieceRecord | None:
        """What `to_json` wrote for a piece of the deck file at `path`, the piece now
        after `offset` lines; or None for anything else."""
        try:
            record = json.loads(text)
            questions = [
                (_question_from_json(question, path, offset), frozenset(map(str, labels)))
                for question, labels in record["questions"]
            ]
            references, notes = record["definitions"]
            definitions: _Found = (
                [(str(label), (str(url), str(title))) for label, (url, title) in references],
                [(str(label), str(source)) for label, source in notes],
            )
            title, part = record["title"], record["part"]
            if not all(text is None or isinstance(text, str) for text in (title, part)):
                return None
            section = record["section"]
            if section is not None:
                section = (int(section[0]) + offset, int(section[1]))
            sections = list(map(str, record["sections"]))
            lines = int(record["lines"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        return cls(offset, lines, questions, definitions, title, part, sections, section)


@dataclass(frozen=True)
class _Outline:
    """What reading a piece (`_Reader.read_piece`) takes from its blocks, but its lines:
    small to send from a worker process, where a Document is not (pickling one costs more
    than parsing it). Lines are the piece's, counted from 1."""

    headings: list[tuple[int, int]]  # top-level headings: line, level
    code_lines: frozenset[int]  # lines inside code blocks, at any depth
    definitions: _Found
    too_complex: list[Diagnostic]
    open_fences: list[tuple[int, int]]  # top-level code fences never closed: line, column


def _outline(lines: list[str], at_cut: bool, math_follows: bool, path: Path) -> _Outline | None:
    """The outline of a piece of the deck file at `path`, or None when it is to end at a
    cut (see `split`) and its last line is no top-level heading, or a `$$` left open
    before it may be closed after it. Raises _Unreadable. Depends on its arguments only,
    so that it may run in a worker process."""
    hostile = hostile_line(path, lines)
    if hostile is not None:
        raise _Unreadable(hostile)
    try:
        with _blocks_only():
            document = Document(lines)
    except RecursionError:  # a last resort: hostile_line should have caught it
        message = "Markdown nested too deeply to read"
        raise _Unreadable(Diagnostic(path, 1, 1, ERROR, "too-deep", message)) from None
    count = len(lines)
    if at_cut:
        last = document.children[-1] if document.children else None
        if not (isinstance(last, Heading) and last.line_number == count):
            return None
        if math_follows and _math_left_open(document, lines):
            return None
        document.children = document.children[:-1]
        count -= 1
    tokens = document.children
    headings = [token for token in tokens if isinstance(token, Heading)]
    return _Outline(
        headings=[(heading.line_number, heading.level) for heading in headings],
        code_lines=frozenset(_code_lines(tokens)),
        definitions=_Definitions.found_in(document),
        too_complex=too_complex(path, tokens),
        open_fences=[
            (token.line_number, token.indentation + 1)
            for token in tokens
            if isinstance(token, CodeFence) and _runs_to_the_end(token, count)
        ],
    )


def _text_outline(text: str, at_cut: bool, math_follows: bool, path: Path) -> _Outline | None:
    """`_outline` of a piece's text, which is sent to a worker process quicker than its
    lines."""
    return _outline(_lines(text), at_cut, math_follows, path)


def _lines(text: str) -> list[str]:
    """A piece's lines, each ending in "\\n" (as the text's do)."""
    return [line + "\n" for line in text.split("\n")[:-1]]


class _Ahead:
    """The pieces of a large deck file, parsed in worker processes ahead of their turn,
    as `split.pieces` would read them if every cut held, while this process reads the
    ones before them; `_outline`s come back. At most `window` are in flight; a cut that
    does not hold drops those read past it. Reading ahead starts once a piece was
    parsed, and stops at one recalled from the cache (a recalled piece is not parsed)."""

    def __init__(self, pool: Executor, text: str, path: Path, window: int):
        self.pool, self.text, self.path, self.window = pool, text, path, window
        self.planned: deque[tuple[split.Reading, Future[_Outline | None]]] = deque()
        self.start = 0  # where the piece being read starts
        self.parsed = False  # whether it was parsed (else recalled, or it is the first)

    def plan(self, start: int, readings: Iterator[split.Reading]) -> None:
        """The piece at `start` is next (see `split.pieces`): keep `window` of `readings`
        (the pieces from it on) in flight, if the last piece was parsed."""
        while self.planned and self.planned[0][0].start < start:  # recalled, not parsed
            self.planned.popleft()[1].cancel()
        if self.planned and self.planned[0][0].start != start:
            self.cancel()
        if self.parsed:
            last = self.planned[-1][0].start if self.planned else -1
            for reading in readings:
                if len(self.planned) >= self.window:
                    break
                if reading.start > last:
                    text = self.text[reading.start : reading.end]
                    future = self.pool.submit(
                        _text_outline, text, reading.at_cut, reading.math_follows, self.path
                    )
                    self.planned.append((reading, future))
        self.start, self.parsed = start, False

    def outline(
        self, text: str, lines: list[str], at_cut: bool, math_follows: bool
    ) -> _Outline | None:
        """`_outline` of the piece at `start`, of `text` and `lines`: read ahead, or now."""
        self.parsed = True
        asked = split.Reading(self.start, self.start + len(text), at_cut, math_follows)
        if self.planned and self.planned[0][0] == asked:
            outline = self.planned.popleft()[1].result()
            if outline is None:
                self.cancel()  # they assumed that this cut holds
            return outline
        self.cancel()  # a longer piece: this one's cut did not hold
        return _outline(lines, at_cut, math_follows, self.path)

    def cancel(self) -> None:
        """Drop every piece in flight."""
        while self.planned:
            self.planned.popleft()[1].cancel()


class _Spool:
    """Questions read, a piece at a time, in a list or in a temporary file (written and
    read by this process only)."""

    def __init__(self, on_disk: bool):
        self._file = tempfile.TemporaryFile() if on_disk else None  # noqa: SIM115
        self._pieces: list[list[_Labelled]] = []

    def add(self, questions: list[_Labelled]) -> None:
        if self._file is None:
            self._pieces.append(questions)
        elif questions:
            pickle.dump(questions, self._file, pickle.HIGHEST_PROTOCOL)

    def __iter__(self) -> Iterator[list[_Labelled]]:
        if self._file is None:
            yield from self._pieces
            return
        self._file.seek(0)
        while True:
            try:
                yield pickle.load(self._file)
            except EOFError:
                return

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._pieces = []


class _ReadDeck:
    """A deck file read to its end, or as far as it could be: its deck name, its problems,
    and its questions waiting for the link references and footnotes they use."""

    def __init__(
        self,
        path: Path,
        deck: str,
        problems: list[Diagnostic],
        definitions: _Definitions | None = None,
        spool: _Spool | None = None,
    ):
        self.path, self.deck, self.diagnostics = path, deck, tuple(sorted(problems))
        self.definitions = definitions or _Definitions()
        self.spool = spool or _Spool(on_disk=False)

    def parts(self) -> Iterator[DeckFile]:
        """The file's questions a piece at a time, each part with every diagnostic."""
        given = False
        for piece in self.spool:
            questions = tuple(
                replace(question, references=references, notes=notes) if labels else question
                for question, labels in piece
                for references, notes in [self.definitions.resolve(labels)]
            )
            given = True
            yield DeckFile(self.path, self.deck, questions, self.diagnostics)
        if not given:
            yield DeckFile(self.path, self.deck, (), self.diagnostics)

    def __enter__(self) -> _ReadDeck:
        return self

    def __exit__(self, *exception: object) -> None:
        self.spool.close()


class _Definitions:
    """A deck file's link reference definitions and footnotes: on GitHub they belong to
    the whole file, so a definition at the end serves every question."""

    _LABEL = re.compile(r"\[\^?([^\[\]]{1,999})\]")

    def __init__(self) -> None:
        self.references: dict[str, tuple[str, str]] = {}
        self.notes: dict[str, str] = {}

    def add(self, found: _Found) -> None:
        """Those of a piece of the file (`found_in`): the first definition of a label counts."""
        references, notes = found
        for label, reference in references:
            self.references.setdefault(label, reference)
        for label, source in notes:
            self.notes.setdefault(label, source)

    @staticmethod
    def found_in(document: Document) -> _Found:
        """The definitions of a piece of the file, in file order."""
        references = list(document.footnotes.items())  # mistletoe's name for them
        notes = []
        blocks = list(reversed(document.children))  # in file order, lists and quotes too
        while blocks:
            token = blocks.pop()
            if isinstance(token, FootnoteDefinition):
                notes.append((token.label, token.source))
            elif isinstance(token, BlockToken) and token.children:
                blocks += [
                    child for child in reversed(token.children) if isinstance(child, BlockToken)
                ]
        return references, notes

    @classmethod
    def labels(cls, markdown: str) -> frozenset[str]:
        """The labels that `markdown` holds in brackets, which may name a definition."""
        if "[" not in markdown:
            return frozenset()
        return frozenset(normalize_label(match.group(1)) for match in cls._LABEL.finditer(markdown))

    def resolve(
        self, labels: frozenset[str]
    ) -> tuple[tuple[tuple[str, str, str], ...], tuple[tuple[str, str], ...]]:
        """The references and footnotes that `labels` name (and those that the footnotes
        refer to in turn)."""
        if not (self.references or self.notes) or not labels:
            return (), ()
        found = set(labels)
        texts = [self.notes[label] for label in labels if label in self.notes]
        while texts:
            for label in self.labels(texts.pop()):
                if label in self.notes and label not in found:
                    texts.append(self.notes[label])
                found.add(label)
        references = tuple(
            (label, *self.references[label]) for label in sorted(found & self.references.keys())
        )
        notes = tuple((label, self.notes[label]) for label in sorted(found & self.notes.keys()))
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
    lines: list[str], id_line: int, body: range, code_lines: frozenset[int]
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


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _runs_to_the_end(fence: CodeFence, lines: int) -> bool:
    """Whether a top-level fence has no closing line: its content reaches the last line."""
    return fence.line_number + fence.content.count("\n") >= lines


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


def _math_left_open(document: Document, lines: list[str]) -> bool:
    """Whether a `$$` line was read as text at the top level: math left open, which a
    later `$$` line would close."""
    return any(
        isinstance(token, Paragraph) and MathBlock.start(lines[token.line_number - 1])
        for token in document.children
    )


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
