"""Checking and rendering questions: each question's Markdown is parsed once for both,
on every core for a large project.

Parsing is most of an export's time. Questions are handed out in parts of a deck file;
a worker process reads the cache but writes nothing to it: what it would write comes
back with its part, and the main process writes it, so workers never wait for each
other's lock.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .cache import Cache, Writes, forget_keys
from .check import known_problems, question_problems, read_question, unreadable_lines
from .diagnostics import ERROR, Diagnostic
from .notes import MediaFinder, NoteData, render_note
from .parse import DeckFile, Question
from .render import CardRenderer, question_trees

PARALLEL_FROM = 1500  # questions to parse; below this, starting processes costs more than it saves
PART_SIZE = 500
# Markdown characters in a part (but for one longer question): the notes of a few parts in
# flight are held by the main process, and a part's trees by a worker, however long answers are.
PART_CHARS = 250_000
AHEAD = 2  # parts handed out per worker beyond the one being returned
# Questions taken, at most, to decide whether workers are worth starting: if all are to
# parse, PARALLEL_FROM of them decide first.
LOOK_AHEAD = 2 * PARALLEL_FROM


@dataclass
class Part:
    """Questions of one deck file, and what to do with them."""

    deck_file: DeckFile  # with some of its questions, and every one of its diagnostics
    root: Path  # its decks folder: media files are taken from inside it only
    check: bool = True  # report the problems `check` finds
    render: bool = True  # render notes
    # Render questions with errors too (a preview shows them); else only valid ones, since
    # an export with errors writes nothing.
    render_invalid: bool = False


@dataclass
class Done:
    """A part's notes and problems, and the cache rows it leaves to the main process."""

    notes: list[NoteData] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)
    writes: Writes = field(default_factory=Writes)
    media: set[Path] = field(default_factory=set)  # the media files its notes looked for


@dataclass
class Workers:
    """The worker pool of one export while `run_all` runs it, for the deck files' reader to
    parse a large file's pieces on too (see `parse.read_deck_parts`): a first export forks
    it before the first deck file is read, and it would sit idle while one is read."""

    pool: ProcessPoolExecutor | None = None


def parts_of(questions: tuple[Question, ...]) -> Iterator[tuple[Question, ...]]:
    """The questions in runs of at most PART_SIZE questions and PART_CHARS characters."""
    start = 0
    while start < len(questions):
        end, chars = start + 1, len(questions[start].answer)
        while end < min(len(questions), start + PART_SIZE):
            chars += len(questions[end].answer)
            if chars > PART_CHARS:
                break
            end += 1
        yield questions[start:end]
        start = end


def run(part: Part, cache: Path | None) -> Done:
    """Check and render one part (in a worker process); the cache is read, not written
    (see `Done.writes`)."""
    with Cache(cache) as known:
        return _run_with(part, known)


def _run_with(part: Part, known: Cache) -> Done:
    """`run`, with the cache open: what it puts in `known` comes back in `Done.writes`."""
    deck_file, done = part.deck_file, Done()
    unreadable = unreadable_lines(deck_file)
    file_failed = any(d.severity == ERROR for d in deck_file.diagnostics)
    media = MediaFinder(deck_file.path.parent, part.root)
    with CardRenderer(media_src=media.src) as renderer:
        known.prefetch(question.render_key for question in deck_file.questions)
        for question in deck_file.questions:
            found = question_problems(question) if part.check else []
            known_found = known_problems(question, unreadable, known) if part.check else []
            render = part.render and question.id is not None
            trees = None
            if known_found is None and render and not known.has_fields(question.render_key):
                with contextlib.suppress(RecursionError):  # read_question reports it
                    trees = question_trees(question)
            if known_found is None:
                known_found = read_question(question, part.root, known, trees)
            found += known_found
            failed = file_failed or any(d.severity == ERROR for d in found)
            if render and (part.render_invalid or not failed):
                done.notes.append(render_note(question, renderer, known, media, trees))
            done.problems += found
        done.writes, done.media = known.pending(), media.looked_at
    return done


def run_all(
    parts: Iterable[Part], cache: Path | None, questions: int = 0, shared: Workers | None = None
) -> Iterator[Done]:
    """`run` every part, in order, in worker processes when there is enough to parse;
    their cache rows are written here, part by part.

    Parts are taken from `parts` as they are needed, a few ahead of the one being
    returned: an iterator that reads deck files as it goes holds one at a time. Workers
    are started once the parts taken hold PARALLEL_FROM questions to parse; or, when the
    caller expects the parts to hold that many `questions` and the cache has rendered
    nothing yet (all are to parse), before the first is taken: forked then, they inherit
    none of the parts (each process's memory counts in full). Parts holding up to
    LOOK_AHEAD questions are taken to decide; when they hold too little to parse, they
    run here, and the next ones decide again (an edit in a large file: most of it is
    cached). The pool is `shared` while it runs.
    """
    parts = iter(parts)
    workers = _cores()
    shared = Workers() if shared is None else shared
    with Cache(cache) as main, contextlib.ExitStack() as stack:
        stack.callback(forget_keys)

        def start() -> ProcessPoolExecutor:
            shared.pool = stack.enter_context(_started_pool(workers))
            stack.callback(setattr, shared, "pool", None)
            return shared.pool

        early = workers >= 2 and questions >= PARALLEL_FROM and not main.has_any_fields()
        pool = start() if early else None
        if workers < 2:
            yield from _run_here(parts, main)
            return
        while True:
            taken, to_parse = _take(parts, main)
            if to_parse >= PARALLEL_FROM:
                break
            if not taken:
                return
            yield from _run_here(taken, main)
        pool = pool or start()
        ahead: deque[Future[Done]] = deque()
        for part in itertools.chain(taken, parts):
            ahead.append(pool.submit(run, part, cache))
            if len(ahead) > AHEAD * workers:
                done = ahead.popleft().result()
                main.write(done.writes)
                yield done
        while ahead:
            done = ahead.popleft().result()
            main.write(done.writes)
            yield done


def _run_here(parts: Iterable[Part], main: Cache) -> Iterator[Done]:
    for part in parts:
        done = _run_with(part, main)
        main.write(done.writes)
        yield done


def _take(parts: Iterator[Part], known: Cache) -> tuple[list[Part], int]:
    """Parts until they hold PARALLEL_FROM questions to parse, or LOOK_AHEAD questions;
    and how many they hold to parse."""
    taken: list[Part] = []
    questions = to_parse = 0
    while to_parse < PARALLEL_FROM and questions < LOOK_AHEAD:
        part = next(parts, None)
        if part is None:
            break
        taken.append(part)
        questions += len(part.deck_file.questions)
        to_parse += _to_parse(part, known)
    return taken, to_parse


def _started_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers are running: with `fork`, a pool starts every worker
    on its first task, as a copy of the main process at that moment."""
    pool = ProcessPoolExecutor(workers, initializer=_start_worker)
    pool.submit(int).result()
    return pool


def _to_parse(part: Part, known: Cache) -> int:
    """About how many of a part's questions are not in the cache: those to check or render."""
    count = 0
    known.prefetch((question.render_key for question in part.deck_file.questions), fields=False)
    for question in part.deck_file.questions:
        key = question.render_key
        to_check = part.check and known_problems(question, [], known) is None
        to_render = part.render and question.id and not known.has_fields(key)
        count += bool(to_check or to_render)
    return count


def _start_worker() -> None:
    """In a worker: Ctrl-C is the main process's to handle (it stops the export and
    writes nothing), not a traceback from every worker. A worker also ends with the main
    process, however that one ends (`kill`, SIGTERM): none is left holding the caller's
    output open. Its own parent may not be the main process (with `forkserver`, Python
    3.14's default on Linux), and it may be busy: a thread waits for the main process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    main = multiprocessing.parent_process()
    if main is not None:
        threading.Thread(target=_end_with, args=(main,), daemon=True).start()


def _end_with(main: multiprocessing.process.BaseProcess) -> None:
    main.join()  # returns once the main process has ended
    os._exit(1)


def _cores() -> int:
    cores = (getattr(os, "process_cpu_count", None) or os.cpu_count)() or 1
    return min(cores, 61)  # the most a process pool can have on Windows
