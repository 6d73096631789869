"""The answering node of `bench_federation`'s two-node figures, in a process of its own.

``python -m bench.federation_peer SPEC.json`` opens the node whose data directory the spec
names, starts its libp2p host (`transport.host.Libp2pHost`, the node's own key) and serves:

* `FEDERATION_PROTOCOL` with the node's real request handler (`federation_handler`: verify
  the envelope against the membership list, bind the sender to the Noise peer, act, answer
  signed), and
* `RAW_PROTOCOL`, the same request/response without envelope or handler work: the answer is
  a frame of the size that the request's first 8 bytes ask for.

It prints one JSON line (`peer_id`, `addrs`) once it listens, serves until its standard input
closes, then stops cleanly. With ``BENCH_PROFILE=DIR`` in its environment it writes a cProfile
of each of its threads (the asyncio loop, libp2p's trio thread) to DIR.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from crypto import passphrase as pw
from crypto.keys import VerifyKey
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.federation.config import FederationConfig
from node.federation.directory import Directory
from node.federation.handler import FederationHandler
from protocol.framing import encode_frame
from protocol.membership import MembershipListBody
from protocol.versions import FEDERATION_PROTOCOL
from transport import store as transport_store
from transport.host import Handler, HostConfig, Libp2pHost

RAW_PROTOCOL = "/backup/bench/raw/1.0.0"


def federation_handler(ctx: NodeContext, spec: dict[str, Any]) -> Handler:
    """The node's handler of federation requests, built as the node builds it: the shared
    responder (`protocol.responder`) with the node's decisions, writing through the node's
    one database writer."""
    with ctx.db.write() as conn:
        transport_store.ensure_schema(conn)
    directory = Directory(spec["observatory_id"], VerifyKey(bytes.fromhex(spec["observatory_key"])),
                          MembershipListBody.model_validate_json(spec["membership"]))
    return FederationHandler(ctx.db, keys=ctx.keys,
                             config=FederationConfig.model_validate_json(spec["config"]),
                             directory=lambda: directory, clock=lambda: int(time.time()))


async def raw_answer(frame: bytes, remote: str) -> bytes:
    """No envelope, no handler work: a frame of the size the request asks for."""
    size = int(frame[-8:])  # the request ends with the answer's size, 8 ASCII digits
    return encode_frame(b"r" * size)


async def serve(spec: dict[str, Any]) -> None:
    ctx = open_node(DataDir(Path(spec["node"])), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    handler = federation_handler(ctx, spec)
    host = Libp2pHost(ctx.keys.identity, HostConfig())
    host.set_handler(FEDERATION_PROTOCOL, handler)
    host.set_handler(RAW_PROTOCOL, raw_answer)
    await host.start()
    try:
        print(json.dumps({"peer_id": host.peer_id, "addrs": list(host.listen_addrs)}),
              flush=True)
        await asyncio.to_thread(sys.stdin.read)  # until the bench closes our stdin
    finally:
        await host.stop()
        ctx.close()


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    out = os.environ.get("BENCH_PROFILE")
    if not out:
        asyncio.run(serve(spec))
        return
    profiles: list[tuple[str, cProfile.Profile]] = []

    def profile_thread(*_: Any) -> None:  # the first event of each new thread
        sys.setprofile(None)
        profile = cProfile.Profile()
        profiles.append((threading.current_thread().name, profile))
        profile.enable()

    threading.setprofile(profile_thread)
    main_profile = cProfile.Profile()
    main_profile.enable()
    try:
        asyncio.run(serve(spec))
    finally:
        main_profile.disable()
        main_profile.dump_stats(Path(out) / "peer-main.pstats")
        for name, profile in profiles:
            profile.disable()
            if name.startswith("libp2p"):
                profile.dump_stats(Path(out) / "peer-trio.pstats")


if __name__ == "__main__":
    main()
