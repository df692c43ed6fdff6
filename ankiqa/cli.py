"""The `ankiqa` command: parses arguments, calls the library, prints."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import sys
import webbrowser
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from .atomic import write_atomically
from .build import anki_search, export
from .cache import default_folder as default_cache_folder
from .config import default_decks
from .diagnostics import DeckError, Diagnostic, errors, printable

if TYPE_CHECKING:
    from .pushing import DeletedNote, PushResult
    from .sync import Credentials, Syncer

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


def run() -> NoReturn:
    """The `ankiqa` command (and `python -m ankiqa`): `app`, after which the process ends at
    once. Python's own exit would first take apart every module imported (typer's pydantic,
    genanki's asyncio, Pygments): 40 ms, a fifth of an export that finds nothing to do.
    Every command has closed what it wrote by then. (mypy ends the same way.) Not under a
    profiler, debugger or coverage tool: those write what they found as Python ends."""
    try:
        app(prog_name="ankiqa")
        code = 0
    except SystemExit as done:
        if not isinstance(done.code, int | None):
            raise  # a message to print: Python's exit does it
        code = done.code or 0
    if _watched():
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(code)


def _watched() -> bool:
    """Whether a tool follows this process's Python code (`sys.monitoring`, 3.12+)."""
    monitoring = getattr(sys, "monitoring", None)
    tools = monitoring is not None and any(monitoring.get_tool(tool) for tool in range(6))
    return tools or sys.gettrace() is not None or sys.getprofile() is not None


@app.callback()
def main() -> None:
    """ankiqa: Markdown Q&A notes → Anki packages."""


def _give_back_large_blocks() -> None:
    """In this process and the workers it forks (with `fork`, Linux's default before
    Python 3.14; workers started otherwise keep glibc's default), have glibc's malloc give
    every block of more than 128 KB back to the system when it is freed: by default, once
    such a block was freed it keeps later ones up to 32 MB in its heap (a deck file's text,
    a part of it, its notes coming back from a worker), which an export then never gives
    back. Measured on 30k questions of real notes: 26 MB less in all, no slower."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):  # not glibc
            ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, 128 * 1024)


_M_MMAP_THRESHOLD = -3  # glibc's malloc.h


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


def _fail(diagnostics: list[Diagnostic], what: str, code: int = 1) -> NoReturn:
    for diagnostic in diagnostics:
        typer.echo(str(diagnostic), err=True)
    typer.echo(f"ankiqa: {_count(len(diagnostics), 'error')}, {what}", err=True)
    raise typer.Exit(code)


def _progress_bar(stack: ExitStack) -> Callable[[int, int], None] | None:
    """A `progress(done, total)` that shows a bar on a terminal, once the work turns out
    to be long; None when there is no terminal to show it on (the total then need not
    be counted: see `project.stream_checked_notes`)."""
    if not sys.stderr.isatty():
        return None
    bars: list = []

    def progress(done: int, total: int) -> None:
        if not bars and total >= PROGRESS_FROM:
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
    _give_back_large_blocks()
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


@app.command("push")
def push_command(
    paths: Paths = None,
    collection: Annotated[
        Path | None,
        typer.Option(
            help="The collection file (collection.anki2). Default: the --profile's.",
            show_default=False,
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            help="The Anki profile to push to. Default: the one Anki opened last.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what push would do; change nothing.")
    ] = False,
    delete_removed: Annotated[
        bool,
        typer.Option(
            "--delete-removed",
            help="Delete the notes of questions removed from the Markdown, after a backup.",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Overwrite notes edited in Anki whose Markdown was edited too."
        ),
    ] = False,
    sync: Annotated[
        bool,
        typer.Option("--sync", help="Sync before and after, media too: AnkiWeb or --endpoint."),
    ] = False,
    endpoint: Annotated[
        str | None,
        typer.Option(help="A self-hosted sync server's URL.", show_default=False),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Delete without asking, even in a terminal.")
    ] = False,
) -> None:
    """Push deck files into your Anki collection (close Anki first), and with --sync on
    to your phone.

    Exit status: 0 when done; 1 for errors in the decks, a collection Anki has open, or a
    sync that failed; 2 when it could not run (no `anki` package, no collection); 3 when
    done but notes edited both in Anki and in the Markdown were left alone (see --force).
    """
    from .collection import AnkiMissing, NotACollection, PushError
    from .profiles import CollectionNotFound
    from .pushing import CONFLICT, push
    from .sync import Syncer, SyncRefused

    ask = _ask_login() if sys.stdin.isatty() else None
    syncer = Syncer(endpoint, ask) if sync or endpoint else None  # --endpoint means --sync
    try:
        result = push(
            paths or [default_decks()],
            collection,
            profile,
            dry_run=dry_run,
            delete_removed=delete_removed,
            force=force,
            syncer=syncer,
            before_delete=_confirm_deletion(ask=sys.stdin.isatty() and not yes),
        )
    except DeckError as error:
        _fail(error.diagnostics, "nothing pushed")
    except (AnkiMissing, CollectionNotFound, NotACollection) as error:
        typer.echo(f"ankiqa: {error}", err=True)
        raise typer.Exit(2) from None
    except (PushError, SyncRefused) as error:
        typer.echo(f"ankiqa: {error}", err=True)
        raise typer.Exit(1) from None
    except OSError as error:
        _os_error(error)
    _report_push(result, syncer)
    if result.sync_error:
        typer.echo(f"ankiqa: pushed, but {result.sync_error}", err=True)
        raise typer.Exit(1)
    if result.count(CONFLICT):
        raise typer.Exit(3)


def _ask_login() -> Credentials:
    def ask() -> tuple[str, str]:
        user = typer.prompt("Sync user name (e-mail)", err=True)
        return user, typer.prompt("Password", hide_input=True, err=True)

    return ask


def _confirm_deletion(ask: bool) -> Callable[[list[DeletedNote]], bool]:
    """Lists the notes about to be deleted, and in a terminal asks first."""

    def confirm(notes: list[DeletedNote]) -> bool:
        _list_deletions(notes, "Deleting")
        return not ask or typer.confirm(f"Delete {_count(len(notes), 'note')}?", err=True)

    return confirm


def _list_deletions(notes: list[DeletedNote], verb: str) -> None:
    typer.echo(f"{verb} {_count(len(notes), 'note')} of questions removed from the Markdown:")
    for note in notes:
        where = printable(str(note.file))
        edited = ", edited in Anki since it was pushed" if note.edited else ""
        line = f"  - {printable(note.question_id)}  {printable(note.front[:60])}  ({where}{edited})"
        typer.echo(line)


# What `ankiqa push` says of a note, by its status (see `pushing`); conflicts say more.
_SAID = {
    "new": "new",
    "updated": "updated",
    "kept": "kept (edited in Anki; the Markdown did not change)",
    "forced": "overwritten (edited in Anki, and in the Markdown: --force)",
    "other note type": (
        "left alone: Anki holds it with another note type, which an import cannot change"
    ),
}


def _report_push(result: PushResult, syncer: Syncer | None) -> None:
    would = "would be " if result.dry_run else ""
    typer.echo(f"{'Dry run: ' * result.dry_run}collection {printable(str(result.collection))}")
    for notice in result.notices:
        typer.echo(str(notice), err=True)
    if result.warnings:
        typer.echo(f"{_count(len(result.warnings), 'warning')}: see `ankiqa check`", err=True)
    for name in result.changed_note_types:
        typer.echo(
            f"The note type {name!r} had fields or card types added, removed or reordered in"
            " Anki: its notes are left alone. Undo that change (Tools > Manage Note Types),"
            " or make a copy of the note type for your own fields."
        )
    for outcome in result.notes:
        question = outcome.question
        where = f"{printable(str(question.path))}:{question.line}"
        title = printable(question.heading[:60])
        if outcome.status in _SAID:
            typer.echo(f"{where}: {would}{_SAID[outcome.status]}: {title}")
        elif outcome.status == "conflict":
            typer.echo(
                f"{where}: conflict, left as Anki has it: {title}\n"
                "  edited in Anki and in the Markdown (push --force takes the Markdown's):"
            )
            for line in outcome.conflict_diff():
                typer.echo(f"    {printable(line)}")
    if result.dry_run and result.deleted:
        _list_deletions(result.deleted, "Would delete")
    elif result.removed and not result.deleted:
        typer.echo(
            f"{_count(len(result.removed), 'question')} removed from the Markdown:"
            " `push --delete-removed` deletes their notes"
        )
    if result.note_types:
        typer.echo(f"note types {would}brought up to date: {', '.join(result.note_types)}")
    if result.backup:
        typer.echo(f"backup: {printable(str(result.backup))}")
    counts = [
        f"{result.count(status)} {name}"
        for status, name in (("new", "new"), ("updated", "updated"), ("kept", "kept"))
    ]
    counts += [f"{result.count(status)} {name}" for status, name in _RARE if result.count(status)]
    deleted = f", {len(result.deleted)} {'to delete' if result.dry_run else 'deleted'}"
    unchanged = sum(outcome.status == "unchanged" for outcome in result.notes)
    typer.echo(f"{', '.join(counts)}, {unchanged} unchanged{deleted * bool(result.deleted)}")
    for when, report in zip(("before", "after"), result.syncs, strict=False):
        message = f": {report.server_message}" if report.server_message else ""
        name = printable(syncer.name if syncer else "")
        typer.echo(f"synced with {name} {when} the import ({report.kind}){message}")
    if result.dry_run and syncer is not None:
        typer.echo(
            f"would sync with {printable(syncer.name)} before and after (not done: edits made"
            " on other devices since they last synced are not seen by this dry run)"
        )


_RARE = (
    ("conflict", "conflicting"),
    ("forced", "overwritten"),
    ("other note type", "of another note type"),
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
