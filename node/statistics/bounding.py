"""Which incidents a release counts: each report's contribution bounded over its whole
lifetime, on the full link graph, then consent and the report's lifetime loss. Pure numpy.

The privacy unit is a report (with its links to incidents). The guarantee: adding or
removing any one report -- whatever its consent, its links, the years its incidents span --
changes the whole history of the node's releases by at most `lifetime_loss` (epsilon).
Three steps give it (issue 14):

1. **Lifetime vouching on the full graph.** Each report *vouches* for at most `k` of its
   dated incidents over its whole lifetime: the first `k` in the order of their ids (random,
   so an unbiased choice that says nothing about the incidents). Every report takes part,
   whether it consents to statistics or not, so what report A vouches for depends on A's own
   links only: never on another report's consent, presence or links.
2. **Then consent.** A report without statistics consent vouches for nothing in the
   release. An incident is counted when a consenting report vouches for it. A report that
   does not consent therefore changes nothing at all: not which incidents are counted, nor
   how many. An incident it shares with a consenting report counts on that report's
   account; its coding may still draw on what every linked report said (the analyst codes
   one event from every account of it), which the methodology says.
3. **Then each report's lifetime filter.** A report adding `c` records to a release loses
   what OpenDP's privacy map certifies for `d_in = c` (at most the release's epsilon, which
   is certified for `c = k`). The node keeps each report's spent loss (the per-report
   ledger, node/statistics/budget.py) and leaves out of a release any report whose loss would
   pass `lifetime_loss`; it charges the others. This is an individual privacy filter
   (Feldman and Zrnic 2021, "Individual Privacy Accounting via a Renyi Filter"; for pure
   epsilon-DP the product of each release's likelihood ratios, each at most e^(loss of that
   release for that report), bounds the whole history's): the decision to leave a report out
   depends only on that report's own links and its past charges.

Why each release moves by at most the records of one report: removing report R leaves
every other report's vouches (step 1: own links only), consent and past charges unchanged,
so the only incidents whose counting can change are those R vouches for in the release's
period, `c_R <= k`, each by one record per table.

Why the lifetime sum stays small without the filter ever biting, in the usual case: a
report's `k` vouched incidents are shared among the periods it spans, so a report with
incidents in six years adds at most `k` records in total, not `k` per year; with each
period's spend capped at `budget_per_period`, its lifetime loss is at most that budget. The
filter is what makes the bound hold whatever happens later: a new link that changes which
incidents a report vouches for, a coding whose date moves, a consent given after a refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from node.statistics.budget import RELATIVE_TOLERANCE
from node.statistics.columns import NO_MONTH, Coded, _Take, link_arrays, vouched_links
from node.statistics.plan import ReleasePeriod


@dataclass(frozen=True)
class ReportFilter:
    """What step 2 and 3 read: each report's consent and spent lifetime loss, by number."""

    consenting: npt.NDArray[np.bool_]   # per report number
    spent: npt.NDArray[np.float64]      # per report number: lifetime loss charged so far
    lifetime: float                     # the plan's `lifetime_loss`
    loss: Callable[[int], float]        # records one report adds -> its certified loss


@dataclass(frozen=True)
class Selection:
    counted: npt.NDArray[np.bool_]      # per incident of the `Coded`: counted in the release
    in_period: int                      # incidents dated in the release's period
    records: npt.NDArray[np.int64]      # per report number: records it adds (0 if left out)
    charges: npt.NDArray[np.float64]    # per report number: the loss this release charges it
    over_lifetime: int                  # consenting reports left out by the lifetime filter
    reports: Sequence[str] | None = field(default=None, repr=False)  # per report number

    def charged(self) -> dict[str, float]:
        """Report id -> loss, for every report this release charges."""
        if self.reports is None:
            raise ValueError("report ids are needed to charge reports")
        return {self.reports[i]: float(self.charges[i])
                for i in np.flatnonzero(self.charges > 0).tolist()}


def report_count(c: Coded) -> int:
    known = len(c.report_ids) if c.report_ids is not None else 0
    return max(known, int(c.reports.max()) + 1 if len(c.reports) else 0)


def select(c: Coded, period: ReleasePeriod, k: int, report_filter: ReportFilter | None
           ) -> Selection:
    """The incidents of `period` a release counts (module docstring). Without a filter,
    every report consents and has spent nothing."""
    n_reports = report_count(c)
    dated = np.flatnonzero(c.month != NO_MONTH)
    keep = np.repeat(c.month != NO_MONTH, c.lengths)
    ids = c.ids if len(dated) == len(c) else _Take(c.ids, dated)
    links = link_arrays(ids, c.lengths[dated], c.reports[keep], k)
    vouched = vouched_links(links, k)
    first, last = period.month_ordinals
    month = c.month[dated]
    in_period = (month >= first) & (month <= last)
    in_release = vouched & in_period[links.incident]
    records = np.bincount(links.report[in_release], minlength=n_reports).astype(np.int64)
    charges = np.zeros(n_reports, dtype=np.float64)
    over = 0
    if report_filter is None:
        active = records > 0
    else:
        if len(report_filter.consenting) != n_reports or len(report_filter.spent) != n_reports:
            raise ValueError("the report filter does not match the reports")
        # OpenDP's map once per distinct record count (1..k), then numpy
        loss_of = np.zeros(int(records.max(initial=0)) + 1, dtype=np.float64)
        for r in np.unique(records[records > 0]).tolist():
            loss_of[r] = report_filter.loss(int(r))
        loss = loss_of[records]
        wanted = (records > 0) & report_filter.consenting
        within = report_filter.spent + loss <= report_filter.lifetime * (1.0 + RELATIVE_TOLERANCE)
        active = wanted & within
        over = int((wanted & ~within).sum())
        charges[active] = loss[active]
    counted_dated = np.zeros(len(dated), dtype=bool)
    counted_dated[links.incident[in_release & active[links.report]]] = True
    counted = np.zeros(len(c), dtype=bool)
    counted[dated[counted_dated]] = True
    records = np.where(active, records, 0)
    return Selection(counted, int(in_period.sum()), records, charges, over, c.report_ids)
