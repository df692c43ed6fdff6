"""CommonMark 0.31's "Unicode punctuation character" for mistletoe's emphasis rules:
categories P and S (so `£` and `€` count, as they do on GitHub); mistletoe 1.6 has P only.

mistletoe builds its own table when it is imported, asking for the category of each of
the 1.1 million code points: about 0.15 s in every process that reads Markdown, for a
table that ankiqa replaces. `skip_mistletoes_table` has mistletoe build it over ASCII
only, then puts ankiqa's in its place.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import unicodedata
from collections.abc import Sequence
from types import ModuleType

_CORE_TOKENS = "mistletoe.core_tokens"


class Punctuation:
    def __contains__(self, character: str) -> bool:
        return unicodedata.category(character)[0] in "PS"


PUNCTUATION = Punctuation()


def skip_mistletoes_table() -> None:
    """Have the first import of mistletoe skip its punctuation table (see above)."""
    if _CORE_TOKENS in sys.modules:
        vars(sys.modules[_CORE_TOKENS])["punctuation"] = PUNCTUATION
    elif not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != _CORE_TOKENS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and isinstance(spec.loader, importlib.abc.Loader):
            spec.loader = _Loader(spec.loader)
        return spec


class _Loader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader):
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        maxunicode = sys.maxunicode
        sys.maxunicode = 0x7F  # read once, by the loop that builds the table
        try:
            self.loader.exec_module(module)
        finally:
            sys.maxunicode = maxunicode
        vars(module)["punctuation"] = PUNCTUATION
