"""Notes → an `.apkg` file: genanki writes the collection, this module zips it.

The zip is DEFLATE-compressed (genanki stores it uncompressed, 3.5 times larger), has
its entries in a fixed order with fixed times, and is written to a temporary file
that replaces the target only when complete: an error or an interrupt never leaves a
partial package. The same notes with the same timestamps give the same bytes.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import genanki

from .notes import NoteData, deck_id
from .notetype import NoteType

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class _StampedNote(genanki.Note):
    """A genanki Note written with its own `mod` instead of the package's timestamp."""

    def __init__(self, mod: int, **kwargs):
        super().__init__(**kwargs)
        self.mod = mod

    def write_to_db(self, cursor, timestamp: float, deck_id: int, id_gen) -> None:
        super().write_to_db(cursor, self.mod, deck_id, id_gen)


def write_package(
    notes: Sequence[NoteData], path: Path, mods: Mapping[str, int], notetype_mod: int
) -> bool:
    """Write `notes` to `path`, each with its `mods[guid]`. Returns False, and leaves the
    file untouched, when it already holds exactly these bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        _write_zip(notes, Path(temporary), mods, notetype_mod)
        if path.is_file() and _same_bytes(path, Path(temporary)):
            return False
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp made it private
        os.replace(temporary, path)
        return True
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _write_zip(
    notes: Sequence[NoteData], target: Path, mods: Mapping[str, int], notetype_mod: int
) -> None:
    note_type = NoteType(mod=notetype_mod)
    decks: dict[str, genanki.Deck] = {}
    media = {}
    for note in notes:
        if note.deck not in decks:
            decks[note.deck] = genanki.Deck(deck_id(note.deck), note.deck)
        decks[note.deck].add_note(
            _StampedNote(
                mods[note.guid],
                model=note_type,
                fields=list(note.fields),
                tags=list(note.tags),
                guid=note.guid,
            )
        )
        media.update((file.name, file.path) for file in note.media)
    timestamp = max([notetype_mod, *mods.values()])

    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "collection.anki2"
        connection = sqlite3.connect(database)
        try:
            ids = itertools.count(timestamp * 1000)
            genanki.Package(list(decks.values())).write_to_db(connection.cursor(), timestamp, ids)
            connection.commit()
        finally:
            connection.close()

        names = sorted(media)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            _add(archive, "collection.anki2", database.read_bytes())
            _add(archive, "media", json.dumps({str(i): n for i, n in enumerate(names)}).encode())
            for index, name in enumerate(names):
                _add(archive, str(index), media[name].read_bytes())


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    entry = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.create_system = 3  # the same bytes whichever system writes them
    entry.external_attr = 0o644 << 16
    archive.writestr(entry, data)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _same_bytes(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
