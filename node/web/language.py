"""Which language to answer in: the URL's prefix for reporters, the browser's wish otherwise."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from node import errors
from node.web.appkeys import node


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags in order of preference (RFC 9110 §12.5.4), primary subtags only."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary and primary != "*" and q > 0:
            weighted.append((-q, i, primary))
    return [t for _, _, t in sorted(weighted)]


def negotiate(header: str | None, available: Sequence[str], default: str) -> str:
    for tag in parse_accept_language(header):
        if tag in available:
            return tag
        # a language configured with a territory or script (issue 20: "pt_BR", "sr_Latn")
        # serves a browser that asks for the language
        regional = [code for code in available if code.split("_")[0] == tag]
        if regional:
            return regional[0]
    return default


def lang_of(request: web.Request) -> str:
    """The page's language: the URL prefix if it is an enabled one, else the browser's."""
    cfg = node(request).config
    lang = request.match_info.get("lang")
    if lang in cfg.languages:
        return lang
    return negotiate(request.headers.get("Accept-Language"), cfg.languages, cfg.default_language)


def require_lang(request: web.Request) -> str:
    """The URL's language prefix, which must be one the node offers (else 404)."""
    lang = request.match_info.get("lang")
    if lang not in node(request).config.languages:
        raise errors.NotFound()
    return lang
