"""Markdown syntax that CommonMark lacks and study notes need: TeX math and bare URLs.

These are mistletoe tokens; `render.CardRenderer` registers them and says how they look.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mistletoe import block_token, span_token


class MathBlock(block_token.BlockToken):
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
        body = []
        for line in lines:
            if line.strip() == "$$":
                return body
            body.append(line)
        lines.set_pos(anchor)  # never closed: let the lines be read as a paragraph
        return None


class DisplayMath(span_token.SpanToken):
    """`$$…$$` inside a paragraph."""

    pattern = re.compile(r"(?<![\\$])\$\$((?:\\.|[^\\$]|\$(?!\$))+?)\$\$", re.DOTALL)
    parse_inner = False
    precedence = 6


class InlineMath(span_token.SpanToken):
    """`$…$` by Pandoc's rule: no space inside either dollar, no digit right after the
    closing one, so "it costs $5 or $10" stays text."""

    pattern = re.compile(
        r"(?<![\\$])\$(?![\s$])((?:\\.|[^\\$])+?)(?<![\s\\])\$(?![\d$])", re.DOTALL
    )
    parse_inner = False
    precedence = 6


class BareUrl(span_token.SpanToken):
    """A URL written without `<>` (GFM's extended autolink): `https://…`, `http://…`, `www.…`.

    Trailing punctuation is not part of the link, nor is a closing parenthesis that
    has no opening one inside the URL: "(see https://example.com/a)." links
    `https://example.com/a`.
    """

    pattern = re.compile(r"(?<![^\s*_~(])(?:https?://|www\.)[^\s<]+", re.IGNORECASE)
    _exact = re.compile(r"(?:https?://|www\.)[^\s<]+", re.IGNORECASE)
    _trailing = "?!.,:;*_~'\""
    parse_inner = False
    parse_group = 0

    def __init__(self, match: re.Match):
        self.url = match.group(0)
        self.target = self.url if "://" in self.url else "http://" + self.url

    @classmethod
    def find(cls, string: str) -> Iterator[re.Match]:
        for match in cls.pattern.finditer(string):
            end = cls._trimmed_end(match.group(0)) + match.start()
            if end > match.start() + len("www."):
                yield cls._exact.fullmatch(string, match.start(), end)

    @classmethod
    def _trimmed_end(cls, url: str) -> int:
        end, opened, closed = len(url), url.count("("), url.count(")")
        while end:
            if url[end - 1] == ")" and closed > opened:
                closed -= 1
            elif url[end - 1] not in cls._trailing:
                break
            end -= 1
        return end


BLOCK_TOKENS = (MathBlock,)
SPAN_TOKENS = (DisplayMath, InlineMath, BareUrl)
