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
from collections.abc import Callable

from crypto.errors import DecryptionError
from crypto.keys import CaseKey
from node import accounts, errors
from node.accounts import StaffMember, UnlockedStaff
from node.backoffice import case_keys
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
        # keys of their own that stores derived from a case renew when its key rotates,
        # inside the rotation's transaction (issue 13: incident codings)
        self.after_rotation: list[Callable[[sqlite3.Connection, UnlockedStaff, str, CaseKey],
                                           None]] = []

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

    def case_key(self, staff: UnlockedStaff, report_id: str) -> CaseKey:
        """The case's key with every generation (`node.backoffice.case_keys`), opened with
        what this person holds -- or Forbidden."""
        conn = self._db.read()
        if staff.has_role("coordinator") and staff.intake_key is not None:
            row = conn.execute("SELECT sealed_key, key_generation FROM reports WHERE id = ?",
                               (report_id,)).fetchone()
            if row is None:
                raise errors.ReportGone()
            return case_keys.expand(conn, report_id,
                                    staff.intake_key.open_data_key(row["sealed_key"]),
                                    row["key_generation"])
        wrap = conn.execute(
            "SELECT sealed, generation FROM case_key_wraps WHERE report_id = ? AND staff_id = ?",
            (report_id, staff.member.id)).fetchone()
        if wrap is None:
            if staff.has_role("coordinator"):
                # not a bare "not allowed": the key they lack and who can give it (issue 15)
                require_node_key(conn, staff, accounts.INTAKE_KEY)
            raise errors.Forbidden()
        return case_keys.expand(conn, report_id, staff.secret_key.open_data_key(wrap["sealed"]),
                                wrap["generation"])

    def open_case(self, staff: UnlockedStaff, action: Action, report_id: str) -> CaseKey:
        """`require`, then `case_key`: what an action on one case starts with."""
        self.require(staff, action, report_id)
        return self.case_key(staff, report_id)

    def row_key(self, staff: UnlockedStaff, row: sqlite3.Row) -> CaseKey:
        """`case_key` for a report row the caller has already selected (``reports.*``): a
        coordinator's key is opened from the row's own sealed key instead of selecting it
        again (older generations only for a rotated case); anyone else still goes through
        their wrap."""
        intake_key = staff.intake_key
        if staff.has_role("coordinator") and intake_key is not None:
            newest = intake_key.open_data_key(row["sealed_key"])
            if not row["key_generation"]:
                return CaseKey([newest])
            return case_keys.expand(self._db.read(), row["id"], newest, row["key_generation"])
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
                if case_keys.newest_generation(conn, report_id) != key.generation:
                    raise errors.Busy()  # the case key was rotated meanwhile: try again
                conn.execute(
                    "INSERT OR REPLACE INTO case_key_wraps (report_id, staff_id, sealed,"
                    " assigned_at, generation) VALUES (?, ?, ?, ?, ?)",
                    (report_id, assignee_id, assignee.public_key.seal_data_key(key.newest()),
                     self._ledger.now(), key.generation))
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

    # ------------------------------------------------------------------ rotation (issue 13)

    def rotate_key(self, staff: UnlockedStaff, report_id: str, reason: str = "") -> int:
        """Draw the case key's next generation (`case_keys.rotate`), as whoever may assign
        does it (after unassigning someone, or disabling their account): what is written on
        the case from now on opens only with it. One custody entry; returns its number."""
        require(staff.member, Action.ASSIGN)
        key = self.case_key(staff, report_id)
        try:
            with self._db.write() as conn:
                try:
                    rotated, holders = case_keys.rotate(
                        conn, self._ledger.audit.certifier, report_id, key, self._ledger.now())
                except DecryptionError:
                    raise errors.Busy() from None  # rotated meanwhile
                generation = rotated.generation
                for rekey in self.after_rotation:
                    rekey(conn, staff, report_id, rotated)
                self._ledger.record(conn, staff, "case.rotate_key", report_id,
                                    f"generation={generation} holders={len(holders)}"
                                    + (f" {reason}" if reason else ""))
        except KeyNotAuthentic:
            self._disable_unauthentic(report_id)
            raise
        return generation

    def _disable_unauthentic(self, report_id: str) -> None:
        """After a refused rotation: disable the holders whose key failed its certificate,
        as an assignment does (`accounts.disable_for_bad_key`)."""
        conn = self._db.read()
        certifier = self._ledger.audit.certifier
        for (staff_id,) in conn.execute("SELECT staff_id FROM case_key_wraps WHERE report_id = ?",
                                        (report_id,)).fetchall():
            member = accounts.get(conn, staff_id)
            if member is not None and not certifier.is_authentic(
                    conn, accounts.staff_holder(staff_id), member.public_key):
                accounts.disable_for_bad_key(self._db, self._ledger.audit, staff_id,
                                             self._ledger.now())

    def rotation_due(self, report_id: str) -> bool:
        """Someone left this case since its key was last rotated (offer to rotate)."""
        return case_keys.rotation_due(self._db.read(), report_id)

    def rotate_after_departure(self, staff: UnlockedStaff, departed_id: str) -> list[str]:
        """Rotate the key of every case a person left (their account disabled, or
        unassigned) that was not rotated since; the cases rotated. `Forbidden` before
        anything changes if this person cannot open one of them."""
        left = case_keys.left_unrotated(self._db.read(), departed_id)
        for report_id in left:  # all or none: check every key opens first
            self.case_key(staff, report_id)
        for report_id in left:
            self.rotate_key(staff, report_id, f"after {departed_id} left")
        return left

    def share_with_reporter(self, report_id: str, key: CaseKey) -> None:
        """Before staff write to the reporter: if the case was rotated before the reporter's
        key was known, seal the newest generation to it now, so they read what follows."""
        if key.generation and case_keys.reporter_behind(self._db.read(), report_id):
            with self._db.write() as conn:
                case_keys.share_with_reporter(conn, self._ledger.audit.certifier, report_id,
                                              key)

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
        return (DerivedStore("case key wraps (assignments)", _erase_wraps),
                DerivedStore("case key generations and the reporter's key", case_keys.erase))


def _erase_wraps(conn: sqlite3.Connection, report_id: str) -> None:
    conn.execute("DELETE FROM case_key_wraps WHERE report_id = ?", (report_id,))
