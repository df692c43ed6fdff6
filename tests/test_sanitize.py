"""HTML hygiene: raw HTML that people use reaches the card, nothing that runs code does,
and ankiqa's own HTML passes the sanitizer untouched."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from anki_client import (
    import_into_fresh_collection,
    import_package,
    notes_by_guid,
    open_collection,
)
from conftest import write_deck

import ankiqa
from ankiqa.render import CardRenderer, parse_markdown
from ankiqa.sanitize import Removal, clean, removals, url_scheme

# Elements that could run code or take over the card.
UNSAFE_TAGS = {"script", "iframe", "object", "embed", "style", "form", "svg", "math"}
UNSAFE_TAGS |= {"base", "meta", "link", "frame", "applet"}


def field(markdown: str) -> str:
    with CardRenderer() as renderer:
        return renderer.markdown(markdown)


def unsanitized(markdown: str) -> str:
    with CardRenderer() as renderer:
        return renderer.render(parse_markdown(markdown))


class _Dom(HTMLParser):
    """Elements, attributes and text as a browser sees them: `<br />` is `<br>`,
    `&quot;` is `"`, `open` is `open=""`; style declarations without spaces (the sanitizer
    normalises them)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = [(k, "".join((v or "").split()) if k == "style" else v or "") for k, v in attrs]
        self.events.append(("start", tag, tuple(sorted(attrs))))

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("br", "hr", "img"):
            self.events.append(("end", tag))

    def handle_data(self, data: str) -> None:
        if self.events and self.events[-1][0] == "text":
            self.events[-1] = ("text", self.events[-1][1] + data)
        else:
            self.events.append(("text", data))


def dom(html: str) -> list[tuple]:
    parser = _Dom()
    parser.feed(html.strip())
    parser.close()
    return parser.events


def assert_safe(html: str) -> None:
    """No element, attribute or URL that could run code."""
    for event in dom(html):
        if event[0] == "start":
            _, tag, attrs = event
            assert tag not in UNSAFE_TAGS, html
            if tag == "input":  # a task list's checkbox: always disabled
                assert dict(attrs).get("disabled") == "", html
                assert dict(attrs).get("type", "checkbox") == "checkbox", html
            for name, value in attrs:
                assert not name.startswith("on"), html
                if name in ("href", "src"):
                    assert url_scheme(value) in (None, "http", "https", "mailto"), html


OWN_HTML = r"""Text with **bold**, *em*, ~~strike~~, `code <b>`, and a hard break\
after it. Math $a<b$, $$x^2 & y$$ and a URL https://example.com/a?b=1&c=2 or <https://x.org>
and <me@example.com>. Entities: &copy; &amp; "quotes" 'single'.

| Left | Centre | Right |
|:-----|:------:|------:|
| 1    | `2`    | [3](http://example.com "title") |

```python
def f(x):
    return x < 1 and "s" & 'q'  # <script>
```

```js
const a = `${b}` && c;
```

```
no language <i>
```

3. third
4. fourth

> a quote
> - with a list

![alt "text"](picture.png "A title")

---

$$
\frac{1}{2} < 3
$$
"""


def test_own_html_is_unchanged_by_the_sanitizer() -> None:
    raw = unsanitized(OWN_HTML)
    assert 'class="highlight"' in raw and '<span class="k">' in raw and 'align="center"' in raw
    assert dom(field(OWN_HTML)) == dom(raw)


def test_cleaning_twice_changes_nothing() -> None:
    once = field(OWN_HTML)
    assert clean(once) == once


@pytest.mark.parametrize(
    "markdown",
    [
        "Press <kbd>Ctrl</kbd>+<kbd>C</kbd>.",
        "H<sub>2</sub>O and x<sup>2</sup><br>next line",
        "<mark>marked</mark> and <abbr title='HyperText'>HTML</abbr>",
        "<details open>\n<summary>More</summary>\n\nHidden *text*.\n\n</details>",
        '<span style="color: red">red</span> <span class="note">classed</span>',
        "<ruby>漢<rt>kan</rt></ruby>",
    ],
)
def test_raw_html_people_use_passes(markdown: str) -> None:
    assert dom(field(markdown)) == dom(unsanitized(markdown))
    assert removals(markdown) == []


@pytest.mark.parametrize(
    ("markdown", "kept"),
    [
        ('<script>alert("x")</script>\n\nAfter.', "<p>After.</p>"),
        ('<SCRIPT src="https://evil.example/x.js"></SCRIPT>Text', "Text"),
        ("An <img src=pic.png onerror=alert(1)> image", '<img src="pic.png">'),
        ("[click](javascript:alert(1))", "<a>click</a>"),
        ("[click](JaVaScRiPt:alert(1))", "<a>click</a>"),
        ("[click](&#106;avascript:alert(1))", "<a>click</a>"),
        ('<a href="javascript:alert(1)">click</a>', "<a>click</a>"),
        ('<a href="java\tscript:alert(1)">click</a>', "<a>click</a>"),
        ('<a href=" javascript:alert(1)">click</a>', "<a>click</a>"),
        ("<javascript:alert(1)>", "<a>javascript:alert(1)</a>"),
        ('<a href="vbscript:msgbox(1)">vb</a>', "<a>vb</a>"),
        ("![x](data:text/html;base64,PHNjcmlwdD4=)", '<img alt="x">'),
        ('<a href="data:text/html,<script>alert(1)</script>">d</a>', "<a>d</a>"),
        ('<iframe src="https://example.com/"></iframe>Rest', "Rest"),
        ('<object data="x.swf"></object><embed src="y.swf">Rest', "Rest"),
        ("<style>body { display: none }</style>\n\nStyled", "Styled"),
        ('<svg onload="alert(1)"><circle r="1"/></svg>Rest', "Rest"),
        ('<form action="https://evil.example"><input value="x"></form>Rest', "Rest"),
        ('<meta http-equiv="refresh" content="0;url=https://evil.example">Rest', "Rest"),
        ('<div onclick="alert(1)" style="position: fixed">Box</div>', "Box</div>"),
        ('<span style="color: red; background-image: url(javascript:alert(1))">s</span>', "red"),
    ],
)
def test_what_could_run_code_never_reaches_the_field(markdown: str, kept: str) -> None:
    html = field(markdown)
    assert_safe(html)
    assert kept in html
    # GFM's tag filter shows <script>, <style> and <iframe> as text, as GitHub does: inert.
    if not markdown.lower().startswith(("<javascript:", "<script", "<style", "<iframe")):
        assert "alert" not in html and "position" not in html and "display" not in html


def test_heading_is_sanitized_too() -> None:
    with CardRenderer() as renderer:
        front = renderer.inline('Why <img src=x onerror="alert(1)"> and <kbd>Tab</kbd>?')
    assert front == 'Why <img src="x"> and <kbd>Tab</kbd>?'


def test_removals_name_what_goes_and_where() -> None:
    fragment = '<p>\n  <img src="a.png"\n       onerror="x()">\n<font color=red>f</font>\n'
    assert removals(fragment) == [
        Removal(3, 8, "`onerror` attribute of `<img>`", True),
        Removal(4, 1, "`<font>` element", False, kind="tag-only"),
    ]
    assert removals("<textarea>") == [Removal(1, 1, "`<textarea>`", True, kind="as-text")]
    assert removals('<a href="ftp://x">f</a>') == [Removal(1, 4, "`ftp:` URL in `<a href>`", False)]
    assert removals('<a href="https://x" title="t">ok</a><img src="p.png" alt="a">') == []


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("javascript:alert(1)", "javascript"),
        ("  JavaScript:x", "javascript"),
        ("java\tscr\nipt:x", "javascript"),
        ("\x01javascript:x", "javascript"),
        ("https://example.com", "https"),
        ("picture.png", None),
        ("images/a:b.png", None),
        ("#anchor", None),
    ],
)
def test_url_scheme_as_a_browser_reads_it(url: str, scheme: str | None) -> None:
    assert url_scheme(url) == scheme


HOSTILE_DECK = """\
# Hostile

### Which <kbd>keys</kbd> <img src=x onerror="alert('front')">?

<script>alert("block")</script>

Inline <img src="dot.png" onerror="alert('inline')"> and [a link](javascript:alert('md'))
and <a href="javascript:alert('html')">an HTML link</a>.

<details><summary>Kept</summary>

Still here.

</details>

question id: 0f5d1e2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f
"""


def test_scripts_are_gone_from_a_real_anki_collection(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "decks" / "hostile.md", HOSTILE_DECK)  # its images are missing
    apkg = tmp_path / "hostile.apkg"
    ankiqa.export([deck.parent], output=apkg, now=1_700_000_000)

    col = open_collection(tmp_path / "col")
    try:
        assert import_package(col, apkg).new == 1
        (note,) = notes_by_guid(col).values()
    finally:
        col.close()
    front, back = note["fields"]["Question"], note["fields"]["Answer"]
    for html in (front, back):
        assert_safe(html)
    assert "alert" not in front
    # The <script> block shows as text (GFM's tag filter), and is the only "alert" left.
    assert back.startswith('&lt;script&gt;alert("block")&lt;/script&gt;\n<p>')
    assert back.count("alert") == 1
    assert "<kbd>keys</kbd>" in front
    assert "<summary>Kept</summary>" in back and "Still here." in back
    assert "<a>a link</a>" in back and "<a>an HTML link</a>" in back


def test_control_characters_never_reach_a_field_and_anki_takes_the_package(tmp_path: Path) -> None:
    """U+001F separates Anki's fields: one in a field made Anki reject the whole package."""
    deck = write_deck(
        tmp_path / "decks" / "ctl.md", "### Q\x1f?\n\nA\x1fB\x07C\n\nquestion id: ctl\n"
    )
    found = [(d.line, d.column, d.code) for d in ankiqa.check_decks([deck.parent])]
    assert (1, 6, "control-character") in found and (3, 2, "control-character") in found
    apkg = tmp_path / "ctl.apkg"
    ankiqa.export([deck.parent], output=apkg, now=1_700_000_000)
    counts, notes = import_into_fresh_collection(apkg, tmp_path / "col")
    (note,) = notes.values()
    assert counts.new == 1
    assert (note["fields"]["Question"], note["fields"]["Answer"]) == ("Q?", "<p>ABC</p>")


def test_tex_links_obey_the_url_rules() -> None:
    html = field("$\\href{javascript:alert(1)}{x}$ and $$\\url{https://ok.org}$$")
    assert html == "<p>\\(\\href{#}{x}\\) and \\[\\url{https://ok.org}\\]</p>"
