"""Docs that are checked (docs/notes/style.md, 9): every command, configuration field and
route of the observatory is in observatory/README.md; every route served is in the OpenAPI document,
and every documented path is served."""

from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import BaseModel

from observatory.cli import build_parser
from observatory.config import ObservatoryConfig
from observatory.context import ObservatoryContext
from observatory.web.app import create_app
from observatory.web.openapi import document

README = (Path(__file__).resolve().parents[3] / "observatory" / "README.md").read_text(
    encoding="utf-8")


def _commands() -> dict[str, argparse.ArgumentParser]:
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_cli_command_is_documented_and_has_help() -> None:
    commands = _commands()
    assert set(commands) >= {"init", "serve", "requests", "approve", "reject", "revoke",
                             "members", "show-key"}
    for name, sub in commands.items():
        assert f"`backup-observatory {name} " in README, name
        assert sub.description, name
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, f"{name} {action.option_strings}"
                for option in action.option_strings:
                    if option.startswith("--"):
                        assert option in README, f"{name} {option}"


def _fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    names = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += _fields(annotation, f"{prefix}{name}.")
        else:
            names.append(prefix + name)
    return names


def test_every_config_field_is_documented() -> None:
    fields = _fields(ObservatoryConfig)
    assert "p2p.announce" in fields
    for field in fields:
        assert f"| `{field}` |" in README, field


def test_every_route_is_in_the_openapi_document_and_the_readme(ctx: ObservatoryContext) -> None:
    served = set()
    for route in create_app(ctx).router.routes():
        resource = route.resource
        if resource is None:
            continue
        info = resource.get_info()
        path = info.get("path") or info.get("formatter")
        if route.method != "HEAD":
            served.add((route.method.lower(), str(path)))
    doc = document()
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert served == documented
    for method, path in documented:
        op = doc["paths"][path][method]
        assert op["summary"] and op["responses"]
        assert f"{method.upper()} {path}`" in README, (method, path)
    assert doc["openapi"].startswith("3.1")
