"""The README's Python example runs, and prints what its comments say."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

from ankiqa.diagnostics import CODES

ROOT = Path(__file__).resolve().parent.parent


def python_examples() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", readme, re.DOTALL)


def test_readme_python_example_prints_what_it_says(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "decks", tmp_path / "decks")
    monkeypatch.chdir(tmp_path)
    (example,) = python_examples()
    expected = [line.split("# ", 1)[1] for line in example.splitlines() if "print(" in line]

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(example, "README.md", "exec"), {})

    printed = output.getvalue().splitlines()
    assert len(printed) == len(expected)
    for line, comment in zip(printed, expected, strict=True):
        assert line.startswith(comment.removesuffix("…")), (line, comment)
    assert (tmp_path / "dist" / "all.apkg").is_file()


def test_every_diagnostic_code_is_explained_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("### Problems `check` reports") :].split("\n\n")[1]
    first_cells = [row.split("|")[1] for row in table.splitlines()[2:]]
    documented = {code for cell in first_cells for code in re.findall(r"`([a-z0-9-]+)`", cell)}
    assert documented == CODES
