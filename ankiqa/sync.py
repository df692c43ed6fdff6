"""Syncing a collection with AnkiWeb or a self-hosted server, as the Anki apps do.

The session key a login returns is kept in the user's config folder, readable by the
owner only; a user name and password are asked for only when there is no key, or the
server refused it. No credential is ever printed.

A full sync replaces one side with the other. ankiqa does one only where nothing can be
lost, as Anki does: an upload to an empty server, a download into an empty collection.
Otherwise it stops and explains (choosing a direction silently can destroy reviews).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .places import user_folder

if TYPE_CHECKING:
    from anki.collection import Collection
    from anki.sync_pb2 import SyncAuth

USER_ENV, PASSWORD_ENV = "ANKIQA_SYNC_USER", "ANKIQA_SYNC_PASSWORD"
CONFIG_ENV = "ANKIQA_CONFIG_DIR"
SESSION_FILE = "sync-session.json"
ANKIWEB = "AnkiWeb"
MEDIA_POLL = 0.05  # seconds

# Asks the user for (user name, password) when no session key is kept.
Credentials = Callable[[], tuple[str, str]]


class SyncRefused(Exception):
    """The sync could not be done: the message says why and what to do."""


@dataclass(frozen=True)
class SyncReport:
    """What a sync did: "normal", "full upload" or "full download"."""

    kind: str
    server_message: str = ""


def config_folder() -> Path:
    """`$ANKIQA_CONFIG_DIR`, else the platform's folder for an application's settings."""
    return user_folder("ankiqa", CONFIG_ENV, "XDG_CONFIG_HOME", Path.home() / ".config")


def environment_credentials() -> tuple[str, str] | None:
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    return (user, password) if user and password else None


class Syncer:
    """Logs in to `endpoint` (None: AnkiWeb) and syncs a collection there."""

    def __init__(self, endpoint: str | None = None, credentials: Credentials | None = None):
        self.endpoint = endpoint
        self._credentials = credentials
        self._auth: SyncAuth | None = None

    @property
    def name(self) -> str:
        return self.endpoint or ANKIWEB

    def sync(self, col: Collection) -> SyncReport:
        """Sync `col` and its media. Raises SyncRefused."""
        from anki.errors import InvalidInput, NetworkError, SyncError, SyncErrorKind

        try:
            try:
                return self._sync(col, self._login(col))
            except SyncError as error:
                if error.kind != SyncErrorKind.AUTH or self._auth is None:
                    raise
                _forget_session(self.name)  # the kept key expired: log in again, once
                self._auth = None
                return self._sync(col, self._login(col, kept=False))
        except SyncError as error:
            if error.kind == SyncErrorKind.AUTH:
                raise SyncRefused(f"{self.name} refused the user name or password") from None
            raise SyncRefused(f"sync with {self.name} failed: {error}") from None
        except NetworkError as error:
            raise SyncRefused(f"could not reach {self.name}: {error}") from None
        except InvalidInput as error:  # an endpoint that is not a URL, say
            raise SyncRefused(f"cannot sync with {self.name}: {error}") from None

    def _login(self, col: Collection, kept: bool = True) -> SyncAuth:
        from anki.sync_pb2 import SyncAuth

        if self._auth is not None:
            return self._auth
        given = environment_credentials()
        session = _sessions().get(self.name) if kept else None
        if session and (given is None or given[0] == session.get("user")):
            self._auth = SyncAuth(hkey=session["hkey"], endpoint=session.get("endpoint"))
            return self._auth
        if given is None and self._credentials is None:
            why = "no login" if kept else "the kept login was refused"
            raise SyncRefused(
                f"{why} for {self.name}: set {USER_ENV} and {PASSWORD_ENV}, or run"
                " `ankiqa push --sync` in a terminal to be asked"
            )
        user, password = given or self._credentials()  # type: ignore[misc]
        self._auth = col.sync_login(user, password, self.endpoint)
        _keep_session(self.name, user, self._auth)
        return self._auth

    def _sync(self, col: Collection, auth: SyncAuth) -> SyncReport:
        from anki.sync_pb2 import SyncCollectionResponse as Response

        answer = col.sync_collection(auth, False)
        if answer.new_endpoint:
            auth.endpoint = answer.new_endpoint
            _keep_session(self.name, _sessions().get(self.name, {}).get("user", ""), auth)
        required = answer.required
        if required in (Response.NO_CHANGES, Response.NORMAL_SYNC):
            kind = "normal"  # done by now: the answer is then mostly NO_CHANGES
        else:
            empty_here = col.card_count() == 0
            if required == Response.FULL_UPLOAD:
                kind = "full upload"
            elif required == Response.FULL_DOWNLOAD or empty_here:
                kind = "full download"
            else:
                raise SyncRefused(
                    f"{self.name} asks for a full sync: this collection and the server's"
                    " both have cards and have diverged, so one must replace the other."
                    " Sync once in Anki, choosing which side to keep (a choice ankiqa will"
                    " not make for you: it can lose reviews), then push again."
                )
            upload = kind == "full upload"
            if not upload:
                col.close_for_full_sync()
            col.full_upload_or_download(
                auth=auth, server_usn=answer.server_media_usn, upload=upload
            )
            if not upload:
                col.reopen(after_full_sync=True)
        col.sync_media(auth)  # starts it in the background
        while col.media_sync_status().active:  # raises if it failed
            time.sleep(MEDIA_POLL)
        return SyncReport(kind, answer.server_message)


def _session_path() -> Path:
    return config_folder() / SESSION_FILE


def _sessions() -> dict[str, dict[str, str]]:
    with contextlib.suppress(OSError, ValueError):
        sessions = json.loads(_session_path().read_text(encoding="utf-8"))
        if isinstance(sessions, dict):
            return {
                name: session
                for name, session in sessions.items()
                if isinstance(session, dict) and isinstance(session.get("hkey"), str)
            }
    return {}


def _keep_session(name: str, user: str, auth: SyncAuth) -> None:
    sessions = _sessions()
    sessions[name] = {"user": user, "hkey": auth.hkey, "endpoint": auth.endpoint}
    _write_private(_session_path(), json.dumps(sessions, indent=1))


def _forget_session(name: str) -> None:
    sessions = _sessions()
    if sessions.pop(name, None) is not None:
        _write_private(_session_path(), json.dumps(sessions, indent=1))


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, never visible half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".session-")
    try:
        os.chmod(temporary, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
