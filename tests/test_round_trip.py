"""The user's flow, end to end: export, import on the desktop, sync to a phone, review,
edit the Markdown, export again. Only what was edited may change."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from anki.sync_pb2 import SyncCollectionResponse
from anki_client import card_history, import_package, notes_by_guid, open_collection, review
from sync_server import sync, sync_server

import ankiqa
from ankiqa import notetypes
from ankiqa.build import anki_search

# Not a full sync. A normal sync is done inside sync_collection(), which then answers
# NO_CHANGES ("nothing more to do"); only a full sync would be left to the caller.
NORMAL = (SyncCollectionResponse.NO_CHANGES, SyncCollectionResponse.NORMAL_SYNC)


def unsynced(col) -> int:
    return col.db.scalar("select count() from notes where usn = -1")


def write_deck(path: Path, questions: dict[str, tuple[str, str]]) -> None:
    body = "".join(
        f"### {title}\n\n{answer}\n\nquestion id: {qid}\n\n\n"
        for qid, (title, answer) in questions.items()
    )
    path.write_text("# Round trip\n\n" + body, encoding="utf-8")


def export(project: Path, now: int | None = None) -> Path:
    result = ankiqa.export([project / "decks"], output=project / "deck.apkg", now=now)
    assert {warning.code for warning in result.warnings} <= {"malformed-id"}  # short test ids
    return project / "deck.apkg"


def histories(col) -> dict[int, tuple]:
    return {cid: card_history(col, cid) for cid in col.find_cards("")}


@pytest.fixture
def devices(tmp_path):
    with sync_server(tmp_path / "server") as url:
        desktop = open_collection(tmp_path / "desktop")
        phone = open_collection(tmp_path / "phone")
        yield desktop, phone, url
        desktop.close()
        phone.close()


def test_edits_reach_the_phone_and_nothing_else_changes(tmp_path, devices):
    desktop, phone, url = devices
    (tmp_path / "decks").mkdir()
    deck = tmp_path / "decks" / "round-trip.md"
    questions = {f"id-{n}": (f"Question {n}?", f"Answer {n}.") for n in range(6)}
    write_deck(deck, questions)

    assert import_package(desktop, export(tmp_path)).new == 6
    assert sync(desktop, url) in (
        SyncCollectionResponse.FULL_SYNC,
        SyncCollectionResponse.FULL_UPLOAD,
    )
    sync(phone, url)
    assert phone.note_count() == 6

    for card_id in phone.find_cards("")[:4]:
        review(phone, card_id)
    assert sync(phone, url) in NORMAL
    assert sync(desktop, url) in NORMAL
    before = histories(desktop)
    assert before == histories(phone)
    assert sum(len(h[-1]) for h in before.values()) == 4  # four review log rows

    questions["id-1"] = ("Question 1?", "Answer 1, **edited**.")
    questions["id-new"] = ("A new question?", "A new answer.")
    del questions["id-5"]
    write_deck(deck, questions)
    result = ankiqa.export([tmp_path / "decks"], output=tmp_path / "deck.apkg")
    assert [removed.id for removed in result.removed] == ["id-5"]

    counts = import_package(desktop, tmp_path / "deck.apkg")
    assert (counts.new, counts.updated, counts.duplicate, counts.conflicting) == (1, 1, 4, 0)
    assert unsynced(desktop) == 2
    assert sync(desktop, url) in NORMAL
    assert unsynced(desktop) == 0
    assert sync(phone, url) in NORMAL

    guid = ankiqa.note_guid("id-1")
    for col in (desktop, phone):
        assert (
            notes_by_guid(col)[guid]["fields"]["Answer"]
            == "<p>Answer 1, <strong>edited</strong>.</p>"
        )
        after = histories(col)
        assert {cid: after[cid] for cid in before} == before
        assert col.note_count() == 7  # the removed question's note stays until the user deletes it
    search = anki_search(["id-5"])
    assert [desktop.get_note(n).guid for n in desktop.find_notes(search)] == [
        ankiqa.note_guid("id-5")
    ]


def test_css_change_reaches_the_phone_without_a_full_sync(tmp_path, devices, monkeypatch):
    desktop, phone, url = devices
    (tmp_path / "decks").mkdir()
    write_deck(tmp_path / "decks" / "css.md", {"a": ("Q?", "A.")})
    import_package(desktop, export(tmp_path))
    sync(desktop, url)
    sync(phone, url)

    monkeypatch.setattr(notetypes, "CARD_CSS", notetypes.CARD_CSS + ".answer { color: teal; }\n")
    later = int(time.time()) + 2  # the note type's mod must beat the last import's clock
    counts = import_package(desktop, export(tmp_path, now=later))
    assert (counts.new, counts.updated, counts.conflicting) == (0, 0, 0)
    assert sync(desktop, url) in NORMAL
    assert sync(phone, url) in NORMAL
    for col in (desktop, phone):
        assert "color: teal" in col.models.by_name(notetypes.BASIC.name)["css"]


def test_twenty_rounds_of_edits_do_not_drift(tmp_path, devices):
    desktop, phone, url = devices
    rng = random.Random(20)
    (tmp_path / "decks").mkdir()
    deck = tmp_path / "decks" / "drift.md"
    questions = {f"q{n}": (f"Question {n}?", f"Answer {n}.") for n in range(10)}
    write_deck(deck, questions)
    import_package(desktop, export(tmp_path))
    sync(desktop, url)
    sync(phone, url)
    next_id = 10
    for round_number in range(20):
        edited = rng.sample(sorted(questions), 2)
        for qid in edited:
            questions[qid] = (questions[qid][0], f"Answer {qid}, round {round_number}.")
        removed = rng.choice(sorted(set(questions) - set(edited)))
        del questions[removed]
        questions[f"q{next_id}"] = (f"Question {next_id}?", "Fresh.")
        next_id += 1
        write_deck(deck, questions)
        for card_id in phone.find_cards("is:new")[:1]:
            review(phone, card_id)
        assert sync(phone, url) in NORMAL
        assert sync(desktop, url) in NORMAL
        before = histories(desktop)

        counts = import_package(desktop, export(tmp_path))  # real clock: rounds share seconds

        unchanged = len(questions) - 3
        assert (counts.new, counts.updated, counts.duplicate, counts.conflicting) == (
            1,
            2,
            unchanged,
            0,
        ), f"round {round_number}"
        assert sync(desktop, url) in NORMAL
        assert unsynced(desktop) == 0
        assert sync(phone, url) in NORMAL
        assert {cid: h for cid, h in histories(desktop).items() if cid in before} == before
    assert histories(desktop) == histories(phone)
    answers = {
        n["fields"]["Question ID"]: n["fields"]["Answer"] for n in notes_by_guid(phone).values()
    }
    for qid, (_, answer) in questions.items():
        assert answers[qid] == f"<p>{answer}</p>"
