"""The list logic and the person's index in process (issue 15): list filters parsed from
any address without failing, the index following notes, messages and deletions without
rebuilding what it holds, and a page that decrypts only what it shows until the index is
built."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts
from node.backoffice.case_listing import (
    LEVELS,
    SORTS,
    UNASSIGNED,
    CaseFacts,
    ListQuery,
    facts_of,
    list_page,
)
from node.backoffice.search import index_for
from node.backoffice.urgency import assess
from node.context import NodeContext, open_node
from node.intake.models import CONSENT_NAMES, ReportInput
from node.storage.migrations import MIGRATIONS
from tests.conftest import files_containing
from tests.integration.test_schema10_fixture import copy_fixture
from tests.team import Team, make_team

FIELDS = ("status", "assignee", "region", "urgency", "consent", "sort", "offset", "other")


@pytest.fixture
def team(node_ctx: NodeContext) -> Team:
    return make_team(node_ctx)


@given(st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=40)))
def test_any_address_gives_a_valid_query(values: dict[str, str]) -> None:
    q = ListQuery.parse(values, regions=["R1"], assignees=["abc"], default_sort="received")
    assert q.status in (None, "new", "in_triage", "assigned", "referred", "closed",
                        "withdrawn")
    assert q.assignee in (None, "abc", UNASSIGNED)
    assert q.region in (None, "R1")
    assert q.urgency in (None, *LEVELS)
    assert q.consent in (None, *CONSENT_NAMES)
    assert q.sort in SORTS
    assert q.offset >= 0
    if values.get("sort") not in SORTS:
        assert q.sort == "received"
    # what the links of other pages carry parses back to the same query
    assert ListQuery.parse(q.params(), regions=["R1"], assignees=["abc"]) == q


def _report(ctx: NodeContext, text: str, **fields: object) -> str:
    return ctx.intake.submit(ReportInput(narrative=text, **fields),  # type: ignore[arg-type]
                             DataKey.generate(), [], "test").report_id


def test_the_index_takes_in_notes_and_messages_and_drops_deleted_cases(
        node_ctx: NodeContext, team: Team) -> None:
    a = _report(node_ctx, "the convoy at the bridge", region="R1")
    b = _report(node_ctx, "a quiet market")
    index = index_for(node_ctx.cases, team.coordinator, region_names={"R1": "North Nord"})
    assert index.search("nord") == {a}
    assert index.facts[a].region == "R1" and index.facts[a].summary.startswith("the convoy")
    node_ctx.timeline.add_note(team.coordinator, b, "spoke to the headmaster")
    node_ctx.conversations.send(team.coordinator, b, "the clinic opens on Tuesday")
    again = index_for(node_ctx.cases, team.coordinator, index)
    assert again is index  # brought up to date in place: only the new entries decrypted
    assert index.search("headmaster") == {b} and index.search("tuesday") == {b}
    node_ctx.deletion.by_staff(team.coordinator, b, "not a report")
    index = index_for(node_ctx.cases, team.coordinator, index)
    assert index.search("headmaster") == set() and b not in index.facts
    assert index.search("tuesday") == set()
    assert files_containing(node_ctx.datadir.root, b"headmaster") == []


def test_a_page_decrypts_only_what_it_needs_while_the_index_is_built(
        node_ctx: NodeContext, team: Team) -> None:
    ids = [_report(node_ctx, f"report {n}", region="R1" if n % 2 else "R2")
           for n in range(12)]
    filled: list[int] = []

    def fill(wanted: list[str]) -> dict[str, CaseFacts]:
        filled.append(len(wanted))
        return {v.id: facts_of(v.record)
                for v, _ in node_ctx.cases.readable(team.coordinator, set(wanted))}

    now = datetime.now(UTC)
    page = list_page(node_ctx.db.read(), team.coordinator, {}, ListQuery(sort="received"),
                     now, limit=5, fill=fill)
    assert page.total == 12 and len(page.rows) == 5 and filled == [5]
    assert all(r.facts.summary.startswith("report") for r in page.rows)
    filled.clear()
    page = list_page(node_ctx.db.read(), team.coordinator, {},
                     ListQuery(region="R1", sort="urgency"), now, limit=5, fill=fill)
    assert filled == [12]  # a region filter needs every case's region
    assert page.total == 6 and {r.facts.region for r in page.rows} == {"R1"}
    assert page.next_offset == 5 and page.previous_offset is None
    # a caseworker's page holds only their cases, whatever the filters say
    node_ctx.case_access.assign(team.coordinator, ids[0], team.caseworker.member.id)
    mine = list_page(node_ctx.db.read(), team.caseworker, {}, ListQuery(), now, fill=fill)
    assert [r.id for r in mine.rows] == [ids[0]]
    assert mine.rows[0].assignees == (team.caseworker.member.username,)


@given(st.integers(2019, 2027), st.one_of(st.none(), st.integers(1, 12)),
       st.one_of(st.none(), st.integers(1, 28)), st.booleans(),
       st.integers(-400, 400), st.integers(0, 3600 * 24 * 30))
def test_urgency_from_the_index_is_what_assess_says(
        year: int, month: int | None, day: int | None, dated: bool, received_offset: int,
        elapsed_s: int) -> None:
    record: dict[str, object] = {}
    if dated:
        record = {"incident_year": year, "incident_month": month,
                  "incident_day": day if month is not None else None}
    received_hour = 17_800 * 24 + received_offset  # around 2018-09
    now = datetime.fromtimestamp(received_hour * 3600 + elapsed_s, UTC)
    now = now.replace(year=year) if dated and elapsed_s % 3 == 0 else now
    facts = facts_of(record)
    assert facts.urgency(received_hour, now) == assess(record, received_hour, now)


def test_list_pages_read_an_index_not_the_encrypted_rows(node_ctx: NodeContext,
                                                         team: Team) -> None:
    """Migration 21: the clear columns a list reads, in one index (a full scan of the
    table would read every report's ciphertext)."""
    seen: list[str] = []
    conn = node_ctx.db.read()
    conn.set_trace_callback(seen.append)
    try:
        list_page(conn, team.coordinator, {}, ListQuery(status="new", sort="updated"),
                  datetime.now(UTC))
    finally:
        conn.set_trace_callback(None)
    listing = next(q for q in seen if "FROM reports" in q and "consent_care" in q)
    plan = " ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + listing))
    assert "COVERING INDEX reports_for_lists" in plan, plan


def test_the_schema10_node_lists_its_cases_after_migration_21(tmp_path: Path) -> None:
    """From the fixture of the previous version: the index is made by the upgrade, and the
    demo coordinator and caseworker list, filter and search what they may read."""
    datadir, answers = copy_fixture(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index'"
                            " AND name = 'reports_for_lists'").fetchone()
        everyone = conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0]
        secret = str(answers["passphrase"])
        admin = accounts.unlock(conn, str(answers["admin"]), secret)
        index = index_for(ctx.cases, admin)
        page = list_page(conn, admin, index.facts, ListQuery(sort="urgency"),
                         datetime.now(UTC), limit=everyone)
        assert page.total == everyone == len(page.rows)
        canary = str(answers["canary_report_id"])
        assert index.search("CANARY-NARRATIVE-FIXTURE") == {canary}
        worker = accounts.unlock(conn, str(answers["caseworker"]), secret)
        theirs = {r[0] for r in conn.execute(
            "SELECT report_id FROM case_key_wraps WHERE staff_id = ?", (worker.member.id,))}
        page = list_page(conn, worker, index_for(ctx.cases, worker).facts, ListQuery(),
                         datetime.now(UTC), limit=everyone)
        assert {r.id for r in page.rows} == theirs
    finally:
        ctx.close()
