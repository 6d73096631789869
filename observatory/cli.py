"""``backup-observatory``: create, run and administer a BackUp observatory.

Every command is documented here (``backup-observatory --help``, ``backup-observatory
COMMAND --help``) and in ``observatory/README.md``; a test fails if a command is missing
from either. The admin commands work on the data directory directly, while `serve` runs or
not: SQLite (WAL) lets both write, and the server reads members afresh for every request.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from observatory import config as observatory_config
from observatory.admin_passphrase import WeakPassphrase
from observatory.context import (
    AlreadyInitialised,
    ObservatoryContext,
    init_observatory,
    open_observatory,
)
from observatory.datadir import DataDir
from observatory.errors import ObservatoryError
from observatory.evaluator_keys import add_commands as add_evaluator_commands
from observatory.expert_cli import add_commands as add_expert_commands
from observatory.members import REVOCATION_REASONS, Member, RevocationReason, Status
from observatory.web.rendering import utc

PASSPHRASE_ENV = "BACKUP_OBSERVATORY_PASSPHRASE"  # noqa: S105 -- a variable name, not a secret


def _read_passphrase() -> str:
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env
    if not sys.stdin.isatty():
        raise SystemExit(f"no terminal to ask for the admin passphrase: set {PASSPHRASE_ENV}")
    first = getpass.getpass("Admin passphrase for the observatory (at least 12 characters): ")
    second = getpass.getpass("Repeat the passphrase: ")
    if first != second:
        raise SystemExit("the two passphrases differ; nothing was created")
    return first


def _open(args: argparse.Namespace) -> ObservatoryContext:
    try:
        return open_observatory(Path(args.data))
    except (observatory_config.ConfigError, FileNotFoundError, RuntimeError) as exc:
        raise SystemExit(str(exc)) from None


# -- init, serve, show-key -------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    passphrase = _read_passphrase()
    try:
        identity = init_observatory(Path(args.data), passphrase,
                                    observatory_config.template_text())
    except AlreadyInitialised as exc:
        print(f"{exc}; nothing was changed.", file=sys.stderr)
        return 1
    except (WeakPassphrase, observatory_config.ConfigError) as exc:
        print(f"{exc}; nothing was created.", file=sys.stderr)
        return 2
    print(f"Observatory created in {args.data} (node id {identity.node_id}).")
    print(f"Configuration: {DataDir(Path(args.data)).config} -- edit it, then run "
          "`backup-observatory show-key` and give nodes what it prints.")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from observatory.logs import configure_logging

    configure_logging()
    ctx = _open(args)
    try:
        asyncio.run(_serve(ctx, args.host, args.port, args.p2p_port))
    finally:
        ctx.close()
    return 0


async def _serve(ctx: ObservatoryContext, host: str, port: int, p2p_port: int | None) -> None:
    from observatory.server import running

    async with running(ctx, host=host, port=port, p2p_port=p2p_port) as served:
        print(f"Admin pages:  {served.web_url}/admin/\n"
              f"API document: {served.web_url}/api/v1/openapi.json\n"
              f"Federation:   {', '.join(served.multiaddrs)}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def key_info(ctx: ObservatoryContext) -> dict[str, Any]:
    """What a node needs to pin the observatory (and to check its cosignatures)."""
    ident = ctx.identity
    addrs = ctx.config.p2p.dial_addrs()
    return {
        "node_id": ident.node_id,
        "identity_key": ident.identity_key_hex,
        "peer_id": ident.peer_id,
        "multiaddrs": [f"{a}/p2p/{ident.peer_id}" for a in addrs],
        "addrs": addrs,
        "witness_vkey": ident.witness_vkey,
    }


def cmd_show_key(args: argparse.Namespace) -> int:
    ctx = _open(args)
    try:
        info = key_info(ctx)
    finally:
        ctx.close()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"node id:       {info['node_id']}\n"
          f"identity key:  {info['identity_key']}\n"
          f"peer id:       {info['peer_id']}\n"
          f"multiaddrs:    {', '.join(info['multiaddrs'])}\n"
          f"witness vkey:  {info['witness_vkey']}\n")
    print("# For the nodes' node.toml, [federation] section. Give it to each organisation")
    print("# in a way they can check (read the key out on a call, a signed letter).")
    print(f'observatory_node_id = "{info["node_id"]}"')
    print(f'observatory_identity_key = "{info["identity_key"]}"')
    print(f"observatory_addrs = {json.dumps(info['addrs'])}")
    if any(a.startswith(("/ip4/0.0.0.0/", "/ip6/::/")) for a in info["addrs"]):
        print("# warning: set p2p.announce in observatory.toml to the address nodes can dial",
              file=sys.stderr)
    return 0


# -- membership ------------------------------------------------------------------------------


def _describe(m: Member, *, contact: bool = True) -> str:
    lines = [f"{m.node_id}  {m.status:<8}  {m.organisation_name} ({m.country})"]
    if contact:
        lines.append(f"    contact:      {m.contact}")
    lines.append(f"    identity key: {m.identity_key}")
    lines.append(f"    box key:      {m.box_key}")
    lines.append(f"    peer id:      {m.peer_id}")
    lines.append(f"    asked:        {utc(m.requested_at)}")
    if m.certificate_serial:
        lines.append(f"    certificate:  {m.certificate_serial} (joined {utc(m.joined_at)})")
    if m.status in ("rejected", "revoked"):
        lines.append(f"    {m.status}:     {utc(m.decided_at)}: {m.reason}")
    return "\n".join(lines)


def cmd_requests(args: argparse.Namespace) -> int:
    ctx = _open(args)
    try:
        pending = ctx.members.with_status("pending")
    finally:
        ctx.close()
    if not pending:
        print("No request to join is waiting.")
    for m in pending:
        print(_describe(m))
    return 0


def cmd_members(args: argparse.Namespace) -> int:
    ctx = _open(args)
    try:
        statuses: tuple[Status, ...] = (
            ("approved", "revoked", "rejected") if args.all else ("approved",))
        members = ctx.members.with_status(*statuses)
        latest = ctx.lists.latest_in(ctx.db.read())
    finally:
        ctx.close()
    if latest is not None:
        print(f"Membership list: sequence {latest.body.sequence}, issued "
              f"{utc(latest.body.issued_at)}, expires {utc(latest.body.expires)}")
    if not members:
        print("No member yet.")
    for m in members:
        print(_describe(m))
    return 0


def _decide(args: argparse.Namespace, action: str) -> int:
    ctx = _open(args)
    try:
        now = ctx.now()
        if action == "approve":
            member = ctx.members.approve(args.node_id, now)
            print(f"Approved {member.organisation_name} ({member.node_id}): certificate "
                  f"{member.certificate_serial}. The node receives it when it asks next.")
        elif action == "reject":
            member = ctx.members.reject(args.node_id, args.reason, now)
            print(f"Rejected the request of {member.organisation_name} ({member.node_id}).")
        else:
            member = ctx.members.revoke(args.node_id, cast(RevocationReason, args.reason), now)
            print(f"Revoked {member.organisation_name} ({member.node_id}); the next "
                  "membership list names the revocation.")
    except (ObservatoryError, ValueError) as exc:
        print(f"{exc}; nothing was changed.", file=sys.stderr)
        return 1
    finally:
        ctx.close()
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    return _decide(args, "approve")


def cmd_reject(args: argparse.Namespace) -> int:
    return _decide(args, "reject")


def cmd_revoke(args: argparse.Namespace) -> int:
    return _decide(args, "revoke")


def cmd_snapshot(args: argparse.Namespace) -> int:
    from observatory import snapshot

    ctx = _open(args)
    try:
        made = snapshot.write(ctx, Path(args.out))
    except FileExistsError as exc:
        raise SystemExit(str(exc)) from None
    finally:
        ctx.close()
    print(f"Snapshot written: {made.directory} ({made.files} files, signed). Check a mirror "
          f"with: backup-observatory verify-mirror --dir COPY --identity-key "
          f"{ctx.identity.identity_key_hex}")
    return 0


def cmd_verify_mirror(args: argparse.Namespace) -> int:
    from observatory import snapshot

    problems = snapshot.verify(Path(args.dir), args.identity_key)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("This copy is NOT what the observatory signed.", file=sys.stderr)
        return 1
    print("This copy is exactly what the observatory signed.")
    return 0


# -- the parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backup-observatory",
        description="Create, run and administer a BackUp observatory (the federation's hub).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, description: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=description, description=description)
        sub.add_argument("--data", required=True, help="the observatory's data directory")
        return sub

    init = command("init", "Create an observatory: identity key (0600), database, admin "
                   f"passphrase (from {PASSPHRASE_ENV} or asked), observatory.toml.")
    init.set_defaults(func=cmd_init)

    serve = command("serve", "Run the admin pages, the JSON API and the libp2p federation "
                    "endpoint in one process (stop with Ctrl-C or SIGTERM).")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address of the web server (default 127.0.0.1; put a TLS "
                       "reverse proxy in front)")
    serve.add_argument("--port", type=int, default=8080, help="port of the web server")
    serve.add_argument("--p2p-port", type=int, default=None,
                       help="TCP port of the libp2p host (default: p2p.listen_port)")
    serve.set_defaults(func=cmd_serve)

    requests = command("requests", "List the requests to join that wait for a decision.")
    requests.set_defaults(func=cmd_requests)

    approve = command("approve", "Approve a request to join: issue the node's membership "
                      "certificate and a new membership list.")
    approve.add_argument("node_id", help="the node id (from `requests`)")
    approve.set_defaults(func=cmd_approve)

    reject = command("reject", "Reject a request to join; the node receives the reason.")
    reject.add_argument("node_id", help="the node id (from `requests`)")
    reject.add_argument("--reason", required=True, help="why (sent to the organisation)")
    reject.set_defaults(func=cmd_reject)

    revoke = command("revoke", "Revoke a member; the next membership list names it and its "
                     "keys stop being believed.")
    revoke.add_argument("node_id", help="the member's node id (from `members`)")
    revoke.add_argument("--reason", required=True, choices=REVOCATION_REASONS,
                        help="why: " + ", ".join(REVOCATION_REASONS))
    revoke.set_defaults(func=cmd_revoke)

    members = command("members", "List the members, their keys and certificates.")
    members.add_argument("--all", action="store_true",
                         help="also list revoked members and rejected requests")
    members.set_defaults(func=cmd_members)

    show_key = command("show-key", "Print the observatory's node id, identity key, peer id "
                       "and multiaddrs: what nodes put in their configuration.")
    show_key.add_argument("--json", action="store_true", help="print JSON")
    show_key.set_defaults(func=cmd_show_key)
    add_expert_commands(command)  # vetting experts (issue 16)
    add_evaluator_commands(command)  # the OPRF evaluator's published keys (issue 18)

    snapshot = command("snapshot", "Write the public statistics site and open data as static "
                       "files any web host or mirror can serve, with a checksum list signed "
                       "by the observatory's key (SHA256SUMS, SHA256SUMS.sig).")
    snapshot.add_argument("--out", required=True, help="the directory to write (must not exist)")
    snapshot.set_defaults(func=cmd_snapshot)
    check = commands.add_parser(
        "verify-mirror", help="check a copy of a snapshot against the observatory's key",
        description="Check a copy of a static snapshot (e.g. downloaded from a mirror): the "
        "signature of SHA256SUMS under the observatory's identity key, every file's digest, "
        "and that nothing unlisted was added. Needs no data directory.")
    check.add_argument("--dir", required=True, help="the copy to check")
    check.add_argument("--identity-key", required=True,
                       help="the observatory's identity key (show-key), 64 hex digits")
    check.set_defaults(func=cmd_verify_mirror)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
