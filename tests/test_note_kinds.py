"""Every kind of card: cloze and reversed notes imported into Anki as Anki shows them,
option lines, and a question that changes its kind refused before anything is written."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from anki_client import import_package, note_id, open_collection
from conftest import TESTS, write_deck

import ankiqa
from ankiqa.diagnostics import DeckError
from ankiqa.notes import note_guid

DECK = TESTS / "fixtures" / "kinds.md"


@pytest.fixture
def collection(tmp_path: Path):
    decks = tmp_path / "decks"
    decks.mkdir()
    shutil.copy(DECK, decks)
    ankiqa.export([decks], output=tmp_path / "kinds.apkg", now=1_700_000_000)
    col = open_collection(tmp_path / "col")
    counts = import_package(col, tmp_path / "kinds.apkg")
    assert (counts.new, counts.updated, counts.conflicting) == (3, 0, 0)
    yield col
    col.close()


def cards(col, question_id: str) -> list:
    note = col.get_note(note_id(col, note_guid(question_id)))
    return sorted(note.cards(), key=lambda card: card.ord)


def visible(side: str) -> str:
    """What a card side shows: its text, without the note type's CSS and the tags."""
    side = re.sub(r"(?s)<style>.*?</style>", "", side)
    return " ".join(re.sub(r"<[^>]*>", "", side).split())


def test_a_cloze_note_has_one_card_per_number(collection) -> None:
    capitals = cards(collection, "cloze-1")
    assert [card.ord for card in capitals] == [0, 1, 2]
    assert capitals[0].note().note_type()["name"] == "ankiqa Cloze"
    fronts = [visible(card.question()) for card in capitals]
    text = "The capital of {} is {}; in code: {}."
    assert fronts == [
        "Capitals " + text.format("[...]", "Paris", 'print("}}")'),
        "Capitals " + text.format("France", "[a city]", 'print("}}")'),
        "Capitals " + text.format("France", "Paris", "[...]"),
    ]
    assert '<span class="cloze" data-ordinal="2">Paris</span>' in capitals[1].answer()
    # A `}}` inside code in a cloze does not end it: the whole code is the third cloze.
    code = '<span class="cloze" data-ordinal="3"><code>print("}<span></span>}")</code></span>'
    assert code in capitals[2].answer()


def test_math_and_markdown_inside_clozes_survive(collection) -> None:
    euler = cards(collection, "cloze-2")
    assert len(euler) == 3
    assert r'<span class="cloze" data-ordinal="1">\(e^{i\pi} + 1 = 0\)</span>' in euler[0].answer()
    assert (
        '<span class="cloze" data-ordinal="2"><strong>Leonhard</strong> Euler' in euler[1].answer()
    )
    # `}}` inside math inside a cloze is written `} }`, the same TeX, so the cloze holds.
    assert r'data-ordinal="3">\(\frac{1}{2^{n} }\)</span>' in euler[2].answer()
    assert visible(euler[2].question()) == (
        r"Euler's identity: \(e^{i\pi} + 1 = 0\) Named after Leonhard Euler, and"
        r" \(\frac{a}{b}\) stays math: [...]."
    )


def test_a_reversed_note_asks_both_ways_with_its_tags(collection) -> None:
    ls = cards(collection, "rev-1")
    assert [card.ord for card in ls] == [0, 1]
    assert "What does <code>ls</code> do?" in ls[0].question()
    assert "Lists a folder." in ls[1].question() and "ls" not in ls[1].question()
    note = ls[0].note()
    assert note.note_type()["name"] == "ankiqa Q&A reversed"
    assert sorted(note.tags) == ["shell::basics", "unix"]
    assert "reversed" not in note["Answer"] and "tags" not in note["Answer"]


def test_changing_a_questions_kind_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "decks" / "d.md", "### Q\n\nThe answer.\n\nquestion id: q1\n")
    ankiqa.export([deck.parent], output=tmp_path / "d.apkg", now=1_700_000_000)
    before = (tmp_path / "d.apkg").read_bytes(), (deck.parent / "ankiqa-state.jsonl").read_bytes()
    write_deck(deck, "### Q\n\nThe {{c1::answer}}.\n\nquestion id: q1\n")
    with pytest.raises(DeckError) as raised:
        ankiqa.export([deck.parent], output=tmp_path / "d.apkg", now=1_700_000_100)
    (problem,) = raised.value.diagnostics
    assert (problem.line, problem.code) == (1, "kind-changed")
    assert "basic note and is now cloze" in problem.message
    after = (tmp_path / "d.apkg").read_bytes(), (deck.parent / "ankiqa-state.jsonl").read_bytes()
    assert after == before


@pytest.mark.parametrize(
    "line",
    ["Reversed: the original list is not changed.", "Tags: they are written in brackets."],
)
def test_prose_next_to_the_id_line_stays_on_the_card(tmp_path: Path, line: str) -> None:
    deck = ankiqa.parse_deck(f"### Q\n\nA.\n{line}\nquestion id: q\n", tmp_path / "d.md")
    (question,) = deck.questions
    assert question.answer == f"A.\n{line}" and question.kind == "basic" and question.tags == ()


def test_a_removed_cloze_number_is_reported_and_its_card_stays_in_anki(tmp_path: Path) -> None:
    deck = write_deck(
        tmp_path / "decks" / "d.md", "### Q\n\n{{c1::A}} and {{c2::B}}.\n\nquestion id: q\n"
    )
    ankiqa.export([deck.parent], output=tmp_path / "1.apkg", now=1_700_000_000)
    write_deck(deck, "### Q\n\n{{c1::A}} and B.\n\nquestion id: q\n")
    found = ankiqa.check_project(ankiqa.load_project([deck.parent]))
    (removed,) = [d for d in found if d.code == "cloze-removed"]
    assert (removed.line, removed.severity) == (
        1,
        "warning",
    ) and "cloze c2 removed" in removed.message
    exported = ankiqa.export([deck.parent], output=tmp_path / "2.apkg", now=1_700_000_100)
    assert [d.code for d in exported.notices] == ["cloze-removed"]  # the CLI prints notices

    col = open_collection(tmp_path / "col")
    try:
        import_package(col, tmp_path / "1.apkg")
        assert import_package(col, tmp_path / "2.apkg").updated == 1
        (card_1, card_2) = cards(col, "q")
        assert visible(card_1.question()) == "Q [...] and B."
        # The card Anki keeps, empty: it says so itself.
        assert visible(card_2.question()).startswith("No cloze \u20682\u2069 found on card.")
    finally:
        col.close()
    # Once exported, the state knows the new numbers: the warning was said once.
    assert not [
        d
        for d in ankiqa.check_project(ankiqa.load_project([deck.parent]))
        if d.code == "cloze-removed"
    ]


def answer_of(tmp_path: Path, markdown: str) -> tuple[str, tuple[str, ...]]:
    """A one-question deck's kind and fields."""
    deck = ankiqa.parse_deck(markdown, tmp_path / "d.md")
    assert [d.code for d in deck.diagnostics if d.severity == "error"] == []
    (note,) = ankiqa.build_notes(deck, tmp_path)
    return note.note_type.kind, note.fields


def test_dollar_amounts_in_clozes_are_not_math(tmp_path: Path) -> None:
    kind, fields = answer_of(
        tmp_path, "### Prices\n\nA coffee {{c1::$5}} and a cake {{c2::$10}}.\n\nquestion id: q\n"
    )
    assert kind == "cloze"
    assert "<p>A coffee {{c1::$5}} and a cake {{c2::$10}}.</p>" in fields[0]


def test_a_cloze_marker_in_code_is_code(tmp_path: Path) -> None:
    kind, fields = answer_of(tmp_path, "### Q\n\nWrap it: `{{c1::Paris}} is`.\n\nquestion id: q\n")
    assert kind == "basic" and fields[1] == "<p>Wrap it: <code>{{c1::Paris}} is</code>.</p>"
    # In a cloze note, Anki would read it as a cloze: it is split by an empty element.
    kind, fields = answer_of(
        tmp_path, "### Q\n\n{{c1::A}}, `{{c2::code}}` and `[sound:x.mp3]`\n\nquestion id: q\n"
    )
    assert kind == "cloze"
    assert "<code>{<span></span>{c2::code}}</code>" in fields[0]
    assert "<code>[sound<span></span>:x.mp3]</code>" in fields[0]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("{{c1::outer {{c2::inner}} rest}}", "a cloze inside a cloze"),
        ("Only {{c0::zero}}.", "cloze numbers go from c1 to c500"),
        ("{{c1::one\n\ntwo}}", "a cloze cannot span paragraphs"),
    ],
)
def test_clozes_anki_would_misread_are_errors(tmp_path: Path, answer: str, message: str) -> None:
    deck = ankiqa.parse_deck(f"### Q\n\n{answer}\n\nquestion id: q\n", tmp_path / "d.md")
    (problem,) = deck.diagnostics
    assert (problem.line, problem.code, problem.message.startswith(message)) == (
        3,
        "bad-cloze",
        True,
    )


def test_many_unclosed_cloze_markers_are_read_in_one_pass(tmp_path: Path) -> None:
    deck = ankiqa.parse_deck(
        f"### Q\n\n{'{{c1::a ' * 12_000}\n\nquestion id: q\n", tmp_path / "d.md"
    )
    assert deck.questions[0].kind == "basic"  # never closed: no cloze, and no wait


def test_a_removed_question_may_come_back_as_another_kind_with_a_warning(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "decks" / "d.md", "### Q\n\nA.\n\nquestion id: q1\n")
    ankiqa.export([deck.parent], output=tmp_path / "1.apkg", now=1_700_000_000)
    write_deck(deck, "### Other\n\nB.\n\nquestion id: q2\n")
    ankiqa.export([deck.parent], output=tmp_path / "2.apkg", now=1_700_000_100)  # q1 removed
    write_deck(deck, "### Q\n\n{{c1::A}}.\n\nquestion id: q1\n")
    result = ankiqa.export([deck.parent], output=tmp_path / "3.apkg", now=1_700_000_200)
    changed = [(d.code, d.severity) for d in result.warnings if d.code != "malformed-id"]
    assert changed == [("kind-changed", "warning")]


def test_one_package_of_many_decks_and_kinds_imports_whole(tmp_path: Path) -> None:
    """Decks and note types are written once for the whole package (genanki rewrote
    them per deck: quadratic); Anki reads every deck and note type from it."""
    decks = tmp_path / "decks"
    for n in range(5):
        basic = f"### Q{n}\n\nA.\n\nquestion id: q{n}\n\n"
        write_deck(decks / f"d{n}.md", basic + f"### C{n}\n\n{{{{c1::x}}}}\n\nquestion id: c{n}\n")
    ankiqa.export([decks], output=tmp_path / "all.apkg", now=1_700_000_000)
    col = open_collection(tmp_path / "col")
    try:
        counts = import_package(col, tmp_path / "all.apkg")
        assert (counts.new, counts.conflicting) == (10, 0)
        for n in range(5):
            for question_id, note_type in ((f"q{n}", "ankiqa Q&A"), (f"c{n}", "ankiqa Cloze")):
                (card,) = cards(col, question_id)
                assert col.decks.name(card.did) == f"d{n}"
                assert card.note().note_type()["name"] == note_type
    finally:
        col.close()
