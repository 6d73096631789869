"""`backup-node import`: submissions from KoboToolbox or ODK become reports.

The dry run prints, per submission, every field the report would get, the consents it would
get and its files, and writes nothing. Output goes to the operator's terminal only, never to
a log (it holds testimony).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from node import errors
from node.datadir import DataDir
from node.imports import formats, mapping, odk_encrypted
from node.intake.models import CONSENT_NAMES

if TYPE_CHECKING:
    from node.imports.importer import Planned


def add_commands(sub: Any) -> None:
    p = sub.add_parser(
        "import", help="import submissions from a KoboToolbox or ODK Central export",
        description="Import the submissions of a KoboToolbox JSON export (API v2 `results`) "
        "or an ODK Central CSV export as reports. Importing the same export again creates "
        "nothing. Attachments are read from the media folder beside the export (Kobo: "
        "`attachments/`, ODK: `media/`), never from the network.")
    p.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")
    p.add_argument("--from", dest="source", required=True, choices=formats.SOURCES,
                   help="the tool that made the export")
    p.add_argument("file", metavar="FILE", help="the export: Kobo JSON, ODK CSV, or (with "
                   "--key) the Briefcase folder of an encrypted ODK form")
    p.add_argument("--mapping", metavar="MAP.toml", help="form fields -> report fields and "
                   "consents (see node/imports/mapping.example.toml); without it, fields named "
                   "as the report's fields and consent_<name> fields are used")
    p.add_argument("--media", metavar="DIR", help="folder of the attachments (default: "
                   "`attachments` for Kobo, `media` for ODK, beside FILE)")
    p.add_argument("--key", metavar="KEY.pem", help="ODK only: the form's RSA private key "
                   "(PEM), for a form that uses ODK's submission encryption; FILE is then the "
                   "form's folder as ODK Briefcase pulls it (instances/*/submission.xml.enc). "
                   "The key is only read into memory, never stored")
    p.add_argument("--dry-run", action="store_true", help="print what would be created, "
                   "field by field, and write nothing")
    p.add_argument("--receipts", action="store_true", help="issue a reporter receipt for each "
                   "new report and print them, to hand over on paper (slow: one key "
                   "derivation each)")
    p.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    from node.context import open_node
    from node.imports.importer import Importer

    export = Path(args.file)
    media = Path(args.media) if args.media else export.parent / (
        "attachments" if args.source == "kobo" else "media")
    try:
        chosen = (mapping.load(Path(args.mapping).read_bytes()) if args.mapping else None)
        if args.key:
            if args.source != "odk":
                print("--key is for encrypted ODK forms only", file=sys.stderr)
                return 2
            private = odk_encrypted.load_private_key(Path(args.key).read_bytes())
            subs = odk_encrypted.read_briefcase(export, private)
            del private
        elif args.source == "kobo":
            subs = formats.read_kobo(export.read_bytes(), media if media.is_dir() else None)
        else:
            subs = formats.read_odk(export.read_bytes(), media if media.is_dir() else None,
                                    chosen.attachments if chosen else ())
    except OSError as exc:
        print(f"cannot read: {exc.filename}", file=sys.stderr)
        return 1
    except errors.NodeError as exc:
        print(_message(exc), file=sys.stderr)
        return 1
    ctx = open_node(DataDir(Path(args.data)))
    try:
        importer = Importer(ctx.db, ctx.intake, ctx.keys, ctx.audit, ctx.clock)
        try:
            planned = importer.plan(subs, chosen)
        except errors.NodeError as exc:
            print(_message(exc), file=sys.stderr)
            return 1
        if args.dry_run:
            for p in planned:
                print_planned(p)
            new = sum(not p.already for p in planned)
            print(f"dry run: {new} report(s) would be created, "
                  f"{len(planned) - new} already imported; nothing was written")
            return 0
        try:
            done = importer.run(planned, receipts=args.receipts)
        except errors.NodeError as exc:
            print(_message(exc), file=sys.stderr)
            return 1
        for item in done:
            if item.receipt is not None:
                print(f"submission {item.number}: receipt {item.receipt.code_display}"
                      f"  secret {item.receipt.secret_display}")
        print(f"imported {len(done)} report(s); {len(planned) - len(done)} already imported")
        return 0
    finally:
        ctx.close()


def print_planned(p: Planned) -> None:
    sub = p.submission
    if p.already:
        print(f"submission {sub.number}: already imported, nothing to create")
        return
    print(f"submission {sub.number}: a new report (channel import:{sub.source},"
          f" collected {sub.submitted_at or '-'})")
    values = p.report.model_dump(mode="json", exclude_defaults=True)
    values.pop("consent", None)
    for name, value in values.items():
        print(f"  {name}: {value}")
    granted = [n for n in CONSENT_NAMES if getattr(p.report.consent, n)]
    print(f"  consent: {', '.join(granted) if granted else 'none'}")
    for media in sub.attachments:
        print(f"  file: {media.name} ({media.size} bytes)")
    print(f"  original: {sub.original_name} ({len(sub.original)} bytes, kept encrypted)")


def _message(exc: errors.NodeError) -> str:
    try:
        text = exc.message % exc.params if exc.params else exc.message
    except (KeyError, TypeError, ValueError):
        text = exc.message
    if "number" in exc.params and "%(number)" not in exc.message:
        text = f"submission {exc.params['number']}: {text}"
    return text + (f" [{exc.field}]" if exc.field else "")
