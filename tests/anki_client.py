"""The official Anki client, headless: the judge of every package these tests build."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest


@dataclass(frozen=True)
class ImportCounts:
    new: int
    updated: int
    duplicate: int
    conflicting: int


def open_collection(folder: Path) -> Collection:
    folder.mkdir(parents=True, exist_ok=True)
    return Collection(str(folder / "collection.anki2"))


def import_package(col: Collection, apkg: Path) -> ImportCounts:
    """Import as Anki desktop does with its default options (update notes "if newer")."""
    request = ImportAnkiPackageRequest(package_path=str(apkg), options=ImportAnkiPackageOptions())
    log = col.import_anki_package(request).log
    col.models._clear_cache()  # the Python-side note-type cache is stale after an import
    return ImportCounts(len(log.new), len(log.updated), len(log.duplicate), len(log.conflicting))


def notes_by_guid(col: Collection) -> dict[str, dict]:
    """Every note as {"fields": {...}, "tags": [...], "mod": ..., "deck": ...}, by GUID."""
    result = {}
    for note_id in col.find_notes(""):
        note = col.get_note(note_id)
        card = note.cards()[0]
        result[note.guid] = {
            "fields": dict(note.items()),
            "tags": note.tags,
            "mod": note.mod,
            "deck": col.decks.name(card.did),
            "notetype": note.note_type()["name"],
        }
    return result


def review(col: Collection, card_id: int, ease: int = 3) -> None:
    card = col.get_card(card_id)
    card.start_timer()
    col.sched.answerCard(card, ease)


def card_history(col: Collection, card_id: int) -> tuple:
    """What a re-import must never change: scheduling state and the review log."""
    card = col.get_card(card_id)
    revlog = col.db.all("select id, ease, ivl, lastIvl, type from revlog where cid=?", card_id)
    return (card.did, card.type, card.queue, card.due, card.ivl, card.factor, card.reps, revlog)


@dataclass(frozen=True)
class ImportLog:
    """The note ids an import reported in each category."""

    new: tuple[int, ...]
    updated: tuple[int, ...]
    duplicate: tuple[int, ...]
    conflicting: tuple[int, ...]

    def counts(self) -> ImportCounts:
        return ImportCounts(
            len(self.new), len(self.updated), len(self.duplicate), len(self.conflicting)
        )


def import_package_log(col: Collection, apkg: Path) -> ImportLog:
    """Like `import_package`, but says which notes were new, updated, duplicate or conflicting."""
    request = ImportAnkiPackageRequest(package_path=str(apkg), options=ImportAnkiPackageOptions())
    log = col.import_anki_package(request).log
    col.models._clear_cache()

    def ids(entries) -> tuple[int, ...]:
        return tuple(entry.id.nid for entry in entries)

    return ImportLog(ids(log.new), ids(log.updated), ids(log.duplicate), ids(log.conflicting))


def note_id(col: Collection, guid: str) -> int:
    return col.db.scalar("select id from notes where guid = ?", guid)


def card_id(col: Collection, guid: str) -> int:
    """The card of a one-card note, found by the note's GUID."""
    query = "select c.id from cards c join notes n on c.nid = n.id where n.guid = ?"
    return col.db.scalar(query, guid)


def notetype_schema(col: Collection, notetype_id: int) -> dict:
    """What Anki matches a note type's notes by: its id and name, and its fields' and
    templates' names, ids and order, as the collection stores them."""
    notetype = col.models.get(notetype_id)
    return {
        "id": notetype["id"],
        "name": notetype["name"],
        "fields": [(f["ord"], f["name"], f["id"]) for f in notetype["flds"]],
        "templates": [(t["ord"], t["name"], t["id"]) for t in notetype["tmpls"]],
    }


def import_into_fresh_collection(apkg: Path, folder: Path) -> tuple[ImportCounts, dict[str, dict]]:
    """Import a package into a new collection in `folder`: the import log's counts, and
    every note read back (see `notes_by_guid`)."""
    col = open_collection(folder)
    try:
        return import_package(col, apkg), notes_by_guid(col)
    finally:
        col.close()
