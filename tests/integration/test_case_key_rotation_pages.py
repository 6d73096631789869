"""Issue 13, item 5: rotating a case's key is offered right after unassigning someone (on
the case page, to those who may assign) and after disabling an account that held cases
(on the accounts page), on the real staff server; and from the command line.
"""

from __future__ import annotations

import pytest

from crypto.errors import DecryptionError
from crypto.keys import DataKey
from node import cli
from node.backoffice import case_keys
from node.context import NodeContext
from node.intake.models import Consent, ReportInput
from tests.conftest import ADMIN, ADMIN_PASSPHRASE
from tests.integration.conftest import csrf_of
from tests.integration.test_staff_accounts import Office, csrf, office, sign_in
from tests.team import PASSPHRASE, make_team

__all__ = ["office"]  # the fixture, used by name

def _submit(ctx: NodeContext, text: str) -> str:
    return ctx.intake.submit(ReportInput(narrative=text, consent=Consent(care=True)),
                             DataKey.generate(), [], "test").report_id

async def test_unassigning_offers_to_replace_the_case_key(office: Office) -> None:
    ctx = office.ctx
    team = make_team(ctx)
    rid = _submit(ctx, "a case")
    ctx.case_access.assign(team.root, rid, team.caseworker.member.id)
    saved = ctx.case_access.case_key(team.caseworker, rid)
    c = office.client
    await sign_in(c, ADMIN, ADMIN_PASSPHRASE)
    page = await (await c.get(f"/staff/cases/{rid}")).text()
    assert "Replace the case key" not in page  # nobody left the case yet
    r = await c.post(f"/staff/cases/{rid}/unassign", allow_redirects=False,
                     data={"csrf": csrf_of(page), "staff_id": team.caseworker.member.id})
    assert r.status == 303
    page = await (await c.get(r.headers["Location"])).text()
    assert "The assignment was removed." in page
    assert "may have kept a copy of its key" in page
    assert f'action="/staff/cases/{rid}/rotate-key"' in page
    r = await c.post(f"/staff/cases/{rid}/rotate-key", data={"csrf": csrf_of(page)},
                     allow_redirects=False)
    assert r.status == 303
    page = await (await c.get(r.headers["Location"])).text()
    assert "The case key was replaced." in page and "Replace the case key" not in page
    assert case_keys.newest_generation(ctx.db.read(), rid) == 1
    ctx.timeline.add_note(team.root, rid, "after")
    with pytest.raises(DecryptionError):
        ctx.timeline.notes(rid, saved)
    # the custody page names it
    assert "case.rotate_key" in {r[0] for r in ctx.db.read().execute(
        "SELECT action FROM audit_log WHERE object_id = ?", (rid,))}

async def test_disabling_a_caseworker_offers_to_replace_their_case_keys(office: Office) -> None:
    ctx = office.ctx
    team = make_team(ctx)
    cases = [_submit(ctx, f"case {n}") for n in range(2)]
    for rid in cases:
        ctx.case_access.assign(team.root, rid, team.caseworker.member.id)
    departed = team.caseworker.member.id
    c = office.client
    await sign_in(c, ADMIN, ADMIN_PASSPHRASE)
    r = await c.post(f"/staff/accounts/{departed}/disable", data={"csrf": await csrf(c)},
                     allow_redirects=False)
    assert r.status == 303
    offer = r.headers["Location"]
    assert offer == f"/staff/accounts?done=disabled&rotate={departed}&held="
    page = await (await c.get(offer)).text()
    assert "whose key was not replaced since: 2" in page
    assert f'action="/staff/accounts/{departed}/rotate-cases"' in page
    r = await c.post(f"/staff/accounts/{departed}/rotate-cases", allow_redirects=False,
                     data={"csrf": csrf_of(page)})
    assert r.status == 303 and r.headers["Location"] == "/staff/accounts?done=cases_rotated"
    assert "The keys of their cases were replaced." in await (
        await c.get(r.headers["Location"])).text()
    assert [case_keys.newest_generation(ctx.db.read(), rid) for rid in cases] == [1, 1]
    # nothing left to offer
    page = await (await c.get(offer)).text()
    assert "rotate-cases" not in page

def test_the_command_line_rotates_one_case_or_those_a_person_left(
        node_ctx: NodeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = node_ctx
    team = make_team(ctx)
    one, two = _submit(ctx, "one"), _submit(ctx, "two")
    for rid in (one, two):
        ctx.case_access.assign(team.root, rid, team.caseworker.member.id)
        ctx.case_access.unassign(team.root, rid, team.caseworker.member.id)
    data = str(ctx.datadir.root)
    monkeypatch.setenv(cli.EXPORT_PASSPHRASE_ENV, ADMIN_PASSPHRASE)
    assert cli.main(["rotate-case-key", "--data", data, "--case", one]) == 0
    assert case_keys.newest_generation(ctx.db.read(), one) == 1
    assert cli.main(["rotate-case-key", "--data", data, "--left-by", "worker"]) == 0
    assert [case_keys.newest_generation(ctx.db.read(), r) for r in (one, two)] == [1, 1]
    monkeypatch.setenv(cli.EXPORT_PASSPHRASE_ENV, PASSPHRASE)  # a caseworker may not
    assert cli.main(["rotate-case-key", "--data", data, "--case", one,
                     "--username", "worker2"]) == 1
