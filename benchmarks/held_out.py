"""A held-out deck for the benchmark: real Markdown documentation, not the generator's.

    python benchmarks/held_out.py OUT --questions 10000 [--files 1] [--docs DIR ...]

Every heading of every Markdown file under the `--docs` folders (by default, the
documentation that packages install on this machine) becomes a question, and its section
becomes the answer, with a `question id` line. The questions that `ankiqa check` finds
errors in are left out (this reader's fences are simpler than CommonMark's), so the deck
checks clean. When the documents hold fewer sections than `--questions`, answers are used
again, each copy made unique so that no cache can answer for it. `bench.py --deck OUT`
then times it.
"""

from __future__ import annotations

import argparse
import bisect
import random
import re
import sys
import uuid
from pathlib import Path

import ankiqa

DOCS = ["/usr/share/doc", "/usr/lib", "/usr/local/lib", "/opt"]
MAX_ANSWER_CHARS = 50_000  # a longer section is a whole manual, not an answer

_HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")

Question = tuple[str, str]  # heading, answer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="a new folder for the deck files")
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=1)
    parser.add_argument("--docs", type=Path, action="append", help="default: " + ", ".join(DOCS))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.out.exists():
        sys.exit(f"{args.out}: exists; give a new folder")
    folders = args.docs or [Path(folder) for folder in DOCS if Path(folder).is_dir()]
    sections = [q for path in _documents(folders) for q in _sections(path)]
    if not sections:
        sys.exit("no Markdown documents found: give --docs")
    # Questions with errors are left out: start with a few more than asked.
    questions = _unique(sections, args.questions + args.questions // 20 + 10)
    rng = random.Random(args.seed)
    for _ in range(5):  # leaving a question out can change how the next one reads
        kept = _without_errors(questions, _write(args.out, questions, args.files, rng))
        if len(kept) == len(questions):
            break
        questions = kept
    _write(args.out, questions[: args.questions], args.files, rng)
    print(f"{args.out}: {min(len(questions), args.questions):,} questions", file=sys.stderr)


def _documents(folders: list[Path]) -> list[Path]:
    found = {p for folder in folders for p in folder.rglob("*.md") if p.is_file()}
    return sorted(p for p in found if p.stat().st_size > 500)


def _sections(path: Path) -> list[Question]:
    """Each heading of a document outside fenced code, with the text below it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    sections: list[Question] = []
    heading: str | None = None
    body: list[str] = []
    fence = ""
    for line in text.splitlines():
        opened = _FENCE.match(line)
        if opened and (not fence or opened.group(1).startswith(fence)):
            fence = "" if fence else opened.group(1)[0] * 3
        found = None if fence else _HEADING.match(line)
        if found:
            if heading:
                sections.append((heading, "\n".join(body).strip()))
            heading, body = found.group(1).strip(), []
        else:
            body.append(line)
    if heading:
        sections.append((heading, "\n".join(body).strip()))
    return [(q, _closed(a)) for q, a in sections if q and len(a) < MAX_ANSWER_CHARS]


def _closed(answer: str) -> str:
    """The answer, with a fence that the section left open closed: else it would swallow
    the question's id line."""
    fence = ""
    for line in answer.splitlines():
        opened = _FENCE.match(line)
        if opened and (not fence or opened.group(1).startswith(fence)):
            fence = "" if fence else opened.group(1)
    return f"{answer}\n{fence}" if fence else answer


def _unique(sections: list[Question], count: int) -> list[Question]:
    questions, copy = list(sections), 1
    while len(questions) < count:
        questions += [(q, f"{a}\n\nCopy {copy} of this answer.") for q, a in sections]
        copy += 1
    return questions[:count]


def _write(
    out: Path, questions: list[Question], files: int, rng: random.Random
) -> dict[Path, list[int]]:
    """Write the deck files; give the line of each question's heading, by file."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.md"):
        old.unlink()
    per = -(-len(questions) // files)
    written: dict[Path, list[int]] = {}
    for number in range(files):
        parts, line, starts = [f"# Held-out {number}\n\n"], 3, []
        for heading, answer in questions[number * per : (number + 1) * per]:
            question_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            parts.append(f"### {heading}\n\n{answer}\n\nquestion id: {question_id}\n\n")
            starts.append(line)
            line += parts[-1].count("\n")
        path = out / f"held-out-{number:03}.md"
        path.write_text("".join(parts), encoding="utf-8")
        written[path] = starts
    return written


def _without_errors(questions: list[Question], written: dict[Path, list[int]]) -> list[Question]:
    """The questions that `ankiqa check` finds no error in, in order. A question is left
    out with the one before it, whose open fence may have swallowed its id."""
    first, count = {}, 0  # the index in `questions` of each file's first question
    for path, starts in written.items():
        first[path], count = count, count + len(starts)
    dropped: set[int] = set()
    for diagnostic in ankiqa.check_decks(list(written), use_cache=False):
        if diagnostic.severity == "error":
            starts = written[diagnostic.path]
            index = first[diagnostic.path] + max(
                bisect.bisect_right(starts, diagnostic.line) - 1, 0
            )
            dropped |= {index, max(index - 1, 0)}
    return [question for index, question in enumerate(questions) if index not in dropped]


if __name__ == "__main__":
    main()
