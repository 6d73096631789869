"""``backup-node`` commands that act as a staff member, opened with their passphrase
(from the environment or the terminal) and held to what their roles allow:
``export-bundle``, ``recommit-evidence`` and ``rotate-case-key``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from node import accounts
from node.cli_access import staff_passphrase
from node.datadir import DataDir


def cmd_rotate_case_key(args: argparse.Namespace) -> int:
    """Rotate one case's key, or those of every case a person left (issue 13)."""
    from node import errors
    from node.context import open_node

    if (args.case is None) == (args.left_by is None):
        raise SystemExit("give either --case ID or --left-by USERNAME")
    passphrase = staff_passphrase(args.username)
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


def cmd_export_bundle(args: argparse.Namespace) -> int:
    from node import errors
    from node.context import open_node

    passphrase = staff_passphrase(args.username)
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

    passphrase = staff_passphrase(args.username)
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
