"""What changed between two packages, or between a package and the Markdown: by question id."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import IO

import zstandard

from .cache import default_folder as default_cache_folder
from .notes import NoteData
from .project import DEFAULT_DECKS, checked_notes, load_project

MAX_COLLECTION_BYTES = 1 << 30


class PackageError(Exception):
    """A file that is not a package ankiqa can read."""


@dataclass(frozen=True)
class NoteSummary:
    """A note as a diff sees it: identity, a title for people, and its content."""

    question_id: str
    title: str
    content: tuple  # fields, tags and deck: what an import would change

    @classmethod
    def of(cls, fields: Iterable[str], tags: Iterable[str], deck: str) -> NoteSummary:
        """From a note's fields (ankiqa's note types end with the Question ID field)."""
        fields = tuple(fields)
        question_id = plain_text(fields[-1]) if len(fields) > 1 else ""
        return cls(question_id, plain_text(fields[0]), (fields, tuple(sorted(tags)), deck))

    def to_json(self) -> dict:
        return {"id": self.question_id, "title": self.title}


@dataclass
class Diff:
    added: list[NoteSummary] = field(default_factory=list)
    changed: list[NoteSummary] = field(default_factory=list)
    removed: list[NoteSummary] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def to_json(self) -> dict:
        return {
            kind: [note.to_json() for note in getattr(self, kind)]
            for kind in ("added", "changed", "removed")
        }


def diff_notes(old: dict[str, NoteSummary], new: dict[str, NoteSummary]) -> Diff:
    """Compare two sets of notes keyed by GUID; each list is sorted by question id."""

    def by_id(guids: Iterable[str], side: dict[str, NoteSummary]) -> list[NoteSummary]:
        return sorted((side[guid] for guid in guids), key=lambda note: note.question_id)

    return Diff(
        added=by_id(new.keys() - old.keys(), new),
        changed=by_id(
            (g for g in new.keys() & old.keys() if new[g].content != old[g].content), new
        ),
        removed=by_id(old.keys() - new.keys(), old),
    )


def compare(old: Path, new: Path | Sequence[Path] = (DEFAULT_DECKS,)) -> Diff:
    """Compare package `old` with package `new`, or with what the deck files `new` build now.

    Raises PackageError for an unreadable package and DeckError for deck files with errors.
    """
    if isinstance(new, (str, Path)):
        new = [new]
    if len(new) == 1 and Path(new[0]).suffix == ".apkg":
        return diff_notes(read_package(old), read_package(Path(new[0])))
    cache = default_cache_folder()
    built = [note for _, notes in checked_notes(load_project(new, cache), cache) for note in notes]
    return diff_notes(read_package(old), summarize(built))


def summarize(notes: Iterable[NoteData]) -> dict[str, NoteSummary]:
    """Notes built from Markdown, as a diff sees them."""
    return {note.guid: NoteSummary.of(note.fields, note.tags, note.deck) for note in notes}


def read_package(path: Path) -> dict[str, NoteSummary]:
    """The notes of an `.apkg` file, as a diff sees them. Raises PackageError for anything
    else: a folder, a pipe, a zip that is not a package, a collection bigger than
    MAX_COLLECTION_BYTES unpacked (a zip bomb), a collection it cannot read."""
    if not path.is_file():  # a FIFO would block the read for ever
        raise PackageError(f"{path}: not a file")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            # Current Anki writes the collection zstd-compressed as `collection.anki21b`,
            # beside a placeholder `collection.anki2` whose one note says to update Anki.
            inner = next((n for n in _COLLECTIONS if n in names), None)
            if inner is None:
                raise PackageError(f"{path}: no collection inside; is it an Anki package?")
            if archive.getinfo(inner).file_size > MAX_COLLECTION_BYTES:
                raise PackageError(f"{path}: its collection unpacks to more than 1 GiB")
            with tempfile.TemporaryDirectory() as folder:
                database = Path(folder) / "collection.sqlite"
                with archive.open(inner) as packed, database.open("wb") as unpacked:
                    reader = _zstd_reader(packed) if inner.endswith("b") else packed
                    _copy_at_most(reader, unpacked, MAX_COLLECTION_BYTES, path)
                return _read_collection(database)
    except (
        OSError,
        EOFError,
        zipfile.BadZipFile,
        NotImplementedError,
        sqlite3.Error,
        zstandard.ZstdError,
    ) as error:
        raise PackageError(f"{path}: cannot read package ({error})") from None
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise PackageError(f"{path}: not a collection ankiqa can read ({error})") from None


_COLLECTIONS = ("collection.anki21b", "collection.anki21", "collection.anki2")


def _zstd_reader(packed: IO[bytes]) -> IO[bytes]:
    return zstandard.ZstdDecompressor().stream_reader(packed)


def _copy_at_most(reader: IO[bytes], writer: IO[bytes], limit: int, path: Path) -> None:
    copied = 0
    while block := reader.read(1 << 20):
        copied += len(block)
        if copied > limit:  # a zstd frame need not say its size: counted here
            raise PackageError(f"{path}: its collection unpacks to more than 1 GiB")
        writer.write(block)


def _read_collection(database: Path) -> dict[str, NoteSummary]:
    connection = sqlite3.connect(database)
    try:
        (decks_json,) = connection.execute("select decks from col").fetchone()
        if decks_json:  # the schema genanki and older Anki write
            decks = json.loads(decks_json).items()
            deck_names = {int(deck_id): deck["name"] for deck_id, deck in decks}
        else:  # current Anki's: a table, with `\x1f` between the levels of a name
            deck_rows = connection.execute("select id, name from decks").fetchall()
            deck_names = {deck_id: name.replace("\x1f", "::") for deck_id, name in deck_rows}
        rows = connection.execute(
            "select notes.guid, notes.flds, notes.tags, min(cards.did)"
            " from notes join cards on cards.nid = notes.id group by notes.id"
        ).fetchall()
    finally:
        connection.close()
    return {
        guid: NoteSummary.of(flds.split("\x1f"), tags.split(), deck_names.get(deck_id, ""))
        for guid, flds, tags, deck_id in rows
    }


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def plain_text(field_html: str) -> str:
    parser = _TextOnly()
    parser.feed(field_html)
    parser.close()
    return " ".join("".join(parser.text).split())
