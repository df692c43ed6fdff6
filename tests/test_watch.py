"""`ankiqa watch`: a new package after an edit, problems printed without stopping, a
clean Ctrl-C, and with `--serve` a page that reloads itself (in a real browser)."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import write_deck
from test_preview import browser  # noqa: F401 (a fixture)

import ankiqa.watch

QUESTION = "### {heading}\n\nAn answer.\n\nquestion id: {id}\n"


class Watch:
    """`ankiqa watch` running in its own process, its output read line by line."""

    def __init__(self, *arguments: str):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ankiqa", "watch", *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=os.environ.copy(),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, seconds: float = 30) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} within {seconds} s")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=20)


def test_an_edit_gives_a_new_package_and_ctrl_c_ends_cleanly(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "decks" / "d.md", QUESTION.format(heading="First?", id="q1"))
    package = tmp_path / "dist" / "d.apkg"
    watching = Watch(str(deck.parent), "--dist", str(tmp_path / "dist"))
    try:
        watching.wait_for("wrote")
        first = package.read_bytes()
        write_deck(deck, QUESTION.format(heading="Second?", id="q1"))
        watching.wait_for("wrote")
        assert package.read_bytes() != first

        write_deck(deck, "### Broken\n\nNo id.\n")  # a problem is printed; the watch goes on
        assert "missing-id" in watching.wait_for("missing-id")
        watching.wait_for("nothing written; watching")
        write_deck(deck, QUESTION.format(heading="Fixed?", id="q1"))
        watching.wait_for("wrote")
    finally:
        code = watching.stop()
    assert code == 0
    assert not list(tmp_path.rglob(".*.tmp"))  # nothing half-written


def test_ctrl_c_during_an_export_ends_the_watch_cleanly(tmp_path: Path, monkeypatch) -> None:
    """Ctrl-C may come while a change is being exported, not only while the watch waits
    for one: the export is left unwritten (`atomic`) and the watch ends as usual."""
    deck = write_deck(tmp_path / "decks" / "d.md", QUESTION.format(heading="First?", id="q1"))

    def interrupted(*arguments: object, **options: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ankiqa.watch, "export", interrupted)
    said: list[str] = []
    ankiqa.watch.watch([deck.parent], dist=tmp_path / "dist", say=said.append)  # no raise
    assert said == []
    assert not (tmp_path / "dist").exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_served_preview_reloads_itself_after_an_edit(tmp_path: Path, browser) -> None:  # noqa: F811
    deck = write_deck(tmp_path / "decks" / "d.md", QUESTION.format(heading="Before?", id="q1"))
    port = free_port()
    watching = Watch(
        str(deck.parent), "--dist", str(tmp_path / "dist"), "--serve", "--port", str(port)
    )
    try:
        watching.wait_for("wrote")
        browser.get(f"http://127.0.0.1:{port}/")
        deadline = time.monotonic() + 20
        while "Before?" not in browser.page_source and time.monotonic() < deadline:
            time.sleep(0.2)
            browser.refresh()
        assert "Before?" in browser.page_source
        write_deck(deck, QUESTION.format(heading="After?", id="q1"))
        deadline = time.monotonic() + 30
        while "After?" not in browser.page_source and time.monotonic() < deadline:
            time.sleep(0.2)  # no refresh here: the page reloads itself
        assert "After?" in browser.page_source
    finally:
        assert watching.stop() == 0
