"""A project: the deck files named on the command line (see `discover`), parsed, checked
and rendered."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import unicodedata
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple, Protocol

from . import pipeline
from .cache import default_folder as default_cache_folder
from .config import ConfigError, Settings, find_settings
from .diagnostics import ERROR, WARNING, DeckError, Diagnostic, errors
from .discover import DEFAULT_DECKS, Source, find_sources, project_root
from .notes import NoteData
from .parse import DeckFile, joined, read_deck_parts
from .pipeline import Done, Part
from .state import STATE_FILE, BuildState, StateError, load_state


class Place(NamedTuple):
    """Where a question id is written: what the checks across deck files need of it."""

    id: str
    path: Path
    line: int


@dataclass
class Findings:
    """What reading, checking and rendering one deck file found: its problems but those
    across deck files, and the media files its notes looked for (see `unchanged`)."""

    problems: list[Diagnostic] = field(default_factory=list)
    media: set[Path] = field(default_factory=set)


@dataclass
class Project:
    """Parsed deck files, the build state of each folder they are in (see `state`), and
    every problem found in them."""

    sources: list[Source]
    deck_files: list[DeckFile]
    states: dict[Path, BuildState] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)
    folders: list[tuple[Path, str]] = field(default_factory=list)  # read whole: (root, below)
    media: set[Path] = field(default_factory=set)  # files its notes looked for, once rendered
    places: list[Place] = field(default_factory=list)  # of every question with an id read
    findings: dict[Source, Findings] = field(default_factory=dict)  # of each deck file read

    def read_all_of(self, root: Path, file: str) -> bool:
        """Whether every deck file that could hold `file` (a path below `root`, as the build
        state records it) was read: it lies in a folder that was read whole."""
        return any(
            folder_root == root and (below == "." or file.startswith(f"{below}/"))
            for folder_root, below in self.folders
        )


def load_project(paths: Iterable[Path] = (DEFAULT_DECKS,), cache: Path | None = None) -> Project:
    """Find and parse deck files and their build states, and check that no question id
    is used twice. See `cache` for `cache`."""
    project = open_project(paths)
    parts = itertools.groupby(read_deck_files(project, cache), key=lambda part: part[0])
    project.deck_files = [joined(deck_file for _, deck_file in part) for _, part in parts]
    project.diagnostics = sorted(project.diagnostics + id_problems(project.places))
    return project


def open_project(paths: Iterable[Path] = (DEFAULT_DECKS,)) -> Project:
    """The deck files `paths` name, their settings and build states, and the problems
    found in those, without reading a deck file yet (see `read_deck_files`)."""
    paths = [Path(path) for path in paths]
    sources, problems = find_sources(paths)  # a bad settings file is one of the problems
    try:
        settings = find_settings(paths[0]) if paths else Settings()
    except ConfigError:
        settings = Settings()
    states = {}
    for root in sorted({source.root for source in sources}):
        try:
            states[root] = load_state(root)
        except StateError as error:
            message = f"damaged build state ({error}); restore it from git"
            path = root / STATE_FILE
            problems.append(Diagnostic(path, error.line, 1, ERROR, "bad-state", message))
    folders = []  # read whole
    for path in filter(Path.is_dir, paths):
        root = project_root(path)
        folders.append((root, Path(os.path.relpath(path, root)).as_posix()))
    return Project(sources, [], states, problems, settings, folders)


def read_deck_files(
    project: Project,
    cache: Path | None,
    sources: Iterable[Source] | None = None,
    shared: pipeline.Workers | None = None,
) -> Iterator[tuple[Source, DeckFile]]:
    """Parse the project's deck files (or those of `sources`) one at a time, a large one
    in parts (see `parse.read_deck_parts`) on the `shared` worker pool if it runs when
    the file's turn comes, adding their problems and the places of their ids to the
    project (`id_problems` of those are the caller's, once all are read)."""
    for source in project.sources if sources is None else sources:
        pool = None if shared is None else shared.pool
        parts = read_deck_parts(source.path, source.deck_prefix, cache, pool)
        for number, deck_file in enumerate(parts):
            if number == 0:  # every part has every diagnostic of the file
                project.diagnostics += deck_file.diagnostics
                project.findings.setdefault(source, Findings()).problems += deck_file.diagnostics
            state = project.states.get(source.root)
            project.diagnostics += kind_problems(state, source.path, deck_file.questions)
            project.places += [
                Place(question.id, question.path, question.line)
                for question in deck_file.questions
                if question.id is not None
            ]
            yield source, deck_file


def id_problems(places: list[Place]) -> list[Diagnostic]:
    """`duplicate_ids` and `lookalike_ids`."""
    return duplicate_ids(places) + lookalike_ids(places)


def duplicate_ids(places: Iterable[Place]) -> list[Diagnostic]:
    """An error at every question whose id another question has too, naming the others
    (at their heading lines, where every problem of a question is reported)."""
    places = list(places)
    by_id = defaultdict(list)
    if len({place.id for place in places}) < len(places):  # quicker when none is shared
        for place in places:
            by_id[place.id].append(place)
    problems = []
    for question_id, questions in by_id.items():
        for question in questions if len(questions) > 1 else ():
            others = ", ".join(
                f"{q.path.as_posix()}:{q.line}" for q in questions if q is not question
            )
            message = f"question id {question_id} is also used at {others}"
            problems.append(
                Diagnostic(question.path, question.line, 1, ERROR, "duplicate-id", message)
            )
    return problems


def lookalike_ids(places: Iterable[Place]) -> list[Diagnostic]:
    """A warning at every question whose id looks like another's but is not the same:
    they differ only in case, Unicode normalization or invisible characters (two notes,
    where the author meant one), or mix scripts (a Cyrillic letter among Latin ones)."""
    by_skeleton = defaultdict(list)
    for place in places:
        by_skeleton[id_skeleton(place.id)].append(place)
    problems = []
    for questions in by_skeleton.values():
        if len({q.id for q in questions}) < 2:
            continue
        for question in questions:
            others = ", ".join(
                f"`{q.id}` at {q.path.as_posix()}:{q.line}"
                for q in questions
                if q.id != question.id
            )
            message = f"question id `{question.id}` looks like {others}: two notes, on purpose?"
            where = (question.path, question.line, 1)
            problems.append(Diagnostic(*where, WARNING, "lookalike-id", message))
    for place in places:
        scripts = set() if place.id.isascii() else _scripts(place.id)  # ASCII: Latin alone
        if len(scripts) > 1:
            message = f"question id `{place.id}` mixes scripts ({', '.join(sorted(scripts))})"
            problems.append(Diagnostic(place.path, place.line, 1, WARNING, "lookalike-id", message))
    return problems


def id_skeleton(question_id: str) -> str:
    """What an id looks like: normalized (NFKC, as Anki also stores fields normalized),
    case-folded, without invisible characters."""
    if question_id.isascii():  # the same, quicker: nothing to normalize, nothing invisible
        return "".join(question_id.split()).lower()
    visible = "".join(
        c for c in unicodedata.normalize("NFKC", question_id) if unicodedata.category(c) != "Cf"
    )
    return "".join(visible.split()).casefold().translate(_CONFUSABLES)


# Cyrillic and Greek letters that look like Latin ones, for `id_skeleton` (case-folded).
_CONFUSABLES = str.maketrans(
    "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0455\u0501\u03bf\u03b1\u03bd",
    "aeopcyxijsdoav",
)


def plain_id(question_id: str) -> bool:
    """Whether Anki stores and finds the id exactly as written: NFC, with no space, no
    invisible and no control character (NBSP, say, it may store as `&nbsp;`)."""
    return unicodedata.normalize("NFC", question_id) == question_id and not any(
        c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in question_id
    )


def _scripts(text: str) -> set[str]:
    """The scripts of the letters in `text`, by the first word of their Unicode names."""
    return {unicodedata.name(c, "?").split()[0] for c in text if c.isalpha()}


# How a question stays of each kind.
_KEEP_KIND = {
    "basic": "no `{{c1::…}}` cloze, no `reversed: yes` line, no `reversed: true` front matter",
    "reversed": "a `reversed: yes` line or `reversed: true` front matter, and no cloze",
    "cloze": "a `{{c1::…}}` cloze",
}


class Kinded(Protocol):
    """A question as `kind_problems` reads it: a parsed one, or one an unchanged deck
    file's record holds (see `unchanged`)."""

    @property
    def id(self) -> str | None: ...
    @property
    def line(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def clozes(self) -> tuple[int, ...]: ...


def kind_problems(
    state: BuildState | None, path: Path, questions: Iterable[Kinded]
) -> list[Diagnostic]:
    """An error at every question (of the deck file at `path`) whose kind (basic, reversed,
    cloze) is not the one it was exported with: Anki cannot move a note to another note
    type on import, it would report the note as conflicting and change nothing. A warning
    where a cloze number is gone: its card stays in Anki, empty."""
    problems: list[Diagnostic] = []
    if state is None:
        return problems
    for question in questions:
        entry = state.questions.get(question.id) if question.id else None
        if entry is None:
            continue
        where = (path, question.line, 1)
        if entry.kind == question.kind:
            gone = sorted(set(entry.clozes) - set(question.clozes))
            if gone and entry.hash is not None:
                numbers = ", ".join(f"c{number}" for number in gone)
                message = (
                    f"cloze {numbers} removed: Anki keeps its card, now empty (Tools → Empty"
                    " Cards in Anki deletes it), or give the number back"
                )
                problems.append(Diagnostic(*where, WARNING, "cloze-removed", message))
            continue
        if entry.hash is None:  # removed before, and the user was told to delete it
            message = (
                f"this question's id was a {entry.kind} note, removed from the Markdown;"
                f" it is {question.kind} now: if that note is still in Anki, delete it"
                " first, or Anki reports this one as conflicting"
            )
            problems.append(Diagnostic(*where, WARNING, "kind-changed", message))
            continue
        message = (
            f"this question was exported as a {entry.kind} note and is now {question.kind}:"
            " Anki cannot change a note's type on import. Keep it"
            f" {entry.kind} ({_KEEP_KIND[entry.kind]}), or give it a new id (delete the id"
            " line and run `ankiqa ids`) to make a new note; the old one keeps its reviews"
        )
        problems.append(Diagnostic(*where, ERROR, "kind-changed", message))
    return problems


def check_decks(
    paths: Iterable[Path] = (DEFAULT_DECKS,), use_cache: bool = True
) -> list[Diagnostic]:
    """Every problem `ankiqa check` reports in these deck files and folders, sorted."""
    cache = default_cache_folder() if use_cache else None
    return check_project(load_project(paths, cache), cache)


def check_project(project: Project, cache: Path | None = None) -> list[Diagnostic]:
    """The project's diagnostics and those of every check in `check`, sorted, each once
    (so checking a project twice gives the same list)."""
    found = set(project.diagnostics)
    for _, done in _run(_loaded(project), cache, render=False):
        found.update(done.problems)
    return sorted(found)


def checked_notes(
    project: Project,
    cache: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[Source, list[NoteData]]]:
    """Every deck file's notes, a file or part of one at a time, after every check of
    `ankiqa check`: raises DeckError when there are errors; the project's diagnostics are
    then its warnings. `progress(done, total)` is called as questions are rendered."""
    return list(stream_checked_notes(project, cache, progress))


def stream_checked_notes(
    project: Project,
    cache: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    sources: list[Source] | None = None,
) -> Iterator[tuple[Source, list[NoteData]]]:
    """`checked_notes`, given as they are rendered. A project from `open_project` has its
    deck files read as their turn comes, so that one at a time is held: an error may then
    show only once every note was given (a DeckError after the last), and what was made
    of the notes is for nothing. Such a project may have only some of its deck files read
    (`sources`): the places and problems of the others are then the caller's to add to
    the project (see `unchanged`), before the last note is taken."""
    found = set(project.diagnostics)
    opened = len(project.deck_files) < len(project.sources)
    expected = 0  # questions, if known before the deck files are read (see `pipeline.run_all`)
    shared = pipeline.Workers()  # run_all's pool, which the reader parses on too
    if opened:
        sources = project.sources if sources is None else sources
        deck_files = read_deck_files(project, cache, sources, shared)
        limit = None if progress else pipeline.PARALLEL_FROM
        total = expected = _question_count(sources, limit)
    else:
        deck_files, total = _loaded(project), _questions(project)
    rendered = 0
    for source, done in _run(deck_files, cache, expected, shared):
        found.update(done.problems)
        findings = project.findings.setdefault(source, Findings())
        findings.problems += done.problems
        findings.media |= done.media
        project.media |= done.media
        rendered += len(done.notes)
        if progress:
            progress(rendered, max(rendered, total))
        yield source, done.notes
    found.update(project.diagnostics)
    if opened:
        found.update(id_problems(project.places))
    project.diagnostics = sorted(found)
    if errors(project.diagnostics):
        raise DeckError(errors(project.diagnostics))


def _question_count(sources: list[Source], limit: int | None = None) -> int:
    """About how many questions these deck files hold, from their `###` lines, without
    parsing them; counted until `limit` is reached, if given."""
    count = 0
    for source in sources:
        if limit is not None and count >= limit:
            break
        with contextlib.suppress(OSError):
            data = source.path.read_bytes()
            count += bool(_FIRST_QUESTION_LINE.match(data)) + len(_QUESTION_LINE.findall(data))
    return count


_FIRST_QUESTION_LINE = re.compile(rb" {0,3}###[ \t]")
# The others: a literal first, so that the search skips from one "\n" to the next.
_QUESTION_LINE = re.compile(b"\n" + _FIRST_QUESTION_LINE.pattern)


def _questions(project: Project) -> int:
    return sum(len(deck_file.questions) for deck_file in project.deck_files)


def _loaded(project: Project) -> Iterator[tuple[Source, DeckFile]]:
    return zip(project.sources, project.deck_files, strict=True)


def project_notes(
    project: Project, cache: Path | None = None
) -> Iterator[tuple[Source, list[NoteData]]]:
    """Every deck file's rendered notes, in order, a file or a part of a file at a time,
    whatever problems its questions have (see `checked_notes` for an export's)."""
    for source, done in _run(_loaded(project), cache, check=False, render_invalid=True):
        yield source, done.notes


def _run(
    deck_files: Iterable[tuple[Source, DeckFile]],
    cache: Path | None,
    expected: int = 0,
    shared: pipeline.Workers | None = None,
    **what: bool,
) -> Iterator[tuple[Source, Done]]:
    """`pipeline.run` on every deck file, in parts (see `pipeline.parts_of`); `what`
    are a Part's settings. Deck files are taken from `deck_files` as the parts are;
    `expected` is about how many questions they hold, if known before, and the worker
    pool is `shared` while it runs (see `pipeline.run_all`)."""
    sources: deque[Source] = deque()

    def parts() -> Iterator[Part]:
        for source, deck_file in deck_files:
            for questions in pipeline.parts_of(deck_file.questions):
                sources.append(source)
                yield Part(replace(deck_file, questions=questions), source.root, **what)

    for done in pipeline.run_all(parts(), cache, expected, shared):
        yield sources.popleft(), done
