"""ankiqa's note types, as data: a registry with every id frozen forever.

Anki matches a note type by id, and its fields and templates by id too. Changing any
id, or the number of fields or templates, makes Anki import every note as
"conflicting" into a copy of the note type, so `tests/test_identity.py` pins them all.
Templates and CSS are free to change: they reach users as an ordinary update.

A question's kind picks its note type: `basic` (front and back), `reversed` (asked both
ways: two cards) or `cloze` (one card per `{{cN::…}}` number). Anki cannot move a note
to another note type on import, so a question keeps its kind (see `build`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import DARK_STYLE, LIGHT_STYLE

if TYPE_CHECKING:  # genanki and Pygments are imported when a package is built: see `fresh`
    import genanki

ID_FIELD_NAME = "Question ID"  # every note type has it: the question's id, searchable


@dataclass(frozen=True)
class Field:
    name: str
    id: int


@dataclass(frozen=True)
class Template:
    name: str
    id: int
    front: str
    back: str


@dataclass(frozen=True)
class NoteType:
    kind: str  # how deck files, the build state and messages name it
    id: int
    name: str
    fields: tuple[Field, ...]
    templates: tuple[Template, ...]
    cloze: bool = False

    def css(self, styles: tuple[str, str] = (LIGHT_STYLE, DARK_STYLE)) -> str:
        """The cards' stylesheet, with code highlighted in these light and dark styles."""
        from .highlight import stylesheet

        return CARD_CSS + stylesheet(*styles)

    def model(
        self, mod: int | None = None, styles: tuple[str, str] = (LIGHT_STYLE, DARK_STYLE)
    ) -> genanki.Model:
        """The genanki model; with `mod`, written with that `mod` (see `package.Model`)."""
        from .package import Model

        return Model(self, mod, styles)

    def schema(self, styles: tuple[str, str] = (LIGHT_STYLE, DARK_STYLE)) -> list:
        """What Anki compares on import, and everything that reaches the user's copy."""
        model = self.model(styles=styles)
        return [model.fields, model.templates, model.css]


FRONT = '<div class="question">{{Question}}</div>'
# The back shows the front as Anki's own note types do, so that sound on the front follows
# Anki's "replay question audio" option.
BACK = '{{FrontSide}}\n<hr id="answer">\n<div class="answer">{{Answer}}</div>'
CLOZE_SIDE = '<div class="cloze-card">{{cloze:Text}}</div>'

BASIC = NoteType(
    kind="basic",
    id=1980302362,
    name="ankiqa Q&A",
    fields=(
        Field("Question", 1809100394),
        Field("Answer", 1734994803),
        Field(ID_FIELD_NAME, 1832188179),
    ),
    templates=(Template("Card 1", 1970077774, FRONT, BACK),),
)

REVERSED = NoteType(
    kind="reversed",
    id=2093110357,
    name="ankiqa Q&A reversed",
    fields=(
        Field("Question", 2029074900),
        Field("Answer", 1141778729),
        Field(ID_FIELD_NAME, 1247741141),
    ),
    templates=(
        Template("Question → Answer", 1699399701, FRONT, BACK),
        Template(
            "Answer → Question",
            1771152013,
            '<div class="answer">{{Answer}}</div>',
            '{{FrontSide}}\n<hr id="answer">\n<div class="question">{{Question}}</div>',
        ),
    ),
)

CLOZE = NoteType(
    kind="cloze",
    id=1556755615,
    name="ankiqa Cloze",
    fields=(Field("Text", 1706371752), Field(ID_FIELD_NAME, 1297287892)),
    templates=(Template("Cloze", 1950192285, CLOZE_SIDE, CLOZE_SIDE),),
    cloze=True,
)

NOTE_TYPES = {note_type.kind: note_type for note_type in (BASIC, REVERSED, CLOZE)}

CARD_CSS = """\
.card {
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    sans-serif;
  font-size: 18px;
  line-height: 1.5;
  text-align: left;
  color: #1f2328;
  background-color: #ffffff;
  max-width: 46em;
  margin: 0 auto;
  padding: 0 12px;
  overflow-wrap: break-word;
}
.card.nightMode, .card.night_mode { color: #e6edf3; background-color: #1f1f1f; }
.question { font-size: 1.15em; font-weight: 600; }
.answer > :first-child { margin-top: 0; }
a { color: #0969da; }
.nightMode a, .night_mode a { color: #58a6ff; }
img { max-width: 100%; height: auto; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
:not(pre) > code { padding: 0.1em 0.3em; border-radius: 4px; background: #7f7f7f26; }
.highlight { border-radius: 6px; margin: 0.8em 0; }
.highlight pre { margin: 0; padding: 10px 12px; overflow-x: auto; line-height: 1.4; }
.highlight pre code { font-size: 0.85em; }
table { border-collapse: collapse; margin: 0.8em 0; display: block; overflow-x: auto; }
th, td { border: 1px solid rgba(127, 127, 127, 0.4); padding: 4px 8px; }
blockquote { margin: 0.8em 0; padding: 0 1em; border-left: 4px solid rgba(127, 127, 127, 0.4); }
.math { overflow-x: auto; }
li:has(> input[type="checkbox"]:first-child),
li:has(> p:first-child > input[type="checkbox"]:first-child) { list-style-type: none; }
li > input[type="checkbox"], li > p > input[type="checkbox"] { margin: 0 0.4em 0 -1.3em; }
.footnotes { font-size: 0.85em; margin-top: 1.5em; border-top: 1px solid #7f7f7f66; }
.cloze { font-weight: 600; color: #0969da; }
.nightMode .cloze, .night_mode .cloze { color: #58a6ff; }
"""
