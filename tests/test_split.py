"""A deck file read in pieces is read as it is whole (see `split`)."""

from __future__ import annotations

import re
from pathlib import Path
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ankiqa import split
from ankiqa.parse import parse_deck

# Markdown's building blocks, with the headings that pieces are cut at, and what may
# keep a heading from being one: fences, HTML, lists, quotes, paragraphs.
PIECES = ["# T\n", "## S\n", "### Q\n", "#### D\n", "#\n", "```\n", "~~~\n", "    ", "> ", "- "]
PIECES += ["<div>\n", "</div>\n", "<!--\n", "-->\n", "\n", "text\n", "---\n", "===\n", "`", "|a|\n"]
PIECES += ["|-|\n", "[x]\n", "[x]: /u\n", "[^n]\n", "[^n]: note [x]\n", "$$\n", "{{c1::x}}\n"]
PIECES += ["     $$\n", "question id: a\n", "question id: b\n", "tags: t\n", "\t\x01", "\x00"]
MARKDOWN = st.lists(st.sampled_from(PIECES), max_size=80).map("".join)


def in_pieces(text: str, chars: int) -> object:
    with mock.patch.object(split, "PIECE_CHARS", chars):
        return parse_deck(text, Path("deck.md"), "p::")


@settings(max_examples=400, deadline=None)
@given(MARKDOWN, st.integers(1, 40))
@example("$$\n# T\n$$\n", 1)  # math counts only once closed: no cut inside it
@example("$$\n# T\n```\n$$\n", 1)  # a fence inside math is TeX
@example("</div>\n$$\n\n$$\n### Q\n$$\n", 1)  # HTML's `$$` is no math: the next opens
@example("$$\n### Q\n     $$\n", 1)  # any indent closes math
def test_a_file_read_in_pieces_is_read_as_it_is_whole(text: str, chars: int) -> None:
    assert in_pieces(text, chars) == in_pieces(text, 10**9)


def test_lines_and_definitions_are_the_files_across_pieces() -> None:
    text = (
        "---\ndeck: Big\n---\n# Title\n\n## Part\n\n### Q1 [a]\n\n```\n# code\n```\n\n"
        "question id: 1\n\n### Q2\n\nno id\n\n## Other\n\n#### skipped\n\n### Q3[^n]\n\n"
        "question id: 3\n\n[a]: https://example.com\n[^n]: a note\n"
    )
    deck_file = in_pieces(text, 1)
    assert deck_file == in_pieces(text, 10**9)
    assert [(q.heading, q.line, q.deck, q.tags) for q in deck_file.questions] == [
        ("Q1 [a]", 8, "p::Big", ("Part",)),
        ("Q2", 16, "p::Big", ("Part",)),
        ("Q3[^n]", 24, "p::Big", ("Other",)),
    ]
    assert deck_file.questions[0].references == (("a", "https://example.com", ""),)
    assert deck_file.questions[2].notes == (("n", "a note\n"),)
    assert [(d.line, d.code) for d in deck_file.diagnostics] == [
        (16, "missing-id"),
        (22, "skipped-level"),
    ]


def lines_that_matter(text: str) -> tuple[list[int], list[tuple[int, int, str, str]], int]:
    """What `split._scan` finds, found line by line."""
    headings, marks, last_math, offset = [], [], -1, 0
    for line in text.split("\n"):
        end = offset + len(line)
        fence = re.fullmatch(r" {0,3}(`{3,}|~{3,})(.*)", line)
        if re.match(r"#{1,3}(?:[ \t]|$)", line):
            headings.append(offset)
        elif fence:
            marks.append((offset, end, fence[1], fence[2]))
        elif re.fullmatch(r"[^\S\n]*\$\$[^\S\n]*", line):
            last_math = offset
            if re.fullmatch(r" {0,3}\$\$[ \t]*", line):
                marks.append((offset, end, "$$", ""))
        offset = end + 1
    return headings, marks, last_math


TRICKY = ["  ```py\n", "   ~~~~ x ~\n", "    ```\n", "#x\n", "##\t\n", "$$ \n", "\v$$\u2003\n"]
TRICKY += ["   $$\n", "    $$\n", "\t$$\n"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES + TRICKY), max_size=80).map("".join))
@example("# T")  # a heading that ends the text
@example("\n$$")
def test_the_lines_that_matter_to_cutting_are_found_in_one_pass(text: str) -> None:
    assert split._scan(text) == lines_that_matter(text)
