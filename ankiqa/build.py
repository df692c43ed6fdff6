"""`export`: a project → `.apkg` packages, and the build state that keeps them minimal.

When nothing changed since the last export, `fresh` says so from file hashes alone.
Otherwise deck files are loaded and checked (`project`), rendered into notes (`notes`),
given their `mod` by the build state (`state`) and written (`package`), each package
only when what it is built from changed. The Markdown engine, Pygments and genanki are
imported only then.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import fresh, state, unchanged
from .atomic import Staged, file_hash_or_none
from .cache import Cache
from .cache import default_folder as default_cache_folder
from .config import Settings
from .diagnostics import WARNING, Diagnostic
from .discover import DEFAULT_DECKS, Source, find_sources
from .ledger import Ledger
from .ledger import default_folder as default_ledger_folder
from .unchanged import RecordedNote

if TYPE_CHECKING:
    from .notes import NoteData
    from .project import Project
    from .spool import NoteSpool
    from .state import BuildState, Entry

DEFAULT_DIST = Path("dist")


@dataclass(frozen=True, order=True)
class RemovedQuestion:
    id: str
    file: Path  # where it was last seen
    # False when Anki stores it as it stores a live question's id (fields are kept NFC):
    # a search for it would find that note too.
    searchable: bool = True


@dataclass
class ExportResult:
    removed: list[RemovedQuestion] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    up_to_date: list[Path] = field(default_factory=list)
    decks: list[str] = field(default_factory=list)
    notes: int = 0
    warnings: list[Diagnostic] = field(default_factory=list)  # those of `ankiqa check`
    notices: list[Diagnostic] = field(default_factory=list)  # what the export ran into
    # Deck files it was not asked to export were read (see `removed_questions`): what
    # they hold counts too, so `fresh` does not answer for the next export.
    read_elsewhere: bool = field(default=False, repr=False, compare=False)


def export(
    paths: Sequence[Path] = (DEFAULT_DECKS,),
    output: Path | None = None,
    dist: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    now: int | None = None,
    use_cache: bool = True,
) -> ExportResult:
    """Export deck files to `.apkg` packages, and record what was exported in the build
    state beside them (see `state`).

    With `output`, one package holds every deck; otherwise each deck file becomes
    `<dist>/<its path below its decks folder>.apkg`; `dist` is the settings' (see
    `config`), else `dist/` beside the decks folder. Raises DeckError, before writing anything,
    when the input has errors. `progress(done, total)` is called as questions are rendered.
    `use_cache=False` renders and checks every question, ignoring the cache (see `cache`).
    """
    cache_folder = default_cache_folder() if use_cache else None
    decks_before = fresh.deck_inputs(paths) if cache_folder else None  # before they are read
    last = fresh.replay(paths, output, dist, cache_folder, decks_before)
    if last is not None:
        packages = [Path(path) for path in last.packages]
        return ExportResult(
            up_to_date=packages, decks=last.decks, notes=last.notes, warnings=last.warnings
        )
    result, media = _export(paths, output, dist, progress, now, cache_folder)
    if not result.notices and not result.read_elsewhere:
        packages = result.written + result.up_to_date
        decks, notes = result.decks, result.notes
        fresh.remember(
            paths,
            output,
            dist,
            cache_folder,
            media,
            packages,
            decks,
            notes,
            result.warnings,
            decks_before,
        )
    return result


def _export(
    paths: Sequence[Path],
    output: Path | None,
    dist: Path | None,
    progress: Callable[[int, int], None] | None,
    now: int | None,
    cache_folder: Path | None,
) -> tuple[ExportResult, set[Path]]:
    """`export`, in full; also gives the media files the notes looked for.

    A package whose deck files are all unchanged since an export that recorded them (see
    `unchanged`) is judged from their records: when it holds what they build now, they
    are not read. The other deck files are read, rendered and packaged one after the
    other, so that memory holds the notes of one package at a time; the packages are
    renamed into place once every deck file was read without an error (see
    `atomic.Staged`), then the state is saved."""
    from .notetypes import NOTE_TYPES
    from .package import package_inputs
    from .project import Place, kind_problems, open_project, stream_checked_notes

    project = open_project(paths)
    now = int(time.time()) if now is None else now
    settings, styles = project.settings, project.settings.styles
    type_hashes = {
        kind: state.note_type_hash(note_type, styles) for kind, note_type in NOTE_TYPES.items()
    }
    targets = {source: _target(source, output, dist) for source in project.sources}
    by_target = _by_target(targets)
    builds: dict[Path, _Build] = defaultdict(_Build)
    exported: list[tuple[str, str, int]] = []  # (guid, content hash, mod): see `ledger`
    result = ExportResult()
    decks: set[str] = set()
    packages: list[tuple[Path, str, str]] = []  # (path, inputs, sha256 of its bytes)
    keys = {s: unchanged.read_key(s, settings) if cache_folder else None for s in project.sources}
    read: dict[Source, list[RecordedNote]] = defaultdict(list)  # the notes of deck files read

    def pack(target: Path) -> None:
        build = builds.pop(target, None)
        if build is None:
            return
        with contextlib.closing(build.notes):
            if not len(build.notes):  # errors, or a damaged state: nothing is written
                return
            written, row = _write_package(target, build, styles, staged, known)
            if row is not None:
                packages.append((target, *row))
            (result.written if written else result.up_to_date).append(target)
            result.notes += len(build.notes)
            decks.update(build.notes.decks())

    def add(target: Path, source: Source, notes: Iterable[RecordedNote]) -> None:
        """Stamp a deck file's notes, and add them to their package's build."""
        root_state, build = project.states[source.root], builds[target]
        file = source.relative.as_posix()
        kinds: dict[str, None] = {}  # in the order they come
        for note in notes:
            mod = stamp_recorded(note, root_state, ledger, file, now)
            build.mods[note.guid] = mod
            build.inputs.append((note.kind, note.guid, note.content, mod, note.media))
            exported.append((note.guid, note.content, mod))
            kinds[note.kind] = None
        for kind in kinds:
            type_mod = root_state.stamp_note_type(kind, type_hashes[kind], now)
            build.type_mods[kind] = max(build.type_mods.get(kind, 0), type_mod)

    def reuse(target: Path, recalled: list[tuple[Source, unchanged.FileRecord]]) -> bool:
        """Whether the package holds what its unchanged deck files build now: then their
        records stand for them in the export; else the build state is left as it was."""
        problems, before, mark = [], _Entries(project.states), len(exported)
        for source, record in recalled:
            root_state = project.states[source.root]
            problems += kind_problems(root_state, source.path, record.notes)  # before stamps
            before.keep(source.root, record.notes)
            add(target, source, record.notes)
        build = builds.pop(target)
        build.notes.close()  # holds none: records stand for the notes
        if not _holds(target, package_inputs(build.inputs, build.type_mods, styles), known):
            before.restore()
            del exported[mark:]
            return False
        for source, record in recalled:
            project.places += [Place(note.id, source.path, note.line) for note in record.notes]
            project.diagnostics += record.diagnostics
            project.media |= {Path(path) for path in record.media}
            result.notes += len(record.notes)
            decks.update(note.deck for note in record.notes)
        project.diagnostics += problems
        result.up_to_date.append(target)
        return True

    with (
        Ledger(default_ledger_folder()) as ledger,
        Staged() as staged,
        Cache(cache_folder) as known,
        _closing(builds),
    ):
        to_read = []
        for target, sources in by_target.items():
            recalled = _recall(known, keys, sources, project.states)
            if recalled is None or not reuse(target, recalled):
                to_read += sources
        sources_left = Counter(targets[source] for source in to_read)

        def read_whole(source: Source) -> None:
            """Keep the record of a deck file read without an error (whatever the other
            files hold: see `unchanged`), and pack its package once all of its are read."""
            findings, notes = project.findings.pop(source, None), read.pop(source, [])
            if source.root in project.states:  # else its notes were not made
                unchanged.remember(known, keys[source], source, settings, notes, findings)
                known.write(known.pending())  # not held in memory till the end
            sources_left[targets[source]] -= 1
            if not sources_left[targets[source]]:
                pack(targets[source])

        last: Source | None = None
        for source, notes in stream_checked_notes(project, cache_folder, progress, to_read):
            if last is not None and source != last:
                read_whole(last)
            last = source
            if source.root not in project.states:  # damaged: the export ends in its error
                continue
            recorded = [unchanged.recorded(note) for note in notes]
            add(targets[source], source, recorded)
            builds[targets[source]].notes.add(notes)
            read[source] += recorded
        if last is not None:
            read_whole(last)
        for target in list(builds):
            pack(target)
        ledger.record(exported)  # before the packages: see `ledger`
        staged.commit()
        for package in packages:
            known.put_package(*package)

    order = {target: number for number, target in enumerate(by_target)}  # of the deck files
    result.written.sort(key=order.__getitem__)
    result.up_to_date.sort(key=order.__getitem__)
    result.warnings = project.diagnostics
    # Said once: after this export, the build state knows the new cloze numbers.
    result.notices += [d for d in project.diagnostics if d.code == "cloze-removed"]
    result.removed = removed_questions(project, result)
    result.decks = sorted(decks)
    for root, root_state in project.states.items():
        try:
            state.save_state(root, root_state)
        except OSError as error:  # a read-only folder: the packages are still good
            message = (
                f"build state not saved ({error.strerror}): the next export will give"
                " every changed question a new time again"
            )
            path = root / state.STATE_FILE
            result.notices.append(Diagnostic(path, 1, 1, WARNING, "state-not-saved", message))
    return result, project.media


@dataclass
class _Build:
    """One package's notes, as they are rendered and stamped."""

    notes: NoteSpool = field(default_factory=lambda: _spool())
    mods: dict[str, int] = field(default_factory=dict)  # by GUID
    type_mods: dict[str, int] = field(default_factory=dict)  # by kind
    # What the package is built from: see `package.package_inputs`.
    inputs: list[tuple[str, str, str, int, tuple[tuple[str, str], ...]]] = field(
        default_factory=list
    )


class _Entries:
    """Build state entries as they were before notes were stamped, to put back."""

    def __init__(self, states: dict[Path, BuildState]):
        self.states = states
        self.questions: dict[tuple[Path, str], Entry | None] = {}
        self.note_types: dict[Path, dict[str, Entry]] = {}

    def keep(self, root: Path, notes: Iterable[RecordedNote]) -> None:
        questions = self.states[root].questions
        for note in notes:
            self.questions.setdefault((root, note.id), questions.get(note.id))
        self.note_types.setdefault(root, dict(self.states[root].note_types))

    def restore(self) -> None:
        for (root, question_id), entry in self.questions.items():
            if entry is None:
                self.states[root].questions.pop(question_id, None)
            else:
                self.states[root].questions[question_id] = entry
        for root, note_types in self.note_types.items():
            self.states[root].note_types = note_types


def _by_target(targets: dict[Source, Path]) -> dict[Path, list[Source]]:
    """The deck files of each package, in order."""
    sources: dict[Path, list[Source]] = defaultdict(list)
    for source, target in targets.items():
        sources[target].append(source)
    return sources


def _recall(
    known: Cache,
    keys: dict[Source, str | None],
    sources: list[Source],
    states: dict[Path, BuildState],
) -> list[tuple[Source, unchanged.FileRecord]] | None:
    """The records of these deck files (see `unchanged`), if each has one, and a build
    state to stamp its notes in."""
    recalled = []
    for source in sources:
        record = unchanged.recall(known, keys[source], source) if source.root in states else None
        if record is None:
            return None
        recalled.append((source, record))
    return recalled


def _holds(target: Path, inputs: str, known: Cache) -> bool:
    """Whether the package at `target` was built from these inputs (see
    `package.package_inputs`) and is as it was left: it holds what they build."""
    last = known.package(target)
    return last is not None and last[0] == inputs and file_hash_or_none(target) == last[1]


@contextlib.contextmanager
def _closing(builds: dict[Path, _Build]) -> Iterator[None]:
    """Remove the spools of packages not written, whatever ends the export."""
    try:
        yield
    finally:
        for build in builds.values():
            build.notes.close()


def _spool() -> NoteSpool:
    from .spool import NoteSpool  # with genanki: not for an export with nothing changed

    return NoteSpool()


def _target(source: Source, output: Path | None, dist: Path | None) -> Path:
    """The package a deck file's notes go to."""
    folder = dist if dist is not None else dist_folder(source.root, source.settings)
    return Path(output or folder / source.relative.with_suffix(".apkg"))


def _write_package(
    target: Path, build: _Build, styles: tuple[str, str], staged: Staged, known: Cache
) -> tuple[bool, tuple[str, str] | None]:
    """Stage the package's bytes unless it holds them already (built from the same
    inputs as last time, or the same bytes). Returns whether it staged them, and what the
    cache is to remember of the package when that changed: the hash of its inputs and
    of its bytes."""
    from .package import package_inputs, write_package_to

    inputs = package_inputs(build.inputs, build.type_mods, styles)
    if _holds(target, inputs, known):
        return False, None  # built from the same: the same bytes
    last = known.package(target)
    written, digest = staged.write_with(
        target,
        lambda file: write_package_to(file, build.notes, build.mods, build.type_mods, styles),
    )
    return written, (inputs, digest) if last is None or last[0] != inputs else None


def stamp(
    note: NoteData, build_state: BuildState, ledger: Ledger, file: str, now: int
) -> tuple[str, int]:
    """Record the note in the build state; returns its content hash and the `mod` it is
    exported with (see `stamp_recorded`)."""
    recorded = unchanged.recorded(note)
    return recorded.content, stamp_recorded(recorded, build_state, ledger, file, now)


def stamp_recorded(
    note: RecordedNote, build_state: BuildState, ledger: Ledger, file: str, now: int
) -> int:
    """Record the note in the build state; returns the `mod` it is exported with: its
    recorded one while its content is unchanged, else a new one, later than anything
    exported before with other content, even when git brought back an older Markdown and
    build state (see `ledger`)."""
    mod = build_state.stamp(note.id, note.content, now, file, note.kind, note.clozes)
    return build_state.raise_mod(note.id, ledger.later_mod(note.guid, note.content, mod))


def build_decks(paths: Sequence[Path] = (DEFAULT_DECKS,), use_cache: bool = True) -> list[NoteData]:
    """Every note these deck files export, rendered, in memory: nothing is written, the
    build state is not changed. Raises DeckError when the input has errors."""
    from .project import checked_notes, load_project

    cache_folder = default_cache_folder() if use_cache else None
    built = checked_notes(load_project(paths, cache_folder), cache_folder)
    return [note for _, notes in built for note in notes]


def dist_folder(root: Path, settings: Settings) -> Path:
    """Where packages of the deck files below `root` (a decks folder) go, without `-o`
    or `--dist`: the settings' `dist`, else `dist/` beside the decks folder, whatever
    the working folder."""
    if settings.root is not None:
        return settings.root / settings.dist
    if Path(os.path.abspath(root)).name == DEFAULT_DECKS.name:
        root = Path(os.path.normpath(root / os.pardir))
    return root / DEFAULT_DIST


def removed_questions(
    project: Project, result: ExportResult | None = None
) -> list[RemovedQuestion]:
    """Questions the build state knows that the Markdown no longer has; marks them removed.

    Only questions last seen in a deck file this export read count, and a question that
    a deck file it did not read holds is not gone: it moved there (reading those files
    is noted in `result`).
    """
    from .project import plain_id

    present = {place.id for place in project.places}
    live = {_nfc(question_id) for question_id in present if question_id}
    read = {(source.root, source.relative.as_posix()) for source in project.sources}
    removed = []
    for root, root_state in project.states.items():
        gone = [
            question_id
            for question_id, entry in root_state.questions.items()
            if entry.hash is not None
            and question_id not in present
            and ((root, entry.file) in read or project.read_all_of(root, entry.file))
        ]
        if gone and not project.read_all_of(root, "."):
            elsewhere = ids_in_deck_files(root, skip={path for r, path in read if r == root})
            if result is not None:
                result.read_elsewhere = True
            gone = [question_id for question_id in gone if question_id not in elsewhere]
        root_state.mark_removed(gone)
        for question_id in gone:
            searchable = plain_id(question_id) and _nfc(question_id) not in live
            file = root / root_state.questions[question_id].file
            removed.append(RemovedQuestion(question_id, file, searchable))
    return sorted(removed)


def _nfc(question_id: str) -> str:
    return unicodedata.normalize("NFC", question_id)


def ids_in_deck_files(root: Path, skip: set[str]) -> set[str]:
    """The question ids of the deck files below `root`, but for those in `skip` (paths
    relative to `root`)."""
    from .parse import read_deck_file

    ids: set[str] = set()
    for source in find_sources([root])[0]:
        if source.relative.as_posix() not in skip:
            deck_file = read_deck_file(source.path, source.deck_prefix)
            ids.update(question.id for question in deck_file.questions if question.id)
    return ids


def anki_search(question_ids: Iterable[str]) -> str:
    """An Anki browser search that finds exactly the notes of these questions.

    Anki's field search ignores case and reads `re:` or `nc:` at the start of a value as
    a search mode, while ids are exact: so each id is a case-sensitive regular expression
    that matches the whole field as stored (HTML-escaped, see `notes.id_field`).
    """
    from .notes import id_field
    from .notetypes import ID_FIELD_NAME

    terms = []
    for question_id in question_ids:
        pattern = "(?-i)^" + _REGEX_SPECIAL.sub(r"\\\g<0>", id_field(question_id)) + "$"
        terms.append(f'"{ID_FIELD_NAME}:re:' + pattern.replace('"', '\\"') + '"')
    return " OR ".join(terms)


_REGEX_SPECIAL = re.compile(r"[\\.+*?()|\[\]{}^$]")
