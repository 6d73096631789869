"""Which language to answer in: the URL's prefix for reporters; for staff and experts the
language they chose with the switcher on every page (a cookie), else the browser's wish.

The staff office and the expert app keep the choice in a cookie of their own path, not in
the URL: a case page's address stays the same in every language (links and bookmarks are
shared between colleagues who read different languages), and the switcher is a plain form,
no script. The cookie ends with the browser session, like the sign-in, so a shared device
keeps no trace of who used it in which language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from node import errors
from node.web.appkeys import node
from node.web.responses import see_other, set_session_cookie

LANG_COOKIE = "lang"
# the apps whose pages carry the switcher, by path; a choice is remembered per app
SWITCHING_APPS = ("/staff", "/expert")


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
    """The page's language: the URL prefix if it is an enabled one, else the one chosen with
    the switcher, else the browser's."""
    cfg = node(request).config
    lang = request.match_info.get("lang")
    if lang in cfg.languages:
        return lang
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in cfg.languages and app_root(request.path):
        return chosen
    return negotiate(request.headers.get("Accept-Language"), cfg.languages, cfg.default_language)


def require_lang(request: web.Request) -> str:
    """The URL's language prefix, which must be one the node offers (else 404)."""
    lang = request.match_info.get("lang")
    if lang not in node(request).config.languages:
        raise errors.NotFound()
    return lang


def app_root(path: str) -> str | None:
    """The switching app a path belongs to ("/staff", "/expert"), if any."""
    return next((root for root in SWITCHING_APPS
                 if path == root or path.startswith(root + "/")), None)


def return_path(request: web.Request) -> str | None:
    """Where the switcher brings a person back: the page itself if it was fetched (its
    path only: no query string), else the app's first page (a page answering a posted form
    cannot be fetched again)."""
    root = app_root(request.path)
    if root is None:
        return None
    return request.path if request.method == "GET" else root + "/"


def _safe_back(root: str, back: str) -> str:
    """Only a path of the same app: never another site ("//evil", "/\\evil")."""
    if (back == root or back.startswith(root + "/")) and "//" not in back \
            and "\\" not in back and all(c.isprintable() and not c.isspace() for c in back):
        return back
    return root + "/"


def switch_language(root: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The switcher's handler for the app at `root`: remember the chosen language in a
    cookie of that app's path, and go back to the page. Cross-site posts are refused by the
    node's same-origin middleware before they reach it; a language is all it changes."""

    async def handler(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        lang = str(form.get("lang") or "")
        back = _safe_back(root, str(form.get("back") or "")[:500])
        if lang not in node(request).config.languages:
            raise errors.UnknownChoice(field="lang")
        response = see_other(back)
        set_session_cookie(request, response, LANG_COOKIE, lang, path=root)
        raise response

    return handler
