"""js-libp2p (from npm) and our host, both ways: Noise, yamux, identify, ping and a signed
request on the federation protocol (issue 10, "Checked from outside").

`peer.mjs` is a stock js-libp2p node; the frames it carries are framed by
`it-length-prefixed`, so a varint frame of ours is a frame of theirs. The JS side signs
nothing: this test seals the requests and answers (`tests/integration/signed_requests.py`)
and verifies what comes back, including the binding of the sender's key to the peer id Noise
authenticated (the JS node's libp2p key is the test node's Ed25519 key).

Run with `make interop` (npm ci, then this module). Skipped when `tests/interop/node_modules`
is missing.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from protocol.framing import decode_frame, encode_frame
from protocol.versions import FEDERATION, FEDERATION_PROTOCOL
from tests.integration.signed_requests import SignedNode, open_answer, responder, sealed_query
from transport.host import HostConfig, Libp2pHost

HERE = Path(__file__).resolve().parent
NOISE, YAMUX = "/noise", "/yamux/1.0.0"  # what js-libp2p reports it negotiated
TIMEOUT = 30

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not (HERE / "node_modules").is_dir(),
                       reason="js-libp2p is not installed: run `make interop` "
                              "(npm ci in tests/interop)"),
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed"),
]


class JsPeer:
    """`node peer.mjs`, spoken to in JSON lines."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def send(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        await self.process.stdin.drain()

    async def event(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), TIMEOUT)
        assert line, "the JS peer ended without a word"
        event: dict[str, Any] = json.loads(line)
        assert "error" not in event, event["error"]
        return event


@asynccontextmanager
async def js_peer() -> AsyncIterator[JsPeer]:
    process = await asyncio.create_subprocess_exec(
        "node", str(HERE / "peer.mjs"), cwd=HERE, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    try:
        yield JsPeer(process)
        assert process.stdin is not None
        process.stdin.close()
        assert await asyncio.wait_for(process.wait(), TIMEOUT) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@asynccontextmanager
async def our_host(node: SignedNode, known: list[SignedNode], seen: list[tuple[str, str]]
                   ) -> AsyncIterator[Libp2pHost]:
    host = Libp2pHost(node.key, HostConfig())
    host.set_handler(FEDERATION_PROTOCOL, responder(node, known, seen))
    await host.start()
    try:
        yield host
    finally:
        await host.stop()


async def test_js_libp2p_dials_us_identifies_pings_and_sends_signed_requests() -> None:
    us, js = SignedNode(), SignedNode()
    seen: list[tuple[str, str]] = []
    requests = [sealed_query(js, us) for _ in range(3)]  # three on one stream
    async with our_host(us, [js], seen) as host, js_peer() as peer:
        await peer.send({"mode": "dial", "seed": js.key.seed().hex(), "peer_id": us.peer_id,
                         "addr": f"{host.listen_addrs[0]}/p2p/{us.peer_id}",
                         "protocol": FEDERATION_PROTOCOL,
                         "bodies": [decode_frame(frame).hex() for frame in requests]})
        result = await peer.event()
    identify = result["identify"]
    assert identify["peer"] == us.peer_id
    assert set(FEDERATION.served) | {"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"} <= set(
        identify["protocols"])
    assert result["rtt"] >= 0
    assert (result["encryption"], result["multiplexer"]) == (NOISE, YAMUX)
    assert result["protocol"] == FEDERATION_PROTOCOL
    acks = [open_answer(encode_frame(bytes.fromhex(r)), js, us) for r in result["responses"]]
    assert [ack.status for ack in acks] == ["accepted"] * 3  # the sender is the Noise peer
    assert seen == [(js.node_id, js.peer_id)] * 3


async def test_we_dial_js_libp2p_with_a_signed_request_and_it_identifies_and_pings_us() -> None:
    us, js = SignedNode(), SignedNode()
    js_seen: list[tuple[str, str]] = []
    js_application = responder(js, [us], js_seen)  # what the JS node's owner would run
    async with our_host(us, [], []) as host, js_peer() as peer:
        await peer.send({"mode": "listen", "seed": js.key.seed().hex(),
                         "protocol": FEDERATION_PROTOCOL})
        listening = await peer.event()
        assert listening["peer_id"] == js.peer_id
        answers, streams = [], []
        events: dict[str, Any] = {}
        for _ in range(2):  # two requests: the second reuses the stream
            asking = asyncio.create_task(host.request(
                js.peer_id, listening["listening"], FEDERATION_PROTOCOL, sealed_query(us, js),
                TIMEOUT))
            while "request" not in (event := await peer.event()):
                events.update(event)
            streams.append(event["stream"])
            assert (event["encryption"], event["multiplexer"]) == (NOISE, YAMUX)
            request = encode_frame(bytes.fromhex(event["request"]))
            response = await js_application(request, event["remote"])
            await peer.send({"response": decode_frame(response).hex()})
            answers.append(await asking)
        while not {"identified", "pinged"} <= set(events):
            events.update(await peer.event())
        await peer.send({"stop": True})
    assert [open_answer(a, us, js).status for a in answers] == ["accepted"] * 2
    assert js_seen == [(us.node_id, us.peer_id)] * 2
    assert streams[0] == streams[1]  # our host kept the stream for the second request
    assert events["identified"]["peer"] == us.peer_id
    assert FEDERATION_PROTOCOL in events["identified"]["protocols"]
    assert events["pinged"] >= 0
