"""Schemathesis against the node's own OpenAPI document (`/api/v1/openapi.json`), served by a
real server on 127.0.0.1: for bounded examples of every operation, no 5xx, no undocumented
status and no response that breaks the document's schemas."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis

# schemathesis imports its OpenAPI loader at first use, where pytest rewrites it (ast.parse):
# there, while the node's thread imports and compiles too, and CPython 3.11's AST validator
# keeps its recursion depth in state both threads touch ("AST constructor recursion depth
# mismatch" in a fresh-clone CI run). Imported here, at collection, in one thread.
import schemathesis.specs.openapi.schemas
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from node.context import NodeContext
from node.server import running

CHECKS = [checks.not_a_server_error, openapi_checks.status_code_conformance,
          openapi_checks.content_type_conformance,
          openapi_checks.response_schema_conformance]


@pytest.fixture
def api_url(node_ctx: NodeContext) -> Iterator[str]:
    """The node served from a thread of its own, for schemathesis' synchronous client."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    found: dict[str, Any] = {}

    async def serve() -> None:
        async with running(node_ctx) as node:
            found["url"], found["stop"] = node.urls["api"], asyncio.Event()
            ready.set()
            await found["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        yield found["url"]
    finally:
        loop.call_soon_threadsafe(found["stop"].set)
        thread.join(30)
        loop.close()


def test_the_api_keeps_to_its_document(api_url: str) -> None:
    document = schemathesis.openapi.from_url(api_url + "/api/v1/openapi.json")
    operations = [result.ok() for result in document.get_all_operations()]
    assert {o.label for o in operations} >= {"POST /api/v1/reports", "GET /api/v1/services"}
    calls: list[int] = []
    for operation in operations:
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def keeps_to_it(case: Any) -> None:
            # bounded: a request the server never answers fails the test, never hangs the suite
            response = case.call_and_validate(base_url=api_url, checks=CHECKS, timeout=30)
            calls.append(response.status_code)

        keeps_to_it()
    assert len(calls) >= 5 * len(operations)
    assert {200, 201} & set(calls) and {400, 403} & set(calls)  # both sides exercised
