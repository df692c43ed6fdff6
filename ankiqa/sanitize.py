"""The last step of every card field: only HTML that cannot run code reaches Anki.

Anki shows cards in a web view that runs JavaScript, on the desktop and on phones, so a
shared deck must not carry scripts. Markdown allows raw HTML, which people use for `<kbd>`,
`<sup>`, `<details>` and the like; nh3 (a binding of the Rust sanitizer ammonia) parses
each field as a browser would and keeps only the elements, attributes and URL schemes
listed here. Everything else goes: `<script>` and `<style>` with their content, `<iframe>`,
`<object>`, forms, event handlers (`onerror=`…), and `javascript:`/`data:` URLs.

`removals` tells `ankiqa check` what the sanitizer will take out of a raw HTML fragment,
so the author hears about it; it reads the fragment with the standard library's parser
and the same lists, and never decides what reaches a card.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

import nh3

# ammonia's defaults: text formatting, lists, tables, images, links, <details>, <kbd>,
# <sub>, <sup>, <mark>, <ruby>… Nothing in them runs code. Also GFM's footnotes section,
# and task lists' checkboxes, which are always disabled checkboxes (see `cleaner`).
ALLOWED_TAGS = frozenset(nh3.ALLOWED_TAGS | {"section", "input"})

# GFM's tag filter: raw HTML that would swallow the rest of the card as text or code
# shows as text instead (`<textarea>` is written `&lt;textarea>`).
TAG_FILTER = frozenset(
    {"title", "textarea", "style", "xmp", "iframe", "noembed", "noframes", "script", "plaintext"}
)

# Colours and emphasis, as Anki's own editor writes them; nothing that moves or hides
# things (`position`, `display`) or loads anything (`background-image`).
STYLE_PROPERTIES = frozenset(
    {"color", "background-color", "font-weight", "font-style", "text-decoration", "text-align"}
)

ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    **{tag: frozenset(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": frozenset({"title", "lang", "dir"}),
    # Pygments' highlighting and the math blocks are classes on <div>, <span> and <code>.
    "div": frozenset({"class", "style"}),
    "span": frozenset({"class", "style"}),
    "code": frozenset({"class"}),
    "pre": frozenset({"class"}),
    "p": frozenset({"style"}),
    "mark": frozenset({"style"}),
    "td": frozenset(nh3.ALLOWED_ATTRIBUTES["td"]) | {"style"},
    "th": frozenset(nh3.ALLOWED_ATTRIBUTES["th"]) | {"style"},
    "details": frozenset({"open"}),
    "section": frozenset({"class"}),
    "input": frozenset({"checked"}),  # `type` may only be "checkbox": see `cleaner`
    # Footnote links jump within the card: `fn1`, `fnref1`… (see `_FOOTNOTE_ID`).
    "a": frozenset(nh3.ALLOWED_ATTRIBUTES["a"]) | {"id"},
    "li": frozenset({"id"}),
    "img": frozenset(nh3.ALLOWED_ATTRIBUTES["img"]) | {"title"},
}

# Relative URLs (the media files of the deck) are always allowed.
URL_SCHEMES = frozenset({"http", "https", "mailto"})

# Removed with everything inside them, not just the tags: their content is code.
CONTENT_REMOVED = frozenset({"script", "style", "noscript"})

# For messages only: what is removed because it could run code or take over the card,
# rather than merely because it is not on the lists.
DANGEROUS_TAGS = frozenset(
    {"script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg"}
    | {"math", "base", "link", "meta", "form", "button", "textarea", "select"}
)
DANGEROUS_SCHEMES = frozenset({"javascript", "vbscript", "data"})
URL_ATTRIBUTES = frozenset({"href", "src", "cite"})


def cleaner(media_src: Callable[[str], str] | None = None) -> nh3.Cleaner:
    """A cleaner that removes from HTML everything not on the lists above. With
    `media_src`, the `src` of every image, written in Markdown or as raw `<img>`, is
    replaced by what `media_src` gives for it (the name of the packaged file)."""

    def attributes(element: str, attribute: str, value: str) -> str | None:
        if attribute == "id":
            return value if _FOOTNOTE_ID.fullmatch(value) else None
        if media_src and (element, attribute) == ("img", "src"):
            return media_src(value)
        return value

    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(CONTENT_REMOVED),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        filter_style_properties=set(STYLE_PROPERTIES),
        link_rel=None,  # keep <a> as rendered, without an added rel="noopener noreferrer"
        strip_comments=True,
        attribute_filter=attributes,
        # Only a disabled checkbox; one forced attribute, so the order of attributes
        # (which nh3 does not fix for several) stays the same from run to run.
        tag_attribute_values={"input": {"type": {"checkbox"}}},
        set_tag_attribute_values={"input": {"disabled": ""}},
    )


_CLEANER = cleaner()
_FOOTNOTE_ID = re.compile(r"fn[0-9]{1,4}|fnref[0-9]{1,4}(?:-[0-9]{1,4})?")
_TAG = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)"
    r"(?:\s+[^\s\"'>/=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*\s*/?>"
)


def filter_raw_html(fragment: str) -> str:
    """Raw HTML from a deck, before it joins the card: tags of the tag filter become
    text, and the tags (only the tags) of elements that `clean` does not keep are taken
    out, so their text stays. The HTML parser inside `clean` would otherwise drop the
    content of some unknown elements (`<int>`, `<set>`: MathML names), or read the rest
    of the card as text (`<textarea>`)."""

    def tag(match: re.Match) -> str:
        name = match.group(2).lower()
        if name in TAG_FILTER:
            return "&lt;" + match.group()[1:]
        return match.group() if name in ALLOWED_TAGS else ""

    return _TAG.sub(tag, fragment)


def clean(html: str) -> str:
    """`html` with everything not on the lists above removed."""
    return _CLEANER.clean(html)


_URL_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
_C0_OR_SPACE = "".join(map(chr, range(0x21)))
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")


def url_scheme(url: str) -> str | None:
    """The scheme of a URL as a browser reads it (`java\\tscript:` is `javascript`), or None
    for a relative URL."""
    match = _URL_SCHEME.match(_TAB_OR_NEWLINE.sub("", url.strip(_C0_OR_SPACE)))
    return match.group(1).lower() if match else None


def url_allowed(url: str) -> bool:
    scheme = url_scheme(url)
    return scheme is None or scheme in URL_SCHEMES


@dataclass(frozen=True)
class Removal:
    """Something `clean` takes out of a fragment; `line` and `column` are 1-based, in the
    fragment."""

    line: int
    column: int
    what: str  # for a message: "`<script>` element", "`onerror` attribute"…
    dangerous: bool
    kind: str = "removed"  # or "as-text" (the tag filter), "tag-only" (the text stays)


def removals(fragment: str) -> list[Removal]:
    """What `clean` removes from a raw HTML fragment, element by element."""
    finder = _RemovalFinder()
    try:
        finder.feed(fragment)
        finder.close()
    except AssertionError:  # html.parser gives up on some markup (`<![x]>`); nh3 does not
        pass
    return finder.found


def image_sources(fragment: str) -> list[str]:
    """The `src` of every `<img>` in a raw HTML fragment."""
    finder = _ImageFinder()
    try:
        finder.feed(fragment)
        finder.close()
    except AssertionError:  # see removals
        pass
    return finder.sources


class _ImageFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.sources += [value for name, value in attrs if name == "src" and value]

    handle_startendtag = handle_starttag


class _RemovalFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Removal] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in TAG_FILTER:
            self._add(f"`<{tag}>`", True, kind="as-text")
            return
        if tag in DANGEROUS_TAGS:
            self._add(f"`<{tag}>` element", True)
            return
        if tag not in ALLOWED_TAGS:  # named as written: `<String>` in `List<String>`
            written = (self.get_starttag_text() or tag).split()[0].rstrip(">/")
            self._add(f"`{written}>` element", False, kind="tag-only")
            return
        allowed = ALLOWED_ATTRIBUTES.get(tag, frozenset()) | ALLOWED_ATTRIBUTES["*"]
        for name, value in attrs:
            if name not in allowed:
                where = rf"\s{re.escape(name)}(?![\w-])"
                self._add(f"`{name}` attribute of `<{tag}>`", name.startswith("on"), where)
            elif name in URL_ATTRIBUTES and value and not url_allowed(value):
                scheme = url_scheme(value)
                what = f"`{scheme}:` URL in `<{tag} {name}>`"
                self._add(what, scheme in DANGEROUS_SCHEMES, rf"\s{re.escape(name)}\s*=")

    handle_startendtag = handle_starttag

    def _add(self, what: str, dangerous: bool, where: str = "", kind: str = "removed") -> None:
        """A removal at the tag being read, or at the first match of `where` inside it."""
        line, offset = self.getpos()
        tag_text = self.get_starttag_text() or ""
        match = re.search(where, tag_text, re.IGNORECASE) if where else None
        if match:
            before = tag_text[: match.start() + 1]  # up to the space before the name
            line += before.count("\n")
            offset = len(before.rsplit("\n")[-1]) if "\n" in before else offset + len(before)
        self.found.append(Removal(line, offset + 1, what, dangerous, kind))
