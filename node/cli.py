"""``backup-node``: create, configure and run a BackUp node.

Every command is documented here (``backup-node --help``, ``backup-node COMMAND --help``)
and in README.md; a test fails if a command is missing from either. This module is the
command line's one table of commands and options; what each command does lives with its
kind: `node.cli_setup` (create, check, serve), `node.cli_recovery` (access regained from
the server), `node.cli_staff` (acting as a staff member), `node.cli_public` (what a node
shows others), `node.cli_analysis`, `node.backups.cli` and `node.imports.cli`.
"""

from __future__ import annotations

import argparse
import logging
import sys

from node.backups.cli import add_commands as add_backup_commands
from node.bundles.disclosure import DISCLOSE_REASONS as DISCLOSE_REASON_CODES
from node.bundles.disclosure import WITHHOLD_REASONS as WITHHOLD_REASON_CODES
from node.bundles.disclosure import WITHHOLDABLE as WITHHOLDABLE_GROUPS
from node.cli_access import EXPORT_PASSPHRASE_ENV, PASSPHRASE_ENV, RECOVERY_KEY_ENV
from node.cli_analysis import cmd_suggest_codings
from node.cli_public import cmd_federation_info, cmd_verify_audit
from node.cli_recovery import (
    MAX_SHARES,
    RECOVERY_SHARES_ENV,
    cmd_recover_admin,
    cmd_recovery_split,
    cmd_rotate_key,
    cmd_unlock_account,
)
from node.cli_setup import (
    STAFF_PORT,
    cmd_check_config,
    cmd_demo,
    cmd_init,
    cmd_regions,
    cmd_serve,
    language_code,
)
from node.cli_staff import cmd_export_bundle, cmd_recommit_evidence, cmd_rotate_case_key
from node.imports.cli import add_commands as add_import_commands
from node.storage.migrations import SchemaTooNew


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
    p.add_argument("--lang", type=language_code, metavar="CODE",
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
