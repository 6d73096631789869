"""What is new for one member of staff (issue 15, "An inbox and tasks"): reporter replies
they have not read, cases newly assigned to them, consent changes on their cases, and tasks
due or overdue -- on the cases assigned to them (their wraps in `case_key_wraps`) and, for
a coordinator who holds the intake key, on the cases of the triage queue (new or in triage),
which are theirs until assigned: a reply there would otherwise reach nobody.

Everything here is computed from metadata already stored in clear, never from content:
a message's direction and number (`messages.seq`), the consent events (choices and hours,
no content), a task's due day and whether it is done, the time of an assignment. What the
person has seen is one row per person and case in `inbox_marks` (the last message number,
the last consent event and the time of the case page they saw): numbers and times, no
content. So the navigation counts are a few indexed queries per page, nothing decrypted
to know what is new; the "my work" page decrypts only the text of the tasks it lists.

Seeing a case page marks what it showed as seen (`mark_seen`, with the `Seen` taken
before the page read the case, so that a reply arriving meanwhile stays unread).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date

from node.backoffice.deletion import DerivedStore
from node.intake.models import CONSENT_NAMES
from node.storage.database import Database

# The cases assigned to a person, with what they have seen of each (NULL: never opened).
_MINE = """
    WITH mine AS (
        SELECT w.report_id, w.assigned_at, m.message_seq, m.consent_event, m.seen_at
        FROM case_key_wraps AS w
        LEFT JOIN inbox_marks AS m ON m.staff_id = w.staff_id AND m.report_id = w.report_id
        WHERE w.staff_id = :me)
"""
# For a coordinator, the triage queue's cases not assigned to them (no assignment time).
_TRIAGE = """
    WITH mine AS (
        SELECT r.id AS report_id, NULL AS assigned_at, m.message_seq, m.consent_event,
            m.seen_at
        FROM reports AS r INDEXED BY reports_in_triage
        LEFT JOIN case_key_wraps AS o ON o.report_id = r.id AND o.staff_id = :me
        LEFT JOIN inbox_marks AS m ON m.staff_id = :me AND m.report_id = r.id
        WHERE r.status IN ('new', 'in_triage') AND o.report_id IS NULL)
"""
# (An anti-join, not NOT EXISTS: SQLite ran the correlated subquery once per message
# joined, eight times slower at 1,000 cases in triage.)
# Consent events the reporter made after the report itself ("report" is its first choice).
_CHANGED_CONSENT = ("c.report_id = mine.report_id AND c.source != 'report'"
                    " AND c.id > COALESCE(mine.consent_event, 0)")
_UNREAD_REPLY = ("g.report_id = mine.report_id AND g.direction = 'from_reporter'"
                 " AND g.seq > COALESCE(mine.message_seq, 0)")
_DUE_TASK = ("t.report_id = mine.report_id AND t.done_at IS NULL AND t.due_day IS NOT NULL"
             " AND t.due_day <= :today")
_NEWLY_ASSIGNED = ("(mine.assigned_at IS NOT NULL"
                   " AND (mine.seen_at IS NULL OR mine.seen_at < mine.assigned_at))")


@dataclass(frozen=True)
class Counts:
    replies: int   # reporter messages not seen
    assigned: int  # cases assigned since the person last opened them (or never opened)
    consent: int   # cases whose reporter changed a consent since the person last saw them
    tasks: int     # open tasks due today or earlier

    @property
    def total(self) -> int:
        return self.replies + self.assigned + self.consent + self.tasks


def _scopes(triage: bool) -> tuple[str, ...]:
    return (_MINE, _TRIAGE) if triage else (_MINE,)


def counts(conn: sqlite3.Connection, staff_id: str, today: date, *,
           triage: bool = False) -> Counts:
    """The navigation's counts over indexed metadata, nothing decrypted; `triage` adds the
    triage queue's cases (for a coordinator with the intake key). One statement per kind:
    in a single statement SQLite materialises the cases once and then joins the messages
    to that copy without an index (20 times slower at 10,000 cases)."""
    params = {"me": staff_id, "today": today.isoformat()}

    def count(what: str, scopes: tuple[str, ...]) -> int:
        return sum(int(conn.execute(scope + "SELECT " + what, params).fetchone()[0])
                   for scope in scopes)

    scopes = _scopes(triage)
    return Counts(
        replies=count(f"COUNT(*) FROM mine JOIN messages AS g ON {_UNREAD_REPLY}", scopes),
        # a triage queue case is not assigned to the person: never "newly assigned"
        assigned=count(f"COUNT(*) FROM mine WHERE {_NEWLY_ASSIGNED}", (_MINE,)),
        consent=count(f"COUNT(DISTINCT mine.report_id) FROM mine"
                      f" JOIN consent_events AS c ON {_CHANGED_CONSENT}", scopes),
        tasks=count(f"COUNT(*) FROM mine JOIN case_tasks AS t ON {_DUE_TASK}", scopes))


# the "my work" page's statements (constants of this module, never input)
_REPLIES_BY_CASE = (
    f"SELECT mine.report_id, COUNT(*), MAX(g.at) FROM mine JOIN messages AS g"  # noqa: S608
    f" ON {_UNREAD_REPLY} GROUP BY mine.report_id")
_CONSENT_BY_CASE = (
    f"SELECT mine.report_id, MAX(c.at_hour) FROM mine JOIN consent_events AS c"  # noqa: S608
    f" ON {_CHANGED_CONSENT} GROUP BY mine.report_id")
_DUE_TASKS = (
    f"SELECT t.report_id, t.id, t.due_day FROM mine"  # noqa: S608
    f" JOIN case_tasks AS t ON {_DUE_TASK} ORDER BY t.due_day, t.id")
_CASES = f"SELECT mine.report_id, mine.assigned_at, {_NEWLY_ASSIGNED} FROM mine"  # noqa: S608


@dataclass(frozen=True)
class CaseNews:
    """What is new on one case, for the "my work" page (metadata only)."""

    report_id: str
    assigned_at: int | None  # None: a triage queue case, not assigned to the person
    newly_assigned: bool
    replies: int
    last_reply_at: int | None  # to the hour, as the reporter's times are kept
    consent_changed_hour: int | None
    withdrawn: tuple[str, ...]  # consents given earlier and not any more
    due_tasks: tuple[tuple[str, str], ...]  # (task id, due day), oldest due first


def news(conn: sqlite3.Connection, staff_id: str, today: date, *,
         triage: bool = False) -> list[CaseNews]:
    """Every case of the person with something new on it (`triage` as for `counts`):
    overdue work first, then the newest reply or assignment first."""
    params = {"me": staff_id, "today": today.isoformat()}

    def each(sql: str) -> list[sqlite3.Row]:
        return [row for scope in _scopes(triage)
                for row in conn.execute(scope + sql, params).fetchall()]

    replies = {r[0]: (r[1], r[2]) for r in each(_REPLIES_BY_CASE)}
    consent = {r[0]: r[1] for r in each(_CONSENT_BY_CASE)}
    tasks: dict[str, list[tuple[str, str]]] = {}
    for t in each(_DUE_TASKS):
        tasks.setdefault(t[0], []).append((t[1], t[2]))
    out = []
    for report_id, assigned_at, fresh in each(_CASES):
        count, last = replies.get(report_id, (0, None))
        changed = consent.get(report_id)
        due = tuple(tasks.get(report_id, ()))
        if not (fresh or count or changed is not None or due):
            continue
        out.append(CaseNews(
            report_id, assigned_at, bool(fresh), count, last, changed,
            withdrawn_consents(conn, report_id) if changed is not None else (), due))
    out.sort(key=lambda n: (not n.due_tasks, n.due_tasks[0][1] if n.due_tasks else "",
                            -max(n.last_reply_at or 0, n.assigned_at or 0)))
    return out


@dataclass(frozen=True)
class Seen:
    """How far a case had got when a person was shown it."""

    message_seq: int
    consent_event: int


def latest(conn: sqlite3.Connection, report_id: str) -> Seen:
    """The case's newest message number and consent event, read before the page reads the
    case, so that marking them seen never covers what arrived after."""
    row = conn.execute(
        "SELECT (SELECT COALESCE(MAX(seq), 0) FROM messages WHERE report_id = :r),"
        " (SELECT COALESCE(MAX(id), 0) FROM consent_events WHERE report_id = :r)",
        {"r": report_id}).fetchone()
    return Seen(int(row[0]), int(row[1]))


def mark_seen(db: Database, staff_id: str, report_id: str, seen: Seen, now: int) -> None:
    """The person was shown the case up to `seen`: its replies and consent changes are no
    longer new for them, nor is its assignment. Never moves a mark back."""
    with db.write() as conn:
        if conn.execute("SELECT 1 FROM reports WHERE id = ?", (report_id,)).fetchone() is None:
            return  # deleted meanwhile: nothing to mark
        conn.execute(
            "INSERT INTO inbox_marks (staff_id, report_id, message_seq, consent_event, seen_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (staff_id, report_id) DO UPDATE SET"
            " message_seq = MAX(message_seq, excluded.message_seq),"
            " consent_event = MAX(consent_event, excluded.consent_event),"
            " seen_at = MAX(seen_at, excluded.seen_at)",
            (staff_id, report_id, seen.message_seq, seen.consent_event, now))


@dataclass(frozen=True)
class ConsentChange:
    name: str       # one of CONSENT_NAMES
    given: bool     # what the reporter chose last
    at_hour: int    # when they chose it


def withdrawn_consents(conn: sqlite3.Connection, report_id: str) -> tuple[str, ...]:
    """The consents the reporter gave at some point and has withdrawn since."""
    return tuple(c.name for c in consent_changes(conn, report_id) if not c.given)


def consent_changes(conn: sqlite3.Connection, report_id: str) -> list[ConsentChange]:
    """Each consent the reporter changed after the report, with their last choice and its
    hour (from the consent history, in clear; no content). A consent never given is not a
    change; one given later is (`given`)."""
    columns = ", ".join(CONSENT_NAMES)
    events = conn.execute(
        f"SELECT at_hour, {columns} FROM consent_events"  # noqa: S608 -- constant names
        " WHERE report_id = ? ORDER BY id", (report_id,)).fetchall()
    if not events:
        return []
    out = []
    for name in CONSENT_NAMES:
        first = bool(events[0][name])
        last, at = first, events[0]["at_hour"]
        for e in events[1:]:
            if bool(e[name]) != last:
                last, at = bool(e[name]), e["at_hour"]
        if last != first or (not last and any(e[name] for e in events)):
            out.append(ConsentChange(name, last, at))
    return out


def _erase_marks(conn: sqlite3.Connection, report_id: str) -> None:
    conn.execute("DELETE FROM inbox_marks WHERE report_id = ?", (report_id,))


DERIVED_STORES = (DerivedStore("inbox read marks", _erase_marks),)
