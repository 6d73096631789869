"""Server-rendered admin pages: Jinja2 with autoescaping, every string through `_()`.

The stylesheet is small and inlined, allowed by its SHA-256 in the CSP; there is no script.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import jinja2
from aiohttp import web

from observatory.i18n import template_translator, translations


def _css() -> str:
    return resources.files("observatory").joinpath("static", "admin.css").read_text(
        encoding="utf-8")


def utc(timestamp: int | None) -> str:
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


class Renderer:
    def __init__(self, site_name: str, language: str = "en") -> None:
        self.site_name = site_name
        self.language = language
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("observatory", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["_"] = template_translator(translations(language))
        self.env.filters["utc"] = utc
        self.css = _css()
        digest = hashlib.sha256(self.css.encode("utf-8")).digest()
        self.css_hash = "sha256-" + base64.b64encode(digest).decode("ascii")

    def render(self, template: str, *, status: int = 200, **context: Any) -> web.Response:
        html = self.env.get_template(template).render(
            site_name=self.site_name, css=self.css, lang=self.language, **context)
        return web.Response(text=html, status=status, content_type="text/html",
                            charset="utf-8")
