"""Which deck files the paths on the command line name, and the folder each belongs to.

Light on purpose: an export that finds nothing changed (see `fresh`) decides from this
and from file hashes, before the Markdown engine is imported.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .config import ConfigError, Settings, find_settings
from .diagnostics import ERROR, Diagnostic
from .state import STATE_FILE

DEFAULT_DECKS = Path("decks")
DECK_SUFFIXES = (".md", ".markdown")


@dataclass(frozen=True)
class Source:
    """A deck file, and the folder its deck name and package path are relative to."""

    path: Path
    root: Path
    settings: Settings = field(default_factory=Settings)  # of the project it belongs to

    @property
    def relative(self) -> Path:
        return Path(os.path.relpath(self.path, self.root))

    @property
    def deck_prefix(self) -> str:
        """`Parent::Child::` for a file in `root/Parent/Child/`, below the settings'
        prefix."""
        folders = [self.settings.deck_prefix] if self.settings.deck_prefix else []
        return "".join(f"{folder}::" for folder in [*folders, *self.relative.parent.parts])


def find_sources(paths: Iterable[Path]) -> tuple[list[Source], list[Diagnostic]]:
    """Deck files named by `paths`: a file itself (whatever its name), or every `.md` and
    `.markdown` file below a folder.

    Files in hidden folders (such as `.git`) are skipped.
    """
    sources, problems = [], []
    seen: set[Path] = set()  # a file named twice (`decks decks/a.md`) is read once
    for path in map(Path, paths):
        try:
            settings = find_settings(path) if path.exists() else Settings()
        except ConfigError as error:
            problems.append(Diagnostic(error.path, 1, 1, ERROR, "bad-config", error.message))
            continue
        if path.is_dir():
            found = sorted(
                file
                for file in path.rglob("*")
                if file.suffix.lower() in DECK_SUFFIXES
                and file.is_file()
                and not any(part.startswith(".") for part in file.relative_to(path).parts)
            )
            root = project_root(path, settings)
            sources += [Source(file, root, settings) for file in found if _first_time(file, seen)]
            if not found:
                problems.append(
                    Diagnostic(path, 1, 1, ERROR, "no-decks", "no .md or .markdown files in folder")
                )
        elif path.is_file():
            if _first_time(path, seen):
                sources.append(Source(path, project_root(path, settings), settings))
        else:
            problems.append(Diagnostic(path, 1, 1, ERROR, "not-found", "no such file or folder"))
    named = [source for source in sources if _utf8_name(source.path)]
    for source in sources:
        if not _utf8_name(source.path):
            message = "file name is not UTF-8: rename it (its name is the deck's)"
            problems.append(Diagnostic(source.path, 1, 1, ERROR, "bad-file-name", message))
    return named, problems


def _utf8_name(path: Path) -> bool:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _first_time(path: Path, seen: set[Path]) -> bool:
    resolved = path.resolve()
    if resolved in seen:
        return False
    seen.add(resolved)
    return True


def project_root(path: Path, settings: Settings | None = None) -> Path:
    """The folder that deck names, package paths and the build state of `path` (a deck
    file or a folder of them) are relative to, found from `path` alone, so that exporting
    part of a project gives what exporting all of it gives, from any working folder: the
    settings' decks folder when `path` is in it (see `config`); else the outermost folder
    at or above `path` with a build state; else the nearest folder named `decks`; else
    the folder itself (or the file's). `settings` are `path`'s, when they are known."""
    folder = path if path.is_dir() else path.parent
    here = [folder.absolute(), *folder.absolute().parents]
    if settings is None:
        try:
            settings = find_settings(path)
        except ConfigError:  # reported by find_sources
            settings = Settings()
    decks = (settings.root / settings.decks).absolute() if settings.root else None
    with_state = [candidate for candidate in here if (candidate / STATE_FILE).is_file()]
    named_decks = [candidate for candidate in here if candidate.name == DEFAULT_DECKS.name]
    if decks in here:
        root = decks
    elif with_state:
        root = with_state[-1]
    elif named_decks:
        root = named_decks[0]
    else:
        return folder
    return root if path.is_absolute() else _relative(root)


def _relative(folder: Path) -> Path:
    """`folder` relative to the working folder, as paths in messages are."""
    try:
        return Path(os.path.relpath(folder))
    except ValueError:  # on another drive (Windows)
        return folder
