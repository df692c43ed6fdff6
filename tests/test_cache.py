"""The render cache: a re-export renders only what changed, and never serves stale HTML."""

from __future__ import annotations

import importlib.machinery
import json
import os
import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import pytest

import ankiqa
from ankiqa import cache, check, ledger, parse, pipeline, project
from ankiqa.parse import Question
from ankiqa.project import load_project
from ankiqa.render import CardRenderer


@pytest.fixture
def rendered(monkeypatch) -> list[str]:
    """The answers of the questions the renderer is asked to render."""
    calls: list[str] = []
    original = CardRenderer.question

    def counting(self, question: Question, trees=None) -> tuple[str, str]:
        calls.append(question.answer)
        return original(self, question, trees)

    monkeypatch.setattr(CardRenderer, "question", counting)
    return calls


def test_a_re_export_renders_only_the_edited_question(decks: Path, tmp_path, rendered):
    ankiqa.export([decks], output=tmp_path / "a.apkg", now=1_800_000_000)
    assert len(rendered) == 6
    rendered.clear()

    ankiqa.export([decks], output=tmp_path / "b.apkg", now=1_800_000_000, use_cache=False)
    assert len(rendered) == 6  # use_cache=False renders everything ...
    assert (tmp_path / "b.apkg").read_bytes() == (tmp_path / "a.apkg").read_bytes()
    rendered.clear()

    deck = decks / "web-servers.md"
    deck.write_text(deck.read_text(encoding="utf-8").replace("UNIX", "Unix"), encoding="utf-8")
    ankiqa.export([decks], output=tmp_path / "a.apkg", now=1_800_000_100)
    assert rendered == ["Gunicorn 'Green Unicorn' is a Python WSGI HTTP Server for Unix."]


def test_fields_from_the_cache_are_the_fields_a_render_gives(decks: Path, tmp_path, rendered):
    ankiqa.export([decks], output=tmp_path / "cold.apkg", now=1_800_000_000)
    rendered.clear()
    ankiqa.export([decks], output=tmp_path / "warm.apkg", now=1_800_000_000)
    assert rendered == []  # every field came from the cache
    assert (tmp_path / "warm.apkg").read_bytes() == (tmp_path / "cold.apkg").read_bytes()


def test_another_version_of_a_rendering_library_changes_the_fingerprint(
    tmp_path, monkeypatch, request
):
    """Installing another version of a library rewrites its files, or at least its
    `.dist-info` folder's name: the fingerprint, which keys every cache entry, changes."""
    site = tmp_path / "site-packages"
    installed = site / "mistletoe" / "__init__.py"
    installed.parent.mkdir(parents=True)
    installed.write_text("from .core import *\n", encoding="utf-8")
    (site / "mistletoe-1.4.0.dist-info").mkdir()
    (site / "mistletoe_extras-2.0.dist-info").mkdir()  # another library's
    real_find_spec = cache.find_spec

    def find_spec(name: str):
        if name == "mistletoe":
            return importlib.machinery.ModuleSpec(
                name, None, origin=str(installed), is_package=True
            )
        return real_find_spec(name)

    def fingerprint() -> str:
        cache.fingerprint.cache_clear()  # once per process, in an export
        return cache.fingerprint()

    monkeypatch.setattr(cache, "find_spec", find_spec)
    request.addfinalizer(cache.fingerprint.cache_clear)  # none made here outlives the test
    before = fingerprint()
    assert fingerprint() == before  # the same files, the same fingerprint
    (site / "mistletoe_extras-2.0.dist-info").rename(site / "mistletoe_extras-2.1.dist-info")
    assert fingerprint() == before
    # A wheel that keeps its files' times, and an unchanged __init__.py: the version says.
    (site / "mistletoe-1.4.0.dist-info").rename(site / "mistletoe-1.5.0.dist-info")
    upgraded = fingerprint()
    assert upgraded != before
    installed.write_text("from .core import *  # 1.6\n", encoding="utf-8")
    assert fingerprint() != upgraded


def test_a_cache_written_by_other_code_is_not_used_and_is_removed_once_unused(
    tmp_path, monkeypatch
):
    folder = tmp_path / "cache"
    old = cache.Cache(folder)
    old.put(("Q?", "A."), "<b>stale</b>", "<b>stale</b>")
    old.close()
    (old_file,) = folder.iterdir()
    monkeypatch.setattr(cache, "fingerprint", lambda: "0" * 16)  # ankiqa or a library changed
    new = cache.Cache(folder)
    assert new.get(("Q?", "A.")) is None
    new.close()
    # Another version of ankiqa may still use it (a shared folder): kept while it is recent.
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        [old_file.name, f"render-{'0' * 16}.sqlite"]
    )
    long_ago = time.time() - cache.STALE_AFTER - 1
    os.utime(old_file, (long_ago, long_ago))
    cache.Cache(folder).close()
    assert [path.name for path in folder.iterdir()] == [f"render-{'0' * 16}.sqlite"]


def test_an_unusable_cache_folder_only_costs_time(decks: Path, tmp_path, monkeypatch, rendered):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocker / "cache"))
    for _ in range(2):
        ankiqa.export([decks], output=tmp_path / "x.apkg", now=1_800_000_000)
    assert len(rendered) == 12


def test_check_rereads_only_what_it_cannot_trust(tmp_path, monkeypatch):
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "dot.png").write_bytes(b"png")
    (decks / "d.md").write_text(
        "### Clean?\n\nYes.\n\nquestion id: clean-1\n\n"
        "### Unknown language?\n\n```nosuchlanguage\nx\n```\n\nquestion id: code-1\n\n"
        "### Picture?\n\n![dot](dot.png)\n\nquestion id: picture-1\n",
        encoding="utf-8",
    )
    read: list[str] = []
    original = check._QuestionReader.problems

    def counting(self):
        read.append(self.question.id)
        return original(self)

    monkeypatch.setattr(check._QuestionReader, "problems", counting)

    def codes() -> list[str]:
        found = ankiqa.check_project(load_project([decks]), tmp_path / "cache")
        return [d.code for d in found if d.code != "malformed-id"]  # short test ids

    assert codes() == ["unknown-language"]
    assert read == ["clean-1", "code-1", "picture-1"]

    read.clear()
    (decks / "dot.png").unlink()
    assert codes() == ["unknown-language", "image-not-found"]
    assert read == ["picture-1"]  # warnings are kept, images are re-read: files change

    read.clear()
    text = (decks / "d.md").read_text(encoding="utf-8")
    (decks / "d.md").write_text("# Title\n\n\n" + text, encoding="utf-8")
    found = ankiqa.check_project(load_project([decks]), tmp_path / "cache")
    assert [d.line for d in found if d.code == "unknown-language"] == [12]  # 3 lines lower
    assert read == ["picture-1"]


def test_a_damaged_record_of_warnings_is_read_again(tmp_path, monkeypatch):
    decks = tmp_path / "decks"
    decks.mkdir()
    markdown = "### Unknown language?\n\n```nosuchlanguage\nx\n```\n\nquestion id: code-1\n"
    (decks / "d.md").write_text(markdown, encoding="utf-8")

    def codes() -> list[str]:
        found = ankiqa.check_project(load_project([decks]), tmp_path / "cache")
        return [d.code for d in found if d.code != "malformed-id"]

    assert codes() == ["unknown-language"]
    for damaged in ("[[1, 1, 'unknown-language']]", '[[1, 1, "no-such-code", "x"]]', "[]"):
        with sqlite3.connect(next((tmp_path / "cache").glob("render-*.sqlite"))) as db:
            assert db.execute("update warned set warnings = ?", (damaged,)).rowcount == 1
        assert codes() == ["unknown-language"]


def test_a_warm_cache_starts_no_worker_processes(decks: Path, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "PARALLEL_FROM", 1)
    monkeypatch.setattr(pipeline, "_cores", lambda: 2)
    ankiqa.export([decks], output=tmp_path / "cold.apkg", now=1_800_000_000)  # in workers

    def no_pool(*args, **kwargs):
        raise AssertionError("a process pool was started with nothing to render")

    monkeypatch.setattr(pipeline, "ProcessPoolExecutor", no_pool)
    ankiqa.export([decks], output=tmp_path / "warm.apkg", now=1_800_000_000)
    assert (tmp_path / "warm.apkg").read_bytes() == (tmp_path / "cold.apkg").read_bytes()


def test_a_cached_deck_is_not_held_whole_while_deciding_on_workers(tmp_path, monkeypatch):
    """An edit in a large file: what is taken to decide stays small when all is cached."""
    monkeypatch.setattr(pipeline, "_cores", lambda: 2)
    monkeypatch.setattr(pipeline, "PART_SIZE", 1)
    monkeypatch.setattr(pipeline, "LOOK_AHEAD", 8)
    text = "".join(f"### Q{n}?\n\nA{n}.\n\nquestion id: q-{n}\n\n" for n in range(40))
    deck_file = parse.parse_deck(text, tmp_path / "deck.md")
    taken: list[tuple[Question, ...]] = []

    def parts():
        for questions in pipeline.parts_of(deck_file.questions):
            taken.append(questions)
            yield pipeline.Part(replace(deck_file, questions=questions), tmp_path)

    assert len(list(pipeline.run_all(parts(), tmp_path / "cache"))) == 40
    taken.clear()
    results = pipeline.run_all(parts(), tmp_path / "cache")  # all cached now
    first = next(results)
    assert len(taken) == 8  # questions, one a part
    assert [note.question.heading for note in first.notes] == ["Q0?"]
    assert len(list(results)) == 39


def test_a_first_export_forks_its_workers_before_reading_a_deck_file(
    decks: Path, tmp_path, monkeypatch
):
    """Forked later, each worker would begin as a copy of what the main process read."""
    monkeypatch.setattr(pipeline, "PARALLEL_FROM", 1)
    monkeypatch.setattr(pipeline, "_cores", lambda: 2)
    events: list[str] = []
    started, read = pipeline._started_pool, parse.read_deck_parts

    def starting(workers: int):
        events.append("workers")
        return started(workers)

    def reading(*args, **kwargs):
        events.append("read")
        return read(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_started_pool", starting)
    monkeypatch.setattr(project, "read_deck_parts", reading)
    ankiqa.export([decks], output=tmp_path / "deck.apkg", now=1_800_000_000)
    assert events[:2] == ["workers", "read"]


def test_a_deck_file_with_the_same_bytes_is_not_parsed_again(decks: Path, tmp_path, monkeypatch):
    parsed: list[Path] = []
    original = parse.parse_deck

    def counting(text, path, deck_prefix=""):
        parsed.append(path)
        return original(text, path, deck_prefix)

    monkeypatch.setattr(parse, "parse_deck", counting)
    (decks / "other.md").write_text("### Q?\n\nA.\n\nquestion id: other-1\n", encoding="utf-8")
    first = load_project([decks], tmp_path / "cache")
    assert sorted(p.name for p in parsed) == ["other.md", "web-servers.md"]

    parsed.clear()
    (decks / "other.md").write_text("### Q?\n\nB.\n\nquestion id: other-1\n", encoding="utf-8")
    second = load_project([decks], tmp_path / "cache")
    assert [p.name for p in parsed] == ["other.md"]
    assert second.deck_files[1] == first.deck_files[1]  # web-servers.md, from the cache
    assert second.deck_files[0].questions[0].answer == "B."


def test_the_cache_holds_no_code_and_what_it_gives_is_sanitized(decks: Path, tmp_path) -> None:
    """A shared cache folder (CI caches, containers) must not run code or put a script
    on a card: parsed files are JSON, checked when read; rendered fields are cleaned."""
    ankiqa.export([decks], output=tmp_path / "a.apkg", now=1_800_000_000)
    (db,) = cache.default_folder().glob("render-*.sqlite")
    connection = sqlite3.connect(db)
    script = "<script>alert(1)</script><p>poisoned</p>"
    connection.execute("update fields set back = ?", (script,))
    connection.execute("update parsed set deck_file = ?", ('{"questions": [{"heading": 3}]}',))
    connection.commit()
    connection.close()
    notes = ankiqa.build_decks([decks])
    assert len(notes) == 6  # the damaged parsed row was not used: the file was read again
    assert {note.fields[1] for note in notes} == {"<p>poisoned</p>"}  # cleaned on the way out


def test_fields_signed_by_this_user_are_not_sanitized_again(decks: Path, tmp_path, monkeypatch):
    """The sanitizer is most of a re-export's time after an edit in a large deck: fields
    this code rendered and sanitized carry a signature, with a key that only the user
    can read, outside the cache. Any other row is sanitized again."""
    key = ledger.default_folder() / cache.KEY_FILE
    ankiqa.check_decks([decks])
    assert not key.exists()  # made by what renders fields only
    ankiqa.export([decks], output=tmp_path / "a.apkg", now=1_800_000_000)
    assert key.stat().st_mode & 0o777 == 0o600
    cleaned: list[str] = []
    original = CardRenderer.clean_field

    def counting(self, html_text: str) -> str:
        cleaned.append(html_text)
        return original(self, html_text)

    monkeypatch.setattr(CardRenderer, "clean_field", counting)
    first = ankiqa.build_decks([decks])
    assert cleaned == []  # from the cache, signed
    (db,) = cache.default_folder().glob("render-*.sqlite")
    with sqlite3.connect(db) as connection:  # a row's signature on another row: not its own
        rows = connection.execute("select key, mac from fields order by key").fetchall()
        connection.execute("update fields set mac = ? where key = ?", (rows[1][1], rows[0][0]))
    assert ankiqa.build_decks([decks]) == first
    assert len(cleaned) == 2  # that row's front and back

    cleaned.clear()
    key.chmod(0o644)  # others may read the key: it signs nothing
    assert ankiqa.build_decks([decks]) == first
    assert len(cleaned) == 2 * len(rows)


@pytest.mark.parametrize(
    "change",
    [
        {"id": 5},
        {"id": ["a"]},
        {"id": "a b\n<script>"},
        {"id_line": "x"},
        {"references": [["a"]]},
        {"tags": ["a b"]},
        {"deck": "A::::B\x1f"},
    ],
)
def test_a_crafted_parsed_row_is_read_again_not_trusted(decks: Path, change: dict) -> None:
    ankiqa.check_decks([decks])
    (db,) = cache.default_folder().glob("render-*.sqlite")
    connection = sqlite3.connect(db)
    (row,) = connection.execute("select deck_file from parsed").fetchall()
    record = json.loads(row[0])
    record["questions"][0].update(change)
    connection.execute("update parsed set deck_file = ?", (json.dumps(record),))
    connection.commit()
    connection.close()
    (first, *_) = ankiqa.build_decks([decks])
    assert first.question.id == "09b039b9-7bd9-40f5-8bdf-93d035a89839"
    assert first.deck == "web-servers"


def test_rows_looked_up_at_once_answer_as_one_by_one_and_a_write_forgets_them(tmp_path):
    stored, clean, absent = ("a", "b"), ("c", "d"), ("e", "f")
    with cache.Cache(tmp_path) as known:
        known.put(stored, "front", "back")
        known.mark_clean(clean)
    with cache.Cache(tmp_path) as known:
        known.prefetch([stored, clean, absent])
        assert known.get(stored) == ("front", "back", True) and known.get(absent) is None
        assert known.is_clean(clean) and not known.is_clean(absent)
        writes = cache.Writes(fields=[(cache._key(absent), "new", "fields", "unsigned")])
        known.write(writes)
        assert known.get(absent) == ("new", "fields", False)


def test_looking_up_whether_there_are_fields_holds_none_of_them(tmp_path):
    """Deciding whether to start workers looks at every question of a large edited file:
    that look-up answers `has_fields` without holding their HTML."""
    stored, absent = ("a", "b"), ("e", "f")
    with cache.Cache(tmp_path) as known:
        known.put(stored, "front", "back")
    with cache.Cache(tmp_path) as known:
        known.prefetch([stored, absent], fields=False)
        assert known._fields == {}  # no HTML held
        assert known.has_fields(stored) and not known.has_fields(absent)
        assert known.get(stored) == ("front", "back", True)  # read when asked for
