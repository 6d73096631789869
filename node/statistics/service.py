"""Draft, review and approve differentially private releases of a node's coded incidents.

The flow (issue 6, "On each node"):

1. `draft` -- an analyst or coordinator asks for a release of a period. The plan's tables
   and their certified losses are known before any data is read; the budget is checked in
   a write transaction, and only if the release fits is the noise drawn and the draft
   charged to the ledger, in that same transaction. An over-budget request raises
   `BudgetExceeded` with nothing drawn and nothing stored.
2. `review` -- what would be released, its loss, and the budget left.
3. `approve` -- by a second person when four eyes is on (`node.statistics.four_eyes`: the
   drafter cannot approve their own draft, whatever path asks), marks the draft approved
   and returns the protocol's `StatisticsRelease` to
   sign and send (the federation outbox seals it); `discard` drops its counts. Either way
   the loss stays charged (node/statistics/budget.py says why). When the observatory
   acknowledges it, the delivery code marks it sent (`Ledger.mark_sent`, the one writer of
   that status).

Which incidents a draft counts is `node.statistics.bounding`'s: every incident and link is
read (the full link graph, consenting or not), each report vouches for its first
`contributions` incidents over its lifetime, then the vouches of reports without statistics
consent, and of reports whose lifetime loss would pass the plan's `lifetime_loss`, are
dropped, and the others are charged to the per-report ledger with the draft. A consent
withdrawn or a report erased voids the pending drafts that counted it
(`budget.void_drafts_counting`). Drafts' noisy counts are DP outputs; they are still sealed
to the node's analysis key at rest, like everything derived from reports, and dropped when a
draft is discarded or voided.
"""

from __future__ import annotations

import math
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from crypto.keys import DataKey
from node import accounts
from node.accounts import UnlockedStaff
from node.backoffice.access import Action, require
from node.backoffice.audit import AuditLog
from node.backoffice.codings import open_codings
from node.backoffice.deletion import DerivedStore
from node.config import NodeConfig
from node.errors import Forbidden
from node.intake.consent_auth import ConsentKey, StatisticsConsentUnverified
from node.keyring import NodeKeys
from node.statistics import four_eyes
from node.statistics import release as rel
from node.statistics.bounding import ReportFilter, Selection, report_count, select
from node.statistics.budget import (
    BudgetStatus,
    Ledger,
    LedgerEntry,
    LifetimeStatus,
    void_drafts_counting,
)
from node.statistics.columns import Coded, coded, select_columns
from node.statistics.errors import DraftPending, PlanNotReleasable, ReleaseNotFound
from node.statistics.plan import ReleasePeriod, StatisticsPlan, TablePlan, domain
from node.storage.database import Database
from protocol.statistics import MAX_CELLS, Dimension, StatisticsRelease


def _erase_report(conn: sqlite3.Connection, report_id: str) -> None:
    void_drafts_counting(conn, reports=[report_id], reason="erasure")
    # the report is gone for good, so its lifetime account has nothing left to bound
    conn.execute("DELETE FROM statistics_report_charges WHERE report_id = ?", (report_id,))


def _ctx(release_id: str) -> bytes:
    return b"statistics-release:" + release_id.encode()


@dataclass(frozen=True)
class Draft:
    """A release waiting for review: what it would send and what it spent."""

    release: StatisticsRelease
    budget: BudgetStatus  # this period's spend, this draft included
    status: str
    selection: Selection | None = None  # who was counted and charged (a fresh draft only)


class StatisticsService:
    def __init__(self, db: Database, config: NodeConfig, keys: NodeKeys, audit: AuditLog,
                 clock: Callable[[], datetime], *, consent: ConsentKey | None = None) -> None:
        self.db = db
        self.consent = consent  # verifies the statistics consent read (issue 13)
        self.config = config
        self.keys = keys
        self.audit = audit
        self.clock = clock

    @property
    def plan(self) -> StatisticsPlan:
        return self.config.statistics

    def _hour(self) -> int:
        return int(self.clock().timestamp()) // 3600

    def _audit(self, conn: sqlite3.Connection, staff: UnlockedStaff, action: str,
               release_id: str, detail: str) -> None:
        self.audit.append(conn, at=int(self.clock().timestamp()), actor=staff.member.id,
                          action=action, object_type="statistics_release",
                          object_id=release_id, detail=detail)

    # ------------------------------------------------------------------ budget and ledger

    def budget(self, period: ReleasePeriod | int) -> BudgetStatus:
        key = period.key if isinstance(period, ReleasePeriod) else ReleasePeriod(period).key
        return Ledger.status(self.db.read(), key, self.plan.budget_per_period)

    def ledger(self, period: ReleasePeriod | int | None = None) -> list[LedgerEntry]:
        key = (None if period is None else
               period.key if isinstance(period, ReleasePeriod) else ReleasePeriod(period).key)
        return Ledger.entries(self.db.read(), key)

    def pending(self) -> list[LedgerEntry]:
        return [e for e in self.ledger() if e.status == "draft"]

    def lifetime(self) -> LifetimeStatus:
        """The per-report ledger: the plan's lifetime bound and the most any report lost."""
        return Ledger.lifetime_status(self.db.read(), self.plan.lifetime_loss)

    # ------------------------------------------------------------------ deletion

    @property
    def derived_stores(self) -> tuple[DerivedStore, ...]:
        """What the statistics keep about a report, for the one deletion path: what each
        release cost it (the per-report ledger), and the pending drafts that counted it,
        which are voided (their loss stays charged to the period)."""
        return (DerivedStore("statistics drafts and per-report privacy charges",
                             _erase_report),)

    # ------------------------------------------------------------------ the release flow

    def tables(self, names: Sequence[str] | None = None) -> list[TablePlan]:
        if names is None:
            return list(self.plan.tables)
        chosen = []
        for name in dict.fromkeys(names):
            table = self.plan.table(name)
            if table is None:
                raise PlanNotReleasable(field="tables")
            chosen.append(table)
        if not chosen:
            raise PlanNotReleasable(field="tables")
        return chosen

    def cost(self, period: ReleasePeriod, names: Sequence[str] | None = None
             ) -> list[rel.TableMechanism]:
        """The tables' certified mechanisms: what a release would spend, before any data.
        A release with more cells than the protocol's message carries is refused here."""
        tables = self.tables(names)
        regions = self.config.region_map()
        dims = {d for t in tables for d in t.dimensions}
        domains: dict[Dimension, tuple[str, ...]] = {d: domain(d, period, regions)
                                                     for d in dims}
        cells = sum(math.prod(len(domains[d]) for d in t.dimensions) for t in tables)
        if cells > MAX_CELLS:
            raise PlanNotReleasable(field="tables")
        return rel.mechanisms(self.plan, tables, domains)

    def draft(self, staff: UnlockedStaff, period: ReleasePeriod,
              tables: Sequence[str] | None = None) -> Draft:
        """Compute a release and charge it (see the module docstring), or refuse."""
        require(staff.member, Action.RELEASE_STATISTICS)
        mechs = self.cost(period, tables)
        epsilon = rel.release_epsilon(mechs)
        # Fail fast, before decrypting every coding; the binding check is repeated below
        # inside the write transaction, right before the draw.
        self._refuse_if_pending(self.db.read(), period)
        Ledger.require(self.db.read(), period.key, epsilon, self.plan.budget_per_period)
        graph, consent = self._graph(staff)
        dims = list(dict.fromkeys(d for m in mechs for d in m.table.dimensions))
        regions = self.config.region_map()
        release_id = secrets.token_hex(16)
        hour = self._hour()
        key = DataKey.generate()
        loss = rel.report_loss(mechs)
        with self.db.write() as conn:
            self._refuse_if_pending(conn, period)
            before = Ledger.require(conn, period.key, epsilon, self.plan.budget_per_period)
            # each report's lifetime loss, read in the transaction that charges it
            spent = Ledger.report_spent(conn)
            ids = graph.report_ids or ()
            n = report_count(graph)
            chosen = select(graph, period, self.plan.contributions, ReportFilter(
                consenting=np.fromiter((consent.get(r, False) for r in ids), dtype=bool,
                                       count=n),
                spent=np.fromiter((spent.get(r, 0.0) for r in ids), dtype=np.float64, count=n),
                lifetime=self.plan.lifetime_loss, loss=loss))
            columns = select_columns(graph, period, regions, dims, chosen.counted,
                                     chosen.in_period)
            tables_out = rel.compute(columns, mechs)  # the noise: only after the checks
            release = rel.build(release_id, self.plan, period, tables_out,
                                spent_in_period=before.spent + epsilon, created_hour=hour)
            status = Ledger.charge(
                conn, release_id=release_id, period=period.key,
                plan_version=self.plan.version, tables=[t.name for t in tables_out],
                epsilon=epsilon, budget=self.plan.budget_per_period, created_hour=hour,
                payload_key=self.keys.analysis_public.seal_data_key(key),
                payload_ct=key.encrypt(release.model_dump_json().encode(), _ctx(release_id)),
                drafted_by=staff.member.id)
            Ledger.charge_reports(conn, release_id, chosen.charged())
            self._audit(conn, staff, "statistics.draft", release_id,
                        f"period {period.key}, epsilon {epsilon:.6g}")
        return Draft(release, status, "draft", chosen)

    def _graph(self, staff: UnlockedStaff) -> tuple[Coded, dict[str, bool]]:
        """Every incident with every link (the full graph, whatever the consent), and each
        report's statistics consent, read in one snapshot."""
        conn = self.db.read()
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN")
        try:
            consent = {r[0]: bool(r[1]) for r in conn.execute(
                "SELECT id, consent_statistics FROM reports")}
            if self.consent is not None:
                # a report counts as consenting only once its consent tag verifies, in
                # this snapshot (issue 13): an altered record refuses the whole draft
                altered = self.consent.unverified_reports(
                    conn, [r for r, given in consent.items() if given])
                if altered:
                    raise StatisticsConsentUnverified(count=len(altered))
            rows = open_codings(self.db, staff, statistics_only=False)
        finally:
            if own:
                conn.execute("COMMIT")
        graph = coded(rows)
        if graph.report_ids is None:  # pragma: no cover - open_codings always names them
            raise ValueError("the link graph does not name its reports")
        return graph, consent

    @staticmethod
    def _refuse_if_pending(conn: sqlite3.Connection, period: ReleasePeriod) -> None:
        if conn.execute("SELECT 1 FROM statistics_releases WHERE period = ? AND status = 'draft'",
                        (period.key,)).fetchone():
            raise DraftPending(period=period.key)

    def _open(self, staff: UnlockedStaff, row: sqlite3.Row) -> StatisticsRelease:
        if staff.analysis_key is None:
            raise Forbidden()
        key = staff.analysis_key.open_data_key(row["payload_key"])
        return StatisticsRelease.model_validate_json(
            key.decrypt(row["payload_ct"], _ctx(row["id"])))

    def _row(self, conn: sqlite3.Connection, release_id: str,
             statuses: tuple[str, ...]) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM statistics_releases WHERE id = ?", (release_id,)).fetchone()
        if row is None or row["status"] not in statuses or row["payload_ct"] is None:
            raise ReleaseNotFound()
        return row

    def review(self, staff: UnlockedStaff, release_id: str) -> Draft:
        """A draft or an approved release, with its period's budget."""
        require(staff.member, Action.RELEASE_STATISTICS)
        row = self._row(self.db.read(), release_id, ("draft", "approved", "sent"))
        release = self._open(staff, row)
        return Draft(release, self.budget(int(row["period"])), row["status"])

    @property
    def four_eyes(self) -> bool:
        """Whether a second person must approve each release (``node.toml``)."""
        return self.config.statistics_approval.four_eyes

    def may_approve(self, staff: UnlockedStaff, entry: LedgerEntry) -> bool:
        """Whether `staff` may approve this draft: what the page offers them."""
        return four_eyes.may_approve(self.four_eyes, entry.drafted_by, staff.member.id)

    def approvers(self, drafted_by: str | None) -> list[str]:
        """The usernames of the people who could approve a draft `drafted_by` drew: enabled
        analysts and coordinators holding the analysis key (without it a draft cannot be
        opened), the drafter left out under four eyes. What the page names, so that the
        drafter knows whom to ask."""
        conn = self.db.read()
        out = []
        for row in conn.execute("SELECT id, username FROM staff WHERE disabled = 0"
                                " ORDER BY username").fetchall():
            member = accounts.get(conn, row["id"])
            if member is None or not {"analyst", "coordinator"} & set(member.roles):
                continue
            if self.four_eyes and row["id"] == drafted_by:
                continue
            if conn.execute("SELECT 1 FROM key_wraps WHERE holder = ? AND key_name = ?",
                            (accounts.staff_holder(row["id"]), accounts.ANALYSIS_KEY)
                            ).fetchone():
                out.append(row["username"])
        return out

    def entry(self, release_id: str) -> LedgerEntry:
        """One release's ledger entry: who drafted and approved it, and under which rule."""
        found = Ledger.entries(self.db.read(), release_id=release_id)
        if not found:
            raise ReleaseNotFound()
        return found[0]

    def approve(self, staff: UnlockedStaff, release_id: str) -> StatisticsRelease:
        """Approve a reviewed draft; returns the release to sign and send. Under four eyes
        the person who drafted it is refused (`SecondPersonNeeded`), before anything is
        opened. The loss was charged when the noise was drawn; approving changes its
        status, atomically."""
        require(staff.member, Action.RELEASE_STATISTICS)
        rule = self.four_eyes
        with self.db.write() as conn:
            row = self._row(conn, release_id, ("draft",))
            four_eyes.require_second_person(rule, row["drafted_by"], staff.member.id)
            release = self._open(staff, row)
            Ledger.approve(conn, release_id, reviewed_by=staff.member.id, hour=self._hour(),
                           four_eyes=rule)
            drafted = row["drafted_by"] or "unknown"
            self._audit(conn, staff, "statistics.approve", release_id,
                        f"period {row['period']}, epsilon {row['epsilon']:.6g}, drafted by "
                        f"{drafted}, four eyes {'on' if rule else 'off'}")
        return release

    def discard(self, staff: UnlockedStaff, release_id: str) -> None:
        """Drop a draft's counts. Its loss stays charged: it was drawn and seen."""
        require(staff.member, Action.RELEASE_STATISTICS)
        with self.db.write() as conn:
            row = self._row(conn, release_id, ("draft",))
            Ledger.discard(conn, release_id, reviewed_by=staff.member.id, hour=self._hour())
            self._audit(conn, staff, "statistics.discard", release_id,
                        f"period {row['period']}, epsilon {row['epsilon']:.6g} (stays spent)")
