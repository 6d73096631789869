"""What is new for a member of staff (issue 15, "An inbox and tasks"), on real SQLite files:
reporter replies not read, cases newly assigned, consent changes and tasks due, counted
from metadata only; what a case page showed is marked seen, and nothing after it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from crypto import passphrase as pw
from crypto.keys import DataKey
from node.backoffice import inbox
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.intake.models import Consent, ReportInput
from node.intake.service import Receipt
from tests.conftest import CANARY
from tests.team import Team, make_team

TODAY = date(2026, 3, 10)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ctx(node_dir: DataDir, clock: Clock) -> Iterator[NodeContext]:
    context = open_node(node_dir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                        receipt_params=pw.INSECURE_FAST_FOR_TESTS, clock=clock)
    yield context
    context.close()


@pytest.fixture
def team(ctx: NodeContext) -> Team:
    return make_team(ctx)


def submit(ctx: NodeContext, **consent: bool) -> Receipt:
    return ctx.intake.submit(ReportInput(narrative=f"{CANARY} what happened",
                                         consent=Consent(**consent)),
                             DataKey.generate(), [], "test")


def counts(ctx: NodeContext, staff_id: str, today: date = TODAY) -> inbox.Counts:
    return inbox.counts(ctx.db.read(), staff_id, today)


def seen(ctx: NodeContext, team: Team, report_id: str, clock: Clock) -> None:
    """What opening the case page does: the snapshot first, then the mark."""
    snapshot = inbox.latest(ctx.db.read(), report_id)
    inbox.mark_seen(ctx.db, team.caseworker.member.id, report_id, snapshot,
                    int(clock.now.timestamp()))


def test_each_kind_of_news_is_counted_and_cleared(ctx: NodeContext, team: Team,
                                                   clock: Clock) -> None:
    me = team.caseworker.member.id
    r = submit(ctx, care=True, contact=True, statistics=True)
    assert counts(ctx, me) == inbox.Counts(0, 0, 0, 0)

    ctx.case_access.assign(team.coordinator, r.report_id, me)
    assert counts(ctx, me) == inbox.Counts(replies=0, assigned=1, consent=0, tasks=0)

    access = ctx.intake.open_receipt(r.code, r.secret)
    ctx.conversations.reply(r.report_id, access.data_key, "a reply")
    ctx.intake.change_consent(access, Consent(care=True, statistics=True))  # contact withdrawn
    ctx.timeline.add_task(team.caseworker, r.report_id, "call the clinic",
                          TODAY - timedelta(days=2))
    ctx.timeline.add_task(team.caseworker, r.report_id, "due today", TODAY)
    ctx.timeline.add_task(team.caseworker, r.report_id, "not yet", TODAY + timedelta(days=1))
    ctx.timeline.add_task(team.caseworker, r.report_id, "no due day", None)
    assert counts(ctx, me) == inbox.Counts(replies=1, assigned=1, consent=1, tasks=2)

    # the "my work" page lists the case, overdue task first, and what was withdrawn
    [news] = inbox.news(ctx.db.read(), me, TODAY)
    assert (news.report_id, news.newly_assigned, news.replies) == (r.report_id, True, 1)
    assert news.withdrawn == ("contact",)
    assert [due for _, due in news.due_tasks] == ["2026-03-08", "2026-03-10"]

    # opening the case marks what it showed; tasks stay until done
    clock.now += timedelta(minutes=5)
    seen(ctx, team, r.report_id, clock)
    assert counts(ctx, me) == inbox.Counts(replies=0, assigned=0, consent=0, tasks=2)
    for task_id, _ in news.due_tasks:
        ctx.timeline.complete_task(team.caseworker, r.report_id, task_id)
    assert counts(ctx, me) == inbox.Counts(0, 0, 0, 0)
    assert inbox.news(ctx.db.read(), me, TODAY) == []
    # tomorrow, the next task is due
    assert counts(ctx, me, TODAY + timedelta(days=1)).tasks == 1


def test_a_reply_after_the_page_was_read_stays_unread(ctx: NodeContext, team: Team,
                                                      clock: Clock) -> None:
    me = team.caseworker.member.id
    r = submit(ctx, care=True)
    ctx.case_access.assign(team.coordinator, r.report_id, me)
    access = ctx.intake.open_receipt(r.code, r.secret)
    ctx.conversations.reply(r.report_id, access.data_key, "first")
    snapshot = inbox.latest(ctx.db.read(), r.report_id)
    ctx.conversations.reply(r.report_id, access.data_key, "while the page was read")
    inbox.mark_seen(ctx.db, me, r.report_id, snapshot, int(clock.now.timestamp()))
    assert counts(ctx, me).replies == 1
    # an older snapshot never moves the mark back
    inbox.mark_seen(ctx.db, me, r.report_id, inbox.Seen(0, 0), int(clock.now.timestamp()))
    assert counts(ctx, me).replies == 1
    seen(ctx, team, r.report_id, clock)
    assert counts(ctx, me).replies == 0
    # staff's own messages are never "new" for staff
    ctx.conversations.send(team.caseworker, r.report_id, "from us")
    assert counts(ctx, me).replies == 0


def test_news_is_only_about_ones_own_cases(ctx: NodeContext, team: Team) -> None:
    mine, theirs = submit(ctx, care=True), submit(ctx, care=True)
    ctx.case_access.assign(team.coordinator, mine.report_id, team.caseworker.member.id)
    ctx.case_access.assign(team.coordinator, theirs.report_id, team.other_caseworker.member.id)
    access = ctx.intake.open_receipt(theirs.code, theirs.secret)
    ctx.conversations.reply(theirs.report_id, access.data_key, "to the other caseworker")
    assert counts(ctx, team.caseworker.member.id) == inbox.Counts(0, 1, 0, 0)
    assert counts(ctx, team.other_caseworker.member.id) == inbox.Counts(1, 1, 0, 0)
    # unassigned: no longer theirs, nothing new for them
    ctx.case_access.unassign(team.coordinator, theirs.report_id,
                             team.other_caseworker.member.id)
    assert counts(ctx, team.other_caseworker.member.id) == inbox.Counts(0, 0, 0, 0)


def test_consent_changes_name_what_was_withdrawn_or_given(ctx: NodeContext) -> None:
    r = submit(ctx, care=True, contact=True, legal=True)
    access = ctx.intake.open_receipt(r.code, r.secret)
    assert inbox.consent_changes(ctx.db.read(), r.report_id) == []
    ctx.intake.change_consent(access, Consent(care=True, legal=True, statistics=True))
    ctx.intake.change_consent(access, Consent(care=True, statistics=True, contact=True))
    ctx.intake.change_consent(access, Consent(care=True, statistics=True))
    changes = {c.name: c.given for c in inbox.consent_changes(ctx.db.read(), r.report_id)}
    assert changes == {"legal": False, "statistics": True, "contact": False}
    assert inbox.withdrawn_consents(ctx.db.read(), r.report_id) == ("legal", "contact")


def test_the_counts_read_no_content_and_the_marks_hold_none(ctx: NodeContext, team: Team,
                                                            clock: Clock) -> None:
    """The counts need no key: they run on a bare connection to the database file, in
    which the marks are numbers and times only."""
    me = team.caseworker.member.id
    r = submit(ctx, care=True)
    ctx.case_access.assign(team.coordinator, r.report_id, me)
    ctx.timeline.add_task(team.caseworker, r.report_id, f"{CANARY} task", TODAY)
    seen(ctx, team, r.report_id, clock)
    bare = sqlite3.connect(ctx.datadir.database)
    bare.row_factory = sqlite3.Row
    try:
        assert inbox.counts(bare, me, TODAY) == inbox.Counts(0, 0, 0, 1)
        [mark] = bare.execute("SELECT * FROM inbox_marks").fetchall()
        assert {k: type(mark[k]) for k in mark.keys()} == {
            "staff_id": str, "report_id": str, "message_seq": int, "consent_event": int,
            "seen_at": int}
        plan = " ".join(str(row[-1]) for row in bare.execute(
            "EXPLAIN QUERY PLAN " + inbox._MINE + "SELECT COUNT(*) FROM mine",
            {"me": me}))
        assert "case_key_wraps_by_staff" in plan
    finally:
        bare.close()


def test_a_coordinator_also_hears_of_the_triage_queue(ctx: NodeContext, team: Team,
                                                     clock: Clock) -> None:
    """A reply on a case nobody is assigned to yet reaches the coordinators; once the case is
    assigned to someone else it is that person's news, no longer theirs."""
    me = team.coordinator.member.id
    r = submit(ctx, care=True, contact=True)
    access = ctx.intake.open_receipt(r.code, r.secret)
    ctx.conversations.reply(r.report_id, access.data_key, "anyone there?")
    ctx.intake.change_consent(access, Consent(care=True))
    assert counts(ctx, me) == inbox.Counts(0, 0, 0, 0)  # without the triage queue
    with_triage = inbox.counts(ctx.db.read(), me, TODAY, triage=True)
    assert with_triage == inbox.Counts(replies=1, assigned=0, consent=1, tasks=0)
    [news] = inbox.news(ctx.db.read(), me, TODAY, triage=True)
    assert (news.report_id, news.assigned_at, news.newly_assigned) == (r.report_id, None, False)
    assert news.withdrawn == ("contact",)
    inbox.mark_seen(ctx.db, me, r.report_id, inbox.latest(ctx.db.read(), r.report_id),
                    int(clock.now.timestamp()))
    assert inbox.counts(ctx.db.read(), me, TODAY, triage=True) == inbox.Counts(0, 0, 0, 0)
    ctx.conversations.reply(r.report_id, access.data_key, "still there?")
    assert inbox.counts(ctx.db.read(), me, TODAY, triage=True).replies == 1
    ctx.case_access.assign(team.coordinator, r.report_id, team.caseworker.member.id)
    assert inbox.counts(ctx.db.read(), me, TODAY, triage=True) == inbox.Counts(0, 0, 0, 0)
    assert counts(ctx, team.caseworker.member.id).replies == 2
