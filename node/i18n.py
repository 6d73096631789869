"""Translations: gettext catalogues (``node/locales/<lang>/LC_MESSAGES/messages.po``).

The .po files are the source of truth, edited with any translation tool. They are compiled
in memory with Babel at start, so no build step is needed. English is the source language.
`N_` marks a string for extraction without translating it (gettext_noop).
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

LOCALES_PACKAGE = "node"
DOMAIN = "messages"


def N_(message: str) -> str:
    return message


class Catalogues:
    """Loaded translations for a set of languages."""

    def __init__(self, languages: Sequence[str]) -> None:
        self.languages = tuple(languages)
        self._translations = {lang: load(lang) for lang in self.languages}

    def get(self, lang: str) -> gettext.NullTranslations:
        return self._translations.get(lang) or gettext.NullTranslations()


@lru_cache(maxsize=16)
def load(lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    po_path = resources.files(LOCALES_PACKAGE).joinpath(
        "locales", lang, "LC_MESSAGES", f"{DOMAIN}.po")
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)
