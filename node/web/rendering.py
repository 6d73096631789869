"""Server-rendered pages: Jinja2 with autoescaping, translated per request.

The stylesheet is small and inlined (one round trip less on 2G; no-store means an external
file would be fetched again on every page anyway) and allowed by its SHA-256 in the CSP.
Script stays external: the CSP allows no inline script.
"""

from __future__ import annotations

import base64
import gettext
import hashlib
from collections.abc import Callable
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup, escape

from node.config import RTL_LANGUAGES, NodeConfig
from node.i18n import Catalogues

STATIC_FILES = ("exit.js",)


def _static(name: str) -> bytes:
    return resources.files("node").joinpath("static", name).read_bytes()


def _translator(t: gettext.NullTranslations) -> Callable[..., str]:
    def _(message: str, **params: Any) -> str:
        text = t.gettext(message)
        return text % params if params else text

    return _


def _template_translator(t: gettext.NullTranslations) -> Callable[..., Markup]:
    """For templates: the translation is escaped, then parameters are inserted -- escaped
    too unless already safe markup (e.g. a name wrapped in <bdi>)."""

    def _(message: str, **params: Any) -> Markup:
        text = escape(t.gettext(message))
        return text % params if params else text

    return _


class Renderer:
    def __init__(self, config: NodeConfig, catalogues: Catalogues) -> None:
        self.config = config
        self.catalogues = catalogues
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("node", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        css = _static("site.css").decode()
        self.css = Markup(css)  # noqa: S704 -- our own file, not user input
        self.css_hash = "sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
        self.static = {name: _static(name) for name in STATIC_FILES}

    def gettext(self, lang: str) -> Callable[..., str]:
        return _translator(self.catalogues.get(lang))

    def render(self, template: str, lang: str, **context: Any) -> str:
        tmpl = self.env.get_template(template)
        context.setdefault("staff", None)
        context.setdefault("csrf", "")
        # Names inserted into translated sentences are isolated, so a Latin name keeps its
        # own direction inside Arabic text (Unicode bidi: <bdi>).
        context.setdefault("org", Markup("<bdi>%s</bdi>") % self.config.organisation)
        return tmpl.render(
            _=_template_translator(self.catalogues.get(lang)), lang=lang,
            dir="rtl" if lang in RTL_LANGUAGES else "ltr",
            config=self.config, css=self.css, **context)
