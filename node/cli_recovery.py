"""``backup-node`` commands that regain or renew access from the server itself, when no
one can sign in or a key must change: ``recover-admin``, ``recovery-split``,
``rotate-key`` (all with the recovery key) and ``unlock-account``. Each is audited."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from crypto import passphrase as pw
from crypto.keys import BoxSecretKey
from node import accounts, keyring
from node.cli_access import RECOVERY_KEY_ENV, open_for_admin, read_passphrase, read_secret
from node.intake.service import utc_now
from node.storage.database import Database

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

    db, keys = open_for_admin(args.data)
    try:
        if args.from_shares:
            text = _recovery_from_shares()
        else:
            text = read_secret(RECOVERY_KEY_ENV, "Recovery key: ", "the recovery key")
        node_keys = _node_keys_from_recovery(db, text)
        passphrase = read_passphrase(f"the new admin account '{args.username}'")
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
    db, keys = open_for_admin(args.data)
    try:
        text = read_secret(RECOVERY_KEY_ENV, "Recovery key: ", "the recovery key")
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

    db, keys = open_for_admin(args.data)
    try:
        text = read_secret(RECOVERY_KEY_ENV, "Recovery key: ", "the recovery key")
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


def cmd_unlock_account(args: argparse.Namespace) -> int:
    db, keys = open_for_admin(args.data)
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
