"""GFM's extended autolinks: `www.…`, `http(s)://…`, `ftp://…` and e-mail addresses in
plain text become links, by the rules of the GFM specification (0.29, "Autolinks
(extension)").

They are found in text that is already known to be text, after links, code spans and
raw HTML were parsed, as cmark-gfm does it: so a URL in a link's destination, its text
or an image's description is never linked a second time.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

_CANDIDATE = re.compile(r"(?:https?|ftp)://|www\.|@", re.IGNORECASE)
_EMAIL_LOCAL = frozenset(".+_-")
_EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+")
_TRAILING = "?!.,:*_~'\""
_ENTITY_AT_END = re.compile(r"&[A-Za-z0-9]+;$")


@dataclass(frozen=True)
class Autolink:
    start: int
    end: int
    href: str  # the URL the text stands for: `www.x.org` → `http://www.x.org`


def find_autolinks(text: str, brackets: int = 0) -> Iterator[Autolink]:
    """The extended autolinks in a run of plain text, in order. Like cmark-gfm, none
    inside brackets: `brackets` is how many `[` are open where the text starts."""
    position = scanned = 0
    while match := _CANDIDATE.search(text, position):
        brackets, scanned = open_brackets(text[scanned : match.start()], brackets), match.start()
        if brackets:
            position = match.end()
            continue
        found = _email(text, match.start()) if match.group() == "@" else _url(text, match)
        if found is None or found.start < position:
            position = match.end()
            continue
        yield found
        position = found.end


def open_brackets(text: str, brackets: int = 0) -> int:
    """How many `[` are open after `text`, when `brackets` were open before it."""
    if "[" not in text and "]" not in text:
        return brackets
    for character in text:
        if character == "[":
            brackets += 1
        elif character == "]" and brackets:
            brackets -= 1
    return brackets


def _url(text: str, match: re.Match) -> Autolink | None:
    start, www = match.start(), match.group().lower() == "www."
    before = text[start - 1] if start else " "
    if www and not (before.isspace() or before in "*_~("):
        return None
    if not www and before.isalpha():  # `xhttp://` is no scheme GFM knows
        return None
    domain_end = _domain_end(text, match.end())
    if domain_end == match.end():
        return None
    segments = text[start:domain_end].split(".")
    if any("_" in segment for segment in segments[-2:]):
        return None
    end = _trimmed_end(text, start, _path_end(text, domain_end))
    url = text[start:end]
    return Autolink(start, end, "http://" + url if www else url)


def _email(text: str, at: int) -> Autolink | None:
    start = at
    while start and (_is_email_local(text[start - 1])):
        start -= 1
    domain = _EMAIL_DOMAIN.match(text, at + 1)
    if start == at or domain is None:
        return None
    end = domain.end()
    while text[end - 1] == ".":
        end -= 1
    if text[end - 1] in "-_" or "." not in text[at + 1 : end]:
        return None
    return Autolink(start, end, "mailto:" + text[start:end])


def _is_email_local(character: str) -> bool:
    return (character.isascii() and character.isalnum()) or character in _EMAIL_LOCAL


def _domain_end(text: str, start: int) -> int:
    """The end of a valid domain's characters: anything but white space and punctuation,
    and `-`, `_` and `.`."""
    end = start
    while end < len(text) and _is_domain_character(text[end]):
        end += 1
    return end


def _is_domain_character(character: str) -> bool:
    if character in "-_.":
        return True
    return not character.isspace() and not unicodedata.category(character).startswith("P")


def _path_end(text: str, start: int) -> int:
    end = start
    while end < len(text) and not text[end].isspace() and text[end] != "<":
        end += 1
    return end


def _trimmed_end(text: str, start: int, end: int) -> int:
    """`end` without trailing punctuation, unmatched closing parentheses and a trailing
    `;` (with the `&name` before it, if it looks like an entity)."""
    while end > start:
        last = text[end - 1]
        if last in _TRAILING or (
            last == ")" and text.count(")", start, end) > text.count("(", start, end)
        ):
            end -= 1
        elif last == ";":
            entity = _ENTITY_AT_END.search(text, start, end)
            end = entity.start() if entity else end - 1
        else:
            break
    return end
