"""When a scheduled statistics release is due (pure; the clock is passed in).

A schedule never releases on its own: the codings it counts can only be opened with an
analyst's or a coordinator's key (keys follow people), so a due release is prepared as a
draft when such a person opens the statistics page, and still waits for their review. The
budget ledger decides whether it can be paid for at all.
"""

from __future__ import annotations

from datetime import datetime

MONTHS_BETWEEN = {"quarterly": 3, "half_yearly": 6, "yearly": 12}


def _slot(schedule: str, t: datetime) -> tuple[int, int]:
    months = MONTHS_BETWEEN[schedule]
    return t.year, (t.month - 1) // months


def due(schedule: str, last_release: datetime | None, now: datetime) -> bool:
    """True when no release was drafted in the schedule's current slot (e.g. this quarter)."""
    if schedule not in MONTHS_BETWEEN:
        return False
    return last_release is None or _slot(schedule, last_release) != _slot(schedule, now)
