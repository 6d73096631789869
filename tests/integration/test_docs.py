"""Docs that are checked (docs/notes/style.md, 9): every CLI command is in the README and has help;
every API route is in the OpenAPI document and every documented path is served."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from node.cli import build_parser
from node.web.api.handlers import ROUTES, create_api_app
from node.web.api.openapi import PREFIX, document

ROOT = Path(__file__).resolve().parents[2]


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_cli_command_is_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = _commands(build_parser())
    assert commands
    for name, sub in commands.items():
        assert f"backup-node {name}" in readme, f"README.md does not document `{name}`"
        assert sub.description, f"`{name}` has no --help description"
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, f"`{name} {action.option_strings}` has no help text"


def test_every_api_route_is_in_the_openapi_document() -> None:
    app = create_api_app()
    served = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if route.method != "HEAD":
            served.add((route.method.lower(), PREFIX + str(path)))
    doc = document(ROUTES)
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert served == documented
    for (m, p) in documented:
        op = doc["paths"][p][m]
        assert op["summary"] and op["responses"]
    assert doc["openapi"].startswith("3.")


async def test_openapi_is_served(client: TestClient[Any, Any]) -> None:
    r = await client.get("/api/v1/openapi.json")
    body = await r.json()
    assert r.status == 200 and len(body["paths"]) == len(ROUTES)
    # the receipt and secret never travel in a URL
    for path, ops in body["paths"].items():
        assert "receipt" not in path and "secret" not in path
        for op in ops.values():
            assert all(p["in"] != "path" for p in op.get("parameters", []))
