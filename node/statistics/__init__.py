"""Differentially private statistics of coded incidents (issue 6, "On each node").

* `plan` -- the versioned release plan in the node's configuration: tables, fixed public
  cell domains, the per-report contribution bound, losses and the budget per period.
* `columns` -- coded incidents as numpy index columns, each report's contribution bounded.
* `release` -- OpenDP measurements (discrete Laplace on counts) and the release payload.
* `budget` -- the persisted privacy budget ledger, checked before any noise is drawn.
* `service` -- draft, review, approve, discard, mark sent.

This package's `__init__` imports nothing, so `node.config` can import the plan model.
"""
