"""`ankiqa preview`: every card, front and back, in one self-contained HTML page.

The cards are built in memory by the export's own code (`project_notes`), and shown
through the note types' own templates and CSS inside Anki's `.card` wrapper, cloze cards
one per number, reversed cards both ways. Math becomes MathML (latex2mathml), media are
embedded: the page loads nothing from the network. Controls switch night mode and a
phone's width, and filter the cards by text, deck or tag; each card is labelled with
its `file:line` and id, and `check`'s problems stand at the card they concern.
"""

from __future__ import annotations

import base64
import html
import mimetypes
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from latex2mathml.converter import convert as tex_to_mathml

from .cache import default_folder as default_cache_folder
from .diagnostics import Diagnostic
from .notes import NoteData
from .project import DEFAULT_DECKS, check_project, load_project, project_notes

# Anki's own reading of clozes (rslib/src/cloze.rs): number, text, hint.
_CLOZE = re.compile(r"\{\{c(\d+)::(.*?)(?:::(.*?))?\}\}", re.DOTALL)
_FIELD = re.compile(r"\{\{([^{}]+)\}\}")
_TEX = re.compile(r"<(code|pre)\b.*?</\1>|\\\((.*?)\\\)|\\\[(.*?)\\\]", re.DOTALL)
_MEDIA_SRC = re.compile(r'(<img\b[^>]*\bsrc=")([^"]+)(")')
_SOUND = re.compile(r"\[sound:([^\]]+)\]")


def cards(note: NoteData) -> list[tuple[str, str, str]]:
    """The note's cards as Anki shows them: (template name, front, back)."""
    names = [field.name for field in note.note_type.fields]
    fields = dict(zip(names, note.fields, strict=True))
    found = []
    for template in note.note_type.templates:
        if note.note_type.cloze:
            for number in note.question.clozes:
                front = _fill(template.front, fields, cloze=(number, True))
                back = _fill(template.back, fields, cloze=(number, False))
                found.append((f"{template.name} {number}", front, back))
        else:
            front = _fill(template.front, fields)
            found.append((template.name, front, _fill(template.back, fields, front)))
    return found


def _fill(
    template: str, fields: dict[str, str], front: str = "", cloze: tuple[int, bool] | None = None
) -> str:
    def field(match: re.Match) -> str:
        name = match.group(1).strip()
        if name == "FrontSide":
            return front
        if name.startswith("cloze:") and cloze:
            return _reveal(fields.get(name[len("cloze:") :], ""), *cloze)
        return fields.get(name, "")

    return _FIELD.sub(field, template)


def _reveal(text: str, number: int, front: bool) -> str:
    def cloze(match: re.Match) -> str:
        if int(match.group(1)) != number:
            return match.group(2)
        shown = (f"[{match.group(3)}]" if match.group(3) else "[...]") if front else match.group(2)
        return f'<span class="cloze">{shown}</span>'

    return _CLOZE.sub(cloze, text)


def _mathml(side: str) -> str:
    """TeX as MathML, which browsers draw without loading anything (Anki uses MathJax)."""

    def math(match: re.Match) -> str:
        code, inline, display = match.groups()
        if code:
            return match.group()
        tex = html.unescape(inline if inline is not None else display)
        try:
            return tex_to_mathml(tex, display="inline" if inline is not None else "block")
        except Exception:  # latex2mathml knows less TeX than MathJax: show the TeX
            return match.group()

    return _TEX.sub(math, side)


def _embedded(side: str, note: NoteData) -> str:
    """Media as data URLs, sounds as players: the page is one file."""
    files = {media.name: media.path for media in note.media}

    def data_url(name: str) -> str | None:
        path = files.get(name)
        if path is None:
            return None
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"

    def image(match: re.Match) -> str:
        url = data_url(html.unescape(match.group(2)))
        return match.group(1) + html.escape(url) + match.group(3) if url else match.group()

    def sound(match: re.Match) -> str:
        url = data_url(match.group(1))
        return f'<audio controls src="{html.escape(url)}"></audio>' if url else match.group()

    return _SOUND.sub(sound, _MEDIA_SRC.sub(image, side))


def preview_html(
    paths: Iterable[Path] = (DEFAULT_DECKS,),
    use_cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """The preview page of these deck files and folders. `progress(done, total)` is
    called as questions are rendered."""
    cache = default_cache_folder() if use_cache else None
    project = load_project(paths, cache)
    problems = check_project(project, cache)
    total = sum(len(deck_file.questions) for deck_file in project.deck_files)
    notes: list[NoteData] = []
    for _, built in project_notes(project, cache):
        notes += built
        if progress:
            progress(len(notes), total)
    entries = []
    for note in notes:
        question = note.question
        mine = [
            d
            for d in problems
            if d.path == question.path
            and question.line <= d.line <= max(question.end_line, question.id_line or 0)
        ]
        for name, front, back in cards(note):
            entries.append(_entry(note, name, front, back, mine))
    css = notes[0].note_type.css(project.settings.styles) if notes else ""
    return _PAGE.format(
        css=css,
        count=len(entries),
        entries="\n".join(entries),
        problems=len(problems),
    )


def _entry(note: NoteData, name: str, front: str, back: str, problems: list[Diagnostic]) -> str:
    question = note.question
    where = f"{question.path.as_posix()}:{question.line}"
    label = " · ".join([where, question.id or "", note.deck, name, *note.tags])
    search = html.escape(" ".join([label, re.sub(r"<[^>]*>", " ", front + " " + back)]).lower())
    notes = "".join(f"<li>{html.escape(str(problem))}</li>" for problem in problems)
    sides = "".join(
        f'<div class="side"><div class="side-name">{side_name}</div>'
        f'<div class="card card1">{_mathml(_embedded(side, note))}</div></div>'
        for side_name, side in (("Front", front), ("Back", back))
    )
    diagnostics = f'<ul class="problems">{notes}</ul>' if notes else ""
    return (
        f'<section class="entry" data-search="{search}">'
        f'<div class="label">{html.escape(label)}</div>{diagnostics}'
        f'<div class="sides">{sides}</div></section>'
    )


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ankiqa preview</title>
<style>
{css}
body {{ margin: 0; font-family: system-ui, sans-serif; background: #eaeef2; }}
body.night {{ background: #0d1117; color: #e6edf3; }}
.controls {{ position: sticky; top: 0; z-index: 1; display: flex; gap: 1em; flex-wrap: wrap;
  align-items: center; padding: 8px 12px; background: #24292f; color: white; }}
.controls input[type=search] {{ flex: 1; min-width: 12em; padding: 4px 8px; }}
.entries {{ padding: 12px; margin: 0 auto; box-sizing: border-box; }}
body.phone .entries {{ max-width: 390px; }}
.entry {{ margin: 0 0 18px; }}
.label {{ font: 12px ui-monospace, monospace; color: #57606a; margin: 0 0 4px; }}
.problems {{ font: 12px ui-monospace, monospace; color: #cf222e; margin: 0 0 4px; }}
.sides {{ display: flex; gap: 12px; flex-wrap: wrap; }}
body.phone .sides {{ flex-direction: column; }}
.side {{ flex: 1; min-width: 280px; }}
.side-name {{ font-size: 11px; text-transform: uppercase; color: #8c959f; }}
.side > .card {{ border: 1px solid #d0d7de; border-radius: 6px; padding: 12px 16px; }}
.cloze {{ font-weight: bold; color: #0969da; }}
</style></head>
<body>
<div class="controls">
<strong>{count} cards</strong><span>{problems} problems</span>
<label><input type="checkbox" id="night"> Night mode</label>
<label><input type="checkbox" id="phone"> Phone width</label>
<input type="search" id="filter" placeholder="Filter: text, deck, tag, file or id">
</div>
<main class="entries">
{entries}
</main>
<script>
const cardsOf = () => document.querySelectorAll(".side > .card");
document.getElementById("night").addEventListener("change", (event) => {{
  document.body.classList.toggle("night", event.target.checked);
  for (const card of cardsOf()) {{
    card.classList.toggle("nightMode", event.target.checked);
    card.classList.toggle("night_mode", event.target.checked);
  }}
}});
document.getElementById("phone").addEventListener("change", (event) => {{
  document.body.classList.toggle("phone", event.target.checked);
}});
document.getElementById("filter").addEventListener("input", (event) => {{
  const words = event.target.value.toLowerCase().split(/\\s+/).filter(Boolean);
  for (const entry of document.querySelectorAll(".entry")) {{
    const text = entry.dataset.search;
    entry.hidden = !words.every((word) => text.includes(word));
  }}
}});
</script>
</body></html>
"""
