"""The serving process (`node.server.running`): what `backup-node serve` runs, on 127.0.0.1.

The web apps start nothing by themselves; the serving process sweeps the files of drafts
abandoned at the last stop, runs the periodic jobs, and puts the staff office on its own
address (by default; on the public one only when asked to).
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from crypto.keys import DataKey
from node.context import NodeContext
from node.evidence import checkpoints
from node.server import Site, running, sites
from node.web.app import create_app
from tests.conftest import ROOT, free_port, init_with_cli
from tests.conftest import test_config as config_text
from tests.integration.test_federation_peers import eventually, submit


async def _status(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url, allow_redirects=False) as r:
        return r.status


async def test_the_staff_office_on_its_own_address(node_ctx: NodeContext) -> None:
    async with running(node_ctx, sites(staff_port=0)) as node, \
            aiohttp.ClientSession() as session:
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


async def test_by_default_the_public_address_carries_no_staff_office(node_ctx: NodeContext
                                                                       ) -> None:
    """`backup-node serve`'s default: a stranger at the public address cannot even find the
    staff sign-in; the staff office answers on loopback, on its own port."""
    assert sites() == sites(staff_on_public=False)
    async with running(node_ctx, sites()) as node, aiohttp.ClientSession() as session:
        assert node.public_url == node.urls["api"] != node.staff_url
        assert node.staff_url.startswith("http://127.0.0.1:")
        for path in ("/staff/login", "/staff/", "/staff/cases", "/staff/account"):
            assert await _status(session, node.public_url + path) == 404
        assert await _status(session, node.staff_url + "/staff/login") == 200


@pytest.mark.parametrize("where", ["option", "node.toml", "on the public address"])
def test_the_cli_serves_the_staff_office_apart_by_default(tmp_path: Path, where: str) -> None:
    root = tmp_path / "node"
    public, staff = free_port(), free_port()
    options = ["--staff-port", str(staff)] if where == "option" else []
    extra = {"option": "",
             "node.toml": f"\n[staff_office]\nport = {staff}\n",
             "on the public address": "\n[staff_office]\non_public_address = true\n"}[where]
    init_with_cli(root, config_text() + extra)
    proc = subprocess.Popen([sys.executable, "-m", "node.cli", "serve", "--data", str(root),
                             "--port", str(public), *options],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        assert proc.stdout is not None
        banner = b""
        while b"API document" not in banner:
            line = proc.stdout.readline()
            assert line, banner
            banner += line
        assert _get_status(f"http://127.0.0.1:{public}/en/") == 200
        if where == "on the public address":  # the explicit choice
            assert f"Staff login:  http://127.0.0.1:{public}/staff/login".encode() in banner
            assert _get_status(f"http://127.0.0.1:{public}/staff/login") == 200
            return
        assert f"Staff login:  http://127.0.0.1:{staff}/staff/login".encode() in banner
        assert _get_status(f"http://127.0.0.1:{public}/staff/login") == 404
        assert _get_status(f"http://127.0.0.1:{staff}/staff/login") == 200
    finally:
        proc.terminate()
        proc.wait(15)
        if proc.stdout is not None:
            proc.stdout.close()


def _get_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


async def test_the_staff_office_on_the_public_address_is_an_explicit_choice(
        node_ctx: NodeContext) -> None:
    async with running(node_ctx, sites(staff_on_public=True)) as node, \
            aiohttp.ClientSession() as session:
        assert node.public_url == node.staff_url
        assert await _status(session, node.public_url + "/staff/login") == 200


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
