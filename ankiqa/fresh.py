"""Whether an export would change nothing, decided from file hashes alone, before the
Markdown engine, Pygments and genanki are imported.

Every export that saved its build state leaves a record in the cache (see `cache`): a
hash of everything its packages and report depend on — ankiqa's code and the versions
of the libraries it uses (the cache's fingerprint), the note types, the arguments and
working folder, each deck file's path, settings and bytes, each build state's bytes,
the ledger's file (`ledger`: another export since changes it), and the media files its
notes looked for — and a hash of each package it left. When they all hash the same
again, a full export would stamp every note with the `mod` it has and write the same
bytes: the report is the record's, with every package up to date. Anything else, or
any doubt, runs the export.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import notetypes
from .atomic import file_hash_or_none, file_stat
from .cache import Cache, fingerprint
from .config import ConfigError, Settings, find_settings
from .diagnostics import Diagnostic
from .discover import find_sources
from .ledger import LEDGER_FILE
from .ledger import default_folder as default_ledger_folder
from .state import STATE_FILE

# Warnings that a build state saved by the export answers: the next export does not give them.
_SAID_ONCE = frozenset({"cloze-removed", "kind-changed"})


@dataclass
class Record:
    """What an export left: the hash of its inputs, and what to report when they have
    not changed since."""

    inputs: str = ""
    media: list[str] = field(default_factory=list)  # files its notes looked for
    packages: dict[str, str] = field(default_factory=dict)  # path → sha256 of its bytes
    decks: list[str] = field(default_factory=list)
    notes: int = 0
    warnings: list[Diagnostic] = field(default_factory=list)

    def to_json(self) -> str:
        warnings = [d.to_json() for d in self.warnings]
        return json.dumps({**self.__dict__, "warnings": warnings}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Record | None:
        """What `to_json` wrote, or None for anything else (a cache is never trusted)."""
        try:
            record = json.loads(text)
            warnings = [
                Diagnostic(
                    Path(d["file"]), d["line"], d["column"], d["severity"], d["code"], d["message"]
                )
                for d in record["warnings"]
            ]
            found = cls(
                record["inputs"],
                list(map(str, record["media"])),
                {str(path): str(digest) for path, digest in record["packages"].items()},
                list(map(str, record["decks"])),
                int(record["notes"]),
                warnings,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        return found if isinstance(found.inputs, str) else None


def replay(
    paths: Sequence[Path],
    output: Path | None,
    dist: Path | None,
    cache: Path | None,
    decks: str | None = None,
) -> Record | None:
    """The record of the last export of these arguments, if nothing it depends on has
    changed since and its packages are as it left them; else None. `decks` is
    `deck_inputs(paths)`, if it was taken already."""
    if cache is None:
        return None
    with Cache(cache) as known:
        text = known.last_export(_arguments(paths, output, dist))
    record = Record.from_json(text) if text is not None else None
    decks = deck_inputs(paths) if decks is None else decks
    if record is None or _inputs(paths, record.media, decks) != record.inputs:
        return None
    for path, digest in record.packages.items():
        if file_hash_or_none(Path(path)) != digest:
            return None
    return record


def remember(
    paths: Sequence[Path],
    output: Path | None,
    dist: Path | None,
    cache: Path | None,
    media: Iterable[Path],
    packages: Iterable[Path],
    decks: list[str],
    notes: int,
    warnings: list[Diagnostic],
    read: str | None,
) -> None:
    """Record an export that has just written its packages and saved its build state;
    `read` is `deck_inputs(paths)` taken before it read the deck files, so that a file
    saved while it ran is read again by the next export."""
    if cache is None:
        return
    record = Record(
        media=sorted({str(path) for path in media}),
        packages={str(path): file_hash_or_none(path) or "" for path in packages},
        decks=decks,
        notes=notes,
        warnings=[d for d in warnings if d.code not in _SAID_ONCE],
    )
    inputs = _inputs(paths, record.media, read)
    if inputs is None:
        return
    record.inputs = inputs
    with Cache(cache) as known:
        known.put_last_export(_arguments(paths, output, dist), record.to_json())


def _arguments(paths: Sequence[Path], output: Path | None, dist: Path | None) -> str:
    """Which export: its arguments, and the working folder they are relative to."""
    arguments = [os.getcwd(), [str(path) for path in paths], str(output), str(dist)]
    return hashlib.sha256(json.dumps(arguments).encode("utf-8")).hexdigest()


def deck_inputs(paths: Sequence[Path]) -> str | None:
    """A hash of the deck files and settings an export of `paths` reads, and of ankiqa;
    None when they have problems (the export reports them)."""
    sources, problems = find_sources(paths)
    try:
        settings = find_settings(Path(paths[0])) if paths else Settings()
    except ConfigError:
        return None
    if problems:
        return None
    digest = _Digest()
    digest.add(fingerprint(), repr(settings), repr(notetypes.NOTE_TYPES), notetypes.CARD_CSS)
    for source in sources:
        digest.add(source.path, source.root, repr(source.settings), file_hash_or_none(source.path))
    return digest.hexdigest()


def _inputs(paths: Sequence[Path], media: list[str], decks: str | None) -> str | None:
    """A hash of everything an export of `paths` depends on: `decks` (`deck_inputs`), the
    build states, the ledger and the media files."""
    if decks is None:
        return None
    digest = _Digest()
    digest.add(decks)
    for root in sorted({source.root for source in find_sources(paths)[0]}):
        digest.add(root, file_hash_or_none(root / STATE_FILE))
    digest.add(*file_stat(default_ledger_folder() / LEDGER_FILE))
    for path in media:
        digest.add(path, *file_stat(Path(path)))
    return digest.hexdigest()


class _Digest:
    def __init__(self) -> None:
        self._sha = hashlib.sha256()

    def add(self, *parts: object) -> None:
        self._sha.update(json.dumps([str(part) for part in parts]).encode("utf-8") + b"\n")

    def hexdigest(self) -> str:
        return self._sha.hexdigest()
