"""The `ankiqa` command: parses arguments, calls the library, prints."""

from __future__ import annotations

import json
import sys
import webbrowser
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from .atomic import write_atomically
from .build import anki_search, export
from .cache import default_folder as default_cache_folder
from .config import default_decks
from .diagnostics import DeckError, Diagnostic, errors, printable

# The other commands' modules are imported by each command: `export` with nothing
# changed decides before the Markdown engine is imported (see `fresh`).

app = typer.Typer(
    help="Turn Markdown question-and-answer notes into Anki decks that update in place.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

PROGRESS_FROM = 2000  # questions; fewer render in about a second

Paths = Annotated[
    list[Path] | None,
    typer.Argument(help="Deck files or folders of them. Default: decks/", show_default=False),
]


@app.callback()
def main() -> None:
    """ankiqa: Markdown Q&A notes → Anki packages."""


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


def _fail(diagnostics: list[Diagnostic], what: str, code: int = 1) -> NoReturn:
    for diagnostic in diagnostics:
        typer.echo(str(diagnostic), err=True)
    typer.echo(f"ankiqa: {_count(len(diagnostics), 'error')}, {what}", err=True)
    raise typer.Exit(code)


def _progress_bar(stack: ExitStack) -> Callable[[int, int], None]:
    """A `progress(done, total)` that shows a bar on a terminal, once the work turns out
    to be long."""
    bars: list = []

    def progress(done: int, total: int) -> None:
        if not bars and total >= PROGRESS_FROM and sys.stderr.isatty():
            bar = typer.progressbar(length=total, label="Rendering", file=sys.stderr)
            bars.append(stack.enter_context(bar))
        for bar in bars:
            bar.update(done - bar.pos)

    return progress


def _os_error(error: OSError) -> NoReturn:
    typer.echo(f"ankiqa: {error.filename or ''}: {error.strerror}", err=True)
    raise typer.Exit(1) from None


@app.command("export")
def export_command(
    paths: Paths = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write one package holding every deck to this file."),
    ] = None,
    dist: Annotated[
        Path | None,
        typer.Option(
            help="Folder for one package per deck file (without -o). Default: the settings'"
            " dist, else dist/ beside the decks folder.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Export deck files to .apkg packages for Anki."""
    with ExitStack() as stack:
        progress = _progress_bar(stack)
        try:
            result = export(paths or [default_decks()], output=output, dist=dist, progress=progress)
        except DeckError as error:
            _fail(error.diagnostics, "nothing written")
        except OSError as error:
            _os_error(error)

    for notice in result.notices:
        typer.echo(str(notice), err=True)
    if result.warnings:  # shown in full by `ankiqa check`; some, like malformed-id, are for ever
        typer.echo(f"{_count(len(result.warnings), 'warning')}: see `ankiqa check`", err=True)
    typer.echo(f"{_count(result.notes, 'note')} in {_count(len(result.decks), 'deck')}")
    for path in result.written:
        typer.echo(f"wrote {printable(str(path))}")
    for path in result.up_to_date:
        typer.echo(f"{printable(str(path))} is up to date")
    if result.removed:
        typer.echo(f"{_count(len(result.removed), 'question')} removed from the Markdown:")
        for question in result.removed:
            typer.echo(f"  {printable(question.id)}  (was in {printable(str(question.file))})")
        searchable = [question.id for question in result.removed if question.searchable]
        if searchable:
            typer.echo(
                "A package cannot delete notes. To delete them in Anki, search the browser for:"
            )
            typer.echo(f"  {printable(anki_search(searchable))}")
        if len(searchable) < len(result.removed):
            typer.echo(
                "Some removed ids are stored by Anki like a live question's id (Unicode"
                " normalization): no search is offered for them, as it would find both."
            )


@app.command("preview")
def preview_command(
    paths: Paths = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The page to write.")] = Path(
        "preview.html"
    ),
    open_page: Annotated[
        bool, typer.Option("--open", help="Open the page in your web browser.")
    ] = False,
) -> None:
    """Write every card, front and back, to one HTML page that loads nothing from the web."""
    from .preview import preview_html

    with ExitStack() as stack:
        try:
            page = preview_html(paths or [default_decks()], progress=_progress_bar(stack))
            write_atomically(output, page.encode("utf-8"))
        except OSError as error:
            _os_error(error)
    typer.echo(f"wrote {printable(str(output))}")
    if open_page:
        webbrowser.open(output.resolve().as_uri())


@app.command("watch")
def watch_command(
    paths: Paths = None,
    dist: Annotated[
        Path | None,
        typer.Option(help="Folder for the packages. Default: as export.", show_default=False),
    ] = None,
    serve: Annotated[
        bool,
        typer.Option("--serve", help="Serve the preview on 127.0.0.1; it reloads itself."),
    ] = False,
    port: Annotated[int, typer.Option(help="The port to serve on.")] = 8765,
) -> None:
    """Export again whenever a deck file, an image or the settings change. Ctrl-C ends it."""
    from .watch import watch

    try:
        watch(paths or [default_decks()], dist=dist, serve=serve, port=port, say=typer.echo)
    except OSError as error:
        _os_error(error)


@app.command("check")
def check_command(
    paths: Paths = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of the problems, nothing else.")
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too (exit 1).")] = False,
) -> None:
    """Report problems in deck files, compiler-style, without writing anything.

    Exit status: 0 when there are no errors (warnings are fine unless --strict), 1 when
    there are, 2 when it could not run (a wrong command line, a path that is not there,
    an unreadable file or settings file).
    """
    from .project import check_project, load_project

    try:
        cache = default_cache_folder()
        project = load_project(paths or [default_decks()], cache)
    except OSError as error:
        _os_error(error)
    diagnostics = check_project(project, cache)
    failed = len(errors(diagnostics))
    warned = len(diagnostics) - failed
    if as_json:
        typer.echo(json.dumps([d.to_json() for d in diagnostics], indent=2, ensure_ascii=False))
    else:
        for diagnostic in diagnostics:
            typer.echo(str(diagnostic))
        counts = f"{_count(failed, 'error')}, {_count(warned, 'warning')}"
        typer.echo(f"ankiqa: {counts} in {_count(len(project.sources), 'file')}")
    if any(d.code in COULD_NOT_RUN for d in diagnostics):
        raise typer.Exit(2)
    if failed or (strict and warned):
        raise typer.Exit(1)


# Problems that mean `check` could not look at what it was asked to (exit 2, not 1).
COULD_NOT_RUN = frozenset({"not-found", "no-decks", "unreadable", "bad-config", "bad-file-name"})


@app.command("ids")
def ids_command(
    paths: Paths = None,
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if a question has no id.")
    ] = False,
) -> None:
    """Give every question without an id a `question id:` line, changing nothing else."""
    from .ids import add_ids_to_files

    report = add_ids_to_files(paths or [default_decks()], check=check)
    for path, count in report.changed:
        typer.echo(f"{path}: {_count(count, 'id')} added")
    if report.diagnostics:
        unchanged = "files with errors left unchanged"
        _fail(report.diagnostics, "`ankiqa ids` adds missing ids" if check else unchanged)
    added = sum(count for _, count in report.changed)
    if added:
        typer.echo(f"{_count(added, 'id')} added in {_count(len(report.changed), 'file')}")
    else:
        typer.echo("every question has an id")


@app.command("diff")
def diff_command(
    old: Annotated[Path, typer.Argument(help="The package to compare from.", show_default=False)],
    new: Annotated[
        list[Path] | None,
        typer.Argument(
            help="A package, or deck files and folders to build now. Default: decks/",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show questions added, changed and removed. Exit 0 when equal, 1 when different."""
    from .diff import PackageError, compare

    try:
        changes = compare(old, new or [default_decks()])
    except DeckError as error:
        _fail(error.diagnostics, "cannot compare", code=2)
    except PackageError as error:
        typer.echo(f"ankiqa: {error}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(changes.to_json(), ensure_ascii=False, indent=2))
    else:
        for mark, notes in (("+", changes.added), ("~", changes.changed), ("-", changes.removed)):
            for note in notes:
                typer.echo(f"{mark} {printable(note.question_id)}  {printable(note.title)}")
        counts = (len(changes.added), len(changes.changed), len(changes.removed))
        typer.echo("{} added, {} changed, {} removed".format(*counts))
    raise typer.Exit(1 if changes else 0)
