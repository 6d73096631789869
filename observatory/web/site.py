"""The public statistics site (issue 6): a dashboard, a page per country, the methodology and
the open data, server-rendered in the configured languages under ``/{lang}/``; CSV and JSON
downloads; and ``GET /api/v1/statistics`` (the same JSON).

Light and self-contained: HTML with an inline stylesheet and inline SVG charts, no script,
no font, no image, nothing from another origin (``default-src 'none'``), and every page
works without JavaScript. Nothing here is personal (aggregate estimates; no cookie is set
or read outside ``/admin``), so, unlike the admin pages, successful responses may be kept
by browsers and shared caches for ``statistics.cache_seconds`` (default five minutes: a new
release shows within that time) and are not hidden from search engines. Downloads may be
fetched by other sites' scripts (``Access-Control-Allow-Origin: *``): it is open data.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from observatory.statistics.opendata import StatisticsOut
from observatory.statistics.publication import ALL, Publication
from observatory.web import appkeys
from observatory.web.routes import Handler, Route

_YEAR = re.compile(r"^[0-9]{4}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
HTML = ("text/html",)
MEDIA = {"csv": "text/csv", "json": "application/json"}
CSV_NAME = "backup-observatory-statistics.csv"
JSON_NAME = "backup-observatory-statistics.json"


def content_security_policy(style_hash: str) -> str:
    return "; ".join([
        "default-src 'none'",
        f"style-src '{style_hash}'",
        "img-src 'self' data:",  # the empty data: favicon, so browsers ask for none
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ])


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


async def _page(request: web.Request, lang: str,
                make: Callable[[Publication], str | None]) -> web.Response:
    """Render in a worker thread (the publication may need rebuilding); None: not found."""
    cache = request.config_dict[appkeys.PUBLICATION]
    site = request.config_dict[appkeys.SITE]
    html = await asyncio.to_thread(lambda: make(cache.get()))
    if html is None:
        return _html(site.not_found(lang), 404)
    return _html(html)


def _language(request: web.Request) -> str | None:
    lang = request.match_info["lang"]
    return lang if lang in request.config_dict[appkeys.SITE].languages else None


class _Malformed:
    """A ?year= that is not a year: answered 404 like a year with no statistics."""


MALFORMED = _Malformed()


def _year(request: web.Request) -> str | _Malformed | None:
    """The ?year= asked for, if any."""
    year = request.query.get("year")
    if year is None or _YEAR.fullmatch(year):
        return year
    return MALFORMED


def _absent(year: str | _Malformed | None, periods: tuple[str, ...]) -> bool:
    return isinstance(year, _Malformed) or (year is not None and year not in periods)


def _not_found(request: web.Request) -> web.Response:
    site = request.config_dict[appkeys.SITE]
    return _html(site.not_found(site.languages[0]), 404)


# -- pages ----------------------------------------------------------------------------------


async def root(request: web.Request) -> web.StreamResponse:
    site = request.config_dict[appkeys.SITE]
    raise web.HTTPSeeOther(f"/{site.languages[0]}/")


async def dashboard(request: web.Request) -> web.StreamResponse:
    lang, year = _language(request), _year(request)
    if lang is None:
        return _not_found(request)
    site = request.config_dict[appkeys.SITE]

    def make(pub: Publication) -> str | None:
        if isinstance(year, _Malformed) or _absent(year, pub.overall.periods):
            return None
        return pub.memo.get(("dashboard", lang, year), lambda: site.statistics(
            pub, lang, pub.overall, year))

    return await _page(request, lang, make)


async def country(request: web.Request) -> web.StreamResponse:
    lang, year = _language(request), _year(request)
    if lang is None:
        return _not_found(request)
    code = request.match_info["country"]
    site = request.config_dict[appkeys.SITE]

    def make(pub: Publication) -> str | None:
        scope = pub.scope(code) if _COUNTRY.fullmatch(code) else None
        if scope is None or scope.key == ALL or isinstance(year, _Malformed) or _absent(
                year, scope.periods):
            return None
        return pub.memo.get(("country", lang, code, year), lambda: site.statistics(
            pub, lang, scope, year))

    return await _page(request, lang, make)


async def methodology(request: web.Request) -> web.StreamResponse:
    lang = _language(request)
    if lang is None:
        return _not_found(request)
    site = request.config_dict[appkeys.SITE]
    return await _page(request, lang, lambda pub: pub.memo.get(
        ("methodology", lang), lambda: site.methodology(pub, lang)))


async def data_page(request: web.Request) -> web.StreamResponse:
    lang = _language(request)
    if lang is None:
        return _not_found(request)
    site = request.config_dict[appkeys.SITE]
    return await _page(request, lang, lambda pub: pub.memo.get(
        ("data", lang), lambda: site.data(pub, lang)))


# -- open data ------------------------------------------------------------------------------


async def _file(request: web.Request, kind: str, download: str | None) -> web.StreamResponse:
    """The current publication's file of `kind`, from disk (written on first request)."""
    cache = request.config_dict[appkeys.PUBLICATION]
    files = request.config_dict[appkeys.OPEN_DATA]
    path = await asyncio.to_thread(lambda: files.path(cache.get(), kind))
    headers = {"Content-Type": f"{MEDIA[kind]}; charset=utf-8"}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="{download}"'
    return web.FileResponse(path, headers=headers)


async def csv_download(request: web.Request) -> web.StreamResponse:
    return await _file(request, "csv", CSV_NAME)


async def json_download(request: web.Request) -> web.StreamResponse:
    return await _file(request, "json", JSON_NAME)


async def api_statistics(request: web.Request) -> web.StreamResponse:
    return await _file(request, "json", None)


# The path parameter that picks the language, here and on the admin pages (/admin/{lang}/).
LANG_PARAM = ("lang", "Language of the page: one of those configured (e.g. en, fr, ar)")
_YEAR_QUERY = (("year", "The period (a calendar year); default the latest published"),)

ROUTES: tuple[Route, ...] = (
    Route("GET", "/", "site_root", "Redirects to the dashboard in the default language", root,
          success=303, media_types=HTML),
    Route("GET", "/{lang}/", "site_dashboard",
          "The dashboard: federation-wide estimates with 95 % intervals (by month, month and "
          "region, type of violence, perpetrators, country), charts as inline SVG",
          dashboard, media_types=HTML, path_params=(LANG_PARAM,), query=_YEAR_QUERY,
          errors=(404,)),
    Route("GET", "/{lang}/countries/{country}", "site_country",
          "One country's estimates: only that country's nodes are combined", country,
          media_types=HTML, path_params=(LANG_PARAM, ("country", "ISO 3166-1 alpha-2 code")),
          query=_YEAR_QUERY, errors=(404,)),
    Route("GET", "/{lang}/methodology", "site_methodology",
          "What differential privacy promises, what the numbers are and are not, and the "
          "privacy loss each node spent per period", methodology, media_types=HTML,
          path_params=(LANG_PARAM,), errors=(404,)),
    Route("GET", "/{lang}/data", "site_data", "The open data: downloads and their columns",
          data_page, media_types=HTML, path_params=(LANG_PARAM,), errors=(404,)),
    Route("GET", "/data/statistics.csv", "site_csv",
          "Every published table, one row per cell (RFC 4180 CSV, UTF-8)", csv_download,
          media_types=("text/csv",)),
    Route("GET", "/data/statistics.json", "site_json",
          "Every published table as JSON (the same document as /api/v1/statistics)",
          json_download, response=StatisticsOut),
)

API_ROUTES: tuple[Route, ...] = (
    Route("GET", "/statistics", "api_statistics",
          "Every published table with estimates, 95 % intervals, contributing node counts "
          "and privacy parameters; the plan schema; each node's privacy loss per period",
          api_statistics, response=StatisticsOut),
)

DOWNLOADS = frozenset({"site_csv", "site_json", "api_statistics"})
PUBLIC = frozenset(r.name for r in ROUTES) | DOWNLOADS


def headers_middleware(csp: str, cache_seconds: int) -> Middleware:
    """Outermost: replaces the admin's no-store headers on the public routes' answers."""
    cache = f"public, max-age={cache_seconds}" if cache_seconds else "no-store, max-age=0"

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        route = request.match_info.route
        if route.name not in PUBLIC:
            return response
        headers = response.headers
        headers["Content-Security-Policy"] = csp
        headers["Cache-Control"] = cache if response.status == 200 else "no-store, max-age=0"
        for name in ("Pragma", "X-Robots-Tag"):
            headers.popall(name, None)
        if route.name in DOWNLOADS:
            headers["Access-Control-Allow-Origin"] = "*"
            headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        return response

    return middleware
