"""The serving process (`node.server.running`): what `backup-node serve` runs, on 127.0.0.1.

The web apps start nothing by themselves; the serving process sweeps the files of drafts
abandoned at the last stop, runs the periodic jobs, and puts the staff office on its own
address when asked to.
"""

from __future__ import annotations

import aiohttp
import pytest

from crypto.keys import DataKey
from node.context import NodeContext
from node.evidence import checkpoints
from node.server import Site, running, sites
from node.web.app import create_app
from tests.integration.test_federation_peers import eventually, submit


async def _status(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url, allow_redirects=False) as r:
        return r.status


async def test_the_staff_office_on_its_own_address(node_ctx: NodeContext) -> None:
    async with running(node_ctx, sites(staff_port=0)) as node, aiohttp.ClientSession() as session:
        assert node.public_url != node.staff_url
        assert node.staff_url.startswith("http://127.0.0.1:")
        assert await _status(session, f"{node.public_url}/en/") == 200
        assert await _status(session, f"{node.public_url}/api/v1/openapi.json") == 200
        assert await _status(session, f"{node.public_url}/staff/login") == 404
        assert await _status(session, f"{node.staff_url}/staff/login") == 200
        assert await _status(session, f"{node.staff_url}/en/") == 404


async def test_a_route_set_is_served_on_one_address_only(node_ctx: NodeContext) -> None:
    twice = (Site(frozenset({"public", "staff"})), Site(frozenset({"staff"})))
    with pytest.raises(ValueError, match="at most one address"):
        async with running(node_ctx, twice):
            pass


async def test_one_address_serves_all_three(node_ctx: NodeContext) -> None:
    async with running(node_ctx) as node, aiohttp.ClientSession() as session:
        assert node.public_url == node.staff_url
        for path in ("/en/", "/api/v1/openapi.json", "/staff/login"):
            assert await _status(session, node.public_url + path) == 200


async def test_abandoned_draft_files_are_swept_at_start(node_ctx: NodeContext) -> None:
    # a draft's file, staged and never sent: its key lived only in the stopped server
    writer = node_ctx.intake.attachment_writer(DataKey.generate(), node_ctx.intake.allowance(),
                                               "left.txt")
    writer.feed(b"a draft nobody will send")
    staged = writer.finish()
    assert staged.blob_name in node_ctx.blobs.names()
    async with running(node_ctx):
        assert staged.blob_name not in node_ctx.blobs.names()


async def test_the_serving_process_signs_checkpoints_not_the_app(node_ctx: NodeContext,
                                                                 aiohttp_client: object
                                                                 ) -> None:
    submit(node_ctx, "signed in the background")
    client = await aiohttp_client(create_app(node_ctx))  # type: ignore[operator]
    assert (await client.get("/en/")).status == 200
    assert checkpoints.latest_checkpoint(node_ctx.db.read()) is None
    async with running(node_ctx):
        latest = await eventually(lambda: checkpoints.latest_checkpoint(node_ctx.db.read()),
                                  "a checkpoint signed by the periodic job")
    assert latest.size == 1
