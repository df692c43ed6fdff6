"""Real Markdown files as decks, compared with GitHub's own renderer, cmark-gfm.

Any Markdown file becomes a deck: each ATX heading (outside code) becomes a `###`
question and the text up to the next heading its answer. The whole file is rendered once
by cmark-gfm (the `cmarkgfm` binding, with GitHub's extensions), and its HTML is cut at
the same headings. A question agrees with GitHub when its front and its answer show the
same visible text, and its answer keeps every link GitHub's has. Both sides pass the
same sanitizer (GitHub sanitizes too); footnote numbers and sections are left out (a
card numbers its own footnotes); TeX is compared as the `$…$` it was written as.

Run it on any folders to measure: `python tests/github_reference.py PATH...`.
"""

from __future__ import annotations

import html
import re
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
from cmarkgfm.cmark import Options

from ankiqa.notes import build_notes
from ankiqa.parse import parse_deck
from ankiqa.sanitize import clean, filter_raw_html

_VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")


@dataclass(frozen=True)
class Agreement:
    path: Path
    line: int
    front: tuple[str, str]  # (ankiqa, GitHub) visible text
    answer: tuple[str, str]
    links_lost: frozenset[str]  # GitHub's links the card does not have

    @property
    def agrees(self) -> bool:
        return self.front[0] == self.front[1] and self.answer[0] == self.answer[1]


def as_deck(text: str) -> tuple[str, list[tuple[int, str, str]], str]:
    """The file as a deck: each heading that GitHub reads at the top level becomes a
    `###` question with an id. Also each question's line, heading and answer Markdown,
    and the file's one-line link reference and footnote definitions outside code."""
    structure = _Structure()
    options = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_FOOTNOTES | Options.CMARK_OPT_SOURCEPOS
    structure.feed(cmarkgfm.github_flavored_markdown_to_html(text, options=options))
    structure.close()
    headings, code = structure.headings, structure.code
    lines, out, questions, definitions = text.split("\n"), [], [], []
    for number, line in enumerate(lines, 1):
        if number in headings and (heading := _ATX.fullmatch(line)):
            questions.append((number, heading.group(2) or "-", []))
            out += [f"### {heading.group(2) or '-'}", f"question id: q{number}", ""]
            continue
        if number not in code and _DEFINITION.match(line):
            definitions.append(line)
        out.append(line)
        if questions:
            questions[-1][2].append(line)
    answers = [(n, h, "\n".join(a)) for n, h, a in questions]
    return "\n".join(out) + "\n", answers, "\n\n".join(definitions)


class _Structure(HTMLParser):
    """From cmark-gfm's HTML with source positions: the lines of headings that no list
    or quote holds, and the lines of code blocks. (Only the elements cmark-gfm makes carry
    positions; raw HTML in the file does not, and is passed over.)"""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, int, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        position = dict(attrs).get("data-sourcepos")
        if position:
            first, last = (int(part.split(":")[0]) for part in position.split("-"))
            self.found.append((tag, first, last))

    @property
    def code(self) -> set[int]:
        return {
            n for tag, first, last in self.found if tag == "pre" for n in range(first, last + 1)
        }

    @property
    def headings(self) -> set[int]:
        held = [(first, last) for tag, first, last in self.found if tag in _CONTAINERS]
        return {
            first
            for tag, first, _ in self.found
            if re.fullmatch(r"h[1-6]", tag) and not any(a <= first <= b for a, b in held)
        }


_CONTAINERS = {"blockquote", "ul", "ol", "li"}
# A one-line link reference or footnote definition (enough to measure with).
_DEFINITION = re.compile(r" {0,3}\[[^\]]+\]:[ \t]*\S")


def github_html(markdown: str) -> str:
    """HTML as GitHub renders Markdown: cmark-gfm with GitHub's extensions and footnotes."""
    options = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_FOOTNOTES
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=options)


_FOOTNOTE_REF = re.compile(r"<sup[^>]*>\s*<a[^>]*>\d+</a>\s*</sup>")
_FOOTNOTES = re.compile(r"<section class=\"footnotes\".*</section>", re.DOTALL)
# TeX as ankiqa writes it for MathJax, outside code: compared as it was written.
_TEX = re.compile(r"<(code|pre)\b.*?</\1>|\\\((.*?)\\\)|\\\[(.*?)\\\]", re.DOTALL)


def visible(fragment: str, ours: bool) -> tuple[str, frozenset[str]]:
    """The text a reader sees in sanitized HTML, white space folded, and its links."""
    fragment = _FOOTNOTE_REF.sub("", fragment)
    fragment = _FOOTNOTES.sub("", fragment)
    fragment = _TEX.sub(_as_written, fragment) if ours else clean(filter_raw_html(fragment))
    reader = _TextReader()
    reader.feed(fragment)
    reader.close()
    return " ".join("".join(reader.text).split()), frozenset(reader.links)


def _as_written(match: re.Match) -> str:
    code, inline, display = match.groups()
    if code:
        return match.group()
    return f"${inline}$" if inline is not None else f"$${display}$$"


class _TextReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href and not href.startswith("#"):
            self.links.append(html.unescape(href))
        if tag in ("img", "input"):
            self.text.append(f"[{tag} {dict(attrs).get('alt') or ''}]")
        self.text.append(" " if tag in ("br", "p", "li", "td", "th", "tr", "div", "pre") else "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def compare_file(path: Path) -> list[Agreement]:
    """Each question of the file as ankiqa renders it and as GitHub renders its Markdown
    (with the file's reference and footnote definitions, which GitHub reads file-wide)."""
    text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
    deck_text, questions, definitions = as_deck(text)
    with tempfile.TemporaryDirectory() as folder:
        deck = parse_deck(deck_text, Path(folder) / path.name)
        notes = {note.question.id: note for note in build_notes(deck, Path(folder))}
    found = []
    for line, heading, answer in questions:
        note = notes.get(f"q{line}")
        if note is None:
            continue
        github_front = github_html(f"{definitions}\n\n### {heading}")
        front = visible(note.fields[0], True)[0], visible(github_front, False)[0]
        ours, our_links = visible(note.fields[1], True)
        theirs, their_links = visible(github_html(f"{definitions}\n\n{answer}"), False)
        found.append(Agreement(path, line, front, (ours, theirs), their_links - our_links))
    return found


def compare(paths: Iterable[Path]) -> list[Agreement]:
    return [agreement for path in paths for agreement in compare_file(path)]


def main(arguments: list[str]) -> None:
    files = [
        file
        for argument in map(Path, arguments)
        for file in (sorted(argument.rglob("*.md")) if argument.is_dir() else [argument])
    ]
    results = compare(files)
    differing = [r for r in results if not r.agrees]
    lost = [r for r in results if r.links_lost]
    for result in differing + lost:
        print(f"{result.path}:{result.line}")
        for name, (ours, theirs) in (("front", result.front), ("answer", result.answer)):
            if ours != theirs:
                print(f"  {name} card:   {ours[:300]}\n  {name} github: {theirs[:300]}")
        if result.links_lost:
            print(f"  links lost: {sorted(result.links_lost)}")
    links = sum(1 for r in results if r.links_lost)
    print(
        f"{len(files)} files, {len(results)} questions: {len(results) - len(differing)} agree"
        f" ({(len(results) - len(differing)) / max(len(results), 1):.2%}),"
        f" {links} lose a link"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
