"""Time `ankiqa export` on a synthetic deck in the seed's style.

    python benchmarks/export_speed.py [QUESTIONS]

Prints seconds for a first export, a re-export with nothing changed, and a re-export
after one answer was edited. Each run is a fresh `python -m ankiqa` process, as a user
would run it, with a render cache of its own that starts empty.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ANSWER = """\
Both are web servers, but **NGINX** is fast and `gunicorn` runs Python apps, see
https://docs.gunicorn.org/en/stable/deploy.html and $a_1 * b_2$ for the maths.
"""
CODE = """
```python
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello"]
```
"""
TABLE = """
| server | role |
|--------|------|
| NGINX  | proxy |
"""


def deck_text(questions: int) -> str:
    parts = []
    for n in range(questions):
        extra = CODE if n % 3 == 0 else TABLE if n % 4 == 0 else ""
        qid = uuid.UUID(int=n + 1)
        parts.append(f"### Question {n}: what is WSGI?\n\n{ANSWER}{extra}\nquestion id: {qid}\n\n")
    return "".join(parts)


def timed_export(folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "ankiqa", "export"],
        cwd=folder,
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "ANKIQA_CACHE_DIR": str(folder / "cache")},
    )
    return time.perf_counter() - start


def main() -> None:
    questions = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as folder:
        deck = Path(folder) / "decks" / "bench.md"
        deck.parent.mkdir()
        deck.write_text(deck_text(questions), encoding="utf-8")
        first = timed_export(Path(folder))
        unchanged = timed_export(Path(folder))
        deck.write_text(
            deck_text(questions).replace("Question 7:", "Question seven:", 1), encoding="utf-8"
        )
        one_edit = timed_export(Path(folder))
    print(
        f"{questions} questions: first export {first:.2f} s, "
        f"nothing changed {unchanged:.2f} s, one edit {one_edit:.2f} s"
    )


if __name__ == "__main__":
    main()
