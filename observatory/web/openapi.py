"""The OpenAPI 3.1 document of every route the observatory serves, generated from the route
tables (`api.ROUTES`, `site.API_ROUTES`, `admin.ROUTES`, `site.ROUTES`) and the pydantic
models, so documentation cannot drift from code (docs/notes/style.md, 9). The admin routes are HTML
forms and the public site's pages are HTML; they are described too (tags ``admin`` and
``site``) so that nothing is served undocumented."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from observatory.web import admin, api, health, site
from observatory.web.routes import Route

TABLES: tuple[tuple[str, str, tuple[Route, ...]], ...] = (
    ("api", api.PREFIX, api.ROUTES),
    ("api", api.PREFIX, site.API_ROUTES),
    ("admin", admin.PREFIX, admin.ROUTES),
    ("site", "", site.ROUTES),
    ("operations", "", health.ROUTES),
)

_ERRORS = {
    400: "Bad input: a malformed node id or format",
    401: "Wrong passphrase",
    403: "No session, or a missing or wrong CSRF token",
    404: "Nothing here: unknown node, alarm, checkpoint, language, country or year",
    429: "Too many failed sign-ins from this client; wait",
    503: ("Busy (many sign-ins are being checked; try again in a minute), or, for the "
          "health check, the database does not answer"),
}


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    models: set[type[BaseModel]] = {api.ErrorOut}
    for _, _, routes in TABLES:
        models.update(r.response for r in routes if r.response is not None)
    _, schema = models_json_schema(
        [(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}")

    def ref(model: type[BaseModel]) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    paths: dict[str, dict[str, Any]] = {}
    for tag, prefix, routes in TABLES:
        for r in routes:
            op: dict[str, Any] = {"operationId": r.name, "summary": r.summary, "tags": [tag],
                                  "responses": {}}
            params = [{"name": n, "in": "path", "required": True, "description": d,
                       "schema": {"type": "string"}} for n, d in r.path_params]
            params += [{"name": n, "in": "query", "required": False, "description": d,
                        "schema": {"type": "string"}} for n, d in r.query]
            if params:
                op["parameters"] = params
            if r.form:
                op["requestBody"] = {"required": True, "content": {
                    "application/x-www-form-urlencoded": {"schema": {
                        "type": "object", "required": [n for n, _ in r.form],
                        "properties": {n: {"type": "string", "description": d}
                                       for n, d in r.form}}}}}
            content: dict[str, Any] = {}
            for media in r.media_types:
                if media == "application/json":
                    content[media] = {"schema": ref(r.response) if r.response
                                      else {"type": "object"}}
                else:
                    content[media] = {"schema": {"type": "string"}}
            ok: dict[str, Any] = {"description": "See other" if r.success == 303
                                  else "Success"}
            if r.success != 303:
                ok["content"] = content
            op["responses"][str(r.success)] = ok
            for status in r.errors:
                error: dict[str, Any] = {"description": _ERRORS[status]}
                if tag == "api":
                    error["content"] = {"application/json": {"schema": ref(api.ErrorOut)}}
                op["responses"][str(status)] = error
            path = prefix + r.path
            paths.setdefault(path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "BackUp observatory", "version": "1",
                 "description": "Public API (tag api), admin forms (tag admin) and public "
                                "statistics site (tag site) of a BackUp observatory. "
                                "Federation messages travel over libp2p "
                                "(/backup/federation/2.0.0), not HTTP."},
        "paths": paths,
        "components": {"schemas": schema.get("$defs", {})},
    }
