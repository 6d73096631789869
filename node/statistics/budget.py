"""The privacy budget: a persisted ledger of every release's loss, checked before any noise.

Why we account ourselves instead of keeping an OpenDP compositor alive: OpenDP's filters
live in memory only, and one refused query exhausts a filter for good (every later call
fails) -- a node holding one would be bricked by a single
over-budget request, and would forget its spend at a restart. So the ledger is the source of
truth, in SQLite, and the check is ours:

* each table's loss is what OpenDP's own privacy map certifies for its measurement
  (node/statistics/release.py);
* a release costs the sum of its tables' losses, and a period's spend is the sum of its
  releases' losses: basic composition of pure epsilon-DP (Dwork and Roth 2014, Theorem
  3.16). Summing is also sound when each release is chosen after seeing the previous ones
  and stops at a fixed budget: that is a privacy filter, valid for basic composition (Rogers,
  Roth, Ullman and Vadhan 2016, "Privacy Odometers and Filters", Theorem 3.6);
* the check allows a relative float drift of `RELATIVE_TOLERANCE`, so that e.g. ten
  releases of 0.1 fit a budget of 1.0 although their float sum is 0.9999999999999999 + ...

Every draft is charged when its noise is drawn, in the same transaction that checks the
budget, and stays charged whether it is approved or discarded: a reviewer who saw a draft
and asked for another would otherwise choose among several draws, which leaks more than one
draw's loss. The ledger only grows (triggers in the migration refuse deletes and changes of
a charged loss), and a restart reads it back.

Two ledgers, both append-only:

* per period (`statistics_releases`): what each release spent, so that a period's spend
  stays within `budget_per_period` -- drafts, discarded and voided drafts included;
* per report (`statistics_report_charges`, issue 14): what each release cost each report it
  counted, so that no report's lifetime loss passes `lifetime_loss`
  (node/statistics/bounding.py says why this bounds the whole release history). A release
  charges a report what OpenDP's privacy map certifies for the records that report adds.

`Ledger` is also the one writer of a release's status: draft (`charge`, with who drew it),
approved (with whether four eyes applied, issue 15) or
discarded (`approve`, `discard`, called by the review), voided (`void_drafts_counting`: a
consent withdrawn, a report erased or a coding changed since the draft was drawn) and sent
(`mark_sent`, called when the observatory acknowledges the release), each in the caller's
write transaction. A voided draft is a discarded one with a `void_reason`; its loss stays
charged, like any draw that was made.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from node.statistics.errors import BudgetExceeded

RELATIVE_TOLERANCE = 1e-9
VOID_REASONS = ("consent", "erasure", "coding", "upgrade")
Status = Literal["draft", "approved", "sent", "discarded"]
STATUSES: tuple[Status, ...] = ("draft", "approved", "sent", "discarded")


def fits(spent: float, epsilon: float, budget: float) -> bool:
    """Whether spending `epsilon` more stays within `budget`, up to float drift."""
    return spent + epsilon <= budget * (1.0 + RELATIVE_TOLERANCE)


@dataclass(frozen=True)
class BudgetStatus:
    period: str
    budget: float
    spent: float
    releases: int  # ledger entries charged to this period, drafts and discarded included

    @property
    def remaining(self) -> float:
        return max(0.0, self.budget - self.spent)

    def allows(self, epsilon: float) -> bool:
        return fits(self.spent, epsilon, self.budget)


@dataclass(frozen=True)
class LedgerEntry:
    id: str
    period: str
    plan_version: int
    tables: tuple[str, ...]
    epsilon: float
    created_hour: int
    status: Status
    reviewed_by: str | None
    reviewed_hour: int | None
    sent_hour: int | None
    void_reason: str | None = None
    drafted_by: str | None = None  # unknown only for a release drawn before migration 22
    four_eyes: bool | None = None  # whether approving it needed a second person (once approved)


def _fmt(x: float) -> str:
    return f"{x:.3g}"


class Ledger:
    """Reads and charges over the node's database connections (the caller's transaction)."""

    @staticmethod
    def spent(conn: sqlite3.Connection, period: str) -> tuple[float, int]:
        rows = conn.execute("SELECT epsilon FROM statistics_releases WHERE period = ?",
                            (period,)).fetchall()
        return math.fsum(r[0] for r in rows), len(rows)

    @classmethod
    def status(cls, conn: sqlite3.Connection, period: str, budget: float) -> BudgetStatus:
        spent, n = cls.spent(conn, period)
        return BudgetStatus(period, budget, spent, n)

    @classmethod
    def require(cls, conn: sqlite3.Connection, period: str, epsilon: float,
                budget: float) -> BudgetStatus:
        """The period's status if `epsilon` fits, else `BudgetExceeded` (nothing changed)."""
        status = cls.status(conn, period, budget)
        if not status.allows(epsilon):
            raise BudgetExceeded(period=period, requested=_fmt(epsilon),
                                 remaining=_fmt(status.remaining), budget=_fmt(budget))
        return status

    @classmethod
    def charge(cls, conn: sqlite3.Connection, *, release_id: str, period: str,
               plan_version: int, tables: Sequence[str], epsilon: float, budget: float,
               created_hour: int, payload_key: bytes, payload_ct: bytes,
               drafted_by: str) -> BudgetStatus:
        """Check and record a draft's loss, and who drew it, inside the caller's write
        transaction. Call it BEFORE drawing: if the draw then fails, the transaction rolls
        the charge back."""
        before = cls.require(conn, period, epsilon, budget)
        conn.execute(
            "INSERT INTO statistics_releases (id, period, plan_version, tables, epsilon,"
            " created_hour, status, payload_key, payload_ct, drafted_by)"
            " VALUES (?, ?, ?, ?, ?, ?, 'draft', ?, ?, ?)",
            (release_id, period, plan_version, json.dumps(list(tables)), epsilon, created_hour,
             payload_key, payload_ct, drafted_by))
        return BudgetStatus(period, budget, before.spent + epsilon, before.releases + 1)

    @staticmethod
    def approve(conn: sqlite3.Connection, release_id: str, *, reviewed_by: str,
                hour: int, four_eyes: bool) -> bool:
        """A draft becomes approved, to be sent, recording whether four eyes applied (the
        caller decided that `reviewed_by` may approve: `node.statistics.four_eyes`; the
        ledger's trigger refuses the drafter's own approval under four eyes all the same).
        False if it is no longer a draft."""
        return conn.execute(
            "UPDATE statistics_releases SET status = 'approved', reviewed_by = ?,"
            " reviewed_hour = ?, four_eyes = ? WHERE id = ? AND status = 'draft'",
            (reviewed_by, hour, int(four_eyes), release_id)).rowcount == 1

    @staticmethod
    def discard(conn: sqlite3.Connection, release_id: str, *, reviewed_by: str,
                hour: int) -> bool:
        """A draft is discarded and its sealed counts dropped; its loss stays charged.
        False if it is no longer a draft."""
        return conn.execute(
            "UPDATE statistics_releases SET status = 'discarded', reviewed_by = ?,"
            " reviewed_hour = ?, payload_key = NULL, payload_ct = NULL"
            " WHERE id = ? AND status = 'draft'", (reviewed_by, hour, release_id)).rowcount == 1

    @staticmethod
    def mark_sent(conn: sqlite3.Connection, release_id: str, hour: int) -> bool:
        """An approved release reached the observatory. False if it is not (or no longer)
        approved: an acknowledgement repeated for a release already sent changes nothing."""
        return conn.execute(
            "UPDATE statistics_releases SET status = 'sent', sent_hour = ?"
            " WHERE id = ? AND status = 'approved'", (hour, release_id)).rowcount == 1

    @staticmethod
    def entries(conn: sqlite3.Connection, period: str | None = None, *,
                release_id: str | None = None) -> list[LedgerEntry]:
        sql = ("SELECT id, period, plan_version, tables, epsilon, created_hour, status,"
               " reviewed_by, reviewed_hour, sent_hour, void_reason, drafted_by, four_eyes"
               " FROM statistics_releases")
        where = [(c, v) for c, v in (("period", period), ("id", release_id)) if v is not None]
        args = tuple(v for _, v in where)
        if where:
            sql += " WHERE " + " AND ".join(f"{c} = ?" for c, _ in where)
        sql += " ORDER BY created_hour, rowid"
        return [LedgerEntry(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4], r[5], r[6], r[7],
                            r[8], r[9], r[10], r[11], None if r[12] is None else bool(r[12]))
                for r in conn.execute(sql, args)]

    # ------------------------------------------------------------------ per report

    @staticmethod
    def report_spent(conn: sqlite3.Connection) -> dict[str, float]:
        """Each charged report's lifetime loss so far (reports never charged: absent)."""
        return {r[0]: r[1] for r in conn.execute(
            "SELECT report_id, total(epsilon) FROM statistics_report_charges"
            " GROUP BY report_id")}

    @staticmethod
    def charge_reports(conn: sqlite3.Connection, release_id: str,
                       charges: Mapping[str, float]) -> None:
        """Record what a draft costs each report it counts, in the draft's transaction."""
        conn.executemany(
            "INSERT INTO statistics_report_charges (report_id, release_id, epsilon)"
            " VALUES (?, ?, ?)", ((report, release_id, loss) for report, loss in charges.items()))

    @staticmethod
    def lifetime_status(conn: sqlite3.Connection, lifetime: float) -> LifetimeStatus:
        row = conn.execute(
            "SELECT count(*), coalesce(max(s), 0) FROM (SELECT total(epsilon) AS s"
            " FROM statistics_report_charges GROUP BY report_id)").fetchone()
        return LifetimeStatus(lifetime, int(row[0]), float(row[1]))


@dataclass(frozen=True)
class LifetimeStatus:
    """The per-report ledger at a glance: the bound, and the most any report has lost."""

    lifetime: float
    reports_charged: int
    highest: float


def void_drafts_for_coding(conn: sqlite3.Connection, incident_id: str) -> None:
    """`CaseIncidents.coding_changed` hook: a coding edited, withdrawn, linked or unlinked
    voids the pending drafts that counted any report linked to it."""
    void_drafts_counting(conn, incidents=[incident_id], reason="coding")


def void_drafts_counting(conn: sqlite3.Connection, *, reports: Iterable[str] = (),
                         incidents: Iterable[str] = (), reason: str) -> list[str]:
    """Void every pending draft that counted one of `reports`, or an incident linked to one
    of `incidents`' reports (as they are linked when this runs: call it before removing a
    link), inside the caller's write transaction. Returns the voided drafts' ids.

    A consent withdrawn, a report erased or a coding changed must not leave through a draft
    drawn before: the draft is dropped (its loss stays charged), and a new draft is a
    deliberate act that pays again. Conservative: a draft is voided when it charged any of
    those reports, even if the incident at stake was not among the ones it counted."""
    if reason not in VOID_REASONS:
        raise ValueError(f"unknown reason to void a draft: {reason}")
    wanted = set(reports)
    incident_ids = list(dict.fromkeys(incidents))
    for i in range(0, len(incident_ids), 500):
        part = incident_ids[i:i + 500]
        wanted.update(r[0] for r in conn.execute(
            "SELECT report_id FROM incident_links WHERE incident_id IN"  # noqa: S608
            f" ({', '.join('?' * len(part))})", part))
    drafts = [r[0] for r in conn.execute(
        "SELECT id FROM statistics_releases WHERE status = 'draft'")]
    voided = []
    for draft in drafts:
        ids = list(wanted)
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            if conn.execute(
                    "SELECT 1 FROM statistics_report_charges WHERE release_id = ? AND"  # noqa: S608
                    f" report_id IN ({', '.join('?' * len(part))}) LIMIT 1",
                    (draft, *part)).fetchone():
                voided.append(draft)
                break
    for draft in voided:
        conn.execute(
            "UPDATE statistics_releases SET status = 'discarded', reviewed_by = 'system',"
            " void_reason = ?, payload_key = NULL, payload_ct = NULL"
            " WHERE id = ? AND status = 'draft'", (reason, draft))
    return voided
