"""How handlers answer besides a page: redirects and session cookies (for reporters and staff
alike; each side names its own cookies)."""

from __future__ import annotations

from aiohttp import web

from node.web.appkeys import node


def see_other(location: str) -> web.HTTPSeeOther:
    """303 to `location`: after a form is posted, the browser fetches the next page."""
    return web.HTTPSeeOther(location)


def set_session_cookie(request: web.Request, response: web.StreamResponse, name: str,
                       value: str, path: str = "/") -> None:
    """A session cookie: no Expires/Max-Age, so it ends with the browser session; never
    readable by script; never sent on cross-site requests."""
    response.set_cookie(name, value, path=path, httponly=True, samesite="Strict",
                        secure=node(request).config.secure_cookies)


def clear_cookie(response: web.StreamResponse, name: str, path: str = "/") -> None:
    response.del_cookie(name, path=path)
