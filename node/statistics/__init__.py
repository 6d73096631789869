"""Differentially private statistics of coded incidents (issue 6, "On each node").

* `plan` -- the versioned release plan in the node's configuration: tables (over the
  protocol's plan schema and cell domains), the per-report contribution bound, losses and
  the budget per period, the lifetime loss per report.
* `columns` -- coded incidents as numpy index columns.
* `bounding` -- which incidents a release counts: each report bounded over its lifetime on
  the full link graph, then consent, then each report's lifetime loss (issue 14).
* `release` -- OpenDP measurements (discrete Laplace on counts) and the protocol's
  `StatisticsRelease` they make.
* `budget` -- the persisted privacy budget ledgers (per period, per report), checked before
  any noise is drawn, and the one writer of a release's status (`void_drafts_counting`
  voids the drafts a withdrawn consent, an erasure or a changed coding touched).
* `service` -- draft, review, approve, discard.

The release message, the plan schema and the coding vocabularies are the protocol's
(`protocol.statistics`, `protocol.vocabulary`): the observatory checks releases against the
same definitions.

This package's `__init__` imports nothing, so `node.config` can import the plan model.
"""
