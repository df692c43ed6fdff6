"""Markdown → card HTML, as GitHub shows it: CommonMark, GFM tables, strikethrough,
autolinks, task lists and footnotes, highlighted code, and TeX math handed to the
MathJax that Anki ships. Every field is sanitized last (see `sanitize`), so raw HTML in
a deck cannot run scripts on a card.

Link reference definitions and footnotes belong to the whole deck file, as on GitHub:
`Question.references` and `Question.notes` carry the ones a question uses.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import quote, urlsplit

from mistletoe import Document, block_token, span_token, token
from mistletoe.html_renderer import HtmlRenderer

from .highlight import code_block_html
from .limits import restore_mistletoe
from .parse import Question
from .sanitize import cleaner, filter_raw_html, url_allowed
from .tokens import (
    BLOCK_TOKENS,
    SPAN_TOKENS,
    Cloze,
    DisplayMath,
    ExtendedAutolink,
    FootnoteRef,
    HtmlSpan,
    InlineMath,
    MathBlock,
    Table,
    TableRow,
    use_gfm_tokens,
)

References = dict[str, tuple[str, str]]  # label → (destination, title), as mistletoe keeps them
Notes = dict[str, str]  # footnote label → its Markdown


class _Root(Document):
    """A document whose link references and footnotes come from the whole deck file."""

    def __init__(self, text: str, references: References, notes: Notes):
        self.footnotes = references  # the file's: the answer's own are among them
        self.notes = notes
        self.line_number = 1
        with _root(self):
            self.children = block_token.tokenize(text.splitlines(keepends=True))


@contextmanager
def _root(root: Document) -> Iterator[None]:
    """`root` as the document mistletoe's inline parser looks references up in."""
    previous, token._root_node = token._root_node, root
    try:
        yield
    finally:
        token._root_node = previous


def parse_markdown(text: str, references: References | None = None, notes: Notes | None = None):
    """mistletoe's tree of `text`. Call it inside a CardRenderer's `with` block.

    The text is given a final newline: on a last line without one, mistletoe's heading
    pattern backtracks in time quadratic in the line's length.
    """
    try:
        return _Root(text if text.endswith("\n") else text + "\n", references or {}, notes or {})
    finally:
        restore_mistletoe()


def parse_inline(text: str, references: References | None = None, notes: Notes | None = None):
    """The inline tokens of one line of Markdown (a question's heading)."""
    root = _Root("", references or {}, notes or {})
    with _root(root):
        return span_token.tokenize_inner(text)


def question_trees(question: Question):
    """A question's heading tokens and answer document, with the deck file's references
    and footnotes. Call it inside a CardRenderer's `with` block."""
    references, notes = _definitions(question)
    return (
        parse_inline(question.heading, references, notes),
        parse_markdown(question.answer, references, notes),
    )


def _definitions(question: Question) -> tuple[References, Notes]:
    references = {label: (dest, title) for label, dest, title in question.references}
    return references, dict(question.notes)


@dataclass
class _Footnotes:
    """The footnotes of the card being rendered: their Markdown, and the ones the card
    refers to, numbered in the order of their first reference."""

    references: References = field(default_factory=dict)
    markdown: Notes = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # how often the card refers to each

    def refer(self, label: str) -> tuple[int, int]:
        """The footnote's number, and which of its references this is (1, 2…)."""
        if label not in self.numbers:
            self.labels.append(label)
            self.numbers[label] = len(self.labels)
        self.counts[label] = self.counts.get(label, 0) + 1
        return self.numbers[label], self.counts[label]


class CardRenderer(HtmlRenderer):
    """mistletoe's HTML renderer with the syntax of `tokens`, GFM's autolinks and task
    lists, and Pygments for code.

    Use it as a context manager, as every mistletoe renderer: entering registers the
    extra tokens, so Markdown must be parsed inside the `with` block.
    `media_src` maps the `src` of an image (Markdown or raw HTML), or the target of a
    link or image to a sound or video file, to the name written on the card (that of
    the packaged file), or gives it back unchanged when there is no such file.
    """

    def __init__(self, media_src: Callable[[str], str] | None = None):
        super().__init__(
            block_token.HtmlBlock,
            HtmlSpan,
            *BLOCK_TOKENS,
            *SPAN_TOKENS,
            Table,
            process_html_tokens=False,
        )
        use_gfm_tokens()
        self.render_map[_Root.__name__] = self.render_document
        self._cleaner = cleaner(media_src)
        self._media_src = media_src
        self._footnotes = _Footnotes()
        self._task_marks: dict[int, bool] = {}  # id of a task item's text → checked
        self._in_cloze = 0
        self._cloze_note = False

    def question(self, question: Question, trees: tuple | None = None) -> tuple[str, str]:
        """A question's front and back fields, as sanitized HTML; from its `question_trees`
        when they are given (parsed in this renderer's `with` block)."""
        heading, answer = trees or question_trees(question)
        self._footnotes = _Footnotes(*_definitions(question))
        self._cloze_note = question.kind == "cloze"
        front = "".join(self.render(child) for child in heading)
        back = self.render(answer)
        if self._footnotes.labels:
            back = back.rstrip("\n") + self._footnotes_section()
        return self.clean_field(front).strip(), self.clean_field(back).strip()

    def markdown(self, text: str) -> str:
        """A whole Markdown document (an answer) as sanitized HTML."""
        self._footnotes, self._cloze_note = _Footnotes(), False
        return self.clean_field(self.render(parse_markdown(text))).strip()

    def inline(self, text: str) -> str:
        """One line of inline Markdown (a question's heading) as sanitized HTML, without a <p>."""
        html_text = "".join(self.render(token) for token in parse_inline(text))
        return self.clean_field(html_text).strip()

    def clean_field(self, html_text: str) -> str:
        """The last step of every field: the sanitizer, then no control character, which
        Anki cannot store (U+001F separates fields: one would break the whole package)."""
        return CONTROL_CHARACTERS.sub("", self._cleaner.clean(html_text))

    # Code and math

    def render_block_code(self, token: block_token.BlockCode) -> str:
        return self._inert(code_block_html(token.content, token.language))

    def render_inline_code(self, token: span_token.InlineCode) -> str:
        return self._inert(super().render_inline_code(token))

    def _inert(self, code_html: str) -> str:
        """Code as Anki must not read it: `[sound:…]` would play a file, and in a cloze
        note `{{c1::…}}` would be a cloze. An empty element splits them, showing nothing."""
        code_html = code_html.replace("[sound:", "[sound<span></span>:")
        return code_html.replace("{{", "{<span></span>{") if self._cloze_note else code_html

    def render_math_block(self, token: MathBlock) -> str:
        return f'<div class="math">\\[{self._tex(token.content)}\\]</div>'

    def render_display_math(self, token: DisplayMath) -> str:
        return f"\\[{self._tex(token.content)}\\]"

    def render_inline_math(self, token: InlineMath) -> str:
        return f"\\({self._tex(token.content)}\\)"

    def _tex(self, tex: str) -> str:
        """TeX for MathJax. Its `\\href` and `\\url` make links, so their URLs obey the
        sanitizer's rules. Inside a cloze, `}}` would end the cloze for Anki: it becomes
        `} }`, the same TeX."""
        tex = _TEX_LINK.sub(_safe_tex_link, tex)
        if self._in_cloze:
            tex = tex.replace("}}", "} }").replace("::", ":{}:")
        return html.escape(tex, quote=False)

    # Anki's clozes, kept as Anki reads them, with the Markdown inside rendered

    def render_cloze(self, token: Cloze) -> str:
        """`{{cN::text::hint}}` as Anki reads it. Anki takes the first `::` in a cloze for
        the hint and the first `}}` for its end, wherever they are; so in the text they
        are split by an empty element, which shows nothing (in math, by a space)."""
        self._in_cloze += 1
        try:
            text = self.render_inner(token)
        finally:
            self._in_cloze -= 1
        text = text.replace("}}", "}<span></span>}").replace("::", ":<span></span>:")
        hint = ""
        if token.hint is not None:
            hint = "::" + self.escape_html_text(token.hint).replace("}}", "} }")
        return f"{{{{c{token.number}::{text}{hint}}}}}"

    # Links, and sound and video files (linked or embedded), which Anki plays

    def render_link(self, token: span_token.Link) -> str:
        return self._sound(token.target) or super().render_link(token)

    def render_image(self, token: span_token.Image) -> str:
        return self._sound(token.src) or super().render_image(token)

    def _sound(self, src: str) -> str | None:
        """`[sound:name]` for a local sound or video file that is packaged, else None."""
        if self._media_src is None or not is_sound(src):
            return None
        name = self._media_src(src)
        return f"[sound:{name}]" if name != src else None

    def render_extended_autolink(self, token: ExtendedAutolink) -> str:
        return f'<a href="{self.escape_url(token.href)}">{self.escape_html_text(token.text)}</a>'

    @staticmethod
    def escape_url(raw: str) -> str:
        """A URL as cmark writes it: percent-encoded but for the characters URLs use,
        then HTML-escaped."""
        return html.escape(quote(raw, safe="/#:;?=&@!$'()*+,-._~%"))

    # Raw HTML

    def render_html_span(self, token: span_token.HtmlSpan) -> str:
        return filter_raw_html(token.content)

    def render_html_block(self, token: block_token.HtmlBlock) -> str:
        return filter_raw_html(token.content)

    # GFM tables and task lists

    def render_table(self, token: Table) -> str:
        head = f"<thead>\n{self.render_table_row(token.header, is_header=True)}</thead>\n"
        rows = "".join(self.render_table_row(row) for row in token.children)
        body = f"<tbody>\n{rows}</tbody>\n" if rows else ""
        return f"<table>\n{head}{body}</table>"

    def render_table_row(self, token: TableRow, is_header: bool = False) -> str:
        cells = "".join(self.render_table_cell(cell, is_header) for cell in token.children)
        return f"<tr>\n{cells}</tr>\n"

    def render_table_cell(self, token: block_token.TableCell, in_header: bool = False) -> str:
        tag = "th" if in_header else "td"
        align = f' align="{token.align}"' if token.align else ""
        return f"<{tag}{align}>{self.render_inner(token)}</{tag}>\n"

    def render_list_item(self, token: block_token.ListItem) -> str:
        """A GFM task list item (`- [ ] to do`, `- [x] done`) starts with a checkbox."""
        first = token.children[0] if token.children else None
        text = first.children[0] if isinstance(first, block_token.Paragraph) else None
        label = _shortcut_label(text)
        if label in ("x", "X") and isinstance(first, block_token.Paragraph):
            # `[x]` read as a reference link (the deck defines `[x]: …`): still a task.
            rest = first.children[1] if len(first.children) > 1 else None
            if isinstance(rest, span_token.RawText):
                first.children = first.children[1:]
                rest.content = f"[{label}]{rest.content}"
                text = rest
        if (
            isinstance(text, span_token.RawText)
            and text.content[:3] in ("[ ]", "[x]", "[X]")
            and text.content[3:4] in (" ", "\t")
        ):
            self._task_marks[id(text)] = text.content[1] != " "
            text.content = text.content[3:]
        return super().render_list_item(token)

    def render_raw_text(self, token: span_token.RawText) -> str:
        checked = self._task_marks.pop(id(token), None)
        text = self.escape_html_text(token.content)
        if checked is None:
            return text
        return f'<input type="checkbox" disabled=""{" checked" if checked else ""}>{text}'

    # GFM footnotes

    def render_footnote_ref(self, token: FootnoteRef) -> str:
        number, count = self._footnotes.refer(token.label)
        link = f'<a href="#fn{number}" id="{_ref_id(number, count)}">{number}</a>'
        return f'<sup class="footnote-ref">{link}</sup>'

    def render_footnote_definition(self, token: object) -> str:
        return ""  # shown at the end of the answers that refer to it

    def _footnotes_section(self) -> str:
        """The footnotes the card referred to, numbered in that order, each with links
        back to its references."""
        footnotes, items = self._footnotes, []
        for number, label in enumerate(footnotes.labels, start=1):  # grows as notes refer
            tree = parse_markdown(
                footnotes.markdown[label], footnotes.references, footnotes.markdown
            )
            note = self.render(tree).rstrip("\n")
            backref = " ".join(
                f'<a href="#{_ref_id(number, count)}" class="footnote-backref">↩</a>'
                for count in range(1, footnotes.counts[label] + 1)
            )
            if note.endswith("</p>"):
                note = f"{note[: -len('</p>')]} {backref}</p>"
            else:
                note += backref
            items.append(f'<li id="fn{number}">\n{note}\n</li>\n')
        return (
            f'\n<section class="footnotes">\n<ol>\n{"".join(items)}</ol>\n</section>'
            if items
            else ""
        )


SOUND_SUFFIXES = frozenset({".mp3", ".ogg", ".wav", ".m4a", ".flac", ".mp4", ".webm"})
# In every src that names one; urlsplit drops tabs and line breaks, which may split one.
_MAYBE_SOUND = re.compile("|".join(map(re.escape, sorted(SOUND_SUFFIXES))) + r"|[\t\r\n]")


def is_sound(src: str) -> bool:
    """Whether `src` names a sound or video file, which Anki plays with `[sound:…]`."""
    if not _MAYBE_SOUND.search(src.lower()):
        return False
    return PurePosixPath(urlsplit(src).path).suffix.lower() in SOUND_SUFFIXES


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TEX_LINK = re.compile(r"(\\(?:href|url)\s*\{)([^{}]*)(\})")


def _safe_tex_link(match: re.Match) -> str:
    return match.group() if url_allowed(match.group(2)) else f"{match.group(1)}#{match.group(3)}"


def _shortcut_label(token: object) -> str | None:
    """The text of a shortcut reference link (`[x]`), or None for anything else."""
    if not isinstance(token, span_token.Link) or token.dest_type != "shortcut":
        return None
    children = list(token.children or ())
    single = len(children) == 1 and isinstance(children[0], span_token.RawText)
    return children[0].content if single else None


def _ref_id(number: int, count: int) -> str:
    """The id of a card's `count`-th reference to its footnote `number`, as cmark-gfm
    names them: `fnref1`, `fnref1-2`…"""
    return f"fnref{number}" if count == 1 else f"fnref{number}-{count}"
