"""Project settings: `[tool.ankiqa]` in `pyproject.toml`, or an `ankiqa.toml`.

    [tool.ankiqa]
    decks = "notes"          # the decks folder, relative to this file (default: decks)
    dist = "build/anki"      # where `export` writes packages (default: dist)
    deck-prefix = "Uni"      # every deck below `Uni::`
    light-style = "friendly" # Pygments styles for code, in light and night mode
    dark-style = "monokai"

The file is found by walking up from the paths given, never from the working folder, so
deck names and package paths are the same wherever ankiqa runs. Command-line options win
over it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, fields
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_FILE = "ankiqa.toml"
PYPROJECT = "pyproject.toml"
# Pygments styles for code on light and on dark cards.
LIGHT_STYLE = "default"
DARK_STYLE = "github-dark"


class ConfigError(ValueError):
    """A settings file ankiqa cannot use: `path`, and why."""

    def __init__(self, path: Path, message: str):
        super().__init__(f"{path}: {message}")
        self.path, self.message = path, message


@dataclass(frozen=True)
class Settings:
    root: Path | None = None  # the folder of the settings file; None without one
    decks: str = "decks"
    dist: str = "dist"
    deck_prefix: str = ""
    light_style: str = LIGHT_STYLE
    dark_style: str = DARK_STYLE

    @property
    def styles(self) -> tuple[str, str]:
        return self.light_style, self.dark_style


_KEYS = {f.name.replace("_", "-"): f.name for f in fields(Settings) if f.name != "root"}


def find_settings(path: Path) -> Settings:
    """The settings of the project that `path` (a deck file or folder) belongs to: from
    the nearest `ankiqa.toml`, or `pyproject.toml` with a `[tool.ankiqa]` table, at or
    above it. Raises ConfigError for one that cannot be read."""
    folder = path if path.is_dir() else path.parent
    for candidate in [folder.absolute(), *folder.absolute().parents]:
        for name in (CONFIG_FILE, PYPROJECT):
            file = candidate / name
            if not file.is_file():
                continue
            if name == PYPROJECT and "[tool.ankiqa]" not in _text(file):
                continue  # another tool's file: not ours to judge
            table = _read(file)
            if name == PYPROJECT or "tool" in table:  # ankiqa.toml may hold [tool.ankiqa]
                table = table.get("tool", {}).get("ankiqa", {})
            return _settings(file, table)
    return Settings()


def default_decks() -> Path:
    """The decks folder when no path is given: the settings' of the project the working
    folder is in, else `decks`."""
    try:
        settings = find_settings(Path.cwd())
    except ConfigError:  # `check` reports it, at the file
        settings = Settings()
    if settings.root is None:
        return Path("decks")
    return Path(os.path.relpath(settings.root / settings.decks))


def _text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(file, f"cannot read settings ({error})") from None


def _read(file: Path) -> dict:
    try:
        return tomllib.loads(_text(file))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(file, f"cannot read settings ({error})") from None


def _settings(file: Path, table: object) -> Settings:
    if not isinstance(table, dict):
        raise ConfigError(file, "[tool.ankiqa] is a table of settings")
    values = {}
    for key, value in table.items():
        if key not in _KEYS:
            raise ConfigError(file, f"unknown setting `{key}` (known: {', '.join(_KEYS)})")
        if not isinstance(value, str):
            raise ConfigError(file, f"`{key}` is a string")
        values[_KEYS[key]] = value
    named = [values[key] for key in ("light_style", "dark_style") if key in values]
    if named:  # Pygments is imported only then: see `fresh`
        from pygments.styles import get_all_styles

        styles = set(get_all_styles())
        for style in named:
            if style not in styles:
                raise ConfigError(file, f"`{style}` is no Pygments style")
    return Settings(root=file.parent, **values)
