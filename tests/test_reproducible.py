"""The same Markdown and the same state file build the same bytes, anywhere."""

from __future__ import annotations

import io
import os
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import genanki
from conftest import SEED_DECKS, TESTS, write_rich_deck

import ankiqa
from ankiqa import pipeline
from ankiqa.notes import deck_id
from ankiqa.notetypes import NOTE_TYPES
from ankiqa.package import write_package_to
from ankiqa.parse import Question
from ankiqa.spool import InMemory, NoteSpool, PackedNote, SpooledNote
from ankiqa.state import STATE_FILE

ROOT = Path(__file__).resolve().parent.parent
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8ff1f0003000301ff4e5d7bb30000000049454e44ae426082"
)


def make_project(folder: Path) -> Path:
    shutil.copytree(ROOT / "decks", folder / "decks", ignore=shutil.ignore_patterns(STATE_FILE))
    (folder / "decks" / "img").mkdir()
    (folder / "decks" / "img" / "dot.png").write_bytes(PNG)
    (folder / "decks" / "pictures.md").write_text(
        "### What does a dot look like?\n\n![a dot](img/dot.png)\n\nquestion id: dot\n",
        encoding="utf-8",
    )
    return folder


def export(project: Path, **kwargs) -> ankiqa.ExportResult:
    return ankiqa.export([project / "decks"], dist=project / "dist", **kwargs)


def test_two_exports_of_unchanged_input_are_identical_and_the_second_writes_nothing(tmp_path):
    project = make_project(tmp_path / "p")
    first = export(project)
    packages = {path: path.read_bytes() for path in first.written}
    assert len(packages) == 2
    stamps = {path: os.stat(path).st_mtime_ns for path in packages}

    second = export(project, now=2_000_000_000)  # a later clock changes nothing
    assert second.written == []
    assert sorted(second.up_to_date) == sorted(packages)
    assert {path: os.stat(path).st_mtime_ns for path in packages} == stamps

    shutil.rmtree(project / "dist")
    export(project, now=2_100_000_000)
    assert {path: path.read_bytes() for path in packages} == packages


def test_a_copy_of_the_project_builds_the_same_bytes(tmp_path):
    original = make_project(tmp_path / "original")
    export(original)
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(original, copy, ignore=shutil.ignore_patterns("dist"))
    export(copy, now=2_000_000_000)
    for package in (original / "dist").rglob("*.apkg"):
        twin = copy / "dist" / package.relative_to(original / "dist")
        assert twin.read_bytes() == package.read_bytes()


def test_package_is_deflated_with_fixed_entry_order_and_times(tmp_path):
    project = make_project(tmp_path / "p")
    export(project)
    with zipfile.ZipFile(project / "dist" / "pictures.apkg") as archive:
        entries = archive.infolist()
        assert [entry.filename for entry in entries] == ["collection.anki2", "media", "0"]
        assert {entry.compress_type for entry in entries} == {zipfile.ZIP_DEFLATED}
        assert {entry.date_time for entry in entries} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.read("0") == PNG
        media = archive.read("media").decode("utf-8")
        assert media.startswith('{"0": "dot-') and media.endswith('.png"}')
        raw = (project / "dist" / "pictures.apkg").read_bytes()
        for entry in entries:  # at level 4, whichever Python wrote it: the same bytes
            names_at = entry.header_offset + 26  # a local header's name and extra lengths
            name_length, extra_length = struct.unpack("<HH", raw[names_at : names_at + 4])
            start = entry.header_offset + 30 + name_length + extra_length
            deflater = zlib.compressobj(4, zlib.DEFLATED, -15)
            expected = deflater.compress(archive.read(entry)) + deflater.flush()
            assert raw[start : start + entry.compress_size] == expected


def test_rendering_in_worker_processes_builds_the_same_bytes(tmp_path, monkeypatch):
    sequential = make_project(tmp_path / "sequential")
    parallel = make_project(tmp_path / "parallel")
    export(sequential, now=1_800_000_000)
    monkeypatch.setattr(pipeline, "PARALLEL_FROM", 1)
    monkeypatch.setattr(pipeline, "PART_SIZE", 2)
    monkeypatch.setattr(pipeline, "_cores", lambda: 2)
    export(parallel, now=1_800_000_000)
    for package in (sequential / "dist").rglob("*.apkg"):
        twin = parallel / "dist" / package.relative_to(sequential / "dist")
        assert twin.read_bytes() == package.read_bytes()


def test_a_part_holds_at_most_part_size_questions_and_part_chars_of_markdown(monkeypatch):
    monkeypatch.setattr(pipeline, "PART_SIZE", 3)
    monkeypatch.setattr(pipeline, "PART_CHARS", 10)
    questions = tuple(
        Question(f"q{n}", "Q?", "x" * length, "d", (), Path("d.md"), n, None, n, n)
        for n, length in enumerate([4, 4, 4, 20, 1, 1, 1, 1, 9, 2])
    )
    lengths = [[len(q.answer) for q in part] for part in pipeline.parts_of(questions)]
    assert lengths == [[4, 4], [4], [20], [1, 1, 1], [1, 9], [2]]  # a longer one alone


def _packages(project: Path) -> dict[Path, bytes]:
    return {path.relative_to(project): path.read_bytes() for path in project.rglob("*.apkg")}


def test_cold_cached_parallel_and_single_package_builds_are_byte_identical(tmp_path, monkeypatch):
    def build(name: str, **kwargs) -> dict[Path, bytes]:
        project = make_project(tmp_path / name)
        write_rich_deck(project / "decks" / "rich.md")
        export(project, now=1_800_000_000, **kwargs)
        ankiqa.export([project / "decks"], output=project / "all" / "all.apkg", now=1_800_000_000)
        return _packages(project)

    cold = build("cold", use_cache=False)
    assert len(cold) == 4
    assert build("warming") == cold
    assert build("cached") == cold  # every field and parsed file from the cache
    monkeypatch.setattr(pipeline, "PARALLEL_FROM", 1)
    monkeypatch.setattr(pipeline, "PART_SIZE", 2)
    monkeypatch.setattr(pipeline, "PART_CHARS", 100)  # parts of one question, too
    monkeypatch.setattr(pipeline, "AHEAD", 1)
    monkeypatch.setattr(pipeline, "_cores", lambda: 2)
    assert build("parallel", use_cache=False) == cold
    assert build("parallel-cached") == cold


def test_notes_spooled_on_disk_make_the_bytes_of_notes_in_memory(tmp_path):
    """Decks interleaved and several note types: the spool gives the writer the decks,
    their note types and their notes in the order a list of the notes does."""
    decks = tmp_path / "decks"
    write_rich_deck(decks / "Sub" / "rich.md")
    shutil.copy(SEED_DECKS / "web-servers.md", decks / "web-servers.md")
    (decks / "kinds.md").write_text(
        "### A {{c1::cloze}}?\n\nquestion id: k-1\n\n### Both ways?\n\nYes.\n\n"
        "question id: k-2\nreversed: yes\n",
        encoding="utf-8",
    )
    notes = ankiqa.build_decks([decks])
    notes = notes[::2] + notes[1::2]  # the decks' notes interleaved
    mods = {note.guid: 1_800_000_000 + number for number, note in enumerate(notes)}
    type_mods = {kind: 1_700_000_000 for kind in {note.note_type.kind for note in notes}}
    styles = ("default", "monokai")
    spool = NoteSpool()
    try:
        spool.add(notes[:3])
        spool.add(notes[3:])
        spooled = io.BytesIO()
        write_package_to(spooled, spool, mods, type_mods, styles)
    finally:
        spool.close()

    listed = io.BytesIO()
    write_package_to(listed, InMemory(notes), mods, type_mods, styles)
    assert spooled.getvalue() == listed.getvalue()
    assert len(type_mods) == 3


def _genanki_notes(cursor, notes, decks, models, mods, ids) -> dict[str, Path]:
    """`package._write_notes` as genanki writes notes: a genanki Note per note, stamped
    with its own `mod`."""
    media = {}
    for note in notes.in_deck_order():
        fields, tags = list(note.fields), list(note.tags)
        genanki_note = genanki.Note(models[note.note_type.kind], fields, tags=tags, guid=note.guid)
        genanki_note.write_to_db(cursor, mods[note.guid], deck_id(note.deck), ids)
        media.update((file.name, file.path) for file in note.media)
    return media


def test_packages_hold_the_notes_and_cards_genanki_writes(tmp_path, monkeypatch):
    """ankiqa builds the notes' and cards' rows itself: the same bytes as genanki's, for
    cloze numbers out of order, repeated, past 9, empty or missing, sides left empty,
    tags and decks interleaved."""
    decks = tmp_path / "decks"
    write_rich_deck(decks / "rich.md")
    shutil.copy(TESTS / "fixtures" / "kinds.md", decks / "kinds.md")
    notes: list[PackedNote] = list(ankiqa.build_decks([decks]))
    cloze, basic, both = NOTE_TYPES["cloze"], NOTE_TYPES["basic"], NOTE_TYPES["reversed"]
    odd = [
        (cloze, ("no number",)),
        (cloze, ("{{c0::zero}} {{c12::a}} {{c3::b}} {{c2::c}} {{c3::d}}",)),
        (cloze, ("{{c1::a\nb}} {{c100::c}} {{c9::d}} {{c33::e}} {{c17::f}}",)),
        (cloze, ("{{c2::}} {{c1::x}}",)),
        (both, ("Q", "")),
        (both, ("", "A")),
        (basic, ("", "")),
        (basic, ("Q", "A")),
    ]
    for number, (note_type, fields) in enumerate(odd):
        guid, deck = f"odd-{number}", f"Odd::{number % 3}"
        tags = ("odd", f"n{number}", "é::x")[: number % 4]
        notes.append(SpooledNote(guid, note_type, deck, (*fields, guid), tags, ()))
    mods = {note.guid: 1_800_000_000 + number for number, note in enumerate(notes)}
    type_mods = {"basic": 1_700_000_001, "reversed": 1_700_000_002, "cloze": 1_700_000_003}

    def write() -> bytes:
        target = io.BytesIO()
        write_package_to(target, InMemory(notes), mods, type_mods, ("default", "monokai"))
        return target.getvalue()

    ours = write()
    monkeypatch.setattr("ankiqa.package._write_notes", _genanki_notes)
    assert ours == write()
