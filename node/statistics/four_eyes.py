"""Four eyes on statistics releases (issue 15): no one alone decides what leaves the node.

A release one person drafted is approved by a second person who holds the same right
(`Action.RELEASE_STATISTICS`: another analyst, or a coordinator); the drafter may discard
their own draft but not approve it. `may_approve` is the one decision, which the service
applies before it changes a release's status (node/statistics/service.py), so that every
path that approves -- the staff pages today, any command tomorrow -- goes through it; a
trigger of the ledger (migration 22) refuses the same approval if a writer skipped it.

A node with a single analyst cannot have four eyes: its admin turns the rule off in
``node.toml`` (``[statistics_approval] four_eyes = false``). That choice is never silent:
the statistics page shows it, each release records who drafted it, who approved it and
whether four eyes applied, and `record_setting` appends to the custody log every time the
node starts with a setting different from the one it last ran with (kept in ``node_meta``;
migration 22 starts it at "on", the default).
"""

from __future__ import annotations

from node.backoffice.audit import AuditLog
from node.statistics.errors import SecondPersonNeeded
from node.storage.database import Database

SETTING = "statistics_four_eyes"  # node_meta: b"1" on, b"0" off, as last started
ACTOR = "configuration"  # who changed it: node.toml, edited by whoever runs the node
ACTION = "statistics.four_eyes"


def may_approve(four_eyes: bool, drafted_by: str | None, approver: str) -> bool:
    """Whether `approver` may approve a release `drafted_by` drafted. A release whose
    drafter is unknown (drawn before drafters were recorded, with no custody entry) may be
    approved by anyone: refusing it would strand its spent budget."""
    return not four_eyes or drafted_by is None or drafted_by != approver


def require_second_person(four_eyes: bool, drafted_by: str | None, approver: str) -> None:
    if not may_approve(four_eyes, drafted_by, approver):
        raise SecondPersonNeeded()


def record_setting(db: Database, audit: AuditLog, now: int, four_eyes: bool) -> bool:
    """At start: if the configured setting is not the one the node last ran with, record it
    and append the change to the custody log, in one transaction. Returns whether it
    changed."""
    value = b"1" if four_eyes else b"0"
    with db.write() as conn:
        row = conn.execute("SELECT value FROM node_meta WHERE key = ?", (SETTING,)).fetchone()
        if row is not None and bytes(row[0]) == value:
            return False
        conn.execute("INSERT INTO node_meta (key, value) VALUES (?, ?) ON CONFLICT (key)"
                     " DO UPDATE SET value = excluded.value", (SETTING, value))
        audit.append(conn, at=now, actor=ACTOR, action=ACTION, object_type="configuration",
                     object_id="statistics_approval.four_eyes",
                     detail="on" if four_eyes else "off")
    return True

