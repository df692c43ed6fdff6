"""Questions → the notes Anki will hold: rendered fields, tags, deck and media.

The identity contract lives here: a note's GUID comes from its question id alone, so a
question keeps its review history wherever it moves and however it is edited.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote, urlsplit

import genanki

from .cache import Cache
from .notetypes import NOTE_TYPES, NoteType
from .parse import DeckFile, Question
from .render import CardRenderer

GUID_NAMESPACE = "ankiqa"


def note_guid(question_id: str) -> str:
    """The Anki GUID of a question's note. Frozen: changing it duplicates every card."""
    return genanki.guid_for(GUID_NAMESPACE, question_id)


def id_field(question_id: str) -> str:
    """The `Question ID` field: the id as HTML text."""
    return html.escape(question_id, quote=False)


def deck_id(deck_name: str) -> int:
    """A stable id for a deck name (Anki matches decks by name, but the package needs ids)."""
    digest = hashlib.sha256(f"ankiqa deck {deck_name}".encode()).digest()
    return (1 << 48) | int.from_bytes(digest[:6], "big")


@dataclass(frozen=True)
class MediaFile:
    name: str  # as the card refers to it, and as Anki stores it
    path: Path


@dataclass(frozen=True)
class NoteData:
    """Everything that ends up in one Anki note: a question, rendered."""

    question: Question
    note_type: NoteType
    fields: tuple[str, ...]  # as the note type names them
    media: tuple[MediaFile, ...]

    @property
    def question_id(self) -> str:
        if self.question.id is None:  # notes are made of questions with ids only
            raise ValueError(f"question on line {self.question.line} has no id")
        return self.question.id

    @cached_property
    def guid(self) -> str:
        return note_guid(self.question_id)

    @property
    def tags(self) -> tuple[str, ...]:
        return self.question.tags

    @property
    def deck(self) -> str:
        return self.question.deck


def build_notes(deck_file: DeckFile, root: Path, cache: Path | None = None) -> list[NoteData]:
    """Render every question of a deck file that has an id.

    Images, sounds and videos are taken from files inside `root` only, so a deck shared
    with you cannot copy other files of yours into a package. With a `cache` folder,
    questions rendered before are not rendered again (see `cache`); those with local
    media files always are, since their fields depend on the files too.
    """
    media = MediaFinder(deck_file.path.parent, root)
    with Cache(cache) as rendered, CardRenderer(media_src=media.src) as renderer:
        return [
            render_note(question, renderer, rendered, media)
            for question in deck_file.questions
            if question.id is not None
        ]


class MediaFinder:
    """The media files of the question being rendered, found inside `root` only: `src`
    is a CardRenderer's `media_src`."""

    def __init__(self, folder: Path, root: Path):
        self.folder, self.root = folder, root
        self.found: dict[str, MediaFile | None] = {}  # by src
        self.looked_at: set[Path] = set()  # every file looked for, found or not (see `fresh`)

    def src(self, src: str) -> str:
        image = local_image(src, self.folder, self.root)
        if image is None:  # on the web, or not allowed: the card keeps the src as it is
            return src
        self.looked_at.add(image)
        found = MediaFile(media_name(image), image) if media_problem(image) is None else None
        self.found[src] = found
        return found.name if found else src


def render_note(
    question: Question,
    renderer: CardRenderer,
    rendered: Cache,
    media: MediaFinder,
    trees: tuple | None = None,
) -> NoteData:
    """A question with an id as its note, from the cache or rendered by `renderer` (whose
    `media_src` is `media.src`), from its `question_trees` when they are given."""
    assert question.id is not None
    media.found.clear()
    cached = rendered.get(question.render_key)
    if cached is not None and cached.signed:  # rendered and sanitized by this code
        fields = cached.front, cached.back
    elif cached is not None:  # the cache may be shared: what it gives is sanitized again
        fields = renderer.clean_field(cached.front), renderer.clean_field(cached.back)
    else:
        fields = renderer.question(question, trees)
        if not media.found:
            rendered.put(question.render_key, *fields)
    files = {file.name: file for file in media.found.values() if file}
    note_type = NOTE_TYPES[question.kind]
    return NoteData(
        question=question,
        note_type=note_type,
        fields=(*note_fields(note_type, *fields), id_field(question.id)),
        media=tuple(files[name] for name in sorted(files)),
    )


def note_fields(note_type: NoteType, front: str, back: str) -> tuple[str, ...]:
    """A question's rendered heading and answer as the fields of its note type (but the
    id, which every note type has last). A cloze note shows both in one field: the
    question is the context of its clozes."""
    if note_type.cloze:
        answer = f'\n<div class="answer">{back}</div>' if back else ""
        return (f'<div class="question">{front}</div>{answer}',)
    return front, back


def local_image(src: str, folder: Path, root: Path) -> Path | None:
    """The file an image `src` names, if it is a relative path that stays inside `root`."""
    parts = urlsplit(src)
    if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
        return None
    path = folder / unquote(parts.path)
    with contextlib.suppress(OSError, RuntimeError, ValueError):  # a symlink loop, a NUL
        path = path.resolve()
    return path if path.absolute().is_relative_to(root.resolve()) else None


MAX_MEDIA_BYTES = 100 * 1024 * 1024  # what Anki's sync takes in one file


def media_problem(path: Path) -> str | None:
    """Why the media file `path` cannot be packaged ("not found", "too large"), or None."""
    try:
        if not path.is_file():
            return "not found"
        if path.stat().st_size > MAX_MEDIA_BYTES:
            return "too large"
    except (OSError, ValueError):  # a name too long, a NUL in it
        return "not found"
    return None


# Anki drops a media file whose name a field refers to URL-encoded, as Markdown images
# are: only these characters are written as they are.
_UNSAFE_IN_MEDIA_NAMES = re.compile(r"[^A-Za-z0-9._-]+")


def media_name(path: Path) -> str:
    """A media file's name in Anki: its own name plus a hash of its bytes.

    Anki's media folder is flat and shared by every deck, and an import only copies a
    file when a note that refers to it changes. Naming by content makes an edited image
    a new name, so the note changes and the new image arrives.
    """
    digest_of = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest_of.update(block)
    digest = digest_of.hexdigest()[:12]
    stem = _UNSAFE_IN_MEDIA_NAMES.sub("_", path.stem)[:60]
    suffix = _UNSAFE_IN_MEDIA_NAMES.sub("_", path.suffix)[:10]
    return f"{stem}-{digest}{suffix}"
