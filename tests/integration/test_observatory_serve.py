"""`backup-observatory serve` as a real process: it starts, answers the web and libp2p sides,
stops cleanly on SIGTERM, and its log names no IP address (nodes work in conflict zones;
where an organisation connects from is sensitive)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from crypto.keys import VerifyKey
from observatory.logs import redact
from protocol.delivery import DeliveryAck
from protocol.framing import encode_frame
from tests.unit.observatory.fakenode import FakeNode, ObservatoryAddress
from tests.unit.observatory.support import make_observatory
from transport.errors import TransportError

ROOT = Path(__file__).resolve().parents[2]
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", re.MULTILINE)


@pytest.mark.slow
async def test_serve_runs_both_sides_and_logs_no_address(tmp_path: Path) -> None:
    root = make_observatory(tmp_path / "observatory")
    port, p2p_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "observatory.cli", "serve", "--data", str(root),
         "--host", "127.0.0.1", "--port", str(port), "--p2p-port", str(p2p_port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env={**os.environ})
    node = FakeNode()
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline().decode() for _ in range(3)]
        assert banner[0].startswith("Admin pages:") and f":{port}/admin/" in banner[0]
        assert f"/tcp/{p2p_port}/p2p/" in banner[2]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/nodes", timeout=5) as r:
            info = json.loads(r.read())["observatory"]
        obs = ObservatoryAddress(info["node_id"], VerifyKey(bytes.fromhex(info["identity_key"])),
                                 (f"/ip4/127.0.0.1/tcp/{p2p_port}",))
        await node.start()
        answer = await node.enroll(obs)
        assert isinstance(answer, DeliveryAck) and answer.status == "accepted"
        # something for libp2p to log about: a protocol the observatory does not speak
        assert node.host is not None
        with pytest.raises(TransportError):
            await node.host.request(obs.peer_id, obs.addrs, "/backup/unknown/1",
                                    encode_frame(b"x"), 5)
    finally:
        await node.stop()
        proc.send_signal(signal.SIGTERM)
        try:
            _, stderr = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    log = stderr.decode()
    assert proc.returncode == 0, log[-2000:]
    assert "request to join from node" in log and "GET /api/v1/nodes 200" in log
    assert "127.0.0.1" not in log
    untimed = _TIMESTAMP.sub("", log)  # the formatter's clock reads like an IPv6 address
    assert redact(untimed) == untimed, log[-2000:]
