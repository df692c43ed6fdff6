"""Notes → an `.apkg` file: genanki writes the collection, this module zips it.

The zip is DEFLATE-compressed (genanki stores it uncompressed, 3.5 times larger) and has
its entries in a fixed order with fixed times: the same notes with the same `mod`s give
the same bytes. It is written atomically, so an error or an interrupt never leaves a
partial package.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import genanki
from genanki.apkg_col import APKG_COL
from genanki.apkg_schema import APKG_SCHEMA

from .atomic import BLOCK, Staged
from .notes import NoteData, deck_id
from .notetypes import NOTE_TYPES, NoteType
from .spool import InMemory, PackageNotes

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class _StampedNote(genanki.Note):
    """A genanki Note written with its own `mod` instead of the package's timestamp."""

    def __init__(self, mod: int, **kwargs):
        super().__init__(**kwargs)
        self.mod = mod

    def write_to_db(self, cursor, timestamp: float, deck_id: int, id_gen) -> None:
        super().write_to_db(cursor, self.mod, deck_id, id_gen)

    def _check_invalid_html_tags_in_fields(self) -> None:
        """Skipped: the fields are nh3's output, and genanki's check is quadratic on long
        lines (55 s of a 66 s export of one 95 KB line of highlighted code)."""


def write_package(
    notes: Sequence[NoteData],
    path: Path,
    mods: Mapping[str, int],
    type_mods: Mapping[str, int],
    styles: tuple[str, str],
) -> bool:
    """Write `notes` to `path`, each with its `mods[guid]` and each note type with its
    `type_mods[kind]`, code highlighted in `styles` (light, dark). Returns False, and
    leaves the file untouched, when it already holds exactly these bytes."""
    with Staged() as staged:
        written, _ = staged.write_with(
            path, lambda file: write_package_to(file, InMemory(notes), mods, type_mods, styles)
        )
        staged.commit()
    return written


def package_inputs(
    notes: Iterable[tuple[str, str, str, int, Sequence[tuple[str, str]]]],
    type_mods: Mapping[str, int],
    styles: tuple[str, str],
) -> str:
    """A hash of everything `write_package_to` builds from, given each note as (kind, GUID,
    content hash (`state.content_hash`), mod, media files as (name, path)); media files
    count by their names, which hash their bytes. Equal hashes, equal packages (for one
    version of ankiqa: see `cache`)."""
    digest = hashlib.sha256(json.dumps([sorted(type_mods.items()), styles]).encode("utf-8"))
    encoder = json.JSONEncoder(ensure_ascii=False)  # made once: quicker
    records = iter(notes)
    while chunk := list(itertools.islice(records, 1000)):  # one call a chunk: quicker
        digest.update(encoder.encode(chunk).encode("utf-8"))
    return digest.hexdigest()


def write_package_to(
    file: BinaryIO,
    notes: PackageNotes,
    mods: Mapping[str, int],
    type_mods: Mapping[str, int],
    styles: tuple[str, str],
) -> None:
    """Write the `.apkg` holding `notes` to `file`, a block at a time, reading the notes
    as it writes them: the notes and the collection of a large deck are on disk (see
    `spool`), never whole in memory. The same arguments always give the same bytes."""
    models = {kind: NOTE_TYPES[kind].model(mod, styles) for kind, mod in type_mods.items()}
    timestamp = max([*type_mods.values(), *mods.values()])
    media: dict[str, Path] = {}
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "collection.anki2"
        connection = sqlite3.connect(database)
        # A temporary file, zipped next: no need to wait for the disk (the same bytes).
        connection.execute("pragma synchronous = off")
        try:
            ids = itertools.count(timestamp * 1000)
            cursor = connection.cursor()
            _write_decks_and_note_types(cursor, notes.kinds_by_deck(), models, timestamp)
            for note in notes.in_deck_order():
                genanki_note = _StampedNote(
                    mods[note.guid],
                    model=models[note.note_type.kind],
                    fields=list(note.fields),
                    tags=list(note.tags),
                    guid=note.guid,
                )
                genanki_note.write_to_db(cursor, timestamp, deck_id(note.deck), ids)
                media.update((file.name, file.path) for file in note.media)
            connection.commit()
        finally:
            connection.close()

        names = sorted(media)
        with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as archive:
            _add_file(archive, "collection.anki2", database)
            listing = json.dumps({str(i): n for i, n in enumerate(names)}).encode()
            _add(archive, "media", listing)
            for index, name in enumerate(names):
                _add_file(archive, str(index), media[name])


def _write_decks_and_note_types(
    cursor: sqlite3.Cursor,
    kinds_by_deck: dict[str, list[str]],
    models: dict[str, genanki.Model],
    timestamp: int,
) -> None:
    """What genanki's Package.write_to_db writes before the notes, with the decks and note
    types written once: genanki rewrites both JSON columns once per deck, quadratic in the
    decks (a project of 10,000 deck files took minutes to export with -o)."""
    cursor.executescript(APKG_SCHEMA)
    cursor.executescript(APKG_COL)
    decks_json = json.loads(cursor.execute("SELECT decks FROM col").fetchone()[0])
    models_json = json.loads(cursor.execute("SELECT models FROM col").fetchone()[0])
    # In genanki's order: a note type's `did` is the last deck's that has notes of it.
    for name, kinds in kinds_by_deck.items():
        deck = genanki.Deck(deck_id(name), name)
        decks_json[str(deck.deck_id)] = deck.to_json()
        for kind in kinds:
            model = models[kind]
            models_json[str(model.model_id)] = model.to_json(timestamp, deck.deck_id)
    cursor.execute("UPDATE col SET decks = ?", (json.dumps(decks_json),))
    cursor.execute("UPDATE col SET models = ?", (json.dumps(models_json),))


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    archive.writestr(_entry(name), data)


def _add_file(archive: zipfile.ZipFile, name: str, path: Path) -> None:
    """As `_add` with the file's bytes, which are read a block at a time (`writestr` sets
    the size before writing, and so is this entry's: the same bytes either way)."""
    entry = _entry(name)
    entry.file_size = path.stat().st_size
    with open(path, "rb") as source, archive.open(entry, "w") as target:
        shutil.copyfileobj(source, target, BLOCK)


def _entry(name: str) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.create_system = 3  # the same bytes whichever system writes them
    entry.external_attr = 0o644 << 16
    return entry


class Model(genanki.Model):
    """A genanki Model that carries its own `mod`, so an unchanged note type keeps its
    timestamp and Anki leaves the user's copy alone."""

    def __init__(self, note_type: NoteType, mod: int | None, styles: tuple[str, str]):
        super().__init__(
            note_type.id,
            note_type.name,
            fields=[{"name": field.name, "id": field.id} for field in note_type.fields],
            templates=[
                {"name": t.name, "id": t.id, "qfmt": t.front, "afmt": t.back}
                for t in note_type.templates
            ],
            css=note_type.css(styles),
            model_type=genanki.Model.CLOZE if note_type.cloze else genanki.Model.FRONT_BACK,
        )
        self.mod = mod

    def to_json(self, timestamp: float, deck_id: int) -> dict:
        return super().to_json(timestamp if self.mod is None else self.mod, deck_id)
