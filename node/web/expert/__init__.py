"""The expert app (issue 16): its own address, path, cookie, sessions and pages.

Served on the node's `[expert_app]` address (`node.server.sites`), apart from the staff
office, because experts reach it from the internet on their phones. Routes are declared in
`auth` and `pages` as `ExpertRoute` records naming the access each needs; this module
registers them and guards every one (`common.make_guard`).
"""

from __future__ import annotations

from aiohttp import web

from node.web.bodies import readable_bodies
from node.web.expert import auth, needs, pages, shares, threads
from node.web.expert.common import EXPERT_PATH, ExpertRoute, make_guard
from node.web.failures import html_errors

__all__ = ["EXPERT_PATH", "all_routes", "create_expert_app"]


def all_routes() -> list[ExpertRoute]:
    return [*auth.ROUTES, *pages.ROUTES, *needs.ROUTES, *shares.ROUTES, *threads.ROUTES]


def create_expert_app() -> web.Application:
    routes = all_routes()
    names = [r.name for r in routes]
    assert len(set(names)) == len(names), "expert route names must be unique"
    app = web.Application(middlewares=[html_errors("expert/error.html"), readable_bodies,
                                       make_guard({r.name: r.access for r in routes})])
    for r in routes:
        app.router.add_route(r.method, r.path, r.handler, name=r.name)
    return app
