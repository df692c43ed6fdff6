"""Cutting a large deck file into pieces that the Markdown reader can read one at a time.

A `#`, `##` or `###` heading at the top level ends every block before it (a paragraph, a
list, a quote, a table, HTML): what follows reads the same whatever came before, but
for link reference definitions and footnotes, which `parse` gathers across pieces. So
a file is cut at such lines, about PIECE_CHARS apart. Whether a line really is a
top-level heading (not code in a fence, not HTML) is the reader's answer, not a guess:
each piece is read together with the next piece's first line, and the cut holds only if
that line comes out as a heading. If it does not, the piece takes in the next one, and
twice as much text each time, up to MAX_PIECE_CHARS. Longer text without a heading is
refused before it is read.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from .limits import MAX_PIECE_CHARS

PIECE_CHARS = 1_000_000  # what one reading takes: about 2,000 questions

_HEADING = re.compile(r"^#{1,3}(?=[ \t\n]|\Z)", re.MULTILINE)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$", re.MULTILINE)

Read = TypeVar("Read")


@dataclass(frozen=True)
class Piece(Generic[Read]):
    """What the reader made of the lines from `line` (counted from 1 in the whole text)."""

    line: int
    lines: int  # how many
    read: Read


class TooLong(Exception):
    """A run of more than MAX_PIECE_CHARS characters without a place to cut."""

    def __init__(self, line: int, chars: int):
        super().__init__(line, chars)
        self.line, self.chars = line, chars


def pieces(
    text: str, read: Callable[[str, bool], Read | None], size: int = 0
) -> Iterator[Piece[Read]]:
    """`text` (lines ending in "\\n") read in pieces of about `size` characters (PIECE_CHARS
    by default). `read(piece, ends_at_cut)`: when `ends_at_cut`, the piece's last line is
    the next piece's first, and `read` gives None unless it reads as a top-level heading
    (what it read of that line is then for nothing). Raises TooLong."""
    size = size or PIECE_CHARS
    cuts = _cuts(text)
    start, line = 0, 1
    while start < len(text):
        step = size
        while True:
            index = bisect.bisect_left(cuts, start + step)
            cut = cuts[index] if index < len(cuts) else len(text)
            if cut - start > MAX_PIECE_CHARS:  # from the last heading before the cut
                last = max(start, *cuts[bisect.bisect_left(cuts, start) : index][-1:])
                raise TooLong(line + text.count("\n", start, last), cut - last)
            if cut == len(text):
                result = read(text[start:], False)
                break
            result = read(text[start : text.index("\n", cut) + 1], True)
            if result is not None:
                break
            step *= 2
        count = text.count("\n", start, cut)
        assert result is not None  # the end of the text is always a place to cut
        yield Piece(line, count, result)
        start, line = cut, line + count


def _cuts(text: str) -> list[int]:
    """Offsets of the lines that may be top-level headings, in order: `#` to `###` at the
    start of a line, outside fenced code (a guess, which `read` checks where it cuts)."""
    fenced: list[tuple[int, int]] = []  # (start, end) of each fenced code block
    fence, opened = "", 0
    for mark in _FENCE.finditer(text):
        marks, rest = mark.group(1), mark.group(2)
        if fence:
            if marks.startswith(fence) and not rest.strip():
                fenced.append((opened, mark.end()))
                fence = ""
        elif not (marks[0] == "`" and "`" in rest):
            fence, opened = marks, mark.start()
    if fence:
        fenced.append((opened, len(text)))
    starts = [start for start, _ in fenced]
    cuts = []
    for heading in _HEADING.finditer(text):
        index = bisect.bisect_right(starts, heading.start()) - 1
        if index < 0 or fenced[index][1] <= heading.start():
            cuts.append(heading.start())
    return cuts
