"""Coding the incidents a case describes, and linking an incident to several cases (a
survivor and a witness describing the same event).

Each incident has its own data key, sealed to the node's analysis key (analysts and
coordinators open every coding through it: `node.backoffice.codings`) and wrapped with the
data key of every linked report, so whoever may open one of those reports may read and
edit its incidents. The vocabulary is `node.backoffice.incidents`.

Codings feed statistics and analysis, so a change never overwrites silently (issue 15):
editing or withdrawing a coding keeps the version it replaces in `incident_history`,
sealed under the incident's key with who changed it and when, and writes a custody entry
on the case. A withdrawn coding stays linked (deleting a report still erases it) and no
statistics count it. Every change to what a release could have counted (an edit, a
withdrawal, a link added or removed) calls each of `CaseIncidents.coding_changed` inside
the same write transaction, so that pending statistics drafts that counted the old coding
are voided with it; releases already sent stay as they are.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from crypto.keys import BoxPublicKey, BoxSecretKey, CaseKey, DataKey
from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action, allowed
from node.backoffice.case_access import CaseAccess
from node.backoffice.deletion import DerivedStore
from node.backoffice.incidents import IncidentCoding
from node.backoffice.ledger import CaseLedger, aead_context
from node.config import NodeConfig
from node.i18n import N_
from node.storage.database import Database

LINKABLE_SHOWN = 200

# Called as hook(conn, incident_id) inside the write transaction of every change to an
# existing coding or its links. `node.context.open_node` fills the list (the statistics
# drafts that counted the incident are voided there); empty, a change voids nothing.
CodingChanged = Callable[[sqlite3.Connection, str], None]


class LastLink(errors.InvalidInput):
    message = N_("This incident is described by this case only: withdraw the coding "
                 "instead of removing the link.")


class CodingWithdrawn(errors.InvalidInput):
    message = N_("This coding was withdrawn and can no longer be changed. Code the "
                 "incident again if it is needed.")


@dataclass(frozen=True)
class HistoryEntry:
    """An earlier version of a coding: what it was until `actor` changed it at `at`."""

    version: int
    at: int
    actor: str
    action: str  # "edited" or "withdrawn"
    coding: IncidentCoding


class CaseIncident(NamedTuple):
    id: str
    coding: IncidentCoding
    withdrawn: bool
    other_reports: list[str]  # the other cases that describe the same incident
    history: list[HistoryEntry]  # newest first


@dataclass(frozen=True)
class Candidate:
    """An incident coded on another case, as a coordinator picks it to link: its coding
    and the case it is coded on, never a bare id."""

    incident_id: str
    report_id: str
    coding: IncidentCoding


def _coding_context(incident_id: str) -> bytes:
    return aead_context("incident", incident_id)


def _key_context(incident_id: str, report_id: str) -> bytes:
    return aead_context("incident-key", incident_id, report_id)


def _history_context(incident_id: str, version: int) -> bytes:
    return aead_context("incident-history", incident_id, str(version))


class CaseIncidents:
    def __init__(self, db: Database, access: CaseAccess, ledger: CaseLedger,
                 config: NodeConfig, analysis_public: BoxPublicKey) -> None:
        self._db = db
        self._access = access
        self._ledger = ledger
        self._config = config
        self._analysis_public = analysis_public
        self.coding_changed: list[CodingChanged] = []

    def code(self, staff: UnlockedStaff, report_id: str, coding: IncidentCoding,
             incident_id: str | None = None) -> str:
        """Create an incident coding linked to this report, or replace an existing one
        (which must already be linked to it, and not withdrawn): the version it replaces
        goes into the history."""
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
                _keep_version(conn, staff, incident_id, ikey, "edited", now)
                conn.execute("UPDATE incidents SET coding_ct = ?, updated_at = ? WHERE id = ?",
                             (ikey.encrypt(payload, _coding_context(incident_id)), now,
                              incident_id))
                action = "case.recode"
                self._changed(conn, incident_id)
            self._ledger.touch(conn, report_id)
            self._ledger.record(conn, staff, action, report_id, f"incident {incident_id}")
        return incident_id

    def withdraw(self, staff: UnlockedStaff, report_id: str, incident_id: str) -> None:
        """Withdraw a coding linked to this case: no statistics count it from now on; it
        and its history stay readable on every linked case."""
        self._access.require(staff, Action.CODE_INCIDENT, report_id)
        report_key = self._access.case_key(staff, report_id)
        now = self._ledger.now()
        with self._db.write() as conn:
            ikey = _incident_key_via(conn, incident_id, report_id, report_key)
            _keep_version(conn, staff, incident_id, ikey, "withdrawn", now)
            conn.execute("UPDATE incidents SET withdrawn = 1, updated_at = ? WHERE id = ?",
                         (now, incident_id))
            self._changed(conn, incident_id)
            self._ledger.touch(conn, report_id)
            self._ledger.record(conn, staff, "case.withdraw_coding", report_id,
                                f"incident {incident_id}")

    def link(self, staff: UnlockedStaff, report_id: str, incident_id: str,
             from_report_id: str) -> None:
        """Link an incident already coded on another report (both must be readable)."""
        self._access.require(staff, Action.CODE_INCIDENT, report_id)
        self._access.require(staff, Action.CODE_INCIDENT, from_report_id)
        key_to = self._access.case_key(staff, report_id)
        key_from = self._access.case_key(staff, from_report_id)
        with self._db.write() as conn:
            ikey = _incident_key_via(conn, incident_id, from_report_id, key_from)
            _require_current(conn, incident_id)
            _link(conn, incident_id, report_id, ikey, key_to)
            self._changed(conn, incident_id)
            self._ledger.touch(conn, report_id)
            self._ledger.record(conn, staff, "case.link_incident", report_id,
                                f"incident {incident_id}")

    def unlink(self, staff: UnlockedStaff, report_id: str, incident_id: str) -> None:
        """Remove this case's link to an incident other cases still describe (the last
        link is not removed: the coding is withdrawn instead, and keeps its history)."""
        self._access.require(staff, Action.CODE_INCIDENT, report_id)
        report_key = self._access.case_key(staff, report_id)
        with self._db.write() as conn:
            _incident_key_via(conn, incident_id, report_id, report_key)  # linked, readable
            others = conn.execute(
                "SELECT COUNT(*) FROM incident_links WHERE incident_id = ? AND report_id != ?",
                (incident_id, report_id)).fetchone()[0]
            if not others:
                raise LastLink()
            # before the link goes: a hook must still see every report the incident had
            self._changed(conn, incident_id)
            conn.execute("DELETE FROM incident_links WHERE incident_id = ? AND report_id = ?",
                         (incident_id, report_id))
            self._ledger.touch(conn, report_id)
            self._ledger.record(conn, staff, "case.unlink_incident", report_id,
                                f"incident {incident_id}")

    def _changed(self, conn: sqlite3.Connection, incident_id: str) -> None:
        for hook in self.coding_changed:
            hook(conn, incident_id)

    # ------------------------------------------------------------------ reading

    def of_case(self, report_id: str, report_key: DataKey) -> list[CaseIncident]:
        """The incidents linked to the case, oldest first, opened through its key, with
        their history and the other cases linked to them."""
        conn = self._db.read()
        out = []
        for r in conn.execute(
                "SELECT i.id, i.coding_ct, i.withdrawn, l.wrapped_key FROM incidents i"
                " JOIN incident_links l ON l.incident_id = i.id WHERE l.report_id = ?"
                " ORDER BY i.created_at, i.id", (report_id,)).fetchall():
            ikey = report_key.open_data_key(r["wrapped_key"], _key_context(r["id"], report_id))
            others = [o[0] for o in conn.execute(
                "SELECT report_id FROM incident_links WHERE incident_id = ? AND report_id != ?"
                " ORDER BY report_id", (r["id"], report_id))]
            out.append(CaseIncident(
                r["id"], IncidentCoding.model_validate_json(
                    ikey.decrypt(r["coding_ct"], _coding_context(r["id"]))),
                bool(r["withdrawn"]), others, _history(conn, r["id"], ikey)))
        return out

    def editable(self, staff: UnlockedStaff, report_id: str, incident_id: str
                 ) -> IncidentCoding:
        """The current coding of an incident linked to this case, to edit it."""
        self._access.require(staff, Action.CODE_INCIDENT, report_id)
        report_key = self._access.case_key(staff, report_id)
        conn = self._db.read()
        ikey = _incident_key_via(conn, incident_id, report_id, report_key)
        row = _require_current(conn, incident_id)
        return IncidentCoding.model_validate_json(
            ikey.decrypt(row["coding_ct"], _coding_context(incident_id)))

    def linkable(self, staff: UnlockedStaff, report_id: str, linked: set[str]
                 ) -> list[Candidate]:
        """Incidents coded on other cases that a coordinator could link this one to, with
        their coding opened through the analysis key, newest first, at most
        `LINKABLE_SHOWN`; none for anyone else (a caseworker cannot open the other cases)."""
        key: BoxSecretKey | None = staff.analysis_key
        if key is None or not staff.has_role("coordinator") or not allowed(
                staff.member, Action.CODE_INCIDENT,
                assigned=self._access.is_assigned(staff.member.id, report_id)):
            return []
        out = []
        seen: set[str] = set()
        for row in self._db.read().execute(
                "SELECT l.incident_id, l.report_id, i.sealed_key, i.coding_ct"
                " FROM incident_links l JOIN incidents i ON i.id = l.incident_id"
                " WHERE l.report_id != ? AND i.withdrawn = 0"
                " ORDER BY i.created_at DESC, l.incident_id, l.report_id",
                (report_id,)):
            incident_id = row["incident_id"]
            if incident_id in linked or incident_id in seen:
                continue
            seen.add(incident_id)
            coding = IncidentCoding.model_validate_json(key.open_data_key(
                row["sealed_key"]).decrypt(row["coding_ct"], _coding_context(incident_id)))
            out.append(Candidate(incident_id, row["report_id"], coding))
            if len(out) == LINKABLE_SHOWN:
                break
        return out

    def rekey_after_rotation(self, conn: sqlite3.Connection, staff: UnlockedStaff,
                             report_id: str, case_key: CaseKey) -> None:
        """After the case's key rotated (issue 13, inside its transaction): each incident
        linked to the case gets a new key -- its coding and history re-encrypted, sealed to
        the analysis key again, wrapped under the newest key of every case it is linked to
        -- so a departed holder's copy of the old incident key opens no later edit. An
        incident also linked to a case this person cannot open keeps its key."""
        for (incident_id,) in conn.execute(
                "SELECT incident_id FROM incident_links WHERE report_id = ?",
                (report_id,)).fetchall():
            others: dict[str, DataKey] = {}
            try:
                for (other,) in conn.execute(
                        "SELECT report_id FROM incident_links WHERE incident_id = ?"
                        " AND report_id != ?", (incident_id, report_id)).fetchall():
                    others[other] = self._access.case_key(staff, other)
            except (errors.Forbidden, errors.ReportGone):
                continue
            old = _incident_key_via(conn, incident_id, report_id, case_key)
            new = DataKey.generate()
            _reencrypt(conn, incident_id, old, new, self._analysis_public.seal_data_key(new))
            _link(conn, incident_id, report_id, new, case_key)
            for other, other_key in others.items():
                _link(conn, incident_id, other, new, other_key)

    @property
    def derived_stores(self) -> tuple[DerivedStore, ...]:
        return (DerivedStore("incident codings and links", _erase_incidents),)


def _reencrypt(conn: sqlite3.Connection, incident_id: str, old: DataKey, new: DataKey,
               sealed: bytes) -> None:
    """An incident's coding and history under a new key, sealed to the analysis key."""
    (coding_ct,) = conn.execute("SELECT coding_ct FROM incidents WHERE id = ?",
                                (incident_id,)).fetchone()
    ctx = _coding_context(incident_id)
    conn.execute("UPDATE incidents SET coding_ct = ?, sealed_key = ? WHERE id = ?",
                 (new.encrypt(old.decrypt(coding_ct, ctx), ctx), sealed, incident_id))
    for version, entry_ct in conn.execute(
            "SELECT version, entry_ct FROM incident_history WHERE incident_id = ?",
            (incident_id,)).fetchall():
        ctx = _history_context(incident_id, version)
        conn.execute("UPDATE incident_history SET entry_ct = ? WHERE incident_id = ?"
                     " AND version = ?", (new.encrypt(old.decrypt(entry_ct, ctx), ctx),
                                          incident_id, version))


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


def _require_current(conn: sqlite3.Connection, incident_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT coding_ct, withdrawn FROM incidents WHERE id = ?", (incident_id,)).fetchone()
    if row is None:
        raise errors.NotFound()
    if row["withdrawn"]:
        raise CodingWithdrawn()
    return row


def _keep_version(conn: sqlite3.Connection, staff: UnlockedStaff, incident_id: str,
                  ikey: DataKey, action: str, now: int) -> None:
    """Seal the coding as it is now into the history, before it changes."""
    row = _require_current(conn, incident_id)
    coding = ikey.decrypt(row["coding_ct"], _coding_context(incident_id))
    version = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM incident_history"
                           " WHERE incident_id = ?", (incident_id,)).fetchone()[0]
    entry = json.dumps({"at": now, "actor": staff.member.id, "action": action,
                        "coding": json.loads(coding)}).encode()
    conn.execute("INSERT INTO incident_history (incident_id, version, entry_ct)"
                 " VALUES (?, ?, ?)",
                 (incident_id, version,
                  ikey.encrypt(entry, _history_context(incident_id, version))))


def _history(conn: sqlite3.Connection, incident_id: str, ikey: DataKey) -> list[HistoryEntry]:
    out = []
    for version, entry_ct in conn.execute(
            "SELECT version, entry_ct FROM incident_history WHERE incident_id = ?"
            " ORDER BY version DESC", (incident_id,)):
        entry = json.loads(ikey.decrypt(entry_ct, _history_context(incident_id, version)))
        out.append(HistoryEntry(version, int(entry["at"]), str(entry["actor"]),
                                str(entry["action"]),
                                IncidentCoding.model_validate(entry["coding"])))
    return out


def _erase_incidents(conn: sqlite3.Connection, report_id: str) -> None:
    """The incidents only this report described go entirely, with their history (their
    coding may hold the reporter's own words); an incident another report still describes
    keeps its coding and history and loses this report's link."""
    orphaned = [r[0] for r in conn.execute(
        "SELECT incident_id FROM incident_links WHERE report_id = ? AND incident_id NOT IN"
        " (SELECT incident_id FROM incident_links WHERE report_id != ?)",
        (report_id, report_id))]
    for incident_id in orphaned:
        conn.execute("DELETE FROM incident_history WHERE incident_id = ?", (incident_id,))
        conn.execute("DELETE FROM incidents WHERE id = ?", (incident_id,))
    conn.execute("DELETE FROM incident_links WHERE report_id = ?", (report_id,))
