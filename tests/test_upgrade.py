"""An upgrade of ankiqa updates no note whose question did not change."""

from __future__ import annotations

import shutil
from pathlib import Path

from anki_client import import_package, open_collection
from conftest import SEED_DECKS, TESTS

import ankiqa
from ankiqa.state import STATE_FILE

PREVIOUS = TESTS / "fixtures" / "previous-release"


def test_a_package_of_the_previous_release_then_ours_updates_nothing(tmp_path: Path) -> None:
    decks = tmp_path / "decks"
    decks.mkdir()
    shutil.copy(SEED_DECKS / "web-servers.md", decks)
    shutil.copy(PREVIOUS / STATE_FILE, decks)  # the previous release's build state
    ours = tmp_path / "ours.apkg"
    ankiqa.export([decks], output=ours, now=1_760_000_000)

    col = open_collection(tmp_path / "col")
    try:
        first = import_package(col, PREVIOUS / "web-servers.apkg")
        second = import_package(col, ours)
    finally:
        col.close()
    assert (first.new, first.updated) == (6, 0)
    assert (second.new, second.updated, second.duplicate, second.conflicting) == (0, 0, 6, 0)
