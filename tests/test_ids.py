"""ankiqa.ids and `ankiqa ids`: new ids are inserted as whole lines, and nothing else changes."""

from __future__ import annotations

import itertools
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from anki_client import import_package, notes_by_guid, open_collection
from conftest import SEED_DECKS, T0, write_deck
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ankiqa import export, note_guid, parse_deck
from ankiqa.cli import app
from ankiqa.ids import add_ids, add_ids_to_files, new_uuid

BOM = "\ufeff".encode()

DECK = """\
# Tools

Intro text.

## Shell

### What does `ls -a` show?

Hidden files too.

#### Example

```bash
### fake: a comment in a script
question id: not-this-one
ls -a
```

### What is a pipe?



## Editors

### Empty answer?
### What is vim?

A text editor.
""".replace("too.", "too.   ")  # trailing whitespace, which must survive

# DECK after `ids`: one blank line and the id line after each answer's last line.
DECK_WITH_IDS = """\
# Tools

Intro text.

## Shell

### What does `ls -a` show?

Hidden files too.

#### Example

```bash
### fake: a comment in a script
question id: not-this-one
ls -a
```

question id: id-1

### What is a pipe?

question id: id-2



## Editors

### Empty answer?

question id: id-3
### What is vim?

A text editor.

question id: id-4
""".replace("too.", "too.   ")


def numbered_ids() -> Callable[[], str]:
    """A predictable id generator: id-1, id-2, …"""
    counter = itertools.count(1)
    return lambda: f"id-{next(counter)}"


def parse_bytes(data: bytes):
    return parse_deck(data.decode("utf-8-sig"), Path("deck.md"))


def without_inserted(output: bytes, added: tuple[str, ...]) -> bytes:
    """`output` minus each inserted id line and the blank line written before it.

    When an id line is the file's last line and has no line ending, the line ending
    written before the inserted lines is taken off the end too (see ankiqa.ids).
    """
    parts = re.split("(\r\n|\r|\n)", output.decode("utf-8"))
    lines = list(zip(parts[0::2], [*parts[1::2], ""], strict=True))
    if lines[-1] == ("", ""):
        lines.pop()
    inserted = {f"question id: {new}" for new in added}
    kept: list[tuple[str, str]] = []
    for content, ending in lines:
        if content in inserted:
            blank = kept.pop()
            assert blank[0] == "", "an inserted id line follows an inserted blank line"
            inserted.remove(content)
            if not ending:
                kept[-1] = (kept[-1][0], "")
        else:
            kept.append((content, ending))
    assert not inserted, "every new id is in the output"
    return "".join(content + ending for content, ending in kept).encode("utf-8")


# --- where the lines go, and what stays --------------------------------------------------


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("bom", [False, True], ids=["no-bom", "bom"])
@pytest.mark.parametrize("final_newline", [True, False], ids=["final-newline", "no-final-newline"])
def test_ids_go_after_each_answer_and_nothing_else_changes(
    tmp_path: Path, crlf: bool, bom: bool, final_newline: bool
) -> None:
    saved = {"crlf": crlf, "bom": bom, "final_newline": final_newline}
    data = write_deck(tmp_path / "deck.md", DECK, **saved).read_bytes()
    expected = write_deck(tmp_path / "expected.md", DECK_WITH_IDS, **saved).read_bytes()

    result = add_ids(data, Path("deck.md"), numbered_ids())

    assert result.diagnostics == ()
    assert result.added == ("id-1", "id-2", "id-3", "id-4")
    assert result.data == expected
    assert without_inserted(result.data, result.added) == data
    deck_file = parse_bytes(result.data)
    assert [q.id for q in deck_file.questions] == ["id-1", "id-2", "id-3", "id-4"]
    before = parse_bytes(data).questions
    assert [(q.heading, q.tags, q.deck) for q in deck_file.questions] == [
        (q.heading, q.tags, q.deck) for q in before
    ]
    # The fenced `###` and id line are still code: part of the answer, not structure.
    first = deck_file.questions[0]
    assert "### fake: a comment in a script\nquestion id: not-this-one" in first.answer
    assert first.answer == before[0].answer


def test_inserted_lines_use_the_ending_of_the_line_they_follow() -> None:
    data = b"### A\r\nanswer\n\n### B\r\nb"  # mixed; the last line has no line ending
    result = add_ids(data, new_id=numbered_ids())
    assert result.data == (
        b"### A\r\nanswer\n\nquestion id: id-1\n\n### B\r\nb\r\n\r\nquestion id: id-2"
    )


def test_old_mac_line_endings() -> None:
    result = add_ids(b"### A\ranswer\r\r### B\rb\r", new_id=numbered_ids())
    assert result.data == b"### A\ranswer\r\rquestion id: id-1\r\r### B\rb\r\rquestion id: id-2\r"


def test_a_file_of_one_heading_without_a_line_ending() -> None:
    assert add_ids(b"### A", new_id=numbered_ids()).data == b"### A\n\nquestion id: id-1"


def test_only_questions_without_an_id_get_one() -> None:
    data = (
        b"### Has an id\n\nyes\n\nQuestion ID:  keep-me  \n\n"
        b"### Malformed id\n\nquestion id: two words\n\n"
        b"### Id only in code\n\n    question id: in-indented-code\n\n"
        b"### None\n\nno\n"
    )
    result = add_ids(data, new_id=numbered_ids())
    assert result.added == ("id-1", "id-2")
    assert [q.id for q in parse_bytes(result.data).questions] == ["keep-me", None, "id-1", "id-2"]
    assert result.data.count(b"keep-me  \n") == 1
    assert result.data.count(b"question id: two words\n") == 1  # reported by check, not changed


def test_default_ids_are_lower_case_uuid4() -> None:
    result = add_ids(b"### A\n\na\n\n### B\n")
    assert len(set(result.added)) == 2
    for new in result.added:
        assert uuid.UUID(new).version == 4
        assert new == str(uuid.UUID(new)).lower()
    assert new_uuid() != new_uuid()


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "deck.md", DECK, crlf=True, bom=True, final_newline=False)
    first = add_ids_to_files([tmp_path])
    assert first.changed == [(deck, 4)] and first.diagnostics == []
    os.utime(deck, ns=(1_000_000_000, 1_000_000_000))
    after_first = deck.read_bytes()

    second = add_ids_to_files([tmp_path])

    assert second.changed == [] and second.diagnostics == []
    assert deck.read_bytes() == after_first
    assert deck.stat().st_mtime_ns == 1_000_000_000


def test_a_complete_file_is_not_rewritten(decks: Path) -> None:
    seed = decks / "web-servers.md"  # all ids present, one malformed; no final newline
    os.utime(seed, ns=(1_000_000_000, 1_000_000_000))
    report = add_ids_to_files([decks])
    assert report.changed == [] and report.diagnostics == []
    assert seed.read_bytes() == (SEED_DECKS / "web-servers.md").read_bytes()
    assert seed.stat().st_mtime_ns == 1_000_000_000


# --- files that cannot be given ids are left alone -----------------------------------------


def test_an_unclosed_fence_leaves_the_file_unchanged() -> None:
    data = b"### A\n\na\n\n### B\n\n```\ncode\n\n### C (inside the fence)\n"
    result = add_ids(data, Path("deck.md"), numbered_ids())
    assert result.data == data
    assert result.added == ()
    assert [(d.line, d.code) for d in result.diagnostics] == [(5, "cannot-add-id")]
    assert str(result.diagnostics[0]).startswith("deck.md:5:1: error[cannot-add-id]: cannot add")


def test_not_utf8_is_reported_with_its_byte_offset_and_left_alone(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_bytes(BOM + b"### Q\nab\xff\n")
    good = write_deck(tmp_path / "good.md", "### Q\n\nA\n")

    report = add_ids_to_files([tmp_path], new_id=numbered_ids())

    assert [str(d) for d in report.diagnostics] == [
        f"{bad}:2:3: error[not-utf8]: not valid UTF-8 (byte offset 11); save the file as UTF-8"
    ]
    assert bad.read_bytes() == BOM + b"### Q\nab\xff\n"
    assert report.changed == [(good, 1)]
    assert good.read_bytes() == b"### Q\n\nA\n\nquestion id: id-1\n"


@pytest.mark.parametrize(
    ("hostile", "code"),
    [(b">" * 100_000 + b" deep", "too-deep"), (b"[]" * 10_000, "too-complex")],
)
def test_text_too_hostile_to_read_is_reported(hostile: bytes, code: str) -> None:
    data = b"### Q\n\n" + hostile + b"\n"
    result = add_ids(data, Path("hostile.md"))
    assert result.data == data
    assert [d.code for d in result.diagnostics] == [code]


# --- how the file is written ------------------------------------------------------------


def test_permission_bits_are_kept(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "deck.md", "### Q\n")
    deck.chmod(0o640)
    add_ids_to_files([deck])
    assert deck.stat().st_mode & 0o7777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck.md"]


def test_a_symbolic_link_stays_a_link(tmp_path: Path) -> None:
    target = write_deck(tmp_path / "real" / "deck.md", "### Q\n")
    link = tmp_path / "decks" / "deck.md"
    link.parent.mkdir()
    link.symlink_to(target)
    add_ids_to_files([link], new_id=numbered_ids())
    assert link.is_symlink()
    assert target.read_bytes() == b"### Q\n\nquestion id: id-1\n"


def test_an_interrupted_write_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deck = write_deck(tmp_path / "deck.md", DECK)
    before = deck.read_bytes()

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("ankiqa.atomic.os.replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        add_ids_to_files([deck])
    assert deck.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck.md"]  # no temporary file left


# --- the command ----------------------------------------------------------------------


def run(*args: str):
    return CliRunner().invoke(app, ["ids", *args])


def test_cli_adds_ids_then_finds_nothing_to_do(tmp_path: Path) -> None:
    one = write_deck(tmp_path / "decks" / "one.md", "### A\n\na\n\n### B\n\nb\n")
    two = write_deck(tmp_path / "decks" / "sub" / "two.md", "### C\n")
    done = write_deck(tmp_path / "decks" / "done.md", "### D\n\nquestion id: d\n")

    result = run(str(tmp_path / "decks"))

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{one}: 2 ids added",
        f"{two}: 1 id added",
        "3 ids added in 2 files",
    ]
    assert done.read_bytes() == b"### D\n\nquestion id: d\n"
    again = run(str(tmp_path / "decks"))
    assert (again.exit_code, again.stdout) == (0, "every question has an id\n")


def test_cli_defaults_to_decks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deck = write_deck(tmp_path / "decks" / "x.md", "### A\n")
    monkeypatch.chdir(tmp_path)
    result = run()
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "decks/x.md: 1 id added"
    assert parse_bytes(deck.read_bytes()).questions[0].id is not None


def test_cli_check_lists_missing_ids_and_changes_nothing(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "deck.md", DECK, crlf=True)
    os.utime(deck, ns=(1_000_000_000, 1_000_000_000))
    before = deck.read_bytes()

    result = run("--check", str(deck))

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[:-1] == [
        f"{deck}:{line}:1: error[missing-id]: question has no `question id:` line"
        for line in (7, 19, 25, 26)
    ]
    assert lines[-1] == "ankiqa: 4 errors, `ankiqa ids` adds missing ids"
    assert deck.read_bytes() == before
    assert deck.stat().st_mtime_ns == 1_000_000_000


def test_cli_check_passes_the_seed_deck(decks: Path) -> None:
    result = run("--check", str(decks))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "every question has an id\n", "")


def test_cli_errors_exit_1(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "deck.md", "### A\n\n```\nnever closed\n")
    result = run(str(deck), str(tmp_path / "missing.md"))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{deck}:1:1: error[cannot-add-id]: cannot add an id: the end of this answer is inside"
        " a code block (is a ``` fence never closed?); the file was left unchanged",
        f"{tmp_path / 'missing.md'}:1:1: error[not-found]: no such file or folder",
        "ankiqa: 2 errors, files with errors left unchanged",
    ]
    assert deck.read_bytes() == b"### A\n\n```\nnever closed\n"


# --- the result imports into Anki -------------------------------------------------------------


def test_new_ids_import_as_new_notes(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "decks" / "tools.md", DECK, crlf=True, bom=True)
    added = add_ids_to_files([tmp_path / "decks"])
    assert added.changed == [(deck, 4)]
    ids = [q.id for q in parse_bytes(deck.read_bytes()).questions]

    result = export([tmp_path / "decks"], dist=tmp_path / "dist", now=T0)

    col = open_collection(tmp_path / "anki")
    try:
        counts = import_package(col, result.written[0])
        assert (counts.new, counts.updated, counts.duplicate, counts.conflicting) == (4, 0, 0, 0)
        notes = notes_by_guid(col)
        assert set(notes) == {note_guid(new) for new in ids}
        assert sorted(note["fields"]["Question ID"] for note in notes.values()) == sorted(ids)
        assert {note["deck"] for note in notes.values()} == {"Tools"}
    finally:
        col.close()


# --- properties, on Markdown-ish text from a grammar of lines ---------------------------------

# Each entry is one line, or lines that belong together; "{id}" becomes a unique id.
LINE_KINDS = [
    ("### Question?",),
    ("### Question?",),
    ("### Question?",),
    ("### Question?",),
    ("### Closed question ###",),
    ("   ### Indented question",),
    ("###",),
    ("# Deck",),
    ("## Section",),
    ("#### Detail",),
    ("    ### indented code, not a question",),
    ("question id: {id}",),
    ("  Question ID :  {id}  ",),
    ("question id:",),
    ("```",),
    ("~~~",),
    ("```python", "### fake", "question id: {id}", "```"),
    ("~~~", "```", "question id: {id}", "~~~"),
    ("- item", "  ```", "  ### in a list", "  question id: {id}"),
    ("> quote", "> ```", "> question id: {id}"),
    ("",),
    ("",),
    ("   ",),
    ("text",),
    ("trailing space  ",),
    ("- item",),
    ("---",),
    ("===",),
    ("$$",),
    ("<pre>",),
    ("<div>",),
    ("| a | b |", "|---|---|"),
    ("\x00 nul",),
    ("\u00a0",),
    ("\x0c",),
    ("x\u2028y\x85z",),
]


@st.composite
def deck_bytes(draw: st.DrawFn) -> bytes:
    kinds = draw(st.lists(st.sampled_from(LINE_KINDS), max_size=25))
    counter = itertools.count()
    contents = [line.replace("{id}", f"old-{next(counter):04d}") for kind in kinds for line in kind]
    one_ending = st.sampled_from(["\n", "\r\n", "\r"])
    endings = draw(
        st.one_of(
            one_ending.map(lambda ending: [ending] * len(contents)),
            st.lists(one_ending, min_size=len(contents), max_size=len(contents)),
        )
    )
    text = "".join(content + ending for content, ending in zip(contents, endings, strict=True))
    if contents and draw(st.booleans()):
        text = text[: -len(endings[-1])]  # no final line ending
    return (BOM if draw(st.booleans()) else b"") + text.encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(deck_bytes())
def test_properties_of_ids(data: bytes) -> None:
    before = parse_bytes(data)
    result = add_ids(data, Path("deck.md"), new_uuid)

    if result.diagnostics:  # an id would land in a code fence that is never closed
        assert {d.code for d in result.diagnostics} == {"cannot-add-id"}
        assert re.search(rb"(^|[\r\n])(```|~~~)", data)
        assert (result.data, result.added) == (data, ())
        return

    # (a) the output minus the inserted lines is the input, byte for byte
    assert without_inserted(result.data, result.added) == data
    # (b) a second run changes nothing
    again = add_ids(result.data, Path("deck.md"), new_uuid)
    assert (again.data, again.added, again.diagnostics) == (result.data, (), ())
    # (c) every question has an id now; questions, answers and old ids are as they were
    after = parse_bytes(result.data)
    assert len(after.questions) == len(before.questions)
    new_ids = iter(result.added)
    for old, new in zip(before.questions, after.questions, strict=True):
        assert new.id_line is not None
        assert new.id == (old.id if old.id_line is not None else next(new_ids))
        assert (new.heading, new.tags) == (old.heading, old.tags)
        assert new.answer.rstrip() == old.answer.rstrip()
    assert next(new_ids, None) is None
    # (d) every id in the input appears exactly once in the output, and so does every new one
    output = result.data.decode("utf-8")
    for old_id in re.findall(r"old-\d{4}", data.decode("utf-8")):
        assert output.count(old_id) == 1
    for new_id in result.added:
        assert output.count(new_id) == 1


def test_the_seed_deck_without_its_ids_gets_them_back_in_the_same_places() -> None:
    seed = (SEED_DECKS / "web-servers.md").read_bytes()
    stripped = re.sub(rb"\n\nquestion id: [^\n]*", b"", seed)
    assert b"question id" not in stripped
    old_ids = iter(q.id for q in parse_bytes(seed).questions)

    result = add_ids(stripped, new_id=lambda: next(old_ids))

    assert result.data == seed


def test_a_file_over_the_size_limit_is_reported_not_read(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    big.write_bytes(b"### Q\n\n" + b"x" * 6_000_000 + b"\n")
    report = add_ids_to_files([big])
    assert [d.code for d in report.diagnostics] == ["too-large"]
    assert report.changed == []
