"""`push`: deck files straight into the user's Anki collection, and on to the phone.

A push builds the notes as `export` does and imports them through Anki's own backend
(the optional `anki` package), with Anki's import rules: a note is matched by its GUID,
its cards and their review history are never touched. Before importing, every note is
compared with the collection's copy and with ankiqa's record of what it last gave that
note (the `ledger`, or the build state when that is later):

- new: not in the collection. updated: the Markdown changed it. unchanged.
- kept: edited in Anki or on the phone (its `mod` there is later than ankiqa's record),
  and its Markdown is unchanged: it stays as the user left it.
- conflict: edited there and in the Markdown. It is left alone, and both versions are
  reported, unless `force`: then the Markdown's version wins.
- other type: the collection has this GUID with another note type, which an import
  cannot change.

With `delete_removed`, notes of questions gone from the Markdown are deleted: only notes
of ankiqa's note types whose GUID is the one their `Question ID` field gives, and only
after a backup of the collection. Anki records the deletions, so a sync takes them to the
other devices. A dry run does all the comparing and changes nothing.
"""

from __future__ import annotations

import difflib
import html
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import nh3

from .build import RemovedQuestion, ids_in_deck_files, removed_questions, stamp
from .cache import default_folder as default_cache_folder
from .diagnostics import WARNING, Diagnostic
from .ledger import Ledger
from .ledger import default_folder as default_ledger_folder
from .notes import NoteData, id_field, note_guid
from .notetypes import NOTE_TYPES
from .package import write_package
from .parse import Question
from .profiles import find_collection
from .project import DEFAULT_DECKS, Project, Source, load_checked_project, project_notes
from .state import STATE_FILE, content_hash, note_type_hash, save_state
from .sync import Syncer, SyncReport

if TYPE_CHECKING:
    from anki.collection import Collection
    from anki.dbproxy import DBProxy

NEW, UPDATED, UNCHANGED, KEPT, CONFLICT, FORCED, OTHER_TYPE = (
    "new",
    "updated",
    "unchanged",
    "kept",
    "conflict",
    "forced",
    "other type",
)
_IMPORTED = (NEW, UPDATED, FORCED)
BACKUP_FOLDER = "backups"  # beside the collection, where Anki keeps a profile's backups
INSTALL_HINT = "pip install 'ankiqa[anki]'"


class PushError(Exception):
    """A push that could not be done; nothing was changed."""


class AnkiMissing(PushError):
    def __init__(self) -> None:
        super().__init__(f"push needs the official Anki package: {INSTALL_HINT}")


class CollectionLocked(PushError):
    pass


@dataclass(frozen=True)
class NoteOutcome:
    """What a push did to one question's note; for a conflict, both versions."""

    status: str
    question: Question
    anki_fields: dict[str, str] = field(default_factory=dict)
    markdown_fields: dict[str, str] = field(default_factory=dict)

    def conflict_diff(self) -> list[str]:
        """The fields' text as Anki has it (---) and as the Markdown gives it (+++)."""
        lines: list[str] = []
        for name, anki in self.anki_fields.items():
            ours = self.markdown_fields.get(name, "")
            lines += difflib.unified_diff(
                _text(anki), _text(ours), f"{name} in Anki", f"{name} in the Markdown", lineterm=""
            )
        return lines


@dataclass(frozen=True)
class DeletedNote:
    question_id: str
    file: Path  # where the question was last seen
    front: str  # the note's first field, as text
    note_id: int


@dataclass
class PushResult:
    collection: Path
    notes: list[NoteOutcome] = field(default_factory=list)
    deleted: list[DeletedNote] = field(default_factory=list)
    removed: list[RemovedQuestion] = field(default_factory=list)  # gone from the Markdown now
    note_types: list[str] = field(default_factory=list)  # whose templates or CSS are updated
    backup: Path | None = None
    syncs: list[SyncReport] = field(default_factory=list)
    dry_run: bool = False
    warnings: list[Diagnostic] = field(default_factory=list)  # those of `ankiqa check`
    notices: list[Diagnostic] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.notes)


@dataclass(frozen=True)
class _InAnki:
    """A note as the collection holds it."""

    id: int
    notetype_id: int
    mod: int
    fields: tuple[str, ...]
    tags: frozenset[str]


def push(
    paths: Sequence[Path] = (DEFAULT_DECKS,),
    collection: Path | None = None,
    profile: str | None = None,
    *,
    dry_run: bool = False,
    delete_removed: bool = False,
    force: bool = False,
    syncer: Syncer | None = None,
    before_delete: Callable[[list[DeletedNote]], bool] | None = None,
    now: int | None = None,
    use_cache: bool = True,
) -> PushResult:
    """Push deck files into an Anki collection: `collection`, else the `profile`'s,
    else the one Anki opened last (see `profiles`). With a `syncer`, sync before (to see
    the phone's edits) and after. `before_delete(notes)` may decline the deletions.

    Raises DeckError for errors in the Markdown, CollectionNotFound, PushError (nothing
    changed) and SyncRefused (see `sync`).
    """
    anki = _anki_collection_module()
    path = find_collection(collection, profile)
    cache_folder = default_cache_folder() if use_cache else None
    project = load_checked_project(paths, cache_folder)
    parts = list(project_notes(project, cache_folder))
    now = int(time.time()) if now is None else now
    result = PushResult(path, dry_run=dry_run, warnings=project.diagnostics)
    result.notices += [d for d in project.diagnostics if d.code == "cloze-removed"]

    with _opened(anki, path) as col:
        if syncer is not None and not dry_run:
            result.syncs.append(syncer.sync(col))
        guids = {note.guid for _, notes in parts for note in notes}
        in_anki = _notes_in_anki(col, guids)
        with Ledger(default_ledger_folder()) as ledger:
            stamped, type_mods = _plan(project, parts, in_anki, ledger, now, force, result)
            result.removed = removed_questions(project)
            doomed = _deletable(project, col) if delete_removed else []
            statuses = {outcome.question.id: outcome.status for outcome in result.notes}
            if dry_run:
                result.note_types = _due_note_types(col, type_mods)
                result.deleted = doomed
                return result
            if doomed and before_delete is not None and not before_delete(doomed):
                doomed = []
            result.note_types = _due_note_types(col, type_mods)
            imported = [
                (note, mod)
                for note, _, mod in stamped
                if statuses[note.question_id] in _IMPORTED
                # An import updates a note type only with notes of it: Anki skips the rest.
                or (
                    note.note_type.name in result.note_types
                    and statuses[note.question_id] != OTHER_TYPE
                )
            ]
            if imported or doomed:
                result.backup = _backup(col, path.parent / BACKUP_FOLDER)
            ledger.record((note.guid, content, mod) for note, content, mod in stamped)
        if imported:
            _import(col, imported, type_mods, project.settings.styles, result)
        if doomed:
            from anki.notes import NoteId  # after anki.collection: anki's own import order

            col.remove_notes([NoteId(note.note_id) for note in doomed])
            result.deleted = doomed
        if syncer is not None:
            result.syncs.append(syncer.sync(col))
    _save_states(project, result)
    return result


def _plan(
    project: Project,
    parts: list[tuple[Source, list[NoteData]]],
    in_anki: dict[str, _InAnki],
    ledger: Ledger,
    now: int,
    force: bool,
    result: PushResult,
) -> tuple[list[tuple[NoteData, str, int]], dict[str, int]]:
    """Sort every note into a status (see the module's docstring) and stamp the build state
    for all but conflicts, whose record must stay as it was until they are resolved.
    Returns the stamped notes with their content hash and `mod`, and each note type's."""
    styles = project.settings.styles
    type_hashes = {kind: note_type_hash(t, styles) for kind, t in NOTE_TYPES.items()}
    stamped = []
    type_mods: dict[str, int] = {}
    for source, notes in parts:
        state, file = project.states[source.root], source.relative.as_posix()
        for note in notes:
            there = in_anki.get(note.guid)
            entry = state.questions.get(note.question_id)
            recorded = (entry.hash, entry.mod) if entry else None
            last = _last_record(ledger.last.get(note.guid), recorded)
            status = _status(note, there, last, force)
            if status == CONFLICT:
                result.notes.append(_conflict(note, there))
                continue
            content, mod = stamp(note, state, ledger, file, now)
            if status == FORCED and there is not None and mod <= there.mod:
                mod = state.raise_mod(note.question_id, there.mod + 1)
            stamped.append((note, content, mod))
            result.notes.append(NoteOutcome(status, note.question))
            kind = note.note_type.kind
            type_mod = state.stamp_note_type(kind, type_hashes[kind], now)
            type_mods[kind] = max(type_mods.get(kind, 0), type_mod)
    return stamped, type_mods


def _last_record(*records: tuple[str | None, int] | None) -> tuple[str | None, int] | None:
    """The latest of ankiqa's records of a note: (content hash, `mod`)."""
    return max((r for r in records if r is not None), key=lambda record: record[1], default=None)


def _status(
    note: NoteData, there: _InAnki | None, last: tuple[str | None, int] | None, force: bool
) -> str:
    if there is None:
        return NEW
    if there.notetype_id != note.note_type.id:
        return OTHER_TYPE
    if _same(there, note):
        return UNCHANGED
    if last is None or there.mod <= last[1]:
        return UPDATED  # the collection holds what ankiqa gave it, or an older version
    if last[0] == content_hash(note):
        return KEPT
    return FORCED if force else CONFLICT


def _same(there: _InAnki, note: NoteData) -> bool:
    ours = tuple(_nfc(value) for value in note.fields)
    tags = frozenset(tag.casefold() for tag in note.tags)
    return there.fields == ours and there.tags == tags


def _conflict(note: NoteData, there: _InAnki | None) -> NoteOutcome:
    names = [field.name for field in note.note_type.fields]
    anki = dict(zip(names, there.fields if there else (), strict=False))
    ours = dict(zip(names, note.fields, strict=True))
    differing = [name for name in names if anki.get(name) != ours[name]]
    return NoteOutcome(
        CONFLICT,
        note.question,
        {name: anki.get(name, "") for name in differing},
        {name: ours[name] for name in differing},
    )


def _due_note_types(col: Collection, type_mods: dict[str, int]) -> list[str]:
    """The names of the note types whose `mod` is later than the collection's copy's: an
    import updates those (see `state` on when a note type gets a new `mod`)."""
    due = []
    for kind, mod in sorted(type_mods.items()):
        there = col.models.get(NOTE_TYPES[kind].id)  # type: ignore[arg-type]
        if there is None or there["mod"] < mod:
            due.append(NOTE_TYPES[kind].name)
    return due


def _notes_in_anki(col: Collection, guids: set[str]) -> dict[str, _InAnki]:
    """The collection's notes with these GUIDs."""
    found = {}
    rows = _db(col).execute("select id, guid, mid, mod, flds, tags from notes")
    for note_id, guid, notetype_id, mod, fields, tags in rows:
        if guid in guids:
            folded = frozenset(tag.casefold() for tag in tags.split())
            found[guid] = _InAnki(note_id, notetype_id, mod, tuple(fields.split("\x1f")), folded)
    return found


def _deletable(project: Project, col: Collection) -> list[DeletedNote]:
    """The notes of questions gone from the deck files read (see `removed_questions`)
    that are ankiqa's own: of its note types, with the GUID their `Question ID` gives."""
    read = {(source.root, source.relative.as_posix()) for source in project.sources}
    present = {q.id for deck_file in project.deck_files for q in deck_file.questions}
    gone: dict[str, tuple[str, Path]] = {}  # by GUID: (question id, its last deck file)
    for root, state in project.states.items():
        here = {
            question_id: root / entry.file
            for question_id, entry in state.questions.items()
            if entry.hash is None
            and question_id not in present
            and ((root, entry.file) in read or project.read_all_of(root, entry.file))
        }
        if here and not project.read_all_of(root, "."):
            for question_id in ids_in_deck_files(root, skip={p for r, p in read if r == root}):
                here.pop(question_id, None)
        gone.update((note_guid(qid), (qid, file)) for qid, file in here.items())
    notetype_ids = {note_type.id for note_type in NOTE_TYPES.values()}
    doomed = []
    for note_id, guid, notetype_id, fields in _db(col).execute(
        "select id, guid, mid, flds from notes"
    ):
        if guid not in gone or notetype_id not in notetype_ids:
            continue
        question_id, file = gone[guid]
        values = fields.split("\x1f")
        if _nfc(values[-1]) == _nfc(id_field(question_id)):  # else not the contract's GUID
            doomed.append(DeletedNote(question_id, file, " ".join(_text(values[0])), note_id))
    return sorted(doomed, key=lambda note: note.question_id)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _import(
    col: Collection,
    imported: list[tuple[NoteData, int]],
    type_mods: dict[str, int],
    styles: tuple[str, str],
    result: PushResult,
) -> None:
    """Import the notes as one package, with Anki's default rules (update if newer), and
    correct the outcomes by what Anki's import log says it did."""
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
        notes = [note for note, _ in imported]
        mods = {note.guid: mod for note, mod in imported}
        write_package(notes, package, mods, type_mods, styles)
        request = ImportAnkiPackageRequest(package_path=str(package), options=options)
        log = col.import_anki_package(request).log
    col.models._clear_cache()  # the Python-side note-type cache is stale after an import
    said = {}
    # A duplicate is a note Anki holds with a `mod` as late as ours: it keeps its own.
    for status, entries in ((KEPT, log.duplicate), (OTHER_TYPE, log.conflicting)):
        for entry in entries:
            said[_db(col).scalar("select guid from notes where id = ?", entry.id.nid)] = status
    result.notes = [
        NoteOutcome(said[guid], o.question)
        if o.status in _IMPORTED and (guid := note_guid(o.question.id or "")) in said
        else o
        for o in result.notes
    ]


def _backup(col: Collection, folder: Path) -> Path:
    """Write a backup Anki can restore (File > Switch Profile > Open Backup)."""
    folder.mkdir(parents=True, exist_ok=True)
    col.create_backup(backup_folder=str(folder), force=True, wait_for_completion=True)
    backups = sorted(folder.glob("*.colpkg"), key=lambda p: p.stat().st_mtime)
    if not backups:
        raise PushError(f"could not write a backup to {folder}: nothing changed")
    return backups[-1]


def _save_states(project: Project, result: PushResult) -> None:
    for root, state in project.states.items():
        try:
            save_state(root, state)
        except OSError as error:
            message = f"build state not saved ({error.strerror})"
            path = root / STATE_FILE
            result.notices.append(Diagnostic(path, 1, 1, WARNING, "state-not-saved", message))


@contextmanager
def _opened(anki, path: Path) -> Iterator[Collection]:
    from anki.errors import DBError

    try:
        col = anki.Collection(str(path))
    except DBError as error:
        raise CollectionLocked(
            f"{path}: cannot open the collection ({error}). If Anki is running, close it"
            " (or switch to another profile) and push again."
        ) from None
    try:
        yield col
    finally:
        col.close()


def _db(col: Collection) -> DBProxy:
    if col.db is None:
        raise PushError("the collection was closed")
    return col.db


def _anki_collection_module():
    try:
        import anki.collection
    except ImportError:
        raise AnkiMissing() from None
    return anki.collection


def _text(field_html: str) -> list[str]:
    """A field's visible text, a line per block, for showing in a terminal."""
    marked = field_html.replace("<br>", "\n").replace("</p>", "\n").replace("</li>", "\n")
    text = html.unescape(nh3.clean(marked, tags=set()))
    return [line.rstrip() for line in text.splitlines() if line.strip()]
