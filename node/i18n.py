"""Translations: gettext catalogues, and the languages the node serves.

The project's catalogues are ``node/locales/<lang>/LC_MESSAGES/messages.po``; an organisation
adds a language without code by putting its catalogue in the folder ``catalogues_dir`` of
``node.toml`` names and listing the language in ``languages`` (`runtime.catalogues` says which
file names it reads, and checks them). The .po files are the source of truth, edited with any
translation tool, compiled in memory with Babel at start: no build step. English is the
source language. A language's own name, direction and plural rule come from CLDR locale data
(`language_info`). `N_` marks a string for extraction without translating it (gettext_noop).
"""

from __future__ import annotations

import gettext
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from runtime.catalogues import LanguageInfo, language_info, load_language, shipped_languages

LOCALES_PACKAGE = "node"
DOMAIN = "messages"

def N_(message: str) -> str:
    return message


def shipped() -> Traversable:
    """The folder of the catalogues BackUp ships."""
    return resources.files(LOCALES_PACKAGE).joinpath("locales")


# English and every language with a catalogue under node/locales: the default `languages`.
SHIPPED_LANGUAGES: tuple[str, ...] = shipped_languages(shipped())


class Catalogues:
    """Loaded translations for the node's languages, all read and checked at once (so a
    malformed catalogue stops the node at start:
    `runtime.catalogues.CatalogueError`)."""

    def __init__(self, languages: Sequence[str], folder: Path | None = None) -> None:
        self.languages = tuple(languages)
        self.folder = folder
        self._translations = {lang: load_language(lang, shipped(), folder)
                              for lang in self.languages}
        self.info: dict[str, LanguageInfo] = {lang: language_info(lang)
                                              for lang in self.languages}

    def get(self, lang: str) -> gettext.NullTranslations:
        return self._translations.get(lang) or gettext.NullTranslations()

    def direction(self, lang: str) -> str:
        info = self.info.get(lang)
        return info.direction if info else "ltr"

    def names(self) -> list[tuple[str, str]]:
        """(code, own name) of each language, in configuration order: the picker."""
        return [(lang, self.info[lang].native_name) for lang in self.languages]


def load(lang: str) -> gettext.NullTranslations:
    """A shipped catalogue (English: the strings as written)."""
    return load_language(lang, shipped(), None)
