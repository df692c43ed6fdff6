"""`ankiqa check`: one fixture per diagnostic, the exact `path:line:col: severity[code]:`
lines, exit codes, and `--json`."""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import pytest
from conftest import SEED_DECKS, write_deck
from typer.testing import CliRunner

from ankiqa.cli import app
from ankiqa.project import check_project, load_project

FIXTURES = Path(__file__).parent / "fixtures" / "check"

# Every fixture and exactly what it must give: (line, column, severity, code), sorted.
EXPECTED = {
    "clean.md": [],
    "duplicate-id": [
        (1, 1, "error", "duplicate-id"),
        (7, 1, "error", "duplicate-id"),
        (1, 1, "error", "duplicate-id"),  # b.md
    ],
    "empty.md": [(3, 1, "error", "empty-question"), (9, 1, "warning", "empty-answer")],
    "id-in-code.md": [(1, 1, "error", "missing-id"), (6, 1, "warning", "id-in-code")],
    "images.md": [
        (4, 12, "warning", "image-not-found"),
        (5, 15, "warning", "image-outside-root"),
        (5, 43, "warning", "image-outside-root"),
    ],
    "malformed-id.md": [(5, 1, "warning", "malformed-id")],
    "missing-id.md": [(9, 1, "error", "missing-id")],
    "no-questions.md": [(1, 1, "error", "no-questions")],
    "skipped-level.md": [(3, 1, "error", "skipped-level"), (15, 1, "error", "skipped-level")],
    "unclosed-fence.md": [
        (3, 1, "error", "missing-id"),
        (5, 1, "error", "unclosed-fence"),
        (8, 1, "warning", "id-in-code"),
    ],
    # The comment swallows the rest of the file, the second question's id line with it.
    "unclosed-html.md": [(5, 1, "error", "unclosed-html"), (13, 1, "error", "extra-id")],
    "unknown-language.md": [(3, 4, "warning", "unknown-language")],
    "unsafe-html.md": [
        (3, 1, "warning", "html-as-text"),  # <script> block: GFM's tag filter
        (5, 30, "warning", "unsafe-html"),  # onerror=
        (5, 67, "warning", "unsafe-html"),  # [link](javascript:…)
        (6, 8, "warning", "unsafe-html"),  # <a href="JavaScript:…">
        (8, 1, "warning", "html-as-text"),  # <iframe>
        (10, 1, "warning", "removed-html"),  # <font>
        (10, 55, "warning", "removed-html"),  # ftp: link
    ],
}


def check(*paths: Path) -> list:
    return check_project(load_project(paths))


def run(*args: str):
    return CliRunner().invoke(app, ["check", *args])


def test_every_fixture_has_expectations() -> None:
    fixtures = {path.name for path in FIXTURES.iterdir() if path.name != "images"}
    assert fixtures == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    found = [(d.line, d.column, d.severity, d.code) for d in check(FIXTURES / name)]
    assert found == EXPECTED[name]


def test_duplicate_id_names_every_other_place() -> None:
    folder = FIXTURES / "duplicate-id"
    messages = {(d.path.name, d.line): d.message for d in check(folder)}
    assert messages[("a.md", 1)].endswith(f"also used at {folder}/a.md:7, {folder}/b.md:1")
    assert messages[("b.md", 1)].endswith(f"also used at {folder}/a.md:1, {folder}/a.md:7")


def test_messages_say_what_happened() -> None:
    (fence,) = [d for d in check(FIXTURES / "unclosed-fence.md") if d.code == "unclosed-fence"]
    assert "never closed" in fence.message and "1 question heading" in fence.message
    (in_code,) = [d for d in check(FIXTURES / "id-in-code.md") if d.code == "id-in-code"]
    assert "inside a code block" in in_code.message and "line 1" in in_code.message
    (level, _) = check(FIXTURES / "skipped-level.md")
    assert "`####`" in level.message and "not a question" in level.message
    (language,) = check(FIXTURES / "unknown-language.md")
    assert "`pythn`" in language.message


def test_seed_deck_passes_with_one_malformed_id_warning() -> None:
    result = run(str(SEED_DECKS))

    assert result.exit_code == 0, result.output
    seed = SEED_DECKS / "web-servers.md"
    assert result.stdout.splitlines() == [
        f"{seed}:72:1: warning[malformed-id]: question id `bb7d9a13-34a0-4973-86b7-65e4293a08f`"
        " is not a well-formed UUID; it works as it is, and ids are permanent: keep it",
        "ankiqa: 0 errors, 1 warning in 1 file",
    ]


def test_default_path_is_decks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_deck(tmp_path / "decks" / "d.md", "### Q?\n\nA.\n")
    monkeypatch.chdir(tmp_path)
    result = run()
    assert result.exit_code == 1
    assert result.stdout.startswith("decks/d.md:1:1: error[missing-id]: ")


def test_human_output_is_compiler_style_sorted_by_file_and_line() -> None:
    result = run(str(FIXTURES / "unclosed-fence.md"), str(FIXTURES / "empty.md"))

    assert result.exit_code == 1
    empty, fence = FIXTURES / "empty.md", FIXTURES / "unclosed-fence.md"
    lines = result.stdout.splitlines()
    assert [line.split(": ", 2)[:2] for line in lines[:-1]] == [
        [f"{empty}:3:1", "error[empty-question]"],
        [f"{empty}:9:1", "warning[empty-answer]"],
        [f"{fence}:3:1", "error[missing-id]"],
        [f"{fence}:5:1", "error[unclosed-fence]"],
        [f"{fence}:8:1", "warning[id-in-code]"],
    ]
    assert lines[-1] == "ankiqa: 3 errors, 2 warnings in 2 files"


def test_exit_codes() -> None:
    assert run(str(FIXTURES / "clean.md")).exit_code == 0
    assert run(str(FIXTURES / "malformed-id.md")).exit_code == 0  # warnings only
    assert run("--strict", str(FIXTURES / "malformed-id.md")).exit_code == 1
    assert run("--strict", str(FIXTURES / "clean.md")).exit_code == 0
    assert run(str(FIXTURES / "missing-id.md")).exit_code == 1
    assert run(str(FIXTURES / "no-such-file.md")).exit_code == 2  # could not run


@pytest.mark.parametrize("args", [["--no-such-option"], ["--json=maybe"], ["--strict", "-x"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run(*args, str(FIXTURES / "clean.md"))
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_json_output() -> None:
    result = run("--json", str(FIXTURES / "id-in-code.md"), str(FIXTURES / "clean.md"))

    assert result.exit_code == 1
    path = str(FIXTURES / "id-in-code.md")
    found = json.loads(result.stdout)  # nothing but the JSON list on stdout
    assert [{k: v for k, v in d.items() if k != "message"} for d in found] == [
        {"file": path, "line": 1, "column": 1, "severity": "error", "code": "missing-id"},
        {"file": path, "line": 6, "column": 1, "severity": "warning", "code": "id-in-code"},
    ]
    assert all(isinstance(d["message"], str) and d["message"] for d in found)
    assert json.loads(run("--json", str(FIXTURES / "clean.md")).stdout) == []


def test_not_utf8_gives_line_column_and_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes(b"### Q?\n\nA.\n\ncaf\xc3\xa9 \x80\n")  # a valid é, then a stray byte
    result = run(str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        f"{path}:5:6: error[not-utf8]: not valid UTF-8 (byte offset 18); save the file as UTF-8"
    )


def test_not_utf8_after_a_bom_counts_the_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.md"
    path.write_bytes(b"\xef\xbb\xbf### Q?\n\xff\n")
    (problem,) = check(path)
    assert (problem.line, problem.column, problem.code) == (2, 1, "not-utf8")
    assert "byte offset 10" in problem.message


def test_utf16_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "utf16.md"
    path.write_bytes("### Q?\n\nA.\n".encode("utf-16"))
    (problem,) = check(path)
    assert problem.code == "not-utf8" and "UTF-16" in problem.message


def test_nul_characters_are_a_warning_and_never_reach_a_card(tmp_path: Path) -> None:
    path = write_deck(tmp_path / "nul.md", "### Q?\n\nA\x00B\n\nquestion id: 1\n")
    problems = [(d.line, d.column, d.severity, d.code) for d in check(path)]
    assert (3, 2, "warning", "nul-character") in problems
    question = load_project([path]).deck_files[0].questions[0]
    assert question.answer == "A\ufffdB"


def test_checking_twice_gives_the_same_list() -> None:
    project = load_project([FIXTURES / "unsafe-html.md"])
    once = check_project(project)
    project.diagnostics = once
    assert check_project(project) == once


def test_markup_the_standard_html_parser_rejects_is_no_traceback(tmp_path: Path) -> None:
    deck = tmp_path / "odd.md"
    deck.write_text(
        "### Q\n\n<div><![x]></div>\n\nquestion id: 3f3f3f3f-0000-4000-8000-000000000001\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["check", str(deck)])
    assert result.exit_code == 0, result.output


def test_plain_text_fences_are_not_unknown_languages(tmp_path: Path) -> None:
    fences = "".join(f"```{name}\nx\n```\n\n" for name in ("txt", "plaintext", "text", "none"))
    write_deck(
        tmp_path / "plain.md",
        f"### Q\n\n{fences}question id: 3f3f3f3f-0000-4000-8000-000000000002\n",
    )
    assert check(tmp_path) == []


def test_raw_html_images_are_checked_like_markdown_ones(tmp_path: Path) -> None:
    (tmp_path / "here.png").write_bytes(b"png")
    write_deck(
        tmp_path / "raw.md",
        '### Q\n\n<img src="here.png">\n\n<p><img src="gone.png"></p>\n\n'
        "question id: 3f3f3f3f-0000-4000-8000-000000000003\n",
    )
    found = [(d.line, d.column, d.code) for d in check(tmp_path)]
    assert found == [(5, 14, "image-not-found")]


def codes_for(tmp_path: Path, answer: str) -> list[tuple[int, str]]:
    deck = write_deck(tmp_path / "deck.md", f"### Q\n\n{answer}\n\nquestion id: q\n")
    return [(d.line, d.code) for d in check(deck) if d.code != "malformed-id"]


@pytest.mark.parametrize(
    "answer",
    [
        "Run `echo $HOME/$USER` and `grid[i][j] = 0` now.",
        '```bash\necho "$HOME" "$PATH"\ngrid[i][j] = 0\n```',
        "    m[i][j] = $cost + $x",
        "Print $HOME and $PATH, $a and $b.",
        "Indexing: a[i][j], M[0][1]; the class [^0-9].",
        "It costs $5 or $10.",
    ],
)
def test_ordinary_notes_get_no_markdown_warning(tmp_path: Path, answer: str) -> None:
    assert codes_for(tmp_path, answer) == []


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("See the [docs][nope] and[^missing].", [(3, "undefined-reference")] * 2),
        ("Then $x^2 + y $ holds.", [(3, "unclosed-math")]),
        ("A List<String> of names.", [(3, "removed-html")]),
        ("Type in a <textarea> here.", [(3, "html-as-text")]),
    ],
)
def test_markdown_that_was_likely_misread_is_warned_about(
    tmp_path: Path, answer: str, expected: list
) -> None:
    assert codes_for(tmp_path, answer) == expected


def test_the_suggested_fix_keeps_the_tag_as_written(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "deck.md", "### Q\n\nA List<String>.\n\nquestion id: q\n")
    (found,) = [d for d in check(deck) if d.code == "removed-html"]
    assert "`` `<String>` ``" in found.message


def test_a_footnote_too_deep_to_render_is_an_error(tmp_path: Path) -> None:
    nested = "*a " * 150 + "x" + "*" * 150  # emphasis inside emphasis, 150 deep
    deck = write_deck(
        tmp_path / "deck.md", f"### Q\n\nSee[^1].\n\nquestion id: q\n\n[^1]: {nested}\n"
    )
    assert ("too-deep", "error") in {(d.code, d.severity) for d in check(deck)}


def test_every_rule_sees_every_question(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No answer is skipped as "nothing to see": a new rule sees plain answers too."""
    from ankiqa import check as check_module

    seen = []
    original = check_module._QuestionReader.inspect

    def inspect(self, token) -> None:
        seen.append(type(token).__name__)
        original(self, token)

    monkeypatch.setattr(check_module._QuestionReader, "inspect", inspect)
    deck = write_deck(tmp_path / "deck.md", "### Plain?\n\nPlain words.\n\nquestion id: q\n")
    check(deck)
    assert seen.count("Paragraph") == 1 and seen.count("RawText") == 2  # heading and answer


def test_lookalike_ids_are_warned_about_at_every_place(tmp_path: Path) -> None:
    ids = ["CaseID", "caseid", "caf\u00e9", "cafe\u0301", "zero\u200bwidth", "zerowidth"]
    ids.append("p\u0430ssword")  # a Cyrillic letter among Latin ones
    text = "".join(f"### Q{n}\n\nA.\n\nquestion id: {q}\n\n" for n, q in enumerate(ids))
    deck = write_deck(tmp_path / "ids.md", text)
    found = [d.line for d in check(deck) if d.code == "lookalike-id"]
    assert found == [1 + 6 * n for n in range(len(ids))]  # every question's heading


def test_names_are_printed_without_terminal_control_characters(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "evil\x1b[31m.md", "### Q\n\nA.\n\nquestion id: \x1b]0;x\x07\n")
    result = run(str(deck))
    assert "\x1b" not in result.output and "evil\\x1b[31m.md:" in result.output


@pytest.mark.skipif(os.name == "nt", reason="Windows file names are always Unicode")
def test_a_file_name_that_is_not_utf8_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path / "decks")
    os.makedirs(folder)
    with open(os.path.join(folder, b"caf\xe9.md"), "wb") as file:
        file.write(b"### Q\n\nA.\n\nquestion id: q\n")
    result = run(str(tmp_path / "decks"))
    assert result.exit_code == 2
    assert "caf\\xe9.md:1:1: error[bad-file-name]" in result.output
    export = CliRunner().invoke(app, ["export", str(tmp_path / "decks")])
    assert export.exit_code == 1 and "nothing written" in export.output


def test_an_id_with_a_control_character_is_an_error(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "d.md", "### Q\n\nA.\n\nquestion id: id\x01x\n")
    assert ("bad-id", "error") in {(d.code, d.severity) for d in check(deck)}


def test_a_cyrillic_lookalike_names_the_latin_id(tmp_path: Path) -> None:
    deck = write_deck(
        tmp_path / "d.md",
        "### A\n\nA.\n\nquestion id: pass\n\n### B\n\nB.\n\nquestion id: p\u0430ss\n",
    )
    messages = [d.message for d in check(deck) if d.code == "lookalike-id"]
    assert any("`pass` at" in message for message in messages)


def test_ascii_ids_have_the_skeleton_and_scripts_of_any_id() -> None:
    from ankiqa.project import _scripts, id_skeleton

    ascii_ids = ["".join(map(chr, range(n, n + 16))) for n in range(0, 128, 16)]
    for question_id in [*ascii_ids, "A\tb-C", "NET-UPPER-1", "-1", ""]:
        visible = "".join(c for c in question_id if unicodedata.category(c) != "Cf")
        skeleton = "".join(unicodedata.normalize("NFKC", visible).split()).casefold()
        assert id_skeleton(question_id) == skeleton
        names = {unicodedata.name(c, "?").split()[0] for c in question_id if c.isalpha()}
        assert _scripts(question_id) == names
