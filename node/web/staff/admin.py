"""Account administration (admin) and node-key grants (coordinators)."""

from __future__ import annotations

from node.web.staff.common import StaffRoute

ROUTES: list[StaffRoute] = []
