"""The federation in the node's own lifecycle: configured in ``node.toml``, started by the
serving process (`node.server.running`), shown on the admin's federation page, stopped with
it; a port already taken leaves the node serving, standalone; and `backup-node
federation-info` prints what peers and courts need."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from crypto import passphrase as pw
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.federation import store
from node.federation.info import log_vkey, witness_vkey
from node.server import Running, running
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, ROOT, make_node
from tests.conftest import test_config as base_config
from tests.integration.conftest import csrf_of
from tests.integration.test_federation_double import ObservatoryDouble, listen_port
from tests.integration.test_federation_peers import eventually, submit
from transport.identity import peer_id_from_public_key


def federation_section(observatory: ObservatoryDouble, port: int) -> str:
    addrs = ", ".join(f'"{a}"' for a in observatory.addrs)
    return f"""
[federation]
observatory_node_id = "{observatory.node_id}"
observatory_identity_key = "{observatory.identity_key}"
observatory_addrs = [{addrs}]
listen_host = "127.0.0.1"
listen_port = {port}
organisation_name = "Test organisation"
country = "CD"
contact = "federation@example.org"
enrollment_poll_seconds = 1
membership_refresh_seconds = 1
push_check_seconds = 1
"""


@pytest.fixture
async def observatory() -> AsyncIterator[ObservatoryDouble]:
    double = ObservatoryDouble()
    await double.start()
    yield double
    await double.stop()


@contextlib.asynccontextmanager
async def served(ctx: NodeContext) -> AsyncIterator[tuple[Running, aiohttp.ClientSession]]:
    """The node served as `backup-node serve` serves it, and a browser-like client of it."""
    async with running(ctx) as node, aiohttp.ClientSession(
            base_url=node.public_url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        yield node, client


async def sign_in(client: Any) -> None:
    token = csrf_of(await (await client.get("/staff/login")).text())
    r = await client.post("/staff/login", data={"csrf": token, "username": ADMIN,
                                                "passphrase": ADMIN_PASSPHRASE},
                          allow_redirects=False)
    assert r.status == 303


async def test_the_serving_app_runs_the_federation(
        tmp_path: Path, observatory: ObservatoryDouble) -> None:
    port = listen_port()
    datadir = make_node(tmp_path / "node", base_config() + federation_section(observatory, port))
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        async with served(ctx) as (node, client):
            await _runs_the_federation(ctx, datadir, port, observatory, node, client)
        assert node.federation.state == "stopped"
    finally:
        ctx.close()


async def _runs_the_federation(ctx: NodeContext, datadir: DataDir, port: int,
                               observatory: ObservatoryDouble, node: Running,
                               client: aiohttp.ClientSession) -> None:
    status = node.federation
    assert status.state == "running"
    assert status.peer_id == peer_id_from_public_key(ctx.keys.identity_public.raw())
    assert status.listen_addrs == (f"/ip4/127.0.0.1/tcp/{port}",)
    await sign_in(client)

    async def page() -> str:
        r = await client.get("/staff/federation")
        assert r.status == 200
        return await r.text()

    async def approved() -> bool:
        return "Approved on" in await page()

    deadline = asyncio.get_running_loop().time() + 30
    while not await approved():
        assert asyncio.get_running_loop().time() < deadline, "not approved in 30 s"
        await asyncio.sleep(0.1)

    # A report, a checkpoint signed from the staff office, cosigned by the observatory.
    submit(ctx, "in the lifecycle")
    token = csrf_of(await page())
    r = await client.post("/staff/evidence/checkpoint", data={"csrf": token},
                          allow_redirects=False)
    assert r.status == 303
    await eventually(lambda: store.cosignature_lines(ctx.db.read(), 1), "a cosignature")
    html = await page()
    assert "running" in html and observatory.node_id in html
    assert "Membership list number 1" in html and "Nothing is waiting to be sent." in html
    assert "Cosigned checkpoints (size: witnesses): 1: 1" in html

    # federation-info, as an admin runs it
    out = subprocess.run([sys.executable, "-m", "node.cli", "federation-info", "--data",
                          str(datadir.root)], capture_output=True, text=True, cwd=ROOT,
                         timeout=60, check=True).stdout
    assert f"node id: {ctx.keys.node_id}" in out
    assert f"peer id: {status.peer_id}" in out
    assert f"listen: /ip4/127.0.0.1/tcp/{port}" in out
    assert f"witness vkey: {witness_vkey(ctx.keys)}" in out
    assert f"log vkey: {log_vkey(ctx.keys)}" in out


async def test_a_taken_port_leaves_the_node_serving_standalone(
        tmp_path: Path, observatory: ObservatoryDouble) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        datadir = make_node(tmp_path / "node",
                            base_config() + federation_section(observatory, port))
        ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                        receipt_params=pw.INSECURE_FAST_FOR_TESTS)
        try:
            async with served(ctx) as (node, client):
                assert node.federation.state == "failed"
                assert (await client.get("/en/")).status == 200  # reporters are still served
                await sign_in(client)
                html = await (await client.get("/staff/federation")).text()
                assert "could not start (listen_failed)" in html
        finally:
            ctx.close()


def test_federation_info_without_a_federation_section(tmp_path: Path) -> None:
    datadir: DataDir = make_node(tmp_path / "node")
    out = subprocess.run([sys.executable, "-m", "node.cli", "federation-info", "--data",
                          str(datadir.root)], capture_output=True, text=True, cwd=ROOT,
                         timeout=60, check=True).stdout
    assert "listen: none: no [federation] section" in out
    assert "witness vkey: backup.witness/" in out
