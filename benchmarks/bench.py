"""Time `ankiqa export` against ankdown on the same questions, and check the speed targets.

    python benchmarks/bench.py [--sizes 1k,10k,10k/1,100k,50MB] [--deck PATH]
                               [--repeat 3] [--no-ankdown] [--markdown] [--work DIR]

Each size is a generated seed-format deck: `10k` is 10,000 questions in files of 1,000,
`10k/1` the same in one file, `50MB` one file of about 50 MB. `--deck` adds a deck that
the benchmark did not write (a deck file or a folder of them). Every case is timed in three
steps, each a separate process as a user runs it: the first export (fresh folder, empty
cache and data folder), an export with nothing changed, and one after one answer was
edited. ankdown (`pip install -e '.[bench]'`) exports the same questions in its own
format in the same run; it has no cache, so each of its steps is a whole export.

The table shows medians of `--repeat` runs, and the largest peak RSS of any run, summed
over every process of the export (see measure.py). Linux only.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import importlib.metadata
import importlib.util
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from measure import Run, run
from seed_decks import (
    QUESTIONS_PER_FILE,
    edit_one_answer,
    to_ankdown,
    write_deck,
    write_deck_of_size,
)

STEPS = ("first export", "nothing changed", "one answer edited")
TOOLS = ("ankiqa", "ankdown")
DEFAULT_SIZES = "1k,10k,10k/1,100k,50MB"
MB = 1_000_000
FLOOR_UP_TO = 20_000  # questions: the floor of a larger case takes minutes to measure


@dataclass(frozen=True)
class Case:
    """A deck to export: a folder of seed-format deck files."""

    name: str
    source: Path
    questions: int
    files: int
    bytes: int


@dataclass
class Result:
    """Every run of one case, by (tool, step). A tool's first failure, as (step, why),
    ends its runs of this case."""

    case: Case
    runs: dict[tuple[str, str], list[Run]] = field(default_factory=dict)
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)
    floor: float | None = None  # CPU seconds of plain mistletoe on the answers (floor.py)

    def seconds(self, tool: str, step: str) -> float | None:
        runs = self.runs.get((tool, step))
        if not runs or self.failures.get(tool, ("",))[0] == step:
            return None
        return statistics.median(run.seconds for run in runs)

    def peak_rss(self, tool: str, step: str) -> int | None:
        runs = self.runs.get((tool, step))
        return max(run.peak_rss for run in runs) if runs else None

    def ratio(self, step: str) -> float | None:
        ours, theirs = self.seconds("ankiqa", step), self.seconds("ankdown", step)
        return ours / theirs if ours is not None and theirs else None


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    if sys.platform != "linux":
        sys.exit("the benchmark reads /proc for memory: it runs on Linux")
    tools = [tool for tool in TOOLS if tool == "ankiqa" or _has_ankdown(args.no_ankdown)]
    _compile_ankiqa()
    with contextlib.ExitStack() as stack:
        work = args.work or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        cases = [generated_case(size, work / "sources") for size in args.sizes.split(",") if size]
        cases += [held_out_case(path) for path in args.deck]
        results = [
            measure_case(case, tools, args.repeat, work / _slug(case.name)) for case in cases
        ]
    print(report(results, tools, args.repeat, markdown=args.markdown))


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"default: {DEFAULT_SIZES}")
    parser.add_argument("--deck", type=Path, action="append", default=[], help="a held-out deck")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step (default: 3)")
    parser.add_argument("--no-ankdown", action="store_true", help="time ankiqa alone")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table for a README")
    parser.add_argument("--work", type=Path, help="keep decks and packages here (default: temp)")
    return parser.parse_args(argv)


def _compile_ankiqa() -> None:
    """Compile ankiqa's modules to bytecode, as pip does for an installed package (and
    did for ankdown): an editable install run with PYTHONDONTWRITEBYTECODE set (as in
    some sandboxes) would otherwise compile every module in every run, about 0.05 s."""
    spec = importlib.util.find_spec("ankiqa")
    assert spec is not None and spec.submodule_search_locations
    for folder in spec.submodule_search_locations:
        compileall.compile_dir(folder, quiet=1)


def _has_ankdown(disabled: bool) -> bool:
    if disabled:
        return False
    if importlib.util.find_spec("ankdown") is None:
        print(
            "ankdown is not installed (pip install -e '.[bench]'): no comparison", file=sys.stderr
        )
        return False
    return True


def generated_case(size: str, folder: Path) -> Case:
    """The deck a size names (`10k`, `10k/1`, `50MB`), written into `folder/<size>`."""
    match = re.fullmatch(r"(\d+)(k?)(?:/(\d+))?|(\d+)MB", size)
    if not match:
        sys.exit(f"bad size {size!r}: write 10k, 10k/1 (in one file) or 50MB (one file)")
    target = folder / _slug(size)
    if match.group(4):
        paths = [write_deck_of_size(target, float(match.group(4)))]
        name = f"{match.group(4)} MB in 1 file"
    else:
        questions = int(match.group(1)) * (1000 if match.group(2) else 1)
        files = int(match.group(3) or -(-questions // QUESTIONS_PER_FILE))
        paths = write_deck(target, questions, files)
        name = f"{match.group(1)}{match.group(2)} in {files} file{'s' * (files > 1)}"
    return _case(name, target, paths)


def held_out_case(path: Path) -> Case:
    """A deck the benchmark did not write: one deck file, or a folder of them."""
    if not path.exists():
        sys.exit(f"{path}: no such deck file or folder")
    paths = [path] if path.is_file() else _deck_files(path)
    return _case(f"held-out {path.name}", path, paths)


def _case(name: str, source: Path, paths: list[Path]) -> Case:
    questions = sum(to_ankdown(p.read_text(encoding="utf-8"))[1] for p in paths)
    return Case(name, source, questions, len(paths), sum(p.stat().st_size for p in paths))


def _deck_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".md", ".markdown"))


def measure_case(case: Case, tools: list[str], repeat: int, folder: Path) -> Result:
    """Time every step of `case` `repeat` times with each tool, in a fresh folder each time.

    The folder of the last repeat stays: `ankiqa/dist` holds ankiqa's packages.
    """
    result = Result(case)
    for number in range(1, repeat + 1):
        shutil.rmtree(folder, ignore_errors=True)
        decks = _copy_decks(case.source, folder / "ankiqa" / "decks")
        for step in STEPS:
            if step == "one answer edited":
                files = _deck_files(decks)
                edit_one_answer(files[len(files) // 2])
            for tool in tools:
                if tool in result.failures:
                    continue
                print(f"{case.name}, {number}/{repeat}: {tool} {step} …", end=" ", file=sys.stderr)
                outcome = _step(tool, folder, decks)
                print(f"{outcome.seconds:.2f} s", file=sys.stderr, flush=True)
                result.runs.setdefault((tool, step), []).append(outcome)
                failure = _failure(outcome, case, folder / tool, step == "first export")
                if failure:
                    result.failures[tool] = (step, failure)
    if case.questions <= FLOOR_UP_TO:
        result.floor = _floor(folder / "ankiqa" / "decks")
    return result


def _floor(decks: Path) -> float:
    """CPU seconds of plain mistletoe on the deck's answers, in a process of its own."""
    script = Path(__file__).with_name("floor.py")
    output = subprocess.run(
        [sys.executable, str(script), str(decks)], capture_output=True, text=True, check=True
    )
    return float(output.stdout)


def _copy_decks(source: Path, decks: Path) -> Path:
    """A copy of the deck in `decks`: a file as a `.md` one, whatever its name; a folder
    without its build state, so that the first export is one."""
    if source.is_file():
        decks.mkdir(parents=True)
        shutil.copy(source, decks / source.with_suffix(".md").name)
    else:
        shutil.copytree(source, decks, ignore=shutil.ignore_patterns("ankiqa-state.jsonl"))
    return decks


def _step(tool: str, folder: Path, decks: Path) -> Run:
    """One export, as a user runs it. ankdown first gets its own copy of the decks, with the
    Markdown in its format and the media as they are."""
    if tool == "ankiqa":
        env = {
            **os.environ,
            "ANKIQA_CACHE_DIR": str(folder / "ankiqa" / "cache"),
            "ANKIQA_DATA_DIR": str(folder / "ankiqa" / "data"),
        }
        return run([sys.executable, "-m", "ankiqa", "export"], folder / "ankiqa", env)
    cards = folder / "ankdown" / "deck"
    shutil.rmtree(cards, ignore_errors=True)
    shutil.copytree(decks, cards, ignore=shutil.ignore_patterns("*.md", "*.markdown", "*.jsonl"))
    for path in _deck_files(decks):
        target = cards / path.relative_to(decks).with_suffix(".md")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(to_ankdown(path.read_text(encoding="utf-8"))[0], encoding="utf-8")
    command = ["-m", "ankdown.ankdown", "-r", str(cards), "-p", "deck.apkg", "--highlight"]
    env = {**os.environ, "PYTHONUTF8": "1"}  # ankdown opens files in the locale's encoding
    return run([sys.executable, *command], folder / "ankdown", env)


def _failure(outcome: Run, case: Case, folder: Path, first: bool) -> str:
    """Why a run failed ("" if it did not): its error, or the packages' wrong note count."""
    if outcome.returncode:
        lines = [line.strip() for line in outcome.output.splitlines() if line.strip()]
        diagnostics = [line for line in lines if "error[" in line]  # ankiqa's first error
        return diagnostics[0] if diagnostics else lines[-1] if lines else "no output"
    notes = sum(count_notes(package) for package in folder.rglob("*.apkg")) if first else None
    if notes is not None and notes != case.questions:
        return f"{notes} notes in the packages, {case.questions} questions in the deck"
    return ""


def count_notes(package: Path) -> int:
    """The notes in an .apkg's collection."""
    with tempfile.TemporaryDirectory() as folder, zipfile.ZipFile(package) as archive:
        collection = archive.extract("collection.anki2", folder)
        with contextlib.closing(sqlite3.connect(collection)) as db:
            return int(db.execute("select count() from notes").fetchone()[0])


def report(results: list[Result], tools: list[str], repeat: int, markdown: bool) -> str:
    """The table of every step, then every target with PASS or MISS."""
    header = ["case", "step", "ankiqa s", "ankdown s", "ankiqa/ankdown", "ankiqa MB", "ankdown MB"]
    rows = [[*header, "note"]]
    for result in results:
        for step in STEPS:
            rows.append([result.case.name, step, *_cells(result, step)])
    lines = [_machine(tools, repeat), ""]
    lines += _markdown_table(rows) if markdown else _text_table(rows)
    lines += ["", "Targets (MB: peak RSS summed over every process of the export):"]
    lines += [
        f"- {result.case.name}: {target}: {verdict}"
        for result in results
        for target, verdict in targets(result)
    ] or ["- none applies to these cases (10k questions or more, or 50 MB in one file)"]
    floors = [floor for result in results if (floor := _floor_line(result))]
    if floors:
        lines += ["", "Plain mistletoe (Document + HtmlRenderer) on the same answers, CPU:"]
        lines += floors
    return "\n".join(lines)


def _floor_line(result: Result) -> str:
    """What plain mistletoe costs next to ankdown's whole first export: the least an
    export that renders with mistletoe could take, on one core and on all of them."""
    theirs = result.seconds("ankdown", "first export")
    if result.floor is None or not theirs:
        return ""
    cores = os.cpu_count() or 1
    return (
        f"- {result.case.name}: {result.floor:.2f} s = {result.floor / theirs:.2f}x ankdown's"
        f" first export on one core, {result.floor / cores / theirs:.2f}x on {cores} cores"
    )


def _cells(result: Result, step: str) -> list[str]:
    seconds = [result.seconds(tool, step) for tool in TOOLS]
    memory = [result.peak_rss(tool, step) for tool in TOOLS]
    ratio = result.ratio(step)
    notes = []
    for tool, (failed_step, why) in result.failures.items():
        if failed_step == step:
            notes.append(f"{tool} failed: {why}")
        elif (tool, step) not in result.runs:
            notes.append(f"{tool} not run after its failure")
    return [
        *(f"{value:.2f}" if value is not None else "-" for value in seconds),
        f"{ratio:.2f}x" if ratio is not None else "-",
        *(f"{value / MB:.0f}" if value is not None else "-" for value in memory),
        "; ".join(notes),
    ]


def targets(result: Result) -> Iterator[tuple[str, str]]:
    """Issue 12's targets that apply to this case, each with its verdict."""
    case = result.case
    if case.questions >= 10_000:
        for step, limit, stretch in [
            ("first export", 2.0, ""),
            ("first export", 1.0, " (stretch)"),
            ("one answer edited", 0.2, ""),
            ("nothing changed", 0.15, ""),
        ]:
            ratio = result.ratio(step)
            measured = f"{ratio:.2f}x" if ratio is not None else None
            yield (
                f"{step} <= {limit}x ankdown{stretch}",
                _verdict(result, step, ratio is not None and ratio <= limit, measured),
            )
    if case.questions >= 100_000 and case.files > 1:
        yield "first export peak RSS <= 300 MB", _memory_verdict(result, 300)
    if case.files == 1 and case.bytes >= 50 * MB:
        yield "exports correctly with peak RSS <= 400 MB", _memory_verdict(result, 400)


def _memory_verdict(result: Result, limit: int) -> str:
    peak = result.peak_rss("ankiqa", "first export") or 0
    return _verdict(result, "first export", peak <= limit * MB, f"{peak / MB:.0f} MB")


def _verdict(result: Result, step: str, met: bool, measured: str | None) -> str:
    if result.seconds("ankiqa", step) is None:
        return "MISS (ankiqa failed)" if "ankiqa" in result.failures else "n/a (not run)"
    if measured is None:
        return "n/a (no ankdown time)"
    return f"{'PASS' if met else 'MISS'} ({measured})"


def _text_table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _markdown_table(rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    return [lines[0], "|" + "---|" * len(rows[0]), *lines[1:]]


def _machine(tools: list[str], repeat: int) -> str:
    """Where and with what the figures were measured."""
    cpu = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text("utf-8"), re.M)
    versions = [f"ankiqa {_ankiqa_version()}"]
    versions.append(
        f"ankdown {importlib.metadata.version('ankdown')}" if "ankdown" in tools else "no ankdown"
    )
    return (
        f"{date.today()}, {cpu.group(1) if cpu else platform.machine()} ({os.cpu_count()} cores),"
        f" Python {platform.python_version()}, {', '.join(versions)};"
        f" medians of {repeat} run{'s' * (repeat > 1)}"
    )


def _ankiqa_version() -> str:
    """The package's version, and the commit when run from a git checkout."""
    version = importlib.metadata.version("ankiqa")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return f"{version} ({commit.stdout.strip()})" if commit.returncode == 0 else version


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")


if __name__ == "__main__":
    main()
