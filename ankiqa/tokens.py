"""Markdown syntax that mistletoe lacks or reads differently from GitHub: TeX math, GFM
tables, strikethrough, autolinks and footnotes, and CommonMark 0.31's HTML comments and
punctuation.

These are mistletoe tokens; `render.CardRenderer` registers them and says how they look,
and `gfm_syntax` puts them in the place of mistletoe's own for the structure pass too.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

from mistletoe import block_token, core_tokens, span_token, token
from mistletoe.block_token import BlockToken, TableCell

from .autolink import find_autolinks, is_escaped, link_target
from .punctuation import PUNCTUATION


class _Marked:
    """A mistletoe span token searched for only in text holding its `mark`, which every
    match holds: mistletoe tries each token's pattern on every text."""

    mark: str
    pattern: re.Pattern

    @classmethod
    def find(cls, string: str) -> Iterator[re.Match]:
        return cls.pattern.finditer(string) if cls.mark in string else iter(())


class MathBlock(BlockToken):
    """Display math fenced by lines holding only `$$`; the TeX inside is not Markdown.

    Blank lines and lines such as `- x` or `# y` inside the fence stay TeX, which an
    inline `$$…$$` inside a paragraph cannot promise.
    """

    repr_attributes = ("line_number",)

    def __init__(self, lines: list[str]):
        self.children = ()
        self.content = "".join(lines).strip("\n")

    @staticmethod
    def start(line: str) -> bool:
        return len(line) - len(line.lstrip(" ")) < 4 and line.strip() == "$$"

    @classmethod
    def check_interrupts_paragraph(cls, lines) -> bool:
        return cls.start(lines.peek())

    @classmethod
    def read(cls, lines) -> list[str] | None:
        anchor = lines.get_pos()
        next(lines)
        body: list[str] = []
        for line in lines:
            if line.strip() == "$$":
                return body
            body.append(line)
        lines.set_pos(anchor)  # never closed: let the lines be read as a paragraph
        return None


class HtmlSpan(_Marked, span_token.HtmlSpan):
    """Inline raw HTML, with CommonMark 0.31's comments: `<!-->`, `<!--->` and any text up
    to the first `-->` (`<!-- a -- b -->` is one comment)."""

    mark = "<"
    pattern = re.compile(
        span_token.HtmlSpan.pattern.pattern.replace(
            r"(?<!\\)<!--(?!>|->)(?:(?!--).)+?(?<!-)-->", r"(?<!\\)<!--(?:-?>|.*?-->)"
        ),
        re.DOTALL,
    )


def _protected_spans(string: str) -> list[tuple[int, int, int, int]]:
    """Where math may not start, end or cross, as (start, end, inner start, inner end):
    code spans, autolinks and raw HTML bind first; a link's text may hold math whole."""
    return _spans_of(string).spans


@dataclass
class _Spans:
    """A text's `_protected_spans`, found with these link references (`root`)."""

    string: str
    root: object
    spans: list[tuple[int, int, int, int]]
    # What mistletoe's `find_core_tokens` gave for the text, if it was called to find
    # the links, and the code spans it met: `CoreTokens.find` takes them, once.
    core: tuple[list, list] | None = None

    @cached_property
    def blocked(self) -> tuple[list[int], list[int]]:
        """The regions that math may not hold a character of, merged and sorted, as
        their starts and their ends."""
        regions = sorted(
            (region_start, region_end)
            for start, end, inner_start, inner_end in self.spans
            for region_start, region_end in (
                [(start, inner_start), (inner_end, end)] if inner_end else [(start, end)]
            )
            if region_start < region_end
        )
        starts: list[int] = []
        ends: list[int] = []
        for region_start, region_end in regions:
            if ends and region_start <= ends[-1]:
                ends[-1] = max(ends[-1], region_end)
            else:
                starts.append(region_start)
                ends.append(region_end)
        return starts, ends


_last = _Spans("", None, [])


def _spans_of(string: str) -> _Spans:
    """mistletoe hands each text to every span token in turn, and three of them ask for
    its protected spans: those of the last text are remembered."""
    global _last
    found, root = _last, token._root_node
    if found.string != string or found.root is not root:
        found = _last = _find_protected_spans(string, root)
    return found


def _find_protected_spans(string: str, root: object) -> _Spans:
    patterns = [core_tokens.code_pattern] if "`" in string else []
    if "<" in string:  # the other two patterns start with it
        patterns += [span_token.AutoLink.pattern, HtmlSpan.pattern]
    spans = [(*match.span(), 0, 0) for pattern in patterns for match in pattern.finditer(string)]
    if "[" not in string:
        return _Spans(string, root, spans)
    code_matches = core_tokens._code_matches  # filled by CoreTokens, read by InlineCode
    core_tokens._code_matches = []
    try:
        links = _find_core_tokens(string, root)
        met = core_tokens._code_matches
    finally:
        core_tokens._code_matches = code_matches
    spans += [
        (link.start(), link.end(), link.start(1), link.end(1))
        for link in links
        if link.type in ("Link", "Image")
    ]
    return _Spans(string, root, spans, (links, met))


def _find_core_tokens(string: str, root: object) -> list:
    """mistletoe's `find_core_tokens`, which reads the text a character at a time in
    Python, called only for a text that can hold what it finds: emphasis needs a `*` or
    `_`, a link or image a `]`. In any other text it finds nothing but the code spans
    (each searched for from the end of the one before), which are found here instead."""
    if "*" in string or "_" in string or "]" in string:
        return core_tokens.find_core_tokens(string, root)
    if "`" in string:
        core_tokens._code_matches.extend(core_tokens.code_pattern.finditer(string))
    return []


class CoreTokens(span_token.CoreTokens):
    """mistletoe's links, images and emphasis: found once per text, when
    `_protected_spans` already found them for the same text and link references."""

    @classmethod
    def find(cls, string: str) -> list:
        found = _last
        if found.core is None or found.root is not token._root_node or found.string != string:
            return _find_core_tokens(string, token._root_node)
        (links, met), found.core = found.core, None
        core_tokens._code_matches.extend(met)  # as `find_core_tokens` leaves them
        return links


class AutoLink(_Marked, span_token.AutoLink):
    """mistletoe's `<…>` autolinks."""

    mark = "<"


class LineBreak(_Marked, span_token.LineBreak):
    """mistletoe's line breaks (its pattern tries every position of a text)."""

    mark = "\n"


def _math_matches(pattern: re.Pattern, string: str) -> Iterator[re.Match]:
    """Matches of a math pattern that cross nothing in `_protected_spans`: none holds a
    character of a protected span outside its inner part."""
    if "$" not in string:
        return
    starts, ends = _spans_of(string).blocked
    position = 0
    while match := pattern.search(string, position):
        start, end = match.span()
        region = bisect_right(ends, start)  # the first region that ends after `start`
        if region < len(starts) and starts[region] < end:
            position = start + 1
            continue
        yield match
        position = end


class DisplayMath(span_token.SpanToken):
    """`$$…$$` inside a paragraph."""

    pattern = re.compile(r"(?<![\\$])\$\$((?:\\.|[^\\$]|\$(?!\$))+?)\$\$", re.DOTALL)
    parse_inner = False
    precedence = 6

    @classmethod
    def find(cls, string: str) -> Iterator[re.Match]:
        return _math_matches(cls.pattern, string)


class InlineMath(span_token.SpanToken):
    """`$…$` by Pandoc's rule: no space inside either dollar, no digit right after the
    closing one, so "it costs $5 or $10" stays text. Code spans, autolinks, raw HTML and
    links bind first: math never crosses them."""

    pattern = re.compile(
        r"(?<![\\$])\$(?![\s$])((?:\\.|[^\\$])+?)(?<![\s\\])\$(?![\d$])", re.DOTALL
    )
    parse_inner = False
    precedence = 6

    @classmethod
    def find(cls, string: str) -> Iterator[re.Match]:
        return _math_matches(cls.pattern, string)


class ExtendedAutolink(span_token.SpanToken):
    """A URL or e-mail address in text (see `autolink`). It binds before emphasis, math
    and strikethrough inside it, as in cmark-gfm, but never starts inside a code span,
    a link or image, an `<…>` autolink or raw HTML."""

    parse_inner = False
    parse_group = 0
    precedence = 7

    def __init__(self, match: _SpanMatch):
        self.text = match.group()
        self.href = link_target(self.text or "")

    @classmethod
    def find(cls, string: str) -> list[_SpanMatch]:
        if not _MAYBE_AUTOLINK.search(string):
            return []
        found = list(find_autolinks(string))
        if not found:
            return []
        protected = [(start, end) for start, end, _, _ in _protected_spans(string)]
        for math in (DisplayMath, InlineMath):  # TeX's `\\url{…}` is TeX
            protected += [match.span() for match in _math_matches(math.pattern, string)]
        protected.sort()
        matches, index, covered_to = [], 0, -1
        for link in found:
            while index < len(protected) and protected[index][0] <= link.start:
                covered_to = max(covered_to, protected[index][1])
                index += 1
            if covered_to <= link.start:
                matches.append(_SpanMatch(string, [(link.start, link.end)]))
        return matches


_MAYBE_AUTOLINK = re.compile(r"(?i:https?|ftp)://|www\.|@")


class Cloze(span_token.SpanToken):
    """Anki's cloze deletion, `{{c1::text}}` or `{{c1::text::hint}}`, with Markdown, code
    and math inside the text (see `find_clozes`). Clozes that `check` refuses (nested,
    numbered 0 or over MAX_CLOZE) are text."""

    parse_inner = True
    parse_group = 2
    precedence = 8

    def __init__(self, match: _SpanMatch):
        self.number = int(match.group(1) or 0)
        self.hint = match.group(3)

    @classmethod
    def find(cls, string: str) -> list[_SpanMatch]:
        found = []
        for cloze in find_clozes(string):
            if cloze.nested or not 1 <= cloze.number <= MAX_CLOZE:
                continue
            groups = [(cloze.start, cloze.end), cloze.number_span, cloze.text]
            groups.append(cloze.hint or (-1, -1))
            found.append(_SpanMatch(string, groups))
        return found


MAX_CLOZE = 500  # cloze numbers Anki's package import takes: far more than a card needs
_CLOZE_START = re.compile(r"\{\{c(\d+)::")


@dataclass(frozen=True)
class ClozeSpan:
    start: int
    end: int
    number: int
    number_span: tuple[int, int]
    text: tuple[int, int]
    hint: tuple[int, int] | None
    nested: bool  # another cloze inside it


def find_clozes(string: str) -> list[ClozeSpan]:
    """The clozes in `string`, by Anki's reading of them but for Markdown: a `}}` or `::`
    inside `$…$` math or a code span belongs to the math or code, and a `{{c1::` inside a
    code span is code. In one pass: after a cloze that is never closed, none is."""
    found: list[ClozeSpan] = []
    if "{{c" not in string:
        return found
    code_spans = [match.span() for match in core_tokens.code_pattern.finditer(string)]
    position, code_index, code_end = 0, 0, -1
    while opener := _CLOZE_START.search(string, position):
        while code_index < len(code_spans) and code_spans[code_index][0] <= opener.start():
            code_end = max(code_end, code_spans[code_index][1])
            code_index += 1
        if opener.start() < code_end:  # in a code span: code
            position = opener.end()
            continue
        cloze = _cloze_at(string, opener)
        if cloze is None:
            break
        found.append(cloze)
        position = cloze.end
    return found


def _cloze_at(string: str, opener: re.Match) -> ClozeSpan | None:
    index, depth, text_end, hint_start, nested = opener.end(), 0, 0, 0, False
    while index < len(string):
        character = string[index]
        if character == "\\":
            index += 2
        elif character == "`":
            code = core_tokens.code_pattern.match(string, index)
            index = code.end() if code else index + 1
        elif character == "$":
            math = DisplayMath.pattern.match(string, index) or InlineMath.pattern.match(
                string, index
            )
            index = math.end() if math else index + 1
        elif inner := _CLOZE_START.match(string, index):
            depth, nested, index = depth + 1, True, inner.end()
        elif string.startswith("}}", index):
            if not depth:
                text = (opener.end(), text_end or index)
                hint = (hint_start, index) if hint_start else None
                number = int(opener.group(1))
                return ClozeSpan(
                    opener.start(), index + 2, number, opener.span(1), text, hint, nested
                )
            depth, index = depth - 1, index + 2
        elif not depth and not text_end and string.startswith("::", index):
            text_end, hint_start = index, index + 2
            index += 2
        else:
            index += 1
    return None


class _SpanMatch:
    """What mistletoe's tokenizer needs of a match, for spans found without a regular
    expression: each group's span, and its text."""

    def __init__(self, string: str, groups: list[tuple[int, int]]):
        self.string, self.groups = string, groups

    def start(self, group: int = 0) -> int:
        return self.groups[group][0]

    def end(self, group: int = 0) -> int:
        return self.groups[group][1]

    def group(self, group: int = 0) -> str | None:
        start, end = self.groups[group]
        return self.string[start:end] if start >= 0 else None


class Strikethrough(span_token.Strikethrough):
    """GFM's `~one~` and `~~two~~`: a pair of runs of one or two tildes, of the same
    length, the first able to open and the second able to close (CommonMark's flanking
    rules), so the `~` in `https://x.org/~me/` strikes nothing. Three or more tildes are
    text. Found in one pass, like emphasis."""

    parse_group = 2
    _run = re.compile(r"~+")
    _span = re.compile(r"(~~?)(.*)\1", re.DOTALL)

    @classmethod
    def find(cls, string: str) -> list[re.Match]:
        if "~" not in string:
            return []
        openers: list[tuple[int, int]] = []  # (start, length) of runs that may open
        found = []
        for run in cls._run.finditer(string):
            start, end = run.span()
            if end - start > 2 or is_escaped(string, start):
                continue
            before = string[start - 1] if start else " "
            after = string[end] if end < len(string) else " "
            closer = next(
                (i for i in range(len(openers) - 1, -1, -1) if openers[i][1] == end - start),
                None,
            )
            if _right_flanking(before, after) and closer is not None:
                span = cls._span.fullmatch(string, openers[closer][0], end)
                if span is not None:  # always: the runs are the same length
                    found.append(span)
                del openers[closer:]  # nothing inside may pair with anything outside
            elif _left_flanking(before, after):
                openers.append((start, end - start))
        return sorted(found, key=lambda match: match.start())


def _left_flanking(before: str, after: str) -> bool:
    return not after.isspace() and (
        after not in core_tokens.punctuation
        or before.isspace()
        or before in core_tokens.punctuation
    )


def _right_flanking(before: str, after: str) -> bool:
    return not before.isspace() and (
        before not in PUNCTUATION or after.isspace() or after in PUNCTUATION
    )


class Table(BlockToken):
    """A GFM table: a header row, a delimiter row with as many cells, and rows up to a
    blank line or the start of another block. Rows get the header's number of cells."""

    repr_attributes = ("line_number", "column_align")
    _delimiter_cell = re.compile(r"[ \t]*(:?)-+(:?)[ \t]*")

    def __init__(self, result: tuple[list[list[str]], list[str | None], int]):
        rows, self.column_align, self.line_number = result
        header, *body = rows
        self.header = TableRow(header, self.column_align, self.line_number)
        self.children = [
            TableRow(cells, self.column_align, self.line_number + offset)
            for offset, cells in enumerate(body, start=2)
        ]

    @staticmethod
    def start(line: str) -> bool:
        return "|" in line

    @classmethod
    def check_interrupts_paragraph(cls, lines) -> bool:
        if not cls.start(lines.peek()):
            return False
        anchor = lines.get_pos()
        found = cls.read(lines) is not None
        lines.set_pos(anchor)
        return found

    @classmethod
    def read(cls, lines) -> tuple[list[list[str]], list[str | None], int] | None:
        anchor = lines.get_pos()
        header = split_row(next(lines))
        line_number = lines.line_number()
        delimiter_line = next(lines, None)
        delimiter = split_row(delimiter_line) if delimiter_line is not None else []
        matches = [cls._delimiter_cell.fullmatch(cell) for cell in delimiter]
        if (
            delimiter_line is None
            or "-" not in delimiter_line
            or len(header) != len(delimiter)
            or not all(matches)
            or ("|" not in delimiter_line and len(delimiter) == 1)
        ):
            lines.set_pos(anchor)
            return None
        align = [_alignment(match) for match in matches if match]
        rows = [header]
        while (line := lines.peek()) is not None and line.strip() and not _starts_block(lines):
            cells = split_row(next(lines))
            rows.append((cells + [""] * len(header))[: len(header)])
        return rows, align, line_number


def _alignment(match: re.Match) -> str | None:
    left, right = match.group(1), match.group(2)
    if left and right:
        return "center"
    return "left" if left else "right" if right else None


def split_row(line: str) -> list[str]:
    """A table row's cells, as cmark-gfm splits them: at every `|` that no backslash
    stands right before (in code spans too), with `\\|` read as `|`, and the outer pipes
    dropped."""
    line = line.strip()
    cells = [cell.replace("\\|", "|").strip() for cell in _UNESCAPED_PIPE.split(line)]
    if line.startswith("|"):
        cells.pop(0)
    if len(line) > 1 and line.endswith("|") and not line.endswith("\\|"):
        cells.pop()
    return cells


_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def _starts_block(lines) -> bool:
    """Whether the next line starts a block that would end a paragraph (and a table)."""
    if block_token.ThematicBreak.start(lines.peek()):
        return True
    return any(
        token_type.check_interrupts_paragraph(lines)
        for token_type in block_token._token_types
        if token_type not in (Table, block_token.Paragraph)
        and hasattr(token_type, "check_interrupts_paragraph")
    )


class TableRow(BlockToken):
    repr_attributes = ("line_number",)

    def __init__(self, cells: list[str], align: list[str | None], line_number: int):
        self.line_number = line_number
        self.children = [
            TableCell(cell, column_align, line_number)
            for cell, column_align in zip(cells, align, strict=True)
        ]


_FOOTNOTE_START = re.compile(r" {0,3}\[\^([^\]\s]+)\]:[ \t]*(.*\n?)")


class FootnoteDefinition(BlockToken):
    """A GFM footnote's text: `[^label]: text`, continued by lines indented four spaces
    (and blank lines between them). Its Markdown is kept as `source` and rendered at the
    end of every answer that refers to it, wherever in the deck file it stands."""

    repr_attributes = ("line_number", "label")

    def __init__(self, result: tuple[str, str, int]):
        self.label, self.source, self.line_number = result
        # Its blocks, at their lines in the file, for `check` and `limits` to read; the
        # renderer shows the note from `source` at the end of the answer instead.
        self.children = block_token.tokenize(self.source.splitlines(keepends=True))
        _shift_lines(self.children, self.line_number - 1)

    @staticmethod
    def start(line: str) -> bool:
        return _FOOTNOTE_START.match(line) is not None

    @classmethod
    def check_interrupts_paragraph(cls, lines) -> bool:
        return cls.start(lines.peek())

    @classmethod
    def read(cls, lines) -> tuple[str, str, int]:
        first = _FOOTNOTE_START.match(next(lines))
        assert first is not None  # read only where `start` found one
        line_number = lines.line_number()
        body = [first.group(2)]
        while (line := lines.peek()) is not None:
            if not line.strip():
                anchor = lines.get_pos()
                blanks = []
                while (line := lines.peek()) is not None and not line.strip():
                    blanks.append(next(lines))
                if line is None or not _indented(line):
                    lines.set_pos(anchor)
                    break
                body += ["\n"] * len(blanks)
            elif _indented(line):
                body.append(next(lines).replace("\t", "    ", 1)[4:])
            elif body[-1].strip() and not cls.start(line) and not _starts_block(lines):
                body.append(next(lines))  # a lazy continuation line of a paragraph
            else:
                break
        return normalize_label(first.group(1)), "".join(body), line_number


def _shift_lines(tokens: list, offset: int) -> None:
    for child in tokens:
        if isinstance(child, BlockToken):
            child.line_number = (child.line_number or 0) + offset
            _shift_lines(child.children or [], offset)
            if isinstance(child, Table):
                child.header.line_number += offset


def _indented(line: str) -> bool:
    return line.replace("\t", "    ", 1).startswith("    ")


def normalize_label(label: str) -> str:
    """A link or footnote label as CommonMark matches it: case-folded, white space folded."""
    return " ".join(label.split()).casefold()


class FootnoteRef(span_token.SpanToken):
    """`[^label]`, when the deck file defines `label` (see `token._root_node.notes`);
    otherwise it is text, as on GitHub."""

    pattern = re.compile(r"\[\^([^\[\]\s]+)\]")
    parse_inner = False
    precedence = 6

    def __init__(self, match: re.Match):
        self.label = normalize_label(match.group(1))
        self.content = ""  # in an image's description, as in cmark-gfm

    @classmethod
    def find(cls, string: str) -> list[re.Match]:
        notes = getattr(token._root_node, "notes", None)
        if not notes or "[^" not in string:
            return []
        return [m for m in cls.pattern.finditer(string) if normalize_label(m.group(1)) in notes]


BLOCK_TOKENS = (MathBlock, FootnoteDefinition)
SPAN_TOKENS = (DisplayMath, InlineMath, FootnoteRef, ExtendedAutolink, Cloze)
# mistletoe's tokens that GitHub reads differently, and ankiqa's in their place.
_REPLACED = (
    (span_token, span_token.Strikethrough, Strikethrough),
    (span_token, span_token.HtmlSpan, HtmlSpan),
    (span_token, span_token.CoreTokens, CoreTokens),
    (span_token, span_token.AutoLink, AutoLink),
    (span_token, span_token.LineBreak, LineBreak),
    (block_token, block_token.Table, Table),
)


def use_gfm_tokens() -> None:
    """Put ankiqa's tokens in the place of mistletoe's in its registered tokens, keeping
    their order. mistletoe's renderers reset the lists when their `with` block ends."""
    for module, theirs, ours in _REPLACED:
        types = module._token_types
        if theirs in types:
            types[types.index(theirs)] = ours


@contextmanager
def gfm_syntax() -> Iterator[None]:
    """`use_gfm_tokens` for the length of a `with` block."""
    use_gfm_tokens()
    try:
        yield
    finally:
        for module, theirs, ours in _REPLACED:
            types = module._token_types
            if ours in types:
                types[types.index(ours)] = theirs
