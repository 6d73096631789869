"""Coding the incidents a case describes, and linking an incident to several cases (a
survivor and a witness describing the same event).

Each incident has its own data key, sealed to the node's analysis key (analysts and
coordinators open every coding through it: `node.backoffice.codings`) and wrapped with the
data key of every linked report, so whoever may open one of those reports may read and
edit its incidents. The vocabulary is `node.backoffice.incidents`.
"""

from __future__ import annotations

import secrets
import sqlite3

from crypto.keys import BoxPublicKey, DataKey
from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action, allowed
from node.backoffice.case_access import CaseAccess
from node.backoffice.deletion import DerivedStore
from node.backoffice.incidents import IncidentCoding
from node.backoffice.ledger import CaseLedger, aead_context
from node.config import NodeConfig
from node.storage.database import Database

LINKABLE_SHOWN = 200


def _coding_context(incident_id: str) -> bytes:
    return aead_context("incident", incident_id)


def _key_context(incident_id: str, report_id: str) -> bytes:
    return aead_context("incident-key", incident_id, report_id)


class CaseIncidents:
    def __init__(self, db: Database, access: CaseAccess, ledger: CaseLedger,
                 config: NodeConfig, analysis_public: BoxPublicKey) -> None:
        self._db = db
        self._access = access
        self._ledger = ledger
        self._config = config
        self._analysis_public = analysis_public

    def code(self, staff: UnlockedStaff, report_id: str, coding: IncidentCoding,
             incident_id: str | None = None) -> str:
        """Create an incident coding linked to this report, or replace an existing one
        (which must already be linked to it)."""
        self._access.require(staff, Action.CODE_INCIDENT, report_id)
        if coding.region is not None and self._config.region(coding.region) is None:
            raise errors.UnknownChoice(field="region")
        report_key = self._access.case_key(staff, report_id)
        now = self._ledger.now()
        payload = coding.model_dump_json().encode()
        with self._db.write() as conn:
            if incident_id is None:
                incident_id = secrets.token_hex(12)
                ikey = DataKey.generate()
                conn.execute(
                    "INSERT INTO incidents (id, created_at, updated_at, sealed_key, coding_ct)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (incident_id, now, now, self._analysis_public.seal_data_key(ikey),
                     ikey.encrypt(payload, _coding_context(incident_id))))
                _link(conn, incident_id, report_id, ikey, report_key)
                action = "case.code"
            else:
                ikey = _incident_key_via(conn, incident_id, report_id, report_key)
                conn.execute("UPDATE incidents SET coding_ct = ?, updated_at = ? WHERE id = ?",
                             (ikey.encrypt(payload, _coding_context(incident_id)), now,
                              incident_id))
                action = "case.recode"
            self._ledger.touch(conn, report_id)
            self._ledger.record(conn, staff, action, report_id, f"incident {incident_id}")
        return incident_id

    def link(self, staff: UnlockedStaff, report_id: str, incident_id: str,
             from_report_id: str) -> None:
        """Link an incident already coded on another report (both must be readable)."""
        self._access.require(staff, Action.CODE_INCIDENT, report_id)
        self._access.require(staff, Action.CODE_INCIDENT, from_report_id)
        key_to = self._access.case_key(staff, report_id)
        key_from = self._access.case_key(staff, from_report_id)
        with self._db.write() as conn:
            ikey = _incident_key_via(conn, incident_id, from_report_id, key_from)
            _link(conn, incident_id, report_id, ikey, key_to)
            self._ledger.touch(conn, report_id)
            self._ledger.record(conn, staff, "case.link_incident", report_id,
                                f"incident {incident_id}")

    def of_case(self, report_id: str, report_key: DataKey) -> list[tuple[str, IncidentCoding]]:
        """The incidents linked to the case, oldest first, opened through its key."""
        out = []
        for r in self._db.read().execute(
                "SELECT i.id, i.coding_ct, l.wrapped_key FROM incidents i JOIN incident_links l"
                " ON l.incident_id = i.id WHERE l.report_id = ? ORDER BY i.created_at",
                (report_id,)):
            ikey = report_key.open_data_key(r["wrapped_key"], _key_context(r["id"], report_id))
            out.append((r["id"], IncidentCoding.model_validate_json(
                ikey.decrypt(r["coding_ct"], _coding_context(r["id"])))))
        return out

    def linkable(self, staff: UnlockedStaff, report_id: str, linked: set[str]
                 ) -> list[tuple[str, str]]:
        """Incidents coded on other cases that a coordinator could link this one to, as
        (incident id, the case it is coded on), at most `LINKABLE_SHOWN`; none for anyone
        else (a caseworker cannot open the other cases)."""
        if not staff.has_role("coordinator") or not allowed(
                staff.member, Action.CODE_INCIDENT,
                assigned=self._access.is_assigned(staff.member.id, report_id)):
            return []
        out = []
        for row in self._db.read().execute(
                "SELECT incident_id, report_id FROM incident_links WHERE report_id != ?"
                " LIMIT ?", (report_id, LINKABLE_SHOWN)):
            if row[0] not in linked:
                out.append((row[0], row[1]))
        return out

    @property
    def derived_stores(self) -> tuple[DerivedStore, ...]:
        return (DerivedStore("incident codings and links", _erase_incidents),)


def _link(conn: sqlite3.Connection, incident_id: str, report_id: str, ikey: DataKey,
          report_key: DataKey) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO incident_links (incident_id, report_id, wrapped_key)"
        " VALUES (?, ?, ?)",
        (incident_id, report_id,
         report_key.wrap_data_key(ikey, _key_context(incident_id, report_id))))


def _incident_key_via(conn: sqlite3.Connection, incident_id: str, report_id: str,
                      report_key: DataKey) -> DataKey:
    row = conn.execute("SELECT wrapped_key FROM incident_links WHERE incident_id = ? AND"
                       " report_id = ?", (incident_id, report_id)).fetchone()
    if row is None:
        raise errors.NotFound()
    return report_key.open_data_key(row["wrapped_key"], _key_context(incident_id, report_id))


def _erase_incidents(conn: sqlite3.Connection, report_id: str) -> None:
    """The incidents only this report described go entirely (their coding may hold the
    reporter's own words); an incident another report still describes keeps its coding and
    loses this report's link."""
    orphaned = [r[0] for r in conn.execute(
        "SELECT incident_id FROM incident_links WHERE report_id = ? AND incident_id NOT IN"
        " (SELECT incident_id FROM incident_links WHERE report_id != ?)",
        (report_id, report_id))]
    for incident_id in orphaned:
        conn.execute("DELETE FROM incidents WHERE id = ?", (incident_id,))
    conn.execute("DELETE FROM incident_links WHERE report_id = ?", (report_id,))
