"""How urgent a new report is, so the triage queue makes time-critical cases impossible to miss.

After rape, post-exposure prophylaxis (PEP) against HIV must start within 72 hours, and
emergency contraception works up to 120 hours (WHO, "Clinical management of rape and
intimate partner violence survivors", 2020). The windows run from the incident, not from
the report, so urgency is computed against *now* and shrinks while a report waits.

Dates are often approximate. The rule errs towards flagging: a window counts as possibly
open if the latest moment the incident could have happened is within it, and a fresh report
whose date is unknown or imprecise is flagged "check" so a person asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

PEP_HOURS = 72
EC_HOURS = 120
Level = Literal["pep", "ec", "check", "routine"]
RANK: dict[Level, int] = {"pep": 0, "ec": 1, "check": 2, "routine": 3}


@dataclass(frozen=True)
class Urgency:
    level: Level
    hours_left: int | None = None  # hours until the window closes (never overstated)

    @property
    def rank(self) -> int:
        return RANK[self.level]


def latest_incident_time(record: dict[str, Any]) -> datetime | None:
    """The latest moment the incident could have happened, if the date says enough."""
    y, m, d = record.get("incident_year"), record.get("incident_month"), record.get("incident_day")
    if y is None:
        return None
    if m is None:
        return datetime(y + 1, 1, 1, tzinfo=UTC)
    if d is None:
        nxt = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=UTC)
        return nxt
    return datetime(y, m, d, tzinfo=UTC) + timedelta(days=1)


def assess(record: dict[str, Any], received_hour: int, now: datetime) -> Urgency:
    latest = latest_incident_time(record)
    if latest is None:  # no date: flag while a window could still be open
        received = datetime.fromtimestamp(received_hour * 3600, UTC)
        fresh = now - received <= timedelta(hours=EC_HOURS)
        return Urgency("check") if fresh else Urgency("routine")
    since = (now - latest).total_seconds() / 3600
    if since >= EC_HOURS:
        return Urgency("routine")
    if record.get("incident_day") is None:
        return Urgency("check")  # only a month or a year: a window may be open, ask
    # Hours left are counted from the EARLIEST moment of the dated day, so the time shown is
    # never more than what really remains.
    since_earliest = since + 24
    if since < PEP_HOURS:
        return Urgency("pep", max(0, int(PEP_HOURS - since_earliest)))
    return Urgency("ec", max(0, int(EC_HOURS - since_earliest)))
