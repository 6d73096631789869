"""Finding a case from the receipt number a caller reads out on the phone (issue 15).

The number is looked up through the keyed receipt index (`node.intake.receipt_index`): the
node stores no receipt number, and this adds nothing stored but custody entries, which
never hold the number. Whoever holds a receipt number is not necessarily the survivor --
the person she fears may have found it -- so finding the case proves nothing about the
caller: staff verify the caller first, and may check the secret the caller reads out.
The check opens the reporter's key wrap exactly as the receipt page does (Argon2id, the
same cost), then forgets both numbers; only "matched" or "did not match" is recorded.

Every lookup is in the custody log: on the case when a case is found
(``case.receipt_lookup``, ``case.receipt_check``), in the node's audit log when none is
(``receipt.lookup_unknown``, no number in it).
"""

from __future__ import annotations

from crypto import receipt
from crypto.errors import FormatError
from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action, require
from node.backoffice.case_access import CaseAccess
from node.backoffice.ledger import CaseLedger
from node.intake.receipt_index import ReceiptIndexKey
from node.intake.service import IntakeService
from node.storage.database import Database


def lookup(db: Database, index: ReceiptIndexKey, ledger: CaseLedger, staff: UnlockedStaff,
           code_text: str) -> str | None:
    """The id of the report with this receipt number, or None; recorded either way."""
    require(staff.member, Action.LOOKUP_RECEIPT)
    try:
        code = receipt.normalize_receipt_code(code_text)
    except FormatError:
        raise errors.ReceiptFormat(field="receipt") from None
    row = db.read().execute("SELECT id FROM reports WHERE receipt_index = ?",
                            (index.index(code),)).fetchone()
    with db.write() as conn:
        if row is None:
            ledger.audit.append(conn, at=ledger.now(), actor=staff.member.id,
                                action="receipt.lookup_unknown", object_type="receipt",
                                object_id="")
            return None
        ledger.record(conn, staff, "case.receipt_lookup", row["id"])
    return str(row["id"])


def check_secret(intake: IntakeService, access: CaseAccess, ledger: CaseLedger,
                 staff: UnlockedStaff, report_id: str, code_text: str, secret_text: str
                 ) -> bool:
    """Whether the secret the caller reads out opens this receipt of this case. Neither
    number is kept; the custody entry says only whether it matched."""
    require(staff.member, Action.LOOKUP_RECEIPT)
    access.require(staff, Action.READ_CASE, report_id)
    try:
        matched = intake.open_receipt(code_text, secret_text).report_id == report_id
    except errors.ReceiptRejected:
        matched = False
    with intake.db.write() as conn:
        ledger.record(conn, staff, "case.receipt_check", report_id,
                      "matched" if matched else "did not match")
    return matched
