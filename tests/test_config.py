"""Project settings and the project root: found from the paths, never the working folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from anki_client import import_into_fresh_collection
from conftest import write_deck
from typer.testing import CliRunner

import ankiqa
from ankiqa.cli import app
from ankiqa.highlight import stylesheet
from ankiqa.notes import note_guid

QUESTION = "### What is {name}?\n\nA language.\n\nquestion id: {name}-id\n"


def project(tmp_path: Path, settings: str | None) -> Path:
    """A project: `settings` as `[tool.ankiqa]` in its pyproject.toml, and two decks."""
    root = tmp_path / "project"
    if settings is not None:
        root.mkdir(parents=True)
        (root / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n[tool.ankiqa]\n{settings}")
    decks = root / ("notes" if settings and "notes" in settings else "decks")
    write_deck(decks / "lang" / "python.md", QUESTION.format(name="python"))
    write_deck(decks / "rust.md", QUESTION.format(name="rust"))
    return root


def test_a_deck_is_named_and_packaged_the_same_from_any_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, None)
    packages = []
    for working_folder, path in (
        (root, Path("decks/lang/python.md")),
        (tmp_path, root / "decks" / "lang" / "python.md"),
        (root / "decks" / "lang", Path("python.md")),
    ):
        monkeypatch.chdir(working_folder)
        result = ankiqa.export([path], now=1_700_000_000)
        assert result.decks == ["lang::python"]
        (written,) = result.written or result.up_to_date
        assert written.resolve() == root / "dist" / "lang" / "python.apkg"
        packages.append(written.read_bytes())
    assert packages[0] == packages[1] == packages[2]


def test_settings_name_the_folders_the_prefix_and_the_code_styles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = 'decks = "notes"\ndist = "build/anki"\ndeck-prefix = "Uni"\n'
    settings += 'light-style = "friendly"\ndark-style = "monokai"\n'
    root = project(tmp_path, settings)
    monkeypatch.chdir(tmp_path)
    result = ankiqa.export([root / "notes"], now=1_700_000_000)
    assert result.decks == ["Uni::lang::python", "Uni::rust"]
    assert sorted(p.relative_to(root).as_posix() for p in result.written) == [
        "build/anki/lang/python.apkg",
        "build/anki/rust.apkg",
    ]
    counts, notes = import_into_fresh_collection(root / "build/anki/rust.apkg", tmp_path / "col")
    assert counts.new == 1 and notes[note_guid("rust-id")]["deck"] == "Uni::rust"
    col_css = stylesheet("friendly", "monokai")
    assert col_css != stylesheet() and col_css in ankiqa.notetypes.BASIC.css(
        ("friendly", "monokai")
    )


def test_the_command_line_wins_over_the_settings(tmp_path: Path) -> None:
    root = project(tmp_path, 'decks = "notes"\ndist = "build"\n')
    other = tmp_path / "elsewhere"
    result = CliRunner().invoke(app, ["export", str(root / "notes"), "--dist", str(other)])
    assert result.exit_code == 0, result.output
    assert (other / "rust.apkg").is_file() and not (root / "build").exists()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ('colour = "blue"\n', "unknown setting `colour`"),
        ('dark-style = "no-such-style"\n', "`no-such-style` is no Pygments style"),
        ("decks = 3\n", "`decks` is a string"),
        ("decks = \n", "cannot read settings"),
    ],
)
def test_settings_that_cannot_be_used_are_an_error(
    tmp_path: Path, settings: str, message: str
) -> None:
    root = project(tmp_path, settings)
    result = CliRunner().invoke(app, ["check", str(root / "decks")])
    assert result.exit_code == 2  # could not run
    assert f"pyproject.toml:1:1: error[bad-config]: {message}" in result.output


def test_without_paths_the_settings_decks_folder_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, 'decks = "notes"\n')
    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "in 2 files" in result.output or result.output.count("malformed-id") == 2


def test_other_tools_files_and_ankiqa_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("this is = not [ toml")  # not ankiqa's
    root = tmp_path / "project"
    write_deck(root / "cards" / "rust.md", QUESTION.format(name="rust"))
    (root / "ankiqa.toml").write_text('[tool.ankiqa]\ndecks = "cards"\ndeck-prefix = "P"\n')
    assert ankiqa.export([root / "cards"], now=1_700_000_000).decks == ["P::rust"]


def test_each_project_keeps_its_own_settings(tmp_path: Path) -> None:
    first = project(tmp_path / "a", 'dist = "out-a"\n')
    second = project(tmp_path / "b", 'dist = "out-b"\n')
    for deck in (second / "decks").rglob("*.md"):  # ids are unique across one export
        deck.write_text(deck.read_text().replace("-id", "-b-id"))
    result = ankiqa.export([first / "decks", second / "decks"], now=1_700_000_000)
    written = sorted(path.relative_to(tmp_path).as_posix() for path in result.written)
    assert written[0].startswith("a/project/out-a/") and written[-1].startswith("b/project/out-b/")
