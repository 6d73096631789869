"""The admin's vetting commands (issue 16): `expert-vouches`, `countersign`, `revoke-expert`.

Registered by `observatory.cli.build_parser`; the decisions are `observatory.experts`'s.
What the admin sees of an expert is what the federation may know: their key, home node and
specialties, never a name.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from observatory.context import ObservatoryContext, open_observatory
from observatory.experts import DEFAULT_CREDENTIAL_DAYS, REVOCATION_REASONS, VettingRefused

Command = Callable[[str, str], argparse.ArgumentParser]


def _open(args: argparse.Namespace) -> ObservatoryContext:
    return open_observatory(Path(args.data))


def cmd_vouches(args: argparse.Namespace) -> int:
    ctx = _open(args)
    try:
        pending = ctx.experts.pending()
    finally:
        ctx.close()
    if not pending:
        print("No vouch for an expert is waiting.")
    for v in pending:
        print(f"{v.vouch_id}  expert key {v.expert_key}\n    home node:    {v.home_node}\n"
              f"    specialties:  {', '.join(v.specialties)}")
    return 0


def cmd_countersign(args: argparse.Namespace) -> int:
    ctx = _open(args)
    try:
        credential = ctx.experts.countersign(args.vouch_id, ctx.now(), days=args.days)
    except VettingRefused as exc:
        print(f"Not countersigned ({exc.code}); nothing was changed.", file=sys.stderr)
        return 1
    finally:
        ctx.close()
    print(f"Countersigned: credential {credential.body.serial}, valid for {args.days} days. "
          "The home node receives it when it sends the vouch again; the next directory "
          "lists the expert.")
    return 0


def cmd_revoke_expert(args: argparse.Namespace) -> int:
    ctx = _open(args)
    try:
        ctx.experts.revoke(args.serial, args.reason, ctx.now())
    except VettingRefused as exc:
        print(f"Not revoked ({exc.code}); nothing was changed.", file=sys.stderr)
        return 1
    finally:
        ctx.close()
    print(f"Revoked credential {args.serial}; the next expert directory names the revocation.")
    return 0


def add_commands(command: Command) -> None:
    vouches = command("expert-vouches", "List the vouches for experts that wait for a "
                      "countersignature.")
    vouches.set_defaults(func=cmd_vouches)
    sign = command("countersign", "Countersign an expert's credential (from `expert-vouches`) "
                   "once you have checked the vouching organisation's request.")
    sign.add_argument("vouch_id", help="the vouch id (from `expert-vouches`)")
    sign.add_argument("--days", type=int, default=DEFAULT_CREDENTIAL_DAYS,
                      help=f"how long the credential lasts (default {DEFAULT_CREDENTIAL_DAYS}, "
                      "at most 730)")
    sign.set_defaults(func=cmd_countersign)
    revoke = command("revoke-expert", "Revoke an expert's credential; the next directory names "
                     "it and nodes stop sharing with the expert.")
    revoke.add_argument("serial", help="the credential's serial")
    revoke.add_argument("--reason", required=True, choices=REVOCATION_REASONS,
                        help="why: " + ", ".join(REVOCATION_REASONS))
    revoke.set_defaults(func=cmd_revoke_expert)
