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

One block looks past a heading: `$$` math is math only if a later line closes it, so a
`$$` left open in the piece may still be closed after the cut, with the heading inside
the math. The reader is told when a `$$` line follows the cut, and then refuses it.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from .limits import MAX_PIECE_CHARS

# What one reading takes: about 200 questions. An edit parses its piece again (see
# `parse._PieceRecord`), so small pieces make edits quick, and cost a cold read nothing.
PIECE_CHARS = 100_000

# The lines that matter to cutting, found in one pass: a heading; a code fence; a line of
# `$$` alone, which closes math however indented, and opens it indented up to 3 spaces.
_LINE = (
    r"(?:(?P<heading>#{1,3})(?=[ \t\n]|\Z)"
    r"| {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)"
    r"|(?P<math>[^\S\n]*\$\$[^\S\n]*)(?=\n|\Z))"
)
_FIRST_LINE = re.compile(_LINE)
_NEXT_LINE = re.compile("\n" + _LINE)  # a literal first: the search skips to the line ends
_MATH_OPENER = re.compile(r" {0,3}\$\$[ \t]*")

Read = TypeVar("Read")
_Mark = tuple[int, int, str, str]  # a line's start and end, its fence or "$$", its info string


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
    text: str,
    read: Callable[[str, bool, bool], Read | None],
    size: int = 0,
    ahead: Callable[[int, Iterator[Reading]], None] | None = None,
) -> Iterator[Piece[Read]]:
    """`text` (lines ending in "\\n") read in pieces of about `size` characters (PIECE_CHARS
    by default). `read(piece, ends_at_cut, math_follows)`: when `ends_at_cut`, the piece's
    last line is the next piece's first, and `read` gives None unless it reads as a
    top-level heading (what it read of that line is then for nothing), and, when
    `math_follows` (a `$$` line comes after the cut), unless no `$$` is left open before
    it. `ahead(start, planned)`, if given, is told where each piece starts before it is
    read, with the reads that would follow if every cut held (so that they may be read
    ahead of their turn). Raises TooLong."""
    size = size or PIECE_CHARS
    layout = _Layout(text)
    start, line = 0, 1
    while start < len(text):
        if ahead is not None:
            ahead(start, layout.planned(start, size))
        step = size
        while True:
            index, cut = layout.cut_after(start + step)
            if cut - start > MAX_PIECE_CHARS:  # from the last heading before the cut
                cuts = layout.cuts
                last = max(start, *cuts[bisect.bisect_left(cuts, start) : index][-1:])
                raise TooLong(line + text.count("\n", start, last), cut - last)
            reading = layout.read_to(start, cut)
            result = read(text[start : reading.end], reading.at_cut, reading.math_follows)
            if result is not None or not reading.at_cut:  # the text's end is always a cut
                break
            step *= 2
        count = text.count("\n", start, cut)
        assert result is not None
        yield Piece(line, count, result)
        start, line = cut, line + count


@dataclass(frozen=True)
class Reading:
    """A read that `pieces` asks for if every cut before it holds: `read(text[start:end],
    at_cut, math_follows)`."""

    start: int
    end: int
    at_cut: bool
    math_follows: bool


class _Layout:
    """Where a text may be cut (see `_cuts`)."""

    def __init__(self, text: str):
        headings, marks, self.last_math = _scan(text)
        self.text, self.cuts = text, _cuts(headings, _blocks(text, marks))

    def cut_after(self, offset: int) -> tuple[int, int]:
        """The first cut at or after `offset` (the text's end if none), and its index."""
        index = bisect.bisect_left(self.cuts, offset)
        return index, self.cuts[index] if index < len(self.cuts) else len(self.text)

    def read_to(self, start: int, cut: int) -> Reading:
        """The read of the piece from `start` to `cut`."""
        if cut == len(self.text):
            return Reading(start, cut, False, False)
        return Reading(start, self.text.index("\n", cut) + 1, True, self.last_math > cut)

    def planned(self, start: int, size: int) -> Iterator[Reading]:
        """The first read of each piece from `start` on, if every cut holds, up to one that
        would raise TooLong."""
        while start < len(self.text):
            _, cut = self.cut_after(start + size)
            if cut - start > MAX_PIECE_CHARS:
                return
            yield self.read_to(start, cut)
            start = cut


def _scan(text: str) -> tuple[list[int], list[_Mark], int]:
    """The offsets of the lines `#` to `###` at the start of a line; the code fences and
    `$$` math openers (see `_Mark`), in order; the offset of the last `$$` line (-1 if
    none)."""
    headings, marks, last_math = [], [], -1
    first = _FIRST_LINE.match(text)
    later = ((match.start() + 1, match) for match in _NEXT_LINE.finditer(text))
    for start, match in itertools.chain([(0, first)] if first else [], later):  # one at a time
        heading, fence, math = match.group("heading", "fence", "math")
        if heading is not None:
            headings.append(start)
        elif fence is not None:
            marks.append((start, match.end(), fence, match.group("info")))
        else:
            last_math = start
            if _MATH_OPENER.fullmatch(math):
                marks.append((start, match.end(), "$$", ""))
    return headings, marks, last_math


def _cuts(headings: list[int], blocks: list[tuple[int, int]]) -> list[int]:
    """The headings that may be top-level ones: outside fenced code and `$$` math (a guess,
    which `read` checks where it cuts: but a `$$` block counts only once closed, so a
    piece ending inside one would read its heading as a heading, and math is left out
    here)."""
    return [start for start in headings if not _inside(start, blocks)]


def _closes(mark: _Mark, fence: str) -> bool:
    return mark[2] != "$$" and mark[2].startswith(fence) and not mark[3].strip()


def _inside(offset: int, blocks: list[tuple[int, int]]) -> bool:
    """Whether `offset` lies in one of `blocks` (sorted, not overlapping)."""
    index = bisect.bisect_right(blocks, offset, key=lambda block: block[0]) - 1
    return index >= 0 and blocks[index][1] > offset


def _blocks(text: str, marks: list[_Mark]) -> list[tuple[int, int]]:
    """(start, end) of each fenced code block and `$$` math block, in one pass in the
    order a reader meets them: a fence inside math is TeX, a `$$` inside code is code. A
    fence left open runs to the end; a `$$` left open is no math."""
    maths = [index for index, mark in enumerate(marks) if mark[2] == "$$"]
    blocks: list[tuple[int, int]] = []
    index = 0
    while index < len(marks):
        start, _, fence, rest = marks[index]
        if fence == "$$":
            after = bisect.bisect_right(maths, index)
            if after < len(maths):  # closed: math
                blocks.append((start, marks[maths[after]][1]))
                index = maths[after]
        elif not (fence[0] == "`" and "`" in rest):  # an opening fence: find its end
            index += 1
            while index < len(marks) and not _closes(marks[index], fence):
                index += 1
            if index == len(marks):
                blocks.append((start, len(text)))
                break
            blocks.append((start, marks[index][1]))
        index += 1
    return blocks
