"""What a reporter lets be shared with a vetted expert (issue 16) is consent data: chosen on
the consent screen and the receipt page in plain words, stored through the consent model and
its history, covered by the consent tag, and asked again of reports consented before it
existed. The receipt page names the kind of expert a report was shared with, never who, and
stops their access (saying that what was read cannot be taken back)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts, errors
from node.context import NodeContext, open_node
from node.experts.shares import ScopeNotAsked, ShareRefused, ShareUnavailable
from node.intake.consent_auth import ConsentUnverified
from node.intake.models import Consent, ReportInput
from node.web import appkeys
from node.web.app import create_app
from node.web.staff.common import STAFF_COOKIE
from tests.conftest import make_node
from tests.expert_vetting import EXPERT_PASSPHRASE, engaged, vetted_expert
from tests.integration.conftest import csrf_of, walk_html_report
from tests.integration.test_schema10_fixture import copy_fixture
from tests.team import make_team

SCOPE_COLUMNS = ("sharing", "share_account", "share_files", "share_contact",
                 "share_other_orgs", "share_scope_set")


def history(ctx: NodeContext) -> list[dict[str, Any]]:
    return [dict(r) for r in ctx.db.read().execute(
        f"SELECT source, {', '.join(SCOPE_COLUMNS)} FROM consent_events ORDER BY id")]


async def open_receipt(client: TestClient[Any, Any], code: str, secret: str) -> str:
    token = csrf_of(await (await client.get("/en/receipt")).text())
    r = await client.post("/en/receipt", data={"csrf": token, "receipt": code,
                                               "secret": secret}, allow_redirects=False)
    assert r.status == 303
    return await (await client.get("/en/receipt/report")).text()


async def test_share_scope_is_consent_data_and_the_reporter_stops_a_share(
        client: TestClient[Any, Any], node_ctx: NodeContext, tmp_path: Path) -> None:
    html = await (await client.get("/en/report/consent")).text()
    assert "what may a vetted expert see?" in html
    assert 'value="share_account" checked' not in html  # nothing by default
    code, secret = await walk_html_report(client, "en", {
        "what": {"narrative": "what happened, for the expert"},
        "consent": {"consent": ["sharing"], "share": ["share_account"],
                    "share_scope": "asked"}}, [])
    [event] = history(node_ctx)
    assert event == {"source": "report", "sharing": 1, "share_account": 1, "share_files": 0,
                     "share_contact": 0, "share_other_orgs": 0, "share_scope_set": 1}
    (report_id,) = node_ctx.db.read().execute("SELECT id FROM reports").fetchone()

    # The scope is under the consent tag: a database writer who widens it is caught.
    conn = node_ctx.db.read()
    node_ctx.intake.consent.verify(conn, report_id)
    with node_ctx.db.write() as w:
        w.execute("UPDATE reports SET consent_share_files = 1 WHERE id = ?", (report_id,))
    with pytest.raises(ConsentUnverified):
        node_ctx.intake.consent.verify(node_ctx.db.read(), report_id)
    with node_ctx.db.write() as w:
        w.execute("UPDATE reports SET consent_share_files = 0 WHERE id = ?", (report_id,))
    node_ctx.intake.consent.verify(node_ctx.db.read(), report_id)

    # A coordinator shares with an expert of this organisation, within the scope.
    team = make_team(node_ctx)
    expert = vetted_expert(node_ctx, [node_ctx], tmp_path)
    now = int(node_ctx.clock().timestamp())
    engagement = engaged(node_ctx, expert.expert_key, report_id)

    def share(groups: tuple[str, ...]) -> Any:
        return node_ctx.shares.share(team.coordinator, engagement_id=engagement,
                                     report_id=report_id, expert_key=expert.expert_key,
                                     groups=groups, files=(), expires=now + 3600,
                                     observatory_key=expert.observatory_key)

    with pytest.raises(ShareRefused) as refused:
        share(("narrative", "contact"))
    assert refused.value.code == "no_contact_consent"
    with pytest.raises(errors.Forbidden):
        node_ctx.shares.share(team.caseworker, engagement_id=engagement, report_id=report_id,
                              expert_key=expert.expert_key, groups=("narrative",), files=(),
                              expires=now + 3600, observatory_key=expert.observatory_key)
    # only to an expert this node engaged, for this case, while the engagement lasts
    other_case = engaged(node_ctx, expert.expert_key, "0" * 32)
    for engagement_id in ("f" * 32, other_case):
        with pytest.raises(ShareRefused) as refused:
            node_ctx.shares.share(team.coordinator, engagement_id=engagement_id,
                                  report_id=report_id, expert_key=expert.expert_key,
                                  groups=("narrative",), files=(), expires=now + 3600,
                                  observatory_key=expert.observatory_key)
        assert refused.value.code == "no_engagement"
    assert node_ctx.db.read().execute("SELECT count(*) FROM expert_shares_sent"
                                      ).fetchone()[0] == 0
    sent = share(("narrative",))
    # This node's own expert: kept for them at once, opened with their key only.
    reader = accounts.unlock(node_ctx.db.read(), expert.username, EXPERT_PASSPHRASE)
    assert [h.share_id for h in node_ctx.shares.held_for(reader)] == [sent.share_id]
    opened = node_ctx.shares.open_held(reader, sent.share_id)
    assert opened.fields == {"narrative": "what happened, for the expert"}
    with pytest.raises(ShareUnavailable):  # a coordinator is not the expert it was sealed to
        node_ctx.shares.open_held(team.coordinator, sent.share_id)

    # The reporter sees the kind of expert, never who, and stops the access.
    html = await open_receipt(client, code, secret)
    assert "shared with a vetted medical expert" in html
    assert expert.username not in html and expert.expert_key not in html
    r = await client.post("/en/receipt/share/stop", data={"csrf": csrf_of(html),
                                                          "share": sent.share_id},
                          allow_redirects=False)
    assert r.status == 303
    html = await (await client.get("/en/receipt/report")).text()
    assert "access to your report was stopped" in html
    assert "cannot be taken back" in html
    assert "Stop this access" not in html
    row = node_ctx.db.read().execute(
        "SELECT revoked_at IS NOT NULL, revoke_reason, (SELECT count(*) FROM "
        "expert_share_parts) FROM expert_shares_sent WHERE share_id = ?",
        (sent.share_id,)).fetchone()
    assert tuple(row) == (1, "reporter", 0)
    with pytest.raises(ShareUnavailable):
        node_ctx.shares.open_held(reader, sent.share_id)
    # A share of another report, or none: not the reporter's to stop.
    r = await client.post("/en/receipt/share/stop", data={"csrf": csrf_of(html),
                                                          "share": "f" * 32},
                          allow_redirects=False)
    assert r.status == 404

    # Changed on the receipt page, into the same history.
    r = await client.post("/en/receipt/consent", data={
        "csrf": csrf_of(html), "consent": ["sharing", "contact"],
        "share": ["share_account", "share_contact", "share_other_orgs"],
        "share_scope": "asked"}, allow_redirects=False)
    assert r.status == 303
    last = history(node_ctx)[-1]
    assert last["source"] == "reporter"
    assert (last["share_contact"], last["share_other_orgs"], last["share_files"]) == (1, 1, 0)
    assert "A question about sharing" not in await (await client.get("/en/receipt/report")
                                                    ).text()


async def test_a_sharing_consent_without_scope_is_asked_on_the_receipt_page(
        client: TestClient[Any, Any]) -> None:
    r = await client.post("/api/v1/reports", json={"narrative": "n",
                                                   "consent": {"sharing": True}})
    assert r.status == 201
    receipt = await r.json()
    html = await open_receipt(client, receipt["receipt_display"], receipt["secret_display"])
    assert "A question about sharing" in html and 'name="share_scope" value="asked"' in html


def test_reports_consented_before_the_scope_are_asked_again(tmp_path: Path) -> None:
    datadir, answers = copy_fixture(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        ids = [r[0] for r in conn.execute("SELECT id FROM reports")]
        # the migration kept every consent tag valid, and gave nobody a scope
        assert ctx.intake.consent.unverified_reports(conn, ids) == []
        assert conn.execute(
            "SELECT count(*) FROM reports WHERE consent_share_account + consent_share_files"
            " + consent_share_contact + consent_share_other_orgs + consent_share_scope_set"
            " > 0").fetchone()[0] == 0
        expert = vetted_expert(ctx, [ctx], tmp_path)
        admin = accounts.unlock(conn, str(answers["admin"]), str(answers["passphrase"]))
        now = int(ctx.clock().timestamp())
        receipts = answers["receipts"]
        if isinstance(receipts, str):
            receipts = json.loads(receipts.replace("'", '"'))
        assert isinstance(receipts, list)
        opened = [ctx.intake.open_receipt(c, s) for c, s in receipts]
        access = next(a for a in opened if conn.execute(
            "SELECT consent_sharing FROM reports WHERE id = ?", (a.report_id,)).fetchone()[0])

        def share() -> Any:
            return ctx.shares.share(admin, engagement_id=engaged(ctx, expert.expert_key),
                                    report_id=access.report_id,
                                    expert_key=expert.expert_key, groups=("narrative",),
                                    files=(), expires=now + 3600,
                                    observatory_key=expert.observatory_key)

        with pytest.raises(ScopeNotAsked):
            share()
        assert ctx.db.read().execute("SELECT count(*) FROM expert_shares_sent"
                                     ).fetchone()[0] == 0
        # asked on the receipt page, the reporter answers: now it may be shared
        ctx.intake.change_consent(access, Consent(sharing=True, share_account=True,
                                                  share_scope_set=True))
        assert share().what == ("narrative",)
    finally:
        ctx.close()


async def test_a_coordinator_shares_from_the_case_and_stops_it(
        tmp_path: Path, aiohttp_client: Any) -> None:
    datadir = make_node(tmp_path / "node")
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        expert = vetted_expert(ctx, [ctx], tmp_path)
    finally:
        ctx.close()
    with datadir.config.open("a", encoding="utf-8") as config:  # the operator's [federation]
        config.write(expert.federation_config())
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        team = make_team(ctx)
        report_id = ctx.intake.submit(ReportInput(narrative="told to the expert", consent=Consent(
            sharing=True, share_account=True, share_scope_set=True)), DataKey.generate(), [],
            "test").report_id
        app = create_app(ctx, {"staff"})
        client: TestClient[Any, Any] = await aiohttp_client(app)
        session = app[appkeys.STAFF_SESSIONS].new(team.coordinator)
        client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})
        url = f"/staff/cases/{report_id}/share"
        html = await (await client.get(url)).text()
        assert 'value="narrative">' in html and 'value="narrative" disabled' not in html
        assert 'value="contact" disabled' in html  # no contact consent: never offered
        r = await client.post(url, data={"csrf": session.csrf, "engagement": "e" * 32,
                                         "expert": expert.expert_key, "groups": "narrative",
                                         "days": "7"})
        assert r.status == 409 and "has no engagement for this case" in await r.text()
        engagement = engaged(ctx, expert.expert_key, report_id)
        r = await client.post(url, data={"csrf": session.csrf, "engagement": engagement,
                                         "expert": expert.expert_key, "groups": "contact",
                                         "days": "7"})
        assert r.status == 409 and "did not agree to be contacted" in await r.text()
        assert ctx.db.read().execute("SELECT count(*) FROM expert_shares_sent"
                                     ).fetchone()[0] == 0
        r = await client.post(url, data={"csrf": session.csrf, "engagement": engagement,
                                         "expert": expert.expert_key, "groups": "narrative",
                                         "days": "7"}, allow_redirects=False)
        assert r.status == 303, await r.text()
        (share_id,) = ctx.db.read().execute("SELECT share_id FROM expert_shares_sent"
                                            ).fetchone()
        html = await (await client.get(url)).text()
        assert "a vetted medical expert" in html and "Stop this access" in html
        r = await client.post(f"/staff/cases/{report_id}/shares/{share_id}/revoke",
                              data={"csrf": session.csrf}, allow_redirects=False)
        assert r.status == 303
        assert ctx.shares.sent(share_id).revoked_at is not None  # type: ignore[union-attr]
        assert ctx.db.read().execute("SELECT count(*) FROM expert_share_parts"
                                     ).fetchone()[0] == 0
    finally:
        ctx.close()
