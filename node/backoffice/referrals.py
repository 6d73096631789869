"""Referring a reporter to a service from the node's directory (medical, psychosocial,
legal, ...), and recording what came of it.

Only with the reporter's recorded referral consent (invariant 4, "consent is data"). What
was shared, with whom and when is kept encrypted with the report's data key; the outcome
is recorded later.
"""

from __future__ import annotations

import json

from crypto.keys import DataKey
from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action
from node.backoffice.case_access import CaseAccess
from node.backoffice.deletion import DerivedStore
from node.backoffice.ledger import CaseLedger, EntryTable, TimelineEntry, aead_context, check_text
from node.config import Service
from node.storage.database import Database

REFERRALS = EntryTable("referrals", "referral")
REFERRAL_CHARS = 5_000


class Referrals:
    def __init__(self, db: Database, access: CaseAccess, ledger: CaseLedger,
                 services: list[Service]) -> None:
        self._db = db
        self._access = access
        self._ledger = ledger
        self._services = services

    def refer(self, staff: UnlockedStaff, report_id: str, service_id: str,
              shared: str) -> str:
        """Record a referral to `service_id` and what was shared; the case moves to
        "referred" unless it is closed or withdrawn."""
        self._access.require(staff, Action.REFER, report_id)
        service = next((s for s in self._services if s.id == service_id), None)
        if service is None:
            raise errors.UnknownChoice(field="service")
        check_text(shared, REFERRAL_CHARS)
        self._access.require_consent(report_id, "referral")
        key = self._access.open_case(staff, Action.REFER, report_id)
        ref_id = self._ledger.add_entry(
            staff, report_id, key, REFERRALS,
            {"service_id": service.id, "service_name": service.name, "shared": shared,
             "outcome": None},
            audit_detail=f"to service {service.id}")
        with self._db.write() as conn:
            if self._ledger.status_of(conn, report_id) not in ("closed", "withdrawn"):
                self._ledger.set_status(conn, staff, report_id, "referred")
        return ref_id

    def record_outcome(self, staff: UnlockedStaff, report_id: str, referral_id: str,
                       outcome: str) -> None:
        self._access.require(staff, Action.REFER, report_id)
        check_text(outcome, REFERRAL_CHARS)
        key = self._access.case_key(staff, report_id)
        with self._db.write() as conn:
            row = conn.execute("SELECT body_ct FROM referrals WHERE id = ? AND report_id = ?",
                               (referral_id, report_id)).fetchone()
            if row is None:
                raise errors.NotFound()
            context = aead_context(REFERRALS.kind, report_id, referral_id)
            body = json.loads(key.decrypt(row["body_ct"], context))
            body["outcome"] = outcome
            conn.execute("UPDATE referrals SET body_ct = ?, outcome_at = ? WHERE id = ?",
                         (key.encrypt(json.dumps(body, ensure_ascii=False).encode(), context),
                          self._ledger.now(), referral_id))
            self._ledger.touch(conn, report_id)
            self._ledger.record(conn, staff, "case.referral_outcome", report_id,
                                f"referral {referral_id}")

    def of_case(self, report_id: str, key: DataKey) -> list[TimelineEntry]:
        return self._ledger.entries(REFERRALS, report_id, key)

    @property
    def derived_stores(self) -> tuple[DerivedStore, ...]:
        return (DerivedStore("referrals", self._ledger.erase_entries(REFERRALS)),)
