"""Imports from field tools (issue 19): submissions collected with KoboToolbox or ODK become
reports, through the intake's own storage path (`node.intake.service.IntakeService.insert_report`).

`formats` reads the exports (no network), `mapping` turns a submission into a report as the
organisation's mapping file says, `importer` stores them idempotently, `cli` is
`backup-node import`.
"""
