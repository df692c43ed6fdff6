"""The build state: which `mod` each note gets, and the file that remembers it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ankiqa
from ankiqa.atomic import LEFTOVER_AFTER, write_atomically
from ankiqa.state import STATE_FILE, BuildState, Entry, StateError, load_state

T0 = 1_800_000_000


def test_unchanged_content_keeps_its_mod_changed_content_gets_a_later_one():
    state = BuildState.empty()
    assert state.stamp("q", "hash-1", T0, "") == T0  # new: now
    assert state.stamp("q", "hash-1", T0 + 50, "") == T0  # unchanged: recorded
    assert state.stamp("q", "hash-2", T0 + 50, "") == T0 + 50  # changed: now
    assert state.stamp("q", "hash-3", T0 + 50, "") == T0 + 51  # same second: still later
    assert state.stamp("q", "hash-4", T0, "") == T0 + 52  # clock behind the state: later


def test_a_removed_question_that_comes_back_gets_a_later_mod():
    state = BuildState.empty()
    state.stamp("q", "hash", T0, "")
    state.mark_removed(["q"])
    assert state.questions["q"] == Entry(None, T0, "")
    assert state.stamp("q", "hash", T0, "") == T0 + 1


def test_state_text_is_sorted_one_line_per_question_and_reads_back():
    state = BuildState.empty()
    state.stamp_note_type("basic", "type-hash", now=T0)
    for question_id in ("b", "c", "a"):
        state.stamp(question_id, f"hash-{question_id}", T0, "sub/deck.md")
    text = state.to_text()
    lines = text.splitlines()
    assert lines[0] == '{"ankiqa-state": 1, "note_type": {"hash": "type-hash", "mod": 1800000000}}'
    assert lines[1:] == [
        f'{{"id": "{q}", "file": "sub/deck.md", "hash": "hash-{q}", "mod": 1800000000}}'
        for q in "abc"
    ]
    assert BuildState.from_text(text) == state
    assert BuildState.from_text(text.replace("\n", "\r\n")) == state


def test_damaged_state_names_the_line():
    with pytest.raises(StateError) as raised:
        BuildState.from_text('{"ankiqa-state": 1}\n{"id": "a", "hash": "x"}\n')
    assert raised.value.line == 2


def test_export_creates_the_state_and_uses_it(tmp_path, decks):
    ankiqa.export([decks], dist=tmp_path / "dist", now=T0)
    state = load_state(decks)
    assert len(state.questions) == 6
    assert {entry.mod for entry in state.questions.values()} == {T0}
    assert {entry.file for entry in state.questions.values()} == {"web-servers.md"}

    deck = decks / "web-servers.md"
    deck.write_text(deck.read_text(encoding="utf-8").replace("UNIX", "Unix"), encoding="utf-8")
    ankiqa.export([decks], dist=tmp_path / "dist", now=T0 + 100)
    mods = {q: entry.mod for q, entry in load_state(decks).questions.items()}
    assert mods.pop("dabde38a-2adf-4ca3-9ec4-11b761526740") == T0 + 100
    assert set(mods.values()) == {T0}
    assert load_state(decks).note_types["basic"].mod == T0


def test_a_lone_file_uses_the_state_of_the_folder_above_it(tmp_path, decks):
    (decks / "lang").mkdir()
    (decks / "lang" / "python.md").write_text(
        "### What is a list?\n\nA mutable sequence.\n\nquestion id: py-1\n", encoding="utf-8"
    )
    ankiqa.export([decks], dist=tmp_path / "dist", now=T0)
    result = ankiqa.export([decks / "lang" / "python.md"], dist=tmp_path / "dist", now=T0 + 5)
    assert result.decks == ["lang::python"]
    assert result.up_to_date == [tmp_path / "dist" / "lang" / "python.apkg"]
    assert not result.removed  # exporting one file says nothing of the others
    assert not (decks / "lang" / STATE_FILE).exists()


@pytest.mark.parametrize("files", [1, 2])
def test_damaged_state_stops_the_export_before_anything_is_written(tmp_path, decks, files):
    if files == 2:  # a package done before the error shows: it was a KeyError
        (decks / "more.md").write_text("### More?\n\nYes.\n\nquestion id: m\n", "utf-8")
    (decks / STATE_FILE).write_text('{"ankiqa-state": 1}\nnot json\n', encoding="utf-8")
    with pytest.raises(ankiqa.DeckError) as raised:
        ankiqa.export([decks], dist=tmp_path / "dist")
    assert str(raised.value).startswith(f"{decks / STATE_FILE}:2:1: error[bad-state]")
    assert not (tmp_path / "dist").exists()


def test_a_question_moved_to_a_file_not_exported_is_not_reported_removed(tmp_path, decks):
    ankiqa.export([decks], dist=tmp_path / "dist", now=T0)
    seed = decks / "web-servers.md"
    text = seed.read_text(encoding="utf-8")
    start, end = text.index("### What is Gunicorn?"), text.index("### What is NGINX?")
    seed.write_text(text[:start] + text[end:], encoding="utf-8")
    (decks / "lang").mkdir()
    (decks / "lang" / "wsgi.md").write_text(text[start:end], encoding="utf-8")

    result = ankiqa.export([seed], dist=tmp_path / "dist", now=T0 + 5)
    assert result.removed == []
    assert load_state(decks).questions["dabde38a-2adf-4ca3-9ec4-11b761526740"].hash is not None


def test_a_lone_file_in_decks_gets_its_whole_folder_name_before_any_state_exists(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "decks" / "lang").mkdir(parents=True)
    deck = Path("decks/lang/python.md")
    deck.write_text("### What is a list?\n\nA sequence.\n\nquestion id: py-1\n", encoding="utf-8")
    result = ankiqa.export([deck], now=T0)
    assert result.decks == ["lang::python"]
    assert result.written == [Path("dist/lang/python.apkg")]
    assert (tmp_path / "decks" / STATE_FILE).is_file()
    assert not (tmp_path / "decks" / "lang" / STATE_FILE).exists()


def test_a_file_named_twice_is_read_once(tmp_path, decks):
    result = ankiqa.export([decks, decks / "web-servers.md"], dist=tmp_path / "dist", now=T0)
    assert result.notes == 6


def test_check_reports_a_damaged_state(decks):
    (decks / STATE_FILE).write_text("<<<<<<< HEAD\n", encoding="utf-8")
    codes = [d.code for d in ankiqa.check_project(ankiqa.load_project([decks]))]
    assert "bad-state" in codes


def test_a_sub_folder_exports_as_part_of_the_whole(tmp_path, decks, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (decks / "lang").mkdir()
    python = decks / "lang" / "python.md"
    python.write_text(
        "### What is a list?\n\nA sequence.\n\nquestion id: py-1\n\n"
        "### What is a dict?\n\nA mapping.\n\nquestion id: py-2\n",
        encoding="utf-8",
    )
    ankiqa.export([Path("decks")], now=T0)
    python.write_text("### What is a list?\n\nA sequence.\n\nquestion id: py-1\n", encoding="utf-8")

    result = ankiqa.export([Path("decks/lang")], now=T0 + 5)
    assert result.decks == ["lang::python"]
    assert result.written == [Path("dist/lang/python.apkg")]
    assert [(r.id, r.file) for r in result.removed] == [("py-2", Path("decks/lang/python.md"))]
    assert not (decks / "lang" / STATE_FILE).exists()


def test_a_deck_file_name_with_a_line_separator_character_survives_the_state(tmp_path):
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "a\u2028b.md").write_text("### Q?\n\nA.\n\nquestion id: q-1\n", encoding="utf-8")
    ankiqa.export([decks], dist=tmp_path / "dist", now=T0)
    assert load_state(decks).questions["q-1"].file == "a\u2028b.md"


def test_an_id_that_only_appears_inside_a_longer_one_elsewhere_is_still_removed(tmp_path):
    decks = tmp_path / "decks"
    decks.mkdir()
    a, b = decks / "a.md", decks / "b.md"
    a.write_text("### One?\n\nA.\n\nquestion id: q1\n", encoding="utf-8")
    b.write_text("### Ten?\n\nSee q1 too.\n\nquestion id: q10\n", encoding="utf-8")
    ankiqa.export([decks], dist=tmp_path / "dist", now=T0)
    a.write_text("### Two?\n\nB.\n\nquestion id: q2\n", encoding="utf-8")
    result = ankiqa.export([a], dist=tmp_path / "dist", now=T0 + 5)
    assert [r.id for r in result.removed] == ["q1"]


def test_other_note_types_and_kinds_are_recorded_and_read_back() -> None:
    state = BuildState.empty()
    state.stamp_note_type("basic", "basic-hash", now=T0)
    state.stamp_note_type("cloze", "cloze-hash", now=T0)
    state.stamp("c", "hash-c", T0, "deck.md", kind="cloze")
    state.stamp("q", "hash-q", T0, "deck.md")
    text = state.to_text()
    assert text.splitlines() == [
        '{"ankiqa-state": 1, "note_type": {"hash": "basic-hash", "mod": 1800000000},'
        ' "note_types": {"cloze": {"hash": "cloze-hash", "mod": 1800000000}}}',
        '{"id": "c", "file": "deck.md", "hash": "hash-c", "mod": 1800000000, "kind": "cloze"}',
        '{"id": "q", "file": "deck.md", "hash": "hash-q", "mod": 1800000000}',
    ]
    again = BuildState.from_text(text)
    assert again == state
    assert (again.questions["c"].kind, again.questions["q"].kind) == ("cloze", "basic")


def test_a_state_line_with_an_unknown_kind_is_damage() -> None:
    with pytest.raises(StateError):
        BuildState.from_text(
            '{"id": "q", "file": "d.md", "hash": "h", "mod": 1, "kind": "Cloze"}\n'
        )


def test_a_state_line_with_values_of_the_wrong_type_is_damage() -> None:
    for line in (
        '{"id": 5, "file": "d.md", "hash": "h", "mod": 1}',
        '{"id": "q", "file": "d.md", "hash": "h", "mod": "1"}',
        '{"id": "q", "file": "d.md", "hash": "ab", "mod": ' + "1" * 4301 + "}",  # too long
    ):
        with pytest.raises(StateError):
            BuildState.from_text(line + "\n")


def test_a_temporary_file_left_by_a_killed_write_is_removed(tmp_path: Path) -> None:
    target = tmp_path / "ankiqa-state.jsonl"
    old = tmp_path / ".ankiqa-state.jsonl.abc123.tmp"  # what a SIGKILL leaves behind
    recent = tmp_path / ".ankiqa-state.jsonl.def456.tmp"  # perhaps another run's, now
    for leftover in (old, recent):
        leftover.write_text("partial")
    long_ago = time.time() - LEFTOVER_AFTER - 1
    os.utime(old, (long_ago, long_ago))
    write_atomically(target, b"state\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [recent.name, target.name]


def test_a_state_line_that_is_not_an_object_is_damage() -> None:
    with pytest.raises(StateError):
        BuildState.from_text('{"ankiqa-state": 1}\n[1]\n')


TEXTS = st.text(st.sampled_from('ab"\\\x00\x1f\x7f é\u2028\U0001f600'), max_size=6)
ENTRIES = st.builds(
    Entry,
    hash=st.one_of(st.none(), st.text("0123456789abcdef", max_size=20), TEXTS),
    mod=st.integers(-(2**70), 2**70),
    file=TEXTS,
    kind=st.sampled_from(["basic", "cloze", "reversed"]),
    clozes=st.lists(st.integers(0, 20), max_size=3).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(TEXTS, ENTRIES, max_size=8))
def test_state_lines_are_the_json_of_their_records_and_read_back(entries: dict) -> None:
    """A line is written, and the plain ones read, without the JSON module's help: the
    same as with it."""
    state = BuildState({}, entries)
    lines = state.to_text().split("\n")[1:-1]  # not splitlines(): U+2028 is no line end
    records = []
    for question_id in sorted(entries):
        entry = entries[question_id]
        record = {"id": question_id, "file": entry.file, "hash": entry.hash, "mod": entry.mod}
        record |= {"kind": entry.kind} if entry.kind != "basic" else {}
        record |= {"clozes": list(entry.clozes)} if entry.clozes else {}
        records.append(json.dumps(record, ensure_ascii=False))
    assert lines == records
    assert BuildState.from_text(state.to_text()) == state
