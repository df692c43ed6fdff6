"""ankiqa: Markdown question-and-answer notes → Anki packages that update in place.

Everything the command line does is a function here: `check_decks` (`ankiqa check`),
`add_ids_to_files` (`ankiqa ids`), `build_decks` (the notes, in memory), `export`
(`ankiqa export`), `compare` (`ankiqa diff`) and `push` (`ankiqa push`, with the `anki`
extra).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .punctuation import skip_mistletoes_table

skip_mistletoes_table()  # before anything imports mistletoe

# Each name is imported from its module when first used: `ankiqa export` with nothing
# changed never imports the Markdown engine (see `fresh`).
_MODULES = {
    "ExportResult": "build",
    "build_decks": "build",
    "export": "build",
    "DeckError": "diagnostics",
    "Diagnostic": "diagnostics",
    "Diff": "diff",
    "PackageError": "diff",
    "compare": "diff",
    "IdsReport": "ids",
    "add_ids_to_files": "ids",
    "NoteData": "notes",
    "build_notes": "notes",
    "deck_id": "notes",
    "note_guid": "notes",
    "NOTE_TYPES": "notetypes",
    "NoteType": "notetypes",
    "DeckFile": "parse",
    "Question": "parse",
    "parse_deck": "parse",
    "read_deck_file": "parse",
    "Project": "project",
    "check_decks": "project",
    "check_project": "project",
    "load_project": "project",
    "PushResult": "pushing",
    "push": "pushing",
    "CardRenderer": "render",
}

if TYPE_CHECKING:
    from .build import ExportResult, build_decks, export
    from .diagnostics import DeckError, Diagnostic
    from .diff import Diff, PackageError, compare
    from .ids import IdsReport, add_ids_to_files
    from .notes import NoteData, build_notes, deck_id, note_guid
    from .notetypes import NOTE_TYPES, NoteType
    from .parse import DeckFile, Question, parse_deck, read_deck_file
    from .project import Project, check_decks, check_project, load_project
    from .pushing import PushResult, push
    from .render import CardRenderer


def __getattr__(name: str) -> object:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_MODULES[name]}", __name__), name)


__all__ = [
    "NOTE_TYPES",
    "CardRenderer",
    "DeckError",
    "DeckFile",
    "Diagnostic",
    "Diff",
    "ExportResult",
    "IdsReport",
    "NoteData",
    "NoteType",
    "PackageError",
    "Project",
    "PushResult",
    "Question",
    "add_ids_to_files",
    "build_decks",
    "build_notes",
    "check_decks",
    "check_project",
    "compare",
    "deck_id",
    "export",
    "load_project",
    "note_guid",
    "parse_deck",
    "push",
    "read_deck_file",
]
