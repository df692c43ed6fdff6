"""A re-export after an edit in a large deck file parses only the pieces that changed (see
`split` and `parse._PieceRecord`): the others come from the cache, and the packages,
build state and report are exactly those of an export that read everything, without a
cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import T0, T1
from test_unchanged import edit, export, export_as_cold_too

from ankiqa import parse, split
from ankiqa.cache import Cache, default_folder
from ankiqa.diagnostics import DeckError

PIECE_CHARS = 600  # a deck of 40 questions is then about 10 pieces


def question(number: int) -> str:
    """A question with what crosses pieces: a reference link and a footnote defined at the
    end of the file, a `#` line in code, and a warning (an id that is not a UUID)."""
    extra = [
        "See [the docs][docs].",
        "A note[^n].",
        "```bash\n# a comment, not a heading\n```",
        "```nosuchlanguage\ncode\n```",  # unknown-language
    ][number % 4]
    return f"### Question {number}?\n\nAnswer {number}.\n\n{extra}\n\nquestion id: q-{number}\n"


def deck_text(questions: int = 40) -> str:
    parts = ["---\ntags: [big]\n---\n# The big deck\n\nIntroduction.\n"]
    for number in range(questions):
        if number % 10 == 0:
            parts.append(f"## Section {number // 10}\n")
        parts.append(question(number))
    parts.append("[docs]: https://example.com/docs\n[^n]: The note, with [docs].\n")
    return "\n".join(parts)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A large deck file (in small pieces) and a small one, exported once."""
    monkeypatch.setattr(split, "PIECE_CHARS", PIECE_CHARS)
    decks = tmp_path / "p" / "decks"
    decks.mkdir(parents=True)
    (decks / "big.md").write_text(deck_text(), encoding="utf-8")
    small = "# Small\n\n### Small question?\n\nYes.\n\nquestion id: small-1\n"
    (decks / "small.md").write_text(small, encoding="utf-8")
    export(decks.parent, now=T0)
    return decks.parent


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many lines each piece that exports parse has."""
    pieces: list[int] = []
    parse_piece = parse._Reader.parse

    def spy(reader: parse._Reader, text: str, at_cut: bool, math_follows: bool):
        pieces.append(text.count("\n"))
        return parse_piece(reader, text, at_cut, math_follows)

    monkeypatch.setattr(parse._Reader, "parse", spy)
    return pieces


def big(project: Path) -> Path:
    return project / "decks" / "big.md"


EDITS = {
    "middle piece": ("Answer 20.", "Answer 20, edited."),
    "first piece": ("Introduction.", "Introduction, edited."),
    "last piece": ("Answer 39.", "Answer 39, edited."),
    "lines added above": ("Answer 1.", "Answer 1.\n\nMore.\n\nAnd more."),
    "lines removed above": ("Introduction.\n", ""),
    "a cut moved": ("Answer 3.", "Answer 3. " + "Longer. " * 100),
    "a definition": ("https://example.com/docs", "https://example.org/other"),
    "a footnote": ("The note, with", "The edited note, with"),
    "the title": ("# The big deck", "# Another name"),
    "a section": ("## Section 1\n", "## Section one\n"),
    "the front matter": ("tags: [big]", "tags: [large]"),
    "a question removed": (question(25), ""),
}


@pytest.mark.parametrize("old, new", EDITS.values(), ids=EDITS.keys())
def test_an_edited_large_deck_file_exports_as_without_a_cache(
    project, tmp_path, monkeypatch, old, new
) -> None:
    edit(big(project), old, new)
    result = export_as_cold_too(project, tmp_path, monkeypatch)
    assert {d.code for d in result.warnings} == {"malformed-id", "unknown-language"}


def test_only_the_edited_piece_is_parsed(project, parsed) -> None:
    edit(big(project), "Answer 20.", "Answer 20, edited.")
    result = export(project, now=T1)
    assert len(parsed) == 1  # the others come from the cache
    assert len(result.warnings) == 41 + 10  # theirs too: the ids, unknown languages
    parsed.clear()
    export(project, now=T1, use_cache=False)
    assert len(parsed) > 4


def test_lines_below_an_edit_move_in_the_report(project) -> None:
    before = export(project, now=T1, use_cache=False).warnings
    text = big(project).read_text(encoding="utf-8")
    edited = text[: text.index("Answer 1.")].count("\n") + 1
    edit(big(project), "Answer 1.", "Answer 1.\n\nTwo more lines.")
    after = export(project, now=T1).warnings
    assert [(d.code, d.line + 2 * (d.line > edited)) for d in before] == [
        (d.code, d.line) for d in after
    ]


def test_an_id_used_again_in_another_piece_is_an_error(project) -> None:
    edit(big(project), "question id: q-30", "question id: q-2")
    with pytest.raises(DeckError) as error:
        export(project, now=T1)
    duplicates = sorted((d.path.name, d.line) for d in error.value.diagnostics)
    lines = big(project).read_text(encoding="utf-8").split("\n")
    headings = [
        n + 1 for n, line in enumerate(lines) if line in ("### Question 2?", "### Question 30?")
    ]
    assert duplicates == [("big.md", line) for line in headings]


def test_an_id_of_an_unchanged_piece_used_again_in_another_file_is_an_error(project) -> None:
    edit(big(project), "Answer 20.", "Answer 20, edited.")
    edit(project / "decks" / "small.md", "question id: small-1", "question id: q-35")
    with pytest.raises(DeckError) as error:
        export(project, now=T1)
    codes = {(d.path.name, d.code) for d in error.value.diagnostics}
    assert codes == {("big.md", "duplicate-id"), ("small.md", "duplicate-id")}


@pytest.mark.parametrize(
    "damage",
    [
        "deck_file = '{\"questions\": 1}'",  # not a record
        "deck_file = json_set(deck_file, '$.lines', 3)",  # its line count is not its text's
        "deck_file = json_set(deck_file, '$.title', 3)",  # not a title
    ],
)
def test_a_damaged_piece_record_is_parsed_again(project, parsed, damage) -> None:
    """A cache is never trusted: a record that is not what `to_json` writes is not used."""
    with Cache(default_folder()) as known:
        assert known._db is not None
        known._db.execute(f"update parsed set {damage} where deck_file like '%\"definitions\"%'")
        known._db.commit()
    edit(big(project), "Answer 20.", "Answer 20, edited.")
    export(project, now=T1)
    warm = list(parsed)
    parsed.clear()
    parse.read_deck_file(big(project))  # without a cache: every piece
    assert warm == parsed
