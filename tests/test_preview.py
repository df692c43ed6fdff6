"""`ankiqa preview`, tested in a real browser: Debian's chromium, driven by Selenium.

Screenshots go to `test-artifacts/` (or `$ANKIQA_ARTIFACTS`), to look at."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SEED_DECKS, TESTS
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from test_reproducible import PNG

import ankiqa
from ankiqa.preview import cards, preview_html

ARTIFACTS = Path(os.environ.get("ANKIQA_ARTIFACTS", TESTS.parent / "test-artifacts"))
RICH = """\
### What does this code do, with $x^2$?

```python
def square(x):
    return x * x
```

| n | n² |
|---|----|
| 2 | 4  |

![a dot](dot.png) and $$\\sum_{i=1}^n i = \\frac{n(n+1)}{2}$$

question id: rich-1
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    driver_path = shutil.which("chromedriver")
    assert driver_path, "the browser tests need Debian's chromium and chromium-driver"
    options = Options()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1000,1400"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def page(tmp_path: Path) -> tuple[Path, int]:
    """A preview of the seed deck, the cloze and reversed fixture and a rich deck."""
    decks = tmp_path / "decks"
    shutil.copytree(SEED_DECKS, decks, ignore=shutil.ignore_patterns("ankiqa-state.jsonl"))
    shutil.copy(TESTS / "fixtures" / "kinds.md", decks)
    (decks / "rich.md").write_text(RICH, encoding="utf-8")
    (decks / "dot.png").write_bytes(PNG)
    output = tmp_path / "preview.html"
    output.write_text(preview_html([decks]), encoding="utf-8")
    count = sum(len(cards(note)) for note in ankiqa.build_decks([decks]))
    return output, count


def screenshot(browser: webdriver.Chrome, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"preview-{name}.png"))


def test_the_preview_shows_every_card_as_anki_would(browser, page) -> None:
    output, count = page
    browser.get(output.as_uri())
    entries = browser.find_elements(By.CSS_SELECTOR, ".entry")
    assert len(entries) == count == 6 + 8 + 1  # seed; 3 + 3 clozes and 2 reversed; rich
    screenshot(browser, "light")

    # Code is highlighted, tables and images are there, math is drawn (MathML, not TeX).
    assert browser.find_elements(By.CSS_SELECTOR, ".highlight span.k")  # `def`, `return`
    assert browser.find_elements(By.CSS_SELECTOR, "table td")
    (image,) = {img.get_attribute("src")[:22] for img in browser.find_elements(By.TAG_NAME, "img")}
    assert image == "data:image/png;base64,"
    assert len(browser.find_elements(By.TAG_NAME, "math")) >= 3
    rich = next(entry for entry in entries if "rich-1" in entry.text)
    assert "\\(" not in rich.text and "\\[" not in rich.text

    # A cloze is hidden on the front and shown on the back.
    capital = next(
        entry for entry in entries if "cloze-1" in entry.text and "Cloze 2" in entry.text
    )
    front, back = capital.find_elements(By.CSS_SELECTOR, ".side > .card")
    assert "[a city]" in front.text and "Paris" not in front.text and "Paris" in back.text

    # Night mode changes a card's computed background; a phone's width narrows the page.
    card = browser.find_element(By.CSS_SELECTOR, ".side > .card")
    light = card.value_of_css_property("background-color")
    browser.find_element(By.ID, "night").click()
    assert card.value_of_css_property("background-color") != light
    browser.find_element(By.ID, "phone").click()
    assert browser.find_element(By.CSS_SELECTOR, ".entries").size["width"] <= 390
    screenshot(browser, "night-phone")

    # The filter keeps the cards whose text, deck, tag, file or id match.
    browser.find_element(By.ID, "filter").send_keys("gunicorn wsgi")
    visible = [entry for entry in entries if entry.is_displayed()]
    assert 0 < len(visible) < count and all("unicorn" in entry.text.lower() for entry in visible)

    # Nothing was loaded from the network: every resource is the page itself or data.
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map((entry) => entry.name)"
    )
    assert all(name.startswith(("data:", "file:")) for name in resources), resources


def test_problems_stand_at_their_card(browser, tmp_path: Path) -> None:
    decks = tmp_path / "decks"
    shutil.copytree(SEED_DECKS, decks, ignore=shutil.ignore_patterns("ankiqa-state.jsonl"))
    output = tmp_path / "preview.html"
    output.write_text(preview_html([decks]), encoding="utf-8")
    browser.get(output.as_uri())
    (problem,) = browser.find_elements(By.CSS_SELECTOR, ".problems li")
    assert "web-servers.md:72:1: warning[malformed-id]" in problem.text
    entry = problem.find_element(By.XPATH, "./ancestor::section")
    assert "bb7d9a13-34a0-4973-86b7-65e4293a08f" in entry.text


def test_the_preview_reports_its_progress(tmp_path: Path) -> None:
    decks = tmp_path / "decks"
    shutil.copytree(SEED_DECKS, decks, ignore=shutil.ignore_patterns("ankiqa-state.jsonl"))
    calls: list[tuple[int, int]] = []
    preview_html([decks], progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (6, 6)
