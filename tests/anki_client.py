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
