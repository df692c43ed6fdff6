"""Every edit reaches Anki, even one that git brings back: `git revert` restores older
Markdown and an older build state together, and the ledger (see `ankiqa.ledger`) still
gives the older content a newer `mod` than the note Anki holds."""

from __future__ import annotations

from pathlib import Path

from anki_client import import_package, notes_by_guid, open_collection
from conftest import write_deck

import ankiqa
from ankiqa.state import STATE_FILE

T0 = 1_800_000_000
QUESTION = "### Which port?\n\n{answer}\n\nquestion id: port\n"


def answer_in_anki(col) -> str:
    return notes_by_guid(col)[ankiqa.note_guid("port")]["fields"]["Answer"]


def test_a_reverted_edit_reaches_anki(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "decks" / "d.md", QUESTION.format(answer="Port 80."))
    state = deck.parent / STATE_FILE
    package = tmp_path / "d.apkg"
    col = open_collection(tmp_path / "col")
    try:
        ankiqa.export([deck.parent], output=package, now=T0)
        assert import_package(col, package).new == 1
        committed = deck.read_bytes(), state.read_bytes()  # what git has

        write_deck(deck, QUESTION.format(answer="Port 443."))
        ankiqa.export([deck.parent], output=package, now=T0 + 60)
        assert import_package(col, package).updated == 1
        assert answer_in_anki(col) == "<p>Port 443.</p>"

        deck.write_bytes(committed[0])  # git revert: the Markdown and the state go back
        state.write_bytes(committed[1])
        ankiqa.export([deck.parent], output=package, now=T0 + 120)
        assert import_package(col, package).updated == 1
        assert answer_in_anki(col) == "<p>Port 80.</p>"
    finally:
        col.close()


def test_an_export_killed_before_its_state_was_saved_cannot_reuse_a_mod(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "decks" / "d.md", QUESTION.format(answer="Port 80."))
    state = deck.parent / STATE_FILE
    ankiqa.export([deck.parent], output=tmp_path / "0.apkg", now=T0)
    before = state.read_bytes()
    write_deck(deck, QUESTION.format(answer="Port 443."))
    ankiqa.export([deck.parent], output=tmp_path / "1.apkg", now=T0 + 60)
    state.write_bytes(before)  # killed before the state was written
    write_deck(deck, QUESTION.format(answer="Port 8080."))
    ankiqa.export([deck.parent], output=tmp_path / "2.apkg", now=T0 + 60)  # the same second

    col = open_collection(tmp_path / "col")
    try:
        import_package(col, tmp_path / "0.apkg")
        import_package(col, tmp_path / "1.apkg")
        assert import_package(col, tmp_path / "2.apkg").updated == 1
        assert answer_in_anki(col) == "<p>Port 8080.</p>"
    finally:
        col.close()
