"""GFM's extended autolinks: `www.…`, `http(s)://…`, `ftp://…` and e-mail addresses
(also written `mailto:…` or `xmpp:…`) become links, by the rules of the GFM
specification (0.29, "Autolinks (extension)") as cmark-gfm, GitHub's renderer, applies
them.

`find_autolinks` reads a paragraph's inline text; `tokens.ExtendedAutolink` turns what it
finds into links where no code span, link, `<…>` autolink or raw HTML starts first. As in
cmark-gfm, a URL is never linked inside brackets (`[see www.x.org]`); an e-mail address is.
Every step is linear in the text's length.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

_CANDIDATE = re.compile(r"(?i:https?|ftp)://|www\.|@")
_EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+")
_EMAIL_LOCAL = frozenset(".+_-")
_EMAIL_PREFIXES = ("mailto:", "xmpp:")
_TRAILING = frozenset("?!.,:*_~'\"")
_ASCII_PUNCTUATION = frozenset(string.punctuation)
_BRACKET = re.compile(r"[\[\]]")


@dataclass(frozen=True)
class Autolink:
    start: int
    end: int


def find_autolinks(text: str) -> Iterator[Autolink]:
    """The extended autolinks in a paragraph's inline text, in order."""
    position = scanned = brackets = 0
    while match := _CANDIDATE.search(text, position):
        brackets = _open_brackets(text, scanned, match.start(), brackets)
        scanned = match.start()
        if match.group() == "@":
            found = _email(text, match.start(), position)
        else:
            found = None if brackets else _url(text, match)
        if found is None:
            position = match.end()
            continue
        yield found
        brackets = _open_brackets(text, scanned, found.end, brackets)
        position = scanned = found.end


def link_target(text: str) -> str:
    """The URL an autolink's text stands for."""
    if text.startswith("www."):
        return "http://" + text
    if "://" in text or text.lower().startswith(_EMAIL_PREFIXES):
        return text
    return "mailto:" + text


def _open_brackets(text: str, start: int, end: int, brackets: int) -> int:
    """How many `[` are open at `end`, when `brackets` were at `start`; `\\[` is text."""
    for bracket in _BRACKET.finditer(text, start, end):
        if not is_escaped(text, bracket.start()):
            brackets = brackets + 1 if bracket.group() == "[" else max(0, brackets - 1)
    return brackets


def is_escaped(text: str, index: int) -> bool:
    """Whether a backslash escapes the character at `index`."""
    backslashes = 0
    while index - backslashes > 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _url(text: str, match: re.Match) -> Autolink | None:
    start, www = match.start(), match.group() == "www."
    before = text[start - 1] if start else " "
    if www and not (before.isspace() or before in "*_~("):
        return None
    if not www and before.isalpha():  # `xhttp://` is no scheme GFM knows
        return None
    domain_end = _domain_end(text, match.end())
    if domain_end == match.end():
        return None
    # cmark-gfm never looks at the text's last character here: `_www.x.org_` is a link.
    last_two = text[start : min(domain_end, len(text) - 1)].rsplit(".", 2)[-2:]
    if any("_" in segment for segment in last_two):
        return None
    end = _trimmed_end(text, start, _path_end(text, domain_end))
    return Autolink(start, end)


def _email(text: str, at: int, earliest: int) -> Autolink | None:
    start = at
    while start > earliest and _is_email_local(text[start - 1]) and not is_escaped(text, start - 1):
        start -= 1
    domain = _EMAIL_DOMAIN.match(text, at + 1)
    if start == at or domain is None or text[domain.end() : domain.end() + 1] == "@":
        return None
    end = domain.end()
    while text[end - 1] == ".":
        end -= 1
    if text[end - 1] in "-_" or "." not in text[at + 1 : end]:
        return None
    for prefix in _EMAIL_PREFIXES:
        if text[max(0, start - len(prefix)) : start].lower() == prefix:
            start -= len(prefix)
            if prefix == "xmpp:" and text[end : end + 1] == "/":  # a resource: `/phone`
                end = _trimmed_end(text, start, _path_end(text, end))
            break
    return Autolink(start, end)


def _is_email_local(character: str) -> bool:
    return (character.isascii() and character.isalnum()) or character in _EMAIL_LOCAL


def _domain_end(text: str, start: int) -> int:
    """The end of a valid domain's characters: anything but white space and punctuation,
    and `-`, `_` and `.`. ASCII runs are matched at once, other characters one by one."""
    end = _ASCII_DOMAIN_RUN.match(text, start).end()  # type: ignore[union-attr]
    while end < len(text) and not text[end].isascii() and _is_domain_character(text[end]):
        end = _ASCII_DOMAIN_RUN.match(text, end + 1).end()  # type: ignore[union-attr]
    return end


def _is_domain_character(character: str) -> bool:
    """cmark-gfm's rule: not white space and not punctuation (all of ASCII's, and
    Unicode's P categories), but for `-`, `_` and `.`."""
    if character in "-_.":
        return True
    if character in _ASCII_PUNCTUATION or character.isspace():
        return False
    return not unicodedata.category(character).startswith("P")


def _path_end(text: str, start: int) -> int:
    return _PATH.match(text, start).end()  # type: ignore[union-attr]


_PATH = re.compile(r"[^\s<]*")  # `\s` is what str.isspace() is
_ASCII_DOMAIN = "".join(c for c in map(chr, range(128)) if _is_domain_character(c))
_ASCII_DOMAIN_RUN = re.compile(f"[{re.escape(_ASCII_DOMAIN)}]*")


def _trimmed_end(text: str, start: int, end: int) -> int:
    """`end` without trailing punctuation, unmatched closing parentheses and a trailing
    `;` (with the `&name` before it, if it looks like an entity)."""
    unmatched = text.count(")", start, end) - text.count("(", start, end)
    while end > start:
        last = text[end - 1]
        if last in _TRAILING:
            end -= 1
        elif last == ")" and unmatched > 0:
            end -= 1
            unmatched -= 1
        elif last == ";":
            name = end - 1
            while name > start and text[name - 1].isascii() and text[name - 1].isalnum():
                name -= 1
            entity = start < name < end - 1 and text[name - 1] == "&"
            end = name - 1 if entity else end - 1
        else:
            break
    return end
