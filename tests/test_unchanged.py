"""A re-export after an edit reads only the deck files that changed: the others count by
their records (see `ankiqa.unchanged`), and the packages and build state are exactly
those of an export that read everything, without a cache."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import SEED_DECKS, T0, T1, write_rich_deck
from test_reproducible import PNG

import ankiqa
from ankiqa import parse, unchanged
from ankiqa.cache import default_folder as default_cache_folder
from ankiqa.diagnostics import DeckError
from ankiqa.ledger import LEDGER_ENV
from ankiqa.ledger import default_folder as default_ledger_folder
from ankiqa.state import STATE_FILE

KINDS = Path(__file__).parent / "fixtures" / "kinds.md"
MOVED = "### What does `ls` do?"  # a question of kinds.md


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Three deck files, each its own package: basic, cloze and reversed notes, warnings."""
    decks = tmp_path / "p" / "decks"
    shutil.copytree(SEED_DECKS, decks, ignore=shutil.ignore_patterns(STATE_FILE))
    write_rich_deck(decks / "rich.md")
    shutil.copy(KINDS, decks / "kinds.md")
    export(decks.parent, now=T0)
    return decks.parent


def export(project: Path, one_package: bool = False, **kwargs) -> ankiqa.ExportResult:
    output = project / "dist" / "all.apkg" if one_package else None
    return ankiqa.export([project / "decks"], output, dist=project / "dist", **kwargs)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the deck files that exports read to parse."""
    read: list[str] = []
    read_bytes = parse.read_bytes

    def spy(path: Path):
        read.append(path.name)
        return read_bytes(path)

    monkeypatch.setattr(parse, "read_bytes", spy)
    return read


def export_as_cold_too(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_package: bool = False
) -> ankiqa.ExportResult:
    """Export `project` (at T1), and a copy of it, with a copy of the ledger, without the
    cache; check that both give the same packages, build state and report."""
    cold = tmp_path / "cold"
    shutil.copytree(project, cold)
    ledger = tmp_path / "cold-ledger"
    shutil.copytree(default_ledger_folder(), ledger)
    result = export(project, one_package, now=T1)
    with monkeypatch.context() as patched:
        patched.setenv(LEDGER_ENV, str(ledger))
        expected = export(cold, one_package, now=T1, use_cache=False)
    assert _files(project) == _files(cold)
    assert _report(result, project) == _report(expected, cold)
    return result


def _files(project: Path) -> dict[str, bytes]:
    paths = [*(project / "dist").rglob("*.apkg"), project / "decks" / STATE_FILE]
    return {path.relative_to(project).as_posix(): path.read_bytes() for path in paths}


def _report(result: ankiqa.ExportResult, project: Path) -> list[object]:
    def relative(paths: list[Path]) -> list[str]:
        return [path.relative_to(project).as_posix() for path in paths]

    warnings = [str(d).replace(str(project), "") for d in result.warnings]
    removed = [(r.id, r.file.relative_to(project), r.searchable) for r in result.removed]
    written, up_to_date = relative(result.written), relative(result.up_to_date)
    return [written, up_to_date, result.decks, result.notes, warnings, removed]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_edit_reads_only_the_edited_deck_file(project, tmp_path, monkeypatch, reads) -> None:
    edit(project / "decks" / "web-servers.md", "UNIX", "Unix")
    result = export_as_cold_too(project, tmp_path, monkeypatch)
    assert reads == ["web-servers.md", "kinds.md", "rich.md", "web-servers.md"]  # then cold
    assert [path.name for path in result.written] == ["web-servers.apkg"]
    assert result.warnings  # the unchanged rich.md's, from its record


def test_a_renamed_deck_file_moves_its_notes(project, tmp_path, monkeypatch) -> None:
    decks = project / "decks"
    (decks / "kinds.md").rename(decks / "renamed.md")
    result = export_as_cold_too(project, tmp_path, monkeypatch)
    assert [path.name for path in result.written] == ["renamed.apkg"]
    assert '"file": "renamed.md"' in (decks / STATE_FILE).read_text(encoding="utf-8")
    assert result.removed == []


def test_a_question_moved_to_another_deck_file(project, tmp_path, monkeypatch) -> None:
    decks = project / "decks"
    kinds = (decks / "kinds.md").read_text(encoding="utf-8")
    start = kinds.index(MOVED)
    end = kinds.find("\n### ", start) % (len(kinds) + 1)  # the next question, or the end
    (decks / "kinds.md").write_text(kinds[:start] + kinds[end:], encoding="utf-8")
    with (decks / "web-servers.md").open("a", encoding="utf-8") as file:
        file.write("\n" + kinds[start:end] + "\n")
    result = export_as_cold_too(project, tmp_path, monkeypatch)
    assert sorted(path.name for path in result.written) == ["kinds.apkg", "web-servers.apkg"]
    assert result.removed == []


def test_an_id_used_again_in_an_edited_deck_file_is_an_error(project, reads) -> None:
    decks = project / "decks"
    before = _files(project)
    question = "### Again?\n\nYes.\n\nquestion id: rev-1\n"  # kinds.md's, unchanged
    with (decks / "web-servers.md").open("a", encoding="utf-8") as file:
        file.write("\n" + question)
    with pytest.raises(DeckError) as error:
        export(project, now=T1)
    assert reads == ["web-servers.md"]
    duplicates = [d for d in error.value.diagnostics if d.code == "duplicate-id"]
    assert sorted(d.path.name for d in duplicates) == ["kinds.md", "web-servers.md"]
    assert _files(project) == before


def test_a_kind_the_build_state_no_longer_has_is_an_error(project, reads) -> None:
    state = project / "decks" / STATE_FILE
    text = state.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if '"id": "rev-1"' in line)
    state.write_text(text.replace(line, line.replace(', "kind": "reversed"', "")), "utf-8")
    with pytest.raises(DeckError) as error:  # a merge made rev-1 a basic note, say
        export(project, now=T1)
    assert reads == []  # kinds.md is unchanged: its record says rev-1 is reversed
    assert [d.code for d in error.value.diagnostics] == ["kind-changed"]


@pytest.mark.parametrize("row", ["garbage", "{}", "other content", "an error"])
def test_a_crafted_record_changes_no_package(project, tmp_path, monkeypatch, row) -> None:
    edit(project / "decks" / "web-servers.md", "UNIX", "Unix")
    database = next(default_cache_folder().glob("render-*.sqlite"))
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        for key, text in db.execute("select key, record from deck_files").fetchall():
            record = json.loads(text)
            if row == "other content":
                for note in record["notes"]:
                    note[3] = "0" * 20
            elif row == "an error":
                for diagnostic in record["diagnostics"]:
                    diagnostic["severity"] = "error"
            crafted = json.dumps(record) if row in ("other content", "an error") else row
            db.execute("update deck_files set record = ? where key = ?", (crafted, key))
    export_as_cold_too(project, tmp_path, monkeypatch)


def test_a_deleted_package_of_an_unchanged_deck_file_is_written_again(
    project, tmp_path, monkeypatch
) -> None:
    package = project / "dist" / "kinds.apkg"
    written = package.read_bytes()
    package.unlink()
    edit(project / "decks" / "web-servers.md", "UNIX", "Unix")
    result = export_as_cold_too(project, tmp_path, monkeypatch)
    assert package in result.written
    assert package.read_bytes() == written


def test_one_package_of_every_deck_file_is_built_as_without_a_cache(
    project, tmp_path, monkeypatch
) -> None:
    export(project, one_package=True, now=T0)
    edit(project / "decks" / "web-servers.md", "UNIX", "Unix")
    export_as_cold_too(project, tmp_path, monkeypatch, one_package=True)


def test_a_deck_file_no_longer_utf8_is_reported(project) -> None:
    (project / "decks" / "kinds.md").write_bytes(b"### Q\n\n\xff\n\nquestion id: x\n")
    with pytest.raises(DeckError) as error:
        export(project, now=T1)
    assert [d.code for d in error.value.diagnostics] == ["not-utf8"]


@pytest.mark.parametrize("change", ["changed", "added"])
def test_a_deck_file_whose_image_changed_is_read_again(
    project, tmp_path, monkeypatch, reads, change
) -> None:
    decks = project / "decks"
    (decks / "img").mkdir()
    if change == "changed":
        (decks / "img" / "dot.png").write_bytes(PNG)
    question = "### Which dot?\n\n![a dot](img/dot.png)\n\nquestion id: dot\n"
    (decks / "pictures.md").write_text(question, encoding="utf-8")
    export(project, now=T0)
    (decks / "img" / "dot.png").write_bytes(PNG + b"\0" if change == "changed" else PNG)
    reads.clear()
    result = export_as_cold_too(project, tmp_path, monkeypatch)
    assert reads[0] == "pictures.md"
    assert [path.name for path in result.written] == ["pictures.apkg"]


@pytest.mark.parametrize("damaged", [STATE_FILE, "web-servers.md"])
def test_an_export_that_failed_leaves_the_next_one_as_without_a_cache(
    project, tmp_path, monkeypatch, damaged
) -> None:
    decks = project / "decks"
    edit(decks / "kinds.md", "Lists a folder.", "Lists a directory.")
    saved = (decks / damaged).read_bytes()
    with (decks / damaged).open("a", encoding="utf-8") as file:
        file.write("{\n" if damaged == STATE_FILE else "\n###\n\nEmpty.\n\nquestion id: e\n")
    with pytest.raises(DeckError):
        export(project, now=T1)
    (decks / damaged).write_bytes(saved)
    export_as_cold_too(project, tmp_path, monkeypatch)


def test_a_reverted_edit_is_built_as_without_a_cache(project, tmp_path, monkeypatch) -> None:
    decks = project / "decks"
    committed = {path: path.read_bytes() for path in (decks / "kinds.md", decks / STATE_FILE)}
    edit(decks / "kinds.md", "Lists a folder.", "Lists a directory.")
    export(project, now=T0 + 60)
    for path, data in committed.items():  # git revert: the Markdown and the state go back
        path.write_bytes(data)
    result = export_as_cold_too(project, tmp_path, monkeypatch)
    assert [path.name for path in result.written] == ["kinds.apkg"]  # with a later mod


@pytest.mark.parametrize("media", [None, 0, "", {}])
def test_a_record_of_a_note_without_a_list_of_media_is_not_used(media) -> None:
    """A cache is never trusted: a note's media must be a list, even an empty one."""

    def record(media: object) -> str:
        note = ["q-1", 3, "guid", "0" * 20, "basic", [], "Deck", media]
        return json.dumps({"notes": [note], "diagnostics": [], "media": {}})

    assert unchanged.FileRecord.from_json(record([]), Path("d.md")) is not None
    assert unchanged.FileRecord.from_json(record(media), Path("d.md")) is None
