"""An export with nothing changed decides from file hashes, before the Markdown engine is
imported, and reports exactly what a full export would; anything changed runs in full."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_rich_deck

import ankiqa
from ankiqa import fresh
from ankiqa.state import STATE_FILE

T = 1_800_000_000


@pytest.fixture
def project(decks: Path) -> Path:
    write_rich_deck(decks / "rich.md")  # warnings too: malformed ids
    return decks.parent


def export(project: Path, **kwargs) -> ankiqa.ExportResult:
    return ankiqa.export([project / "decks"], dist=project / "dist", now=T, **kwargs)


def full_export(project: Path, monkeypatch: pytest.MonkeyPatch) -> ankiqa.ExportResult:
    with monkeypatch.context() as patched:
        patched.setattr(fresh, "replay", lambda *args: None)
        return export(project)


def test_nothing_changed_imports_no_markdown_engine_pygments_or_genanki(project: Path) -> None:
    script = (
        "import sys\n"
        "from ankiqa.cli import app\n"
        "try:\n"
        "    app(['export'])\n"
        "except SystemExit as end:\n"
        "    assert not end.code, end.code\n"
        "print(sorted({'mistletoe', 'pygments', 'genanki'} & sys.modules.keys()))\n"
    )

    def run() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=project,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ},
        )
        return done.stdout.splitlines()

    first = run()
    assert first[-1] == "['genanki', 'mistletoe', 'pygments']"
    second = run()
    assert "dist/web-servers.apkg is up to date" in second
    assert second[-1] == "[]"


def test_nothing_changed_reports_what_a_full_export_reports(project: Path, monkeypatch) -> None:
    export(project)
    full = full_export(project, monkeypatch)
    assert full.written == []
    replayed = export(project)
    assert replayed == full
    assert replayed.warnings and replayed.notes == 10


@pytest.mark.parametrize(
    "change",
    [
        "edited deck",
        "reverted deck",
        "deleted package",
        "modified package",
        "changed settings",
        "changed state",
        "new deck file",
    ],
)
def test_any_change_runs_the_export_in_full(project: Path, monkeypatch, change: str) -> None:
    deck = project / "decks" / "web-servers.md"
    original = deck.read_bytes()
    deck.write_bytes(original.replace(b"UNIX", b"Unix"))
    export(project)
    before = {path: path.read_bytes() for path in (project / "dist").glob("*.apkg")}
    package = project / "dist" / "web-servers.apkg"
    if change == "edited deck":
        deck.write_bytes(original.replace(b"UNIX", b"U.N.I.X."))
    elif change == "reverted deck":
        deck.write_bytes(original)
    elif change == "deleted package":
        package.unlink()
    elif change == "modified package":
        package.write_bytes(package.read_bytes() + b"\0")
    elif change == "changed settings":
        (project / "ankiqa.toml").write_text('light-style = "friendly"\n', encoding="utf-8")
    elif change == "changed state":
        state = project / "decks" / STATE_FILE
        state.write_text(state.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    elif change == "new deck file":
        new = "### New?\n\nYes.\n\nquestion id: 5d0f3a52-8f4e-4a7e-9a8e-0b1c2d3e4f50\n"
        (project / "decks" / "new.md").write_text(new, encoding="utf-8")

    replayed = fresh.replay([project / "decks"], None, project / "dist", _cache())
    assert replayed is None
    result = export(project)
    expected = full_export(project, monkeypatch)  # the state this export saved, in full
    assert export(project) == expected  # and now nothing changed again
    if change in ("deleted package", "modified package"):
        assert result.written == [package]
        assert package.read_bytes() == before[package]  # the same bytes as before


def test_an_export_of_another_project_sharing_the_ledger_runs_in_full(
    project: Path, tmp_path: Path, monkeypatch
) -> None:
    export(project)
    clone = tmp_path / "clone"
    shutil.copytree(project, clone, ignore=shutil.ignore_patterns("dist"))
    deck = clone / "decks" / "web-servers.md"
    deck.write_text(deck.read_text(encoding="utf-8").replace("UNIX", "Unix"), encoding="utf-8")
    ankiqa.export([clone / "decks"], dist=clone / "dist", now=T + 60)
    # The clone's export gave one note a later mod: a full export here would too.
    assert fresh.replay([project / "decks"], None, project / "dist", _cache()) is None


def _cache() -> Path:
    from ankiqa.cache import default_folder

    return default_folder()


def test_a_deck_file_saved_while_an_export_runs_is_read_by_the_next(project: Path) -> None:
    deck = project / "decks" / "web-servers.md"
    edited = deck.read_text(encoding="utf-8").replace("What is WSGI?", "What is WSGI, edited?")

    def save_the_edit(done: int, total: int) -> None:  # the user saves mid-export
        deck.write_text(edited, encoding="utf-8")

    export(project, progress=save_the_edit)
    again = export(project)

    assert [path.name for path in again.written] == ["web-servers.apkg"]
    notes = ankiqa.build_decks([project / "decks"])
    assert any(note.fields[0] == "What is WSGI, edited?" for note in notes)
