"""Consent authenticated against a database writer (issue 13, item 6), against a real data
directory.

The attacker writes to ``node.db`` with the node stopped (a copy taken away and put back,
an admin's sqlite3 shell) but holds no key: they flip a consent flag, rewrite or remove a
history row, copy another report's consent, or ask for consent to be authenticated again.
What detects each: the consent tag (`node.intake.consent_auth`, HMAC under
``keys/consent.key``), checked at every gate -- referral and legal export
(`CaseAccess.require_consent`), statistics (`open_codings`) -- which then fails closed with
`ConsentUnverified`; or, for the upgrade flag and the key file, `consent_auth.load`, which
refuses to start.
"""

from __future__ import annotations

import html as html_lib
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from crypto import passphrase as pw
from crypto.keys import DataKey
from node import errors
from node.backoffice.incidents import IncidentCoding
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.intake import consent_auth
from node.intake.consent_auth import ConsentKeyError, ConsentUnverified
from node.intake.models import Consent, ReportInput
from node.intake.service import Receipt
from node.statistics.plan import ReleasePeriod
from node.statistics.service import StatisticsService
from node.web.app import create_app
from node.web.failures import status_of
from tests.conftest import ADMIN, ADMIN_PASSPHRASE
from tests.integration.conftest import csrf_of
from tests.integration.test_schema10_fixture import copy_fixture
from tests.team import Team, make_team
from tests.unit.node.test_statistics_service import SMALL_PLAN, code


def _open(datadir: DataDir) -> NodeContext:
    return open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                     receipt_params=pw.INSECURE_FAST_FOR_TESTS)


class Node:
    """A node that the test stops, writes to as the attacker, and starts again."""

    def __init__(self, datadir: DataDir) -> None:
        self.datadir = datadir
        self.ctx = _open(datadir)

    def tamper(self, *statements: tuple[str, tuple[object, ...]]) -> None:
        self.ctx.close()
        conn = sqlite3.connect(self.datadir.database, isolation_level=None)
        conn.execute("BEGIN")
        for sql, params in statements:
            conn.execute(sql, params)
        conn.execute("COMMIT")
        conn.close()
        self.ctx = _open(self.datadir)


@pytest.fixture
def node(node_dir: DataDir) -> Iterator[Node]:
    n = Node(node_dir)
    yield n
    n.ctx.close()


@pytest.fixture
def team(node: Node) -> Team:
    return make_team(node.ctx)


def submit(ctx: NodeContext, consent: Consent) -> Receipt:
    return ctx.intake.submit(ReportInput(narrative="what happened", consent=consent),
                             DataKey.generate(), [], "test")


def _gates(ctx: NodeContext, team: Team) -> dict[str, Callable[[str], object]]:
    return {
        "referral": lambda rid: ctx.referrals.refer(team.coordinator, rid, "clinic", "x"),
        "legal export": lambda rid: ctx.bundles.export(team.coordinator, rid),
    }


def test_honest_changes_keep_every_gate_open(node: Node, team: Team) -> None:
    r = submit(node.ctx, Consent(care=True))
    access = node.ctx.intake.open_receipt(r.code, r.secret)
    node.ctx.intake.change_consent(access, Consent(care=True, referral=True, legal=True))
    node.ctx.intake.change_consent(access, Consent(referral=True, legal=True))
    for gate in _gates(node.ctx, team).values():
        gate(r.report_id)
    node.ctx.intake.change_consent(access, Consent())
    for gate in _gates(node.ctx, team).values():
        with pytest.raises(errors.ConsentMissing) as refused:
            gate(r.report_id)
        assert type(refused.value) is errors.ConsentMissing  # refused, not tampered


@pytest.mark.parametrize("gate", ["referral", "legal export"])
@pytest.mark.parametrize("attack", ["flip the flag", "flip the flag and the history",
                                    "remove the revocation", "copy another report's consent"])
def test_a_database_writer_cannot_open_a_gate_the_reporter_closed(
        node: Node, team: Team, gate: str, attack: str) -> None:
    r = submit(node.ctx, Consent(care=True, referral=True, legal=True))
    other = submit(node.ctx, Consent(care=True, referral=True, legal=True))
    node.ctx.intake.change_consent(node.ctx.intake.open_receipt(r.code, r.secret),
                                   Consent(care=True))  # the reporter revokes
    with pytest.raises(errors.ConsentMissing):
        _gates(node.ctx, team)[gate](r.report_id)
    rid = r.report_id
    flip = ("UPDATE reports SET consent_referral = 1, consent_legal = 1 WHERE id = ?", (rid,))
    if attack == "flip the flag":
        node.tamper(flip)
    elif attack == "flip the flag and the history":
        node.tamper(flip, ("UPDATE consent_events SET referral = 1, legal = 1"
                           " WHERE report_id = ?", (rid,)))
    elif attack == "remove the revocation":
        node.tamper(flip, ("DELETE FROM consent_events WHERE report_id = ? AND source ="
                           " 'reporter'", (rid,)))
    else:
        node.tamper(flip, ("UPDATE reports SET consent_mac = (SELECT consent_mac FROM"
                           " reports WHERE id = ?) WHERE id = ?", (other.report_id, rid)))
    with pytest.raises(ConsentUnverified) as detected:
        _gates(node.ctx, team)[gate](rid)
    assert status_of(detected.value) == 409
    assert "altered" in detected.value.message
    # nothing was done: no referral recorded, no export in the chain of custody
    conn = node.ctx.db.read()
    assert conn.execute("SELECT COUNT(*) FROM referrals WHERE report_id = ?",
                        (rid,)).fetchone()[0] == 0
    # the untouched report still passes
    _gates(node.ctx, team)[gate](other.report_id)


def test_statistics_refuse_a_flipped_statistics_consent(node: Node, team: Team) -> None:
    honest = submit(node.ctx, Consent(statistics=True))
    refused = submit(node.ctx, Consent(statistics=False))
    for r in (honest, refused):
        code(node.ctx, team, r.report_id)
    node.tamper(("UPDATE reports SET consent_statistics = 1 WHERE id = ?",
                 (refused.report_id,)))
    stats = StatisticsService(node.ctx.db, node.ctx.config.model_copy(
        update={"statistics": SMALL_PLAN}), node.ctx.keys, node.ctx.audit, node.ctx.clock,
        consent=node.ctx.intake.consent)
    with pytest.raises(consent_auth.StatisticsConsentUnverified) as detected:
        stats.draft(team.analyst, ReleasePeriod(2025))
    assert detected.value.params == {"count": 1} and status_of(detected.value) == 409
    assert node.ctx.db.read().execute("SELECT COUNT(*) FROM statistics_releases"
                                      ).fetchone()[0] == 0
    assert node.ctx.statistics.consent is node.ctx.intake.consent  # the node's own passes it


def test_a_new_consent_column_is_covered_without_breaking_old_tags(node: Node,
                                                                    team: Team) -> None:
    """A consent or scope added later as a column (issue 12's court-disclosure scope goes
    through the consent model) is covered by the generic tag."""
    r = submit(node.ctx, Consent(legal=True))
    node.tamper(("ALTER TABLE reports ADD COLUMN consent_scope TEXT", ()))
    node.ctx.bundles.export(team.coordinator, r.report_id)  # old tags still verify
    with node.ctx.db.write() as conn:
        conn.execute("UPDATE reports SET consent_scope = 'summary' WHERE id = ?",
                     (r.report_id,))
        node.ctx.intake.consent.seal(conn, r.report_id)
    node.ctx.bundles.export(team.coordinator, r.report_id)
    node.tamper(("UPDATE reports SET consent_scope = 'everything' WHERE id = ?",
                 (r.report_id,)))
    with pytest.raises(ConsentUnverified):
        node.ctx.bundles.export(team.coordinator, r.report_id)


def test_a_writer_cannot_ask_for_consent_to_be_authenticated_again(node: Node) -> None:
    submit(node.ctx, Consent(legal=True))
    node.ctx.close()
    conn = sqlite3.connect(node.datadir.database, isolation_level=None)
    conn.execute("UPDATE reports SET consent_legal = 1")
    conn.execute("INSERT INTO node_meta (key, value) VALUES ('consent_auth_pending', X'31')")
    conn.close()
    with pytest.raises(ConsentKeyError, match="altered or replaced"):
        _open(node.datadir)
    conn = sqlite3.connect(node.datadir.database, isolation_level=None)
    conn.execute("DELETE FROM node_meta WHERE key LIKE 'consent_%'")
    conn.close()
    with pytest.raises(ConsentKeyError, match="missing"):
        _open(node.datadir)
    node.ctx = _open_restored(node)


def _open_restored(node: Node) -> NodeContext:
    # put the check back so that the fixture's close has a node to close
    key = consent_auth.ConsentKey(consent_auth.key_path(node.datadir.keys).read_bytes())
    conn = sqlite3.connect(node.datadir.database, isolation_level=None)
    conn.execute("INSERT INTO node_meta (key, value) VALUES ('consent_key_check', ?)",
                 (key.check_value(),))
    conn.close()
    return _open(node.datadir)


def test_a_missing_or_other_key_file_refuses_to_start(node: Node, tmp_path: Path) -> None:
    node.ctx.close()
    path = consent_auth.key_path(node.datadir.keys)
    saved = path.read_bytes()
    path.unlink()
    with pytest.raises(ConsentKeyError, match="missing"):
        _open(node.datadir)
    path.write_bytes(bytes(32))
    with pytest.raises(ConsentKeyError, match="does not match"):
        _open(node.datadir)
    path.write_bytes(saved)
    node.ctx = _open(node.datadir)


def test_the_schema10_fixture_is_authenticated_once_at_upgrade(tmp_path: Path) -> None:
    datadir, answers = copy_fixture(tmp_path)
    assert not consent_auth.key_path(datadir.keys).exists()
    ctx = _open(datadir)
    try:
        conn = ctx.db.read()
        ids = [row[0] for row in conn.execute("SELECT id FROM reports")]
        assert ids and ctx.intake.consent.unverified_reports(conn, ids) == []
        assert conn.execute("SELECT COUNT(*) FROM node_meta WHERE key ="
                            " 'consent_auth_pending'").fetchone()[0] == 0
        assert (consent_auth.key_path(datadir.keys).stat().st_mode & 0o777) == 0o600
        rid = str(answers["canary_report_id"])
    finally:
        ctx.close()
    # a restart does not authenticate again, and a later flip is detected
    conn2 = sqlite3.connect(datadir.database, isolation_level=None)
    conn2.execute("UPDATE reports SET consent_legal = 1 - consent_legal WHERE id = ?", (rid,))
    conn2.close()
    ctx = _open(datadir)
    try:
        assert ctx.intake.consent.unverified_reports(ctx.db.read(), [rid]) == [rid]
        with pytest.raises(ConsentUnverified):
            ctx.case_access.require_consent(rid, "legal")
    finally:
        ctx.close()


def test_coding_is_unaffected(node: Node, team: Team) -> None:
    r = submit(node.ctx, Consent(statistics=True))
    node.ctx.incidents.code(team.coordinator, r.report_id, IncidentCoding(category="rape"))
    assert node.ctx.intake.consent.unverified_reports(node.ctx.db.read(), [r.report_id]) == []


async def test_the_staff_page_says_so_in_the_persons_language(
        node: Node, team: Team,
        aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]) -> None:
    r = submit(node.ctx, Consent(care=True))
    node.tamper(("UPDATE reports SET consent_referral = 1 WHERE id = ?", (r.report_id,)))
    client = await aiohttp_client(create_app(node.ctx))
    french = {"Accept-Language": "fr"}
    page = await client.get("/staff/login", headers=french)
    resp = await client.post("/staff/login", allow_redirects=False, headers=french, data={
        "csrf": csrf_of(await page.text()), "username": ADMIN,
        "passphrase": ADMIN_PASSPHRASE})
    assert resp.status == 303
    case = f"/staff/cases/{r.report_id}"
    page = await client.get(case, headers=french)
    resp = await client.post(case + "/referrals", headers=french, allow_redirects=False,
                             data={"csrf": csrf_of(await page.text()),
                                   "service_id": "clinic", "shared": "x"})
    text = html_lib.unescape(await resp.text())
    assert resp.status == 409
    assert node.ctx.catalogues.get("fr").gettext(ConsentUnverified.message) in text
    assert node.ctx.db.read().execute("SELECT COUNT(*) FROM referrals").fetchone()[0] == 0
