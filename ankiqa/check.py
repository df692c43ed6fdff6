"""`ankiqa check`: every problem in a project's deck files, sorted by file and line.

`parse` reports what changes which text belongs to which question (missing ids, fences
never closed, headings that are no question, text too hostile to read). This module reads
each question the way the renderer will, and adds what only shows then: empty questions
and answers, ids that are not UUIDs, unknown code languages, images that cannot be
packaged, and HTML that the sanitizer will remove. `export` runs the same checks and
writes nothing when one of them is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from mistletoe import block_token, span_token
from mistletoe.token import Token

from .cache import Cache
from .diagnostics import ERROR, WARNING, Diagnostic
from .highlight import is_known_language
from .limits import UNREADABLE
from .notes import MAX_MEDIA_BYTES, local_image, media_problem
from .parse import DeckFile, Question
from .render import CardRenderer, is_sound, parse_markdown, question_trees
from .sanitize import (
    DANGEROUS_SCHEMES,
    URL_SCHEMES,
    Removal,
    image_sources,
    removals,
    url_scheme,
)
from .tokens import Table, normalize_label

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
# The renderer recurses once per level of Markdown inside Markdown (lists, quotes, emphasis,
# links): deeper than this could exhaust Python's stack.
MAX_NESTING = 100
# In text left over after parsing: reference links and footnotes without a definition,
# and a `$` that opens math (Pandoc's rule) with a later `$` that could not close it.
# Not after a letter, digit or bracket: `a[i][j]` and `M[0][1]` index arrays.
_REFERENCE = re.compile(r"(?<![\w\])])\[([^\[\]]+)\]\[([^\[\]]*)\]|\[\^(\w+)\]")
# A `$` that opens math, then TeX-like text, then a `$` that could not close it.
_UNCLOSED_MATH = re.compile(r"(?<![\\$])\$\$?(?=[^\s\d$])([^$]*?[\\^_{}=+][^$]*)\$")
# HTML blocks that run to the end of the answer unless closed: a comment, and elements
# whose content is not Markdown.
_HTML_TO_CLOSE = re.compile(r"[ \t]*<(?:(!--)|(script|pre|style|textarea)[\s>])", re.IGNORECASE)


def check_deck_file(deck_file: DeckFile, root: Path, cache: Path | None = None) -> list[Diagnostic]:
    """Problems of a parsed deck file that `parse` does not report. Images must be inside
    `root`, as they must be to be exported. With a `cache` folder, questions found clean
    before are not read again (see `cache`), unless they have images: files change."""
    unreadable = unreadable_lines(deck_file)
    problems = []
    # The renderer's syntax (math is not links, and so on) while reading.
    with Cache(cache) as known, CardRenderer():
        for question in deck_file.questions:
            problems += question_problems(question)
            found = known_problems(question, unreadable, known)
            problems += read_question(question, root, known) if found is None else found
    return problems


def unreadable_lines(deck_file: DeckFile) -> list[int]:
    """Where `parse` found text too hostile to read: the questions there are not read."""
    return [d.line for d in deck_file.diagnostics if d.code in UNREADABLE]


def known_problems(
    question: Question, unreadable: list[int], known: Cache
) -> list[Diagnostic] | None:
    """What `read_question` finds in the question, when that is known without reading it:
    nothing in a question that is not readable or was found clean before, the warnings
    found before in the same Markdown; else None."""
    if any(question.line <= line <= question.end_line for line in unreadable):
        return []
    if not question.id:
        return None
    if known.is_clean(question.render_key):
        return []
    recorded = known.warnings(_warnings_key(question))
    return None if recorded is None else _warnings_from_json(recorded, question)


def read_question(
    question: Question, root: Path, known: Cache, trees: tuple | None = None
) -> list[Diagnostic]:
    """The problems found by reading a question as the renderer will (its `question_trees`
    when given, else parsed here, inside a CardRenderer's `with` block). What is found in
    a question without images (whose files change) is remembered in `known`, when it
    holds no error: nothing, or warnings."""
    reader = _QuestionReader(question, root, trees)
    found = reader.problems()
    if not question.id or reader.saw_image or any(d.severity != WARNING for d in found):
        return found
    if found:
        known.put_warnings(_warnings_key(question), _warnings_json(found, question))
    else:
        known.mark_clean(question.render_key)
    return found


def _warnings_key(question: Question) -> tuple[str, ...]:
    """What a question's warnings depend on: its Markdown, and where its answer starts
    (they are kept with lines counted from there)."""
    return (*question.render_key, str(question.answer_line - question.line))


def _warnings_json(warnings: list[Diagnostic], question: Question) -> str:
    start = question.answer_line
    return json.dumps([(d.line - start, d.column, d.code, d.message) for d in warnings])


def _warnings_from_json(text: str, question: Question) -> list[Diagnostic] | None:
    """What `_warnings_json` wrote, as the question's warnings; None for anything else."""
    try:
        found = [
            Diagnostic(question.path, question.answer_line + line, column, WARNING, code, message)
            for line, column, code, message in json.loads(text)
        ]
    except (ValueError, TypeError):  # not JSON, not lists of 4, an unknown code
        return None
    holds = all(type(d.line) is int and type(d.column) is int for d in found) and all(
        isinstance(d.message, str) for d in found
    )
    return found if found and holds else None


def question_problems(question: Question) -> list[Diagnostic]:
    """What a question's parsed parts show, without reading its Markdown."""

    def problem(line: int, severity: str, code: str, message: str) -> Diagnostic:
        return Diagnostic(question.path, line, 1, severity, code, message)

    problems = []
    if not question.heading:
        problems.append(problem(question.line, ERROR, "empty-question", "question is empty"))
    if not question.answer.strip():  # a card with an empty back: valid, to be filled in later
        problems.append(problem(question.line, WARNING, "empty-answer", "question has no answer"))
    if question.id and not UUID.fullmatch(question.id):
        message = (
            f"question id `{question.id}` is not a well-formed UUID; it works as it is, and"
            " ids are permanent: keep it"
        )
        problems.append(
            problem(question.id_line or question.line, WARNING, "malformed-id", message)
        )
    return problems


class _QuestionReader:
    """Reads a question's heading and answer as the renderer will, and reports what it
    finds, at the line and column where it is written."""

    def __init__(self, question: Question, root: Path, trees: tuple | None = None):
        self.question = question
        self.root = root
        self.trees = trees  # the question's `question_trees`, when already parsed
        self.lines = question.answer.split("\n")
        self.lowered: dict[int, str] = {}  # answer lines, lower-cased as needed
        self.defined = {label for label, _, _ in question.references}
        self.found: list[Diagnostic] = []
        self.saw_image = False
        self.code_text: set[int] = set()  # ids of the text tokens inside code
        # Where `locate` searches from: an answer line (None in the heading) and a column.
        self.block_line: int | None = None
        self.cursor = 0

    def problems(self) -> list[Diagnostic]:
        question = self.question
        try:  # every question is read whole: every rule sees every question
            heading, answer = self.trees or question_trees(question)
        except RecursionError:
            return [self.too_deep(question.line)]
        for token, depth in _walk(heading, _INSPECTED):
            if depth > MAX_NESTING:
                return [self.too_deep(question.line)]
            self.inspect(token)
        for token, depth in _walk(answer.children, _READ):
            if isinstance(token, block_token.BlockToken) and token.line_number:
                self.block_line, self.cursor = token.line_number - 1, 0
            if depth > MAX_NESTING:
                return [self.too_deep(question.answer_line + (self.block_line or 0))]
            self.inspect(token)
        # Footnotes the card shows, wherever the file defines them (their other problems
        # are reported where they stand): too deep to render is an error here too.
        for _, source in question.notes:
            try:
                note = parse_markdown(source, notes=dict(question.notes))
            except RecursionError:
                return [self.too_deep(question.line)]
            if any(depth > MAX_NESTING for _, depth in _walk(note.children)):
                return [self.too_deep(question.line)]
        return self.found

    def too_deep(self, line: int) -> Diagnostic:
        message = (
            f"Markdown nested more than {MAX_NESTING} levels deep (emphasis, links, lists or"
            " quotes): too deep to render"
        )
        return Diagnostic(self.question.path, line, 1, ERROR, "too-deep", message)

    def inspect(self, token: Token) -> None:
        if isinstance(token, span_token.RawText):  # most tokens: first
            content = token.content
            if ("[" in content or "$" in content) and id(token) not in self.code_text:
                self.text(content)
        elif isinstance(token, (block_token.CodeFence, block_token.BlockCode)):
            self.code(token)
        elif isinstance(token, block_token.HtmlBlock):
            self.unclosed(token)
            for removal in removals(token.content):
                line = self.question.answer_line + token.line_number + removal.line - 2
                self.removed(line, removal.column, removal)
            self.raw_images(token.content)
        elif isinstance(token, span_token.HtmlSpan):
            line, column = self.locate(token.content.split("\n", 1)[0])
            for removal in removals(token.content):
                where = column + removal.column - 1 if removal.line == 1 else removal.column
                self.removed(line + removal.line - 1, where, removal)
            self.raw_images(token.content)
        elif isinstance(token, (span_token.Link, span_token.AutoLink)):
            self.url(token.target, "link")
            if isinstance(token, span_token.Link) and is_sound(token.target):
                self.saw_image = True  # its field depends on the file: never cached
                self.image(token.target)
        elif isinstance(token, span_token.InlineCode):
            self.code_text.update(id(child) for child in token.children)
        elif isinstance(token, span_token.Image):
            self.saw_image = True
            self.url(token.src, "image")
            self.image(token.src)

    def code(self, token: block_token.CodeFence | block_token.BlockCode) -> None:
        self.code_text.update(id(child) for child in token.children)
        fence = isinstance(token, block_token.CodeFence)
        if fence and token.language and not is_known_language(token.language):
            line, column = self.locate(token.language)
            message = f"unknown code language `{token.language}`: shown without highlighting"
            self.report(line, column, WARNING, "unknown-language", message)

    def unclosed(self, token: block_token.HtmlBlock) -> None:
        opening = _HTML_TO_CLOSE.match(token.content)
        if not opening:
            return
        end = "-->" if opening.group(1) else f"</{opening.group(2).lower()}>"
        if end not in token.content.lower():
            line = self.question.answer_line + token.line_number - 1
            column = len(token.content) - len(token.content.lstrip()) + 1
            message = f"HTML never closed with `{end}`: the rest of the file is lost in it"
            self.report(line, column, ERROR, "unclosed-html", message)

    def url(self, url: str, kind: str) -> None:
        scheme = url_scheme(url)
        if scheme is None or scheme in URL_SCHEMES:
            return
        line, column = self.locate(f"{scheme}:")
        if scheme in DANGEROUS_SCHEMES:
            message = f"`{scheme}:` {kind} removed: it could run code on the card"
            self.report(line, column, WARNING, "unsafe-html", message)
        else:
            allowed = ", ".join(f"{name}:" for name in sorted(URL_SCHEMES))
            message = f"`{scheme}:` {kind} removed: only {allowed} and relative ones are kept"
            self.report(line, column, WARNING, "removed-html", message)

    def raw_images(self, html: str) -> None:
        for src in image_sources(html):
            self.saw_image = True
            self.image(src)

    def image(self, src: str) -> None:
        parts = urlsplit(src)
        if not src or parts.scheme or parts.netloc:
            return  # on the web, or not allowed (see url)
        folder = self.question.path.parent
        line, column = self.locate(src)
        path = local_image(src, folder, self.root)
        what = "sound or video" if is_sound(src) else "image"
        if path is None:
            message = f"{what} `{src}` is outside {self.root}: only files inside it are packaged"
            self.report(line, column, WARNING, "image-outside-root", message)
        elif (problem := media_problem(path)) == "not found":
            message = f"{what} `{src}` not found: the card shows it broken"
            self.report(line, column, WARNING, "image-not-found", message)
        elif problem == "too large":
            limit = MAX_MEDIA_BYTES // (1024 * 1024)
            message = (
                f"{what} `{src}` is larger than {limit} MiB, which Anki cannot sync: not packaged"
            )
            self.report(line, column, WARNING, "media-too-large", message)

    def text(self, text: str) -> None:
        """Markdown that was meant but did not take: text left over after parsing (with a
        `[` or a `$`: references and math)."""
        for match in _REFERENCE.finditer(text) if "[" in text else ():
            note, label = match.group(3), match.group(2) or match.group(1)
            if note is None and normalize_label(label) in self.defined:
                continue
            line, column = self.locate(match.group())
            what = f"footnote `[^{note}]`" if note else f"reference link `[{label}]`"
            definition = f"[^{note}]: …" if note else f"[{label}]: URL"
            message = f"{what} has no definition in this file (`{definition}`): shown as text"
            self.report(line, column, WARNING, "undefined-reference", message)
        opener = _UNCLOSED_MATH.search(text) if "$" in text else None
        if opener:
            line, column = self.locate(text[opener.start() : opener.start() + 12].split("\n")[0])
            message = (
                "`$` opens math that is never closed: the closing `$` must follow the TeX"
                " directly (`$x$`, not `$x $`), and math cannot cross code, links or HTML;"
                " write `\\$` for a dollar sign"
            )
            self.report(line, column, WARNING, "unclosed-math", message)

    def removed(self, line: int, column: int, removal: Removal) -> None:
        what = removal.what
        if removal.kind == "as-text":
            message = f"{what} is shown as text (GitHub's tag filter); in code, use backticks"
            self.report(line, column, WARNING, "html-as-text", message)
        elif removal.kind == "tag-only":
            tag = what.split()[0]
            message = (
                f"{tag} is read as an HTML tag and removed (its text stays): to show it,"
                f" write it in backticks, `` {tag} ``"
            )
            self.report(line, column, WARNING, "removed-html", message)
        elif removal.dangerous:
            message = f"{what} removed: it could run code on the card"
            self.report(line, column, WARNING, "unsafe-html", message)
        else:
            message = f"{what} removed: cards keep only plain formatting HTML"
            self.report(line, column, WARNING, "removed-html", message)

    def report(self, line: int, column: int, severity: str, code: str, message: str) -> None:
        self.found.append(Diagnostic(self.question.path, line, column, severity, code, message))

    def locate(self, needle: str) -> tuple[int, int]:
        """The file line and column of `needle`, searched from the last place found in the
        current block, on that line and the few after it. Inside the heading (no block
        yet) it is the heading's line."""
        if self.block_line is None:
            return self.question.line, 1
        needle = needle.lower()
        last = min(self.block_line + 5, len(self.lines))
        for index in range(self.block_line, last):
            if index not in self.lowered:
                self.lowered[index] = self.lines[index].lower()
            start = self.cursor if index == self.block_line else 0
            column = self.lowered[index].find(needle, start)
            if column >= 0:
                self.block_line, self.cursor = index, column + len(needle)
                return self.question.answer_line + index, column + 1
        return self.question.answer_line + self.block_line, 1


# The tokens that `inspect` reads; the others (paragraphs, lists, emphasis…) only hold them.
_INSPECTED = (
    span_token.RawText,
    block_token.CodeFence,
    block_token.BlockCode,
    block_token.HtmlBlock,
    span_token.HtmlSpan,
    span_token.Link,
    span_token.AutoLink,
    span_token.InlineCode,
    span_token.Image,
)


# What `problems` reads in an answer: the blocks too, for their lines.
_READ = (*_INSPECTED, block_token.BlockToken)


def _walk(tokens: list[Token], wanted: tuple[type, ...] = ()) -> Iterator[tuple[Token, int]]:
    """The tokens in `tokens` and below that are `wanted` or deeper than MAX_NESTING, in
    document order (a table's header row too), with their depth: 1 for the tokens in
    `tokens`. Only these are handed out: most tokens are neither."""
    stack = [(token, 1) for token in reversed(tokens)]
    while stack:
        token, depth = stack.pop()
        if isinstance(token, wanted) or depth > MAX_NESTING:
            yield token, depth
        children = token.children
        if isinstance(token, (Table, block_token.Table)):
            children = [token.header, *(children or ())]
        if children:
            depth += 1
            stack += [(child, depth) for child in reversed(children)]
