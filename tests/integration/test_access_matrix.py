"""Every staff route x every role, generated from the route table and the access policy:
a new route without a rule, or a rule the code does not enforce, fails here.

Caseworkers are checked twice for case routes: on a case assigned to them and on one that
is not (the route guard lets them through; the case service must refuse)."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts
from node.backoffice.access import POLICY, Action, allowed
from node.backoffice.incidents import IncidentCoding
from node.context import NodeContext
from node.demo import tiny_png
from node.intake.models import Consent, ReportInput
from node.intake.service import Receipt
from node.web import appkeys
from node.web.app import create_app
from node.web.staff import all_routes
from node.web.staff.common import STAFF_COOKIE, StaffRoute
from tests.integration.conftest import csrf_of
from tests.team import PASSPHRASE, ROLES, make_team

ROUTES = all_routes()


def test_every_route_has_a_rule() -> None:
    for route in ROUTES:
        assert route.action in POLICY, route.name
    names = {r.name for r in ROUTES}
    assert len(names) == len(ROUTES)
    # issue 15: "my work" is in the matrix, open to case work roles only
    assert "staff_inbox" in names and POLICY[Action.VIEW_INBOX].roles == {"coordinator",
                                                                          "caseworker"}


def _case(ctx: NodeContext) -> tuple[str, str]:
    key = DataKey.generate()
    w = ctx.intake.attachment_writer(key, ctx.intake.allowance(), "p.png")
    w.feed(tiny_png(1))
    staged = w.finish()
    r = ctx.intake.submit(ReportInput(narrative="matrix", consent=Consent(referral=True)),
                          key, [staged], "test")
    return r.report_id, staged.item_id


def _receipt(ctx: NodeContext) -> Receipt:
    return ctx.intake.submit(ReportInput(narrative="matrix", consent=Consent(care=True)),
                             DataKey.generate(), [], "test")


def _path(route: StaffRoute, params: dict[str, str]) -> str:
    return "/staff" + re.sub(r"\{(\w+)\}", lambda m: params.get(m.group(1), "x"), route.path)


FORMS: dict[str, dict[str, str]] = {
    "staff_case_status": {"status": "in_triage"},
    "staff_case_note": {"text": "n"}, "staff_case_task": {"text": "t"},
    "staff_case_message": {"text": "m"}, "staff_case_refer": {"service_id": "clinic",
                                                             "shared": "s"},
    "staff_case_outcome": {"outcome": "o"}, "staff_case_code": {"category": "rape"},
    "staff_case_retention": {"days": "30"}, "staff_case_delete": {"confirm": "yes"},
    "staff_case_suggestion": {"item": "is_crsv", "decision": "reject"},  # issue 17
    "staff_case_perpetrators_confirm": {"names": "Tariq Mansour", "group": "Jaysh al-Nasr"},
}


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
async def test_role_route_matrix(route: StaffRoute, node_ctx: NodeContext,
                                 aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    with node_ctx.db.write() as conn:  # issue 16: an expert is refused every staff route
        accounts.create(conn, "expert", PASSPHRASE, {"expert"}, pw.INSECURE_FAST_FOR_TESTS, 0,
                        certifier=node_ctx.keys.certifier)
    people = {role: team.by_role(role) for role in ROLES}
    people["expert"] = accounts.unlock(node_ctx.db.read(), "expert", PASSPHRASE)
    app = create_app(node_ctx, {"staff"})
    client: TestClient[Any, Any] = await aiohttp_client(app)
    sessions = app[appkeys.STAFF_SESSIONS]

    async def call(role: str | None, assigned: bool) -> int:
        report_id, item_id = _case(node_ctx)
        if assigned:
            node_ctx.case_access.assign(team.coordinator, report_id, team.caseworker.member.id)
        task = node_ctx.timeline.add_task(team.coordinator, report_id, "task", None)
        referral = node_ctx.referrals.refer(team.coordinator, report_id, "clinic", "x")
        # account routes act on a throwaway account, so that disabling or changing it does
        # not disturb the rest of the matrix
        with node_ctx.db.write() as conn:
            victim, _ = accounts.create(conn, f"victim{secrets.token_hex(4)}", PASSPHRASE,
                                        {"caseworker"}, pw.INSECURE_FAST_FOR_TESTS, 0,
                                        certifier=node_ctx.keys.certifier)
        params = {"report_id": report_id, "item_id": item_id, "task_id": task,
                  "referral_id": referral, "staff_id": victim.id}
        # an incident on another case the same person may code, for the "link" route
        other_id, _ = _case(node_ctx)
        if assigned:
            node_ctx.case_access.assign(team.coordinator, other_id, team.caseworker.member.id)
        incident = node_ctx.incidents.code(team.coordinator, other_id,
                                                IncidentCoding(category="rape"))
        params["incident_id"] = incident
        client.session.cookie_jar.clear()
        data: dict[str, str] = {}
        if role is not None:
            session = sessions.new(people[role])
            client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})
            data = {"csrf": session.csrf, **FORMS.get(route.name, {}),
                    "staff_id": team.caseworker.member.id, "link": f"{incident}:{other_id}"}
        r = await client.request(route.method, _path(route, params), data=data or None,
                                 allow_redirects=False)
        return r.status

    for role in (None, *ROLES, "expert"):
        variants = (True, False) if role == "caseworker" else (False,)
        for assigned in variants:
            status = await call(role, assigned)
            where = f"{route.name} as {role or 'anonymous'} (assigned={assigned})"
            if route.action is Action.PUBLIC:
                # open to anyone (a made-up invitation code or a POST without its own form
                # token is refused, but never as an authorisation failure nor a crash)
                assert status != 401 and status < 500, where
            elif role is None:
                assert status in (303, 401), where
            else:
                member = people[role].member
                scoped = "{report_id}" in route.path
                expect = allowed(member, route.action, assigned=assigned if scoped else None)
                if expect:
                    assert status != 403, f"{where}: refused but the policy allows it"
                else:
                    assert status == 403, f"{where}: got {status}, the policy refuses it"


async def test_replacing_a_receipt_secret_needs_that_reporters_open_report(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    """The reporter's route of issue 19 (no staff role reaches it): refused to anyone
    without a reporter session that opened a report -- anonymous, every staff role with its
    own session and token, a reporter session that opened nothing -- and, with one, it acts
    on that report only (the route takes no report id)."""
    team = make_team(node_ctx)
    app = create_app(node_ctx)
    client: TestClient[Any, Any] = await aiohttp_client(app)
    mine, other = (_receipt(node_ctx) for _ in range(2))

    def wraps() -> list[bytes]:
        return [bytes(node_ctx.db.read().execute(
            "SELECT reporter_wrap FROM reports WHERE id = ?", (r.report_id,)).fetchone()[0])
            for r in (mine, other)]

    before = wraps()
    staff = app[appkeys.STAFF_SESSIONS]
    for role in ROLES:
        client.session.cookie_jar.clear()
        session = staff.new(team.by_role(role))
        client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})
        r = await client.post("/en/receipt/secret", data={"csrf": session.csrf,
                                                          "confirm": "yes"})
        assert r.status in (400, 403), role
    client.session.cookie_jar.clear()
    r = await client.get("/en/receipt")  # a reporter session, nothing opened
    token = csrf_of(await r.text())
    r = await client.post("/en/receipt/secret", data={"csrf": token, "confirm": "yes"})
    assert r.status in (400, 403) and "receipt-secret" not in await r.text()
    assert wraps() == before
    r = await client.post("/en/receipt", data={"csrf": token, "receipt": mine.code,
                                               "secret": mine.secret})
    token = csrf_of(await r.text())
    r = await client.post("/en/receipt/secret", data={"csrf": token, "confirm": "yes"})
    assert r.status == 200 and "receipt-secret" in await r.text()
    after = wraps()
    assert after[0] != before[0] and after[1] == before[1]
