"""What mistletoe alone costs on a deck's answers: the floor under any export that
renders them with it, whatever is built around it.

    python benchmarks/floor.py DECK [DECK ...]

Each answer (a question's Markdown, as ankiqa reads it) is parsed and rendered to HTML
by mistletoe's own `Document` and `HtmlRenderer`, one after the other in this process;
prints the CPU seconds that took. Reading the deck files is not counted.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from mistletoe import Document
from mistletoe.html_renderer import HtmlRenderer

from ankiqa.discover import find_sources
from ankiqa.parse import read_deck_file


def mistletoe_seconds(answers: list[str]) -> float:
    """CPU seconds of parsing and rendering every answer with plain mistletoe."""
    start = time.process_time()
    with HtmlRenderer() as renderer:
        for answer in answers:
            renderer.render(Document(answer))
    return time.process_time() - start


def deck_answers(paths: list[Path]) -> list[str]:
    """The answers of the deck files that `ankiqa export paths` would read."""
    sources, _ = find_sources(paths)
    decks = [read_deck_file(source.path) for source in sources]
    return [question.answer for deck in decks for question in deck.questions]


if __name__ == "__main__":
    print(f"{mistletoe_seconds(deck_answers([Path(arg) for arg in sys.argv[1:]])):.2f}")
