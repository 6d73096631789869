"""The gettext hook for the observatory's own strings.

The public site (issue 6) and the admin pages ship catalogues
(``observatory/locales/<lang>/LC_MESSAGES/messages.po``, extracted with
``observatory/babel.cfg``), compiled in memory with Babel on first use, as the node does:
no build step. Every string goes through `_()` (Python) or ``{{ _("…") }}`` (templates);
a page uses its language's (`translations(lang)`), and this module's `_` is English, for
what is answered in English (the JSON API's errors). English is the source language.
Parameters are named and inserted after translation, so a translator can move them. `N_`
marks a string for extraction without translating it (gettext_noop)."""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import Any

from markupsafe import Markup, escape

Translator = Callable[..., str]


DOMAIN = "messages"


def N_(message: str) -> str:
    return message


@lru_cache(maxsize=8)
def translations(language: str = "en") -> gettext.NullTranslations:
    """The catalogue for `language` (English: the strings as written)."""
    if language == "en":
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    po_path = resources.files("observatory").joinpath(
        "locales", language, "LC_MESSAGES", f"{DOMAIN}.po")
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


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
