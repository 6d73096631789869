"""Helpers shared by the public handlers: language, sessions, rendering, redirects."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web
from babel.dates import format_date
from babel.numbers import format_decimal

from node import errors
from node.context import NodeContext
from node.i18n import N_
from node.web import appkeys
from node.web.labels import NATIVE_LANGUAGE_NAMES
from node.web.language import negotiate
from node.web.ratelimit import client_bucket
from node.web.sessions import ReporterSession

REPORTER_COOKIE = "s"


def node(request: web.Request) -> NodeContext:
    return request.config_dict[appkeys.CONTEXT]


def lang_of(request: web.Request) -> str:
    """The page's language: the URL prefix if it is an enabled one, else the browser's."""
    cfg = node(request).config
    lang = request.match_info.get("lang")
    if lang in cfg.languages:
        return lang
    return negotiate(request.headers.get("Accept-Language"), cfg.languages, cfg.default_language)


def require_lang(request: web.Request) -> str:
    lang = request.match_info.get("lang")
    if lang not in node(request).config.languages:
        raise errors.NotFound()
    return lang


def render(request: web.Request, template: str, *, status: int = 200, here: str | None = None,
           **context: Any) -> web.Response:
    lang = lang_of(request)
    cfg = node(request).config
    renderer = request.config_dict[appkeys.RENDERER]
    if here is None:
        here = _without_lang(request.path) if request.method == "GET" else "/"

    def switch_prefix(code: str) -> str:
        return f"/{code}{here}"

    context.setdefault("errors", [])
    context.setdefault("field_errors", {})
    html = renderer.render(
        template, lang, switch_prefix=switch_prefix,
        languages=[(c, NATIVE_LANGUAGE_NAMES[c]) for c in cfg.languages], **context)
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)


def _without_lang(path: str) -> str:
    parts = path.split("/", 2)
    if len(parts) >= 2 and parts[1] in NATIVE_LANGUAGE_NAMES:
        return "/" + (parts[2] if len(parts) > 2 else "")
    return path


def translate(request: web.Request, message: str, **params: object) -> str:
    return request.config_dict[appkeys.RENDERER].gettext(lang_of(request))(message, **params)


def error_text(request: web.Request, exc: errors.NodeError) -> str:
    """The error's message in the person's language. Text parameters that are themselves
    messages of the catalogue (e.g. the label of a consent) are translated too."""
    t = request.config_dict[appkeys.RENDERER].gettext(lang_of(request))
    params = {k: t(v) if isinstance(v, str) else v for k, v in exc.params.items()}
    return t(exc.message, **params)


def rate_ok(request: web.Request, action: str, per_minute: int) -> bool:
    """Take one token from this client's bucket for `action` (node/web/ratelimit.py)."""
    limits = node(request).config.rate_limits
    address, shared = client_bucket(request.remote, request.headers.get("X-Forwarded-For"),
                                    limits.trusted_proxies)
    if shared:
        per_minute *= limits.shared_address_factor
    return request.config_dict[appkeys.LIMITER].allow(action, address, per_minute)


def see_other(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


# ------------------------------------------------------------------ reporter sessions

def reporter_session(request: web.Request) -> ReporterSession | None:
    return request.config_dict[appkeys.REPORTER_SESSIONS].get(request.cookies.get(REPORTER_COOKIE))


def require_reporter_session(request: web.Request) -> ReporterSession:
    session = reporter_session(request)
    if session is None:
        raise errors.SessionExpired()
    return session


def new_reporter_session(request: web.Request) -> ReporterSession:
    return request.config_dict[appkeys.REPORTER_SESSIONS].new()


def set_session_cookie(request: web.Request, response: web.StreamResponse, name: str,
                       value: str, path: str = "/") -> None:
    """A session cookie: no Expires/Max-Age, so it ends with the browser session; never
    readable by script; never sent on cross-site requests."""
    response.set_cookie(name, value, path=path, httponly=True, samesite="Strict",
                        secure=node(request).config.secure_cookies)


def clear_cookie(response: web.StreamResponse, name: str, path: str = "/") -> None:
    response.del_cookie(name, path=path)


# ------------------------------------------------------------------ formatting

def hour_to_date(hour: int) -> date:
    return datetime.fromtimestamp(hour * 3600, UTC).date()


def format_day(request: web.Request, hour: int) -> str:
    return format_date(hour_to_date(hour), format="long", locale=lang_of(request))


def format_size(request: web.Request, size: int) -> str:
    lang = lang_of(request)
    mb = size / (1024 * 1024)
    if mb < 0.1:
        return translate(request, N_("%(n)s KB"), n=format_decimal(max(1, round(size / 1024)),
                                                                   locale=lang))
    return translate(request, N_("%(n)s MB"), n=format_decimal(round(mb, 1), locale=lang))
