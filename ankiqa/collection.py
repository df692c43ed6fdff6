"""The user's Anki collection, through Anki's own backend (the optional `anki` package):
opened as Anki opens it, read, imported into with Anki's import rules, backed up."""

from __future__ import annotations

import hashlib
import json
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .notes import NoteData
from .notetypes import NOTE_TYPES, NoteType
from .package import write_package

if TYPE_CHECKING:
    from anki.collection import Collection
    from anki.dbproxy import DBProxy

INSTALL_HINT = "pip install 'ankiqa[anki]'"
# Tags Anki gives notes itself (Browse > Mark, leeches): not the Markdown's, never an edit.
ANKI_TAGS = frozenset({"marked", "leech"})
_SQLITE_HEADER = b"SQLite format 3\x00"


class PushError(Exception):
    """A push that could not be done."""


class AnkiMissing(PushError):
    def __init__(self) -> None:
        super().__init__(f"this needs the official Anki package: {INSTALL_HINT}")


class CollectionLocked(PushError):
    """Anki (or another program) has the collection open."""


class NotACollection(PushError):
    pass


@dataclass(frozen=True)
class InAnki:
    """A note as the collection holds it."""

    id: int
    notetype_id: int
    mod: int
    fields: tuple[str, ...]
    tags: tuple[str, ...]

    @property
    def content(self) -> str:
        return anki_content(self.fields, self.tags)


def anki_content(fields: Iterable[str], tags: Iterable[str]) -> str:
    """A hash of a note's fields and tags as Anki compares them: Unicode NFC, tags in any
    case and order, Anki's own tags left out."""
    folded = sorted({tag.casefold() for tag in tags} - ANKI_TAGS)
    canonical = json.dumps([[unicodedata.normalize("NFC", f) for f in fields], folded])
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]


@contextmanager
def opened(path: Path) -> Iterator[Collection]:
    """The collection, open; CollectionLocked when Anki has it open."""
    try:
        from anki.collection import Collection
        from anki.errors import DBError
    except ImportError:
        raise AnkiMissing() from None
    with open(path, "rb") as file:  # the backend would make any other file a new collection
        if file.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
            raise NotACollection(f"{path}: not an Anki collection")
    try:
        col = Collection(str(path))
    except DBError as error:
        if "already open" in str(error):
            raise CollectionLocked(
                f"{path} is open in Anki: close Anki (or switch it to another profile),"
                " then push again"
            ) from None
        raise NotACollection(f"{path}: not an Anki collection ({error})") from None
    try:
        yield col
    finally:
        col.close()


def require_anki() -> None:
    try:
        import anki.collection  # noqa: F401
    except ImportError:
        raise AnkiMissing() from None


def notes_in_anki(col: Collection) -> dict[str, InAnki]:
    """Every note of the collection, by GUID."""
    found = {}
    rows = db(col).execute("select id, guid, mid, mod, flds, tags from notes")
    for note_id, guid, notetype_id, mod, fields, tags in rows:
        found[guid] = InAnki(note_id, notetype_id, mod, tuple(fields.split("\x1f")), tags.split())
    return found


def changed_note_types(col: Collection) -> list[NoteType]:
    """ankiqa's note types whose fields or card types were added, removed or reordered in
    Anki: an import would copy them ("ankiqa Q&A+") and leave every note behind."""
    changed = []
    for note_type in NOTE_TYPES.values():
        there = col.models.get(note_type.id)  # type: ignore[arg-type]
        if there is None:
            continue
        fields = [field.get("id") or field["name"] for field in there["flds"]]
        templates = [template.get("id") or template["name"] for template in there["tmpls"]]
        if fields != [field.id for field in note_type.fields] or templates != [
            template.id for template in note_type.templates
        ]:
            changed.append(note_type)
    return changed


def note_type_mod(col: Collection, note_type: NoteType) -> int | None:
    there = col.models.get(note_type.id)  # type: ignore[arg-type]
    return None if there is None else there["mod"]


@dataclass(frozen=True)
class ImportLog:
    """The question ids (as the `Question ID` field holds them) Anki did not update."""

    duplicate: frozenset[str]
    conflicting: frozenset[str]


def import_notes(
    col: Collection,
    notes: list[NoteData],
    mods: Mapping[str, int],
    type_mods: Mapping[str, int],
    styles: tuple[str, str],
) -> ImportLog:
    """Import the notes as one package, as Anki desktop does with its default options:
    notes and note types updated if the package's are newer, never merged."""
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest
    from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition

    condition = ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER
    options = ImportAnkiPackageOptions(
        update_notes=condition,
        update_notetypes=condition,
        merge_notetypes=False,  # a merge can change the schema: the next sync would be full
        with_scheduling=False,
        with_deck_configs=False,
    )
    with tempfile.TemporaryDirectory(prefix="ankiqa-push-") as folder:
        package = Path(folder) / "push.apkg"
        write_package(notes, package, mods, type_mods, styles)
        request = ImportAnkiPackageRequest(package_path=str(package), options=options)
        log = col.import_anki_package(request).log
    col.models._clear_cache()  # the Python-side note-type cache is stale after an import
    # The log's note ids are the package's for conflicting notes: the id field says which.
    return ImportLog(
        frozenset(entry.fields[-1] for entry in log.duplicate),
        frozenset(entry.fields[-1] for entry in log.conflicting),
    )


def backup(col: Collection, folder: Path) -> Path:
    """Write a backup Anki can restore (File > Switch Profile > Open Backup)."""
    folder.mkdir(parents=True, exist_ok=True)
    col.create_backup(backup_folder=str(folder), force=True, wait_for_completion=True)
    backups = sorted(folder.glob("*.colpkg"), key=lambda p: p.stat().st_mtime)
    if not backups:
        raise PushError(f"could not write a backup to {folder}: nothing was changed")
    return backups[-1]


def add_tags(col: Collection, note_ids: list[int], tags: str) -> None:
    from anki.notes import NoteId  # after anki.collection: anki's own import order

    col.tags.bulk_add([NoteId(note_id) for note_id in note_ids], tags)


def remove_notes(col: Collection, note_ids: list[int]) -> None:
    """Delete notes as Anki's browser does: the deletions reach other devices by sync."""
    from anki.notes import NoteId  # after anki.collection: anki's own import order

    col.remove_notes([NoteId(note_id) for note_id in note_ids])


def db(col: Collection) -> DBProxy:
    if col.db is None:
        raise PushError("the collection was closed")
    return col.db
