"""The OpenAPI 3.1 document of the JSON API, generated from the route table
(`handlers.ROUTES`, records of `ApiRoute`) and the pydantic models, so that documentation
cannot drift from code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from node.web.api.models import ErrorOut

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PREFIX = "/api/v1"


@dataclass(frozen=True)
class ApiRoute:
    """One route of the API: what registers it and what documents it."""

    method: str
    path: str
    handler: Handler
    name: str
    summary: str
    request: type[BaseModel] | None = None
    multipart_first: str | None = None  # name of the JSON part before the files
    response: type[BaseModel] | None = None
    success: int = 200
    errors: tuple[int, ...] = ()
    query: tuple[tuple[str, str], ...] = ()


_ERROR_TEXT = {
    400: "Bad input: a body that cannot be read (malformed JSON or multipart), a missing or "
         "wrong field (named in `field`/`fields`), or nothing to send (code `empty_report`)",
    403: "The receipt and secret do not open a report",
    413: "A file or the request is too large",
    415: "Unsupported content type, file type, charset or Content-Encoding (send UTF-8, "
         "uncompressed)",
    429: "Too many requests; wait and retry",
}


@lru_cache(maxsize=1)
def document(routes: tuple[ApiRoute, ...]) -> dict[str, Any]:
    """The document of `routes` (computed once: the table does not change)."""
    models: set[type[BaseModel]] = {ErrorOut}
    for r in routes:
        models.update(m for m in (r.request, r.response) if m is not None)
    _, schema = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}")
    components = schema.get("$defs", {})

    def ref(model: type[BaseModel]) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        op: dict[str, Any] = {"operationId": r.name, "summary": r.summary, "responses": {}}
        if r.request is not None:
            content: dict[str, Any] = {"application/json": {"schema": ref(r.request)}}
            if r.multipart_first:
                content["multipart/form-data"] = {"schema": {
                    "type": "object", "required": [r.multipart_first],
                    "properties": {
                        r.multipart_first: ref(r.request),
                        "files": {"type": "array",
                                  "items": {"type": "string", "contentMediaType":
                                            "application/octet-stream"}},
                    }}}
            op["requestBody"] = {"required": True, "content": content}
        if r.query:
            op["parameters"] = [{"name": n, "in": "query", "required": False,
                                 "description": d, "schema": {"type": "string"}}
                                for n, d in r.query]
        ok: dict[str, Any] = {"description": "Success"}
        if r.response is not None:
            ok["content"] = {"application/json": {"schema": ref(r.response)}}
        elif r.name == "api_openapi":
            ok["content"] = {"application/json": {"schema": {"type": "object"}}}
        op["responses"][str(r.success)] = ok
        for status in r.errors:
            op["responses"][str(status)] = {
                "description": _ERROR_TEXT[status],
                "content": {"application/json": {"schema": ref(ErrorOut)}}}
        paths.setdefault(PREFIX + r.path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "BackUp node API", "version": "1",
                 "description": "Reporting and receipt channel of a BackUp node. Error "
                                "messages follow the Accept-Language header."},
        "paths": paths,
        "components": {"schemas": components},
    }
