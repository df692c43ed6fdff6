"""The rendering bugs found on real notes, each pinned with the exact field HTML, and a
deck holding all of them imported into a real Anki collection."""

from __future__ import annotations

from pathlib import Path

import pytest
from anki_client import import_into_fresh_collection
from conftest import TESTS

import ankiqa
from ankiqa.notes import note_guid

DECK = TESTS / "fixtures" / "fidelity.md"

# Question id → the Answer field. Each question is one bug of "Cards show exactly what
# the Markdown says"; its heading says which.
ANSWERS = {
    "link-then-text": '<p>See <a href="https://medium.com/@arnav">Arnav</a>\'s post.</p>',
    "adjacent-links": (
        '<p><a href="https://a.example/">a</a><a href="https://b.example/">b</a>, <img '
        'src="https://img.example/u.png" alt="x">text and [<a '
        'href="https://src.example/">src</a>]</p>'
    ),
    "dollars-in-code": (
        "<p>Use <code>$HOME</code> and <code>$PATH</code>; it costs $5 and $10; \\(e^{i\\pi} = "
        "-1\\).</p>"
    ),
    "unknown-tag": "<p>A vector holds ints. This sentence stays.</p>",
    "reference-at-end": (
        "<p>Read the <a "
        'href="https://developer.mozilla.org/en-US/docs/Web/API/Storage_API">Storage API</a> '
        "docs.</p>"
    ),
    "url-in-alt": (
        '<p><img src="https://example.com/pic.png" alt="see https://example.com/pic"></p>'
    ),
    "comment": "<p>Before  after.</p>",
    "table-cells": (
        "<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n<th>c</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n"
        "<td>d</td>\n<td></td>\n<td>e</td>\n</tr>\n</tbody>\n</table>"
    ),
    "strike-mail-www": (
        "<p><del>one</del> and <del>two</del>, <a "
        'href="mailto:me@example.com">me@example.com</a> and <a '
        'href="http://www.example.com">www.example.com</a>.</p>'
    ),
    "code-blank-lines": (
        '<div class="highlight"><pre><span></span><code>\n\n<span class="n">x</span> <span '
        'class="o">=</span> <span class="mi">1</span>\n\n\n</code></pre></div>'
    ),
    "reference-in-heading": "<p>A Markdown parser in pure Python.</p>",
    "task-footnote": (
        '<ul>\n<li><input type="checkbox" disabled=""> to do</li>\n<li><input type="checkbox" '
        'checked="" disabled=""> done</li>\n</ul>\n<p>A claim.<sup><a href="#fn1" '
        'id="fnref1">1</a></sup></p>\n<section class="footnotes">\n<ol>\n<li id="fn1">\n<p>The '
        '<em>source</em>. <a href="#fnref1">↩</a></p>\n</li>\n</ol>\n</section>'
    ),
}
FRONT_WITH_A_LINK = 'Who wrote <a href="https://medium.com/@arnav">the post</a>\'s intro?'


def exported_fields() -> dict[str, tuple[str, str]]:
    deck = ankiqa.read_deck_file(DECK)
    return {n.question.id: n.fields[:2] for n in ankiqa.build_notes(deck, DECK.parent)}


@pytest.mark.parametrize("question_id", sorted(ANSWERS))
def test_the_answer_is_what_github_shows(question_id: str) -> None:
    assert exported_fields()[question_id][1] == ANSWERS[question_id]


def test_a_link_followed_by_text_in_a_heading() -> None:
    assert exported_fields()["link-then-text"][0] == FRONT_WITH_A_LINK


def test_a_reference_link_in_a_heading() -> None:
    """It crashed the renderer: a heading had no document to look references up in."""
    front = exported_fields()["reference-in-heading"][0]
    assert front == 'What is <a href="https://github.com/miyuchina/mistletoe">mistletoe</a>?'


def test_the_definition_lines_are_on_no_card() -> None:
    for front, back in exported_fields().values():
        assert "[storage]:" not in back and "[^source]:" not in back
        assert "developer.mozilla.org" not in front


def test_the_deck_imports_into_anki_as_rendered(tmp_path: Path) -> None:
    deck = tmp_path / "decks" / DECK.name  # exporting writes the build state beside it
    deck.parent.mkdir()
    deck.write_bytes(DECK.read_bytes())
    apkg = tmp_path / "fidelity.apkg"
    ankiqa.export([deck], output=apkg, now=1_700_000_000)
    counts, notes = import_into_fresh_collection(apkg, tmp_path / "col")
    assert (counts.new, counts.updated, counts.duplicate, counts.conflicting) == (12, 0, 0, 0)
    for question_id, answer in ANSWERS.items():
        fields = notes[note_guid(question_id)]["fields"]
        assert fields["Answer"] == answer
        assert fields["Question ID"] == question_id
    assert notes[note_guid("link-then-text")]["fields"]["Question"] == FRONT_WITH_A_LINK


def fields_of(tmp_path: Path, markdown: str) -> dict[str, tuple[str, str]]:
    deck = ankiqa.parse_deck(markdown, tmp_path / "deck.md")
    return {n.question.id: n.fields[:2] for n in ankiqa.build_notes(deck, tmp_path)}


def test_footnotes_wherever_github_finds_them(tmp_path: Path) -> None:
    fields = fields_of(
        tmp_path,
        "### Q\n![diagram[^1]](https://x.org/d.png) x[^1] y[^1]\n\n- item[^2]\n\n"
        "  [^2]: In a list.\n\nText[^3].\n[^3]: Right under it.\n\nquestion id: q\n\n"
        "[^1]: Source.\n",
    )
    assert fields["q"][1] == (
        '<p><img src="https://x.org/d.png" alt="diagram"> x<sup><a href="#fn1" id="fnref1">1'
        '</a></sup> y<sup><a href="#fn1" id="fnref1-2">1</a></sup></p>\n<ul>\n<li>\n<p>item'
        '<sup><a href="#fn2" id="fnref2">2</a></sup></p>\n\n</li>\n</ul>\n<p>Text<sup><a '
        'href="#fn3" id="fnref3">3</a></sup>.</p>\n<section class="footnotes">\n<ol>\n<li '
        'id="fn1">\n<p>Source. <a href="#fnref1">↩</a> <a href="#fnref1-2">↩</a></p>\n</li>\n'
        '<li id="fn2">\n<p>In a list. <a href="#fnref2">↩</a></p>\n</li>\n<li id="fn3">\n<p>'
        'Right under it. <a href="#fnref3">↩</a></p>\n</li>\n</ol>\n</section>'
    )


def test_a_task_list_item_stays_one_when_x_is_a_link_label(tmp_path: Path) -> None:
    fields = fields_of(
        tmp_path, "### Q\n- [x] done\n- [ ] to do\n\nquestion id: q\n\n[x]: https://x.org\n"
    )
    assert fields["q"][1] == (
        '<ul>\n<li><input type="checkbox" checked="" disabled=""> done</li>\n'
        '<li><input type="checkbox" disabled=""> to do</li>\n</ul>'
    )


def test_an_escaped_pipe_in_a_table_cell_stays_in_the_cell(tmp_path: Path) -> None:
    table = "| Command | Meaning |\n|---|---|\n| `grep 'a\\\\|b'` | BRE alternation |\n"
    fields = fields_of(tmp_path, f"### Q\n{table}\nquestion id: q\n")
    assert "<td><code>grep 'a\\|b'</code></td>\n<td>BRE alternation</td>" in fields["q"][1]


def test_definitions_at_the_end_do_not_count_towards_the_last_question(tmp_path: Path) -> None:
    definitions = "".join(f"[r{n}]: https://example.org/{'x' * 50}/{n}\n" for n in range(2000))
    deck = ankiqa.parse_deck(
        f"### Q\nSee [r1].\n\nquestion id: q\n\n{definitions}", tmp_path / "d.md"
    )
    assert [d.code for d in deck.diagnostics] == []
