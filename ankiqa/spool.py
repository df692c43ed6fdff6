"""Rendered notes kept on disk until their package is written, so that an export holds
few of them in memory however large a deck file is (a 50 MB file has 100,000 notes)."""

from __future__ import annotations

import marshal
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .notes import MediaFile, NoteData
from .notetypes import NOTE_TYPES, NoteType


class PackedNote(Protocol):
    """What a package holds of a note (`NoteData` has it too)."""

    @property
    def guid(self) -> str: ...
    @property
    def note_type(self) -> NoteType: ...
    @property
    def deck(self) -> str: ...
    @property
    def fields(self) -> tuple[str, ...]: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def media(self) -> tuple[MediaFile, ...]: ...


class PackageNotes(Protocol):
    """A package's notes, as the package writer reads them (see `package`)."""

    def kinds_by_deck(self) -> dict[str, list[str]]:
        """The decks in the order their first notes come, each with its notes' kinds in
        the same order: what genanki writes the decks and note types from."""
        ...

    def in_deck_order(self) -> Iterator[PackedNote]:
        """The notes, a deck after the other in that order, each deck's in their order."""
        ...


@dataclass(frozen=True)
class SpooledNote:
    guid: str
    note_type: NoteType
    deck: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    media: tuple[MediaFile, ...]


class InMemory:
    """A list of notes, read as `PackageNotes`."""

    def __init__(self, notes: Sequence[PackedNote]):
        self._notes = notes

    def kinds_by_deck(self) -> dict[str, list[str]]:
        kinds: dict[str, dict[str, None]] = {}
        for note in self._notes:
            kinds.setdefault(note.deck, {})[note.note_type.kind] = None
        return {deck: list(found) for deck, found in kinds.items()}

    def in_deck_order(self) -> Iterator[PackedNote]:
        decks: dict[str, list[PackedNote]] = {}
        for note in self._notes:
            decks.setdefault(note.deck, []).append(note)
        for notes in decks.values():
            yield from notes


class NoteSpool:
    """Notes added a few at a time, kept in a temporary SQLite file (made with the first
    note). `close` removes it.

    A note's fields, tags and media are one `marshal` record: read back by this process
    alone, and 5 times quicker to read than JSON. The decks and their notes' kinds are
    kept in memory (a few per deck), and whether each deck's notes came together, as they
    do when a deck is a file: then the notes are read in the order they were added, which
    SQLite need not sort."""

    def __init__(self) -> None:
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._db = sqlite3.connect(":memory:")  # until the first note
        self._count = 0
        self._kinds: dict[str, dict[str, None]] = {}
        self._last_deck: str | None = None
        self._grouped = True

    def _open(self) -> None:
        self._db.close()
        self._folder = tempfile.TemporaryDirectory(prefix="ankiqa-notes-")
        self._db = sqlite3.connect(Path(self._folder.name) / "notes.sqlite")
        self._db.execute(
            "create table notes (number integer primary key, deck text, kind text, guid text,"
            " record blob)"
        )

    def add(self, notes: Iterable[NoteData]) -> None:
        if self._folder is None:
            self._open()
        rows = []
        for note in notes:
            media = tuple((file.name, str(file.path)) for file in note.media)
            record = marshal.dumps((note.fields, note.tags, media))
            rows.append((note.deck, note.note_type.kind, note.guid, record))
            if note.deck != self._last_deck and note.deck in self._kinds:
                self._grouped = False  # a deck's notes after another's
            self._last_deck = note.deck
            self._kinds.setdefault(note.deck, {})[note.note_type.kind] = None
        self._db.executemany(
            "insert into notes (deck, kind, guid, record) values (?, ?, ?, ?)", rows
        )
        self._count += len(rows)

    def __len__(self) -> int:
        return self._count

    def kinds_by_deck(self) -> dict[str, list[str]]:
        return {deck: list(kinds) for deck, kinds in self._kinds.items()}

    def in_deck_order(self) -> Iterator[SpooledNote]:
        query = "select deck, kind, guid, record from notes order by number"
        if not self._grouped:
            query = (
                "select deck, kind, guid, record from notes join"
                " (select deck, min(number) as first from notes group by deck) using (deck)"
                " order by first, number"
            )
        for deck, kind, guid, record in self._db.execute(query):
            fields, tags, media = marshal.loads(record)
            yield SpooledNote(
                guid,
                NOTE_TYPES[kind],
                deck,
                fields,
                tags,
                tuple(MediaFile(name, Path(path)) for name, path in media),
            )

    def decks(self) -> list[str]:
        return list(self._kinds)

    def close(self) -> None:
        """Remove the spool; closing it again does nothing."""
        self._db.close()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None
