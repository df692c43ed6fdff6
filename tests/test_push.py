"""`ankiqa push`: straight into a real Anki collection, with Anki's own backend as judge."""

from __future__ import annotations

import pickle
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from anki._backend import RustBackend
from anki.collection import Collection
from anki_client import card_history, card_id, notes_by_guid, open_collection, review
from typer.testing import CliRunner

import ankiqa
from ankiqa.cli import app
from ankiqa.profiles import CollectionNotFound, find_collection
from ankiqa.pushing import CONFLICT, FORCED, KEPT, NEW, UNCHANGED, UPDATED, push

T0 = int(time.time()) - 1000  # earlier than any edit a test makes in Anki


def deck_text(questions: dict[str, str]) -> str:
    return "# Push\n\n" + "".join(
        f"### Question {qid}?\n\n{answer}\n\nquestion id: {qid}\n\n"
        for qid, answer in questions.items()
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "decks").mkdir()
    write(tmp_path, {f"q{n}": f"Answer {n}." for n in range(4)})
    open_collection(tmp_path / "anki").close()
    return tmp_path


def write(project: Path, questions: dict[str, str]) -> None:
    (project / "decks" / "push.md").write_text(deck_text(questions), encoding="utf-8")


def collection(project: Path) -> Path:
    return project / "anki" / "collection.anki2"


def run(project: Path, *args: str, now: int = T0, **options):
    return push([project / "decks"], collection(project), *args, now=now, **options)


def statuses(result) -> dict[str, str]:
    return {outcome.question.id: outcome.status for outcome in result.notes}


def answers(project: Path) -> dict[str, str]:
    col = Collection(str(collection(project)))
    try:
        by_guid = notes_by_guid(col)
        return {
            note["fields"]["Question ID"]: note["fields"]["Answer"] for note in by_guid.values()
        }
    finally:
        col.close()


def edit_in_anki(project: Path, question_id: str, answer: str) -> None:
    """An edit made in Anki's editor: the field changes, and the note's `mod` is now."""
    col = Collection(str(collection(project)))
    try:
        note = col.get_note(col.find_notes(f'"Question ID:{question_id}"')[0])
        note["Answer"] = answer
        col.update_note(note)
    finally:
        col.close()


def test_push_imports_updates_and_reports_per_note(project):
    first = run(project)
    assert set(statuses(first).values()) == {NEW}
    assert first.note_types == ["ankiqa Q&A"]
    assert first.backup is not None and first.backup.suffix == ".colpkg"
    assert answers(project) == {f"q{n}": f"<p>Answer {n}.</p>" for n in range(4)}
    built = {note.question_id: note.fields for note in ankiqa.build_decks([project / "decks"])}
    col = Collection(str(collection(project)))
    try:
        held = {
            n["fields"]["Question ID"]: tuple(n["fields"].values())
            for n in notes_by_guid(col).values()
        }
        cid = card_id(col, ankiqa.note_guid("q1"))
        review(col, cid)
        history = card_history(col, cid)
    finally:
        col.close()
    assert held == built

    again = run(project, now=T0 + 10)
    assert set(statuses(again).values()) == {UNCHANGED}
    assert again.backup is None  # nothing to change, nothing backed up

    write(
        project,
        {
            "q0": "Answer 0.",
            "q1": "Answer 1, **edited**.",
            "q2": "Answer 2.",
            "q3": "Answer 3.",
            "q4": "New.",
        },
    )
    third = run(project, now=T0 + 20)
    assert statuses(third) == {
        "q0": UNCHANGED,
        "q1": UPDATED,
        "q2": UNCHANGED,
        "q3": UNCHANGED,
        "q4": NEW,
    }
    assert answers(project)["q1"] == "<p>Answer 1, <strong>edited</strong>.</p>"
    assert third.note_types == []  # the note type was up to date already
    col = Collection(str(collection(project)))
    try:
        assert card_history(col, cid) == history  # the review survived the update
    finally:
        col.close()


def test_an_edit_made_in_anki_stays_while_its_markdown_is_unchanged(project):
    run(project)
    time.sleep(1)  # Anki's note `mod` is in seconds
    edit_in_anki(project, "q2", "Edited on the phone.")
    write(project, {"q0": "Answer 0.", "q1": "Changed.", "q2": "Answer 2.", "q3": "Answer 3."})

    result = run(project, now=int(time.time()) + 5)

    assert statuses(result) == {"q0": UNCHANGED, "q1": UPDATED, "q2": KEPT, "q3": UNCHANGED}
    assert answers(project)["q2"] == "Edited on the phone."


def test_an_edit_in_anki_and_in_the_markdown_is_a_conflict_until_forced(project):
    run(project)
    time.sleep(1)
    edit_in_anki(project, "q2", "Edited in Anki.")
    write(
        project,
        {"q0": "Answer 0.", "q1": "Answer 1.", "q2": "Edited in the Markdown.", "q3": "Answer 3."},
    )

    result = CliRunner().invoke(
        app, ["push", str(project / "decks"), "--collection", str(collection(project))]
    )

    assert result.exit_code == 3, result.output
    assert "conflict, left as Anki has it: Question q2?" in result.output
    assert "-Edited in Anki." in result.output
    assert "+Edited in the Markdown." in result.output
    assert answers(project)["q2"] == "Edited in Anki."
    # Still a conflict next time: its record was not moved on.
    assert statuses(run(project, now=int(time.time()) + 5))["q2"] == CONFLICT
    assert answers(project)["q2"] == "Edited in Anki."

    forced = run(project, now=int(time.time()) + 6, force=True)
    assert statuses(forced)["q2"] == FORCED
    assert answers(project)["q2"] == "<p>Edited in the Markdown.</p>"
    assert statuses(run(project, now=int(time.time()) + 7))["q2"] == UNCHANGED


def test_a_dry_run_changes_nothing(project):
    run(project)
    write(project, {"q0": "Changed.", "q1": "Answer 1."})
    state = (project / "decks" / "ankiqa-state.jsonl").read_bytes()
    before = answers(project)

    result = CliRunner().invoke(
        app,
        [
            "push",
            str(project / "decks"),
            "--collection",
            str(collection(project)),
            "--dry-run",
            "--delete-removed",
        ],
    )

    assert result.exit_code == 0, result.output
    assert "would be updated: Question q0?" in result.output
    assert "Would delete 2 notes" in result.output
    assert answers(project) == before
    assert (project / "decks" / "ankiqa-state.jsonl").read_bytes() == state
    assert len(list((project / "anki" / "backups").glob("*.colpkg"))) == 1  # the first push's


def test_delete_removed_deletes_only_ankiqas_notes_of_removed_questions(project):
    run(project)
    col = Collection(str(collection(project)))
    try:
        # Another tool's note, and a note of ankiqa's note type that the identity
        # contract does not give this GUID (a copy made in Anki): neither is ankiqa's to delete.
        basic = col.models.by_name("Basic")
        other = col.new_note(basic)
        other["Front"], other["Back"] = "Other tool", "q3"
        col.add_note(other, col.decks.id("Default"))
        copy = col.new_note(col.models.by_name("ankiqa Q&A"))
        copy["Question"], copy["Question ID"] = "A copy", "q3"
        col.add_note(copy, col.decks.id("Default"))
        kept_ids = {other.id, copy.id}
    finally:
        col.close()
    write(project, {"q0": "Answer 0.", "q1": "Answer 1."})

    result = run(project, now=T0 + 10, delete_removed=True)

    assert sorted(note.question_id for note in result.deleted) == ["q2", "q3"]
    col = Collection(str(collection(project)))
    try:
        remaining = set(col.find_notes(""))
        assert kept_ids <= remaining
        assert {col.get_note(n).guid for n in remaining - kept_ids} == {
            ankiqa.note_guid("q0"),
            ankiqa.note_guid("q1"),
        }
    finally:
        col.close()

    # The backup written before the deletion restores them, as Anki's "Open Backup" does.
    assert result.backup is not None
    restored = project / "restored"
    restored.mkdir()
    RustBackend().import_collection_package(
        col_path=str(restored / "collection.anki2"),
        backup_path=str(result.backup),
        media_folder=str(restored / "collection.media"),
        media_db=str(restored / "collection.media.db2"),
    )
    col = Collection(str(restored / "collection.anki2"))
    try:
        guids = {col.get_note(n).guid for n in col.find_notes("")}
        assert {ankiqa.note_guid(f"q{n}") for n in range(4)} <= guids
    finally:
        col.close()


def test_a_collection_open_in_anki_is_refused_with_exit_1(project):
    col = Collection(str(collection(project)))  # as Anki desktop holds it while it runs
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "ankiqa",
                "push",
                "decks",
                "--collection",
                str(collection(project)),
            ],
            cwd=project,
            capture_output=True,
            text=True,
        )
    finally:
        col.close()
    assert done.returncode == 1
    assert "is open in Anki: close Anki" in done.stderr and "Traceback" not in done.stderr
    assert not (project / "decks" / "ankiqa-state.jsonl").exists()


def make_profiles(base: Path, names: list[str], last: str | None) -> None:
    """An Anki base folder as Anki writes it: a folder per profile and `prefs21.db`,
    whose `_global` row is a pickle holding the last profile opened."""
    base.mkdir(parents=True)
    with sqlite3.connect(base / "prefs21.db") as prefs:
        prefs.execute("create table profiles (name text primary key, data blob not null)")
        meta = {"ver": 0, "last_loaded_profile_name": last} if last else {"ver": 0}
        prefs.execute("insert into profiles values ('_global', ?)", (pickle.dumps(meta),))
        for name in names:
            open_collection(base / name).close()
            prefs.execute("insert into profiles values (?, ?)", (name, pickle.dumps({})))


def test_the_collection_is_found_in_ankis_profiles(tmp_path, monkeypatch):
    base = tmp_path / "Anki2"
    monkeypatch.setenv("ANKI_BASE", str(base))
    make_profiles(base, ["User 1", "Work"], last="Work")

    assert find_collection() == base / "Work" / "collection.anki2"
    assert find_collection(profile="User 1") == base / "User 1" / "collection.anki2"
    with pytest.raises(CollectionNotFound, match=r"no Anki profile 'Nope'.*User 1, Work"):
        find_collection(profile="Nope")


def test_with_several_profiles_and_none_last_used_push_asks_for_one(tmp_path, monkeypatch):
    base = tmp_path / "Anki2"
    monkeypatch.setenv("ANKI_BASE", str(base))
    make_profiles(base, ["User 1", "Work"], last=None)
    (tmp_path / "decks").mkdir()
    write(tmp_path, {"q0": "A."})

    result = CliRunner().invoke(app, ["push", str(tmp_path / "decks")])

    assert result.exit_code == 2
    assert "several profiles (User 1, Work): choose one with --profile" in result.output


def test_anki_settings_are_read_without_running_their_code(tmp_path, monkeypatch):
    """Anki pickles its settings: a pickle that would call a function is not run."""
    base = tmp_path / "Anki2"
    monkeypatch.setenv("ANKI_BASE", str(base))
    make_profiles(base, ["Only"], last=None)
    marker = tmp_path / "ran"
    evil = b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."
    with sqlite3.connect(base / "prefs21.db") as prefs:
        prefs.execute("update profiles set data = ? where name = '_global'", (evil,))

    assert find_collection() == base / "Only" / "collection.anki2"
    assert not marker.exists()


def test_without_the_anki_package_push_says_how_to_install_it(project, monkeypatch):
    monkeypatch.setitem(sys.modules, "anki.collection", None)  # as if not installed

    result = CliRunner().invoke(app, ["push", str(project / "decks")])

    assert result.exit_code == 2
    assert "pip install 'ankiqa[anki]'" in result.output


def test_a_kept_edit_survives_a_lost_build_state_and_a_note_type_update(project):
    """Without its build state, every note type is due an update, which an import makes
    only with notes of it: the note carrying it must not overwrite an edit made in Anki."""
    run(project)
    time.sleep(1)
    edit_in_anki(project, "q1", "Edited in Anki.")
    (project / "decks" / "ankiqa-state.jsonl").unlink()

    result = run(project, now=int(time.time()) + 5)

    assert statuses(result)["q1"] == KEPT
    assert result.note_types == ["ankiqa Q&A"]
    assert answers(project)["q1"] == "Edited in Anki."


def test_an_export_between_two_pushes_does_not_hide_an_edit_made_in_anki(project):
    run(project)
    time.sleep(1)
    edit_in_anki(project, "q1", "Edited in Anki.")
    write(
        project,
        {"q0": "Answer 0.", "q1": "Edited in the Markdown.", "q2": "Answer 2.", "q3": "Answer 3."},
    )
    ankiqa.export([project / "decks"], output=project / "all.apkg", now=int(time.time()) + 5)

    assert statuses(run(project, now=int(time.time()) + 6))["q1"] == CONFLICT
    assert answers(project)["q1"] == "Edited in Anki."

    # The Markdown put back to what push left in Anki: the Anki edit is simply kept.
    write(project, {f"q{n}": f"Answer {n}." for n in range(4)})
    assert statuses(run(project, now=int(time.time()) + 7))["q1"] == KEPT


def test_marking_a_note_in_anki_is_not_an_edit_and_an_update_keeps_the_mark(project):
    run(project)
    time.sleep(1)
    col = Collection(str(collection(project)))
    try:
        note = col.get_note(col.find_notes('"Question ID:q1"')[0])
        note.add_tag("marked")
        col.update_note(note)
    finally:
        col.close()
    write(project, {"q0": "Answer 0.", "q1": "Changed.", "q2": "Answer 2.", "q3": "Answer 3."})

    assert statuses(run(project, now=int(time.time()) + 5))["q1"] == UPDATED
    col = Collection(str(collection(project)))
    try:
        note = col.get_note(col.find_notes('"Question ID:q1"')[0])
        assert note["Answer"] == "<p>Changed.</p>" and note.has_tag("marked")
    finally:
        col.close()


def test_a_note_type_changed_in_anki_leaves_its_notes_alone_without_a_copy(project):
    run(project)
    col = Collection(str(collection(project)))
    try:
        notetype = col.models.by_name("ankiqa Q&A")
        col.models.add_field(notetype, col.models.new_field("Extra"))
        col.models.update_dict(notetype)
    finally:
        col.close()
    write(project, {"q0": "Changed.", "q1": "Answer 1.", "q2": "Answer 2.", "q3": "Answer 3."})

    result = CliRunner().invoke(
        app, ["push", str(project / "decks"), "--collection", str(collection(project)), "--force"]
    )

    assert result.exit_code == 0, result.output
    assert "had fields or card types added, removed or reordered in Anki" in result.output
    assert "0 new, 0 updated" in result.output
    assert answers(project)["q0"] == "<p>Answer 0.</p>"
    col = Collection(str(collection(project)))
    try:
        assert "ankiqa Q&A+" not in [model.name for model in col.models.all_names_and_ids()]
    finally:
        col.close()


def test_delete_removed_spares_a_question_moved_to_a_deck_folder_not_pushed(project):
    more = project / "more"
    more.mkdir()
    run(project)
    write(project, {"q0": "Answer 0.", "q1": "Answer 1.", "q3": "Answer 3."})
    (more / "m.md").write_text(deck_text({"q2": "Answer 2."}), encoding="utf-8")
    assert statuses(push([more], collection(project), now=T0 + 10))["q2"] == UNCHANGED

    result = run(project, now=T0 + 20, delete_removed=True)

    assert result.deleted == []
    assert "q2" in answers(project)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--collection", "decks/push.md"], "not an Anki collection"),
        (["--profile", "../anki"], "no Anki profile '../anki'"),
    ],
)
def test_a_wrong_collection_is_refused_with_exit_2(project, monkeypatch, arguments, message):
    monkeypatch.chdir(project)
    monkeypatch.setenv("ANKI_BASE", str(project / "base"))
    (project / "base").mkdir()

    result = CliRunner().invoke(app, ["push", "decks", *arguments])

    assert result.exit_code == 2, result.output
    assert message in result.output
    assert (project / "decks" / "push.md").read_text(encoding="utf-8").startswith("# Push")
