"""Reading the chain of custody (`node.backoffice.audit`): one case's excerpt, and the most
recent entries of the whole chain, each with the verdict on the whole chain -- an excerpt
is only as good as the chain it comes from."""

from __future__ import annotations

from dataclasses import dataclass

from node import accounts
from node.accounts import UnlockedStaff
from node.backoffice import audit
from node.backoffice.access import Action, require
from node.backoffice.case_access import CaseAccess
from node.backoffice.ledger import CaseLedger
from node.storage.database import Database

RECENT_ENTRIES = 100


@dataclass(frozen=True)
class CustodyView:
    entries: list[audit.Entry]
    verdict: audit.Verdict
    usernames: dict[str, str]
    """The username of every actor that is an account."""


class Custody:
    def __init__(self, db: Database, access: CaseAccess, ledger: CaseLedger) -> None:
        self._db = db
        self._access = access
        self._ledger = ledger

    def of_case(self, staff: UnlockedStaff, report_id: str) -> CustodyView:
        """Who touched this case and its evidence, when, and why. Reading it is itself
        written to the chain."""
        self._access.require(staff, Action.VIEW_CUSTODY, report_id)
        conn = self._db.read()
        verdict = self._ledger.audit.verify(conn)
        entries = list(audit.entries(conn, report_id))
        with self._db.write() as wconn:
            self._ledger.record(wconn, staff, "case.custody_report", report_id)
        return CustodyView(entries, verdict,
                           accounts.usernames(conn, (e.actor for e in entries)))

    def recent(self, staff: UnlockedStaff, limit: int = RECENT_ENTRIES) -> CustodyView:
        """The newest `limit` entries of the whole chain, newest first."""
        require(staff.member, Action.VERIFY_AUDIT)
        conn = self._db.read()
        verdict = self._ledger.audit.verify(conn)
        latest = conn.execute("SELECT MAX(seq) FROM audit_log").fetchone()[0] or 0
        entries = [e for e in audit.entries(conn) if e.seq > latest - limit]
        entries.reverse()
        return CustodyView(entries, verdict,
                           accounts.usernames(conn, (e.actor for e in entries)))
