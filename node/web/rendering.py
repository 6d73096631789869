"""Server-rendered pages: Jinja2 with autoescaping, translated per request.

`Renderer` holds the templates and catalogues (one per app); `render` and `translate` are
what handlers call, in the request's language.

The stylesheet is small and inlined (one round trip less on 2G; no-store means an external
file would be fetched again on every page anyway) and allowed by its SHA-256 in the CSP.
Script stays external: the CSP allows no inline script.
"""

from __future__ import annotations

import base64
import gettext
import hashlib
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from node.config import NodeConfig
from node.i18n import Catalogues
from node.web.appkeys import RENDERER, node
from node.web.language import app_root, lang_of, return_path

STATIC_FILES = ("exit.js", "upload.js", "voice.js")


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


def _isolated(text: object) -> Markup:
    return Markup("<bdi>%s</bdi>") % text


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
        # `x|bdi`: a name or text someone typed, isolated from the direction of the sentence
        # it is put in (Unicode bidi, UAX #9: an Arabic sentence around a Latin name)
        self.env.filters["bdi"] = _isolated
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
            dir=self.catalogues.direction(lang),
            config=self.config, css=self.css, **context)


def render(request: web.Request, template: str, *, status: int = 200, here: str | None = None,
           **context: Any) -> web.Response:
    """A page in the request's language. `here` is the path the language switcher keeps
    (by default the page's own, for GET)."""
    lang = lang_of(request)
    cfg = node(request).config
    renderer = request.config_dict[RENDERER]
    if here is None:
        here = _without_lang(request.path, cfg.languages) if request.method == "GET" else "/"

    def switch_prefix(code: str) -> str:
        return f"/{code}{here}"

    context.setdefault("errors", [])
    context.setdefault("field_errors", {})
    context.setdefault("error_links", [])
    # the staff office's and expert app's switcher: a form, the choice kept in a cookie
    root = app_root(request.path)
    context.setdefault("switcher", {"action": f"{root}/language", "back": return_path(request)}
                       if root else None)
    html = renderer.render(
        template, lang, switch_prefix=switch_prefix,
        languages=renderer.catalogues.names(), **context)
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)


def _without_lang(path: str, languages: Sequence[str]) -> str:
    parts = path.split("/", 2)
    if len(parts) >= 2 and parts[1] in languages:
        return "/" + (parts[2] if len(parts) > 2 else "")
    return path


def translate(request: web.Request, message: str, **params: object) -> str:
    """A catalogue message in the request's language."""
    return request.config_dict[RENDERER].gettext(lang_of(request))(message, **params)
