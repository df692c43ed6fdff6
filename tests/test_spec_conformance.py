"""Cards render the CommonMark 0.31.2 and GFM 0.29 specifications' examples as the
specifications say (see `spec_examples` for how an example becomes a card)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from spec_examples import DELIBERATE, SUITES, examples, results

README = Path(__file__).parents[1] / "README.md"
# Divergences left, by suite and example number, each with its reason: none today.
KNOWN_DIVERGENCES: dict[tuple[str, int], str] = {}
PASS_RATE = 0.995


@pytest.mark.parametrize("suite", SUITES)
def test_the_suite_renders_as_the_specification_says(suite: str, tmp_path: Path) -> None:
    found = list(results(suite, tmp_path))
    assert len(found) == len(examples(suite)) > 25
    applicable = [result for result in found if result.applicable]
    failed = {
        (suite, r.example.number): f"{r.example.section}\n  card: {r.card}\n  spec: {r.expected}"
        for r in applicable
        if not r.passed
    }
    known = {key for key in KNOWN_DIVERGENCES if key[0] == suite}
    assert failed.keys() == known, "\n".join(f"{k}: {v}" for k, v in failed.items())
    assert (len(applicable) - len(failed)) / len(applicable) >= PASS_RATE
    not_applicable = Counter(result.why_not for result in found if not result.applicable)
    assert not_applicable.keys() <= DELIBERATE.keys()
    # Exclusions stay few: each rule covers what it says, not a suite's failures.
    assert sum(not_applicable.values()) <= 0.06 * len(found), not_applicable


def test_structure_exclusions_are_headings_or_unclosed_fences(tmp_path: Path) -> None:
    """The rule that makes an example "not one question's answer" excludes only examples
    with `#`, `##` or `###` headings outside code, or with a fence that never closes."""
    for suite in SUITES:
        for result in results(suite, tmp_path):
            if result.why_not == "structure":
                markdown = result.example.markdown
                has_heading = any(
                    line.lstrip(" ").startswith("#") and len(line) - len(line.lstrip(" ")) < 4
                    for line in markdown.splitlines()
                )
                fences = markdown.count("```") + markdown.count("~~~")
                assert has_heading or fences, result.example


def test_every_deliberate_difference_is_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    for rule in DELIBERATE:
        assert f"`{rule}`" in readme, rule
