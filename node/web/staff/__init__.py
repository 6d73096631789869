"""The staff back office: its own app, cookie, path, sessions and middlewares.

Routes are declared by area in `auth`, `cases`, ... as `StaffRoute` records naming the
policy action each needs; this module registers them and guards every one. Its state in
memory (sessions, pending second factors) is in `sessions`, the brakes on signing in in
`sign_in_guard`; what its handlers share, in
`common`.
"""

from __future__ import annotations

from aiohttp import web

from node.web.bodies import readable_bodies
from node.web.failures import html_errors
from node.web.staff import (
    admin,
    auth,
    case_lists,
    cases,
    coding,
    evidence,
    experts,
    federation,
    inbox,
    needs,
    opinions,
    patterns,
    perpetrators,
    receipt_lookup,
    shares,
    statistics,
    suggestions,
    threads,
)
from node.web.staff.common import STAFF_PATH, StaffRoute, make_guard

__all__ = ["STAFF_PATH", "all_routes", "create_staff_app"]


def all_routes() -> list[StaffRoute]:
    return [*auth.ROUTES, *cases.ROUTES, *coding.ROUTES, *receipt_lookup.ROUTES, *admin.ROUTES,
            *evidence.ROUTES, *federation.ROUTES, *statistics.ROUTES, *experts.ROUTES,
            *inbox.ROUTES, *suggestions.ROUTES, *patterns.ROUTES, *case_lists.ROUTES,
            *needs.ROUTES, *shares.ROUTES, *perpetrators.ROUTES,
            *opinions.ROUTES, *threads.ROUTES]


def create_staff_app() -> web.Application:
    routes = all_routes()
    names = [r.name for r in routes]
    assert len(set(names)) == len(names), "staff route names must be unique"
    app = web.Application(middlewares=[html_errors("staff/error.html"), readable_bodies,
                                       make_guard({r.name: r.action for r in routes}),
                                       inbox.inbox_counts])
    for r in routes:
        app.router.add_route(r.method, r.path, r.handler, name=r.name)
    return app
