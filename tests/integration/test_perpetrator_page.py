"""The perpetrator page of a case (issue 18), through the real staff server: staff confirm
identifiers on a case whose reporter consented to matching; the names are shown there, and
stored only encrypted; a name alone, or a case without the consent, is refused with a clear
message; a confirmation can be taken back, its tokens withdrawn."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from crypto.keys import DataKey
from node.backoffice.access import Action
from node.context import NodeContext
from node.intake.models import Consent, ReportInput
from node.web import appkeys
from node.web.app import create_app
from node.web.staff.common import STAFF_COOKIE
from tests.conftest import files_containing
from tests.team import make_team

NAME = "Zubayr Qanadil-Harrow"  # invented, and a canary in the data directory


async def _client(ctx: NodeContext, aiohttp_client: Any, who: Any
                  ) -> tuple[TestClient[Any, Any], str]:
    app = create_app(ctx, {"staff"})
    client: TestClient[Any, Any] = await aiohttp_client(app)
    session = app[appkeys.STAFF_SESSIONS].new(who)
    client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})
    return client, session.csrf


def _case(ctx: NodeContext, **consent: bool) -> str:
    return ctx.intake.submit(ReportInput(narrative="what happened", consent=Consent(**consent)),
                             DataKey.generate(), [], "test").report_id


async def test_confirm_show_and_remove(node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    report_id = _case(node_ctx, care=True, matching=True)
    client, csrf = await _client(node_ctx, aiohttp_client, team.coordinator)
    path = f"/staff/cases/{report_id}/perpetrators"
    page = await (await client.get(path)).text()
    assert 'action="' + path + '"' in page and "No identifier confirmed yet." in page

    r = await client.post(path, data={"csrf": csrf, "names": NAME, "rank": ""})
    assert r.status == 400
    assert "A name alone would match strangers." in await r.text()

    r = await client.post(path, data={"csrf": csrf, "names": f"{NAME}\nAbu Tarbush",
                                      "group": "Jaysh al-Nasr", "unit": "34th Brigade",
                                      "rank": "colonel"})
    assert r.status == 200 and str(r.url).endswith(path)
    page = await r.text()
    assert "The identifiers were confirmed." in page and NAME in page
    assert "Colonel or lieutenant colonel" in page
    assert files_containing(node_ctx.datadir.root, NAME.encode()) == []
    audit = node_ctx.db.read().execute("SELECT action, detail FROM audit_log"
                                       " WHERE object_id = ?", (report_id,)).fetchall()
    assert any(a["action"] == "case.perpetrator" for a in audit)
    assert not any(NAME in a["detail"] for a in audit)

    (identifier,) = node_ctx.perpetrators.confirmed(
        report_id, node_ctx.case_access.open_case(team.coordinator, Action.READ_CASE, report_id))
    node_ctx.perpetrators.record_tokens(report_id, identifier.id, 1, [("name_group", b"t" * 64)])
    with node_ctx.db.write() as conn:  # submitted to the observatory
        conn.execute("UPDATE matching_tokens SET submitted_at = 1")
    r = await client.post(f"{path}/{identifier.id}/remove", data={"csrf": csrf})
    assert r.status == 200 and "No identifier confirmed yet." in await r.text()
    conn = node_ctx.db.read()
    assert conn.execute("SELECT COUNT(*) FROM matching_tokens").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM matching_withdrawals").fetchone()[0] == 1


async def test_without_the_reporters_consent(node_ctx: NodeContext,
                                             aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    report_id = _case(node_ctx, care=True)
    client, csrf = await _client(node_ctx, aiohttp_client, team.coordinator)
    path = f"/staff/cases/{report_id}/perpetrators"
    page = await (await client.get(path)).text()
    assert 'id="no-matching-consent"' in page and 'name="names"' not in page
    r = await client.post(path, data={"csrf": csrf, "names": NAME, "group": "Jaysh al-Nasr"})
    assert r.status == 409 and "Nothing was done." in await r.text()
    assert node_ctx.db.read().execute(
        "SELECT COUNT(*) FROM perpetrator_identifiers").fetchone()[0] == 0
    case = await (await client.get(f"/staff/cases/{report_id}")).text()
    assert 'id="perpetrators-link"' in case


async def test_ask_to_be_introduced_then_open_the_conversation(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    """Issue 18's connection on the match page: plain words on what is shared, the request
    kept for the federation round, then (once introduced) a link to the conversation, and
    the unread count in the coordinator's navigation."""
    from node.experts.thread_content import seal
    from node.matching import introductions
    from protocol.matching import CoordinatorKeys

    team = make_team(node_ctx)
    report_id = _case(node_ctx, care=True, matching=True)
    ref = "5e" * 16
    with node_ctx.db.write() as conn:
        conn.execute("INSERT INTO matching_matches (case_ref, report_id, others, epoch,"
                     " notified_at) VALUES (?, ?, 1, 1, 0)", (ref, report_id))
    client, csrf = await _client(node_ctx, aiohttp_client, team.coordinator)
    path = f"/staff/cases/{report_id}/perpetrators"
    page = await (await client.get(path)).text()
    assert "never a name, nor anything of the case" in page
    assert f'action="{path}/matches/{ref}/introduce"' in page
    r = await client.post(f"{path}/matches/{ref}/introduce", data={"csrf": csrf})
    assert r.status == 200
    page = await r.text()
    assert "Your agreement was sent." in page and "Waiting for the other organisation" in page
    (request,) = introductions.due(node_ctx.db.read())
    assert request.decision == "agree" and request.case_ref == ref
    assert request.coordinator is not None
    assert introductions.keys_authentic(request.coordinator,
                                        node_ctx.keys.identity_public.raw().hex())
    flipped = request.coordinator.certificate[:-1] + (
        "0" if request.coordinator.certificate[-1] != "0" else "1")
    assert not introductions.keys_authentic(
        request.coordinator.model_copy(update={"certificate": flipped}),
        node_ctx.keys.identity_public.raw().hex())
    assert (await client.post(f"{path}/matches/{'ff' * 16}/introduce",
                              data={"csrf": csrf})).status == 404
    # the observatory introduced them: the thread is opened by the round (here, directly)
    thread_id, peer = "7a" * 16, CoordinatorKeys(
        node_id="ab" * 16, coordinator_key="cd" * 32, coordinator_box_key="ef" * 32,
        certificate="00" * 64)
    with node_ctx.db.write() as conn:
        mine = request.coordinator
        node_ctx.threads.introduce_in(conn, staff_id=team.coordinator.member.id,
                                      local_key=mine.coordinator_key,
                                      local_box_key=mine.coordinator_box_key,
                                      thread_id=thread_id, peer_node=peer.node_id,
                                      peer_key=peer.coordinator_key,
                                      peer_box_key=peer.coordinator_box_key, report_id=report_id)
        conn.execute("UPDATE matching_introductions SET thread_id = ?, introduced_at = 1",
                     (thread_id,))
        conn.execute(  # a message from them, not read yet
            "INSERT INTO expert_thread_messages (thread_id, reader_key, message_id, author_key,"
            " sequence, sealed, sent_at, received_at) VALUES (?, ?, ?, ?, 1, ?, 1, 1)",
            (thread_id, mine.coordinator_key, "9b" * 16, peer.coordinator_key,
             seal_for(seal, mine.coordinator_box_key, thread_id)))
    page = await (await client.get(path)).text()
    assert f'href="/staff/threads/{thread_id}"' in page
    assert 'id="nav-threads"' in page and '<span class="badge new"' in page.split(
        'id="nav-threads"')[1].split("</a>")[0]
    threads = await (await client.get("/staff/threads")).text()
    assert thread_id in threads


def seal_for(seal: Any, box_key: str, thread_id: str) -> bytes:
    from node.experts.thread_content import Content
    return bytes(seal(Content(text="Hello"), thread_id=thread_id, message_id="9b" * 16,
                      to=box_key))
