"""Anki's own sync server on 127.0.0.1, and two collections syncing through it like a
desktop and a phone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from anki.collection import Collection
from anki.sync_pb2 import SyncCollectionResponse

USER, PASSWORD = "user", "pass"
FULL = (
    SyncCollectionResponse.FULL_SYNC,
    SyncCollectionResponse.FULL_DOWNLOAD,
    SyncCollectionResponse.FULL_UPLOAD,
)


@contextmanager
def sync_server(folder: Path) -> Iterator[str]:
    """Run `python -m anki.syncserver` on a free loopback port; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "SYNC_USER1": f"{USER}:{PASSWORD}",
        "SYNC_HOST": "127.0.0.1",
        "SYNC_PORT": str(port),
        "SYNC_BASE": str(folder),
        "RUST_LOG": "error",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "anki.syncserver"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Anki sync server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(timeout=10)


def sync(col: Collection, url: str) -> int:
    """Sync like the Anki apps do, resolving a first full sync by direction: a collection
    with notes uploads, an empty one downloads. Returns what the server required."""
    auth = col.sync_login(USER, PASSWORD, url)
    answer = col.sync_collection(auth, True)
    required = answer.required
    if required in FULL:
        upload = required == SyncCollectionResponse.FULL_UPLOAD or (
            required == SyncCollectionResponse.FULL_SYNC and col.note_count() > 0
        )
        if upload:
            col.full_upload_or_download(auth=auth, server_usn=answer.server_media_usn, upload=True)
        else:
            col.close_for_full_sync()
            col.full_upload_or_download(auth=auth, server_usn=answer.server_media_usn, upload=False)
            col.reopen(after_full_sync=True)
    return required
