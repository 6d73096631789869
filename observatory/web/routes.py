"""One route table per sub-application: what is served and what is documented are the same
list (`observatory.web.openapi` builds the OpenAPI document from it; a test compares the
document with the router)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # relative to the sub-application's prefix
    name: str
    summary: str
    handler: Handler
    success: int = 200
    response: type[BaseModel] | None = None  # the JSON body, if any
    media_types: tuple[str, ...] = ("application/json",)
    path_params: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    form: tuple[tuple[str, str], ...] = ()  # application/x-www-form-urlencoded fields
    errors: tuple[int, ...] = ()


def add_routes(app: web.Application, routes: Sequence[Route]) -> None:
    for route in routes:
        app.router.add_route(route.method, route.path, route.handler, name=route.name)
