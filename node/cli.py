"""``backup-node``: create, configure and run a BackUp node.

Every command is documented here (``backup-node --help``, ``backup-node COMMAND --help``)
and in README.md; a test fails if a command is missing from either.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import sys
from pathlib import Path

from crypto import passphrase as pw
from node import config as node_config
from node import keyring
from node.accounts import WeakPassphrase
from node.datadir import DataDir
from node.intake.service import hour_of, utc_now
from node.storage.database import Database

PASSPHRASE_ENV = "BACKUP_ADMIN_PASSPHRASE"  # noqa: S105 -- a variable name, not a secret

RECOVERY_ADVICE = """\
RECOVERY KEY -- shown once, now. Write it on paper.

    {key}

With it, the node's reports can be opened even if every staff passphrase is lost.
Keep it offline (never in a file, a photo or a message), in a locked place away from
this computer, or split it among trusted people (see the back-office guide).
Anyone who holds it and a copy of the data directory can read every report.
"""


def _read_passphrase(prompt_for: str) -> str:
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env
    if not sys.stdin.isatty():
        raise SystemExit(f"no terminal to ask for the passphrase: set {PASSPHRASE_ENV}")
    first = getpass.getpass(f"Passphrase for {prompt_for} (at least 12 characters): ")
    second = getpass.getpass("Repeat the passphrase: ")
    if first != second:
        raise SystemExit("the two passphrases differ; nothing was created")
    return first


def cmd_init(args: argparse.Namespace) -> int:
    datadir = DataDir(Path(args.data))
    if datadir.is_initialised():
        print(f"{datadir.root} already holds a node; nothing was changed.", file=sys.stderr)
        return 1
    passphrase = _read_passphrase(f"the admin account '{args.admin}'")
    result = init_node(datadir, args.admin, passphrase, node_config.template_text())
    print(f"Node created in {datadir.root} (node id {result.node_id}).")
    print(f"Configuration: {datadir.config} -- edit it, then run `backup-node check-config`.")
    print()
    print(RECOVERY_ADVICE.format(key=result.recovery_key))
    return 0


def init_node(datadir: DataDir, admin: str, passphrase: str, config_text: str,
              staff_params: pw.KdfParams = pw.STAFF) -> keyring.InitResult:
    try:
        from node.accounts import check_passphrase

        check_passphrase(passphrase)
    except WeakPassphrase as exc:
        raise SystemExit(exc.message % exc.params) from None
    node_config.parse(_toml(config_text))  # refuse to create a node with a bad config
    datadir.create()
    if not datadir.config.exists():
        datadir.config.write_text(config_text, encoding="utf-8")
    db = Database(datadir.database)
    try:
        return keyring.initialise(datadir, db, admin, passphrase, staff_params,
                                  hour_of(utc_now()))
    finally:
        db.close()


def _toml(text: str) -> dict[str, object]:
    import tomllib

    return tomllib.loads(text)


def cmd_check_config(args: argparse.Namespace) -> int:
    path = DataDir(Path(args.data)).config
    try:
        cfg = node_config.load(path)
    except node_config.ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"{path}: valid ({len(cfg.regions)} regions, {len(cfg.services)} services, "
          f"languages {', '.join(cfg.languages)})")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from node.web.context import open_node

    try:
        ctx = open_node(DataDir(Path(args.data)))
    except (node_config.ConfigError, FileNotFoundError) as exc:
        print(exc, file=sys.stderr)
        return 2
    asyncio.run(serve(ctx, args.host, args.port, args.staff_host, args.staff_port))
    return 0


async def serve(ctx: object, host: str, port: int, staff_host: str | None = None,
                staff_port: int | None = None, banner: str = "") -> None:
    from aiohttp import web

    from node.web.accesslog import PrivacyAccessLogger
    from node.web.app import create_app
    from node.web.context import NodeContext

    assert isinstance(ctx, NodeContext)
    separate = staff_port is not None
    main_parts = {"public", "api"} if separate else {"public", "api", "staff"}
    runners = [web.AppRunner(create_app(ctx, main_parts, owns_context=True),
                             access_log_class=PrivacyAccessLogger)]
    sites: list[tuple[web.AppRunner, str, int]] = [(runners[0], host, port)]
    if staff_port is not None:
        runners.append(web.AppRunner(create_app(ctx, {"staff"}),
                                     access_log_class=PrivacyAccessLogger))
        sites.append((runners[1], staff_host or "127.0.0.1", staff_port))
    for runner in runners:
        await runner.setup()
    for runner, h, p in sites:
        await web.TCPSite(runner, h, p).start()
    public_url = f"http://{_url_host(host)}:{port}"
    staff_url = (f"http://{_url_host(staff_host or '127.0.0.1')}:{staff_port}"
                 if separate else public_url)
    print(banner + f"Public site:  {public_url}/\nStaff login:  {staff_url}/staff/login\n"
          f"API document: {public_url}/api/v1/openapi.json", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for runner in reversed(runners):
        await runner.cleanup()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def cmd_demo(args: argparse.Namespace) -> int:
    from node import demo

    return demo.run(Path(args.data), args.host, args.port, reports=args.reports)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backup-node",
        description="Run a BackUp node: the secure reporting site, the JSON API and the staff "
                    "back office of one organisation. Data stays in DIR, encrypted.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="create a node: keys, database, first admin account",
                       description="Create a node in DIR: identity and intake keys, the "
                       "database, the configuration file and the first admin account. The "
                       f"admin passphrase comes from {PASSPHRASE_ENV} or a prompt. Prints "
                       "the recovery key once.")
    p.add_argument("--data", required=True, metavar="DIR", help="data directory to create")
    p.add_argument("--admin", default="admin", help="username of the first admin (default: "
                   "admin)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("serve", help="serve the public site, the API and the staff office",
                       description="Serve the node in DIR. Put it behind a TLS reverse proxy "
                       "or an onion service (see deploy/).")
    p.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--staff-host", default=None, help="serve the staff office on its own "
                   "address instead (with --staff-port)")
    p.add_argument("--staff-port", type=int, default=None, help="port of the separate staff "
                   "office")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("check-config", help="validate DIR/node.toml and name any bad field",
                       description="Validate the configuration file without starting.")
    p.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("demo", help="create (once) and serve a demo node with synthetic data",
                       description="Create a demonstration node in DIR if there is none, fill "
                       "it with synthetic reports that say they are synthetic, and serve it. "
                       "Prints the URLs and the demo credentials. Never use it for real "
                       "reports.")
    p.add_argument("--data", default="demo-data", metavar="DIR",
                   help="data directory (default ./demo-data)")
    p.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--reports", type=int, default=24, help="synthetic reports to create")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    from node.web.accesslog import configure_logging

    configure_logging(logging.INFO)
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
