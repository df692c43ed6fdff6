"""Work done before on the same Markdown, so that a re-export reads only what was edited.

Parsing, rendering and checking are most of an export's time. The cache maps a hash of
a deck file's bytes to its parsed questions, and of a question's Markdown to the HTML it
rendered to, and remembers which questions `check` found nothing in (or only warnings,
which it keeps), and what each deck
file gave the last export (see `unchanged`) and each package was built from; every entry is
also keyed by a hash of the code and library versions that made it. It lives in the
user's cache folder, not in the project: deleting it only costs time, and a cache that
cannot be opened or written is simply not used.

Writes are buffered and written in one short transaction: worker processes hand theirs
to the main process (`pending`, `write`) instead of waiting for each other's lock.

The cache may be shared, so nothing read from it is trusted: rendered fields go through
the sanitizer again, unless they carry a signature made with a key that only this user
can read (`signing_key`, in the user's data folder, not in the cache). Only this code,
which sanitized them when it rendered them, makes such signatures.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import sqlite3
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import NamedTuple

from .ledger import default_folder as default_data_folder

CACHE_ENV = "ANKIQA_CACHE_DIR"
STALE_AFTER = 30 * 24 * 3600  # seconds
_LOOKUP_BATCH = 500  # keys per query of `prefetch`: far below SQLite's limit of parameters
_LIBRARIES = ("mistletoe", "pygments", "nh3", "genanki")  # what renders, and what packages
KEY_FILE = "cache-key"


def default_folder() -> Path:
    """`$ANKIQA_CACHE_DIR`, else the platform's cache folder for ankiqa."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "ankiqa" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "ankiqa"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ankiqa"


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """A hash of ankiqa's own code and of the installed libraries that render and write
    packages (see `_installed`)."""
    digest = hashlib.sha256()
    for module in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(module.read_bytes())
    for library in _LIBRARIES:
        digest.update(_installed(library).encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()[:16]


def _installed(library: str) -> str:
    """Which copy of `library` Python would import: where its package is, with its size and
    time, and the names of the `.dist-info` folders beside it, which hold its version.
    Not `importlib.metadata`: importing it costs more (13 ms) than an export that changed
    nothing takes to decide."""
    spec = find_spec(library)
    if spec is None or not spec.origin:
        return library
    found = [spec.origin]
    with contextlib.suppress(OSError):
        stat = os.stat(spec.origin)
        found += [str(stat.st_size), str(stat.st_mtime_ns)]
        package = Path(spec.origin).parent
        folder = package.parent if spec.submodule_search_locations is not None else package
        prefix = library.lower().replace("-", "_") + "-"
        found += sorted(
            name
            for name in os.listdir(folder)
            if name.lower().startswith(prefix) and name.endswith(".dist-info")
        )
    return "\0".join(found)


def signing_key() -> bytes | None:
    """The key that signs the fields this user's ankiqa rendered, made once: 32 random
    bytes in the user's data folder, readable by the user alone. None when it cannot be
    made or read, or others may read it: then no field is trusted."""
    path = default_data_folder() / KEY_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(secrets.token_bytes(32))
        with path.open("rb") as file:
            if os.name == "posix" and os.fstat(file.fileno()).st_mode & 0o077:
                return None
            key = file.read(33)
    except OSError:
        return None
    return key if len(key) == 32 else None


class Fields(NamedTuple):
    """A question's fields as the cache holds them."""

    front: str
    back: str
    signed: bool  # rendered, and sanitized, by this code for this user (see `signing_key`)


@dataclass
class Writes:
    """Rows a cache has not written yet."""

    fields: list[tuple[str, str, str, str]] = field(default_factory=list)  # key, front, back, mac
    clean: list[tuple[str]] = field(default_factory=list)
    warned: list[tuple[str, str]] = field(default_factory=list)  # (key, warnings as JSON)
    parsed: list[tuple[str, str]] = field(default_factory=list)
    exports: list[tuple[str, str]] = field(default_factory=list)
    packages: list[tuple[str, str, str]] = field(default_factory=list)
    deck_files: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(
            (
                self.fields,
                self.clean,
                self.warned,
                self.parsed,
                self.exports,
                self.packages,
                self.deck_files,
            )
        )


class Cache:
    """Parsed deck files, rendered fields and clean questions, in a SQLite file in `folder`;
    with no folder, a cache that holds nothing. Use it in a `with` block: what is put in
    it is written when it closes (or by `write`), not before."""

    def __init__(self, folder: Path | None):
        self._db: sqlite3.Connection | None = None
        self._writes = Writes()
        # Rows looked up at once by `prefetch`, by key: the fields (None: no row), or only
        # whether there are fields, and whether the question is clean. Forgotten when
        # this cache writes.
        self._fields: dict[str, tuple[object, ...] | None] = {}  # front, back, mac
        self._has_fields: dict[str, bool] = {}
        self._clean: dict[str, bool] = {}
        if folder is None:
            return
        name = f"render-{fingerprint()}.sqlite"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # Left by other code or libraries: removed once unused for a while, so that
            # two versions of ankiqa sharing the folder do not delete each other's.
            unused_since = time.time() - STALE_AFTER
            for stale in folder.glob("render-*.sqlite*"):
                if not stale.name.startswith(name) and stale.stat().st_mtime < unused_since:
                    stale.unlink(missing_ok=True)
            db = sqlite3.connect(folder / name, timeout=30)
            db.execute("pragma journal_mode=wal")
            # A crash may lose the last writes, never the file: fine for a cache.
            db.execute("pragma synchronous=normal")
            db.execute("create table if not exists fields (key text primary key, front, back, mac)")
            db.execute("create table if not exists clean (key text primary key)")
            db.execute("create table if not exists warned (key text primary key, warnings text)")
            db.execute("create table if not exists parsed (key text primary key, deck_file text)")
            db.execute("create table if not exists exports (key text primary key, record text)")
            db.execute(
                "create table if not exists packages (path text primary key, inputs, sha256)"
            )
            db.execute("create table if not exists deck_files (key text primary key, record text)")
            self._db = db
        except (OSError, sqlite3.Error):
            return

    def prefetch(self, inputs: Iterable[tuple[str, ...]], fields: bool = True) -> None:
        """Look up the rows of these questions (their `render_key`s) in a few queries, for
        `get`, `has_fields` and `is_clean` to answer from: one query per question costs
        more. Without `fields`, only whether there are any (for `has_fields`): a caller
        that renders nothing holds no HTML. The fields looked up before are forgotten:
        a cache that reads a large file part by part holds one part's."""
        if self._db is None:
            return
        if fields:
            self._fields.clear()
        keys = [_key(question) for question in inputs]
        try:
            for start in range(0, len(keys), _LOOKUP_BATCH):
                self._prefetch(keys[start : start + _LOOKUP_BATCH], fields)
        except sqlite3.Error:
            return

    def _prefetch(self, keys: list[str], fields: bool) -> None:
        """`prefetch` for at most _LOOKUP_BATCH keys, of what was not looked up already
        (since the last `write`): the rows of a part that was looked at before it runs."""
        assert self._db is not None
        known_rows = self._fields if fields else self._has_fields
        keys = [key for key in keys if key not in known_rows]
        # No row there, as looked up already: no fields either.
        wanted = [key for key in keys if self._has_fields.get(key, True)]
        columns = "key, front, back, mac" if fields else "key"
        query = f"select {columns} from fields where key in ({','.join('?' * len(wanted))})"
        rows = {row[0]: row[1:] for row in self._db.execute(query, wanted)} if wanted else {}
        for key in keys:
            if fields:
                self._fields[key] = rows.get(key)
            self._has_fields[key] = key in rows
        unknown = [key for key in keys if key not in self._clean]
        if unknown:
            query = f"select key from clean where key in ({','.join('?' * len(unknown))})"
            clean = {key for (key,) in self._db.execute(query, unknown)}
            for key in unknown:
                self._clean[key] = key in clean

    def get(self, inputs: tuple[str, ...]) -> Fields | None:
        """The fields rendered before from `inputs` (a question's `render_key`)."""
        if self._db is None:
            return None
        key = _key(inputs)
        if key in self._fields:
            row = self._fields[key]
        else:
            try:
                query = "select front, back, mac from fields where key=?"
                row = self._db.execute(query, (key,)).fetchone()
            except sqlite3.Error:
                return None
        if row is None:
            return None
        front, back, mac = row
        if not (isinstance(front, str) and isinstance(back, str)):
            return None
        signed = (
            self._signing_key is not None
            and isinstance(mac, str)
            and hmac.compare_digest(mac, self._mac(key, front, back))
        )
        return Fields(front, back, signed)

    @cached_property
    def _signing_key(self) -> bytes | None:
        """`signing_key`, read (or made) when fields are first read or kept."""
        return signing_key()

    def has_fields(self, inputs: tuple[str, ...]) -> bool:
        """Whether `get` may give fields for `inputs`, without reading or checking them."""
        return self._has_row("fields", inputs, self._has_fields)

    def _has_row(self, table: str, inputs: tuple[str, ...], prefetched: dict[str, bool]) -> bool:
        """Whether `table` has a row for `inputs`: as `prefetch` found, else asked now."""
        if self._db is None:
            return False
        key = _key(inputs)
        if key in prefetched:
            return prefetched[key]
        try:
            query = f"select 1 from {table} where key=?"
            return self._db.execute(query, (key,)).fetchone() is not None
        except sqlite3.Error:
            return False

    def has_any_fields(self) -> bool:
        """Whether any question's fields were rendered before."""
        if self._db is None:
            return False
        try:
            return self._db.execute("select 1 from fields limit 1").fetchone() is not None
        except sqlite3.Error:
            return False

    def put(self, inputs: tuple[str, ...], front: str, back: str) -> None:
        """Keep the fields rendered from `inputs`, sanitized: signed as such."""
        if self._db is not None:
            key = _key(inputs)
            self._writes.fields.append((key, front, back, self._mac(key, front, back)))

    def _mac(self, key: str, front: str, back: str) -> str:
        """The signature of a row of fields for this version of ankiqa ("" without a key)."""
        if self._signing_key is None:
            return ""
        row = f"{fingerprint()}\0{key}\0{len(front)}\0{front}{back}"
        data = row.encode("utf-8", "surrogatepass")
        return hmac.new(self._signing_key, data, hashlib.sha256).hexdigest()

    def is_clean(self, inputs: tuple[str, ...]) -> bool:
        """Whether `check` found nothing in this question (its `render_key`) before."""
        return self._has_row("clean", inputs, self._clean)

    def mark_clean(self, inputs: tuple[str, ...]) -> None:
        if self._db is not None:
            self._writes.clean.append((_key(inputs),))

    def warnings(self, inputs: tuple[str, ...]) -> str | None:
        """What `put_warnings` stored under these inputs: the warnings `check` found in a
        question, as JSON (the caller checks it: a cache is never trusted)."""
        return None if self._db is None else self._text(_WARNED, _key(inputs))

    def put_warnings(self, inputs: tuple[str, ...], warnings: str) -> None:
        if self._db is not None:
            self._writes.warned.append((_key(inputs), warnings))

    def parsed(self, key: str) -> str | None:
        """What `put_parsed` stored under `key`: a parsed deck file as JSON (data, never
        code: the caller checks it, as anything read from a shared folder)."""
        if self._db is None:
            return None
        try:
            row = self._db.execute("select deck_file from parsed where key=?", (key,)).fetchone()
            return row[0] if row and isinstance(row[0], str) else None
        except sqlite3.Error:
            return None

    def put_parsed(self, key: str, deck_file: str) -> None:
        if self._db is not None:
            self._writes.parsed.append((key, deck_file))

    def last_export(self, key: str) -> str | None:
        """The record (see `fresh`) that the last export with these arguments left."""
        return self._text("select record from exports where key=?", key)

    def put_last_export(self, key: str, record: str) -> None:
        if self._db is not None:
            self._writes.exports.append((key, record))

    def deck_file(self, key: str) -> str | None:
        """The record (see `unchanged`) of the deck file whose `file_key` is `key`."""
        return self._text("select record from deck_files where key=?", key)

    def put_deck_file(self, key: str, record: str) -> None:
        if self._db is not None:
            self._writes.deck_files.append((key, record))

    def package(self, path: Path) -> tuple[str, str] | None:
        """The hash of what the package at `path` was last written from, and of its bytes."""
        if self._db is None:
            return None
        try:
            query = "select inputs, sha256 from packages where path=?"
            row = self._db.execute(query, (str(path.absolute()),)).fetchone()
        except sqlite3.Error:
            return None
        return row if row and all(isinstance(value, str) for value in row) else None

    def put_package(self, path: Path, inputs: str, sha256: str) -> None:
        if self._db is not None:
            self._writes.packages.append((str(path.absolute()), inputs, sha256))

    def _text(self, query: str, key: str) -> str | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute(query, (key,)).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row and isinstance(row[0], str) else None

    def pending(self) -> Writes:
        """What was put in this cache and not written yet, which it will now not write:
        a worker process's, for the main process to `write`."""
        writes, self._writes = self._writes, Writes()
        return writes

    def write(self, writes: Writes) -> None:
        """Write these rows, in one transaction."""
        if self._db is None or not writes:
            return
        self._fields.clear()
        self._has_fields.clear()
        self._clean.clear()
        try:
            with self._db:
                self._db.executemany(
                    "insert or replace into fields values (?, ?, ?, ?)", writes.fields
                )
                self._db.executemany("insert or ignore into clean values (?)", writes.clean)
                self._db.executemany("insert or replace into warned values (?, ?)", writes.warned)
                self._db.executemany("insert or replace into parsed values (?, ?)", writes.parsed)
                self._db.executemany("insert or replace into exports values (?, ?)", writes.exports)
                self._db.executemany(
                    "insert or replace into packages values (?, ?, ?)", writes.packages
                )
                self._db.executemany(
                    "insert or replace into deck_files values (?, ?)", writes.deck_files
                )
        except sqlite3.Error:
            return

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()

    def close(self) -> None:
        if self._db is None:
            return
        self.write(self.pending())
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._db = None


_WARNED = "select warnings from warned where key=?"


def forget_keys() -> None:
    """Let go of the questions `_key` remembers: their Markdown, kept till the next export
    in a process that runs many (`watch`)."""
    _key.cache_clear()


@lru_cache(maxsize=4096)  # a question is looked up several times in an export, close together
def _key(inputs: tuple[str, ...]) -> str:
    return hashlib.sha256("\0".join(inputs).encode()).hexdigest()
