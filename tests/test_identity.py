"""The identity contract, frozen forever: note GUIDs, the note type's ids, deck ids.

Every value here is a literal on purpose. If one of these tests fails, a change would make
Anki duplicate (GUIDs) or conflict (note type) every card of every user: revert the change.
"""

from __future__ import annotations

from pathlib import Path

from anki_client import (
    card_id,
    import_package_log,
    note_id,
    notes_by_guid,
    notetype_schema,
    open_collection,
)
from conftest import SEED_IDS, T0, T1, write_deck

from ankiqa import build_notes, deck_id, export, note_guid, parse_deck
from ankiqa.notetypes import ID_FIELD_NAME, NOTE_TYPES

SEED_GUIDS = {
    "09b039b9-7bd9-40f5-8bdf-93d035a89839": "k9^_Gq;b=/",
    "c04af593-b0a5-4ca0-b08e-4dad3b414c36": "l`^%gmE/Q<",
    "a69ffc8e-7eac-4d5f-8f8b-886e1ce835dd": "yQURq<@aPy",
    "9f7d9c11-01aa-4ded-ab6a-2411e939d86e": "y5Ay*5jepn",
    "dabde38a-2adf-4ca3-9ec4-11b761526740": "b.m`(;$(,+",
    "bb7d9a13-34a0-4973-86b7-65e4293a08f": "ma^ki!eS}u",  # not a well-formed UUID
}

# Every note type's ids, frozen forever. `ankiqa Q&A` has had these since the first release.
SCHEMAS = {
    "basic": {
        "id": 1980302362,
        "name": "ankiqa Q&A",
        "fields": [
            (0, "Question", 1809100394),
            (1, "Answer", 1734994803),
            (2, "Question ID", 1832188179),
        ],
        "templates": [(0, "Card 1", 1970077774)],
    },
    "reversed": {
        "id": 2093110357,
        "name": "ankiqa Q&A reversed",
        "fields": [
            (0, "Question", 2029074900),
            (1, "Answer", 1141778729),
            (2, "Question ID", 1247741141),
        ],
        "templates": [(0, "Question → Answer", 1699399701), (1, "Answer → Question", 1771152013)],
    },
    "cloze": {
        "id": 1556755615,
        "name": "ankiqa Cloze",
        "fields": [(0, "Text", 1706371752), (1, "Question ID", 1297287892)],
        "templates": [(0, "Cloze", 1950192285)],
    },
}
SCHEMA = SCHEMAS["basic"]


def test_note_guid_literals() -> None:
    assert note_guid("09b039b9-7bd9-40f5-8bdf-93d035a89839") == "k9^_Gq;b=/"
    assert set(SEED_GUIDS) == set(SEED_IDS)
    for question_id, guid in SEED_GUIDS.items():
        assert note_guid(question_id) == guid


def test_ids_are_exact_upper_case_is_another_id() -> None:
    assert note_guid("ABC-1") == "Cn+Pf}+bSx"
    assert note_guid("abc-1") == "yg#2qt>CML"
    assert note_guid("NET-UPPER-1") == "G-.jC;$c.1"


def test_deck_id_literals() -> None:
    assert deck_id("web-servers") == 374487635084437
    assert deck_id("Sub::Title") == 470750512479768
    assert deck_id("Ünïcode::Tiếng Việt") == 317106274853772
    assert deck_id("web-Servers") == 297842555324369


def test_note_type_schemas_in_code() -> None:
    found = {}
    for kind, note_type in NOTE_TYPES.items():
        model = note_type.model()
        found[kind] = {
            "id": model.model_id,
            "name": model.name,
            "fields": [(i, f["name"], f["id"]) for i, f in enumerate(model.fields)],
            "templates": [(i, t["name"], t["id"]) for i, t in enumerate(model.templates)],
        }
        assert note_type.fields[-1].name == ID_FIELD_NAME  # `diff` reads the id there
    assert found == SCHEMAS


def test_note_type_schema_as_anki_stores_it(decks: Path, tmp_path: Path) -> None:
    export([decks], dist=tmp_path / "dist", now=T0)
    col = open_collection(tmp_path / "col")
    try:
        assert import_package_log(col, tmp_path / "dist" / "web-servers.apkg").counts().new == 6
        assert notetype_schema(col, SCHEMA["id"]) == SCHEMA
    finally:
        col.close()


QUESTION = "### What is a {where}?\n\n{answer}\n\nquestion id: Moving-Q\n"


def test_guid_ignores_file_deck_position_and_content(tmp_path: Path) -> None:
    """A question moved to another file and deck, with another heading and answer, and
    other questions around it, is the same note."""
    before = parse_deck(QUESTION.format(where="socket", answer="Old answer."), tmp_path / "a.md")
    after = parse_deck(
        "# Moved deck\n\n## A section\n\n### Other?\nquestion id: other-1\n\n"
        "### Another?\nquestion id: other-2\n\n"
        + QUESTION.format(where="Unix socket", answer="New *answer*."),
        tmp_path / "sub" / "b.md",
        "Sub::",
    )
    (old,) = build_notes(before, tmp_path)
    moved = build_notes(after, tmp_path)[2]

    assert (old.deck, moved.deck) == ("a", "Sub::Moved deck")
    assert old.fields[:2] != moved.fields[:2]
    assert old.guid == moved.guid == note_guid("Moving-Q") == "qw*s:Z!9h@"
    assert old.fields[2] == moved.fields[2] == "Moving-Q"


def test_fields_do_not_change_when_an_unrelated_question_changes(tmp_path: Path) -> None:
    """No line numbers or neighbours in any field: an edit elsewhere is no update here."""
    alone = parse_deck(QUESTION.format(where="pipe", answer="Answer."), tmp_path / "d.md")
    crowded = parse_deck(
        "### New question above?\n\nA long\n\nanswer.\n\nquestion id: new-1\n\n"
        + QUESTION.format(where="pipe", answer="Answer."),
        tmp_path / "d.md",
    )
    (note,) = build_notes(alone, tmp_path)
    same = build_notes(crowded, tmp_path)[1]
    assert (note.guid, note.fields, note.tags) == (same.guid, same.fields, same.tags)


def test_moved_question_updates_in_place_in_anki(tmp_path: Path) -> None:
    """Moving a question to another file and deck updates its note; its card keeps its deck
    (Anki never moves existing cards), its tags follow the new section."""
    decks = tmp_path / "decks"
    first = write_deck(decks / "a.md", QUESTION.format(where="socket", answer="Old answer."))
    col = open_collection(tmp_path / "col")
    try:
        export([decks], dist=tmp_path / "dist", now=T0)
        assert import_package_log(col, tmp_path / "dist" / "a.apkg").counts().new == 1
        guid = note_guid("Moving-Q")
        nid, cid = note_id(col, guid), card_id(col, guid)

        first.unlink()
        write_deck(
            decks / "Sub" / "b.md",
            "# Moved deck\n\n## New section\n\n### Other?\nquestion id: other-1\n\n"
            + QUESTION.format(where="Unix socket", answer="New answer."),
        )
        export([decks], dist=tmp_path / "dist", now=T1)
        log = import_package_log(col, tmp_path / "dist" / "Sub" / "b.apkg")

        assert log.updated == (nid,)
        assert len(log.new) == 1 and log.conflicting == ()
        assert note_id(col, guid) == nid and card_id(col, guid) == cid
        note = notes_by_guid(col)[guid]
        assert note["fields"]["Answer"] == "<p>New answer.</p>"
        assert note["fields"]["Question"] == "What is a Unix socket?"
        assert note["tags"] == ["New_section"]
        assert note["deck"] == "a"
        assert notes_by_guid(col)[note_guid("other-1")]["deck"] == "Sub::Moved deck"
    finally:
        col.close()
