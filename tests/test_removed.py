"""Questions removed from the Markdown: reported once, by id and file, with a search
that finds exactly their notes in Anki."""

from __future__ import annotations

from pathlib import Path

import pytest
from anki_client import import_package, open_collection
from conftest import write_deck
from typer.testing import CliRunner

import ankiqa
from ankiqa.build import anki_search
from ankiqa.cli import app

TRICKY_IDS = (
    "weird_id*x:y",
    'back\\slash"q',
    "A&B<c>",
    "re:a",
    "a.b+c(d)[e]{f}|g^h$i",
    "CaseID",
    "caseid",  # stays: a search for CaseID must not find it
    "plain-1",  # stays
)
REMOVED = TRICKY_IDS[:6]


def deck_text(ids) -> str:
    return "".join(f"### Question {i}?\n\nAnswer.\n\nquestion id: {i}\n\n" for i in ids)


def test_removed_questions_are_reported_once_and_found_by_the_search(tmp_path):
    decks = tmp_path / "decks"
    decks.mkdir()
    deck = decks / "tricky.md"
    deck.write_text(deck_text(TRICKY_IDS), encoding="utf-8")
    ankiqa.export([decks], output=tmp_path / "all.apkg", now=1_800_000_000)
    col = open_collection(tmp_path / "col")
    assert import_package(col, tmp_path / "all.apkg").new == len(TRICKY_IDS)

    deck.write_text(deck_text(TRICKY_IDS[len(REMOVED) :]), encoding="utf-8")
    result = ankiqa.export([decks], output=tmp_path / "all.apkg", now=1_800_000_100)
    assert [(r.id, r.file) for r in result.removed] == [(i, deck) for i in sorted(REMOVED)]

    search = anki_search(r.id for r in result.removed)
    found = sorted(col.get_note(note_id).guid for note_id in col.find_notes(search))
    assert found == sorted(ankiqa.note_guid(question_id) for question_id in REMOVED)
    col.close()

    again = ankiqa.export([decks], output=tmp_path / "all.apkg", now=1_800_000_200)
    assert again.removed == []


@pytest.mark.parametrize(
    ("removed", "kept", "printed"),
    [
        # Anki stores fields NFC: a search for the removed NFD id would find the NFC one.
        ("cafe\u0301", "caf\u00e9", "1 question removed"),
        # An NBSP Anki may store as `&nbsp;`: a search would find nothing.
        ("xyz\u00a0", "other", "xyz\\xa0"),  # printed visibly
    ],
)
def test_no_removal_search_is_offered_unless_it_is_exact(
    tmp_path: Path, removed: str, kept: str, printed: str
) -> None:
    decks = tmp_path / "decks"
    write_deck(decks / "d.md", f"### A\n\nA.\n\nquestion id: {removed}\n")
    ankiqa.export([decks], output=tmp_path / "1.apkg", now=1_700_000_000)
    write_deck(decks / "d.md", f"### A\n\nA.\n\nquestion id: {kept}\n")
    result = CliRunner().invoke(app, ["export", str(decks), "-o", str(tmp_path / "2.apkg")])
    assert printed in result.output
    assert "search the browser" not in result.output and "no search is offered" in result.output
