"""`push`: deck files straight into the user's Anki collection, and on to the phone.

A push builds the notes as `export` does and imports them with Anki's own backend and
Anki's import rules (see `collection`): a note is matched by its GUID, its cards and
their review history are never touched. Each note is first compared with the
collection's copy and with what push last left there (recorded per collection in the
`ledger`):

- new: not in the collection. updated: the Markdown changed it. unchanged.
- kept: edited in Anki or on the phone since push left it, Markdown unchanged: it stays
  as the user left it.
- conflict: edited there and in the Markdown. It is left alone, and both versions are
  reported, unless `force`: then the Markdown's version wins.
- other note type: the collection has this GUID with another note type, or the user
  changed ankiqa's note type's fields or card types in Anki; an import can change
  neither, so these notes are left alone.

Before its first push into a collection, push has no record there: then a note whose
`mod` in the collection is later than what ankiqa last exported for it (the ledger or
the build state) counts as edited there.

With `delete_removed`, notes of questions gone from the Markdown are deleted: only notes
of ankiqa's note types whose GUID is the one their `Question ID` field gives, last pushed
from the deck file the question was removed from, and only after a backup of the
collection. Anki records the deletions, so a sync takes them to the other devices. A dry
run does all the comparing and changes nothing.
"""

from __future__ import annotations

import difflib
import html
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import nh3

from .build import RemovedQuestion, ids_in_deck_files, removed_questions, stamp
from .cache import default_folder as default_cache_folder
from .collection import (
    ANKI_TAGS,
    InAnki,
    add_tags,
    anki_content,
    backup,
    changed_note_types,
    import_notes,
    note_type_mod,
    notes_in_anki,
    opened,
    remove_notes,
    require_anki,
)
from .diagnostics import WARNING, Diagnostic
from .discover import DEFAULT_DECKS, Source
from .ledger import Ledger, Pushed
from .ledger import default_folder as default_ledger_folder
from .notes import NoteData, id_field, note_guid
from .notetypes import NOTE_TYPES
from .parse import Question
from .profiles import find_collection
from .project import Project, checked_notes, load_project
from .state import STATE_FILE, content_hash, note_type_hash, save_state
from .sync import Syncer, SyncRefused, SyncReport

if TYPE_CHECKING:
    from anki.collection import Collection

NEW, UPDATED, UNCHANGED, KEPT, CONFLICT, FORCED, OTHER_TYPE = (
    "new",
    "updated",
    "unchanged",
    "kept",
    "conflict",
    "forced",
    "other note type",
)
_IMPORTED = (NEW, UPDATED, FORCED)
BACKUP_FOLDER = "backups"  # beside the collection, where Anki keeps a profile's backups


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
    edited: bool  # edited in Anki since push left it


@dataclass
class PushResult:
    collection: Path
    notes: list[NoteOutcome] = field(default_factory=list)
    deleted: list[DeletedNote] = field(default_factory=list)
    removed: list[RemovedQuestion] = field(default_factory=list)  # gone from the Markdown now
    note_types: list[str] = field(default_factory=list)  # added, or their look updated
    changed_note_types: list[str] = field(default_factory=list)  # see the module docstring
    backup: Path | None = None
    syncs: list[SyncReport] = field(default_factory=list)  # before, and after, the import
    sync_error: str | None = None  # the sync after the import failed: the push is done
    dry_run: bool = False
    warnings: list[Diagnostic] = field(default_factory=list)  # those of `ankiqa check`
    notices: list[Diagnostic] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.notes)


@dataclass
class _Planned:
    note: NoteData
    status: str
    file: str  # the deck file, resolved
    there: InAnki | None
    content: str = ""  # the Markdown's content hash; with `mod`, unset for a conflict
    mod: int = 0


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

    Raises DeckError for errors in the Markdown, CollectionNotFound, PushError and
    SyncRefused (from the sync before the import); in each case nothing was changed.
    A failed sync after the import is `sync_error` in the result.
    """
    require_anki()
    path = find_collection(collection, profile)
    cache_folder = default_cache_folder() if use_cache else None
    project = load_project(paths, cache_folder)
    parts = checked_notes(project, cache_folder)
    now = int(time.time()) if now is None else now
    result = PushResult(path, dry_run=dry_run, warnings=project.diagnostics)
    result.notices += [d for d in project.diagnostics if d.code == "cloze-removed"]
    key = str(path.resolve())

    with opened(path) as col:
        if syncer is not None and not dry_run:
            result.syncs.append(syncer.sync(col))
        in_anki = notes_in_anki(col)
        changed = {note_type.kind for note_type in changed_note_types(col)}
        result.changed_note_types = [NOTE_TYPES[kind].name for kind in sorted(changed)]
        with Ledger(default_ledger_folder()) as ledger:
            pushed = ledger.pushed(key)
            plan, type_mods = _plan(project, parts, in_anki, pushed, ledger, changed, now, force)
            result.notes = [_outcome(planned) for planned in plan]
            result.removed = removed_questions(project)
            doomed = _deletable(project, in_anki, pushed) if delete_removed else []
            due = _due(col, type_mods)
            package, mods = _package(plan, due)
            carried = due & {note.note_type.kind for note in package}
            result.note_types = sorted(NOTE_TYPES[kind].name for kind in carried)
            if dry_run:
                result.deleted = doomed
                return result
            if doomed and before_delete is not None and not before_delete(doomed):
                doomed = []
            if package or doomed:
                result.backup = backup(col, path.parent / BACKUP_FOLDER)
            ledger.record((p.note.guid, p.content, p.mod) for p in plan if p.status != CONFLICT)
            if package:
                log = import_notes(col, package, mods, type_mods, project.settings.styles)
                _correct(plan, log.duplicate, log.conflicting)
                result.notes = [_outcome(planned) for planned in plan]
                _restore_anki_tags(col, plan)
            if doomed:
                remove_notes(col, [note.note_id for note in doomed])
                result.deleted = doomed
            ledger.record_pushed(key, _left(plan, notes_in_anki(col) if package else in_anki))
        _save_states(project, result)
        if syncer is not None:
            try:
                result.syncs.append(syncer.sync(col))
            except SyncRefused as error:
                result.sync_error = str(error)
    return result


def _plan(
    project: Project,
    parts: list[tuple[Source, list[NoteData]]],
    in_anki: dict[str, InAnki],
    pushed: dict[str, Pushed],
    ledger: Ledger,
    changed: set[str],
    now: int,
    force: bool,
) -> tuple[list[_Planned], dict[str, int]]:
    """Sort every note into a status (see the module's docstring) and stamp the build state
    for all but conflicts, whose record must stay as it was until they are resolved.
    Returns the notes and each note type's `mod`."""
    styles = project.settings.styles
    type_hashes = {kind: note_type_hash(t, styles) for kind, t in NOTE_TYPES.items()}
    plan = []
    type_mods: dict[str, int] = {}
    for source, notes in parts:
        state, file = project.states[source.root], source.relative.as_posix()
        resolved = str(source.path.resolve())
        for note in notes:
            there = in_anki.get(note.guid)
            if note.note_type.kind in changed:
                status = OTHER_TYPE
            else:
                entry = state.questions.get(note.question_id)
                exported: list[tuple[str | None, int]] = [(entry.hash, entry.mod)] if entry else []
                exported += [ledger.last[note.guid]] if note.guid in ledger.last else []
                last = max(exported, key=lambda record: record[1], default=None)
                status = _status(note, there, pushed.get(note.guid), last, force)
            planned = _Planned(note, status, resolved, there)
            plan.append(planned)
            if status == CONFLICT:
                continue
            planned.content, planned.mod = stamp(note, state, ledger, file, now)
            if status == FORCED and there is not None and planned.mod <= there.mod:
                planned.mod = state.raise_mod(note.question_id, there.mod + 1)
            kind = note.note_type.kind
            type_mod = state.stamp_note_type(kind, type_hashes[kind], now)
            type_mods[kind] = max(type_mods.get(kind, 0), type_mod)
    return plan, type_mods


def _status(
    note: NoteData,
    there: InAnki | None,
    pushed: Pushed | None,
    exported: tuple[str | None, int] | None,
    force: bool,
) -> str:
    """The note's status (see the module's docstring); `exported` is ankiqa's latest
    record of what it last exported for the note (content hash, `mod`), if any."""
    if there is None:
        return NEW
    if there.notetype_id != note.note_type.id:
        return OTHER_TYPE
    if there.content == anki_content(note.fields, note.tags):
        return UNCHANGED
    content = content_hash(note)
    if pushed is not None:
        edited = there.content != pushed.anki_content
        changed = content != pushed.content
        if not edited:
            return UPDATED if changed else UNCHANGED
    else:  # never pushed here: edited if changed later than the last export
        if exported is None or there.mod <= exported[1]:
            return UPDATED
        changed = content != exported[0]
    if not changed:
        return KEPT
    return FORCED if force else CONFLICT


def _outcome(planned: _Planned) -> NoteOutcome:
    if planned.status != CONFLICT or planned.there is None:
        return NoteOutcome(planned.status, planned.note.question)
    note, there = planned.note, planned.there
    names = [field.name for field in note.note_type.fields]
    anki = dict(zip(names, there.fields, strict=False))
    ours = dict(zip(names, note.fields, strict=True))
    anki["Tags"], ours["Tags"] = " ".join(there.tags), " ".join(note.tags)
    differing = [name for name in anki if anki[name] != ours.get(name)]
    return NoteOutcome(
        CONFLICT,
        note.question,
        {name: anki[name] for name in differing},
        {name: ours.get(name, "") for name in differing},
    )


def _due(col: Collection, type_mods: dict[str, int]) -> set[str]:
    """The kinds whose note type is new to the collection or has a later `mod` than the
    collection's copy: an import adds or updates it."""
    due = set()
    for kind, mod in type_mods.items():
        there_mod = note_type_mod(col, NOTE_TYPES[kind])
        if there_mod is None or there_mod < mod:
            due.add(kind)
    return due


def _package(plan: list[_Planned], due: set[str]) -> tuple[list[NoteData], dict[str, int]]:
    """The notes to import, with their `mod`s. A note type that is `due` an update is
    carried, if no note to import carries it, by one of its notes that is already there,
    with the `mod` it has there: Anki then updates the note type and skips the note."""
    notes, mods = [], {}
    for planned in plan:
        if planned.status in _IMPORTED:
            notes.append(planned.note)
            mods[planned.note.guid] = planned.mod
    for kind in due - {note.note_type.kind for note in notes}:
        for planned in plan:
            if planned.note.note_type.kind == kind and planned.status in (UNCHANGED, KEPT):
                assert planned.there is not None  # both statuses mean it is there
                notes.append(planned.note)
                mods[planned.note.guid] = planned.there.mod
                break
    return notes, mods


def _restore_anki_tags(col: Collection, plan: list[_Planned]) -> None:
    """An import drops the tags Anki gives notes itself (marked, leech): give them back."""
    by_tags: dict[str, list[int]] = defaultdict(list)
    for planned in plan:
        if planned.status in (UPDATED, FORCED) and planned.there is not None:
            kept = [tag for tag in planned.there.tags if tag.casefold() in ANKI_TAGS]
            if kept:
                by_tags[" ".join(kept)].append(planned.there.id)
    for tags, note_ids in by_tags.items():
        add_tags(col, note_ids, tags)


def _correct(plan: list[_Planned], duplicate: frozenset[str], conflicting: frozenset[str]) -> None:
    """Anki's import log has the last word: a note it skipped kept its own version."""
    for planned in plan:
        if planned.status in _IMPORTED:
            id_value = id_field(planned.note.question_id)
            if id_value in duplicate:
                planned.status = KEPT
            elif id_value in conflicting:
                planned.status = OTHER_TYPE


def _left(plan: list[_Planned], in_anki: dict[str, InAnki]) -> list[tuple[str, Pushed]]:
    """What push leaves in the collection, for the notes it now holds as the Markdown
    has them (kept notes and conflicts keep their earlier record)."""
    left = []
    for planned in plan:
        there = in_anki.get(planned.note.guid)
        if there is not None and planned.status in (*_IMPORTED, UNCHANGED):
            left.append((planned.note.guid, Pushed(there.content, planned.content, planned.file)))
    return left


def _deletable(
    project: Project, in_anki: dict[str, InAnki], pushed: dict[str, Pushed]
) -> list[DeletedNote]:
    """The notes of questions gone from the deck files read (see `removed_questions`)
    that are ankiqa's own: of its note types, with the GUID their `Question ID` gives, and
    last pushed from where the question was removed."""
    read = {(source.root, source.relative.as_posix()) for source in project.sources}
    present = {q.id for deck_file in project.deck_files for q in deck_file.questions}
    notetype_ids = {note_type.id for note_type in NOTE_TYPES.values()}
    doomed = []
    for root, state in project.states.items():
        gone = {
            question_id: root / entry.file
            for question_id, entry in state.questions.items()
            if entry.hash is None
            and question_id not in present
            and ((root, entry.file) in read or project.read_all_of(root, entry.file))
        }
        if gone and not project.read_all_of(root, "."):
            for question_id in ids_in_deck_files(root, skip={p for r, p in read if r == root}):
                gone.pop(question_id, None)
        for question_id, file in sorted(gone.items()):
            guid = note_guid(question_id)
            there, record = in_anki.get(guid), pushed.get(guid)
            if there is None or there.notetype_id not in notetype_ids:
                continue
            if anki_content([there.fields[-1]], []) != anki_content([id_field(question_id)], []):
                continue  # not the note the identity contract gives this GUID
            if record is not None and record.file != str(file.resolve()):
                continue  # pushed from another deck file since: the question moved there
            edited = record is not None and there.content != record.anki_content
            front = " ".join(_text(there.fields[0]))
            doomed.append(DeletedNote(question_id, file, front, there.id, edited))
    return doomed


def _save_states(project: Project, result: PushResult) -> None:
    for root, state in project.states.items():
        try:
            save_state(root, state)
        except OSError as error:
            message = f"build state not saved ({error.strerror})"
            path = root / STATE_FILE
            result.notices.append(Diagnostic(path, 1, 1, WARNING, "state-not-saved", message))


def _text(field_html: str) -> list[str]:
    """A field's visible text, a line per block, for showing in a terminal."""
    marked = field_html.replace("<br>", "\n").replace("</p>", "\n").replace("</li>", "\n")
    text = html.unescape(nh3.clean(marked, tags=set()))
    return [line.rstrip() for line in text.splitlines() if line.strip()]
