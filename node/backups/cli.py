"""`backup-node backup`, `backup-node restore` and, after restoring an older backup,
`backup-node evidence-successor` (issue 21)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from crypto.errors import FormatError
from node.cli_access import RECOVERY_KEY_ENV, open_for_admin, read_secret


def cmd_backup(args: argparse.Namespace) -> int:
    from node.backups import keys, make
    from node.datadir import DataDir

    datadir = DataDir(Path(args.data))
    if not datadir.is_initialised():
        raise SystemExit(f"{datadir.root} is not a node; nothing was written")
    if args.new_key:
        from node import keyring
        from node.storage.database import Database

        db = Database(datadir.database)
        try:
            node_keys = keyring.load(datadir, db)
            with db.write() as conn:
                keys.rotate(conn, node_keys.certifier)
        except keys.NoRecoveryKey as exc:
            raise SystemExit(f"Nothing was written: {exc}") from None
        finally:
            db.close()
        print("A new backup key pair was made; archives made before keep their own.")
    try:
        if args.out:
            made = make.make(datadir, Path(args.out))
            removed: list[Path] = []
        else:
            made, removed = make.make_generation(datadir, Path(args.out_dir), args.keep)
    except (FileExistsError, keys.NoRecoveryKey) as exc:
        raise SystemExit(f"Nothing was written: {exc}") from None
    print(f"Backup written: {made.path} ({made.files} files, {made.size} bytes), encrypted to "
          "this node's backup key; it opens only with the recovery key.")
    for old in removed:
        print(f"Removed an older generation: {old}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from node.backups import restore
    from node.backups.archive import ArchiveInvalid

    recovery = read_secret(RECOVERY_KEY_ENV, "Recovery key: ", "the recovery key")
    try:
        done = restore.restore(Path(args.source), Path(args.data), recovery,
                               identity_key=args.identity_key,
                               deletions_from=[Path(p) for p in args.deletions_from])
    except (ArchiveInvalid, restore.WrongRecoveryKey, restore.RestoreRefused,
            FileExistsError, FileNotFoundError, FormatError) as exc:
        print(f"Nothing was restored: {exc}", file=sys.stderr)
        return 2
    print(f"Restored node {done.node_id} into {args.data}: {done.files} files from the backup "
          f"made at {done.created_at} (Unix time); the chain of custody and the evidence log "
          f"check. Deletions made after the backup, replayed: {done.deletions_replayed}.")
    return 0


def cmd_successor(args: argparse.Namespace) -> int:
    """The documented procedure after restoring a backup older than what the witnesses
    cosigned (issue 21): a successor log, signed as such."""
    import time

    from node import keyring
    from node.evidence import succession
    from node.evidence.signing import anchor_and_sign

    db, keys = open_for_admin(args.data)
    try:
        now = int(time.time())
        custody = keyring.custody_log(keys)
        with db.write() as conn:
            try:
                statement = succession.begin_successor(conn, keys.node_id, keys.checkpoint_key,
                                                       now)
            except succession.NotHalted as exc:
                print(f"Nothing was changed: {exc}.", file=sys.stderr)
                return 2
            custody.append(conn, at=now, actor="cli", action="evidence.successor",
                           object_type="node", object_id=keys.node_id,
                           detail=f"{statement.old_origin} ends at {statement.old_size} "
                                  f"cosigned leaves; continues as {statement.new_origin}")
        stored = anchor_and_sign(db, keys, custody, now)
    finally:
        db.close()
    print(f"The evidence log continues as {statement.new_origin}, the successor of "
          f"{statement.old_origin} (whose witnesses cosigned {statement.old_size} leaves). "
          f"The successor statement is signed; the witnesses record it before they are sent "
          f"the new log's checkpoints"
          + (f" (the first is signed: {stored.size} leaves)." if stored is not None else "."))
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser("backup", help="write an encrypted, signed backup of the node",
                       description="Write a consistent snapshot of the node (SQLite's online "
                       "backup), its configuration, keys and blobs as one archive, encrypted to "
                       "the node's backup key (whose secret half only the recovery key opens) "
                       "and signed by the node. Safe while the node serves.")
    p.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="FILE", help="the archive to write (must not exist)")
    where.add_argument("--out-dir", metavar="DIR",
                       help="write a new generation named by its time into DIR")
    p.add_argument("--keep", type=int, default=7, metavar="N",
                   help="with --out-dir: keep the newest N archives there (default 7)")
    p.add_argument("--new-key", action="store_true",
                   help="first replace the backup key pair (e.g. after a server was seized; "
                   "archives made before still open with the recovery key)")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="restore a backup into a new data directory",
                       description="Check the archive's signature and digest, open it with the "
                       f"recovery key (from {RECOVERY_KEY_ENV} or a prompt), restore it into a "
                       "new data directory, verify the chain of custody and the evidence log, "
                       "and replay the deletions made after the backup. A corrupt archive or a "
                       "wrong key writes nothing.")
    p.add_argument("--from", dest="source", required=True, metavar="FILE",
                   help="the archive")
    p.add_argument("--data", required=True, metavar="NEWDIR",
                   help="the data directory to create (must not exist or be empty)")
    p.add_argument("--identity-key", metavar="HEX",
                   help="refuse an archive not signed by this identity key (as the federation "
                   "knows the node: `backup-node federation-info`)")
    p.add_argument("--deletions-from", action="append", default=[], metavar="PATH",
                   help="the live node's data directory, or a newer archive, whose deletion log "
                   "is replayed (repeatable)")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("evidence-successor",
                       help="after restoring an older backup: continue the evidence log under "
                       "a successor origin",
                       description="For a restored node whose witnesses cosigned a larger tree "
                       "of its evidence log than the backup held (the staff office's federation "
                       "page and /healthz say so): sign a successor statement naming the old "
                       "origin, the largest cosigned size and root, and the next origin; lift "
                       "the hold; sign the first checkpoint of the new origin. The witnesses "
                       "record the statement before they are sent anything else.")
    p.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")
    p.set_defaults(func=cmd_successor)
