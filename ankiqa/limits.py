"""Limits that keep hostile input from costing minutes, gigabytes or a RecursionError.

mistletoe is slow on some input: it copies the text once per level of nesting, and some
of its regular expressions take time quadratic in a run of spaces or in the number of
`]`, `*` and `_`. Such text is reported as an error (`too-deep`, `too-complex`,
`too-large`) at its line instead of being read, so a hostile file costs seconds and
bounded memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from mistletoe import block_token, span_token
from mistletoe.block_token import BlockCode, BlockToken, CodeFence

from .diagnostics import ERROR, Diagnostic

# Codes for text too hostile to hand to mistletoe's parsers: it was not read.
UNREADABLE = frozenset({"too-complex", "too-deep", "too-large"})
MAX_FILE_BYTES = 100_000_000  # about 200,000 questions, read a piece at a time (see `split`)
MAX_PIECE_CHARS = 5_000_000  # text without a `#`, `##` or `###` heading to cut it at
MAX_CARD_CHARS = 100_000  # a question and its answer: pages of text, far more than a card
MAX_DEPTH = 32  # lists and quotes inside each other
MAX_INLINE_WORK = 20_000_000  # steps of mistletoe's inline parser: about a second

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_CONTAINER_MARK = re.compile(r"([ \t]*)(?:(> ?)|(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$))")
_SPACE_RUN = re.compile(r"[^\S\n]{2,}")


def hostile_line(path: Path, lines: list[str]) -> Diagnostic | None:
    """The first line that mistletoe would take minutes or gigabytes to read: lists or
    quotes nested more than MAX_DEPTH deep, or runs of thousands of spaces. Fenced code
    is skipped: mistletoe does not look into it."""
    fence = ""
    for number, line in enumerate(lines, 1):
        marks = _FENCE.match(line)
        if fence:
            if marks and marks.group(1).startswith(fence) and not line[marks.end() :].strip():
                fence = ""
            continue
        if marks and not (marks.group(1)[0] == "`" and "`" in line[marks.end() :]):
            fence = marks.group(1)
            continue
        column = _too_deep_at(line)
        if column:
            message = f"lists or quotes nested more than {MAX_DEPTH} levels deep"
            return Diagnostic(path, number, column, ERROR, "too-deep", message)
        if len(line) ** 2 > MAX_INLINE_WORK and _space_work(line.lstrip()) > MAX_INLINE_WORK:
            message = "runs of thousands of spaces: too slow for the Markdown reader; remove them"
            return Diagnostic(path, number, 1, ERROR, "too-complex", message)
    return None


def _too_deep_at(line: str) -> int | None:
    """The column at which lists and quotes on this line may nest deeper than MAX_DEPTH.

    A cheap upper bound: each level takes a `>` (with the space after it), or at least two
    columns (a list marker and a space, or the indentation of a list item's text).
    """
    position = quotes = columns = 0
    while mark := _CONTAINER_MARK.match(line, position):
        indent, quote = mark.group(1), mark.group(2)
        quotes += bool(quote)
        width = len(indent) if quote else len(mark.group())
        columns += width + 3 * mark.group().count("\t")
        position = mark.end()
        if quotes + columns // 2 > MAX_DEPTH:
            if _is_thematic_break(line):  # `- - - - -` is a line, not lists
                return None
            return mark.start() + len(indent) + 1
    return None


def _is_thematic_break(line: str) -> bool:
    marks = line.replace(" ", "").replace("\t", "").rstrip("\n")
    return len(marks) >= 3 and marks[0] in "-*_" and marks == marks[0] * len(marks)


def _space_work(text: str) -> int:
    """Steps mistletoe's regular expressions may backtrack over runs of spaces in `text`."""
    return sum((run.end() - run.start()) ** 2 for run in _SPACE_RUN.finditer(text))


def _inline_work(text: str) -> int:
    """About how many steps mistletoe's inline parser takes for `text`: it rescans the rest
    of the text at every `]`, may pair every `*` or `_` with every other one and reread the
    text between them, and backtracks over runs of spaces."""
    marks = text.count("*") + text.count("_")
    return len(text) * (text.count("]") + marks) + marks * marks + _space_work(text)


def too_complex(path: Path, tokens: list[BlockToken]) -> list[Diagnostic]:
    """Paragraphs, headings and table cells that the inline parser would take too long on."""
    problems = []
    for line, text in _inline_texts(tokens):
        # Each of the three terms of the work is at most the square of the length.
        if 3 * len(text) ** 2 > MAX_INLINE_WORK and _inline_work(text) > MAX_INLINE_WORK:
            message = (
                f"text too long and complex for the Markdown reader ({len(text):,} characters"
                f" with {sum(map(text.count, '*_]')):,} of `*`, `_` and `]`):"
                " split it, or put it in a code block"
            )
            problems.append(Diagnostic(path, line, 1, ERROR, "too-complex", message))
    return problems


def _inline_texts(tokens: list[BlockToken]) -> Iterator[tuple[int, str]]:
    """(line, text) of every paragraph, heading and table cell, which the renderer will
    parse for inline Markdown."""
    stack = list(tokens)
    while stack:
        token = stack.pop()
        if isinstance(token, (CodeFence, BlockCode)):
            continue
        header = getattr(token, "header", None)  # a table's first row is not a child
        for child in [header, *token.children] if header else token.children or ():
            if isinstance(child, span_token.RawText):
                yield token.line_number, child.content
            elif isinstance(child, BlockToken):
                stack.append(child)


def restore_mistletoe() -> None:
    """Call after mistletoe raised. Quote.read turns Paragraph.parse_setext off while it
    reads and on after; an exception in between would leave it off for every later parse."""
    block_token.Paragraph.parse_setext = True
