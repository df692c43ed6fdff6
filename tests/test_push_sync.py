"""`ankiqa push --sync` against Anki's own sync server on 127.0.0.1, with a second
collection syncing from it as the phone."""

from __future__ import annotations

import base64
import os
import stat
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from anki.collection import Collection
from anki.sync_pb2 import SyncCollectionResponse
from anki_client import card_history, notes_by_guid, open_collection, review
from sync_server import PASSWORD, USER, sync_server
from typer.testing import CliRunner

import ankiqa
from ankiqa import notetypes, pushing
from ankiqa.cli import app
from ankiqa.sync import CONFIG_ENV, PASSWORD_ENV, SESSION_FILE, USER_ENV, Syncer

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
NORMAL = (SyncCollectionResponse.NO_CHANGES, SyncCollectionResponse.NORMAL_SYNC)


def deck_text(questions: dict[str, str]) -> str:
    return "# Phone\n\n" + "".join(
        f"### Question {qid}?\n\n{answer}\n\nquestion id: {qid}\n\n"
        for qid, answer in questions.items()
    )


def phone_sync(phone: Collection, url: str) -> int:
    """The phone syncs as AnkiDroid does; a new, empty phone downloads everything."""
    auth = phone.sync_login(USER, PASSWORD, url)
    answer = phone.sync_collection(auth, False)
    if answer.required == SyncCollectionResponse.FULL_DOWNLOAD:
        phone.close_for_full_sync()
        phone.full_upload_or_download(auth=auth, server_usn=answer.server_media_usn, upload=False)
        phone.reopen(after_full_sync=True)
    phone.sync_media(auth)
    while phone.media_sync_status().active:
        time.sleep(0.05)
    return answer.required


@pytest.fixture
def server(tmp_path: Path):
    with sync_server(tmp_path / "server") as url:
        yield url


def push(project: Path, url: str, *extra: str):
    desktop = project / "desktop" / "collection.anki2"
    arguments = ["push", str(project / "decks"), "--collection", str(desktop)]
    return CliRunner().invoke(app, [*arguments, "--sync", "--endpoint", url, *extra])


def test_edits_reach_the_phone_with_normal_syncs_and_reviews_survive(
    tmp_path: Path, server: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(USER_ENV, USER)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "diagram.png").write_bytes(PNG)
    questions = {f"q{n}": f"Answer {n}." for n in range(4)}
    questions["q0"] = "See ![the diagram](diagram.png)."
    deck = decks / "phone.md"
    deck.write_text(deck_text(questions), encoding="utf-8")
    open_collection(tmp_path / "desktop").close()

    first = push(tmp_path, server)
    assert first.exit_code == 0, first.output
    assert PASSWORD not in first.output
    phone = open_collection(tmp_path / "phone")
    try:
        assert phone_sync(phone, server) == SyncCollectionResponse.FULL_DOWNLOAD  # a new phone
        assert phone.note_count() == 4
        media = sorted(p.name for p in (tmp_path / "phone" / "collection.media").iterdir())
        assert len(media) == 1 and media[0].endswith(".png")

        # A review on the phone, then an edit in the Markdown pushed from the desktop.
        reviewed = phone.find_cards("")[1]
        review(phone, reviewed)
        assert phone_sync(phone, server) in NORMAL
        history = card_history(phone, reviewed)

        questions["q1"] = "Answer 1, **edited**."
        questions["c1"] = "A {{c1::cloze}} question: a note type the collection lacks."
        del questions["q3"]
        deck.write_text(deck_text(questions), encoding="utf-8")
        second = push(tmp_path, server, "--delete-removed", "--yes")
        assert second.exit_code == 0, second.output
        assert "(normal)" in second.output and "full" not in second.output
        assert "Deleting 1 note" in second.output

        assert phone_sync(phone, server) in NORMAL
        notes = notes_by_guid(phone)
        assert set(notes) == {ankiqa.note_guid(q) for q in questions}
        edited = notes[ankiqa.note_guid("q1")]["fields"]["Answer"]
        assert edited == "<p>Answer 1, <strong>edited</strong>.</p>"
        assert card_history(phone, reviewed) == history
        assert len(history[-1]) == 1  # its review log row
    finally:
        phone.close()

    desktop = Collection(str(tmp_path / "desktop" / "collection.anki2"))
    try:
        assert card_history(desktop, reviewed) == history
    finally:
        desktop.close()

    # The session key is kept for the owner alone; the next push needs no password.
    session = Path(monkeypatch_env(CONFIG_ENV)) / SESSION_FILE
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    assert PASSWORD not in session.read_text(encoding="utf-8")
    monkeypatch.delenv(USER_ENV)
    monkeypatch.delenv(PASSWORD_ENV)
    third = push(tmp_path, server)
    assert third.exit_code == 0, third.output
    assert "synced with" in third.output


def test_a_full_sync_that_could_lose_reviews_is_refused(tmp_path: Path, server: str, monkeypatch):
    monkeypatch.setenv(USER_ENV, USER)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    # The server already holds another device's collection.
    other = open_collection(tmp_path / "other")
    other.add_note(_basic_note(other, "On the server"), other.decks.id("Default"))
    assert phone_sync_upload(other, server)
    other.close()
    # This desktop has cards of its own and never synced: the two have diverged.
    desktop = open_collection(tmp_path / "desktop")
    desktop.add_note(_basic_note(desktop, "Only here"), desktop.decks.id("Default"))
    desktop.close()
    (tmp_path / "decks").mkdir()
    (tmp_path / "decks" / "d.md").write_text(deck_text({"x": "X."}), encoding="utf-8")

    result = push(tmp_path, server)

    assert result.exit_code == 1
    assert "full sync" in result.output and "Traceback" not in result.output
    desktop = Collection(str(tmp_path / "desktop" / "collection.anki2"))
    try:
        assert desktop.note_count() == 1  # nothing pushed, nothing replaced
    finally:
        desktop.close()


def test_without_a_login_the_sync_says_how_to_give_one(tmp_path: Path, server: str):
    (tmp_path / "decks").mkdir()
    (tmp_path / "decks" / "d.md").write_text(deck_text({"x": "X."}), encoding="utf-8")
    open_collection(tmp_path / "desktop").close()

    result = push(tmp_path, server)

    assert result.exit_code == 1
    assert USER_ENV in result.output and PASSWORD_ENV in result.output


def test_a_wrong_password_is_refused_and_never_printed(tmp_path: Path, server: str, monkeypatch):
    monkeypatch.setenv(USER_ENV, USER)
    monkeypatch.setenv(PASSWORD_ENV, "wrong-secret")
    (tmp_path / "decks").mkdir()
    (tmp_path / "decks" / "d.md").write_text(deck_text({"x": "X."}), encoding="utf-8")
    open_collection(tmp_path / "desktop").close()

    result = push(tmp_path, server)

    assert result.exit_code == 1
    assert "refused the user name or password" in result.output
    assert "wrong-secret" not in result.output


def _basic_note(col: Collection, front: str):
    note = col.new_note(col.models.by_name("Basic"))
    note["Front"], note["Back"] = front, "Back"
    return note


def phone_sync_upload(col: Collection, url: str) -> bool:
    auth = col.sync_login(USER, PASSWORD, url)
    answer = col.sync_collection(auth, False)
    col.full_upload_or_download(auth=auth, server_usn=answer.server_media_usn, upload=True)
    return True


def monkeypatch_env(name: str) -> str:
    import os

    return os.environ[name]


def test_a_sync_failing_after_the_import_still_reports_what_was_pushed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(USER_ENV, USER)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    (tmp_path / "decks").mkdir()
    deck = tmp_path / "decks" / "d.md"
    deck.write_text(deck_text({"a": "A.", "b": "B."}), encoding="utf-8")
    open_collection(tmp_path / "desktop").close()
    desktop = tmp_path / "desktop" / "collection.anki2"
    with ExitStack() as server:
        url = server.enter_context(sync_server(tmp_path / "server"))
        assert push(tmp_path, url).exit_code == 0
        deck.write_text(deck_text({"a": "A, edited."}), encoding="utf-8")

        def server_goes_down(notes) -> bool:  # between the sync before and the one after
            server.close()
            return True

        result = pushing.push(
            [tmp_path / "decks"],
            desktop,
            delete_removed=True,
            syncer=Syncer(url),
            before_delete=server_goes_down,
        )

    assert [note.question_id for note in result.deleted] == ["b"]
    assert {o.question.id: o.status for o in result.notes} == {"a": "updated"}
    assert result.sync_error is not None and "could not reach" in result.sync_error
    state = (tmp_path / "decks" / "ankiqa-state.jsonl").read_text(encoding="utf-8")
    assert '"hash": null' in state  # the build state knows b is gone: the push is done


def test_an_endpoint_that_is_not_a_url_is_a_message_not_a_traceback(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(USER_ENV, USER)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    (tmp_path / "decks").mkdir()
    (tmp_path / "decks" / "d.md").write_text(deck_text({"x": "X."}), encoding="utf-8")
    open_collection(tmp_path / "desktop").close()

    result = push(tmp_path, "not a url")

    assert result.exit_code == 1
    assert result.output.startswith("ankiqa: cannot sync with not a url")
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_new_look_reaches_the_phone_without_a_full_sync(tmp_path: Path, server: str, monkeypatch):
    monkeypatch.setenv(USER_ENV, USER)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    (tmp_path / "decks").mkdir()
    (tmp_path / "decks" / "d.md").write_text(deck_text({"a": "A."}), encoding="utf-8")
    open_collection(tmp_path / "desktop").close()
    assert push(tmp_path, server).exit_code == 0
    phone = open_collection(tmp_path / "phone")
    try:
        phone_sync(phone, server)
        monkeypatch.setattr(
            notetypes, "CARD_CSS", notetypes.CARD_CSS + ".answer { color: teal; }\n"
        )
        time.sleep(1)  # the note type's mod must beat the last import's clock (seconds)

        result = push(tmp_path, server)

        assert result.exit_code == 0, result.output
        assert "note types brought up to date: ankiqa Q&A" in result.output
        assert "0 new, 0 updated, 0 kept, 1 unchanged" in result.output
        assert "full" not in result.output
        assert phone_sync(phone, server) in NORMAL
        assert "color: teal" in phone.models.by_name("ankiqa Q&A")["css"]
    finally:
        phone.close()


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX")
def test_in_a_terminal_the_login_is_asked_for_and_the_password_not_shown(
    tmp_path: Path, server: str
):
    (tmp_path / "decks").mkdir()
    (tmp_path / "decks" / "d.md").write_text(deck_text({"a": "A."}), encoding="utf-8")
    open_collection(tmp_path / "desktop").close()
    desktop = str(tmp_path / "desktop" / "collection.anki2")
    command = [sys.executable, "-m", "ankiqa", "push", "decks", "--collection", desktop]

    import pty  # POSIX only

    pid, terminal = pty.fork()  # the child gets the terminal as its controlling one
    if pid == 0:
        os.chdir(tmp_path)
        os.execv(sys.executable, [*command, "--sync", "--endpoint", server])
    # "Password: " with its space: getpass writes that once it has turned echo off (and
    # thrown away anything typed before).
    seen = read_until(terminal, b"user name (e-mail): ")
    os.write(terminal, USER.encode() + b"\n")
    seen += read_until(terminal, b"Password: ")
    os.write(terminal, PASSWORD.encode() + b"\n")
    seen += read_until(terminal, None)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0, seen.decode(errors="replace")
    assert b"1 new" in seen and b"synced with" in seen
    assert PASSWORD.encode() not in seen


def read_until(terminal: int, marker: bytes | None, seconds: float = 60) -> bytes:
    """What the terminal shows until `marker`, or until the program ends (None)."""
    import select  # of a terminal: POSIX only

    seen, deadline = b"", time.monotonic() + seconds
    while marker is None or marker not in seen:
        ready, _, _ = select.select([terminal], [], [], max(0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"waited for {marker!r}; the terminal showed {seen!r}")
        try:
            chunk = os.read(terminal, 1024)
        except OSError:  # the program ended
            chunk = b""
        if not chunk:
            if marker is None:
                return seen
            raise AssertionError(f"ended before {marker!r}: {seen!r}")
        seen += chunk
    return seen
