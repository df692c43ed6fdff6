"""The CommonMark and GFM specifications' examples, run through ankiqa's export path.

`tests/specs/` holds the specifications as their authors publish them. Each example
becomes the answer of one question of a deck file; the answer field that `ankiqa export`
would write is compared with the specification's HTML after `normalize`, which puts both
in one canonical form and applies the deliberate differences listed in `DELIBERATE`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

from ankiqa.diagnostics import ERROR
from ankiqa.notes import build_notes
from ankiqa.parse import parse_deck
from ankiqa.sanitize import clean, filter_raw_html

SPECS = Path(__file__).parent / "specs"
SUITES = {
    "commonmark": "commonmark-0.31.2-spec.txt",
    "gfm": "gfm-0.29-spec.txt",
    "gfm-extensions": "gfm-extensions.txt",
}
_FENCE = "`" * 32


@dataclass(frozen=True)
class Example:
    suite: str
    number: int  # 1-based, in file order, as the specifications number them
    section: str
    markdown: str
    html: str
    line: int  # where it starts in the specification file
    extensions: tuple[str, ...]  # the GFM extensions the example is about ("table"…)


def examples(suite: str) -> list[Example]:
    """Every example of a suite, in order."""
    lines = (SPECS / SUITES[suite]).read_text(encoding="utf-8").splitlines(keepends=True)
    found: list[Example] = []
    section = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith(("# ", "## ", "### ")):
            section = line.lstrip("#").strip()
        if line.startswith(_FENCE + " example"):
            extensions = tuple(line.split()[2:])
            start = index + 1
            end = next(i for i in range(start, len(lines)) if lines[i].startswith(_FENCE))
            body = "".join(lines[start:end]).replace("→", "\t")
            markdown, _, expected = body.partition("\n.\n")
            if body.startswith(".\n"):  # an empty example
                markdown, expected = "", body[2:]
            number = len(found) + 1
            found.append(
                Example(suite, number, section, markdown + "\n", expected, start, extensions)
            )
            index = end
        index += 1
    return found


# The deliberate differences between a card and the specification's HTML, by rule.
# Each is applied to both sides in `normalize`, or marks an example as not applicable.
DELIBERATE = {
    "sanitizing": (
        "Every field passes through GFM's tag filter (as on GitHub) and the nh3 sanitizer, so"
        " the specification's HTML is compared after the same: scripts and `<textarea>` show"
        " as text, comments and unsafe URLs go."
    ),
    "highlighting": (
        "Code blocks are highlighted by Pygments: the wrapping <div class=highlight>, the"
        " token <span>s and the `language-*` class are not compared; the code text is."
    ),
    "math": (
        "`$…$` and `$$…$$` are TeX math, which neither specification has: an example whose"
        " text our math rule reads as math is not applicable."
    ),
    "extended-autolinks": (
        "GFM's extended autolinks are on everywhere, as on GitHub; both specifications'"
        " plain examples are written with them off. Such an example is not applicable when"
        " it differs only by links whose text is their URL."
    ),
    "gfm-0.29-comments": (
        "HTML comments follow CommonMark 0.31.2 (`<!-- a -- b -->` is a comment), which the"
        " commonmark suite tests; GFM 0.29's examples of inline comments predate that rule."
    ),
    "structure": (
        "`#`, `##` and `###` headings are deck structure (title, sections, questions), and an"
        " unclosed fence is refused with an error: such examples are not one question's answer."
    ),
}


@dataclass(frozen=True)
class Result:
    example: Example
    applicable: bool
    why_not: str  # a key of DELIBERATE when not applicable
    card: str  # the normalized card HTML
    expected: str  # the normalized specification HTML

    @property
    def passed(self) -> bool:
        return self.applicable and self.card == self.expected


def run(example: Example, folder: Path) -> Result:
    """The example as the answer of one question, exported as `ankiqa export` would."""
    text = f"### Example {example.number}\nquestion id: spec-{example.number}\n\n{example.markdown}"
    deck_file = parse_deck(text, folder / "spec.md")
    expected = normalize(clean(filter_raw_html(example.html)))
    question = deck_file.questions[0] if len(deck_file.questions) == 1 else None
    errors = [d for d in deck_file.diagnostics if d.severity == ERROR]
    if question is None or errors or question.answer != example.markdown.strip("\n"):
        return Result(example, False, "structure", "", expected)
    answer = build_notes(deck_file, folder)[0].fields[1]
    card = normalize(answer)
    if example.html == "<IGNORE>\n":  # the test is that it does not crash
        return Result(example, True, "", card, card)
    if re.search(r"\\\(|\\\[", answer) and not re.search(r"\\\(|\\\[", example.html):
        return Result(example, False, "math", card, expected)
    if example.suite == "gfm" and example.section == "Raw HTML" and "<!--" in example.markdown:
        return Result(example, False, "gfm-0.29-comments", card, expected)
    plain = example.suite != "gfm-extensions" and "autolink" not in example.extensions
    if plain and card != expected and _without_autolinks(card) == expected:
        return Result(example, False, "extended-autolinks", card, expected)
    return Result(example, True, "", card, expected)


_LINK = re.compile(r'<a href="([^"]*)">([^<]*)</a>')


def _without_autolinks(card: str) -> str:
    """Normalized card HTML with links whose text is their URL turned back into text."""

    def text(link: re.Match) -> str:
        href, label = html.unescape(link.group(1)), html.unescape(link.group(2))
        urls = (label, "http://" + label, "mailto:" + label)
        return link.group(2) if href in urls or unquote(href) in urls else link.group()

    return _LINK.sub(text, card)


def results(suite: str, folder: Path) -> Iterator[Result]:
    for example in examples(suite):
        yield run(example, folder)


# Elements around which white space is not significant in a browser's layout.
_BLOCKS = (
    "address|article|aside|blockquote|body|dd|details|div|dl|dt|fieldset|figcaption|figure"
    "|footer|form|h[1-6]|header|hr|html|li|main|nav|ol|p|pre|section|summary|table|tbody|td"
    "|tfoot|th|thead|tr|ul"
)
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"})


class _Normalizer(HTMLParser):
    """HTML → one canonical string: lower-case tags, sorted attributes, text re-escaped,
    white space folded outside <pre> and dropped beside block elements. Pygments' markup
    is taken away (see DELIBERATE["highlighting"]). The HTML comes from the sanitizer,
    so its tags are balanced."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.pre = 0
        self.dropped: list[bool] = []  # for each open element: is its tag left out?

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        drop = (tag, dict(attrs).get("class")) == ("div", "highlight") or (
            self.pre > 0 and tag == "span"
        )
        if tag not in _VOID:
            self.dropped.append(drop)
        if drop:
            return
        self.pre += tag == "pre"
        kept = sorted(
            (name, value or "") for name, value in attrs if (tag, name) != ("code", "class")
        )
        written = "".join(f' {name}="{html.escape(value)}"' for name, value in kept)
        self.out.append(f"<{tag}{written}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or self.dropped.pop():
            return
        self.pre -= tag == "pre"
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data if self.pre else re.sub(r"\s+", " ", data), quote=False))

    def result(self) -> str:
        text = "".join(self.out)
        return re.sub(rf"\s*(</?(?:{_BLOCKS})(?:\s[^>]*)?>)\s*", r"\1", text).strip()


def normalize(fragment: str) -> str:
    parser = _Normalizer()
    parser.feed(fragment)
    parser.close()
    return parser.result()
