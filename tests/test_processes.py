"""Processes and files: workers die with the main process; `ankiqa ids` never replaces a
file that changed since it read it, nor a read-only one."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_deck

from ankiqa import ids
from ankiqa.ids import add_ids_to_files


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def descendants(pid: int) -> set[int]:
    found = children(pid)
    return found.union(*(descendants(child) for child in found))


def export_with(start_method: str, decks: Path, *options: str) -> list[str]:
    """`ankiqa export` in a process whose worker pool starts its workers this way."""
    start = "import multiprocessing as m; m.set_start_method({!r}); import ankiqa.cli as c; c.run()"
    return [sys.executable, "-c", start.format(start_method), "export", str(decks), *options]


def write_decks_to_parse_on_workers(decks: Path) -> None:
    for n in range(8):
        questions = "".join(
            f"### Q{n}-{i}\n\n```python\nx = {i} * 2\n```\n\nquestion id: q{n}-{i}\n\n"
            for i in range(400)
        )
        write_deck(decks / f"d{n}.md", questions)


@pytest.mark.skipif(sys.platform != "linux", reason="workers die with their parent on Linux")
@pytest.mark.parametrize("start_method", ["fork", "forkserver"])  # forkserver: 3.14's default
def test_workers_die_with_a_killed_export(tmp_path: Path, start_method: str) -> None:
    decks = tmp_path / "decks"
    write_decks_to_parse_on_workers(decks)
    export = subprocess.Popen(
        export_with(start_method, decks, "-o", str(tmp_path / "a.apkg")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Two workers; with forkserver, the server and the resource tracker as well.
    expected = {"fork": 2, "forkserver": 4}[start_method]
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while len(workers) < expected and time.monotonic() < deadline and export.poll() is None:
        time.sleep(0.05)
        workers = descendants(export.pid)
    assert len(workers) == expected, "the export started no worker processes"
    os.kill(export.pid, signal.SIGKILL)
    export.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = {pid for pid in workers if Path(f"/proc/{pid}").exists()}
    for pid in alive:
        # a zombie (waiting for its parent) is dead too
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        assert state == "Z", f"worker {pid} still running"


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])  # macOS's, 3.14's defaults
def test_an_export_parses_on_workers_started_any_way(tmp_path: Path, start_method: str) -> None:
    if start_method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {start_method} here")
    decks = tmp_path / "decks"
    write_decks_to_parse_on_workers(decks)
    done = subprocess.run(
        export_with(start_method, decks, "-o", str(tmp_path / "a.apkg")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "3200 notes in 8 decks" in done.stdout


def test_ids_leaves_a_read_only_file_alone(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "d.md", "### Q\n\nA.\n")
    deck.chmod(0o444)  # even root, who could write it, is told and changes nothing
    report = add_ids_to_files([deck])
    assert [(d.code, d.message) for d in report.diagnostics] == [
        ("unwritable", "the file is read-only: not changed")
    ]
    assert deck.read_text() == "### Q\n\nA.\n"


def test_ids_leaves_a_file_that_changed_while_it_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deck = write_deck(tmp_path / "d.md", "### Q\n\nA.\n")
    original = ids.add_ids

    def add_ids_while_an_editor_saves(data, *args, **kwargs):
        deck.write_text("### Q\n\nA.\n\n### Added meanwhile\n", encoding="utf-8")
        return original(data, *args, **kwargs)

    monkeypatch.setattr(ids, "add_ids", add_ids_while_an_editor_saves)
    report = add_ids_to_files([deck])
    assert [d.code for d in report.diagnostics] == ["unwritable"]
    assert "Added meanwhile" in deck.read_text()
