"""What an unchanged deck file gives an export, recorded so that a re-export after an edit
reads, checks and renders only the deck files that changed.

Once an export has read a deck file without an error in it, the cache keeps a record of
it (see `cache`), keyed by a hash of the file's bytes, its place in the project, its
settings and ankiqa's fingerprint. A record holds the file's diagnostics (but those that
depend on other files or on the build state: duplicate and look-alike ids, kind changes,
which are found again from the record), and of each note what the build state, the
ledger and its package's inputs need: id, line, GUID, content hash, kind, clozes, deck
and media files. Never a field: nothing a record holds reaches a card, so a crafted one
can at worst make an export report wrong problems or rebuild a package. A record is used
only while every media file its notes looked for is as it was, and only if it holds what
`to_json` writes (a cache is never trusted).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import file_hash_or_none, file_stat
from .cache import Cache, fingerprint
from .config import Settings
from .diagnostics import WARNING, Diagnostic
from .discover import Source
from .notetypes import NOTE_TYPES
from .state import content_hash

if TYPE_CHECKING:
    from .notes import NoteData
    from .project import Findings


@dataclass(frozen=True, slots=True)
class RecordedNote:
    """A note of an unchanged deck file, without its fields."""

    id: str
    line: int  # of its question's heading
    guid: str
    content: str  # see `state.content_hash`
    kind: str
    clozes: tuple[int, ...]
    deck: str
    media: tuple[tuple[str, str], ...]  # (name, path) of each media file, as packaged


# A note's values as a record holds them, in the order `_note` reads them back.
_VALUES = attrgetter("id", "line", "guid", "content", "kind", "clozes", "deck", "media")


def recorded(note: NoteData) -> RecordedNote:
    """What a record keeps of a note."""
    question = note.question
    media = tuple((file.name, str(file.path)) for file in note.media)
    kind, content = note.note_type.kind, content_hash(note)
    return RecordedNote(
        note.question_id, question.line, note.guid, content, kind, question.clozes, note.deck, media
    )


@dataclass
class FileRecord:
    """What a deck file gave an export."""

    notes: list[RecordedNote] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)  # its warnings (see `Findings`)
    media: dict[str, list[int]] = field(default_factory=dict)  # looked for → `_stat`

    def to_json(self) -> str:
        notes = [_VALUES(note) for note in self.notes]
        diagnostics = [d.to_json() for d in self.diagnostics]
        record = {"notes": notes, "diagnostics": diagnostics, "media": self.media}
        return json.dumps(record, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, path: Path) -> FileRecord | None:
        """What `to_json` wrote for the deck file at `path`, or None for anything else."""
        try:
            record = json.loads(text)
            notes = [_note(values) for values in record["notes"]]
            diagnostics = [_diagnostic(d, path) for d in record["diagnostics"]]
            media = {str(name): [int(n) for n in stat] for name, stat in record["media"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        return cls(notes, diagnostics, media)

    def media_unchanged(self) -> bool:
        return all(file_stat(Path(path)) == stat for path, stat in self.media.items())


def _note(values: list) -> RecordedNote:
    """A note read back from JSON; raises ValueError or TypeError for anything that a
    note's record cannot hold."""
    question_id, line, guid, content, kind, clozes, deck, media = values
    texts = {type(question_id), type(guid), type(content), type(deck)}
    if texts != {str} or type(line) is not int or type(media) is not list:
        raise TypeError("a value of the wrong type")
    if kind not in NOTE_TYPES or (clozes and {type(number) for number in clozes} != {int}):
        raise ValueError("not a note's kind or clozes")
    files = tuple((str(name), str(path)) for name, path in media)
    return RecordedNote(question_id, line, guid, content, kind, tuple(clozes), deck, files)


def _diagnostic(record: dict, path: Path) -> Diagnostic:
    """A warning of the deck file at `path` read back from JSON (a deck file with an
    error has no record)."""
    if record["file"] != path.as_posix() or record["severity"] != WARNING:
        raise ValueError("not a warning of this deck file")
    if not (type(record["line"]) is int and type(record["column"]) is int):
        raise TypeError("a value of the wrong type")
    return Diagnostic(
        path, record["line"], record["column"], WARNING, str(record["code"]), str(record["message"])
    )


def file_key(source: Source, settings: Settings, sha256: str) -> str:
    """What a deck file's record is kept under: its bytes' hash, and everything else its
    notes and diagnostics depend on, but media files (see `FileRecord.media_unchanged`)."""
    where = [str(source.path), str(source.root), repr(source.settings), repr(settings)]
    parts = [fingerprint(), *where, sha256]
    return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()


def read_key(source: Source, settings: Settings) -> str | None:
    """`file_key` of the deck file as it is now; None if it cannot be read."""
    sha256 = file_hash_or_none(source.path)
    return None if sha256 is None else file_key(source, settings, sha256)


def recall(known: Cache, key: str | None, source: Source) -> FileRecord | None:
    """The record kept under `key` for `source`, if its media files are as they were."""
    text = known.deck_file(key) if key is not None else None
    record = FileRecord.from_json(text, source.path) if text is not None else None
    return record if record is not None and record.media_unchanged() else None


def remember(
    known: Cache,
    key: str | None,
    source: Source,
    settings: Settings,
    notes: list[RecordedNote],
    findings: Findings | None,
) -> None:
    """Keep the record of a deck file that an export has just read, unless it has an
    error or changed since the export began (`key`)."""
    if key is None or findings is None or read_key(source, settings) != key:
        return
    if any(problem.severity != WARNING for problem in findings.problems):
        return
    media = {str(path): file_stat(path) for path in sorted(findings.media)}
    known.put_deck_file(key, FileRecord(notes, findings.problems, media).to_json())
