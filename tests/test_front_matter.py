"""Front matter: a deck file's name, tags and `reversed`, in YAML at its top."""

from __future__ import annotations

from pathlib import Path

from anki_client import import_into_fresh_collection
from conftest import write_deck

import ankiqa
from ankiqa.ids import add_ids
from ankiqa.notes import note_guid

DECK = """\
---
deck: Networking::HTTP
tags: [net, exam::2027]
reversed: true
colour: blue
---

# A title the front matter overrides

### What is HTTP?

A protocol.

question id: fm-1

### Asked one way only

No.

reversed: no
question id: fm-2
"""


def test_front_matter_names_the_deck_and_applies_to_every_question(tmp_path: Path) -> None:
    deck = ankiqa.parse_deck(DECK, tmp_path / "http.md")
    assert deck.deck == "Networking::HTTP"
    assert [(q.id, q.kind, q.tags) for q in deck.questions] == [
        ("fm-1", "reversed", ("net", "exam::2027")),
        ("fm-2", "basic", ("net", "exam::2027")),
    ]
    assert [(d.line, d.code) for d in deck.diagnostics] == [(5, "unknown-key")]


def test_front_matter_problems_are_errors_at_their_line(tmp_path: Path) -> None:
    question = "### Q\nA\nquestion id: q\n"
    for front, line in (
        ("tags: [a b\n", 3),  # the YAML ends inside the list
        ("a: &x [1]\nb: *x\n", 1),  # aliases are refused
        ("reversed: sometimes\n", 2),
        ("tags: ['a\"b']\n", 2),
    ):
        deck = ankiqa.parse_deck(f"---\n{front}---\n{question}", tmp_path / "d.md")
        assert [(d.line, d.code) for d in deck.diagnostics] == [(line, "bad-front-matter")], front


def test_ids_keeps_the_front_matter_byte_for_byte() -> None:
    data = DECK.replace("question id: fm-2\n", "").encode()
    result = add_ids(data, new_id=lambda: "new-id")
    # The id goes right below the option line, which belongs next to it.
    assert result.data == data.replace(b"reversed: no\n", b"reversed: no\nquestion id: new-id\n")


def test_a_front_matter_deck_imports_as_written(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "decks" / "http.md", DECK)
    ankiqa.export([deck.parent], output=tmp_path / "http.apkg", now=1_700_000_000)
    counts, notes = import_into_fresh_collection(tmp_path / "http.apkg", tmp_path / "col")
    assert (counts.new, counts.conflicting) == (2, 0)
    http = notes[note_guid("fm-1")]
    assert (http["deck"], sorted(http["tags"])) == ("Networking::HTTP", ["exam::2027", "net"])
    assert http["notetype"] == "ankiqa Q&A reversed"
    assert notes[note_guid("fm-2")]["notetype"] == "ankiqa Q&A"


def test_a_file_opening_with_a_rule_has_no_front_matter(tmp_path: Path) -> None:
    text = "---\n### Q1\nA\nquestion id: a\n---\n### Q2\nB\nquestion id: b\n"
    deck = ankiqa.parse_deck(text, tmp_path / "rules.md")
    assert [q.id for q in deck.questions] == ["a", "b"] and deck.diagnostics == ()


def test_front_matter_values_as_people_write_them(tmp_path: Path) -> None:
    question = "### Q\nA\nquestion id: q\n"
    deck = ankiqa.parse_deck(f"---\ndeck: 2024\ntags: a, b\n---\n{question}", tmp_path / "d.md")
    assert (deck.deck, deck.questions[0].tags, deck.diagnostics) == ("2024", ("a", "b"), ())
    for front in ("deck: '::Weird::'\n", "deck: " + "[" * 2000 + "\n"):
        deck = ankiqa.parse_deck(f"---\n{front}---\n{question}", tmp_path / "d.md")
        assert [d.code for d in deck.diagnostics] == ["bad-front-matter"], front
