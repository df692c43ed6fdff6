"""Where Anki keeps the user's collection: its profiles in its base folder, per platform.

Anki's base folder is `$ANKI_BASE`, else `%APPDATA%\\Anki2` on Windows,
`~/Library/Application Support/Anki2` on macOS and `$XDG_DATA_HOME/Anki2` (or
`~/.local/share/Anki2`) elsewhere. Each profile is a folder there holding
`collection.anki2`; the profiles' names are in `prefs21.db`.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import sqlite3
from pathlib import Path

from .places import user_folder

COLLECTION_FILE = "collection.anki2"


class CollectionNotFound(Exception):
    """No collection, or more than one that could be meant: the message says which."""


def anki_base() -> Path:
    return user_folder("Anki2", "ANKI_BASE", "XDG_DATA_HOME", Path.home() / ".local" / "share")


def find_collection(collection: Path | None = None, profile: str | None = None) -> Path:
    """The collection file to use: `collection` itself, else the profile's, else the
    profile Anki opened last, else the only one. Raises CollectionNotFound."""
    if collection is not None:
        if not Path(collection).is_file():
            raise CollectionNotFound(f"{collection}: no such collection file")
        return Path(collection)
    base = anki_base()
    names = profile_names(base)
    if profile is None:
        last = _last_profile(base)
        profile = last if last in names else names[0] if len(names) == 1 else None
    if profile is None:
        if not names:
            raise CollectionNotFound(
                f"no Anki profile in {base}: give the collection with --collection"
            )
        choices = ", ".join(names)
        raise CollectionNotFound(
            f"Anki has several profiles ({choices}): choose one with --profile"
        )
    path = base / profile / COLLECTION_FILE
    if Path(profile).name != profile or profile in (".", "..") or not path.is_file():
        known = f" (profiles: {', '.join(names)})" if names else ""
        raise CollectionNotFound(f"no Anki profile {profile!r} in {base}{known}")
    return path


def profile_names(base: Path) -> list[str]:
    """The profiles that have a collection, in Anki's list if it can be read."""
    names: list[str] = []
    with (
        contextlib.suppress(sqlite3.Error, OSError),
        contextlib.closing(_read_only(base / "prefs21.db")) as prefs,
    ):
        rows = prefs.execute("select name from profiles where name != '_global'")
        names = [name for (name,) in rows if isinstance(name, str)]
    if not names and base.is_dir():
        names = sorted(folder.name for folder in base.iterdir() if folder.is_dir())
    return [name for name in names if (base / name / COLLECTION_FILE).is_file()]


def _last_profile(base: Path) -> str | None:
    """The profile Anki opened last, from its settings, which Anki pickles: they are read
    by an unpickler that builds nothing but plain values, so the file can run no code."""
    with contextlib.suppress(sqlite3.Error, OSError):
        with contextlib.closing(_read_only(base / "prefs21.db")) as prefs:
            row = prefs.execute(
                "select cast(data as blob) from profiles where name = '_global'"
            ).fetchone()
        if row is not None:
            with contextlib.suppress(Exception):  # whatever the pickle holds, it is optional
                meta = _PlainUnpickler(io.BytesIO(row[0])).load()
                name = meta.get("last_loaded_profile_name") if isinstance(meta, dict) else None
                return name if isinstance(name, str) else None
    return None


def _read_only(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise OSError(f"{path}: not found")
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> type:
        raise pickle.UnpicklingError(f"{module}.{name} is not a plain value")
