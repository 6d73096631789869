"""Server-rendered admin pages: Jinja2 with autoescaping, every string through `_()`.

The admin pages are in the public site's languages (`ObservatoryConfig.languages`), chosen
the same way: by the path, ``/admin/{lang}/…`` as ``/{lang}/…`` (`language_of`); the first
configured language is the default. Right-to-left languages (CLDR says which) are laid
out right to left.

The stylesheet is small and inlined, allowed by its SHA-256 in the CSP; there is no script.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup

from observatory.i18n import Catalogues, Translator, template_translator, translator


def template_environment() -> jinja2.Environment:
    """The observatory's templates (admin pages and public site), autoescaped, strict."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("observatory", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def inline_stylesheet(filename: str) -> tuple[Markup, str]:
    """``observatory/static/<filename>`` for a page's ``<style>`` element, and the CSP hash
    (``sha256-…``) of exactly that text. Markup: a ``<style>`` element is raw text, where an
    escaped quote would stay "&#34;" and no longer match the hash the CSP allows."""
    css = Markup(resources.files("observatory").joinpath(  # noqa: S704 - our own file
        "static", filename).read_text(encoding="utf-8"))
    digest = hashlib.sha256(css.encode("utf-8")).digest()
    return css, "sha256-" + base64.b64encode(digest).decode("ascii")


def language_context(lang: str, catalogues: Catalogues) -> dict[str, Any]:
    """What every page's base template needs of its language: ``lang``, ``dir`` (from CLDR:
    Arabic, Persian, Urdu… right to left) and the configured languages with their own names,
    for the language links."""
    return {"lang": lang, "dir": catalogues.direction(lang), "languages": catalogues.names()}


def utc(timestamp: int | None) -> str:
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def utc_element(timestamp: int | None) -> Markup:
    """`utc` for a page, kept left to right inside a right-to-left sentence: an element with
    a `dir` attribute is isolated from its surroundings (HTML, "Bidirectional text")."""
    if timestamp is None:
        return Markup("")
    iso = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%MZ")
    return Markup('<time datetime="{}" dir="ltr">{}</time>').format(iso, utc(timestamp))


class Renderer:
    def __init__(self, site_name: str, languages: Sequence[str] = ("en",),
                 catalogues: Catalogues | None = None) -> None:
        self.site_name = site_name
        self.languages: tuple[str, ...] = tuple(languages)
        self.catalogues = catalogues or Catalogues(self.languages)
        self.env = template_environment()
        self.env.filters["utc"] = utc_element
        self.css, self.css_hash = inline_stylesheet("admin.css")

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def language_of(self, request: web.Request) -> str:
        """The path's ``{lang}`` if it is a configured language, else the default (an error
        page for an address that matched no route, or named an unknown language)."""
        lang = request.match_info.get("lang")
        return lang if lang in self.languages else self.default_language

    def gettext(self, lang: str) -> Translator:
        """`_` for Python code answering in `lang` (errors, one-time messages)."""
        return translator(self.catalogues.get(lang))

    def render(self, template: str, lang: str, *, status: int = 200, path: str = "/",
               **context: Any) -> web.Response:
        """`path`: the page's address after ``/admin/{lang}``, for the language links."""
        html = self.env.get_template(template).render(
            _=template_translator(self.catalogues.get(lang)),
            **language_context(lang, self.catalogues),
            path=path, site_name=self.site_name, css=self.css, **context)
        return web.Response(text=html, status=status, content_type="text/html",
                            charset="utf-8")
