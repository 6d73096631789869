"""Issue 11's soak, bounded: hostile traffic (session floods, wrong passphrases against the
coordinator's account, staged uploads, malformed bodies) mixed with genuine reporters who each
send a whole report with a file through the no-JavaScript form, from distinct sources behind
a trusted proxy and from one shared onion address, against a real server on 127.0.0.1
(`tests.soak`). Outcomes only, never times; `bench/bench_soak.py` measures them."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from crypto import passphrase as pw
from node.context import open_node
from node.server import Site, running
from node.web.app import PARTS
from tests.conftest import make_node
from tests.integration.conftest import csrf_of
from tests.soak import ALLOWED, CODE, MALFORMED, SoakPlan, soak, soak_config


async def test_genuine_reporters_and_the_coordinator_get_through_an_attack(
        tmp_path: Path) -> None:
    plan = SoakPlan()
    ctx = open_node(make_node(tmp_path / "node", soak_config(max_sessions=120)),
                    staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        out = await soak(ctx, plan)
    finally:
        ctx.close()

    # Every genuine report is accepted, its draft (words and file) intact until sent, its
    # receipt shown, and the coordinator reads it with its file.
    failures = {g.tag: g.failure for g in out.genuine if g.failure or not g.read_by_staff}
    assert failures == {}
    assert out.accepted == len(out.genuine) == plan.reporters + plan.onion_reporters
    assert out.drafts_lost == 0
    # The coordinator signed in during the attack; nothing got a status it may not get.
    assert out.coordinator_signed_in
    assert out.unexpected == []

    hostile = out.hostile_by_status()
    assert set(hostile) == set(ALLOWED)
    # Cookieless visits create nothing; every malformed body gets its 4xx.
    assert sum(hostile["malformed"].values()) == 2 * plan.malformed_rounds * len(MALFORMED)
    # Each clearnet flooder is stopped by its own per-source limit (10 new sessions a
    # minute: its 25 would take 90 s to earn, however slow the machine, at least 5 are
    # refused), and behind the onion the store fills: newcomers are asked to come back (503)
    # while no draft is touched.
    assert hostile["session"][429] >= plan.flooders * 5
    assert hostile["session"][503] > 0
    # Strangers' guesses are refused as wrong passphrases, never a lock of the account.
    assert hostile["guess"][401] > 0
    # Staging is refused at its caps (per session, per source) long before the total.
    assert hostile["stage"][303] > 0 and hostile["stage"][429] + hostile["stage"][413] > 0


async def test_a_receipt_is_not_pushed_out_between_sending_and_its_page(tmp_path: Path
                                                                        ) -> None:
    """Found by the soak's onion phase: once a report is sent its session holds no draft, so
    when every other place held a draft, the next stranger's new session ended it before
    the reporter's browser fetched the confirmation page, and the receipt (shown only once)
    was never shown. The session now stays until the receipt has been shown."""
    ctx = open_node(make_node(tmp_path / "node", soak_config(max_sessions=3)),
                    staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        async with running(ctx, (Site(PARTS),)) as node, \
                aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as reporter:
            base = node.public_url
            async with reporter.get(base + "/en/report/what") as r:
                token = csrf_of(await r.text())
            async with reporter.post(base + "/en/report/what", allow_redirects=False, data={
                    "csrf": token, "narrative": "what happened"}) as r:
                assert r.status == 303
            for n in range(2):  # every other place holds a stranger's draft
                assert await _new_session(base, f"192.0.2.{n + 1}") == 303
            async with reporter.post(base + "/en/report/review", allow_redirects=False,
                                     data={"csrf": token, "go": "next"}) as r:
                assert r.headers["Location"] == "/en/report/sent"
            assert await _new_session(base, "192.0.2.9") == 503  # not at the reporter's cost
            async with reporter.get(base + "/en/report/sent") as r:
                assert CODE.search(await r.text())
            # once shown, the place may go to a newcomer
            assert await _new_session(base, "192.0.2.9") == 303
    finally:
        ctx.close()


async def _new_session(base: str, source: str) -> int:
    headers = {"X-Forwarded-For": source}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        async with http.get(base + "/en/report/who", headers=headers) as r:
            token = csrf_of(await r.text())
        async with http.post(base + "/en/report/who", headers=headers, allow_redirects=False,
                             data={"csrf": token}) as r:
            return r.status
