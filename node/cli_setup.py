"""``backup-node`` commands that create, check and serve a node: ``init``,
``check-config``, ``serve``, ``demo``, and ``regions`` (the codes ``node.toml`` maps its
regions to)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from node import config as node_config
from node.accounts import BadUsername, WeakPassphrase, check_username
from node.cli_access import read_passphrase
from node.datadir import DataDir
from runtime.catalogues import check_code

STAFF_PORT = 8079  # the staff office, on its own address (`node.server.sites`)

RECOVERY_ADVICE = """\
RECOVERY KEY -- shown once, now. Write it on paper.

    {key}

With it, the node's reports can be opened even if every staff passphrase is lost.
Keep it offline (never in a file, a photo or a message), in a locked place away from
this computer, or split it among trusted people (see the back-office guide).
Anyone who holds it and a copy of the data directory can read every report.
"""


def _read_admin_username(given: str | None) -> str:
    """The first admin's username: `--admin`, or asked for. There is no default: a
    well-known first username (it was `admin`) is half of what a guesser needs."""
    if given is None:
        if not sys.stdin.isatty():
            raise SystemExit("no terminal to ask for the first admin's username: "
                             "give it with --admin NAME")
        given = input("Username of the first admin (2-40 letters, digits, . - _): ")
    try:
        return check_username(given)
    except BadUsername as exc:
        raise SystemExit(exc.message % exc.params) from None


def cmd_init(args: argparse.Namespace) -> int:
    from node.context import init_node

    datadir = DataDir(Path(args.data))
    if datadir.is_initialised():
        print(f"{datadir.root} already holds a node; nothing was changed.", file=sys.stderr)
        return 1
    admin = _read_admin_username(args.admin)
    passphrase = read_passphrase(f"the admin account '{admin}'")
    try:
        result = init_node(datadir, admin, passphrase, node_config.template_text())
    except (WeakPassphrase, BadUsername) as exc:
        raise SystemExit(exc.message % exc.params) from None
    print(f"Node created in {datadir.root} (node id {result.node_id}).")
    print(f"Configuration: {datadir.config} -- edit it, then run `backup-node check-config`.")
    print()
    print(RECOVERY_ADVICE.format(key=result.recovery_key))
    return 0


def language_code(value: str) -> str:
    try:
        return check_code(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_check_config(args: argparse.Namespace) -> int:
    from node.i18n import Catalogues

    datadir = DataDir(Path(args.data))
    path = datadir.config
    try:
        cfg = node_config.load(path)
        # issue 20: the catalogues of the configured languages too (as `serve` reads them)
        Catalogues(cfg.languages, datadir.root / cfg.catalogues_dir if cfg.catalogues_dir
                   else None)
    except node_config.ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"{path}: valid ({len(cfg.regions)} regions, {len(cfg.services)} services, "
          f"languages {', '.join(cfg.languages)})")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from node.context import open_node
    from node.server import serve, sites

    try:
        ctx = open_node(DataDir(Path(args.data)))
    except (node_config.ConfigError, FileNotFoundError) as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        office = ctx.config.staff_office  # node.toml [staff_office]; options override it
        asyncio.run(serve(ctx, sites(
            args.host, args.port,
            office.host if args.staff_host is None else args.staff_host,
            office.port if args.staff_port is None else args.staff_port,
            staff_on_public=args.staff_on_public or office.on_public_address,
            expert=((ctx.config.expert_app.host, ctx.config.expert_app.port)
                    if ctx.config.expert_app.enabled else None))))
    finally:
        ctx.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from node import demo

    return demo.run(Path(args.data), args.host, args.port, reports=args.reports,
                    staff_port=args.staff_port)


def cmd_regions(args: argparse.Namespace) -> int:
    """The federation's region codes of one country, to map node.toml's regions to."""
    from protocol import regions

    country = args.country.upper()
    found = regions.subdivisions(country)
    if not found:
        print(f"{args.country}: no such ISO 3166-1 alpha-2 country code, or a country without "
              "subdivisions; map its regions to \"unknown\"", file=sys.stderr)
        return 2
    lang = args.lang or "en"
    print(f"# {regions.country_name(country, lang)}: first-level ISO 3166-2 subdivisions "
          f"(region vocabulary {regions.VOCABULARY})")
    for sub in found:
        print(f"{sub.code}\t{regions.name(sub.code, lang)}\t{sub.kind}")
    return 0
