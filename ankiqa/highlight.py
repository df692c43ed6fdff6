"""Code highlighting with Pygments: CSS classes on the card, one stylesheet in the note type."""

from __future__ import annotations

import html
from functools import lru_cache

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from .config import DARK_STYLE, LIGHT_STYLE

# Anki puts `nightMode` on the card's <body> on desktop and AnkiMobile, `night_mode` on AnkiDroid.
NIGHT_MODE_SELECTORS = (".nightMode", ".night_mode")

_FORMATTER = HtmlFormatter(cssclass="highlight", wrapcode=True)


# Names people give code that is not to be highlighted.
PLAIN_TEXT = frozenset({"text", "txt", "plain", "plaintext", "none", "nohighlight"})


def is_known_language(language: str) -> bool:
    return language.lower() in PLAIN_TEXT or lexer_for(language) is not None


@lru_cache(maxsize=256)
def lexer_for(language: str) -> Lexer | None:
    """The lexer for a fence's language name, or None for plain text and for names
    Pygments does not know.

    Code without a known language is never guessed at: guessing is slow and often wrong.
    """
    if not language or language.lower() in PLAIN_TEXT:
        return None
    try:
        return get_lexer_by_name(language, stripnl=False)
    except ClassNotFound:
        return None


def code_block_html(code: str, language: str) -> str:
    """A fenced block as `<div class="highlight"><pre>…`, highlighted when the language is known."""
    lexer = lexer_for(language)
    if lexer is None:
        escaped = html.escape(code, quote=False)
        return f'<div class="highlight"><pre><code>{escaped}</code></pre></div>'
    return highlight(code, lexer, _FORMATTER)


@lru_cache(maxsize=8)
def stylesheet(light: str = LIGHT_STYLE, dark: str = DARK_STYLE) -> str:
    """Token colours for light cards, and for dark ones under Anki's night-mode classes,
    from two Pygments styles."""
    rules = []
    for style, selectors in (
        (light, [".highlight"]),
        (dark, [f"{night} .highlight" for night in NIGHT_MODE_SELECTORS]),
    ):
        formatter = HtmlFormatter(style=style)
        rules += formatter.get_background_style_defs(selectors)
        rules += formatter.get_token_style_defs(selectors)
    return "\n".join(rules) + "\n"
