"""`ankiqa diff`: what changed, by question id, between packages or against the Markdown."""

from __future__ import annotations

import json
import os
import sqlite3
import zipfile
from pathlib import Path

from anki.collection import DeckIdLimit, ExportAnkiPackageOptions
from anki_client import import_package, open_collection
from typer.testing import CliRunner

import ankiqa
from ankiqa import compare
from ankiqa.cli import app

EDITED = "dabde38a-2adf-4ca3-9ec4-11b761526740"
REMOVED = "a69ffc8e-7eac-4d5f-8f8b-886e1ce835dd"


def edit_deck(deck: Path) -> None:
    text = deck.read_text(encoding="utf-8")
    text = text.replace("for UNIX.", "for Unix-like systems.")
    start, end = text.index("### What is WSGI?"), text.index("### Why is WSGI")
    text = text[:start] + text[end:]
    text += "\n\n### What is ASGI?\n\nThe async successor of WSGI.\n\nquestion id: asgi-1\n"
    deck.write_text(text, encoding="utf-8")


def test_diff_between_packages_and_against_the_markdown(tmp_path, decks, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ankiqa.export([Path("decks")], output=Path("old.apkg"))
    assert not compare(Path("old.apkg"))  # the Markdown builds what old.apkg holds

    edit_deck(Path("decks/web-servers.md"))
    changes = compare(Path("old.apkg"))
    assert [(n.question_id, n.title) for n in changes.added] == [("asgi-1", "What is ASGI?")]
    assert [(n.question_id, n.title) for n in changes.changed] == [(EDITED, "What is Gunicorn?")]
    assert [(n.question_id, n.title) for n in changes.removed] == [(REMOVED, "What is WSGI?")]

    ankiqa.export([Path("decks")], output=Path("new.apkg"))
    assert compare(Path("old.apkg"), Path("new.apkg")).to_json() == changes.to_json()
    assert not compare(Path("new.apkg"), Path("new.apkg"))

    runner = CliRunner()
    same = runner.invoke(app, ["diff", "new.apkg"])
    assert (same.exit_code, same.stdout) == (0, "0 added, 0 changed, 0 removed\n")
    different = runner.invoke(app, ["diff", "old.apkg", "new.apkg"])
    assert different.exit_code == 1
    assert different.stdout.splitlines() == [
        "+ asgi-1  What is ASGI?",
        f"~ {EDITED}  What is Gunicorn?",
        f"- {REMOVED}  What is WSGI?",
        "1 added, 1 changed, 1 removed",
    ]
    as_json = runner.invoke(app, ["diff", "old.apkg", "new.apkg", "--json"])
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout) == {
        "added": [{"id": "asgi-1", "title": "What is ASGI?"}],
        "changed": [{"id": EDITED, "title": "What is Gunicorn?"}],
        "removed": [{"id": REMOVED, "title": "What is WSGI?"}],
    }


def test_diff_of_something_that_is_not_a_package_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["diff", str(tmp_path / "notes.txt"), str(tmp_path / "x.apkg")]
    )
    assert result.exit_code == 2
    assert "cannot read package" in result.stderr
    assert "Traceback" not in result.output


def test_what_is_no_package_is_exit_2_without_a_wait_or_a_traceback(tmp_path: Path) -> None:
    """A pipe would block a read for ever; a zip bomb would fill the disk; odd
    collections raised exceptions."""
    fifo = tmp_path / "pipe.apkg"
    os.mkfifo(fifo)
    bomb = tmp_path / "bomb.apkg"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("collection.anki2", b"\0" * ((1 << 30) + 1))  # 1 MB packed
    odd = tmp_path / "odd.anki2"
    connection = sqlite3.connect(odd)
    connection.execute("create table col (decks)")
    connection.execute("insert into col values ('[1, 2]')")
    connection.execute("create table notes (id, guid, flds, tags)")
    connection.execute("create table cards (nid, did)")
    connection.commit()
    connection.close()
    odd_package = tmp_path / "odd.apkg"
    with zipfile.ZipFile(odd_package, "w") as archive:
        archive.write(odd, "collection.anki2")
    for package, message in (
        (fifo, "not a file"),
        (bomb, "unpacks to more than 1 GiB"),
        (odd_package, "not a collection ankiqa can read"),
    ):
        result = CliRunner().invoke(app, ["diff", str(package), str(package)])
        assert result.exit_code == 2 and message in result.output, result.output


def test_a_package_exported_by_current_anki_is_read(tmp_path: Path, decks: Path) -> None:
    """Anki 2.1.50+ writes `collection.anki21b` (zstd), beside a placeholder
    `collection.anki2` whose one note says to update Anki: diff reads the real one."""
    ankiqa.export([decks], output=tmp_path / "ours.apkg", now=1_700_000_000)
    col = open_collection(tmp_path / "col")
    try:
        import_package(col, tmp_path / "ours.apkg")
        options = ExportAnkiPackageOptions(with_scheduling=False, with_media=True, legacy=False)
        limit = DeckIdLimit(deck_id=col.decks.id_for_name("web-servers"))
        col.export_anki_package(out_path=str(tmp_path / "anki.apkg"), options=options, limit=limit)
    finally:
        col.close()
    assert "collection.anki21b" in zipfile.ZipFile(tmp_path / "anki.apkg").namelist()
    changes = compare(tmp_path / "anki.apkg", [decks])
    assert not changes, changes.to_json()  # the same six notes, decks and tags
    (decks / "web-servers.md").write_text(
        (decks / "web-servers.md").read_text().replace("Gunicorn 'Green", "Gunicorn 'Blue"),
        encoding="utf-8",
    )
    changed = compare(tmp_path / "anki.apkg", [decks])
    assert [note.question_id for note in changed.changed] == [
        "dabde38a-2adf-4ca3-9ec4-11b761526740"
    ]
