"""/healthz and /metrics (issue 21) through the real serving process on 127.0.0.1: on the
staff address only, Prometheus text format, and nothing in them about a person -- no
report id, receipt, text or address, only route patterns and aggregates."""

from __future__ import annotations

import re
import sqlite3

import aiohttp

from node import accounts
from node.context import NodeContext
from node.datadir import DataDir
from node.server import running, sites
from tests.conftest import ADMIN
from tests.integration.test_federation_peers import submit

CANARY = "CANARY-MONITORING-NARRATIVE"
SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? -?[0-9.e+]+$')


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str, str]:
    async with session.get(url, allow_redirects=False) as r:
        return r.status, r.headers.get("Content-Type", ""), await r.text()


async def test_health_and_metrics_are_on_the_staff_address_only(node_ctx: NodeContext) -> None:
    async with running(node_ctx, sites(staff_port=0)) as node, \
            aiohttp.ClientSession() as session:
        assert (await _get(session, f"{node.staff_url}/healthz"))[::2] == (200, "ok\n")
        status, kind, _ = await _get(session, f"{node.staff_url}/metrics")
        assert status == 200 and kind.startswith("text/plain")
        for path in ("/healthz", "/metrics"):
            assert (await _get(session, f"{node.public_url}{path}"))[0] == 404


async def test_metrics_count_route_patterns_and_hold_nothing_about_a_person(
        node_ctx: NodeContext) -> None:
    report_id = submit(node_ctx, f"{CANARY} what happened")
    async with running(node_ctx, sites(staff_port=0)) as node, \
            aiohttp.ClientSession() as session:
        await _get(session, f"{node.public_url}/en/")
        # a staff page whose path carries a report id: counted by its pattern
        await _get(session, f"{node.staff_url}/staff/cases/{report_id}")
        await _get(session, f"{node.public_url}/no-such-page-{report_id}")
        _, _, text = await _get(session, f"{node.staff_url}/metrics")
    samples = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert samples and all(SAMPLE.match(ln) for ln in samples), samples
    for name in ("backup_up", "backup_reports", "backup_evidence_log_size",
                 "backup_statistics_budget_remaining", "backup_http_requests_total"):
        assert f"# TYPE {name} " in text
    assert 'backup_reports{status="new"} 1' in text
    assert 'route="/staff/cases/{report_id}"' in text
    assert 'route="unmatched"' in text
    assert report_id not in text and CANARY not in text and "127.0.0.1" not in text


async def test_healthz_says_custody_when_the_chain_was_edited(node_dir: DataDir,
                                                             node_ctx: NodeContext) -> None:
    staff_id = accounts.find_id(node_ctx.db.read(), ADMIN)
    assert staff_id is not None
    for _ in range(3):  # custody entries
        accounts.unlock_account(node_ctx.db, node_ctx.audit, staff_id, staff_id,
                                int(node_ctx.clock().timestamp()))
    writer = sqlite3.connect(node_dir.database)
    with writer:
        writer.execute("UPDATE audit_log SET detail = 'nothing happened' "
                       "WHERE seq = (SELECT MAX(seq) FROM audit_log)")
        writer.execute("UPDATE audit_log SET hash = zeroblob(32) "
                       "WHERE seq = (SELECT MAX(seq) FROM audit_log)")
    writer.close()
    async with running(node_ctx, sites(staff_port=0)) as node, \
            aiohttp.ClientSession() as session:
        assert (await _get(session, f"{node.staff_url}/healthz"))[::2] == (503, "custody\n")
