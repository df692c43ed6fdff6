"""ankiqa.parse: which lines are questions, answers, ids, deck names and tags."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RICH_IDS, SEED_DECKS, SEED_IDS, write_deck, write_rich_deck

from ankiqa import parse_deck, read_deck_file
from ankiqa.parse import DeckFile


def parse(text: str, name: str = "deck.md", prefix: str = "") -> DeckFile:
    return parse_deck(text, Path(name), prefix)


def codes(deck_file: DeckFile) -> list[str]:
    return [d.code for d in deck_file.diagnostics]


def test_seed_deck() -> None:
    deck_file = read_deck_file(SEED_DECKS / "web-servers.md")

    assert deck_file.diagnostics == ()
    assert deck_file.deck == "web-servers"  # no `# Title`: the file name names the deck
    assert tuple(q.id for q in deck_file.questions) == SEED_IDS
    assert [q.line for q in deck_file.questions] == [1, 14, 30, 45, 61, 68]
    assert [q.heading for q in deck_file.questions] == [
        "What is NGINX and gunicorn and why to use it together?",
        "What is reverse proxy?",
        "What is WSGI?",
        "Why is WSGI necessary?",
        "What is Gunicorn?",
        "What is NGINX?",
    ]
    last = deck_file.questions[-1]
    assert last.id == "bb7d9a13-34a0-4973-86b7-65e4293a08f"  # malformed UUID, kept as written
    assert last.answer == (
        "NGINX high\u2011performance, highly scalable web server, reverse proxy, load balancer."
    )
    for question in deck_file.questions:
        assert "question id" not in question.answer.lower()
        assert question.path == SEED_DECKS / "web-servers.md"
        assert question.tags == ()


def test_h3_is_a_question_and_deeper_headings_stay_in_the_answer() -> None:
    deck_file = parse(
        "### First?\n"
        "\n"
        "Intro.\n"
        "\n"
        "#### Detail\n"
        "\n"
        "More.\n"
        "\n"
        "##### Deeper\n"
        "\n"
        "question id: q1\n"
        "\n"
        "### Second? ###\n"
        "\n"
        "question id: q2\n"
    )

    first, second = deck_file.questions
    assert first.heading == "First?"
    assert first.answer == "Intro.\n\n#### Detail\n\nMore.\n\n##### Deeper"
    assert second.heading == "Second?"  # closing hashes are not part of the heading
    assert second.answer == ""
    assert [first.line, second.line] == [1, 13]
    assert [first.id_line, second.id_line] == [11, 15]


def test_sections_end_answers_and_become_tags() -> None:
    deck_file = parse(
        "# Deck title\n"
        "\n"
        "### Before any section?\n"
        "question id: a\n"
        "\n"
        "## Web servers\n"
        "\n"
        "Text of the section, not of the answer above.\n"
        "\n"
        "### In a section?\n"
        "question id: b\n"
        "\n"
        "## Process  control\n"
        "\n"
        "### In the next section?\n"
        "question id: c\n"
        "\n"
        "# Unix\n"
        "\n"
        "### In a top section?\n"
        "question id: d\n"
        "\n"
        "## Signals\n"
        "\n"
        "### In a sub-section?\n"
        "question id: e\n"
        "\n"
        "# Other\n"
        "\n"
        "### Back at the top?\n"
        "question id: f\n"
    )

    assert deck_file.diagnostics == ()
    assert deck_file.deck == "Deck title"
    tags = {q.id: q.tags for q in deck_file.questions}
    assert tags == {
        "a": (),
        "b": ("Web_servers",),
        # a `##` after a `##` replaces it: they are siblings, not parent and child
        "c": ("Process_control",),
        "d": ("Unix",),
        "e": ("Unix::Signals",),
        "f": ("Other",),
    }
    assert all("section" not in q.answer for q in deck_file.questions)
    assert {q.deck for q in deck_file.questions} == {"Deck title"}


def test_title_names_the_deck_else_the_file_stem() -> None:
    assert parse("# My deck\n\n### Q?\nquestion id: x\n").deck == "My deck"
    assert parse("### Q?\nquestion id: x\n", "notes/unix-tools.md").deck == "unix-tools"
    assert parse("# Sub deck\n### Q?\nquestion id: x\n", prefix="A::B::").deck == "A::B::Sub deck"
    assert parse("### Q?\nquestion id: x\n", "c.md", prefix="A::").deck == "A::c"
    # a `#` after the first question is a section, not the deck's name
    late = parse("### Q?\nquestion id: x\n# Late\n### R?\nquestion id: y\n", "late.md")
    assert late.deck == "late"
    assert [q.tags for q in late.questions] == [(), ("Late",)]


def test_headings_and_id_lines_inside_code_are_not_structure() -> None:
    deck_file = parse(
        "### Real question?\n"
        "\n"
        "```bash\n"
        "### a shell comment\n"
        "question id: not-an-id\n"
        "```\n"
        "\n"
        "- a list item:\n"
        "\n"
        "  ```python\n"
        "  ### still code\n"
        "  question id: also-not-an-id\n"
        "  ```\n"
        "\n"
        "~~~\n"
        "## not a section\n"
        "~~~\n"
        "\n"
        "    ### indented code\n"
        "    question id: indented-not-an-id\n"
        "\n"
        "question id: real-id\n"
    )

    assert deck_file.diagnostics == ()
    (question,) = deck_file.questions
    assert question.id == "real-id"
    assert question.id_line == 22
    assert question.tags == ()
    for code in (
        "### a shell comment",
        "question id: not-an-id",
        "  ### still code",
        "  question id: also-not-an-id",
        "## not a section",
        "    question id: indented-not-an-id",
    ):
        assert code in question.answer


def test_code_without_a_real_id_line_is_a_missing_id() -> None:
    deck_file = parse("### Q?\n\n```\nquestion id: in-code\n```\n")
    assert deck_file.questions[0].id is None
    assert codes(deck_file) == ["missing-id", "id-in-code"]


@pytest.mark.parametrize(
    "line",
    [
        "question id: ABC-1",
        "Question ID: ABC-1",
        "QUESTION ID:ABC-1",
        "  Question   ID :   ABC-1",
        "question\tid\t:\tABC-1\t ",
        "Question Id:   ABC-1   ",
    ],
)
def test_id_label_is_case_insensitive_with_any_spacing(line: str) -> None:
    deck_file = parse(f"### Q?\n\nAnswer.\n\n{line}\n")
    assert deck_file.diagnostics == ()
    (question,) = deck_file.questions
    assert question.id == "ABC-1"  # exactly as written: never lower-cased
    assert question.answer == "Answer."  # the id line is not shown on the card


def test_id_line_in_the_middle_of_an_answer_is_removed() -> None:
    (question,) = parse("### Q?\n\nBefore.\n\nquestion id: mid\n\nAfter.\n").questions
    assert question.id == "mid"
    assert "question id" not in question.answer
    assert "Before." in question.answer and "After." in question.answer


def test_id_with_spaces_is_an_error() -> None:
    deck_file = parse("### Q?\n\nquestion id: two words\n")
    assert deck_file.questions[0].id is None
    assert codes(deck_file) == ["bad-id"]
    assert deck_file.diagnostics[0].line == 3


def test_crlf_and_bom(tmp_path: Path) -> None:
    text = (
        "# Title\n\n### Q one?\n\nLine one.\nLine two.\n\nquestion id: Q-1\n\n"
        "### Q two?\nquestion id: q-2\n"
    )
    lf = read_deck_file(write_deck(tmp_path / "lf.md", text))
    crlf = read_deck_file(write_deck(tmp_path / "crlf.md", text, crlf=True, bom=True))

    assert crlf.diagnostics == ()
    assert crlf.deck == "Title"  # the BOM does not hide the title
    assert [q.id for q in crlf.questions] == ["Q-1", "q-2"]
    for a, b in zip(lf.questions, crlf.questions, strict=True):
        assert (b.heading, b.answer, b.line, b.id_line) == (a.heading, a.answer, a.line, a.id_line)
        assert "\r" not in b.answer + b.heading + b.id
    assert crlf.questions[0].answer == "Line one.\nLine two."


def test_file_without_a_final_newline(tmp_path: Path) -> None:
    text = "### A?\nx\n\n### B?\n\nquestion id:  last-one"
    path = write_deck(tmp_path / "d.md", text, final_newline=False)
    deck_file = read_deck_file(path)
    assert [d.code for d in deck_file.diagnostics] == ["missing-id"]
    assert [q.id for q in deck_file.questions] == [None, "last-one"]


def test_non_ascii_headings() -> None:
    deck_file = parse("# Ünïcödé — 日本語\n\n### Was ist «naïve» Café? 😀\nquestion id: ü-1\n")
    assert deck_file.deck == "Ünïcödé — 日本語"
    (question,) = deck_file.questions
    assert question.heading == "Was ist «naïve» Café? 😀"
    assert question.id == "ü-1"


def test_missing_id_points_at_the_heading(tmp_path: Path) -> None:
    path = write_deck(
        tmp_path / "deck.md",
        "### Has id?\nquestion id: ok\n\n### No id?\n\nAnswer.\n\n### No id either?\n",
    )
    deck_file = read_deck_file(path)
    problems = [(d.code, d.line) for d in deck_file.diagnostics]
    assert problems == [("missing-id", 4), ("missing-id", 8)]
    assert str(deck_file.diagnostics[0]).startswith(f"{path}:4:")
    assert "error" in str(deck_file.diagnostics[0])
    assert [q.id for q in deck_file.questions] == ["ok", None, None]


@pytest.mark.parametrize(
    "text", ["", "\n", "Just notes.\n", "## A section\n\n#### Deep\n", "```\n### code\n```\n"]
)
def test_file_without_questions(text: str) -> None:
    deck_file = parse(text, "empty.md")
    assert deck_file.questions == ()
    assert codes(deck_file) == ["no-questions"]
    assert str(deck_file.diagnostics[0]).startswith("empty.md:1:")


def test_invalid_utf8_reports_the_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes(b"### Q?\nquestion id: x\ncaf\xe9\n")
    deck_file = read_deck_file(path)
    assert deck_file.questions == ()
    (problem,) = deck_file.diagnostics
    assert problem.code == "not-utf8"
    assert problem.line == 3
    assert "byte offset 25" in problem.message
    assert str(problem).startswith(f"{path}:3:")


def test_unreadable_file(tmp_path: Path) -> None:
    deck_file = read_deck_file(tmp_path / "missing.md")
    assert codes(deck_file) == ["unreadable"]


def test_held_out_style_deck(tmp_path: Path) -> None:
    path = write_rich_deck(tmp_path / "rich.md")
    deck_file = read_deck_file(path, "Sub::")

    assert deck_file.diagnostics == ()
    assert deck_file.deck == "Sub::Title"
    assert tuple(q.id for q in deck_file.questions) == RICH_IDS
    assert [q.line for q in deck_file.questions] == [7, 21, 38, 56]
    assert [q.tags for q in deck_file.questions] == [
        ("Networking",),
        ("Networking",),
        ("Math_&_tables",),
        ("Other_part",),
    ]
    first = deck_file.questions[0]
    assert "#### Example" in first.answer
    assert "### not a question" in first.answer
    assert "question id: not-an-id" in first.answer
    assert "NET-UPPER-1" not in first.answer
    assert deck_file.questions[1].heading == "Ünïcödé: what does «naïve café» mean in 日本語?"
    assert "question id: also-not-an-id" in deck_file.questions[1].answer
    assert "Networking" not in deck_file.questions[0].answer


def test_headings_inside_raw_html_blocks_are_html_not_structure() -> None:
    text = (
        "### What is in the box?\n\nquestion id: box-1\n\n"
        '<div style="color: red">\n## Not a section\nImportant answer text.\n</div>\n\n'
        "<pre>\n# apt-get install nginx\n</pre>\n\n"
        "### Second question\n\nAnswer.\n\nquestion id: box-2\n"
    )
    deck = parse_deck(text, Path("box.md"))
    assert [d.code for d in deck.diagnostics] == []
    first, second = deck.questions
    assert "## Not a section" in first.answer and "# apt-get install nginx" in first.answer
    assert (second.heading, second.tags) == ("Second question", ())


def test_a_section_before_the_title_is_no_tag_of_the_questions_after_it() -> None:
    deck = parse_deck("## Intro\n\n# Real Title\n\n### Q\n\nA.\n\nquestion id: q-1\n")
    assert deck.deck == "Real Title"
    assert deck.questions[0].tags == ()
