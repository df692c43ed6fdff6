"""Notes → an `.apkg` file: a collection as genanki writes it, zipped.

genanki gives the collection's schema, decks and note types, and which cards a note has;
the notes' and cards' rows are built here, as genanki builds them but cheaper.

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
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
_ZIP_LEVEL = 4


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
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "collection.anki2"
        connection = sqlite3.connect(database)
        # A temporary file, zipped next: no need to wait for the disk (the same bytes).
        connection.execute("pragma synchronous = off")
        try:
            ids = itertools.count(timestamp * 1000)
            cursor = connection.cursor()
            kinds_by_deck = notes.kinds_by_deck()
            _write_decks_and_note_types(cursor, kinds_by_deck, models, timestamp)
            media = _write_notes(cursor, notes, kinds_by_deck, models, mods, ids)
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


def _write_notes(
    cursor: sqlite3.Cursor,
    notes: PackageNotes,
    decks: Iterable[str],
    models: Mapping[str, genanki.Model],
    mods: Mapping[str, int],
    ids: Iterator[int],
) -> dict[str, Path]:
    """Insert the rows that genanki's Note.write_to_db and Card.write_to_db would, in their
    order, without a genanki Note per note, which cost a third of writing a package
    (tests/test_reproducible.py checks the bytes against genanki's). Returns the notes'
    media files by name."""
    deck_ids = {name: deck_id(name) for name in decks}
    cards = {kind: _cards(model) for kind, model in models.items()}
    media: dict[str, Path] = {}
    for note in notes.in_deck_order():
        model, mod, note_id = models[note.note_type.kind], mods[note.guid], next(ids)
        fields = note.fields
        tags = " " + " ".join(note.tags) + " "
        sort_field = fields[model.sort_field_index]
        flds = "\x1f".join(fields)
        cursor.execute(_NOTE, (note_id, note.guid, model.model_id, mod, tags, flds, sort_field))
        for ord_ in cards[note.note_type.kind](fields):
            cursor.execute(_CARD, (next(ids), note_id, deck_ids[note.deck], ord_, mod))
        media.update((file.name, file.path) for file in note.media)
    return media


# id, guid, mid, mod; usn; tags, flds, sfld; csum, flags, data: as genanki writes them
_NOTE = "insert into notes values (?, ?, ?, ?, -1, ?, ?, ?, 0, 0, '')"
# id, nid, did, ord, mod; usn, type, queue, due and the rest: as genanki writes them
_CARD = "insert into cards values (?, ?, ?, ?, ?, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '')"


def _cards(model: genanki.Model) -> Callable[[Sequence[str]], list[int]]:
    """What gives the `ord`s of the cards genanki makes of a note's fields, in its order."""
    if model.model_type == genanki.Model.CLOZE:
        # The {{cN::…}} numbers as genanki reads them, in its order (12 µs a note)
        return lambda fields: [card.ord for card in genanki.Note(model, list(fields)).cards]
    # A card for each template whose required fields, which genanki finds from the
    # template once per note type (its `req`), are filled.
    required = [(ord_, all if rule == "all" else any, needed) for ord_, rule, needed in model._req]
    return lambda fields: [
        ord_ for ord_, test, needed in required if test(fields[i] for i in needed)
    ]


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
    # Level 4 rather than zlib's default 6: on a 21 MB collection, 0.19 s instead of 0.34 s
    # for 5% more bytes. The one way to set a level for an entry written a block at a time.
    if sys.version_info >= (3, 13):
        entry.compress_level = _ZIP_LEVEL
    else:  # private before 3.13
        entry._compresslevel = _ZIP_LEVEL  # type: ignore[attr-defined]
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
