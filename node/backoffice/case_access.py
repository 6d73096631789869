"""Who may open a case, and with which key (issue 3: "decided in one place, enforced twice").

The application half is the policy table (`node.backoffice.access`), checked by every
service with `CaseAccess.require`; the cryptographic half is `CaseAccess.case_key`: a
coordinator opens a report's data key with the intake key; anyone else only through a
wrap of that key to their own public key, which assignment creates and unassignment
deletes. Without a wrap there is nothing to decrypt with, whichever code path is taken.

Consent gates some uses of a case whoever holds its key (referral, legal export):
`require_consent` reads the reporter's current choice, once its tag under the consent key
verifies (`node.intake.consent_auth`).
"""

from __future__ import annotations

import sqlite3

from crypto.keys import DataKey
from node import accounts, errors
from node.accounts import StaffMember, UnlockedStaff
from node.backoffice.access import Action, require, require_node_key
from node.backoffice.deletion import DerivedStore
from node.backoffice.ledger import CaseLedger
from node.intake.consent_auth import ConsentKey
from node.intake.models import CONSENT_LABELS, Consent
from node.key_certificates import KeyNotAuthentic
from node.storage.database import Database

_CONSENT_NAMES = frozenset(Consent.model_fields)


class CaseAccess:
    def __init__(self, db: Database, ledger: CaseLedger, consent: ConsentKey) -> None:
        self._db = db
        self._consent = consent
        self._ledger = ledger

    # ------------------------------------------------------------------ deciding

    def is_assigned(self, staff_id: str, report_id: str) -> bool:
        return self._db.read().execute(
            "SELECT 1 FROM case_key_wraps WHERE report_id = ? AND staff_id = ?",
            (report_id, staff_id)).fetchone() is not None

    def require(self, staff: UnlockedStaff, action: Action, report_id: str) -> None:
        """`Forbidden` unless the policy lets this person do `action` on this case."""
        require(staff.member, action, assigned=self.is_assigned(staff.member.id, report_id))

    def require_consent(self, report_id: str, name: str) -> None:
        """`ConsentMissing` unless the reporter's current consent allows `name`, read
        only once its tag verifies (`ConsentUnverified` if it was altered: fail closed)."""
        if name not in _CONSENT_NAMES:
            raise ValueError(f"no consent named {name}")
        current = self._consent.verify(self._db.read(), report_id)
        if not current[f"consent_{name}"]:
            raise errors.ConsentMissing(consent=CONSENT_LABELS[name])

    # ------------------------------------------------------------------ opening

    def case_key(self, staff: UnlockedStaff, report_id: str) -> DataKey:
        """The report's data key, opened with what this person holds -- or Forbidden."""
        conn = self._db.read()
        if staff.has_role("coordinator") and staff.intake_key is not None:
            row = conn.execute("SELECT sealed_key FROM reports WHERE id = ?",
                               (report_id,)).fetchone()
            if row is None:
                raise errors.ReportGone()
            return staff.intake_key.open_data_key(row["sealed_key"])
        wrap = conn.execute(
            "SELECT sealed FROM case_key_wraps WHERE report_id = ? AND staff_id = ?",
            (report_id, staff.member.id)).fetchone()
        if wrap is None:
            if staff.has_role("coordinator"):
                # not a bare "not allowed": the key they lack and who can give it (issue 15)
                require_node_key(conn, staff, accounts.INTAKE_KEY)
            raise errors.Forbidden()
        return staff.secret_key.open_data_key(wrap["sealed"])

    def open_case(self, staff: UnlockedStaff, action: Action, report_id: str) -> DataKey:
        """`require`, then `case_key`: what an action on one case starts with."""
        self.require(staff, action, report_id)
        return self.case_key(staff, report_id)

    def row_key(self, staff: UnlockedStaff, row: sqlite3.Row) -> DataKey:
        """`case_key` for a report row the caller has already selected: a coordinator's
        key is opened from the row's own sealed key instead of selecting it again; anyone
        else still goes through their wrap."""
        intake_key = staff.intake_key
        if staff.has_role("coordinator") and intake_key is not None:
            return intake_key.open_data_key(row["sealed_key"])
        return self.case_key(staff, row["id"])

    # ------------------------------------------------------------------ assignment

    def assign(self, staff: UnlockedStaff, report_id: str, assignee_id: str) -> None:
        """Wrap the case's data key to the assignee's public key: from now on they can
        decrypt it (and nobody else through this row)."""
        require(staff.member, Action.ASSIGN)
        key = self.case_key(staff, report_id)
        conn = self._db.read()
        assignee = accounts.get(conn, assignee_id)
        disabled = conn.execute("SELECT disabled FROM staff WHERE id = ?",
                                (assignee_id,)).fetchone()
        if (assignee is None or not assignee.roles & {"caseworker", "coordinator"}
                or disabled is None or disabled[0]):
            raise errors.UnknownChoice(field="assignee")
        certifier = self._ledger.audit.certifier
        try:
            with self._db.write() as conn:
                # issue 13: never seal a case key to a public key the node did not certify
                certifier.check(conn, accounts.staff_holder(assignee_id), assignee.public_key)
                conn.execute(
                    "INSERT OR REPLACE INTO case_key_wraps (report_id, staff_id, sealed,"
                    " assigned_at) VALUES (?, ?, ?, ?)",
                    (report_id, assignee_id, assignee.public_key.seal_data_key(key),
                     self._ledger.now()))
                self._record_assignment(conn, staff, report_id, assignee_id)
        except KeyNotAuthentic:
            accounts.disable_for_bad_key(self._db, self._ledger.audit, assignee_id,
                                         self._ledger.now())
            raise

    def _record_assignment(self, conn: sqlite3.Connection, staff: UnlockedStaff,
                           report_id: str, assignee_id: str) -> None:
        self._ledger.record(conn, staff, "case.assign", report_id, f"to {assignee_id}")
        if self._ledger.status_of(conn, report_id) in ("new", "in_triage"):
            self._ledger.set_status(conn, staff, report_id, "assigned")

    def unassign(self, staff: UnlockedStaff, report_id: str, assignee_id: str) -> None:
        require(staff.member, Action.ASSIGN)
        with self._db.write() as conn:
            conn.execute("DELETE FROM case_key_wraps WHERE report_id = ? AND staff_id = ?",
                         (report_id, assignee_id))
            self._ledger.record(conn, staff, "case.unassign", report_id, f"from {assignee_id}")

    def assignees(self, report_id: str) -> list[StaffMember]:
        """Who holds a wrap of the case's key, first assigned first."""
        conn = self._db.read()
        staff_ids = [r[0] for r in conn.execute(
            "SELECT staff_id FROM case_key_wraps WHERE report_id = ? ORDER BY assigned_at",
            (report_id,))]
        return [m for m in (accounts.get(conn, s) for s in staff_ids) if m is not None]

    def caseworkers(self) -> list[StaffMember]:
        """The enabled caseworkers a case can be assigned to, by username."""
        conn = self._db.read()
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM staff WHERE disabled = 0 ORDER BY username")]
        return [m for m in (accounts.get(conn, i) for i in ids)
                if m is not None and "caseworker" in m.roles]

    @property
    def derived_stores(self) -> tuple[DerivedStore, ...]:
        return (DerivedStore("case key wraps (assignments)", _erase_wraps),)


def _erase_wraps(conn: sqlite3.Connection, report_id: str) -> None:
    conn.execute("DELETE FROM case_key_wraps WHERE report_id = ?", (report_id,))
