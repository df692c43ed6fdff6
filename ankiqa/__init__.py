"""ankiqa: Markdown question-and-answer notes → Anki packages that update in place.

Everything the command line does is a function here: `check_decks` (`ankiqa check`),
`add_ids_to_files` (`ankiqa ids`), `build_decks` (the notes, in memory), `export`
(`ankiqa export`), `compare` (`ankiqa diff`) and `push` (`ankiqa push`, with the `anki`
extra).
"""

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
