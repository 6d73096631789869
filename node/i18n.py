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

from runtime.catalogues import Catalogues as SharedCatalogues
from runtime.catalogues import load_language, shipped_languages

LOCALES_PACKAGE = "node"
DOMAIN = "messages"

def N_(message: str) -> str:
    return message


def shipped() -> Traversable:
    """The folder of the catalogues BackUp ships."""
    return resources.files(LOCALES_PACKAGE).joinpath("locales")


# English and every language with a catalogue under node/locales: the default `languages`.
SHIPPED_LANGUAGES: tuple[str, ...] = shipped_languages(shipped())


class Catalogues(SharedCatalogues):
    """The node's catalogues: BackUp's shipped ones, then the operator's `folder`."""

    def __init__(self, languages: Sequence[str], folder: Path | None = None) -> None:
        super().__init__(languages, shipped(), folder)


def load(lang: str) -> gettext.NullTranslations:
    """A shipped catalogue (English: the strings as written)."""
    return load_language(lang, shipped(), None)
