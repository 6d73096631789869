"""The gettext hook for the observatory's own strings.

The public site (issue 6) and the admin pages ship catalogues
(``observatory/locales/<lang>/LC_MESSAGES/messages.po``, extracted with
``observatory/babel.cfg``), compiled in memory with Babel at start, as the node does:
no build step. Every string goes through `_()` (Python) or ``{{ _("…") }}`` (templates);
a page uses its language's (`Catalogues.get(lang)`), and this module's `_` is English, for
what is answered in English (the JSON API's errors). English is the source language.
Parameters are named and inserted after translation, so a translator can move them. `N_`
marks a string for extraction without translating it (gettext_noop).

An operator adds a language without code, as on a node (issue 20): its catalogue in the
folder ``catalogues_dir`` of ``observatory.toml`` names, the language in ``languages``;
`Catalogues` reads and checks them all at start (`runtime.catalogues`), and a language's own
name, direction and plural rule come from CLDR locale data."""

from __future__ import annotations

import gettext
from collections.abc import Callable, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from runtime.catalogues import Catalogues as SharedCatalogues
from runtime.catalogues import load_language, shipped_languages

Translator = Callable[..., str]


DOMAIN = "messages"


def N_(message: str) -> str:
    return message


def shipped() -> Traversable:
    """The folder of the catalogues BackUp ships for the observatory."""
    return resources.files("observatory").joinpath("locales")


# English and every language with a catalogue under observatory/locales: the default.
SHIPPED_LANGUAGES: tuple[str, ...] = shipped_languages(shipped())


def translations(language: str = "en") -> gettext.NullTranslations:
    """The shipped catalogue for `language` (English: the strings as written)."""
    return load_language(language, shipped(), None)


class Catalogues(SharedCatalogues):
    """The observatory's catalogues: BackUp's shipped ones, then the operator's `folder`."""

    def __init__(self, languages: Sequence[str], folder: Path | None = None) -> None:
        super().__init__(languages, shipped(), folder)


def translator(catalogue: gettext.NullTranslations) -> Translator:
    def _(message: str, **params: Any) -> str:
        text = catalogue.gettext(message)
        return text % params if params else text

    return _


def template_translator(catalogue: gettext.NullTranslations) -> Callable[..., Markup]:
    """For templates: the translation is escaped, then the (escaped) parameters inserted."""

    def _(message: str, **params: Any) -> Markup:
        text = escape(catalogue.gettext(message))
        return text % params if params else text

    return _


# The hook Python code calls (`from observatory.i18n import _`).
_ = translator(translations())
