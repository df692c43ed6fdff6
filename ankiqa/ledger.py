"""What ankiqa exported for each note, kept where git cannot rewind it.

The build state lives in the project, in git. `git revert`, or a merge that takes the
other side, brings back an older state together with older Markdown: ankiqa would then
give the older content its older `mod`, and Anki, holding a newer note, would ignore it,
silently. So every export also records, per note, the content hash and `mod` it wrote,
in the user's data folder; a note whose content differs from what was last exported for
it always gets a `mod` later than that one.

Deleting the ledger only loses that protection. It is written before the packages, so a
kill between writing the packages and the build state cannot give two contents one `mod`.

`push` records here, per collection, what each note held when push last left it (see
`push`): how it tells an edit made in Anki from its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .places import user_folder

LEDGER_ENV = "ANKIQA_DATA_DIR"
LEDGER_FILE = "exported.sqlite"


def default_folder() -> Path:
    """`$ANKIQA_DATA_DIR`, else the platform's folder for an application's data."""
    return user_folder("ankiqa", LEDGER_ENV, "XDG_DATA_HOME", Path.home() / ".local" / "share")


@dataclass(frozen=True)
class Pushed:
    """A note as push last left it in a collection."""

    anki_content: str  # see `collection.anki_content`: what the collection held then
    content: str  # the Markdown's content hash (see `state.content_hash`)
    file: str  # the deck file it came from, resolved


class Ledger:
    """The last content hash and `mod` exported per note GUID. Use it in a `with` block;
    one that cannot be opened or written holds nothing (the export still works)."""

    def __init__(self, folder: Path | None):
        self._db: sqlite3.Connection | None = None
        self.last: dict[str, tuple[str, int]] = {}
        if folder is None:
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(folder / LEDGER_FILE, timeout=30)
            db.execute(
                "create table if not exists exported (guid text primary key, hash text, mod int)"
            )
            db.execute(
                "create table if not exists pushed (collection text, guid text,"
                " anki_content text, content text, file text, primary key (collection, guid))"
            )
            rows = db.execute("select guid, hash, mod from exported").fetchall()
            self.last = {
                guid: (content, mod)
                for guid, content, mod in rows
                if isinstance(content, str) and type(mod) is int
            }
            self._db = db
        except (OSError, sqlite3.Error):
            return

    def later_mod(self, guid: str, content_hash: str, mod: int) -> int:
        """`mod`, or a later one if this content is not what was last exported for the
        note and that export's `mod` is not earlier."""
        last = self.last.get(guid)
        if last is not None and last[0] != content_hash and last[1] >= mod:
            return last[1] + 1
        return mod

    def record(self, exported: Iterable[tuple[str, str, int]]) -> None:
        """Remember (guid, content hash, mod) of notes about to be written."""
        if self._db is None:
            return
        changed = [row for row in exported if self.last.get(row[0]) != row[1:]]
        try:
            self._db.executemany("insert or replace into exported values (?, ?, ?)", changed)
            self._db.commit()
        except sqlite3.Error:
            return

    def pushed(self, collection: str) -> dict[str, Pushed]:
        """What push last left in the collection (its resolved path), by GUID."""
        if self._db is None:
            return {}
        try:
            rows = self._db.execute(
                "select guid, anki_content, content, file from pushed where collection = ?",
                (collection,),
            ).fetchall()
        except sqlite3.Error:
            return {}
        return {
            guid: Pushed(*values)
            for guid, *values in rows
            if all(isinstance(value, str) for value in values)
        }

    def record_pushed(self, collection: str, pushed: Iterable[tuple[str, Pushed]]) -> None:
        if self._db is None:
            return
        rows = [(collection, guid, p.anki_content, p.content, p.file) for guid, p in pushed]
        try:
            self._db.executemany("insert or replace into pushed values (?, ?, ?, ?, ?)", rows)
            self._db.commit()
        except sqlite3.Error:
            return

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exception: object) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
