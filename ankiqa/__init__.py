"""ankiqa: Markdown question-and-answer notes → Anki packages that update in place."""

from .build import ExportResult, export
from .diagnostics import DeckError, Diagnostic
from .notes import NoteData, build_notes, deck_id, note_guid
from .parse import DeckFile, Question, parse_deck, read_deck_file
from .project import Project, check_project, load_project
from .render import CardRenderer

__all__ = [
    "CardRenderer",
    "DeckError",
    "DeckFile",
    "Diagnostic",
    "ExportResult",
    "NoteData",
    "Project",
    "Question",
    "build_notes",
    "check_project",
    "deck_id",
    "export",
    "load_project",
    "note_guid",
    "parse_deck",
    "read_deck_file",
]
