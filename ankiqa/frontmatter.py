"""A deck file's front matter: YAML between `---` lines at its very top.

    ---
    deck: Networking::HTTP
    tags: [networking, exam-2027]
    reversed: true
    ---

`deck` names the file's deck (below the folders' `Parent::` part, like a `# Title`),
`tags` go on every question of the file, and `reversed: true` asks every question both
ways (a question's own `reversed: no` line wins). Read with PyYAML's safe loader; aliases
are refused, so a small file cannot expand into gigabytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .diagnostics import ERROR, WARNING, Diagnostic

KEYS = ("deck", "tags", "reversed")
MAX_LINES = 1000
_CLOSING = re.compile(r"(?:---|\.\.\.)[ \t]*\n?")
# A file that opens with a `---` rule: the lines up to the next `---` hold a question.
_DECK_LINE = re.compile(r" {0,3}###(?:[ \t]|$)|[ \t]*question[ \t]*id[ \t]*:", re.IGNORECASE)
_TAG = re.compile(r"[^\s\"]+")


@dataclass(frozen=True)
class FrontMatter:
    deck: str | None = None
    tags: tuple[str, ...] = ()
    reversed: bool = False


def read_front_matter(lines: list[str], path: Path) -> tuple[FrontMatter, int, list[Diagnostic]]:
    """The front matter at the top of `lines`, how many lines it takes (0 when there is
    none), and its problems."""
    if not lines or lines[0].rstrip() != "---":
        return FrontMatter(), 0, []
    end = next(
        (i for i in range(1, min(len(lines), MAX_LINES)) if _CLOSING.fullmatch(lines[i])), None
    )
    if end is None or any(_DECK_LINE.match(line) for line in lines[1:end]):
        return FrontMatter(), 0, []  # a thematic break, as GitHub reads it
    problems: list[Diagnostic] = []

    def problem(line: int, severity: str, code: str, message: str) -> None:
        problems.append(Diagnostic(path, line, 1, severity, code, message))

    text = "".join(lines[1:end])
    try:
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, yaml.SafeLoader)):
            problem(1, ERROR, "bad-front-matter", "front matter with YAML aliases (`*name`)")
            return FrontMatter(), end + 1, problems
        data = yaml.safe_load(text)
    except RecursionError:
        problem(1, ERROR, "bad-front-matter", "front matter nested too deeply to read")
        return FrontMatter(), end + 1, problems
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        reason = getattr(error, "problem", None) or "not YAML"
        problem(line, ERROR, "bad-front-matter", f"front matter is not valid YAML: {reason}")
        return FrontMatter(), end + 1, problems
    if data is None:
        return FrontMatter(), end + 1, problems
    if not isinstance(data, dict):
        problem(2, ERROR, "bad-front-matter", "front matter is `key: value` lines")
        return FrontMatter(), end + 1, problems

    def line_of(key: object) -> int:
        pattern = re.compile(rf"\s*{re.escape(str(key))}\s*:")
        return next((n for n in range(2, end + 1) if pattern.match(lines[n - 1])), 2)

    for key in data:
        if key not in KEYS:
            known = ", ".join(f"`{name}`" for name in KEYS)
            problem(
                line_of(key),
                WARNING,
                "unknown-key",
                f"unknown front matter key `{key}` (known: {known})",
            )
    deck, tags, reversed_ = data.get("deck"), data.get("tags", []), data.get("reversed", False)
    if deck is not None and not isinstance(deck, (list, dict, bool)):
        deck = str(deck).strip()  # `deck: 2024` is a name too
    if deck is not None and (not isinstance(deck, str) or "" in deck.split("::")):
        message = "`deck` is a name; `::` parts, if any, are not empty: `Networking::HTTP`"
        problem(line_of("deck"), ERROR, "bad-front-matter", message)
        deck = None
    if isinstance(tags, str):
        tags = tags.replace(",", " ").split()
    if not isinstance(tags, list) or not all(
        isinstance(tag, str) and _TAG.fullmatch(tag) for tag in tags
    ):
        message = "`tags` is a list of tags without spaces or quotes: `[a, b::c]`"
        problem(line_of("tags"), ERROR, "bad-front-matter", message)
        tags = []
    if not isinstance(reversed_, bool):
        problem(line_of("reversed"), ERROR, "bad-front-matter", "`reversed` is `true` or `false`")
        reversed_ = False
    return FrontMatter(deck or None, tuple(tags), reversed_), end + 1, problems
