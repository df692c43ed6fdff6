"""ankiqa.render.CardRenderer: Markdown → the HTML on a card, and the card's stylesheet."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from mistletoe import core_tokens

from ankiqa import CardRenderer, tokens
from ankiqa.notetypes import BASIC
from ankiqa.render import parse_markdown


@pytest.fixture
def renderer() -> Iterator[CardRenderer]:
    with CardRenderer() as card_renderer:
        yield card_renderer


def links(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]*)"', html)


def test_inline_math_keeps_the_tex(renderer: CardRenderer) -> None:
    html = renderer.markdown(r"Then $a_1 * b_2$ and $\{x\}_*$ hold, *really*.")
    assert html == r"<p>Then \(a_1 * b_2\) and \(\{x\}_*\) hold, <em>really</em>.</p>"


def test_math_in_a_question_heading(renderer: CardRenderer) -> None:
    assert renderer.inline("Which formula is $a_1 * b_2$?") == r"Which formula is \(a_1 * b_2\)?"


def test_display_math_inside_a_paragraph(renderer: CardRenderer) -> None:
    html = renderer.markdown("So $$x_1 * y_2 = z_*$$ follows.")
    assert html == r"<p>So \[x_1 * y_2 = z_*\] follows.</p>"


def test_display_math_fenced_by_dollar_lines(renderer: CardRenderer) -> None:
    tex = "\\sum_{i=1}^n a_i * b_i\n\n* not a list\n# not a heading"
    html = renderer.markdown(f"Before.\n\n$$\n{tex}\n$$\n\nAfter.")
    assert f"\\[{tex}\\]" in html
    assert "<li>" not in html and "<h1>" not in html and "<em>" not in html
    assert html.startswith("<p>Before.</p>") and html.endswith("<p>After.</p>")


def test_dollar_amounts_stay_text(renderer: CardRenderer) -> None:
    assert renderer.markdown("It costs $5 or $10.") == "<p>It costs $5 or $10.</p>"


def test_math_is_html_escaped(renderer: CardRenderer) -> None:
    assert renderer.markdown("$a<b$") == r"<p>\(a&lt;b\)</p>"
    html = renderer.markdown("$$\na < b & c\n$$")
    assert r"\[a &lt; b &amp; c\]" in html
    assert "<b" not in html


def test_gfm_table(renderer: CardRenderer) -> None:
    html = renderer.markdown("| Symbol | Meaning |\n|---|:---:|\n| `_` | sub *script* |")
    assert "<table>" in html
    assert re.search(r"<th[^>]*>Symbol</th>", html)
    assert re.search(r"<td[^>]*><code>_</code></td>", html)
    assert re.search(r"<td[^>]*>sub <em>script</em></td>", html)


def test_strikethrough(renderer: CardRenderer) -> None:
    assert renderer.markdown("~~gone~~ kept") == "<p><del>gone</del> kept</p>"


@pytest.mark.parametrize(
    ("markdown", "href", "text_after"),
    [
        ("See https://example.com/a.", "https://example.com/a", "</a>."),
        ("(see https://example.com/b).", "https://example.com/b", "</a>)."),
        ("Is it https://example.com/c?", "https://example.com/c", "</a>?"),
        ("Wiki: https://w.org/wiki/Foo_(bar), ok", "https://w.org/wiki/Foo_(bar)", "</a>, ok"),
        ("Go to www.example.com/x!", "http://www.example.com/x", "</a>!"),
        ("http://example.com/q?a=1&b=2", "http://example.com/q?a=1&amp;b=2", "</a></p>"),
    ],
)
def test_bare_urls_are_links_without_trailing_punctuation(
    renderer: CardRenderer, markdown: str, href: str, text_after: str
) -> None:
    html = renderer.markdown(markdown)
    assert links(html) == [href]
    assert text_after in html


def test_seed_style_bare_url_paragraph(renderer: CardRenderer) -> None:
    html = renderer.markdown("https://www.agiliq.com/blog/2013/07/basics-wsgi/")
    assert html == (
        '<p><a href="https://www.agiliq.com/blog/2013/07/basics-wsgi/">'
        "https://www.agiliq.com/blog/2013/07/basics-wsgi/</a></p>"
    )


def test_urls_in_code_and_links_are_not_linked_twice(renderer: CardRenderer) -> None:
    html = renderer.markdown(
        "`https://in.code/` and [https://shown.example](https://target.example) "
        "and <https://auto.example> and [text](https://plain.example)"
    )
    assert "<code>https://in.code/</code>" in html
    assert links(html) == [
        "https://target.example",
        "https://auto.example",
        "https://plain.example",
    ]
    fenced = renderer.markdown("```\ncurl https://example.com/\n```")
    assert links(fenced) == []


def test_links_found_for_bare_urls_are_the_links_rendered(renderer: CardRenderer) -> None:
    # Links are found once per text, for bare URLs and math and for the card; a second
    # paragraph with the same text is found again, with its code spans.
    text = "See [the `docs`](https://a.example) at https://b.example, or `c`."
    html = renderer.markdown(f"{text}\n\n{text}")
    paragraph = (
        '<p>See <a href="https://a.example">the <code>docs</code></a> at'
        ' <a href="https://b.example">https://b.example</a>, or <code>c</code>.</p>'
    )
    assert html == f"{paragraph}\n{paragraph}"


@pytest.mark.parametrize(
    "text",
    ["plain text", "`a` and ``b`c`` and \\`d` `e", "![x` `y", "[a `b` c", "``` unclosed `x`"],
)
def test_text_without_emphasis_or_links_finds_what_mistletoe_finds(text: str) -> None:
    # mistletoe's core-token search is skipped in text without `*`, `_` or `]`: it finds
    # no link or emphasis there, and the same code spans, in the same order.
    with CardRenderer():
        root = parse_markdown("")
        core_tokens._code_matches = []
        assert tokens._find_core_tokens(text, root) == []
        ours, core_tokens._code_matches = core_tokens._code_matches, []
        assert core_tokens.find_core_tokens(text, root) == []
        theirs, core_tokens._code_matches = core_tokens._code_matches, []
    assert [match.span() for match in ours] == [match.span() for match in theirs]


def test_line_breaks_and_angle_autolinks_where_their_characters_are(
    renderer: CardRenderer,
) -> None:
    html = renderer.markdown("a  \nb\\\nc <https://x.example> d")
    assert html == '<p>a<br>\nb<br>\nc <a href="https://x.example">https://x.example</a> d</p>'


def test_fenced_code_is_highlighted_with_css_classes(renderer: CardRenderer) -> None:
    html = renderer.markdown("```python\nif x < 1:\n    print('<b>')\n```")
    assert html.startswith('<div class="highlight">')
    assert '<span class="k">if</span>' in html
    assert "&lt;" in html and "<b>" not in html
    assert "style=" not in html  # colours come from the note type's CSS


def test_unlabelled_code_is_not_guessed(renderer: CardRenderer) -> None:
    code = "#!/usr/bin/env python\nimport os\nif a < b:\n    pass\n"
    html = renderer.markdown(f"```\n{code}```")
    assert "<span" not in html
    assert "if a &lt; b:" in html
    assert html.startswith('<div class="highlight"><pre><code>')


def test_unknown_language_is_plain_code(renderer: CardRenderer) -> None:
    html = renderer.markdown("```no-such-language\nx <- y\n```")
    assert "<span" not in html
    assert "x &lt;- y" in html


def test_inline_code_is_escaped(renderer: CardRenderer) -> None:
    assert renderer.inline("What does `<br>` do?") == "What does <code>&lt;br&gt;</code> do?"


def test_no_script_or_cdn_anywhere(renderer: CardRenderer) -> None:
    html = renderer.markdown(
        "Math $a_1$ and $$b_2$$\n\n$$\nc_3\n$$\n\n```js\nlet s = '<script>';\n```\n\n"
        "| a |\n|---|\n| $x$ |\n"
    )
    template = BASIC.templates[0]
    for text in (html, BASIC.css(), template.front, template.back):
        lowered = text.lower()
        assert "<script" not in lowered
        assert "cdn" not in lowered
        assert "mathjax" not in lowered


def rule(css: str, selector: str, declaration: str) -> bool:
    """Whether a rule of `css` lists `selector` and sets `declaration`."""
    pattern = rf"(?:^|,\s*){re.escape(selector)}\s*(?:,[^{{]*)?\{{[^}}]*{declaration}"
    return re.search(pattern, css, re.MULTILINE) is not None


def test_note_type_css_has_light_and_night_mode_highlighting() -> None:
    css = BASIC.css()
    assert rule(css, ".highlight .k", "color")  # keywords, light theme
    for night in (".nightMode", ".night_mode"):
        assert rule(css, f"{night} .highlight .k", "color")
        assert rule(css, f"{night} .highlight", "background")
    assert "max-width" in css  # readable on a phone: images and text fit the screen


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("[a $x$ b](u) and $y$", r'<p><a href="u">a \(x\) b</a> and \(y\)</p>'),
        ("`$z$` and [$c](d$) $e$", r'<p><code>$z$</code> and <a href="d$">$c</a> \(e\)</p>'),
        ("<b>$f</b>$ and $g$", r"<p><b>$f</b>$ and \(g\)</p>"),
    ],
)
def test_math_never_crosses_code_links_or_html(
    renderer: CardRenderer, markdown: str, html: str
) -> None:
    assert renderer.markdown(markdown) == html


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        # A URL binds before the strikethrough, math, code and emphasis inside it.
        (
            "See https://x.edu/~rwh/ and https://y.edu/~jrs/ now.",
            '<p>See <a href="https://x.edu/~rwh/">https://x.edu/~rwh/</a> and'
            ' <a href="https://y.edu/~jrs/">https://y.edu/~jrs/</a> now.</p>',
        ),
        (
            "https://x.org/?a=$x$&b=1 https://x.com/_a_",
            '<p><a href="https://x.org/?a=$x$&amp;b=1">https://x.org/?a=$x$&amp;b=1</a>'
            ' <a href="https://x.com/_a">https://x.com/_a</a>_</p>',
        ),
        # Never inside brackets, as in cmark-gfm; e-mail addresses are.
        (
            "[see www.a.com] [see a@b.com]",
            '<p>[see www.a.com] [see <a href="mailto:a@b.com">a@b.com</a>]</p>',
        ),
        (
            "Interval \\[0, 1) then https://x.org",
            '<p>Interval [0, 1) then <a href="https://x.org">https://x.org</a></p>',
        ),
        (
            "see https://a.com/x; next",
            '<p>see <a href="https://a.com/x">https://a.com/x</a>; next</p>',
        ),
        (
            "Www.Example.com and <b>https://a.com</b>",
            '<p>Www.Example.com and <b><a href="https://a.com">https://a.com</a></b></p>',
        ),
        ("mailto:foo@bar.baz", '<p><a href="mailto:foo@bar.baz">mailto:foo@bar.baz</a></p>'),
        ("_www.a.com_", '<p><em><a href="http://www.a.com">www.a.com</a></em></p>'),
    ],
)
def test_autolinks_as_cmark_gfm_makes_them(
    renderer: CardRenderer, markdown: str, html: str
) -> None:
    assert renderer.markdown(markdown) == html


def test_text_that_was_quadratic_renders_whole(renderer: CardRenderer) -> None:
    """Strikethrough, autolink trimming and math took 7 to 30 s on each of these when
    they were quadratic; now well under a second together. Time is the benchmark's to
    measure: this proves they render, and a return to quadratic shows as a slow suite."""
    for text in ("takes ~5 min, " * 6500, "http://a" + "&a;" * 30000, "$a$ `c` " * 11250):
        assert len(renderer.markdown(text)) > len(text) // 2


@pytest.mark.parametrize("first", ["ankiqa", "mistletoe"])
def test_emphasis_knows_symbols_as_punctuation_whichever_is_imported_first(first: str) -> None:
    """mistletoe's own table is skipped on import (see `punctuation`): ankiqa's stands in
    its place, and `sys.maxunicode` is as it was."""
    other = {"ankiqa": "mistletoe", "mistletoe": "ankiqa"}[first]
    script = (
        f"import sys, {first}, {other}\n"
        "from mistletoe import core_tokens\n"
        "from ankiqa.punctuation import PUNCTUATION\n"
        "assert core_tokens.punctuation is PUNCTUATION\n"
        "assert sys.maxunicode == 0x10FFFF\n"
        "print(ankiqa.CardRenderer().markdown('*£*a'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # `£` (Sc) is punctuation, so this `*` before a letter closes nothing: CommonMark
    # 0.31's `*£*bravo.` example (mistletoe's own table, P only, would make it <em>).
    assert done.stdout.strip() == "<p>*£*a</p>"
