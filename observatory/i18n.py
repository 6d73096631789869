"""The gettext hook for the observatory's own strings.

The admin pages are in English for now; every string already goes through `_()` (Python)
or ``{{ _("…") }}`` (templates) so that Babel can extract them and the public site of issue
6 can ship catalogues (``observatory/locales/<lang>/LC_MESSAGES/messages.po``). Parameters
are named and inserted after translation, so a translator can move them.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape

Translator = Callable[..., str]


def translations(language: str = "en") -> gettext.NullTranslations:
    """The catalogue for `language`; none ship yet, so every string stays English."""
    return gettext.NullTranslations()


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
