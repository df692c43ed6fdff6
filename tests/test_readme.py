"""The README's Python example runs, and prints what its comments say."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

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
