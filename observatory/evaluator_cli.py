"""``backup-evaluator``: the OPRF evaluator of perpetrator tokens as its own service (issue 18).

Run by an operator other than the observatory's (a member organisation or an independent
body), in its own data directory, with its own identity key and its own OPRF epoch keys: the
observatory, which stores and matches tokens, must never hold the key that makes them
(`observatory.oprf_evaluator` says why). It ships in this package only because it shares the
responder and the transport; it opens nothing of the observatory's.

Commands:

* ``init --data DIR``: the data directory, ``evaluator.toml`` (listen address, budget per
  member and day, the members it serves), an identity key and epoch 1's key; prints the
  identity and the epoch's public key, which the observatory publishes in its signed
  membership list.
* ``add-member --data DIR NODE_ID IDENTITY_KEY`` / ``remove-member --data DIR NODE_ID``: the
  members whose envelopes it answers (from the observatory's membership list; a revoked
  member is removed).
* ``rotate --data DIR``: a new epoch (printed); ``retire --data DIR EPOCH`` shreds an old one.
* ``serve --data DIR``: answer `OprfEvaluationRequest` on the federation protocol over libp2p
  (Noise), until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import signal
import sqlite3
import sys
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path

from crypto.keys import SigningKey, VerifyKey
from observatory.oprf_evaluator import (
    SEED_FILE,
    EpochKeys,
    EvaluatorLimits,
    OprfEvaluatorService,
    ensure_schema,
)
from protocol.exchanges import Endpoint
from protocol.responder import Responder
from protocol.versions import FEDERATION_PROTOCOL
from runtime.files import write_private_file
from runtime.sqlite import Database
from transport import store
from transport.host import HostConfig, Libp2pHost
from transport.identity import peer_id_from_public_key
from transport.inbox import ReplayGuard

CONFIG = "evaluator.toml"
IDENTITY = "identity.key"
TEMPLATE = """\
# backup-evaluator: the OPRF evaluator of perpetrator tokens (issue 18)
node_id = "{node_id}"
listen_host = "127.0.0.1"
listen_port = {port}
# Evaluations one member may ask for per day (UTC): bounds a member guessing names.
per_member_per_day = 1000

[members]
# node_id = "identity key (hex)", from the observatory's signed membership list
"""
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _config(data: Path) -> dict[str, object]:
    try:
        return tomllib.loads((data / CONFIG).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"{data} is not an evaluator; run `backup-evaluator init` first"
                         ) from None


def _members(cfg: dict[str, object]) -> dict[str, VerifyKey]:
    table = cfg.get("members", {})
    assert isinstance(table, dict)
    return {str(k): VerifyKey(bytes.fromhex(str(v))) for k, v in table.items()}


def _epochs(data: Path) -> list[int]:
    pattern = re.compile(SEED_FILE.format(epoch=r"(\d+)").replace(".", r"\."))
    return sorted(int(m.group(1)) for p in (data / "keys").iterdir()
                  if (m := pattern.fullmatch(p.name)))


def _write_members(data: Path, members: dict[str, str]) -> None:
    text = (data / CONFIG).read_text(encoding="utf-8")
    head = text[:text.index("[members]")]
    lines = [f'"{k}" = "{v}"' for k, v in sorted(members.items())]
    body = "[members]\n# node_id = \"identity key (hex)\", from the observatory's signed " \
           "membership list\n" + "".join(line + "\n" for line in lines)
    (data / CONFIG).write_text(head + body, encoding="utf-8")


def init(data: Path, port: int) -> None:
    if (data / CONFIG).exists():
        raise SystemExit(f"{data} is an evaluator already; nothing was changed")
    (data / "keys").mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private_file(data / "keys" / IDENTITY, SigningKey.generate().seed())
    (data / CONFIG).write_text(TEMPLATE.format(node_id=secrets.token_hex(16), port=port),
                               encoding="utf-8")
    public = EpochKeys(data / "keys").create(1)
    show(data)
    print(f"epoch 1 oprf key: {public.hex()}")


def show(data: Path) -> None:
    cfg = _config(data)
    key = SigningKey((data / "keys" / IDENTITY).read_bytes())
    print(f"node id: {cfg['node_id']}")
    print(f"identity key: {key.verify_key.raw().hex()}")
    print(f"peer id: {peer_id_from_public_key(key.verify_key.raw())}")


def _open(data: Path) -> tuple[dict[str, object], Database, Responder[sqlite3.Connection]]:
    cfg = _config(data)
    key = SigningKey((data / "keys" / IDENTITY).read_bytes())
    members = _members(cfg)

    def migrate(conn: sqlite3.Connection) -> None:
        store.ensure_schema(conn)
        ensure_schema(conn)

    db = Database(data / "evaluator.db", migrate)
    guard = ReplayGuard(db)
    responder: Responder[sqlite3.Connection] = Responder(
        Endpoint(str(cfg["node_id"]), key, lookup_key=members.get, is_replay=guard),
        once=guard.once, peer_id_of=lambda k: peer_id_from_public_key(k.raw()),
        clock=lambda: int(time.time()))
    limits = EvaluatorLimits(per_member_per_day=int(str(cfg.get("per_member_per_day", 1000))))
    OprfEvaluatorService(EpochKeys(data / "keys"), limits,
                         clock=lambda: int(time.time())).serve(responder)
    return cfg, db, responder


async def serve(data: Path, port: int | None = None) -> None:
    cfg, db, responder = _open(data)
    key = SigningKey((data / "keys" / IDENTITY).read_bytes())
    host = Libp2pHost(key, HostConfig(listen_host=str(cfg.get("listen_host", "127.0.0.1")),
                                      listen_port=int(str(cfg.get("listen_port", 0)))
                                      if port is None else port))

    async def handle(frame: bytes, remote_peer: str) -> bytes:
        return await asyncio.to_thread(responder.answer, frame, remote_peer)

    host.set_handler(FEDERATION_PROTOCOL, handle)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await host.start()
    try:
        for addr in host.listen_addrs:
            print(f"listening: {addr}/p2p/{host.peer_id}", flush=True)
        await stop.wait()
    finally:
        await host.stop()
        db.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backup-evaluator", description=__doc__.split(
        "\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (("init", "create the data directory, keys and configuration"),
                           ("show-key", "print the identity and peer id"),
                           ("add-member", "answer a member's envelopes"),
                           ("remove-member", "stop answering a member (revoked)"),
                           ("rotate", "make the next epoch's key and print it"),
                           ("retire", "shred an epoch's key"),
                           ("serve", "answer evaluation requests over libp2p")):
        p = sub.add_parser(name, help=helptext, description=helptext)
        p.add_argument("--data", required=True, type=Path, help="the evaluator's data directory")
        if name in ("init", "serve"):
            p.add_argument("--port", type=int, default=None,
                           help="libp2p TCP port (default: the configuration's; 0: any free)")
        if name in ("add-member", "remove-member"):
            p.add_argument("node_id", help="the member's node id (32 hex digits)")
        if name == "add-member":
            p.add_argument("identity_key", help="the member's identity key (64 hex digits)")
        if name == "retire":
            p.add_argument("epoch", type=int, help="the epoch whose key is shredded")
    args = parser.parse_args(argv)
    data: Path = args.data
    if args.command == "init":
        init(data, args.port or 0)
    elif args.command == "show-key":
        show(data)
    elif args.command in ("add-member", "remove-member"):
        members = {k: v.raw().hex() for k, v in _members(_config(data)).items()}
        if args.command == "add-member":
            if not _HEX32.match(args.node_id) or not _HEX64.match(args.identity_key):
                raise SystemExit("a node id is 32 hex digits, an identity key 64")
            members[args.node_id] = args.identity_key
        else:
            members.pop(args.node_id, None)
        _write_members(data, members)
    elif args.command == "rotate":
        epoch = (max(_epochs(data), default=0)) + 1
        print(f"epoch {epoch} oprf key: {EpochKeys(data / 'keys').create(epoch).hex()}")
    elif args.command == "retire":
        EpochKeys(data / "keys").retire(args.epoch)
    else:
        asyncio.run(serve(data, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
