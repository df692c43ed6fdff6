"""Hostile and huge input: a clear diagnostic or a correct result, in seconds, with bounded
memory; never a traceback or a RecursionError."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_deck
from hypothesis import given, settings
from hypothesis import strategies as st
from mistletoe import block_token
from typer.testing import CliRunner

from ankiqa import split
from ankiqa.check import check_deck_file
from ankiqa.cli import app
from ankiqa.limits import MAX_DEPTH
from ankiqa.parse import parse_deck
from ankiqa.project import check_project, load_project
from ankiqa.render import CardRenderer, parse_markdown

ID = "question id: 4d1c7e0a-9b8f-4a6e-8d5c-3b2a1f0e9d8c"
SECONDS = 10  # generous: what these guard against takes minutes


def deck_with(body: str) -> str:
    return f"# Hostile\n\n### Q?\n\n{body}\n\n{ID}\n"


def problems(text: str) -> list[tuple[int, int, str]]:
    """(line, column, code) of every problem `ankiqa check` finds in a deck's text."""
    deck_file = parse_deck(text)
    found = [*deck_file.diagnostics, *check_deck_file(deck_file, Path.cwd())]
    return sorted((d.line, d.column, d.code) for d in found)


# `ankiqa ARGS` in a fresh Python that prints its peak RSS (KB) last, on stderr. The peak is
# Linux's VmHWM, which starts afresh with the new program; getrusage's ru_maxrss would also
# count this large test process, which the child is forked from.
CHILD = """
import re, resource, sys
from pathlib import Path
from ankiqa.cli import app

def peak_kb():
    status = Path("/proc/self/status")
    if status.exists():
        return int(re.search(r"VmHWM:\\s*(\\d+)", status.read_text())[1])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes there, KB elsewhere

try:
    app(sys.argv[1:])
finally:
    print(peak_kb(), file=sys.stderr)
"""


def run_cli(*args: str) -> tuple[int, str, int]:
    """`ankiqa ARGS` in a fresh Python: its exit status, its stdout and its peak RSS in MB."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, int(done.stderr.split()[-1]) // 1024


@pytest.mark.parametrize(
    ("body", "column"),
    [
        (">" * 5000 + " x", MAX_DEPTH + 1),  # the `>` that goes one level too deep
        ("> " * 5000 + "x", 2 * MAX_DEPTH + 1),
        ("- " * 5000 + "x", 2 * MAX_DEPTH + 1),
        ("1. " * 5000 + "x", 3 * 21 + 1),  # an upper bound: 3 columns each, counted as 1.5
        ("> - " * 2500 + "x", 4 * 16 + 1),  # 16 times two levels, then the 33rd: a `>`
    ],
)
def test_deep_nesting_on_one_line(body: str, column: int) -> None:
    start = time.monotonic()
    assert problems(deck_with(body)) == [(5, column, "too-deep")]
    assert time.monotonic() - start < SECONDS


def test_deep_nesting_over_many_lines() -> None:
    nested_list = "\n".join("  " * level + "- item" for level in range(2000))
    # the item at level 32 is the 33rd list inside a list
    assert problems(deck_with(nested_list)) == [(5 + 32, 65, "too-deep")]
    nested_quotes = "\n".join(">" * level + " line" for level in range(1, 1000))
    assert problems(deck_with(nested_quotes)) == [(5 + 32, 33, "too-deep")]


def test_deep_nesting_far_down_a_large_file_is_reported_at_its_line() -> None:
    """A large file is read in pieces (see `split`): the line is the file's, not the
    piece's."""
    questions = "".join(f"### Q{n}?\n\nA{n}.\n\nquestion id: q-{n}\n\n" for n in range(6000))
    text = "# Big\n\n" + questions + "### Deep?\n\n" + "> " * 40 + "deep\n"
    deep_line = text.count("\n")  # the last line
    assert len(text) > split.PIECE_CHARS * 2
    assert [(d.line, d.code) for d in parse_deck(text).diagnostics] == [(deep_line, "too-deep")]


def test_deep_looking_lines_that_are_not_nesting() -> None:
    text = deck_with(
        "- " * 40 + "-\n\n"  # a thematic break
        "```\n" + ">" * 100 + "\n" + "  " * 100 + "- deeply indented code\n```"
    )
    assert problems(text) == []


def test_nesting_just_below_the_limit_renders() -> None:
    body = "> " * MAX_DEPTH + "x\n\n" + "\n".join("  " * n + "- item" for n in range(MAX_DEPTH))
    assert problems(deck_with(body)) == []
    with CardRenderer() as renderer:
        html = renderer.markdown(body)
    assert html.count("<blockquote>") == MAX_DEPTH and html.count("<ul>") == MAX_DEPTH


@pytest.mark.parametrize(
    "body",
    [
        "*" * 400 + "x" + "*" * 400,  # parses, but would be 200 nested <strong> to render
        "*a " * 300 + "x" + " a*" * 300,
        "![a " * 120 + "x" + "](u)" * 120,
    ],
)
def test_deep_inline_nesting_is_an_error_not_a_recursion_error(body: str) -> None:
    assert problems(deck_with(body)) == [(5, 1, "too-deep")]


def test_inline_nesting_too_deep_to_parse_points_at_the_question() -> None:
    body = "![a " * 1000 + "x" + "](u)" * 1000  # a RecursionError while parsing
    assert problems(deck_with(body)) == [(3, 1, "too-deep")]


def test_a_recursion_error_leaves_the_markdown_reader_working() -> None:
    with CardRenderer(), pytest.raises(RecursionError):
        parse_markdown(">" * 5000 + " x")
    assert block_token.Paragraph.parse_setext
    with CardRenderer() as renderer:
        assert renderer.markdown("Title\n=====") == "<h1>Title</h1>"


@pytest.mark.parametrize(
    "line",
    [
        "lorem ipsum " * 85_000,
        "$" * 1_000_000,
        "_a" * 500_000,
        "[]" * 500_000,
        "<" * 1_000_000,
        "&" * 1_000_000,
        "\\" * 1_000_000,
        "http://x" + ")" * 1_000_000,
    ],
)
def test_a_one_megabyte_line_in_an_answer_is_too_large(line: str) -> None:
    start = time.monotonic()
    (first, *others) = problems(deck_with(line))
    assert first == (3, 1, "too-large")
    assert others in ([], [(5, 1, "too-complex")])  # some are that too
    assert time.monotonic() - start < SECONDS


def test_a_one_megabyte_heading_is_too_large() -> None:
    assert problems(f"### {'why ' * 250_000}?\n\nBecause.\n\n{ID}\n") == [(1, 1, "too-large")]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("lorem ipsum " * 85_000, None),  # outside any question: read, never rendered
        ("[]" * 500_000, "too-complex"),  # mistletoe rescans the rest at every `]`
        ("*a" * 500_000, "too-complex"),  # and may pair every `*` with every other
        ("#### x" + " " * 1_000_000 + "y", "too-complex"),  # its heading pattern backtracks
        ("a" + " \t" * 500_000 + "b", "too-complex"),
    ],
)
def test_a_one_megabyte_line_outside_the_questions(line: str, code: str | None) -> None:
    start = time.monotonic()
    found = problems(f"# Deck\n\n{line}\n\n### Q?\n\nA.\n\n{ID}\n")
    assert found == ([(3, 1, code)] if code else [])
    assert time.monotonic() - start < SECONDS


@pytest.mark.parametrize(
    "body",
    [
        "[]" * 40_000,
        "*a" * 40_000,
        "a" + " " * 50_000 + "b",
        "**" * 20_000 + "x" + "**" * 20_000,
    ],
)
def test_quadratic_inline_text_within_a_card_is_too_complex(body: str) -> None:
    start = time.monotonic()
    assert problems(deck_with(body)) == [(5, 1, "too-complex")]
    assert time.monotonic() - start < SECONDS


@pytest.mark.parametrize(
    "body",
    [
        "http://x" + ")" * 90_000,  # tokens.BareUrl trimmed one `)` at a time, recounting
        "#### x" + " " * 3_000 + "y" * 90_000,  # a last line without "\n" made this quadratic
        "x " * 45_000,
        "$a$ " * 20_000,
    ],
)
def test_large_cards_render_in_seconds(body: str) -> None:
    assert problems(deck_with(body)) == []
    start = time.monotonic()
    with CardRenderer() as renderer:
        renderer.markdown(body)
    assert time.monotonic() - start < SECONDS


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ("An answer." * 5_000_000, 3),  # one giant line
        ("An answer.\n" * 5_000_000, 3),  # one giant question
    ],
)
def test_50_megabytes_without_a_heading_are_refused_quickly_in_little_memory(
    tmp_path: Path, body: str, line: int
) -> None:
    big = tmp_path / "big.md"
    big.write_text(f"# Big\n\n### Q?\n\n{ID}\n{body}\n", encoding="utf-8")

    start = time.monotonic()
    status, out, peak_mb = run_cli("check", str(big))
    assert time.monotonic() - start < SECONDS
    assert status == 1
    assert out.startswith(f"{big}:{line}:1: error[too-large]: ")
    assert "characters without a `#`, `##` or `###` heading" in out
    assert peak_mb < 200  # the imports take about 45, the text 50 (and its bytes 50, briefly)


def test_a_large_valid_deck_is_checked_in_bounded_memory(tmp_path: Path) -> None:
    questions = [
        f"### Question {n}?\n\nAn answer with `code`, **bold** and https://example.com/{n}.\n\n"
        f"question id: 00000000-0000-4000-8000-{n:012d}\n\n"
        for n in range(12_000)
    ]
    deck = write_deck(tmp_path / "large.md", "# Large\n\n" + "".join(questions))
    assert 1_500_000 < deck.stat().st_size < 5_000_000

    status, out, peak_mb = run_cli("check", str(deck))
    assert (status, out) == (0, "ankiqa: 0 errors, 0 warnings in 1 file\n")
    assert peak_mb < 400


def test_nul_bytes_and_binary_garbage(tmp_path: Path) -> None:
    nuls = tmp_path / "nuls.md"
    nuls.write_bytes(b"\x00" * 1_000_000)
    assert [(d.code, d.line, d.column) for d in check_project(load_project([nuls]))] == [
        ("no-questions", 1, 1),
        ("nul-character", 1, 1),
    ]
    garbage = tmp_path / "garbage.md"
    garbage.write_bytes(bytes(range(256)) * 1000)
    result = CliRunner().invoke(app, ["check", str(garbage)])
    assert result.exit_code == 1
    assert result.stdout.startswith(  # byte 10 is a line break; byte 128 is not UTF-8
        f"{garbage}:2:118: error[not-utf8]: not valid UTF-8 (byte offset 128)"
    )


# Text made of Markdown's building blocks, so that the examples are structure, not noise.
PIECES = [*"#>-*_`~$[]()!<>&|\\:/ \t\n\r\x00aQé", "### ", "#### ", "```", "    ", "$$", "<!--"]
PIECES += ["1. ", "\n### Q\n"]
PIECES += ["question id: x", "<script>", "](javascript:x)", "![](../x.png)", "\n\n", "\r\n"]
MARKDOWN = st.lists(st.sampled_from(PIECES), max_size=120).map("".join)


@settings(max_examples=300, deadline=None)
@given(MARKDOWN)
def test_parse_and_check_never_raise(text: str) -> None:
    deck_file = parse_deck(text)
    lines = text.count("\n") + text.count("\r") + 1
    for question in deck_file.questions:
        assert 1 <= question.line <= question.end_line <= lines
    check_deck_file(deck_file, Path.cwd())
