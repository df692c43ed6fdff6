"""Where an application keeps its files in the user's home, per platform."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def user_folder(name: str, override: str, xdg: str, xdg_default: Path) -> Path:
    """`$override`, else `name` in the platform's folder for application files:
    `%APPDATA%` on Windows, `~/Library/Application Support` on macOS, else `$xdg`
    (an XDG base directory variable) or `xdg_default`."""
    if os.environ.get(override):
        return Path(os.environ[override])
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / name
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / name
    return Path(os.environ.get(xdg) or xdg_default) / name
