"""Real Markdown, written by others, shows on cards as GitHub shows it.

The corpus is the Markdown description of every installed package that has one (the
READMEs of typer, rich, mistletoe, hypothesis, ruff… installed with the test extras),
plus this repository's README: each heading a question (see `github_reference`), each
compared with what GitHub's renderer, cmark-gfm, makes of the same Markdown.
"""

from __future__ import annotations

from importlib.metadata import distributions
from pathlib import Path

from github_reference import compare

README = Path(__file__).parents[1] / "README.md"


def markdown_descriptions(folder: Path) -> list[Path]:
    files = {}
    for distribution in distributions():
        metadata = distribution.metadata
        description = metadata.get_payload() if metadata else None
        kind = (metadata and metadata.get("Description-Content-Type")) or ""
        if description and "markdown" in kind:
            files[metadata["Name"].lower()] = description
    written = []
    for name, description in sorted(files.items()):
        written.append(folder / f"{name}.md")
        written[-1].write_text(description, encoding="utf-8")
    return written


def test_real_readmes_show_the_same_text_and_keep_every_link(tmp_path: Path) -> None:
    results = compare([README, *markdown_descriptions(tmp_path)])
    assert len(results) >= 300  # enough questions for a rate to mean something
    differing = [f"{r.path.name}:{r.line}: {r.answer}" for r in results if not r.agrees]
    assert len(differing) <= 0.005 * len(results), "\n".join(differing)
    lost = {f"{r.path.name}:{r.line}": sorted(r.links_lost) for r in results if r.links_lost}
    assert lost == {}
