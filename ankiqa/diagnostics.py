"""Problems found in deck files, reported compiler-style:
`path:line:col: severity[code]: message`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ERROR = "error"
WARNING = "warning"

# Every code a diagnostic can have; each is explained in the README's table.
CODES = frozenset(
    {
        "bad-cloze",
        "bad-config",
        "bad-file-name",
        "bad-front-matter",
        "bad-id",
        "bad-state",
        "cannot-add-id",
        "cloze-removed",
        "control-character",
        "duplicate-id",
        "empty-answer",
        "empty-question",
        "extra-id",
        "html-as-text",
        "id-in-code",
        "image-not-found",
        "image-outside-root",
        "kind-changed",
        "lookalike-id",
        "malformed-id",
        "media-too-large",
        "missing-id",
        "no-decks",
        "no-questions",
        "not-found",
        "not-utf8",
        "nul-character",
        "removed-html",
        "skipped-level",
        "state-not-saved",
        "too-complex",
        "too-deep",
        "too-large",
        "unclosed-fence",
        "unclosed-html",
        "unclosed-math",
        "undefined-reference",
        "unknown-key",
        "unknown-language",
        "unreadable",
        "unsafe-html",
        "unwritable",
    }
)


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: Path
    line: int
    column: int
    severity: str
    code: str
    message: str

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"undocumented diagnostic code {self.code!r}: add it to CODES")

    def __str__(self) -> str:
        where = f"{printable(self.path.as_posix())}:{self.line}:{self.column}"
        return f"{where}: {self.severity}[{self.code}]: {printable(self.message)}"

    def to_json(self) -> dict:
        return {
            "file": self.path.as_posix(),
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
        }


# Control characters, characters that show nothing or look like a space, and the bytes
# of file names that are not UTF-8.
_UNPRINTABLE = re.compile(
    r"[\x00-\x1f\x7f-\xa0\xad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff\ud800-\udfff]"
)


def printable(text: str) -> str:
    """`text` safe to print on a terminal: control characters (escape sequences, line
    breaks inside a file name) written as `\\xNN`, so a shared deck cannot drive the
    terminal or break the `file:line` format."""
    return _UNPRINTABLE.sub(_escaped, text)


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a file name that is not UTF-8
        code -= 0xDC00
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def errors(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity == ERROR]


class DeckError(Exception):
    """Raised when input has errors; carries every diagnostic, sorted, so all are shown at once."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics)
        super().__init__("\n".join(map(str, self.diagnostics)))
