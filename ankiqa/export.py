"""The whole pipeline: deck files → parse → check → build notes → write packages."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import ERROR, DeckError, Diagnostic, errors
from .notes import NoteData, build_notes
from .package import write_package
from .parse import DeckFile, read_deck_file

DEFAULT_DECKS = Path("decks")
DEFAULT_DIST = Path("dist")
DECK_SUFFIX = ".md"


@dataclass(frozen=True)
class Source:
    """A deck file, and the folder its deck name and package path are relative to."""

    path: Path
    root: Path

    @property
    def deck_prefix(self) -> str:
        """`Parent::Child::` for a file in `root/Parent/Child/`."""
        folders = self.path.relative_to(self.root).parent.parts
        return "".join(f"{folder}::" for folder in folders)


@dataclass
class Project:
    """Parsed deck files and every problem found in them."""

    sources: list[Source]
    deck_files: list[DeckFile]
    diagnostics: list[Diagnostic] = field(default_factory=list)


@dataclass
class ExportResult:
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
            sources.append(Source(path, path.parent))
        else:
            problems.append(Diagnostic(path, 1, 1, ERROR, "not-found", "no such file or folder"))
    return sources, problems


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


def export(
    paths: Sequence[Path] = (DEFAULT_DECKS,),
    output: Path | None = None,
    dist: Path = DEFAULT_DIST,
    progress: Callable[[int, int], None] | None = None,
    now: int | None = None,
) -> ExportResult:
    """Export deck files to `.apkg` packages.

    With `output`, one package holds every deck; otherwise each deck file becomes
    `dist/<its path below its folder>.apkg`. Raises DeckError, before writing anything,
    when the input has errors. `progress(done, total)` is called as questions are rendered.
    """
    project = load_project(paths)
    if errors(project.diagnostics):
        raise DeckError(errors(project.diagnostics))

    builds: dict[Path, list[NoteData]] = defaultdict(list)
    total = sum(len(deck_file.questions) for deck_file in project.deck_files)
    done = 0
    for source, deck_file in zip(project.sources, project.deck_files, strict=True):
        notes = build_notes(deck_file, source.root)
        target = output or dist / source.path.relative_to(source.root).with_suffix(".apkg")
        builds[Path(target)] += notes
        done += len(notes)
        if progress:
            progress(done, total)

    stamp = int(time.time()) if now is None else now
    result = ExportResult(warnings=project.diagnostics)
    for target, notes in builds.items():
        mods = {note.guid: stamp for note in notes}
        if write_package(notes, target, mods, notetype_mod=stamp):
            result.written.append(target)
        else:
            result.up_to_date.append(target)
        result.notes += len(notes)
    result.decks = sorted({note.deck for notes in builds.values() for note in notes})
    return result
