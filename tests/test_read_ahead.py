"""A large deck file's pieces parsed in worker processes, ahead of their turn (see
`parse._Ahead`), read exactly as in one process: the same questions, diagnostics, cache
records and packages."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import example, given, settings
from test_split import MARKDOWN

import ankiqa
from ankiqa import parse, pipeline, split
from ankiqa.cache import Cache
from ankiqa.parse import DeckFile, parse_deck


class Counting(ProcessPoolExecutor):
    """A worker pool that counts the tasks it is given."""

    submitted = 0

    def submit(self, *args, **kwargs):  # type: ignore[override]
        self.submitted += 1
        return super().submit(*args, **kwargs)


@pytest.fixture(scope="module")
def pool() -> Iterator[Counting]:
    """Workers that are no copy of this process: a fork of it may inherit locks taken by
    threads that other tests left (Anki's), and hang."""
    with Counting(2, mp_context=multiprocessing.get_context("spawn")) as workers:
        yield workers


def read(text: str, pool: Counting | None, chars: int, known: Cache | None = None) -> DeckFile:
    with (
        mock.patch.object(split, "PIECE_CHARS", chars),
        parse._read(text, Path("deck.md"), "p::", False, known, pool) as deck,
    ):
        return parse.joined(deck.parts())


def question(number: int, extra: str = "") -> str:
    return f"### Q{number} [docs] [^n]\n\nAnswer {number}.\n{extra}\nquestion id: q-{number}\n\n"


def plain(first: int) -> str:
    """Questions without a problem, a few pieces of them."""
    return "".join(question(n) for n in range(first, first + 8))


# Pieces of about 200 characters: what crosses them, or fails, between plain ones.
TRICKY = "".join(
    [
        "---\ntags: [big]\n---\n# Title\n\n## Part\n\n",
        plain(10),
        question(1, "<div>\n" + "text\n" * 30 + "# inside HTML: a cut refused\n</div>\n"),
        plain(20),
        question(2, "$$\nx\n" + "y\n" * 40 + "# in math: a cut refused\n$$\n"),
        question(3, "{{c1::a {{c2::b}}}}\n"),  # bad-cloze
        plain(30),
        "### Q4 has no id\n\ntext\n\n",  # missing-id
        "## Section\n\n#### Not a question\n\n",  # skipped-level
        "# Part two\n\n",
        question(5, "$$\nleft open\n"),
        question(6),
        "$$\n\n",  # closes the one left open in Q5, across the cuts
        plain(40),
        question(7, "\x01\n"),  # control-character
        plain(50),
        "[docs]: https://example.com/docs\n\n[^n]: A note with [docs].\n\n",
        "### Last\n\n```\nnever closed\n### swallowed\n",  # unclosed-fence
    ]
)


def test_a_file_read_ahead_reads_as_in_one_process(pool) -> None:
    before = pool.submitted
    deck_file = read(TRICKY, pool, 200)
    assert deck_file == read(TRICKY, None, 200) == parse_deck(TRICKY, Path("deck.md"), "p::")
    assert pool.submitted - before > 5
    codes = {d.code for d in deck_file.diagnostics}
    assert codes >= {"bad-cloze", "missing-id", "skipped-level", "unclosed-fence"}
    assert "control-character" in codes
    assert deck_file.questions[0].references  # defined at the end
    answers = "".join(question.answer for question in deck_file.questions)
    assert "# inside HTML" in answers and "# in math" in answers


@pytest.mark.parametrize(
    "code, hostile",
    [
        ("too-deep", "> " * 40 + "deep\n"),
        ("too-complex", "x" + " " * 5_000 + "y\n"),
        ("too-large", "```\n" + "a\n" * 12_000),  # no cut in it: TooLong
    ],
)
def test_a_file_read_ahead_stops_where_it_is_unreadable(pool, code, hostile, monkeypatch) -> None:
    monkeypatch.setattr(parse, "MAX_PIECE_CHARS", 20_000)
    monkeypatch.setattr(split, "MAX_PIECE_CHARS", 20_000)
    text = "".join(question(n) for n in range(20)) + hostile + question(20) + question(21)
    deck_file = read(text, pool, 100)
    assert deck_file == read(text, None, 100)
    assert not deck_file.questions
    assert code in {d.code for d in deck_file.diagnostics}


@settings(max_examples=150, deadline=None)
@given(text=MARKDOWN)
@example(text="$$\n# T\n$$\n")
@example(text="</div>\n$$\n\n$$\n### Q\n$$\n")
@example(text="$$\n### Q\n     $$\n")
def test_any_file_read_ahead_reads_as_in_one_process(pool, text: str) -> None:
    for chars in (1, 7, 30):
        assert read(text, pool, chars) == read(text, None, chars)


def test_pieces_recalled_from_the_cache_are_not_parsed_ahead(pool, tmp_path) -> None:
    text = "# Title\n\n" + "".join(question(n) for n in range(40))
    with Cache(tmp_path) as known:
        first = read(text, pool, 200, known)
    before = pool.submitted
    with Cache(tmp_path) as known:
        again = read(text, pool, 200, known)
    assert pool.submitted == before
    assert first == again == read(text, None, 200)


def test_an_export_reads_a_large_file_on_its_workers(tmp_path, monkeypatch) -> None:
    """The same packages, read in one process or on the export's worker pool."""
    text = "# Big\n\n" + "".join(question(n) for n in range(40)) + "[docs]: /d\n\n[^n]: N.\n"
    packages = []
    for name, cores in (("alone", 1), ("workers", 2)):
        decks = tmp_path / name / "decks"
        decks.mkdir(parents=True)
        (decks / "big.md").write_text(text, encoding="utf-8")
        monkeypatch.setenv("ANKIQA_CACHE_DIR", str(tmp_path / name / "cache"))  # a first export
        monkeypatch.setattr(pipeline, "_cores", lambda cores=cores: cores)
        monkeypatch.setattr(pipeline, "PARALLEL_FROM", 1)
        monkeypatch.setattr(split, "PIECE_CHARS", 300)
        read_ahead = mock.patch.object(parse, "_Ahead", wraps=parse._Ahead)
        with read_ahead as ahead:
            ankiqa.export([decks], now=1_800_000_000)
        assert ahead.called == (cores == 2)
        packages.append((decks.parent / "dist" / "big.apkg").read_bytes())
    assert packages[0] == packages[1]
