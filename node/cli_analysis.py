"""``backup-node suggest-codings``: the suggestion engine over JSON lines, offline, with
the model that ships or a node's adapted one."""

from __future__ import annotations

import argparse
import sys

from node import accounts
from node.cli_access import EXPORT_PASSPHRASE_ENV, open_for_admin, read_secret


def cmd_suggest_codings(args: argparse.Namespace) -> int:
    from node import errors
    from node.analysis import batch

    if not args.data and not args.username:
        return batch.run(sys.stdin.buffer, sys.stdout.buffer)
    if not (args.data and args.username):
        print("suggest-codings: --data and --username go together", file=sys.stderr)
        return 2
    from node.analysis.adapted import AdaptedModels

    passphrase = read_secret(EXPORT_PASSPHRASE_ENV, f"Passphrase of '{args.username}': ",
                              "the passphrase")
    db, keys = open_for_admin(args.data)
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
