"""`ankiqa export` as a user runs it: in a project folder holding `decks/`."""

from __future__ import annotations

import os
import pstats
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from anki_client import ImportCounts, import_package, open_collection
from conftest import write_deck, write_rich_deck
from typer.testing import CliRunner

from ankiqa.cli import app

BAD_DECK = "# Bad\n\n### Fine?\nquestion id: fine-1\n\n### No id here?\n\nAnswer.\n"


@pytest.fixture
def project(decks: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with the seed deck in `decks/`, as the working directory."""
    monkeypatch.chdir(decks.parent)
    return decks.parent


def test_export_writes_one_package_per_deck_file(project: Path) -> None:
    result = CliRunner().invoke(app, ["export"])

    assert result.exit_code == 0, result.output
    assert "6 notes in 1 deck" in result.stdout
    assert "wrote dist/web-servers.apkg" in result.stdout
    apkg = project / "dist" / "web-servers.apkg"
    col = open_collection(project / "col")
    try:
        assert import_package(col, apkg) == ImportCounts(6, 0, 0, 0)
    finally:
        col.close()


def test_export_to_one_file(project: Path) -> None:
    write_rich_deck(project / "decks" / "Sub" / "rich.md")
    result = CliRunner().invoke(app, ["export", "decks", "-o", "all.apkg"])

    assert result.exit_code == 0, result.output
    assert "10 notes in 2 decks" in result.stdout
    assert "wrote all.apkg" in result.stdout
    assert (project / "all.apkg").is_file()
    assert not (project / "dist").exists()


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("bad.md", BAD_DECK, "decks/bad.md:6:"),
        ("notes.md", "Notes without any heading.\n", "decks/notes.md:1:"),
    ],
)
def test_deck_errors_exit_1_with_file_and_line(
    project: Path, name: str, text: str, where: str
) -> None:
    write_deck(project / "decks" / name, text)
    result = CliRunner().invoke(app, ["export"])

    assert result.exit_code == 1
    assert where in result.stderr
    assert "nothing written" in result.stderr
    assert result.stdout == ""
    assert isinstance(result.exception, SystemExit)  # an exit, not a crash
    assert not (project / "dist").exists()


def test_python_m_ankiqa(project: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "ankiqa", "export", *args]
        return subprocess.run(
            command, cwd=project, capture_output=True, text=True, encoding="utf-8", timeout=120
        )

    done = run()
    assert done.returncode == 0, done.stderr
    assert "6 notes in 1 deck" in done.stdout
    assert (project / "dist" / "web-servers.apkg").is_file()

    write_deck(project / "decks" / "bad.md", BAD_DECK)
    failed = run("decks/bad.md", "-o", "bad.apkg")
    assert failed.returncode == 1
    assert "decks/bad.md:6:" in failed.stderr
    assert "Traceback" not in failed.stderr + failed.stdout
    assert not (project / "bad.apkg").exists()

    misused = run("--no-such-option")  # the process ends at once, with click's exit code
    assert misused.returncode == 2
    assert "No such option" in misused.stderr


def test_a_profiled_export_writes_its_profile(project: Path) -> None:
    """The process ends as Python does when a profiler (or a coverage tool) follows it."""
    profile = project / "export.prof"
    command = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "ankiqa", "export"]
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "6 notes in 1 deck" in done.stdout
    assert pstats.Stats(str(profile)).total_calls > 0


def test_output_that_is_a_folder_is_named_in_the_error(decks: Path, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    result = CliRunner().invoke(app, ["export", str(decks), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert f"{tmp_path / 'out'}: Is a directory" in result.stderr
    assert list((tmp_path / "out").iterdir()) == []


def test_a_read_only_deck_folder_still_exports(tmp_path: Path, monkeypatch) -> None:
    decks = write_deck(tmp_path / "decks" / "q.md", "### Q?\n\nA.\n\nquestion id: q-1\n").parent

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(decks / "ankiqa-state.jsonl"))

    monkeypatch.setattr("ankiqa.state.save_state", read_only)
    result = CliRunner().invoke(app, ["export", str(decks), "-o", str(tmp_path / "q.apkg")])
    assert result.exit_code == 0
    assert "warning[state-not-saved]: build state not saved (Permission denied)" in result.stderr
    assert (tmp_path / "q.apkg").is_file()


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX")
def test_a_long_export_shows_a_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    import pty

    questions = "".join(
        f"### Question {n}?\n\nAnswer {n}.\n\nquestion id: q-{n}\n\n" for n in range(2100)
    )
    write_deck(tmp_path / "decks" / "big.md", "# Big\n\n" + questions)

    def stderr_of_export(terminal: bool) -> str:
        reader, writer = pty.openpty() if terminal else os.pipe()
        command = [sys.executable, "-m", "ankiqa", "export"]
        with subprocess.Popen(command, cwd=tmp_path, stderr=writer, stdout=subprocess.DEVNULL):
            os.close(writer)
            chunks = []
            while True:
                try:
                    chunk = os.read(reader, 65536)
                except OSError:  # the terminal closed with the export
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        os.close(reader)
        shutil.rmtree(tmp_path / "dist")
        return b"".join(chunks).decode("utf-8", "replace")

    assert "Rendering" in stderr_of_export(terminal=True)
    assert "Rendering" not in stderr_of_export(terminal=False)
