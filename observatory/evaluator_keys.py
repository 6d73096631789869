"""The OPRF evaluator as the observatory publishes it (issue 18): its identity and each key
epoch's public key, in the signed membership list (`protocol.membership.OprfEvaluatorEntry`).

The evaluator is run by another operator (``backup-evaluator``, `observatory.evaluator_cli`);
its operator gives the observatory's admin the evaluator's node id and identity key, and
each new epoch's public key, out of band (``backup-evaluator init`` and ``rotate`` print
them). The admin records them here, and every change issues a new membership list at once,
so that nodes check every evaluation proof against the one key the list publishes: an
evaluator that used another key for some node would be caught (RFC 9497 VOPRF).

The admin commands: ``evaluator-set`` (identity), ``evaluator-epoch`` (an epoch's public key;
the newest is the epoch nodes evaluate under), ``evaluator-retire`` (an epoch no longer
published, once the evaluator shredded its key), ``evaluator-show``.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

from observatory.matching import drop_epoch
from protocol.membership import MAX_OPRF_EPOCHS, OprfEpochKey, OprfEvaluatorEntry

Command = Callable[[str, str], argparse.ArgumentParser]
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class EvaluatorRefused(ValueError):
    """What the admin typed cannot be recorded (said in plain words; nothing changed)."""


def entry_in(conn: sqlite3.Connection) -> OprfEvaluatorEntry | None:
    """What the next membership list publishes about the evaluator; None until its identity
    and at least one live epoch are recorded."""
    row = conn.execute("SELECT node_id, identity_key FROM oprf_evaluator").fetchone()
    epochs = tuple(OprfEpochKey(epoch=int(r[0]), public_key=str(r[1])) for r in conn.execute(
        "SELECT epoch, public_key FROM oprf_epoch_keys WHERE retired_at IS NULL"
        " ORDER BY epoch DESC LIMIT ?", (MAX_OPRF_EPOCHS,)))
    if row is None or not epochs:
        return None
    return OprfEvaluatorEntry(node_id=str(row[0]), identity_key=str(row[1]),
                              epochs=tuple(sorted(epochs, key=lambda e: e.epoch)))


def set_identity_in(conn: sqlite3.Connection, node_id: str, identity_key: str,
                    now: int) -> None:
    if not _HEX32.match(node_id) or not _HEX64.match(identity_key):
        raise EvaluatorRefused("a node id is 32 hex digits, an identity key 64")
    if conn.execute("SELECT 1 FROM members WHERE node_id = ? OR identity_key = ?",
                    (node_id, identity_key)).fetchone() is not None:
        raise EvaluatorRefused("the evaluator must not be a member node (nor the observatory)")
    conn.execute("INSERT INTO oprf_evaluator (one, node_id, identity_key, recorded_at)"
                 " VALUES (1, ?, ?, ?) ON CONFLICT (one) DO UPDATE SET node_id ="
                 " excluded.node_id, identity_key = excluded.identity_key, recorded_at ="
                 " excluded.recorded_at", (node_id, identity_key, now))


def add_epoch_in(conn: sqlite3.Connection, epoch: int, public_key: str, now: int) -> None:
    if not _HEX64.match(public_key) or public_key == "0" * 64:
        raise EvaluatorRefused("an OPRF public key is 64 hex digits (from the evaluator)")
    (newest,) = conn.execute("SELECT coalesce(max(epoch), 0) FROM oprf_epoch_keys").fetchone()
    if epoch <= newest:
        raise EvaluatorRefused(f"epoch {epoch} is not newer than epoch {newest}, recorded "
                               "already")
    conn.execute("INSERT INTO oprf_epoch_keys (epoch, public_key, recorded_at)"
                 " VALUES (?, ?, ?)", (epoch, public_key, now))


def retire_in(conn: sqlite3.Connection, epoch: int, now: int) -> None:
    if not conn.execute("UPDATE oprf_epoch_keys SET retired_at = ? WHERE epoch = ?"
                        " AND retired_at IS NULL", (now, epoch)).rowcount:
        raise EvaluatorRefused(f"epoch {epoch} is not a published epoch")
    # A retired epoch's tokens match nothing new (no node evaluates under it any more) and
    # its seed is shredded: the stored tokens go too, in the same transaction.
    drop_epoch(conn, epoch)


def _change(args: argparse.Namespace, act: Callable[[sqlite3.Connection, int], None],
            done: str) -> int:
    from observatory.context import open_observatory  # it imports the lists, which import us

    ctx = open_observatory(Path(args.data))
    try:
        now = ctx.now()
        with ctx.db.write() as conn:  # the change and the list that publishes it, together
            act(conn, now)
            signed = ctx.lists.issue_in(conn, now)
    except EvaluatorRefused as exc:
        print(f"{exc}; nothing was changed.", file=sys.stderr)
        return 1
    finally:
        ctx.close()
    print(f"{done} Membership list {signed.body.sequence} publishes it.")
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    return _change(args, lambda conn, now: set_identity_in(conn, args.node_id,
                                                           args.identity_key, now),
                   "The evaluator's identity was recorded.")


def cmd_epoch(args: argparse.Namespace) -> int:
    return _change(args, lambda conn, now: add_epoch_in(conn, args.epoch, args.public_key, now),
                   f"Epoch {args.epoch}'s key was recorded; nodes evaluate under it now.")


def cmd_retire(args: argparse.Namespace) -> int:
    return _change(args, lambda conn, now: retire_in(conn, args.epoch, now),
                   f"Epoch {args.epoch} is no longer published.")


def cmd_show(args: argparse.Namespace) -> int:
    from observatory.context import open_observatory

    ctx = open_observatory(Path(args.data))
    try:
        entry = entry_in(ctx.db.read())
    finally:
        ctx.close()
    if entry is None:
        print("No evaluator published (record its identity and an epoch's key).")
        return 0
    print(f"evaluator node id: {entry.node_id}\nidentity key: {entry.identity_key}")
    for e in entry.epochs:
        print(f"epoch {e.epoch} oprf key: {e.public_key}")
    return 0


def add_commands(command: Command) -> None:
    who = command("evaluator-set", "Record the OPRF evaluator's node id and identity key "
                  "(from `backup-evaluator init`, given by its operator); a new membership "
                  "list publishes them.")
    who.add_argument("node_id", help="the evaluator's node id (32 hex digits)")
    who.add_argument("identity_key", help="the evaluator's identity key (64 hex digits)")
    who.set_defaults(func=cmd_set)
    epoch = command("evaluator-epoch", "Record a key epoch's OPRF public key (from "
                    "`backup-evaluator init` or `rotate`); the newest epoch is the one nodes "
                    "evaluate under, and they re-evaluate their identifiers for it.")
    epoch.add_argument("epoch", type=int, help="the epoch number")
    epoch.add_argument("public_key", help="the epoch's OPRF public key (64 hex digits)")
    epoch.set_defaults(func=cmd_epoch)
    retire = command("evaluator-retire", "Stop publishing an epoch's key (once the evaluator "
                     "retired it).")
    retire.add_argument("epoch", type=int, help="the epoch number")
    retire.set_defaults(func=cmd_retire)
    show = command("evaluator-show", "Print the evaluator and the epoch keys the membership "
                   "list publishes.")
    show.set_defaults(func=cmd_show)
