"""Issue 13, item 5: after disabling an account, the admin replaces the keys it held, with
one click on the accounts page of the real staff server.

The departed coordinator kept a copy of the intake and analysis keys. After the rotation
that copy opens nothing stored (reports, codings), the admin's open session holds the new
keys at once, services the serving process built at start (incident codings) seal to the
new key, and the chain of custody has one ``key.rotate`` entry per key naming the account.
"""

from __future__ import annotations

from typing import Any

from crypto.errors import DecryptionError
from crypto.keys import BoxSecretKey, DataKey
from node import accounts, key_rotation
from node.backoffice.incidents import IncidentCoding
from node.context import NodeContext
from node.intake.models import Consent, ReportInput
from node.web import appkeys
from tests.conftest import ADMIN, ADMIN_PASSPHRASE
from tests.integration.conftest import csrf_of
from tests.integration.test_staff_accounts import Office, csrf, office, sign_in
from tests.team import PASSPHRASE, make_team

__all__ = ["office"]  # the fixture, used by name


def _submit(ctx: NodeContext, text: str) -> str:
    return ctx.intake.submit(ReportInput(narrative=text, consent=Consent(care=True)),
                             DataKey.generate(), [], "test").report_id


def _opens(key: BoxSecretKey, sealed: bytes) -> bool:
    try:
        key.open_data_key(sealed)
    except DecryptionError:
        return False
    return True


def _sealed(ctx: NodeContext, table: str) -> list[bytes]:
    return [bytes(r[0]) for r in ctx.db.read().execute(f"SELECT sealed_key FROM {table}")]


def _admin_session(office: Office) -> Any:
    store = office.app[appkeys.STAFF_SESSIONS]
    (session,) = [s for s in store._items.values() if s.staff.member.username == ADMIN]
    return session


async def test_disabling_a_key_holder_offers_the_rotation_and_it_works(office: Office) -> None:
    ctx = office.ctx
    team = make_team(ctx)
    report_id = _submit(ctx, "before the departure")
    ctx.incidents.code(team.root, report_id, IncidentCoding(category="rape"))
    copied = dict(team.coordinator.node_keys)
    assert set(copied) == {accounts.INTAKE_KEY, accounts.ANALYSIS_KEY}
    departed = team.coordinator.member.id

    c = office.client
    await sign_in(c, ADMIN, ADMIN_PASSPHRASE)
    r = await c.post(f"/staff/accounts/{departed}/disable", data={"csrf": await csrf(c)},
                     allow_redirects=False)
    assert r.status == 303
    offer = r.headers["Location"]
    assert offer == (f"/staff/accounts?done=disabled&rotate={departed}&held=intake,analysis")
    page = await (await c.get(offer)).text()
    assert "Replace the keys this person held" in page
    assert "may have kept a copy of these keys" in page
    assert f'action="/staff/accounts/{departed}/rotate-keys"' in page

    r = await c.post(f"/staff/accounts/{departed}/rotate-keys", allow_redirects=False,
                     data=[("csrf", csrf_of(page)), ("keys", "intake"), ("keys", "analysis")])
    assert r.status == 303 and r.headers["Location"] == "/staff/accounts?done=rotated"
    assert "The keys were replaced." in await (await c.get(r.headers["Location"])).text()

    # the departed copy opens nothing stored; the admin's open session has the new keys
    session = _admin_session(office)
    for table, name in (("reports", accounts.INTAKE_KEY), ("incidents", accounts.ANALYSIS_KEY)):
        for sealed in _sealed(ctx, table):
            assert not _opens(copied[name], sealed), table
            assert _opens(session.staff.node_keys[name], sealed), table
    # the serving process's services seal to the new key from now on (a new coding, and a
    # report sealed by the intake service)
    fresh = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
    later = _submit(ctx, "after the rotation")
    ctx.incidents.code(fresh, later, IncidentCoding(category="rape"))
    for table, name in (("reports", accounts.INTAKE_KEY), ("incidents", accounts.ANALYSIS_KEY)):
        sealed = _sealed(ctx, table)
        assert all(_opens(fresh.node_keys[name], s) for s in sealed), table
        assert not any(_opens(copied[name], s) for s in sealed), table
    assert ctx.keys.analysis_public == fresh.node_keys[accounts.ANALYSIS_KEY].public_key

    rotations = [(e.object_id, e.detail) for e in key_rotation_entries(office)]
    assert [k for k, _ in rotations] == ["intake", "analysis"]
    assert all(d.endswith(f"after disabling {departed}") for _, d in rotations)
    office.assert_chain()


def key_rotation_entries(office: Office) -> list[Any]:
    from node.backoffice import audit

    return [e for e in audit.entries(office.ctx.db.read()) if e.action == "key.rotate"]


async def test_an_admin_without_the_keys_is_told_who_can(office: Office) -> None:
    """The offer is shown without a button, and a forged post changes nothing."""
    ctx = office.ctx
    team = make_team(ctx)  # admin2 is an admin without node keys
    departed = team.coordinator.member.id
    before = bytes(ctx.db.read().execute(
        "SELECT value FROM node_meta WHERE key = 'intake_public_key'").fetchone()[0])
    c = office.client

    await sign_in(c, "admin2", PASSPHRASE)
    r = await c.post(f"/staff/accounts/{departed}/disable", data={"csrf": await csrf(c)},
                     allow_redirects=False)
    page = await (await c.get(r.headers["Location"])).text()
    assert "you cannot replace them here" in page
    assert f'action="/staff/accounts/{departed}/rotate-keys"' not in page
    r = await c.post(f"/staff/accounts/{departed}/rotate-keys",
                     data=[("csrf", csrf_of(page)), ("keys", "intake")])
    assert r.status == 403
    assert "you cannot replace them here" in await r.text()
    after = bytes(ctx.db.read().execute(
        "SELECT value FROM node_meta WHERE key = 'intake_public_key'").fetchone()[0])
    assert after == before
    assert not key_rotation.held_by(ctx.db.read(), departed)
