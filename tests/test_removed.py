"""Questions removed from the Markdown: reported once, by id and file, with a search
that finds exactly their notes in Anki."""

from __future__ import annotations

from anki_client import import_package, open_collection

import ankiqa
from ankiqa.build import anki_search

TRICKY_IDS = ("weird_id*x:y", 'back\\slash"q', "A&B<c>", "plain-1")


def deck_text(ids) -> str:
    return "".join(f"### Question {i}?\n\nAnswer.\n\nquestion id: {i}\n\n" for i in ids)


def test_removed_questions_are_reported_once_and_found_by_the_search(tmp_path):
    decks = tmp_path / "decks"
    decks.mkdir()
    deck = decks / "tricky.md"
    deck.write_text(deck_text(TRICKY_IDS), encoding="utf-8")
    ankiqa.export([decks], output=tmp_path / "all.apkg", now=1_800_000_000)
    col = open_collection(tmp_path / "col")
    assert import_package(col, tmp_path / "all.apkg").new == 4

    deck.write_text(deck_text(["plain-1"]), encoding="utf-8")
    result = ankiqa.export([decks], output=tmp_path / "all.apkg", now=1_800_000_100)
    removed = sorted(TRICKY_IDS[:3])
    assert [(r.id, r.file) for r in result.removed] == [(i, deck) for i in removed]

    search = anki_search(r.id for r in result.removed)
    found = sorted(col.get_note(note_id)["Question ID"] for note_id in col.find_notes(search))
    assert found == sorted(["weird_id*x:y", 'back\\slash"q', "A&amp;B&lt;c&gt;"])
    col.close()

    again = ankiqa.export([decks], output=tmp_path / "all.apkg", now=1_800_000_200)
    assert again.removed == []
