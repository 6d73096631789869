"""The reporter replaces their receipt secret (issue 19).

A USSD screen is not kept in the phone's inbox, but the carrier sees it; a receipt written
on paper may have been seen. The reporter, signed in with their receipt number and secret,
asks for a new secret: the node draws one in the same format and strength as at
submission (`crypto.receipt.new_secret`) and, in one write transaction,

- re-wraps generation 0 of the case key under the new secret's Argon2id output
  (``reports.reporter_wrap``),
- stores the reporter's new receipt-derived public key, certified by the identity key
  (subject ``reporter:<report id>``, `case_keys.record_reporter_key`),
- re-seals the newest generation to it (``reports.reporter_sealed``) when the reporter
  holds it; a reporter who was behind a rotation stays behind until staff next write to
  them (`case_keys.share_with_reporter`), as before,

so the old secret opens nothing afterwards. The receipt number stays. The chain of custody
records that the secret was replaced, and nothing else (no secret, no key, no channel).
"""

from __future__ import annotations

from crypto import passphrase as pw
from crypto import receipt
from crypto.keys import CaseKey
from node import errors
from node.backoffice import case_keys
from node.backoffice.audit import AuditLog
from node.intake.service import IntakeService, ReporterAccess, reporter_wrap_context

CUSTODY_ACTION = "case.secret_replaced"


def replace_secret(intake: IntakeService, audit: AuditLog, access: ReporterAccess) -> str:
    """Give the open report a new receipt secret and return it (digits, ungrouped); the
    caller shows it once. `errors.ReportGone` if the report was deleted meanwhile."""
    key = access.data_key
    held = key if isinstance(key, CaseKey) else CaseKey([key])
    secret = receipt.new_secret()
    # the one Argon2id run, outside the write transaction (as at submission)
    wrap, public = pw.wrap_key_with_box(held.first(), secret, intake.receipt_params,
                                        reporter_wrap_context(access.report_id))
    with intake.db.write() as conn:
        if conn.execute("SELECT 1 FROM reports WHERE id = ?",
                        (access.report_id,)).fetchone() is None:
            raise errors.ReportGone()
        conn.execute("UPDATE reports SET reporter_wrap = ?, reporter_sealed = NULL"
                     " WHERE id = ?", (wrap, access.report_id))
        case_keys.record_reporter_key(conn, intake.keys.certifier, access.report_id, public)
        # sealed only when the reporter holds the newest generation (else False: behind)
        case_keys.share_with_reporter(conn, intake.keys.certifier, access.report_id, held)
        audit.append(conn, at=int(intake.clock().timestamp()), actor="reporter",
                     action=CUSTODY_ACTION, object_type="report", object_id=access.report_id)
    return secret
