"""Markdown → card HTML: CommonMark, GFM tables, strikethrough and bare URLs, highlighted
code, and TeX math handed to the MathJax that Anki ships. Every field is sanitized last
(see `sanitize`), so raw HTML in a deck cannot run scripts on a card."""

from __future__ import annotations

import html
from collections.abc import Callable

from mistletoe import Document, block_token, span_token
from mistletoe.html_renderer import HtmlRenderer

from .highlight import code_block_html
from .limits import restore_mistletoe
from .sanitize import cleaner
from .tokens import BLOCK_TOKENS, SPAN_TOKENS, BareUrl, DisplayMath, InlineMath, MathBlock


def parse_markdown(text: str) -> Document:
    """mistletoe's tree of `text`. Call it inside a CardRenderer's `with` block.

    The text is given a final newline: on a last line without one, mistletoe's heading
    pattern backtracks in time quadratic in the line's length.
    """
    try:
        return Document(text if text.endswith("\n") else text + "\n")
    finally:
        restore_mistletoe()


class CardRenderer(HtmlRenderer):
    """mistletoe's HTML renderer with the syntax of `tokens` and Pygments for code.

    Use it as a context manager, as every mistletoe renderer: entering registers the
    extra tokens, so Markdown must be parsed inside the `with` block.
    `image_src` maps the `src` of an image (Markdown or raw HTML) to the one written on
    the card.
    """

    def __init__(self, image_src: Callable[[str], str] | None = None):
        super().__init__(*BLOCK_TOKENS, *SPAN_TOKENS)
        self._cleaner = cleaner(image_src)
        self._link_depth = 0

    def markdown(self, text: str) -> str:
        """A whole Markdown document (an answer) as sanitized HTML."""
        return self._cleaner.clean(self.render(parse_markdown(text))).strip()

    def inline(self, text: str) -> str:
        """One line of inline Markdown (a question's heading) as sanitized HTML, without a <p>."""
        html_text = "".join(self.render(token) for token in span_token.tokenize_inner(text))
        return self._cleaner.clean(html_text).strip()

    def render_block_code(self, token: block_token.BlockCode) -> str:
        return code_block_html(token.content, token.language)

    def render_math_block(self, token: MathBlock) -> str:
        return f'<div class="math">\\[{html.escape(token.content, quote=False)}\\]</div>'

    def render_display_math(self, token: DisplayMath) -> str:
        return f"\\[{html.escape(token.content, quote=False)}\\]"

    def render_inline_math(self, token: InlineMath) -> str:
        return f"\\({html.escape(token.content, quote=False)}\\)"

    def render_bare_url(self, token: BareUrl) -> str:
        text = html.escape(token.url, quote=False)
        if self._link_depth:  # already inside a link's text: links do not nest
            return text
        return f'<a href="{self.escape_url(token.target)}">{text}</a>'

    def render_link(self, token: span_token.Link) -> str:
        self._link_depth += 1
        try:
            return super().render_link(token)
        finally:
            self._link_depth -= 1
