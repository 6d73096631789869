"""``backup-node`` commands about what a node shows others: ``verify-audit`` (its chain of
custody, checked from public values only) and ``federation-info`` (its federation
identity). Neither prints anything secret."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from node import config as node_config
from node import keyring
from node.cli_access import open_for_admin
from node.datadir import DataDir
from node.storage.database import Database


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
    db, keys = open_for_admin(args.data)
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
