"""The ankiqa note type. Its ids and field and template names are frozen forever.

Anki matches a note type by id, and its fields and templates by id too. Changing any
id, or the number of fields or templates, makes Anki import every note as
"conflicting" into a copy of the note type, so `tests/test_identity.py` pins them.
Templates and CSS are free to change: they reach users as an ordinary update.
"""

from __future__ import annotations

import genanki

from .highlight import stylesheet

NOTE_TYPE_ID = 1980302362
NOTE_TYPE_NAME = "ankiqa Q&A"
FIELDS = (
    {"name": "Question", "id": 1809100394},
    {"name": "Answer", "id": 1734994803},
    {"name": "Question ID", "id": 1832188179},
)
ID_FIELD_NAME = FIELDS[2]["name"]  # the field that holds the question id
TEMPLATE_ID = 1970077774

FRONT_TEMPLATE = '<div class="question">{{Question}}</div>'
BACK_TEMPLATE = (
    '<div class="question">{{Question}}</div>\n'
    '<hr id="answer">\n'
    '<div class="answer">{{Answer}}</div>'
)

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
.footnotes { font-size: 0.85em; margin-top: 1.5em; border-top: 1px solid rgba(127, 127, 127, 0.4); }
"""


class NoteType(genanki.Model):
    """A genanki Model that carries its own `mod`, so an unchanged note type keeps its
    timestamp and Anki leaves the user's copy alone."""

    def __init__(self, mod: int | None = None):
        super().__init__(
            NOTE_TYPE_ID,
            NOTE_TYPE_NAME,
            fields=[dict(field) for field in FIELDS],
            templates=[
                {
                    "name": "Card 1",
                    "id": TEMPLATE_ID,
                    "qfmt": FRONT_TEMPLATE,
                    "afmt": BACK_TEMPLATE,
                }
            ],
            css=CARD_CSS + stylesheet(),
        )
        self.mod = mod

    def to_json(self, timestamp: float, deck_id: int) -> dict:
        return super().to_json(timestamp if self.mod is None else self.mod, deck_id)
