"""The whole pipeline: deck files → parse → check → build notes → write packages."""

from __future__ import annotations

import os
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from .cache import default_folder as default_cache_folder
from .diagnostics import ERROR, DeckError, Diagnostic, errors
from .notes import NoteData, build_notes, id_field
from .notetype import FIELDS, NoteType
from .package import write_package
from .parse import DeckFile, read_deck_file
from .state import (
    STATE_FILE,
    BuildState,
    StateError,
    content_hash,
    load_state,
    note_type_hash,
    save_state,
)

DEFAULT_DECKS = Path("decks")
DEFAULT_DIST = Path("dist")
DECK_SUFFIX = ".md"
QUESTION_ID_FIELD = FIELDS[2]["name"]
PARALLEL_FROM = 1500  # questions; below this, starting processes costs more than it saves
PART_SIZE = 500


@dataclass(frozen=True)
class Source:
    """A deck file, and the folder its deck name and package path are relative to."""

    path: Path
    root: Path

    @property
    def relative(self) -> Path:
        return Path(os.path.relpath(self.path, self.root))

    @property
    def deck_prefix(self) -> str:
        """`Parent::Child::` for a file in `root/Parent/Child/`."""
        return "".join(f"{folder}::" for folder in self.relative.parent.parts)


@dataclass
class Project:
    """Parsed deck files and every problem found in them."""

    sources: list[Source]
    deck_files: list[DeckFile]
    diagnostics: list[Diagnostic] = field(default_factory=list)


@dataclass(frozen=True, order=True)
class RemovedQuestion:
    id: str
    file: Path  # where it was last seen


@dataclass
class ExportResult:
    removed: list[RemovedQuestion] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    up_to_date: list[Path] = field(default_factory=list)
    decks: list[str] = field(default_factory=list)
    notes: int = 0
    warnings: list[Diagnostic] = field(default_factory=list)


def find_sources(paths: Iterable[Path]) -> tuple[list[Source], list[Diagnostic]]:
    """Deck files named by `paths`: a file itself, or every `.md` file below a folder.

    Files in hidden folders (such as `.git`) are skipped.
    """
    sources, problems = [], []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(
                file
                for file in path.rglob(f"*{DECK_SUFFIX}")
                if file.is_file()
                and not any(part.startswith(".") for part in file.relative_to(path).parts)
            )
            sources += [Source(file, path) for file in found]
            if not found:
                problems.append(
                    Diagnostic(path, 1, 1, ERROR, "no-decks", f"no {DECK_SUFFIX} files in folder")
                )
        elif path.is_file():
            sources.append(Source(path, _state_folder(path)))
        else:
            problems.append(Diagnostic(path, 1, 1, ERROR, "not-found", "no such file or folder"))
    return sources, problems


def _state_folder(deck_file: Path) -> Path:
    """The folder a lone deck file belongs to: the nearest one above it with a build
    state (so its deck name and state are those of a whole-folder export), else its own."""
    for folder in deck_file.absolute().parents:
        if (folder / STATE_FILE).is_file():
            return Path(os.path.relpath(folder))
    return deck_file.parent


def load_project(paths: Iterable[Path] = (DEFAULT_DECKS,)) -> Project:
    """Find and parse deck files, and check that no question id is used twice."""
    sources, problems = find_sources(paths)
    deck_files = [read_deck_file(source.path, source.deck_prefix) for source in sources]
    for deck_file in deck_files:
        problems += deck_file.diagnostics
    problems += duplicate_ids(deck_files)
    return Project(sources, deck_files, sorted(problems))


def duplicate_ids(deck_files: Iterable[DeckFile]) -> list[Diagnostic]:
    """An error at every place an id is used more than once, naming the other places."""
    places = defaultdict(list)
    for deck_file in deck_files:
        for question in deck_file.questions:
            if question.id is not None:
                places[question.id].append(question)
    problems = []
    for question_id, questions in places.items():
        for question in questions if len(questions) > 1 else ():
            others = ", ".join(f"{q.path}:{q.line}" for q in questions if q is not question)
            message = f"question id {question_id} is also used at {others}"
            problems.append(
                Diagnostic(question.path, question.id_line, 1, ERROR, "duplicate-id", message)
            )
    return problems


def load_checked_project(paths: Iterable[Path] = (DEFAULT_DECKS,)) -> Project:
    """`load_project`, raising DeckError when there are errors."""
    project = load_project(paths)
    if errors(project.diagnostics):
        raise DeckError(errors(project.diagnostics))
    return project


def project_notes(
    project: Project, cache: Path | None = None
) -> Iterator[tuple[Source, list[NoteData]]]:
    """Every deck file's rendered notes, in order, a file or a part of a file at a time.

    Rendering is most of an export's time: questions found in the `cache` folder are not
    rendered again, and a large project renders on every core.
    """
    parts = [
        (source, replace(deck_file, questions=deck_file.questions[start : start + PART_SIZE]))
        for source, deck_file in zip(project.sources, project.deck_files, strict=True)
        for start in range(0, len(deck_file.questions), PART_SIZE)
    ]
    workers = _cores()
    if workers < 2 or sum(len(part.questions) for _, part in parts) < PARALLEL_FROM:
        yield from ((source, build_notes(part, source.root, cache)) for source, part in parts)
        return
    sources = [source for source, _ in parts]
    with ProcessPoolExecutor(workers) as pool:
        roots = [source.root for source in sources]
        rendered = pool.map(build_notes, [part for _, part in parts], roots, [cache] * len(parts))
        yield from zip(sources, rendered, strict=True)


def _cores() -> int:
    return (getattr(os, "process_cpu_count", None) or os.cpu_count)() or 1


def export(
    paths: Sequence[Path] = (DEFAULT_DECKS,),
    output: Path | None = None,
    dist: Path = DEFAULT_DIST,
    progress: Callable[[int, int], None] | None = None,
    now: int | None = None,
    cache: bool = True,
) -> ExportResult:
    """Export deck files to `.apkg` packages, and record what was exported in the build
    state beside them (see `state`).

    With `output`, one package holds every deck; otherwise each deck file becomes
    `dist/<its path below its folder>.apkg`. Raises DeckError, before writing anything,
    when the input has errors. `progress(done, total)` is called as questions are rendered.
    `cache=False` renders every question, ignoring the render cache (see `cache`).
    """
    project = load_checked_project(paths)
    states = _load_states({source.root for source in project.sources})
    now = int(time.time()) if now is None else now
    note_type = NoteType()
    type_hash = note_type_hash(note_type.fields, note_type.templates, note_type.css)
    type_mods = {root: state.stamp(None, type_hash, now) for root, state in states.items()}

    builds: dict[Path, list[NoteData]] = defaultdict(list)
    mods: dict[str, int] = {}
    type_mod: dict[Path, int] = defaultdict(int)
    total = sum(len(deck_file.questions) for deck_file in project.deck_files)
    done = 0
    for source, notes in project_notes(project, default_cache_folder() if cache else None):
        target = Path(output or dist / source.relative.with_suffix(".apkg"))
        file = source.relative.as_posix()
        for note in notes:
            state = states[source.root]
            mods[note.guid] = state.stamp(note.question.id, content_hash(note), now, file)
        builds[target] += notes
        type_mod[target] = max(type_mod[target], type_mods[source.root])
        done += len(notes)
        if progress:
            progress(done, total)

    result = ExportResult(warnings=project.diagnostics)
    result.removed = _removed_questions(project, paths, states)
    for target, notes in builds.items():
        note_mods = {note.guid: mods[note.guid] for note in notes}
        if write_package(notes, target, note_mods, type_mod[target]):
            result.written.append(target)
        else:
            result.up_to_date.append(target)
        result.notes += len(notes)
    result.decks = sorted({note.deck for notes in builds.values() for note in notes})
    for root, state in states.items():
        save_state(root, state)
    return result


def _load_states(roots: Iterable[Path]) -> dict[Path, BuildState]:
    states, problems = {}, []
    for root in sorted(roots):
        try:
            states[root] = load_state(root)
        except StateError as error:
            message = f"damaged build state ({error}); restore it from git"
            problems.append(
                Diagnostic(root / STATE_FILE, error.line, 1, ERROR, "bad-state", message)
            )
    if problems:
        raise DeckError(problems)
    return states


def _removed_questions(
    project: Project, paths: Sequence[Path], states: dict[Path, BuildState]
) -> list[RemovedQuestion]:
    """Questions the state knows that the Markdown no longer has, and mark them removed.

    Only questions of the deck files being exported count, or of every file once a
    whole folder is exported: exporting one file says nothing of the others.
    """
    present = {q.id for deck_file in project.deck_files for q in deck_file.questions}
    whole_folders = {Path(path) for path in paths if Path(path).is_dir()}
    exported = {(source.root, source.relative.as_posix()) for source in project.sources}
    removed = []
    for root, state in states.items():
        gone = [
            question_id
            for question_id, entry in state.questions.items()
            if entry.hash is not None
            and question_id not in present
            and (root in whole_folders or (root, entry.file) in exported)
        ]
        state.mark_removed(gone)
        removed += [RemovedQuestion(q, root / state.questions[q].file) for q in gone]
    return sorted(removed)


def anki_search(question_ids: Iterable[str]) -> str:
    """An Anki browser search that finds the notes of these questions: the field as
    stored, with Anki's wildcards and quotes escaped."""
    fields = (id_field(question_id) for question_id in question_ids)
    escaped = (re.sub(r'([\\"*_])', r"\\\1", field) for field in fields)
    return " OR ".join(f'"{QUESTION_ID_FIELD}:{field}"' for field in escaped)
