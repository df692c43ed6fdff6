"""Writing files so that a reader, or an interrupted run, never sees half of one."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: Path, data: bytes) -> bool:
    """Write `data` to `path` through a temporary file in the same folder and a rename.

    Returns False, touching nothing, when the file already holds exactly `data`.
    An existing file keeps its permission bits; a new one gets the usual ones (umask).
    """
    with Staged() as staged:
        written = staged.write(path, data)
        staged.commit()
    return written


class Staged:
    """Files written beside their targets under temporary names, and renamed into place by
    `commit` once all are written, so that an error found after writing some of them
    leaves every target as it was (the renames are one after the other, not one atomic
    step). Use it in a `with` block: whatever is not committed is removed."""

    def __init__(self) -> None:
        self._renames: list[tuple[str, Path]] = []  # (temporary file, target)
        self._folders: list[Path] = []  # made for them, removed again if not committed
        self._leftovers: dict[Path, list[Path]] = {}  # by folder: see `_remove_leftovers`

    def write(self, path: Path, data: bytes) -> bool:
        """Write `data` to a temporary file beside `path`, to be renamed to `path` by
        `commit`. Returns False, writing nothing, when `path` already holds `data`."""
        path = Path(path)
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
        return self.write_with(path, lambda file: file.write(data))[0]

    def write_with(self, path: Path, produce: Callable[[BinaryIO], object]) -> tuple[bool, str]:
        """Like `write`, for a file too large to hold in memory: `produce(file)` writes
        it. Returns whether it differs from `path` (else it is dropped) and its SHA-256."""
        path = Path(path)
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        missing = [folder for folder in [path.parent, *path.parent.parents] if not folder.exists()]
        path.parent.mkdir(parents=True, exist_ok=True)
        self._folders += reversed(missing)
        self._remove_leftovers(path)
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask()
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        self._renames.append((temporary, path))
        with os.fdopen(fd, "w+b") as file:
            produce(file)
            file.flush()
            os.fsync(file.fileno())  # on disk before the rename, even if the power fails
        digest = file_hash(Path(temporary))
        same_size = path.is_file() and path.stat().st_size == os.path.getsize(temporary)
        if same_size and file_hash(path) == digest:
            self._renames.pop()
            os.remove(temporary)
            return False, digest
        os.chmod(temporary, mode)
        return True, digest

    def _remove_leftovers(self, path: Path) -> None:
        """Remove temporary files of writes of `path` that were killed (SIGKILL, a power
        cut) before they could remove them. Each folder is listed once: a project of
        10,000 deck files has as many packages in one folder."""
        if path.parent not in self._leftovers:
            before = time.time() - LEFTOVER_AFTER
            self._leftovers[path.parent] = [
                leftover for leftover in path.parent.glob(".*.tmp") if _modified(leftover) < before
            ]
        for leftover in self._leftovers[path.parent]:
            if leftover.name.startswith(f".{path.name}."):
                with contextlib.suppress(OSError):
                    leftover.unlink()

    def commit(self) -> None:
        """Rename every file written into place."""
        while self._renames:
            temporary, path = self._renames[0]
            os.replace(temporary, path)
            del self._renames[0]
        self._folders = []

    def __enter__(self) -> Staged:
        return self

    def __exit__(self, *exception: object) -> None:
        for temporary, _ in self._renames:
            with contextlib.suppress(OSError):
                os.remove(temporary)
        for folder in reversed(self._folders):
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._renames, self._folders = [], []


def file_hash(path: Path) -> str:
    """The SHA-256 of a file, read a block at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def file_hash_or_none(path: Path) -> str | None:
    """`file_hash`, or None when the file cannot be read (or is not there)."""
    try:
        return file_hash(path)
    except OSError:
        return None


def file_stat(path: Path) -> list[int]:
    """A file's size, modification time and inode (what changes when it is written), or
    [] if it is not there."""
    try:
        status = path.stat()
    except (OSError, ValueError):
        return []
    return [status.st_size, status.st_mtime_ns, status.st_ino]


BLOCK = 1 << 20
LEFTOVER_AFTER = 3600  # seconds: an older temporary file is no running write's


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return time.time()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
