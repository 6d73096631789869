"""Perpetrator identifiers confirmed by staff on a case, and the tokens made from them
(issue 18).

Staff read a case (its narrative and its codings' unit, rank and group) and confirm who did
it: names and aliases, unit with rank, armed group (`recipe.Identifiers`). Only on a case
whose reporter consented to matching (`Consent.matching`, checked under its tag), and only
by someone who may code the case (`Action.CODE_INCIDENT`): the same people who already
read what the identifiers come from.

Three stores, all derived from the report and erased by the one deletion path:

* ``perpetrator_identifiers``: one encrypted entry per confirmation, in the one format of
  the entries of a case (`CaseLedger.add_entry`: JSON under the report's data key, bound to
  its kind, report and row). The names are nowhere else, not in the chain of custody.
* ``matching_tokens``: the OPRF outputs made from them, per key epoch (`record_tokens`).
  A token says nothing without the evaluator's key; it is kept so that the node knows which
  of its cases a match notice concerns and what to withdraw.
* ``matching_withdrawals``: when a report or an identifier goes, the case reference of its
  submitted tokens waits here (without the report's id) until the observatory has been
  told to withdraw it.
* ``matching_matches``: the observatory's notices that a case matched
  (`node.matching.notices`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from crypto.keys import DataKey
from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action, allowed
from node.backoffice.case_access import CaseAccess
from node.backoffice.deletion import DerivedStore
from node.backoffice.ledger import CaseLedger, EntryTable
from node.i18n import N_
from node.matching.recipe import RANKS, Identifiers, TokenKind, token_inputs
from node.matching.tokens import record_tokens_in
from node.matching.withdrawals import withdraw_case
from node.matching.worker import EvaluationQueue, Waiting

IDENTIFIERS = EntryTable("perpetrator_identifiers", "perpetrator")
MAX_NAMES = 10
MAX_CHARS = 200


class NothingToMatch(errors.InvalidInput):
    message = N_("These identifiers are not enough to look for the same person elsewhere: "
                 "give a name or alias with the armed group or the unit, or the unit with the "
                 "rank. A name alone would match strangers.")


@dataclass(frozen=True)
class Confirmed:
    id: str
    at: int
    actor: str
    identifiers: Identifiers


def parse(names_text: str, unit: str, rank: str, group: str) -> Identifiers:
    """Identifiers from the staff form (one name or alias a line); `InvalidInput` naming
    the field when something does not fit, `NothingToMatch` when no token can be made."""
    names = tuple(line.strip() for line in names_text.splitlines() if line.strip())
    if len(names) > MAX_NAMES:
        raise errors.InvalidInput(field="names")
    for field, value in (("names", max(names, key=len, default="")), ("unit", unit),
                         ("group", group)):
        if len(value) > MAX_CHARS:
            raise errors.TextTooLong(field=field, limit=MAX_CHARS)
    if rank and rank not in RANKS:
        raise errors.InvalidInput(field="rank")
    ids = Identifiers(names=names, unit=unit.strip() or None, rank=rank or None,
                      group=group.strip() or None)
    if not token_inputs(ids):
        raise NothingToMatch(field="names")
    return ids


class PerpetratorIdentifiers:
    def __init__(self, access: CaseAccess, ledger: CaseLedger) -> None:
        self._access = access
        self._ledger = ledger
        self.queue = EvaluationQueue()  # what waits for the evaluator (node.matching.worker)

    def confirm(self, staff: UnlockedStaff, report_id: str, ids: Identifiers) -> tuple[
            str, DataKey]:
        """Store one confirmation, encrypted under the case key; returns its id and the key
        (to make its tokens while the person is here)."""
        key = self._access.open_case(staff, Action.CODE_INCIDENT, report_id)
        self._access.require_consent(report_id, "matching")
        body = {"names": list(ids.names), "unit": ids.unit, "rank": ids.rank,
                "group": ids.group}
        row_id = self._ledger.add_entry(staff, report_id, key, IDENTIFIERS, body)
        # evaluated on the federation's next round, while these plain identifiers are in
        # memory (never written anywhere)
        self.queue.add([Waiting(report_id, row_id, ids)])
        return row_id, key

    def confirmed(self, report_id: str, key: DataKey) -> list[Confirmed]:
        return [Confirmed(e.id, e.at, e.actor, Identifiers(
            names=tuple(e.body["names"]), unit=e.body["unit"], rank=e.body["rank"],
            group=e.body["group"])) for e in self._ledger.entries(IDENTIFIERS, report_id, key,
                                                                  then_by_id=True)]

    def remove(self, staff: UnlockedStaff, report_id: str, identifier_id: str) -> None:
        """Staff take back a confirmation: it goes, and its tokens are withdrawn."""
        self._access.require(staff, Action.CODE_INCIDENT, report_id)
        with self._ledger.db.write() as conn:
            gone = conn.execute("DELETE FROM perpetrator_identifiers WHERE id = ? AND"
                                " report_id = ?", (identifier_id, report_id)).rowcount
            if not gone:
                raise errors.NotFound()
            # the observatory drops the case's reference; the tokens of the case's other
            # confirmations go again after it (withdrawals go first in a submission)
            withdraw_case(conn, report_id)
            conn.execute("DELETE FROM matching_tokens WHERE identifier_id = ?",
                         (identifier_id,))
            self._ledger.record(conn, staff, "case.perpetrator_removed", report_id,
                                f"perpetrator {identifier_id}")

    def record_tokens(self, report_id: str, identifier_id: str, epoch: int,
                      tokens: list[tuple[TokenKind, bytes]]) -> None:
        """Keep the tokens made from one confirmation, under the report's case reference
        (drawn at random for its first token), to be submitted."""
        with self._ledger.db.write() as conn:
            record_tokens_in(conn, report_id, identifier_id, epoch, tokens)

    def offer(self, staff: UnlockedStaff) -> int:
        """A coordinator is here (signed in): hand every confirmed identifier of a consented
        case that has no token of the current epoch (all of them after a rotation; any
        epoch before the first round) to the evaluation queue, decrypted with their keys,
        in memory only. Returns how many were handed over."""
        if not allowed(staff.member, Action.DISMISS_MATCH):
            return 0  # coordinators only: they can open every case
        epoch = self.queue.epoch
        rows = self._ledger.db.read().execute(
            "SELECT DISTINCT i.report_id FROM perpetrator_identifiers i JOIN reports r ON"
            " r.id = i.report_id WHERE r.consent_matching = 1 AND NOT EXISTS (SELECT 1 FROM"
            " matching_tokens t WHERE t.identifier_id = i.id AND (? IS NULL OR t.epoch = ?))"
            " ORDER BY i.report_id", (epoch, epoch)).fetchall()
        handed: list[Waiting] = []
        for (report_id,) in rows:
            try:
                key = self._access.case_key(staff, report_id)
            except errors.NodeError:
                continue  # this coordinator lacks the node key: another one will do
            have = {r[0] for r in self._ledger.db.read().execute(
                "SELECT DISTINCT identifier_id FROM matching_tokens WHERE report_id = ? AND"
                " (? IS NULL OR epoch = ?)", (report_id, epoch, epoch))}
            handed += [Waiting(report_id, c.id, c.identifiers)
                       for c in self.confirmed(report_id, key) if c.id not in have]
        self.queue.add(handed)
        return len(handed)

    @property
    def derived_stores(self) -> tuple[DerivedStore, ...]:
        return (DerivedStore("perpetrator identifiers",
                             self._ledger.erase_entries(IDENTIFIERS)),
                DerivedStore("matching tokens and matches (withdrawn from the observatory)",
                             _erase_tokens))


def _erase_tokens(conn: sqlite3.Connection, report_id: str) -> None:
    withdraw_case(conn, report_id)
    conn.execute("DELETE FROM matching_tokens WHERE report_id = ?", (report_id,))
    conn.execute("DELETE FROM matching_matches WHERE report_id = ?", (report_id,))
