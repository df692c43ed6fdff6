"""The benchmark (benchmarks/bench.py) keeps working: a 1k run as its README command runs
it, and its verdicts on issue 12's targets. ankdown is compared when it is installed."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from anki_client import ImportCounts, import_package, open_collection

import ankiqa

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
STEPS = ["first export", "nothing changed", "one answer edited"]

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the benchmark reads /proc")


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("bench")


def test_a_1k_run_times_every_step_and_its_package_imports_whole(tmp_path: Path) -> None:
    command = [sys.executable, str(BENCHMARKS / "bench.py"), "--sizes", "1k", "--repeat", "1"]
    done = subprocess.run(
        [*command, "--markdown", "--work", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )

    lines = [line.strip("|") for line in done.stdout.splitlines() if line.startswith("| 1k in")]
    rows = [[cell.strip() for cell in line.split("|")] for line in lines]
    assert [row[1] for row in rows] == STEPS
    compared = importlib.util.find_spec("ankdown") is not None
    for _, _, ankiqa_seconds, _, ratio, _, _, note in rows:
        assert float(ankiqa_seconds) > 0
        assert ratio.endswith("x") == compared  # ankdown ran when it is installed
        assert note == ""  # no failure
    floor = [line for line in done.stdout.splitlines() if line.startswith("- 1k in 1 file: ")]
    assert len(floor) == compared  # plain mistletoe's CPU on the same answers, next to ankdown
    assert all(" s = " in line and "x ankdown's first export" in line for line in floor)

    workspace = tmp_path / "1k-in-1-file"
    counts = import_package(
        open_collection(tmp_path / "col"), workspace / "ankiqa/dist/deck-000.apkg"
    )
    assert counts == ImportCounts(new=1000, updated=0, duplicate=0, conflicting=0)

    def cards(path: Path) -> list[tuple[str | None, str, str]]:
        return [(q.id, q.heading, q.answer) for q in ankiqa.read_deck_file(path).questions]

    before = cards(tmp_path / "sources/1k/deck-000.md")
    after = cards(workspace / "ankiqa/decks/deck-000.md")
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert len(changed) == 1
    old, new = changed[0]
    assert new[:2] == old[:2] and new[2] != old[2]  # same id and question, another answer


def test_the_generated_deck_is_the_same_for_the_same_seed(
    bench: ModuleType, tmp_path: Path
) -> None:
    first = bench.write_deck(tmp_path / "a", 300, 3)
    second = bench.write_deck(tmp_path / "b", 300, 3)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    deck = ankiqa.read_deck_file(first[0])
    assert len(deck.questions) == 100 and not deck.diagnostics
    assert bench.to_ankdown(first[0].read_text(encoding="utf-8"))[1] == 100
    text = "".join(p.read_text(encoding="utf-8") for p in first)
    assert all(part in text for part in ("```python", "$$", "{{c1::", "https://", "\n- "))


def result(bench: ModuleType, seconds: dict[str, list[float]], mb: int = 100) -> Any:
    """A 10k case's result, with these times for ankiqa and ankdown, step by step."""
    case = bench.Case("10k in 10 files", Path("."), questions=10_000, files=10, bytes=6_000_000)
    outcome = bench.Result(case)
    for tool, times in seconds.items():
        for step, time in zip(STEPS, times, strict=True):
            outcome.runs[tool, step] = [bench.Run(time, mb * bench.MB, 0, "")]
    return outcome


def test_targets_pass_or_miss_by_the_ratio_to_ankdown(bench: ModuleType) -> None:
    measured = result(bench, {"ankiqa": [5.0, 0.4, 0.9], "ankdown": [3.0, 3.0, 3.0]})
    assert dict(bench.targets(measured)) == {
        "first export <= 2.0x ankdown": "PASS (1.67x)",
        "first export <= 1.0x ankdown (stretch)": "MISS (1.67x)",
        "one answer edited <= 0.2x ankdown": "MISS (0.30x)",
        "nothing changed <= 0.15x ankdown": "PASS (0.13x)",
    }


def test_the_floor_is_plain_mistletoe_next_to_ankdowns_first_export(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    measured = result(bench, {"ankiqa": [5.0, 0.4, 0.9], "ankdown": [3.0, 3.0, 3.0]})
    measured.floor = 6.0
    monkeypatch.setattr(bench.os, "cpu_count", lambda: 2)
    assert bench._floor_line(measured) == (
        "- 10k in 10 files: 6.00 s = 2.00x ankdown's first export on one core, 1.00x on 2 cores"
    )
    floor = importlib.import_module("floor")
    assert floor.mistletoe_seconds(["*a* [b](c)\n\n- d\n"] * 200) > 0


def test_a_refused_export_is_a_row_and_a_miss_not_a_crash(bench: ModuleType) -> None:
    measured = result(bench, {"ankdown": [3.0, 3.0, 3.0]})
    measured.runs["ankiqa", "first export"] = [bench.Run(0.5, 60 * bench.MB, 1, "")]
    measured.failures["ankiqa"] = ("first export", "error[too-large]: file is larger than 5 MB")

    table = bench.report([measured], ["ankiqa"], repeat=1, markdown=True)

    assert "| first export | - | 3.00 | - | 60 | 100 | ankiqa failed: error[too-large]" in table
    assert (
        "| nothing changed | - | 3.00 | - | - | 100 | ankiqa not run after its failure |" in table
    )
    assert set(dict(bench.targets(measured)).values()) == {"MISS (ankiqa failed)"}


def test_peak_memory_is_summed_over_the_process_and_its_children(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    measure = importlib.import_module("measure")
    hold = "import time; block = bytearray({mb} * 10**6); time.sleep(0.5)"
    parent = (
        "import subprocess, sys; "
        f"child = subprocess.Popen([sys.executable, '-c', {hold.format(mb=80)!r}]); "
        f"{hold.format(mb=60)}; child.wait()"
    )
    measured = measure.run([sys.executable, "-c", parent], tmp_path, {})
    assert measured.returncode == 0
    assert measured.peak_rss > 140 * 10**6  # 60 MB and 80 MB at once: neither alone
