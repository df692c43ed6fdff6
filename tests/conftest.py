"""Shared fixtures: copies of the seed deck and the held-out-style deck in a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ankiqa.cache import CACHE_ENV
from ankiqa.ledger import LEDGER_ENV
from ankiqa.state import STATE_FILE
from ankiqa.sync import CONFIG_ENV

TESTS = Path(__file__).parent
SEED_DECKS = TESTS.parent / "decks"
RICH_DECK = TESTS / "fixtures" / "rich.md"

# The seed deck's ids, in file order, exactly as the user wrote them (the last is not a UUID).
SEED_IDS = (
    "09b039b9-7bd9-40f5-8bdf-93d035a89839",
    "c04af593-b0a5-4ca0-b08e-4dad3b414c36",
    "a69ffc8e-7eac-4d5f-8f8b-886e1ce835dd",
    "9f7d9c11-01aa-4ded-ab6a-2411e939d86e",
    "dabde38a-2adf-4ca3-9ec4-11b761526740",
    "bb7d9a13-34a0-4973-86b7-65e4293a08f",
)
# The held-out-style deck's ids, in file order.
RICH_IDS = ("NET-UPPER-1", "0f0e2c5c-aaaa-4bbb-8ccc-00000000000a", "MATH-2", "last-3")

# Export timestamps: a first export, and a later one.
T0 = 1_700_000_000
T1 = T0 + 3600


def write_deck(
    path: Path, text: str, *, crlf: bool = False, bom: bool = False, final_newline: bool = True
) -> Path:
    """Write a deck file byte for byte as an editor might have saved it."""
    text = text.rstrip("\n") + ("\n" if final_newline else "")
    if crlf:
        text = text.replace("\n", "\r\n")
    data = ("\ufeff" if bom else "").encode("utf-8") + text.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def write_rich_deck(path: Path) -> Path:
    """The held-out-style deck saved the awkward way: CRLF, a BOM, no final newline."""
    text = RICH_DECK.read_text(encoding="utf-8")
    return write_deck(path, text, crlf=True, bom=True, final_newline=False)


@pytest.fixture(autouse=True)
def render_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test has a cache, a ledger and a config folder of its own, never the user's,
    outside its tmp_path (which some tests watch for changes)."""
    folder = tmp_path_factory.mktemp("render-cache")
    monkeypatch.setenv(CACHE_ENV, str(folder))
    monkeypatch.setenv(LEDGER_ENV, str(tmp_path_factory.mktemp("ledger")))
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path_factory.mktemp("config")))
    for name in ("ANKI_BASE", "ANKIQA_SYNC_USER", "ANKIQA_SYNC_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture
def decks(tmp_path: Path) -> Path:
    """A copy of the repository's `decks/` folder (the seed deck), safe to edit, without
    its build state: these tests start from a first export."""
    ignore = shutil.ignore_patterns(STATE_FILE)
    return Path(shutil.copytree(SEED_DECKS, tmp_path / "decks", ignore=ignore))
