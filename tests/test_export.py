"""ankiqa.export end to end, judged by the official Anki importer."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from anki_client import (
    ImportCounts,
    card_history,
    card_id,
    import_into_fresh_collection,
    import_package_log,
    note_id,
    notes_by_guid,
    open_collection,
    review,
)
from conftest import RICH_IDS, SEED_IDS, T0, T1, write_deck, write_rich_deck

from ankiqa import DeckError, export, note_guid
from ankiqa.discover import find_sources
from ankiqa.project import _question_count


def files(folder: Path) -> dict[Path, bytes]:
    """Every file below `folder` and its bytes: to prove that nothing was written."""
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_seed_deck_imports_as_new_notes(decks: Path, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    result = export([decks], dist=dist, now=T0)

    apkg = dist / "web-servers.apkg"
    assert result.written == [apkg]
    assert (result.notes, result.decks) == (6, ["web-servers"])
    counts, notes = import_into_fresh_collection(apkg, tmp_path / "col")
    assert counts == ImportCounts(6, 0, 0, 0)

    assert set(notes) == {note_guid(question_id) for question_id in SEED_IDS}
    first = notes["k9^_Gq;b=/"]  # the contract's literal GUID for the first seed question
    assert first["fields"]["Question"] == "What is NGINX and gunicorn and why to use it together?"
    assert first["fields"]["Answer"].startswith(
        "<p>Both are web servers, but NGINX is fast and Gunicorn can run python web apps.</p>"
    )
    assert first["fields"]["Question ID"] == SEED_IDS[0]
    wsgi = notes[note_guid("a69ffc8e-7eac-4d5f-8f8b-886e1ce835dd")]["fields"]["Answer"]
    assert (
        '<p><a href="https://www.fullstackpython.com/wsgi-servers.html">'
        "https://www.fullstackpython.com/wsgi-servers.html</a></p>"
    ) in wsgi
    last = notes[note_guid("bb7d9a13-34a0-4973-86b7-65e4293a08f")]
    assert last["fields"] == {
        "Question": "What is NGINX?",
        "Answer": "<p>NGINX high\u2011performance, highly scalable web server, reverse proxy, "
        "load balancer.</p>",
        "Question ID": "bb7d9a13-34a0-4973-86b7-65e4293a08f",
    }
    for note in notes.values():
        assert (note["deck"], note["notetype"], note["tags"]) == ("web-servers", "ankiqa Q&A", [])
        assert note["mod"] == T0
        assert "question id" not in note["fields"]["Answer"].lower()


def test_package_is_deflated_and_leaves_no_temporary_files(decks: Path, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    export([decks], dist=dist, now=T0)
    assert [path.name for path in dist.iterdir()] == ["web-servers.apkg"]
    with zipfile.ZipFile(dist / "web-servers.apkg") as archive:
        assert "collection.anki2" in archive.namelist()
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_DEFLATED}


def test_held_out_style_deck(decks: Path, tmp_path: Path) -> None:
    write_rich_deck(decks / "Sub" / "rich.md")
    dist = tmp_path / "dist"
    result = export([decks], dist=dist, now=T0)

    apkg = dist / "Sub" / "rich.apkg"
    assert sorted(result.written) == sorted([apkg, dist / "web-servers.apkg"])
    assert result.decks == ["Sub::Title", "web-servers"]
    counts, notes = import_into_fresh_collection(apkg, tmp_path / "col")
    assert counts == ImportCounts(4, 0, 0, 0)

    assert set(notes) == {note_guid(question_id) for question_id in RICH_IDS}
    assert note_guid("NET-UPPER-1") == "G-.jC;$c.1"
    curl, naive, math, last = (notes[note_guid(question_id)] for question_id in RICH_IDS)
    assert {note["deck"] for note in notes.values()} == {"Sub::Title"}
    assert [note["fields"]["Question ID"] for note in (curl, naive, math, last)] == list(RICH_IDS)

    assert curl["fields"]["Question"] == "What does <code>curl -I</code> print?"
    answer = curl["fields"]["Answer"]
    assert "<h4>Example</h4>" in answer
    assert '<span class="c1">### not a question: a comment in a shell script</span>' in answer
    assert "not-an-id" in answer and "NET-UPPER-1" not in answer
    assert "\r" not in answer

    assert naive["fields"]["Question"] == "Ünïcödé: what does «naïve café» mean in 日本語?"
    answer = naive["fields"]["Answer"]
    assert "question id: also-not-an-id" in answer
    assert "https://example.com/docs/naïve</a>, then stop." in answer

    assert math["fields"]["Question"] == r"Which formula is \(a_1 * b_2\)?"
    answer = math["fields"]["Answer"]
    assert r"\(a_1 * b_2 * c_3\)" in answer
    assert r"\[x_1 * y_2\]" in answer
    assert "\\[\\sum_{i=1}^{n} x_i * y_i\n\n\\alpha_1 &lt; \\beta_2\\]" in answer
    assert "it costs $5 or $10." in answer
    assert "<table>" in answer and "<del>superscript</del>" in answer

    assert last["fields"]["Answer"] == (
        '<p>Answer (see <a href="https://example.org/a">https://example.org/a</a>).</p>'
    )
    # `##` sections are tags; a `##` after a `##` is its sibling, not its child
    assert [note["tags"] for note in (curl, naive, math, last)] == [
        ["Networking"],
        ["Networking"],
        ["Math_&_tables"],
        ["Other_part"],
    ]


def test_edited_answer_imports_as_an_update_and_keeps_review_history(
    decks: Path, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    apkg = dist / "web-servers.apkg"
    edited, reviewed = note_guid(SEED_IDS[1]), note_guid(SEED_IDS[0])
    col = open_collection(tmp_path / "col")
    try:
        export([decks], dist=dist, now=T0)
        assert import_package_log(col, apkg).counts() == ImportCounts(6, 0, 0, 0)
        before = notes_by_guid(col)
        cards = [card_id(col, edited), card_id(col, reviewed)]
        for card in cards:
            review(col, card)
        history = [card_history(col, card) for card in cards]
        assert all(len(h[-1]) == 1 for h in history)  # one revlog entry each

        deck = decks / "web-servers.md"
        text = deck.read_text(encoding="utf-8")
        assert text.count("is a type of proxy server") == 1
        deck.write_text(text.replace("is a type of", "is a kind of"), encoding="utf-8")
        export([decks], dist=dist, now=T1)
        log = import_package_log(col, apkg)
        after = notes_by_guid(col)

        assert log.new == () and log.conflicting == ()
        assert note_id(col, edited) in log.updated
        assert sorted(log.updated + log.duplicate) == sorted(note_id(col, g) for g in before)
        assert [card_history(col, card) for card in cards] == history
        assert col.card_count() == 6
    finally:
        col.close()

    assert set(after) == set(before)
    assert "is a kind of proxy server" in after[edited]["fields"]["Answer"]
    assert after[edited]["fields"]["Question"] == before[edited]["fields"]["Question"]
    assert after[edited]["mod"] == T1
    for guid in set(before) - {edited}:
        assert after[guid]["fields"] == before[guid]["fields"]  # unchanged, whatever the log says


def test_export_again_unchanged_is_up_to_date(decks: Path, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    export([decks], dist=dist, now=T0)
    written = files(dist)
    apkg = dist / "web-servers.apkg"
    col = open_collection(tmp_path / "col")
    try:
        assert import_package_log(col, apkg).counts() == ImportCounts(6, 0, 0, 0)
        result = export([decks], dist=dist, now=T0)
        assert (result.written, result.up_to_date) == ([], [apkg])
        assert files(dist) == written
        assert import_package_log(col, apkg).counts() == ImportCounts(0, 0, 6, 0)
    finally:
        col.close()


def test_one_package_holding_every_deck(decks: Path, tmp_path: Path) -> None:
    write_rich_deck(decks / "Sub" / "rich.md")
    write_deck(decks / "Sub" / "Deeper" / "tiny.md", "### Tiny?\n\nYes.\n\nquestion id: tiny-1\n")
    output = tmp_path / "out" / "all.apkg"
    result = export([decks], output=output, dist=tmp_path / "dist", now=T0)

    assert result.written == [output]
    assert result.notes == 11
    assert result.decks == ["Sub::Deeper::tiny", "Sub::Title", "web-servers"]
    assert not (tmp_path / "dist").exists()
    counts, notes = import_into_fresh_collection(output, tmp_path / "col")
    assert counts == ImportCounts(11, 0, 0, 0)
    assert notes[note_guid("tiny-1")]["deck"] == "Sub::Deeper::tiny"
    assert notes[note_guid("MATH-2")]["deck"] == "Sub::Title"
    assert notes[note_guid(SEED_IDS[0])]["deck"] == "web-servers"


@pytest.mark.parametrize("dist_exists", [False, True])
def test_errors_are_all_reported_and_nothing_is_written(
    decks: Path, tmp_path: Path, dist_exists: bool
) -> None:
    dist = tmp_path / "dist"
    if dist_exists:
        export([decks], dist=dist, now=T0)
    missing = write_deck(
        decks / "bad" / "missing.md",
        "# Bad\n\n### Has an id?\nquestion id: fine-1\n\n### No id?\n\nA.\n",
    )
    duplicate = write_deck(decks / "dup.md", f"### Copied?\n\nquestion id: {SEED_IDS[0]}\n")
    empty = write_deck(decks / "empty.md", "## Notes\n\nOnly notes, no questions.\n")
    latin1 = decks / "latin1.md"
    latin1.write_bytes(b"### Caf\xe9?\nquestion id: cafe-1\n")
    before = files(tmp_path)

    with pytest.raises(DeckError) as raised:
        export([decks], dist=dist, now=T1)

    problems = {(d.path, d.line, d.code) for d in raised.value.diagnostics}
    assert problems == {
        (missing, 6, "missing-id"),
        (duplicate, 1, "duplicate-id"),
        (decks / "web-servers.md", 1, "duplicate-id"),
        (empty, 1, "no-questions"),
        (latin1, 1, "not-utf8"),
    }
    message = str(raised.value)
    assert f"{missing}:6:" in message
    assert f"{decks / 'web-servers.md'}:1" in message  # the other place of the duplicate id
    assert files(tmp_path) == before
    assert dist.exists() == dist_exists


def test_export_reports_its_progress_file_by_file(decks: Path, tmp_path: Path) -> None:
    write_rich_deck(decks / "rich.md")
    calls: list[tuple[int, int]] = []
    result = export([decks], dist=tmp_path / "dist", progress=lambda *call: calls.append(call))
    assert len(calls) == 2  # a call per deck file (a part of one, for large files)
    assert calls[-1][0] == result.notes == 10
    # Counted from `###` lines before the files are parsed: a question without an id, or
    # a `###` line in code, counts too.
    assert all(done <= total == 12 for done, total in calls)


def test_an_interrupted_export_leaves_no_spooled_notes_behind(tmp_path, decks, monkeypatch):
    """Ctrl-C while deck files are rendered: the notes spooled for packages not yet
    written are removed with their temporary folder."""
    import gc
    import tempfile
    import warnings

    spools = tmp_path / "tmp"
    spools.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spools))
    write_rich_deck(decks / "rich.md")
    calls = []

    def interrupt(done: int, total: int) -> None:
        calls.append(list(spools.iterdir()))
        if len(calls) == 2:
            raise KeyboardInterrupt

    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        with pytest.raises(KeyboardInterrupt):
            export([decks], output=tmp_path / "all.apkg", progress=interrupt)
        gc.collect()  # a spool left open would be cleaned up only now, with a warning

    assert calls[1], "notes were spooled when the export was interrupted"
    assert list(spools.iterdir()) == []
    assert not [w for w in warned if issubclass(w.category, ResourceWarning)]
    assert not (tmp_path / "all.apkg").exists()


def test_questions_are_counted_before_reading_at_every_line_start(tmp_path: Path) -> None:
    """The count that decides whether workers start before the first file is read."""
    (tmp_path / "a.md").write_text("### Q\n\nA\n\n   ### R\n####x\n    ### code\n###\tS\n")
    (tmp_path / "b.md").write_text("text\n### T\n###\n")  # an empty heading is not counted
    assert _question_count(find_sources([tmp_path])[0]) == 4
