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
import sys
from pathlib import Path
from typing import Any

from crypto import passphrase as pw
from crypto.keys import BoxSecretKey
from node import accounts, keyring
from node import config as node_config
from node.accounts import BadUsername, WeakPassphrase, check_username
from node.backups.cli import add_commands as add_backup_commands
from node.bundles.disclosure import DISCLOSE_REASONS as DISCLOSE_REASON_CODES
from node.bundles.disclosure import WITHHOLD_REASONS as WITHHOLD_REASON_CODES
from node.bundles.disclosure import WITHHOLDABLE as WITHHOLDABLE_GROUPS
from node.datadir import DataDir
from node.imports.cli import add_commands as add_import_commands
from node.intake.service import utc_now
from node.storage.database import Database
from node.storage.migrations import SchemaTooNew
from runtime.catalogues import check_code

PASSPHRASE_ENV = "BACKUP_ADMIN_PASSPHRASE"  # noqa: S105 -- a variable name, not a secret
STAFF_PORT = 8079  # the staff office, on its own address (`node.server.sites`)

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
    passphrase = _read_passphrase(f"the admin account '{admin}'")
    try:
        result = init_node(datadir, admin, passphrase, node_config.template_text())
    except (WeakPassphrase, BadUsername) as exc:
        raise SystemExit(exc.message % exc.params) from None
    print(f"Node created in {datadir.root} (node id {result.node_id}).")
    print(f"Configuration: {datadir.config} -- edit it, then run `backup-node check-config`.")
    print()
    print(RECOVERY_ADVICE.format(key=result.recovery_key))
    return 0


def _language_code(value: str) -> str:
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


# ------------------------------------------------------------------ accounts and recovery

RECOVERY_KEY_ENV = "BACKUP_RECOVERY_KEY"
RECOVERY_SHARES_ENV = "BACKUP_RECOVERY_SHARES"
MAX_SHARES = 16  # SLIP-39: at most 16 member shares in a group

SPLIT_ADVICE = """\
RECOVERY KEY SHARES -- {threshold} of these {shares} together restore the recovery key;
fewer reveal nothing about it (SLIP-39, Shamir's secret sharing).

Give each share to a different trusted person (a trustee), on paper, in person. Each
trustee keeps theirs offline, in a locked place, and never photographs or types it
anywhere but into `backup-node recover-admin --from-shares`. Write down who holds which
share number, not the words. The old recovery key still works: keep it as safe, or
destroy every copy once the trustees confirm they hold their shares.
"""


def _read_secret(env: str, prompt: str, what: str) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise SystemExit(f"no terminal to ask for {what}: set {env}")
    return getpass.getpass(prompt)


def _staff_passphrase(username: str) -> str:
    """A staff member's passphrase for a command acting as them: from the environment, or
    asked on the terminal."""
    passphrase = os.environ.get(EXPORT_PASSPHRASE_ENV)
    if not passphrase:
        if not sys.stdin.isatty():
            raise SystemExit(f"set {EXPORT_PASSPHRASE_ENV} or run from a terminal")
        passphrase = getpass.getpass(f"Passphrase of '{username}': ")
    return passphrase


def _open_for_admin(data: str) -> tuple[Database, keyring.NodeKeys]:
    datadir = DataDir(Path(data))
    if not datadir.is_initialised():
        raise SystemExit(f"{datadir.root} is not a node; nothing was changed")
    db = Database(datadir.database)
    return db, keyring.load(datadir, db)


def _node_keys_from_recovery(db: Database, text: str) -> dict[str, BoxSecretKey]:
    """Every node key sealed to the recovery key -- which proves the key is this node's."""
    from crypto.errors import CryptoError

    conn = db.read()
    keys = {}
    try:
        for name in accounts.NODE_KEYS:
            if conn.execute("SELECT 1 FROM key_wraps WHERE key_name = ? AND holder = ?",
                            (name, keyring.RECOVERY_HOLDER)).fetchone():
                keys[name] = keyring.open_with_recovery(conn, text, name)
    except CryptoError:
        raise SystemExit("this is not the recovery key of this node (check it for a typo); "
                         "nothing was changed") from None
    if not keys:
        raise SystemExit("this node has no key sealed to a recovery key; nothing was changed")
    return keys


def _recovery_from_shares() -> str:
    from crypto.errors import FormatError
    from crypto.recovery import RecoveryKey, shares_needed

    env = os.environ.get(RECOVERY_SHARES_ENV)
    if env:
        mnemonics = [" ".join(line.split()) for line in env.splitlines() if line.strip()]
    else:
        if not sys.stdin.isatty():
            raise SystemExit(f"no terminal to ask for the shares: set {RECOVERY_SHARES_ENV}")
        first = " ".join(getpass.getpass("Share 1 (its words, separated by spaces): ").split())
        try:
            needed = shares_needed(first)
        except FormatError as exc:
            raise SystemExit(f"share 1 is not valid: {exc}") from None
        mnemonics = [first] + [" ".join(getpass.getpass(f"Share {i} of {needed}: ").split())
                               for i in range(2, needed + 1)]
    try:
        return RecoveryKey.combine(mnemonics).text()
    except FormatError as exc:
        raise SystemExit(str(exc)) from None


def cmd_recover_admin(args: argparse.Namespace) -> int:
    from node.errors import NodeError

    db, keys = _open_for_admin(args.data)
    try:
        if args.from_shares:
            text = _recovery_from_shares()
        else:
            text = _read_secret(RECOVERY_KEY_ENV, "Recovery key: ", "the recovery key")
        node_keys = _node_keys_from_recovery(db, text)
        passphrase = _read_passphrase(f"the new admin account '{args.username}'")
        member = accounts.recover_admin(db, keyring.custody_log(keys), args.username, passphrase,
                                        node_keys, pw.STAFF, int(utc_now().timestamp()))
    except NodeError as exc:
        print(exc.message % exc.params if exc.params else exc.message, file=sys.stderr)
        return 2
    finally:
        db.close()
    print(f"Account '{member.username}' created (admin and coordinator) with access to: "
          f"{', '.join(sorted(node_keys))}. Sign in with it, then disable the account whose "
          "passphrase was lost.")
    return 0


def cmd_recovery_split(args: argparse.Namespace) -> int:
    from crypto.recovery import RecoveryKey

    if not 2 <= args.threshold <= args.shares <= MAX_SHARES:
        print(f"choose 2 <= --threshold <= --shares <= {MAX_SHARES}", file=sys.stderr)
        return 2
    db, keys = _open_for_admin(args.data)
    try:
        text = _read_secret(RECOVERY_KEY_ENV, "Recovery key: ", "the recovery key")
        _node_keys_from_recovery(db, text)  # refuse to split a key that is not this node's
        shares = RecoveryKey.parse(text).split(args.threshold, args.shares)
        with db.write() as conn:
            keyring.custody_log(keys).append(
                conn, at=int(utc_now().timestamp()), actor="cli", action="recovery.split",
                object_type="node", object_id=keys.node_id,
                detail=f"threshold={args.threshold} shares={args.shares}")
    finally:
        db.close()
    print(SPLIT_ADVICE.format(threshold=args.threshold, shares=args.shares))
    for number, words in enumerate(shares, start=1):
        print(f"Share {number} of {args.shares}:\n    {words}\n")
    return 0


def cmd_rotate_key(args: argparse.Namespace) -> int:
    """Rotate the intake, analysis or recovery key with the recovery key (issue 13)."""
    from crypto.recovery import RecoveryKey
    from node import key_rotation

    db, keys = _open_for_admin(args.data)
    try:
        text = _read_secret(RECOVERY_KEY_ENV, "Recovery key: ", "the recovery key")
        node_keys = _node_keys_from_recovery(db, text)
        log = keyring.custody_log(keys)
        now = int(utc_now().timestamp())
        if args.key == key_rotation.RECOVERY_HOLDER:
            done = key_rotation.rotate_recovery_key(db, log, keys.certifier, node_keys, "cli",
                                                    now)
        else:
            if args.key not in node_keys:
                print(f"this node has no {args.key} key sealed to the recovery key; "
                      "nothing was changed", file=sys.stderr)
                return 2
            done = key_rotation.rotate_node_key(
                db, log, keys.certifier, args.key, node_keys[args.key],
                RecoveryKey.parse(text).public_key, "cli", now)
    finally:
        db.close()
    if done.recovery_text is not None:
        print("The node keys are now sealed to a NEW recovery key. Write it down now; it is "
              "shown only this once, and the old one opens nothing any more:\n\n"
              f"    {done.recovery_text}\n")
    else:
        print(f"The {args.key} key was rotated: {done.resealed} sealed value(s) moved to the "
              f"new key, which {len(done.holders)} enabled account(s) and the recovery key "
              "hold. Restart the serving process now, so that everything it seals goes to "
              "the new key.")
    return 0


def cmd_rotate_case_key(args: argparse.Namespace) -> int:
    """Rotate one case's key, or those of every case a person left (issue 13)."""
    from node import errors
    from node.context import open_node

    if (args.case is None) == (args.left_by is None):
        raise SystemExit("give either --case ID or --left-by USERNAME")
    passphrase = _staff_passphrase(args.username)
    ctx = open_node(DataDir(Path(args.data)))
    try:
        staff = accounts.unlock(ctx.db.read(), args.username, passphrase)
        if args.case is not None:
            generation = ctx.case_access.rotate_key(staff, args.case, "(command line)")
            print(f"The key of case {args.case} was rotated: generation {generation}.")
        else:
            departed = accounts.find_id(ctx.db.read(), args.left_by)
            if departed is None:
                raise SystemExit(f"no account named {args.left_by}")
            done = ctx.case_access.rotate_after_departure(staff, departed)
            print(f"The keys of {len(done)} case(s) {args.left_by} left were rotated.")
    except errors.NodeError as exc:
        print(exc.message % exc.params if exc.params else exc.message, file=sys.stderr)
        return 1
    finally:
        ctx.close()
    return 0


def cmd_unlock_account(args: argparse.Namespace) -> int:
    db, keys = _open_for_admin(args.data)
    try:
        staff_id = accounts.find_id(db.read(), args.username)
        if staff_id is None:
            print(f"no account '{args.username}' on this node", file=sys.stderr)
            return 1
        accounts.unlock_account(db, keyring.custody_log(keys), "cli", staff_id,
                                int(utc_now().timestamp()))
    finally:
        db.close()
    print(f"Account '{args.username}' unlocked; its failed sign-ins were reset.")
    return 0


EXPORT_PASSPHRASE_ENV = "BACKUP_PASSPHRASE"  # noqa: S105 -- a variable name, not a secret


def cmd_export_bundle(args: argparse.Namespace) -> int:
    from node import errors
    from node.context import open_node

    passphrase = _staff_passphrase(args.username)
    from node.bundles import preview
    from node.bundles.disclosure import Choices

    choices = Choices(withhold_groups=frozenset(args.withhold),
                      withhold_items=frozenset(args.withhold_item),
                      withhold_reason=args.withhold_reason,
                      disclose_fields=frozenset(args.disclose),
                      disclose_reason=args.disclose_reason)
    ctx = open_node(DataDir(Path(args.data)))
    try:
        staff = accounts.unlock(ctx.db.read(), args.username, passphrase)
        if args.dry_run:
            print(_dry_run(preview.build(ctx.bundles.plan(staff, args.case, choices))))
            return 0
        data = ctx.bundles.export(staff, args.case, choices=choices)
    except errors.NodeError as exc:
        print(exc.message % exc.params if exc.params else exc.message, file=sys.stderr)
        return 1
    finally:
        ctx.close()
    if args.out is None:
        raise SystemExit("--out FILE is needed to write the bundle")
    out = Path(args.out)
    out.write_bytes(data)
    print(f"Bundle written to {out} ({len(data)} bytes). Check it with: "
          f"backup-evidence verify {out}")
    return 0


def _dry_run(shown: Any) -> str:
    """What `export-bundle --dry-run` prints: the staff preview as text (in English, like
    the rest of this tool; reason and group codes are those of the closed lists)."""
    from node.bundles import disclosure as policy
    from node.bundles.file_metadata import FACT_LABELS, KIND_LABELS
    from node.bundles.preview import FLAG_LABELS

    lines = [f"Court bundle of case {shown.report_id}: dry run, nothing written."]
    if shown.pending_recommit:
        lines.append("This report predates per-field commitments: exporting re-commits it "
                     "field by field first (recorded in the chain of custody).")
    for f in shown.fields:
        state = "LEAVES  " if f.disclose else "WITHHELD"
        value = f" = {f.value[:120]!r}" if f.disclose else ""
        lines.append(f"{state} {f.item}: {f.name} [{f.group}] "
                     f"({policy.WHY_LABELS[f.why]}){value}")
        for kind, match in f.flags if f.disclose else []:
            lines.append(f"  CHECK  {FLAG_LABELS[kind]}: {match!r}")
    for file in shown.files:
        state = "LEAVES  " if file.disclose else "WITHHELD"
        lines.append(f"{state} file {file.name} ({KIND_LABELS[file.facts.kind]}, "
                     f"{file.size} bytes; {policy.WHY_LABELS[file.why]}; id {file.key})")
        for key, value in file.facts.facts:
            lines.append(f"  INSIDE {FACT_LABELS[key] % {'value': value}}")
    return "\n".join(lines)


def cmd_recommit_evidence(args: argparse.Namespace) -> int:
    from node import errors
    from node.bundles.recommit import recommit_all
    from node.context import open_node

    passphrase = _staff_passphrase(args.username)
    ctx = open_node(DataDir(Path(args.data)))
    try:
        staff = accounts.unlock(ctx.db.read(), args.username, passphrase)
        done = recommit_all(ctx.db, ctx.case_access, ctx.intake, ctx.audit, staff, ctx.clock)
    except errors.NodeError as exc:
        print(exc.message % exc.params if exc.params else exc.message, file=sys.stderr)
        return 1
    finally:
        ctx.close()
    print(f"{done} report(s) re-committed field by field (each recorded in the chain of "
          "custody).")
    return 0


def cmd_verify_audit(args: argparse.Namespace) -> int:
    """Needs no secret: the custody role key that certifies session keys is read from the
    role statement, checked against the identity key -- the one given with
    ``--identity-key`` (as the federation knows it), else the one the database names --
    and every session certificate, the head's signature and every anchor in the witnessed
    evidence log are checked from public values. A copy of a node can be checked without
    its ``keys/`` directory."""
    from crypto.errors import FormatError, SignatureError
    from crypto.keys import VerifyKey
    from node.backoffice import audit

    datadir = DataDir(Path(args.data))
    if not datadir.database.exists():
        raise SystemExit(f"{datadir.root} is not a node; nothing was checked")
    db = Database(datadir.database)
    try:
        conn = db.read()
        meta = {r[0]: bytes(r[1]) for r in conn.execute(
            "SELECT key, value FROM node_meta WHERE key IN"
            " ('node_id', 'identity_public_key', 'role_statement')")}
        try:
            identity = VerifyKey(bytes.fromhex(args.identity_key) if args.identity_key
                                 else meta["identity_public_key"])
        except (ValueError, FormatError, KeyError):
            raise SystemExit("--identity-key is 64 hex digits (an Ed25519 public key)") from None
        if "role_statement" not in meta:
            print("This node has not been opened since the upgrade to per-role keys; start it "
                  "once (or run any backup-node command with its keys) first.", file=sys.stderr)
            return 3
        try:
            roles = keyring.verify_role_statement(meta["role_statement"],
                                                  meta["node_id"].decode(), identity)
        except (SignatureError, ValueError, UnicodeDecodeError):
            print("The audit chain does NOT verify: the node's role statement is not signed by "
                  "this identity key.", file=sys.stderr)
            return 3
        verdict = audit.verify(conn, roles["custody"], identity)
        anchored = audit.anchored_through(conn)
    finally:
        db.close()
    if verdict.ok:
        print(f"The audit chain verifies: {verdict.entries} entries, none changed, removed "
              f"or reordered. Entries 1 to {anchored} are anchored in the witnessed evidence "
              "log; later ones are protected by the signed head until the next anchor.")
        return 0
    where = f" First broken link: entry {verdict.first_broken}." if verdict.first_broken else ""
    print(f"The audit chain does NOT verify.{where} {verdict.reason}", file=sys.stderr)
    return 3


def cmd_federation_info(args: argparse.Namespace) -> int:
    from node.federation.info import federation_info

    datadir = DataDir(Path(args.data))
    db, keys = _open_for_admin(args.data)
    try:
        cfg = node_config.load(datadir.config)
    except node_config.ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    finally:
        db.close()
    for name, value in federation_info(keys, cfg.federation):
        print(f"{name}: {value}")
    return 0


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

def cmd_suggest_codings(args: argparse.Namespace) -> int:
    from node import errors
    from node.analysis import batch

    if not args.data and not args.username:
        return batch.run(sys.stdin.buffer, sys.stdout.buffer)
    if not (args.data and args.username):
        print("suggest-codings: --data and --username go together", file=sys.stderr)
        return 2
    from node.analysis.adapted import AdaptedModels

    passphrase = _read_secret(EXPORT_PASSPHRASE_ENV, f"Passphrase of '{args.username}': ",
                              "the passphrase")
    db, keys = _open_for_admin(args.data)
    try:
        staff = accounts.unlock(db.read(), args.username, passphrase)
        if staff.analysis_key is None:
            raise errors.Forbidden()
        adapted = AdaptedModels(db, keys.intake_public, keys.analysis_public,
                                lambda: 0).active_model(staff.analysis_key)
    except errors.NodeError as exc:
        print(f"suggest-codings: {exc.message % exc.params if exc.params else exc.message}",
              file=sys.stderr)
        return 2
    finally:
        db.close()
    if adapted is None:
        print("suggest-codings: this node has no adapted model yet; using the model that "
              "ships", file=sys.stderr)
        return batch.run(sys.stdin.buffer, sys.stdout.buffer)
    version, model = adapted
    print(f"suggest-codings: using the node's adapted model, version {version}",
          file=sys.stderr)
    return batch.run(sys.stdin.buffer, sys.stdout.buffer, model)

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
    p.add_argument("--admin", metavar="NAME", help="username of the first admin (asked for "
                   "if not given; required without a terminal)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("serve", help="serve the public site, the API and the staff office",
                       description="Serve the node in DIR. Put it behind a TLS reverse proxy "
                       "or an onion service (see deploy/).")
    p.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--staff-host", default=None, help="address of the staff office, apart "
                   "from the public one (default: [staff_office] host in node.toml, "
                   "127.0.0.1: reach it through an SSH tunnel, a VPN or a proxy of your own)")
    p.add_argument("--staff-port", type=int, default=None, help="port of the staff office "
                   f"(default: [staff_office] port in node.toml, {STAFF_PORT})")
    p.add_argument("--staff-on-public", action="store_true", help="serve the staff office on "
                   "the public address too (not recommended: anyone who reaches the reporting "
                   "site then reaches the staff sign-in)")
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
    p.add_argument("--staff-port", type=int, default=STAFF_PORT, help="port of the staff "
                   f"office, on 127.0.0.1 (default {STAFF_PORT})")
    p.add_argument("--reports", type=int, default=24, help="synthetic reports to create")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("recover-admin", help="restore access with the recovery key: a new "
                       "admin account", description="Create a new admin and coordinator "
                       "account holding the node keys, opened with the recovery key (from "
                       f"{RECOVERY_KEY_ENV} or a prompt) or with SLIP-39 shares (--from-shares). "
                       f"The new passphrase comes from {PASSPHRASE_ENV} or a prompt. Use it "
                       "when every admin's passphrase is lost. Audited.")
    p.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")
    p.add_argument("--username", required=True, help="username of the new account")
    p.add_argument("--from-shares", action="store_true", help="read SLIP-39 shares instead of "
                   f"the recovery key ({RECOVERY_SHARES_ENV}, one per line, or prompts)")
    p.set_defaults(func=cmd_recover_admin)

    p = sub.add_parser("recovery-split", help="split the recovery key into K-of-N SLIP-39 "
                       "shares for trustees", description="Split the recovery key (from "
                       f"{RECOVERY_KEY_ENV} or a prompt) into N SLIP-39 word lists, any K of "
                       "which restore it, and print them with advice. The key is checked "
                       "against the node first.")
    p.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")
    p.add_argument("--threshold", type=int, required=True, metavar="K",
                   help="how many shares restore the key (at least 2)")
    p.add_argument("--shares", type=int, required=True, metavar="N",
                   help=f"how many shares to make (K to {MAX_SHARES})")
    p.set_defaults(func=cmd_recovery_split)

    p = sub.add_parser("rotate-key", help="replace the intake, analysis or recovery key",
                       description="Replace a node key (with the recovery key, from "
                       f"{RECOVERY_KEY_ENV} or a prompt): everything sealed to the old key is "
                       "sealed to the new one, which every enabled holder and the recovery "
                       "key receive; a copy of the old key, e.g. a departed person's, then "
                       "opens nothing stored. Run it after disabling an account that held "
                       "the key. Audited.")
    p.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")
    p.add_argument("--key", required=True, choices=("intake", "analysis", "recovery"),
                   help="which key to replace")
    p.set_defaults(func=cmd_rotate_key)

    p = sub.add_parser("rotate-case-key", help="replace a case's key after someone left it",
                       description="Draw a new generation of a case's key (or of every case "
                       "a person left whose key was not replaced since): what is written on "
                       "the case from then on opens only with it, which the people still "
                       "assigned, the coordinators and the reporter receive; a departed "
                       "person's copy opens nothing new. The account's passphrase comes from "
                       f"{EXPORT_PASSPHRASE_ENV} or a prompt. Audited.")
    p.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")
    p.add_argument("--case", metavar="ID", help="the case (report) id")
    p.add_argument("--left-by", metavar="USERNAME",
                   help="every case this person was unassigned from, or held when disabled")
    p.add_argument("--username", default="admin", help="a coordinator account (default admin)")
    p.set_defaults(func=cmd_rotate_case_key)

    add_backup_commands(sub)

    p = sub.add_parser("unlock-account", help="unlock an account locked by failed sign-ins",
                       description="Unlock an account locked after repeated failed sign-ins, "
                       "from the server itself (when no admin can sign in). Audited.")
    p.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")
    p.add_argument("--username", required=True, help="the locked account's username")
    p.set_defaults(func=cmd_unlock_account)

    p = sub.add_parser("export-bundle", help="export a case as a court-ready evidence bundle",
                       description="Write one case's evidence bundle (ZIP) -- only with the "
                       "reporter's recorded consent to legal use; the export is recorded in "
                       "the chain of custody. The passphrase of the coordinator account comes "
                       f"from {EXPORT_PASSPHRASE_ENV} or a prompt.")
    p.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")
    p.add_argument("--case", required=True, metavar="ID", help="the case (report) id")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="where to write the ZIP (not needed with --dry-run)")
    p.add_argument("--username", default="admin", help="a coordinator account (default admin)")
    p.add_argument("--dry-run", action="store_true",
                   help="print every field and file that would leave, what is inside the "
                   "files, and contact information found in disclosed text; write nothing")
    p.add_argument("--withhold", action="append", default=[], metavar="GROUP",
                   choices=sorted(WITHHOLDABLE_GROUPS),
                   help="withhold a group of fields as well (repeatable)")
    p.add_argument("--withhold-item", action="append", default=[], metavar="ID",
                   help="withhold a file or an addition by its id (repeatable)")
    p.add_argument("--withhold-reason", default=None, choices=WITHHOLD_REASON_CODES,
                   help="why, for the chain of custody (required with --withhold*)")
    p.add_argument("--disclose", action="append", default=[], metavar="FIELD",
                   help="disclose a field legal use does not need, on a court order")
    p.add_argument("--disclose-reason", default=None, choices=DISCLOSE_REASON_CODES,
                   help="why, for the chain of custody (required with --disclose)")
    p.set_defaults(func=cmd_export_bundle)

    p = sub.add_parser("recommit-evidence",
                       help="re-commit reports stored before per-field evidence leaves",
                       description="Re-commit every report committed whole (before per-field "
                       "leaves) as per-field disclosures linked to its original leaf, so that "
                       "its court bundles can withhold contact details. Export does this for "
                       "one case when needed; this does it for all. Each is recorded in the "
                       "chain of custody. The coordinator's passphrase comes from "
                       f"{EXPORT_PASSPHRASE_ENV} or a prompt.")
    p.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")
    p.add_argument("--username", default="admin", help="a coordinator account (default admin)")
    p.set_defaults(func=cmd_recommit_evidence)

    p = sub.add_parser("verify-audit", help="verify the whole chain of custody",
                       description="Recompute every entry of the audit chain and check its "
                       "signed head, the certificates of the keys that signed it and its "
                       "anchors in the evidence log; name the first broken link. Needs no "
                       "secret key. Exit 0 if it verifies, 3 if not.")
    p.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")
    p.add_argument("--identity-key", metavar="HEX", help="the node's Ed25519 identity key as "
                   "known from elsewhere (federation-info, the observatory); default: the one "
                   "in the database")
    p.set_defaults(func=cmd_verify_audit)

    p = sub.add_parser("federation-info", help="print what the observatory and peers need: "
                       "node id, keys, peer id, addresses",
                       description="Print this node's federation identity: node id, Ed25519 "
                       "identity key, libp2p peer id, listen addresses (from [federation] in "
                       "node.toml), the evidence log's verifier key and the witness key "
                       "(C2SP vkeys; give the witness key to `backup-evidence verify "
                       "--witness`). Nothing secret is printed.")
    p.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")
    p.set_defaults(func=cmd_federation_info)

    p = sub.add_parser("regions", help="list a country's region codes for node.toml",
                       description="List the first-level ISO 3166-2 subdivisions of COUNTRY "
                       "(ISO 3166-1 alpha-2): the federation's region codes, one of which "
                       "each [[regions]] entry of node.toml names as `subdivision`. Needs no "
                       "data directory.")
    p.add_argument("country", metavar="COUNTRY", help="two-letter country code, e.g. CD")
    # issue 20: any language (CLDR code), as node.toml's `languages`
    p.add_argument("--lang", type=_language_code, metavar="CODE",
                   help="names in this language (e.g. fr, es, pt) where the ISO data has them")
    p.set_defaults(func=cmd_regions)
    p = sub.add_parser("suggest-codings", help="suggest codings for texts given as JSON lines "
                       "(evaluation and scripting; offline)",
                       description="Read JSON lines {\"id\": ..., \"text\": ...} (optional "
                       "\"language\") on stdin and write one JSON line per input, in order: "
                       "language, is_crsv, categories, perpetrator_affiliation(s), confidence "
                       "and evidence. A bad line gets {\"line\": N, \"error\": ...} and the "
                       "run goes on; text over 100 KB is cut and the answer says so. Exit 0 "
                       "unless the input could not be read. Touches no network. Without "
                       "--data it uses the model that ships with BackUp; with --data and "
                       "--username, the node's adapted model.")
    p.add_argument("--data", metavar="DIR", help="the node's data directory, to use its "
                   f"adapted model (with --username; passphrase from {EXPORT_PASSPHRASE_ENV})")
    p.add_argument("--username", metavar="NAME", help="the account that opens the node's "
                   "adapted model (with --data)")
    p.set_defaults(func=cmd_suggest_codings)
    add_import_commands(sub)  # issue 19
    return parser


def main(argv: list[str] | None = None) -> int:
    from node.web.accesslog import configure_logging

    configure_logging(logging.INFO)
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except SchemaTooNew as exc:  # a downgrade: say so, without a traceback
        print(f"backup-node: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
