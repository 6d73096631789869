"""Reports that probably describe the same incident or the same perpetrator group (issue 17).

`LinkedReports.of_case(staff, report_id)` compares one case with every other case the person
can open themselves (a coordinator with the intake key: every case; a caseworker: those
assigned to them): a suggestion is made only between two reports the person may both read,
and that is enforced by the keys -- a report whose key the person cannot open is never read.

What is compared, across languages and scripts (`names`, the one name normaliser, and
`entities`):
- a unit ("2nd battalion of the 34th brigade" = "2-й батальйон 34-ї бригади"): its
  `unit_key`;
- a person named after a rank ("commander Abu Hassan" = "القائد أبو حسن"): the name key;
- an armed group of the shipped list or the node's own;
- the region (the reporter's choice, or a place of the gazetteer) and the month the
  reporter chose;
- the acts named explicitly (the lexicon's words for rape, slavery...).
A name alone is never enough (names.py: keys collide), nor is a region or a month: a link is
suggested when its score reaches `THRESHOLD`, and each suggestion says why. A coordinator
confirms it through the incident linking that exists (`CaseIncidents.link`).

What is computed from a report (its features) may be kept in the person's session cache
(memory only, gone at sign-out), keyed by report and the report's last update.
"""

from __future__ import annotations

import sqlite3
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

from node import errors
from node.accounts import UnlockedStaff
from node.analysis import lexicon
from node.analysis.entities import find_groups, find_places
from node.analysis.gazetteer import NameList
from node.analysis.suggest import EXPLICIT
from node.analysis.textnorm import normalise
from node.backoffice.access import Action
from node.backoffice.case_access import CaseAccess
from node.config import NodeConfig
from node.i18n import N_
from node.intake.service import IntakeService
from node.storage.database import Database

MAX_COMPARED = 300   # the most recent reports the person may read, compared per page
THRESHOLD = 0.5
SHOWN = 5
UNIT_CAP = 0.5       # what shared units add at most (each adds WEIGHTS["unit"])
WEIGHTS = {"unit": 0.3, "name": 0.35, "group": 0.25, "region": 0.2, "month": 0.2,
           "category": 0.1}
REASONS = {
    "unit": N_("the same unit"),
    "name": N_("the same person named (across spellings)"),
    "group": N_("the same armed group"),
    "region": N_("the same region"),
    "month": N_("the same month"),
    "category": N_("the same kind of act"),
}


@dataclass(frozen=True)
class Features:
    units: frozenset[str]
    names: frozenset[str]
    groups: frozenset[str]
    regions: frozenset[str]
    months: frozenset[str]
    categories: frozenset[str]


@dataclass(frozen=True)
class Link:
    report_id: str
    score: float
    reasons: tuple[str, ...]   # keys of REASONS
    shared: tuple[str, ...]    # what matched: unit keys, group names, the month


def features(text: str, record: dict[str, object], config: NodeConfig,
             places: NameList | None = None, groups: NameList | None = None) -> Features:
    """What `compare` weighs, from a report's narrative and the answers it chose. Cheap on
    purpose (a few milliseconds: a page compares hundreds of reports): the lexicon's explicit
    acts for the categories, the patterns of units, ranks and groups, the gazetteer; the
    month is the one the reporter chose (the date parser would cost ten times more)."""
    hits = lexicon.find(normalise(text), text)
    categories = {EXPLICIT[h.concept] for h in hits if h.concept in EXPLICIT and not h.negated}
    found = find_groups(text, groups)
    regions = {str(record["region"])} if record.get("region") else set()
    subdivisions = {r.code: r.subdivision for r in config.regions if r.subdivision}
    regions = {subdivisions.get(r) or r for r in regions}
    regions |= {p.region for p in find_places(text, places)}
    months: set[str] = set()
    year, month = record.get("incident_year"), record.get("incident_month")
    if year and month:
        months.add(f"{int(str(year)):04d}-{int(str(month)):02d}")
    return Features(
        units=frozenset(g.key for g in found if g.kind == "unit" and g.key),
        names=frozenset(g.key for g in found if g.kind == "rank" and g.key),
        groups=frozenset(g.name for g in found if g.kind == "group"),
        regions=frozenset(regions), months=frozenset(months),
        categories=frozenset(categories))


def compare(a: Features, b: Features) -> tuple[float, list[str], list[str]]:
    """The score of two reports describing the same incident or group, why, and what."""
    score = 0.0
    reasons: list[str] = []
    shared: list[str] = []
    for reason, x, y in (("unit", a.units, b.units), ("name", a.names, b.names),
                         ("group", a.groups, b.groups), ("region", a.regions, b.regions),
                         ("month", a.months, b.months),
                         ("category", a.categories, b.categories)):
        common = x & y
        if common:
            # "2nd battalion" alone is in many armies; its brigade too is far more telling
            score += (min(UNIT_CAP, WEIGHTS[reason] * len(common)) if reason == "unit"
                      else WEIGHTS[reason])
            reasons.append(reason)
            if reason in ("unit", "group", "month"):
                shared += sorted(common)
    # a region, a month and a kind of act are shared by many unrelated reports: without a
    # unit, a person or a group, they suggest the same incident only all three together
    if not {"unit", "name", "group"} & set(reasons) and len(reasons) < 3:
        score = min(score, THRESHOLD - 0.01)
    return round(min(score, 1.0), 3), reasons, shared


class LinkedReports:
    def __init__(self, db: Database, access: CaseAccess, intake: IntakeService,
                 config: NodeConfig, root: Path) -> None:
        self._db = db
        self._access = access
        self._intake = intake
        self._config = config
        self._root = root

    def _readable(self, conn: sqlite3.Connection, staff: UnlockedStaff
                  ) -> list[sqlite3.Row]:
        """The reports this person can open with their own keys, newest first."""
        if staff.has_role("coordinator") and staff.intake_key is not None:
            return conn.execute("SELECT id, updated_hour FROM reports ORDER BY received_hour"
                                " DESC, id LIMIT ?", (MAX_COMPARED,)).fetchall()
        return conn.execute(
            "SELECT r.id, r.updated_hour FROM reports r JOIN case_key_wraps w ON "
            "w.report_id = r.id WHERE w.staff_id = ? ORDER BY r.received_hour DESC, r.id "
            "LIMIT ?", (staff.member.id, MAX_COMPARED)).fetchall()

    def _features(self, staff: UnlockedStaff, report_id: str, updated: int,
                  cache: MutableMapping[tuple[str, int], Features],
                  lists: tuple[NameList | None, NameList | None]) -> Features | None:
        found = cache.get((report_id, updated))
        if found is not None:
            return found
        try:
            key = self._access.case_key(staff, report_id)
        except (errors.Forbidden, errors.ReportGone):
            return None
        view = self._intake.view_with_key(report_id, key)
        f = features(str(view.record.get("narrative") or ""), view.record, self._config,
                     *lists)
        cache[(report_id, updated)] = f
        return f

    def of_case(self, staff: UnlockedStaff, report_id: str,
                cache: MutableMapping[tuple[str, int], Features] | None = None) -> list[Link]:
        """The reports that probably describe the same incident or group as this one, best
        first, among those the person may read (and only if they may read this one)."""
        self._access.require(staff, Action.READ_CASE, report_id)
        cache = {} if cache is None else cache
        analysis = self._config.analysis
        lists = analysis.places(self._root), analysis.groups(self._root)
        conn = self._db.read()
        rows = self._readable(conn, staff)
        own = conn.execute("SELECT updated_hour FROM reports WHERE id = ?",
                           (report_id,)).fetchone()
        if own is None:
            raise errors.ReportGone()
        mine = self._features(staff, report_id, own["updated_hour"], cache, lists)
        if mine is None:
            raise errors.Forbidden()
        links = []
        for row in rows:
            if row["id"] == report_id:
                continue
            theirs = self._features(staff, row["id"], row["updated_hour"], cache, lists)
            if theirs is None:
                continue
            score, reasons, shared = compare(mine, theirs)
            if score >= THRESHOLD:
                links.append(Link(row["id"], score, tuple(reasons), tuple(shared)))
        links.sort(key=lambda link: (-link.score, link.report_id))
        return links[:SHOWN]
