"""Issue 11's soak, bounded: hostile traffic (session floods, wrong passphrases against the
coordinator's account, staged uploads, malformed bodies) mixed with genuine reporters who each
send a whole report with a file through the no-JavaScript form, from distinct sources behind
a trusted proxy and from one shared onion address, against a real server on 127.0.0.1
(`tests.soak`). Outcomes only, never times; `bench/bench_soak.py` measures them."""

from __future__ import annotations

from pathlib import Path

from crypto import passphrase as pw
from node.context import open_node
from tests.conftest import make_node
from tests.soak import ALLOWED, MALFORMED, SoakPlan, soak, soak_config


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
    # minute), and behind the onion the store fills: newcomers are asked to come back (503)
    # while no draft is touched.
    assert hostile["session"][429] >= plan.flooders * (plan.session_posts - 11)
    assert hostile["session"][503] > 0
    # Strangers' guesses are refused as wrong passphrases, never a lock of the account.
    assert hostile["guess"][401] > 0
    # Staging is refused at its caps (per session, per source) long before the total.
    assert hostile["stage"][303] > 0 and hostile["stage"][429] + hostile["stage"][413] > 0
