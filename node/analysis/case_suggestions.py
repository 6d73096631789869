"""Suggested codings of one case, as a caseworker reviews them (issue 17).

`CaseSuggestions.of_case(staff, report_id)` opens the report with what the person holds
(`CaseAccess.open_case(READ_CASE)`: whoever may not read the narrative gets `Forbidden`,
nothing else), runs `suggest.suggest` on its narrative and lists each suggestion as an
`Item` -- whether it is CRSV, each category, the perpetrator affiliation, context hints,
counts, dates, places, armed groups and units -- with its confidence, its evidence (spans of
the narrative) and the decision already taken on it.

`decide(staff, report_id, key, decision)` remembers an acceptance, an edit or a rejection
(migration 26: `suggestion_decisions`, one row per report, encrypted under the report's own
data key, so only those who may open the case read it; erased with the report through the
one deletion path) and turns the decisions into a training example of the node's adapted
model (`AdaptedModels.add_example`, sealed to the intake key). Nothing is coded here:
accepting opens the coding form with the accepted values, and only the coding service's
review and "Save" store a coding.

`least_sure_first` is the active-learning order of a review queue: the reports the model is
least sure of first (`suggest.uncertainty`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from node import errors
from node.accounts import UnlockedStaff
from node.analysis import lexicon
from node.analysis.adapted import AdaptedModels
from node.analysis.model import Example, Model
from node.analysis.suggest import Suggestion, suggest, uncertainty
from node.analysis.textnorm import normalise
from node.backoffice.access import Action
from node.backoffice.case_access import CaseAccess
from node.backoffice.deletion import DerivedStore
from node.backoffice.ledger import CaseLedger, aead_context
from node.config import NodeConfig
from node.i18n import N_
from node.intake.service import IntakeService
from node.storage.database import Database
from protocol.vocabulary import AFFILIATIONS, CATEGORIES

DECISIONS = ("accepted", "edited", "rejected")
# Context hints: lexicon concepts, and an attack on a village (a pattern of its own below).
HINT_LABELS = {
    "detention": N_("Detention"),
    "abduction": N_("Abduction or captivity"),
    "village_attack": N_("Attack on a village"),
    "widespread": N_("Widespread pattern (many cases)"),
}
_HINT_CONCEPTS = {"detention": "detention", "captivity": "abduction", "cases": "widespread"}
# Which coding context a hint fills in when accepted (the others only inform the coder).
HINT_CONTEXT = {"widespread": "widespread_or_systematic_attack"}
_VILLAGE_ATTACK = re.compile(
    r"\b(attack\w* (on )?(the |our |a )?(village|town|camp)|(village|town) was (attacked|burn)"
    r"|burn\w* (the |our )?(village|houses)|attaqu\w* (le |du |notre )?village"
    r"|ataca\w* (el |la |o |a )?(pueblo|aldea|aldeia|vila)|walivamia (kijiji|mji)"
    r"|shambulio (la|kwenye) kijiji|هاجم\w* القري|هجوم على القري"
    r"|напа\w* на (село|селище|місто)|атак\w* на (село|селище))", re.IGNORECASE)
# Confidences of what rules find (no model weighs them): shown as such, never as certainty.
ENTITY_CONFIDENCE = {"victims": 0.6, "perpetrators": 0.6, "date": 0.7, "relative_date": 0.5,
                     "place": 0.8, "group": 0.7, "unit": 0.7, "context": 0.5}
MAX_DATES = 3
_CONTEXT = "backup/suggestion-decisions/v1"


@dataclass(frozen=True)
class Evidence:
    start: int
    end: int
    phrase: str


@dataclass(frozen=True)
class Item:
    """One suggestion a caseworker accepts, edits or rejects."""

    key: str            # "kind:value", e.g. "category:rape", "victims:3"; "is_crsv"
    kind: str           # is_crsv, category, affiliation, context, victims, perpetrators,
                        # date, place, group, unit
    value: str
    confidence: float
    evidence: tuple[Evidence, ...]
    decision: str | None = None


@dataclass(frozen=True)
class CaseView:
    language: str
    language_confidence: float
    uncertainty: float
    items: tuple[Item, ...]
    narrative: str
    model_version: int | None  # None: the shipped model

    def item(self, key: str) -> Item | None:
        return next((i for i in self.items if i.key == key), None)


def items_of(s: Suggestion, text: str, decisions: dict[str, str]) -> list[Item]:
    """Every suggestion of `s` as an item, with the evidence spans of each."""
    def ev(code: str) -> tuple[Evidence, ...]:
        return tuple(dict.fromkeys(Evidence(e.start, e.end, e.phrase)
                                   for e in s.evidence if e.suggestion == code))

    out: list[Item] = []

    def add(key: str, kind: str, value: str, conf: float, evidence: Iterable[Evidence]) -> None:
        if any(i.key == key for i in out):
            return
        out.append(Item(key, kind, value, round(conf, 3), tuple(evidence), decisions.get(key)))

    add("is_crsv", "is_crsv", "yes" if s.is_crsv else "no", s.confidence["is_crsv"],
        ev("is_crsv"))
    for c in s.categories:
        add(f"category:{c}", "category", c, s.confidence.get(c, 0.5), ev(c))
    if s.perpetrator_affiliation != "unknown":
        # "armed men" besides the soldiers named: no affiliation to suggest
        for n, a in enumerate(x for x in s.perpetrator_affiliations if x != "unknown"):
            conf = s.confidence["perpetrator_affiliation"] * (1.0 if n == 0 else 0.6)
            add(f"affiliation:{a}", "affiliation", a, conf, ev(a))
    hits = lexicon.find(normalise(text), text)
    for h in hits:
        hint = _HINT_CONCEPTS.get(h.concept)
        if hint and not h.negated:
            found = [Evidence(x.start, x.end, x.phrase) for x in hits
                     if x.concept == h.concept and not x.negated]
            add(f"context:{hint}", "context", hint, ENTITY_CONFIDENCE["context"], found)
    for m in _VILLAGE_ATTACK.finditer(text):
        add("context:village_attack", "context", "village_attack",
            ENTITY_CONFIDENCE["context"], [Evidence(m.start(), m.end(), m.group(0))])
    e = s.entities
    for role, count in (("victims", e.victims), ("perpetrators", e.perpetrators)):
        if count:
            add(f"{role}:{count}", role, str(count), ENTITY_CONFIDENCE[role],
                [Evidence(c.start, c.end, c.phrase) for c in e.counts
                 if c.role == role and c.count == count])
    for d in e.dates[:MAX_DATES]:
        add(f"date:{d.value}", "date", d.value,
            ENTITY_CONFIDENCE["relative_date" if d.relative else "date"],
            [Evidence(d.start, d.end, d.phrase)])
    for p in e.places:
        add(f"place:{p.region}", "place", p.region, ENTITY_CONFIDENCE["place"],
            [Evidence(p.start, p.end, p.phrase)])
    for g in e.groups:
        if g.kind in ("group", "unit"):
            # a unit reads as the text names it ("2nd battalion"), keyed by its unit_key
            add(f"{g.kind}:{g.name}", g.kind, g.phrase if g.kind == "unit" else g.name,
                ENTITY_CONFIDENCE[g.kind], [Evidence(g.start, g.end, g.phrase)])
    return out


def segments(text: str, items: Sequence[Item]) -> list[tuple[str, tuple[str, ...]]]:
    """The narrative cut into runs of text, each with the keys of the suggestions whose
    evidence covers it (empty: not evidence), for server-rendered highlighting."""
    marks: list[set[str]] = [set() for _ in text]
    for item in items:
        if item.decision == "rejected":
            continue
        for e in item.evidence:
            for i in range(max(0, e.start), min(len(text), e.end)):
                marks[i].add(item.key)
    out: list[tuple[str, tuple[str, ...]]] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or marks[i] != marks[start]:
            out.append((text[start:i], tuple(sorted(marks[start]))))
            start = i
    return out


def example_of(text: str, decisions: dict[str, str]) -> Example | None:
    """The training example the decisions make: CRSV when a person accepted it or a
    category, not CRSV when they rejected it; the accepted categories (a rejected one is a
    negative of its label). None while nobody has said whether it is CRSV."""
    accepted = {k for k, v in decisions.items() if v in ("accepted", "edited")}
    categories = frozenset(k.partition(":")[2] for k in accepted
                           if k.startswith("category:") and k.partition(":")[2] in CATEGORIES)
    # the main affiliation a person accepted as suggested (an edited one is whatever the
    # coding form then said, which this store does not see)
    affiliation = next((k.partition(":")[2] for k, v in sorted(decisions.items())
                        if v == "accepted" and k.startswith("affiliation:")
                        and k.partition(":")[2] in AFFILIATIONS), None)
    if decisions.get("is_crsv") == "rejected" and not categories:
        return Example(text, False, frozenset(), affiliation)
    if "is_crsv" in accepted or categories:
        return Example(text, True, categories, affiliation)
    return None


class CaseSuggestions:
    def __init__(self, db: Database, access: CaseAccess, intake: IntakeService,
                 ledger: CaseLedger, adapted: AdaptedModels, config: NodeConfig,
                 root: Path) -> None:
        self._db = db
        self._access = access
        self._intake = intake
        self._ledger = ledger
        self._adapted = adapted
        self._config = config
        self._root = root

    def _model(self, staff: UnlockedStaff) -> tuple[int | None, Model | None]:
        """The node's adapted model for those who hold the analysis key, else the shipped
        one (caseworkers: the adapted model is encrypted to the analysis key)."""
        if staff.analysis_key is None:
            return None, None
        active = self._adapted.active_model(staff.analysis_key)
        return (active[0], active[1]) if active else (None, None)

    def narrative(self, staff: UnlockedStaff, report_id: str) -> tuple[str, dt.datetime]:
        key = self._access.open_case(staff, Action.READ_CASE, report_id)
        view = self._intake.view_with_key(report_id, key)
        received = dt.datetime.fromtimestamp(view.received_hour * 3600, dt.UTC)
        return str(view.record.get("narrative") or ""), received.replace(tzinfo=None)

    def suggestion(self, staff: UnlockedStaff, text: str, received: dt.datetime
                   ) -> tuple[int | None, Suggestion]:
        version, model = self._model(staff)
        analysis = self._config.analysis
        return version, suggest(text, model=model, reference=received,
                                places=analysis.places(self._root),
                                groups=analysis.groups(self._root))

    def of_case(self, staff: UnlockedStaff, report_id: str) -> CaseView:
        """The suggestions of a case, for someone who may read its narrative."""
        text, received = self.narrative(staff, report_id)
        version, s = self.suggestion(staff, text, received)
        decisions = self.decisions(staff, report_id)
        return CaseView(s.language, s.language_confidence, uncertainty(s),
                        tuple(items_of(s, text, decisions)), text, version)

    # ------------------------------------------------------------------ decisions

    def decisions(self, staff: UnlockedStaff, report_id: str) -> dict[str, str]:
        """What people decided on this case's suggestions, by item key."""
        key = self._access.open_case(staff, Action.READ_CASE, report_id)
        row = self._db.read().execute(
            "SELECT decisions_ct FROM suggestion_decisions WHERE report_id = ?",
            (report_id,)).fetchone()
        if row is None:
            return {}
        body = json.loads(key.decrypt(row["decisions_ct"], aead_context(_CONTEXT, report_id)))
        return {k: str(v["decision"]) for k, v in body.items()}

    def decide(self, staff: UnlockedStaff, report_id: str, item_key: str, decision: str
               ) -> CaseView:
        """Remember a decision on one suggestion of the case (which must be one it has
        now), and give the adapted model the training example the decisions make."""
        if decision not in DECISIONS:
            raise errors.UnknownChoice(field="decision")
        self._access.require(staff, Action.CODE_INCIDENT, report_id)
        view = self.of_case(staff, report_id)
        if view.item(item_key) is None:
            raise errors.UnknownChoice(field="suggestion")
        key = self._access.case_key(staff, report_id)
        now = self._ledger.now()
        with self._db.write() as conn:
            row = conn.execute("SELECT decisions_ct FROM suggestion_decisions WHERE "
                               "report_id = ?", (report_id,)).fetchone()
            body: dict[str, Any] = (json.loads(key.decrypt(
                row["decisions_ct"], aead_context(_CONTEXT, report_id))) if row else {})
            body[item_key] = {"decision": decision, "by": staff.member.id, "at": now}
            conn.execute(
                "INSERT INTO suggestion_decisions (report_id, decisions_ct, updated_at) "
                "VALUES (?, ?, ?) ON CONFLICT (report_id) DO UPDATE SET "
                "decisions_ct = excluded.decisions_ct, updated_at = excluded.updated_at",
                (report_id, key.encrypt(json.dumps(body, sort_keys=True).encode(),
                                        aead_context(_CONTEXT, report_id)), now))
            self._ledger.touch(conn, report_id)
            self._ledger.record(conn, staff, "case.suggestion_decided", report_id, decision)
        decisions = {k: str(v["decision"]) for k, v in body.items()}
        example = example_of(view.narrative, decisions)
        if example is not None:
            self._adapted.add_example(report_id, example)
        return CaseView(view.language, view.language_confidence, view.uncertainty,
                        tuple(Item(i.key, i.kind, i.value, i.confidence, i.evidence,
                                   decisions.get(i.key)) for i in view.items),
                        view.narrative, view.model_version)

    @property
    def derived_stores(self) -> tuple[DerivedStore, ...]:
        return (DERIVED_STORE,)


def _erase(conn: sqlite3.Connection, report_id: str) -> None:
    conn.execute("DELETE FROM suggestion_decisions WHERE report_id = ?", (report_id,))


DERIVED_STORE = DerivedStore("decisions on suggested codings", _erase)


def coding_values(view: CaseView, item_key: str, regions: dict[str, str]) -> dict[str, str]:
    """The coding form's answers from the accepted suggestions and the one being accepted
    (nothing else: what the coder did not accept stays unanswered). `regions` maps an ISO
    3166-2 code to the node's region code."""
    chosen = [i for i in view.items if i.key == item_key
              or (i.decision in ("accepted", "edited") and i.key != item_key)]
    chosen.sort(key=lambda i: i.key == item_key)  # the one accepted now wins
    values: dict[str, str] = {}
    for i in chosen:
        if i.kind == "category":
            values["category"] = i.value
        elif i.kind == "affiliation" and i.value in AFFILIATIONS:
            values["perpetrator_affiliation"] = i.value
        elif i.kind == "perpetrators":
            values["perpetrator_count"] = i.value
        elif i.kind == "date" and len(i.value) == 10:  # a day: never invent a precision
            values["date_from"] = i.value
        elif i.kind == "place" and i.value in regions:
            values["region"] = regions[i.value]
        elif i.kind in ("unit", "group"):
            values["unit_named"] = next((e.phrase for e in i.evidence), i.value)[:200]
        elif i.kind == "context" and i.value in HINT_CONTEXT:
            values["context"] = HINT_CONTEXT[i.value]
    return values


T = TypeVar("T")


def least_sure_key(text: str) -> float:
    """Sort key of active learning: lower for a report the model is less sure of (a coin
    toss sorts first). About 40 ms a report: sort a page of a queue, not every case."""
    return -uncertainty(suggest(text))


def least_sure_first(entries: Sequence[T], text_of: Callable[[T], str]) -> list[T]:
    """Active learning: `entries` (queue entries, reports) with those whose suggestion the
    model is least sure of first, so people code first what the model learns most from.
    The sort is stable: equally unsure entries keep their order."""
    return sorted(entries, key=lambda e: least_sure_key(text_of(e)))
