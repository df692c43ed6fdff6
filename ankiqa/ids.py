"""`ankiqa ids`: give every question without an id a fresh `question id: <uuid4>` line.

The line goes where the seed deck has it: after the answer's last non-blank line (after the
heading when the answer is empty), with one blank line before it. Blank lines that followed
the answer stay after the id line. Only whole lines are inserted, each ending with the line
ending of the line it follows, so the file minus the inserted lines is the input byte for
byte: line endings, BOM, trailing whitespace and the final newline, or its absence, stay.

One case needs a choice: an id that goes after a last line with no line ending. The line
ending is then written before each inserted line instead of after it (the file's first
line ending, or "\\n" if it has none), so `answer` becomes `answer⏎⏎question id: …` and
the file still ends without a line ending. The inserted text is one block at the end of the
file; removing it gives the input back.
"""

from __future__ import annotations

import codecs
import re
import stat
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import write_atomically
from .diagnostics import ERROR, Diagnostic
from .limits import UNREADABLE
from .parse import OPTION_LINE, DeckFile, decode, parse_deck, read_bytes
from .project import find_sources

ID_PREFIX = "question id: "
# Line breaks exactly as parse.source_lines counts them: "\r\n", a lone "\r", or "\n".
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_LINE_ENDING = re.compile(r"\r\n|\r|\n")


def new_uuid() -> str:
    """A fresh random id: a lower-case UUID version 4."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class IdsResult:
    """What `add_ids` made of one file's bytes."""

    data: bytes  # the new bytes; the input itself when nothing was added or on errors
    added: tuple[str, ...]  # the new ids, in file order
    diagnostics: tuple[Diagnostic, ...]  # errors; when there are any, nothing was added


@dataclass
class IdsReport:
    """What `add_ids_to_files` did to a set of files."""

    changed: list[tuple[Path, int]] = field(default_factory=list)  # file, ids added
    diagnostics: list[Diagnostic] = field(default_factory=list)  # errors, sorted


def add_ids(
    data: bytes, path: Path = Path("<bytes>"), new_id: Callable[[], str] = new_uuid
) -> IdsResult:
    """Insert a `question id:` line for every question of a deck file that has none.

    `path` is only used in messages. A file that is not UTF-8 or too deeply nested to read,
    or a question whose id line would land inside a code block (after a fence that is never
    closed), gives error diagnostics and the input back unchanged.
    """
    decoded = _decode(data, path)
    if isinstance(decoded, Diagnostic):
        return IdsResult(data, (), (decoded,))
    bom, text, deck_file = decoded
    if problems := _unreadable(deck_file):
        return IdsResult(data, (), problems)
    missing = [question for question in deck_file.questions if question.id_line is None]
    if not missing:
        return IdsResult(data, (), ())

    ids = {question.end_line: new_id() for question in missing}
    lines = _LINE.findall(text)
    first_ending = _LINE_ENDING.search(text)
    out = []
    for number, line in enumerate(lines, start=1):
        out.append(line)
        if number in ids:
            id_line = ID_PREFIX + ids[number]
            content = line.rstrip("\r\n")
            if ending := line[len(content) :]:
                # Right below option lines (`tags: …`), which belong next to the id line.
                blank = "" if OPTION_LINE.fullmatch(content) else ending
                out.append(blank + id_line + ending)
            else:  # the last line, without a line ending: see the module docstring
                ending = first_ending.group() if first_ending else "\n"
                blank = "" if OPTION_LINE.fullmatch(content) else ending
                out.append(ending + blank + id_line)
    new_text = "".join(out)

    # Check the result with the parser itself: every question must now have an id.
    after = parse_deck(new_text, path).questions
    if len(after) != len(deck_file.questions):
        failed = missing
    else:
        pairs = zip(deck_file.questions, after, strict=True)
        failed = [old for old, new in pairs if new.id_line is None]
    if failed:
        message = (
            "cannot add an id: the end of this answer is inside a code block"
            " (is a ``` fence never closed?); the file was left unchanged"
        )
        problems = tuple(
            Diagnostic(path, q.line, 1, ERROR, "cannot-add-id", message) for q in failed
        )
        return IdsResult(data, (), problems)
    return IdsResult(bom + new_text.encode("utf-8"), tuple(ids.values()), ())


def missing_ids(data: bytes, path: Path = Path("<bytes>")) -> list[Diagnostic]:
    """A `missing-id` error for every question without an id, or why the file is unreadable."""
    decoded = _decode(data, path)
    if isinstance(decoded, Diagnostic):
        return [decoded]
    deck_file = decoded[2]
    problems = _unreadable(deck_file)
    return list(problems or (d for d in deck_file.diagnostics if d.code == "missing-id"))


def add_ids_to_files(
    paths: Iterable[Path], *, check: bool = False, new_id: Callable[[], str] = new_uuid
) -> IdsReport:
    """Add missing ids to deck files (every `.md` file below a folder), rewriting only files
    that change, each atomically. With `check`, change nothing and report a `missing-id`
    error per question without an id."""
    sources, problems = find_sources(paths)
    report = IdsReport(diagnostics=problems)
    for path in (source.path for source in sources):
        data = read_bytes(path)
        if isinstance(data, Diagnostic):
            report.diagnostics.append(data)
            continue
        if check:
            report.diagnostics += missing_ids(data, path)
            continue
        result = add_ids(data, path, new_id)
        report.diagnostics += result.diagnostics
        if not result.added:
            continue
        refusal = _refusal(path, data)
        if refusal:
            report.diagnostics.append(Diagnostic(path, 1, 1, ERROR, "unwritable", refusal))
            continue
        try:
            # Through a symbolic link, replace the file it points to, not the link.
            write_atomically(path.resolve(), result.data)
        except OSError as error:
            message = f"cannot write file: {error.strerror}"
            report.diagnostics.append(Diagnostic(path, 1, 1, ERROR, "unwritable", message))
            continue
        report.changed.append((path, len(result.added)))
    report.diagnostics.sort()
    return report


def _refusal(path: Path, data: bytes) -> str | None:
    """Why `ids` must not replace `path`, which held `data` when it was read: it is
    read-only (the user's word), or it changed since (an editor saved it meanwhile)."""
    try:
        read_only = not path.stat().st_mode & stat.S_IWUSR  # even for root, who may write
    except OSError:
        read_only = False
    if read_only:
        return "the file is read-only: not changed"
    if read_bytes(path) != data:
        return "the file changed while ankiqa read it: not changed; run `ankiqa ids` again"
    return None


def _decode(data: bytes, path: Path) -> tuple[bytes, str, DeckFile] | Diagnostic:
    """The file's BOM (kept aside, written back as it was), its text, and its parse."""
    text = decode(data, path)
    if isinstance(text, Diagnostic):
        return text
    bom = codecs.BOM_UTF8 if text.startswith("\ufeff") else b""
    text = text.removeprefix("\ufeff")
    return bom, text, parse_deck(text, path)


def _unreadable(deck_file: DeckFile) -> tuple[Diagnostic, ...]:
    return tuple(d for d in deck_file.diagnostics if d.code in UNREADABLE)
