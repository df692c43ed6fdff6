"""The build state: what each note held when it was last exported, and its `mod`.

Anki updates a note on import only when the package's `mod` is newer than its own, so
a note keeps its recorded `mod` for as long as its content is unchanged: re-importing
then leaves it, and any edit made to it in Anki, alone. A note whose content changed
gets a new `mod`. The state is a file committed beside the decks, one JSON line per
question, sorted, so that a fresh clone builds the very same bytes and git diffs and
merges stay line by line.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Container, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import write_atomically

if TYPE_CHECKING:  # light to import: an export that changes nothing reads no more (see `fresh`)
    from .notes import NoteData
    from .notetypes import NoteType

STATE_FILE = "ankiqa-state.jsonl"
FORMAT = 1
_HEADER_KEY = "ankiqa-state"


class StateError(ValueError):
    """The state file is damaged: `line` says where."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


@dataclass(frozen=True, slots=True)  # one per question, kept for the whole export
class Entry:
    """One question's (or the note type's) last exported content hash and `mod`."""

    hash: str | None  # None once the question is gone from the Markdown
    mod: int
    file: str = ""  # the deck file, relative to the state's folder
    kind: str = "basic"  # the note type's (see `notetypes`): Anki cannot change it
    clozes: tuple[int, ...] = ()  # a cloze note's numbers: each is a card in Anki


@dataclass
class BuildState:
    note_types: dict[str, Entry]  # by kind
    questions: dict[str, Entry]

    @classmethod
    def empty(cls) -> BuildState:
        return cls({}, {})

    def stamp(
        self,
        question_id: str,
        content_hash: str,
        now: int,
        file: str,
        kind: str = "basic",
        clozes: tuple[int, ...] = (),
    ) -> int:
        """The `mod` of a question's note with this content (see `_stamped`)."""
        entry = self.questions.get(question_id)
        recorded = (content_hash, file, kind, clozes)
        if entry is not None and (entry.hash, entry.file, entry.kind, entry.clozes) == recorded:
            return entry.mod  # as recorded: the same entry
        entry = _stamped(entry, content_hash, now, file)
        self.questions[question_id] = replace(entry, kind=kind, clozes=clozes)
        return entry.mod

    def raise_mod(self, question_id: str, mod: int) -> int:
        """Give a stamped question at least this `mod`; returns its `mod`."""
        entry = self.questions[question_id]
        if mod > entry.mod:
            self.questions[question_id] = replace(entry, mod=mod)
        return self.questions[question_id].mod

    def stamp_note_type(self, kind: str, content_hash: str, now: int) -> int:
        self.note_types[kind] = _stamped(self.note_types.get(kind), content_hash, now, "")
        return self.note_types[kind].mod

    def mark_removed(self, question_ids: Iterable[str]) -> None:
        for question_id in question_ids:
            self.questions[question_id] = replace(self.questions[question_id], hash=None)

    def to_text(self) -> str:
        """One JSON line a question, sorted. The basic note type and kind are written as
        before there were others, so that state files of earlier versions stay as they are."""
        header: dict = {_HEADER_KEY: FORMAT}
        types = {kind: {"hash": e.hash, "mod": e.mod} for kind, e in self.note_types.items()}
        if "basic" in types:
            header["note_type"] = types.pop("basic")
        if types:
            header["note_types"] = dict(sorted(types.items()))
        lines = [_json_line(header)]
        text = _JSON_LINE.encode  # a line a question, as `_json_line` writes its record
        for question_id in sorted(self.questions):
            entry = self.questions[question_id]
            line = f'{{"id": {text(question_id)}, "file": {text(entry.file)}, '
            line += f'"hash": {text(entry.hash)}, "mod": {entry.mod}'
            if entry.kind != "basic":
                line += f', "kind": {text(entry.kind)}'
            if entry.clozes:
                line += f', "clozes": [{", ".join(map(str, entry.clozes))}]'
            lines.append(line + "}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_text(cls, text: str) -> BuildState:
        """Parse a state file. Raises StateError when it is damaged."""
        from .notetypes import NOTE_TYPES  # genanki: imported once a state is read

        state = cls.empty()
        # Not splitlines(): it also breaks at U+2028 and U+0085, which JSON leaves as they are.
        for number, line in enumerate(text.split("\n"), start=1):
            try:
                plain = _PLAIN_LINE.fullmatch(line)
                if plain:  # most lines: the entry the JSON parser and `_read` would make
                    state.questions[plain[1]] = Entry(plain[3], int(plain[4]), plain[2])
                elif line.strip():
                    state._read(json.loads(line), NOTE_TYPES.keys())
            except (ValueError, KeyError, TypeError) as error:  # int() too, past 4,300 digits
                raise StateError(number, f"{type(error).__name__}: {error}") from None
        return state

    def _read(self, record: dict, kinds: Container[str]) -> None:
        if not isinstance(record, dict):
            raise TypeError("a line that is not a JSON object")
        if _HEADER_KEY not in record:
            kind, clozes = record.get("kind", "basic"), tuple(record.get("clozes", ()))
            if kind not in kinds:
                raise ValueError(f"unknown kind {kind!r}")
            if not (
                type(record["id"]) is str
                and type(record["file"]) is str
                and (type(record["hash"]) is str or record["hash"] is None)
                and type(record["mod"]) is int
                and (not clozes or {type(number) for number in clozes} == {int})
            ):
                raise TypeError("a value of the wrong type")
            entry = Entry(record["hash"], record["mod"], record["file"], kind, clozes)
            self.questions[record["id"]] = entry
            return
        if record[_HEADER_KEY] != FORMAT:
            raise ValueError(f"unknown state format {record[_HEADER_KEY]!r}")
        types = {**record.get("note_types", {})}
        if "note_type" in record:
            types["basic"] = record["note_type"]
        for kind, entry in types.items():
            if kind not in kinds or not isinstance(entry["hash"], str):
                raise ValueError(f"a note type entry that is not ankiqa's: {kind!r}")
            if type(entry["mod"]) is not int:
                raise TypeError("a value of the wrong type")
            self.note_types[kind] = Entry(entry["hash"], entry["mod"])


# A question's line as `to_text` writes it for a basic note, with text that JSON does not
# escape: read without the JSON parser (a state of 10k questions: 38 ms → 27 ms). Any
# other line is read as JSON.
_TEXT = r'"([^"\\\x00-\x1f]*)"'
_PLAIN_LINE = re.compile(
    rf'\{{"id": {_TEXT}, "file": {_TEXT}, "hash": "([0-9a-f]*)", "mod": (-?(?:0|[1-9][0-9]*))\}}'
)


def _stamped(entry: Entry | None, content_hash: str, now: int, file: str) -> Entry:
    """The entry for content: its recorded `mod` if unchanged, else a new one, later than
    both the clock and the recorded one (so two builds in one second still differ)."""
    if entry is not None and entry.hash == content_hash:
        return Entry(content_hash, entry.mod, file)
    return Entry(content_hash, max(now, entry.mod + 1) if entry else now, file)


def _json_line(record: dict) -> str:
    return _JSON_LINE.encode(record)


_JSON_LINE = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))  # made once: quicker


def content_hash(note: NoteData) -> str:
    """A hash of everything an import would write into the note."""
    content = [note.guid, list(note.fields), list(note.tags), note.deck]
    return _hash(content)


def note_type_hash(note_type: NoteType, styles: tuple[str, str]) -> str:
    return _hash(note_type.schema(styles))


def _hash(content: list) -> str:
    canonical = _CANONICAL.encode(content)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]


_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # as json.dumps with these


def load_state(folder: Path) -> BuildState:
    path = Path(folder) / STATE_FILE
    if not path.is_file():
        return BuildState.empty()
    return BuildState.from_text(path.read_text(encoding="utf-8"))


def save_state(folder: Path, state: BuildState) -> bool:
    """Write the state file. Returns False, without writing, if it is unchanged."""
    return write_atomically(Path(folder) / STATE_FILE, state.to_text().encode("utf-8"))
