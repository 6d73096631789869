"""Issue 13, items 3 and 5: stored public keys are certified by the node's identity key,
and the role keys are bound by a statement it signs.

The attacker writes to ``node.db`` with plain `sqlite3` and holds no key. Each test names
what detected the attack: the key certificate (`node.key_certificates`), checked before
anything is sealed to a stored key, or the role statement (`node.keyring`), checked when
the node opens.
"""

from __future__ import annotations

import sqlite3

import pytest

from crypto import passphrase as pw
from crypto.keys import BoxPublicKey, BoxSecretKey, DataKey, SigningKey
from node import accounts, keyring
from node.backoffice import audit
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.intake.models import Consent, ReportInput
from node.key_certificates import (
    INTAKE_SUBJECT,
    KeyNotAuthentic,
    is_authentic,
    staff_subject,
)
from node.keyring import KeysNotAuthentic
from tests.conftest import ADMIN, ADMIN_PASSPHRASE
from tests.integration.test_schema10_fixture import copy_fixture

FAST = pw.INSECURE_FAST_FOR_TESTS
PASS = "a long enough passphrase"


def _open(datadir: DataDir) -> NodeContext:
    return open_node(datadir, staff_params=FAST, receipt_params=FAST)


def _writer(datadir: DataDir) -> sqlite3.Connection:
    return sqlite3.connect(datadir.database, isolation_level=None)


def _new_account(ctx: NodeContext, username: str, roles: set[str]) -> accounts.StaffMember:
    with ctx.db.write() as conn:
        member, _ = accounts.create(conn, username, PASS, roles, FAST, 0,
                                    certifier=ctx.keys.certifier)
    return member


def _actions(ctx: NodeContext) -> list[str]:
    return [e.action for e in audit.entries(ctx.db.read())]


def test_a_swapped_staff_key_gets_no_grant_and_the_account_is_disabled(
        node_ctx: NodeContext) -> None:
    admin = accounts.unlock(node_ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
    newcomer = _new_account(node_ctx, "newcoord", {"coordinator"})
    attacker = BoxSecretKey.generate()
    _writer(node_ctx.datadir).execute("UPDATE staff SET box_public_key = ? WHERE id = ?",
                                      (attacker.public_key.raw(), newcomer.id))
    with pytest.raises(KeyNotAuthentic):  # detected by: the key certificate
        accounts.grant_pending(node_ctx.db, node_ctx.audit, admin, newcomer.id, 0)
    conn = node_ctx.db.read()
    assert conn.execute("SELECT COUNT(*) FROM key_wraps WHERE holder = ?",
                        (accounts.staff_holder(newcomer.id),)).fetchone()[0] == 0
    assert conn.execute("SELECT disabled FROM staff WHERE id = ?",
                        (newcomer.id,)).fetchone()[0] == 1
    assert _actions(node_ctx)[-1] == "account.key_not_authentic"
    assert node_ctx.audit.verify(conn).ok
    # the message is for the admin, in their language
    fr = node_ctx.catalogues.get("fr")
    assert fr.gettext(KeyNotAuthentic.message) != KeyNotAuthentic.message


def test_a_swapped_staff_key_gets_no_case(node_ctx: NodeContext) -> None:
    from tests.team import make_team

    team = make_team(node_ctx)
    report_id = node_ctx.intake.submit(ReportInput(narrative="n", consent=Consent(
        care=True)), DataKey.generate(), [], "test").report_id
    attacker = BoxSecretKey.generate()
    _writer(node_ctx.datadir).execute("UPDATE staff SET box_public_key = ? WHERE id = ?",
                                      (attacker.public_key.raw(), team.caseworker.member.id))
    with pytest.raises(KeyNotAuthentic):  # detected by: the key certificate
        node_ctx.case_access.assign(team.coordinator, report_id, team.caseworker.member.id)
    conn = node_ctx.db.read()
    assert conn.execute("SELECT COUNT(*) FROM case_key_wraps WHERE staff_id = ?",
                        (team.caseworker.member.id,)).fetchone()[0] == 0
    assert conn.execute("SELECT disabled FROM staff WHERE id = ?",
                        (team.caseworker.member.id,)).fetchone()[0] == 1


def test_another_accounts_certificate_does_not_certify_a_swapped_key(
        node_ctx: NodeContext) -> None:
    """Copying a valid certificate onto another subject: the subject is signed too."""
    admin = accounts.unlock(node_ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
    newcomer = _new_account(node_ctx, "newcoord", {"coordinator"})
    w = _writer(node_ctx.datadir)
    w.execute("UPDATE staff SET box_public_key = ? WHERE id = ?",
              (admin.member.public_key.raw(), newcomer.id))
    w.execute("UPDATE key_certificates SET public_key = ?, signature = (SELECT signature"
              " FROM key_certificates WHERE subject = ?) WHERE subject = ?",
              (admin.member.public_key.raw(), staff_subject(admin.member.id),
               staff_subject(newcomer.id)))
    with pytest.raises(KeyNotAuthentic):  # detected by: the key certificate (subject)
        accounts.grant_pending(node_ctx.db, node_ctx.audit, admin, newcomer.id, 0)


def test_a_flipped_bit_in_a_key_certificate_is_refused(node_ctx: NodeContext) -> None:
    newcomer = _new_account(node_ctx, "newcoord", {"coordinator"})
    conn = node_ctx.db.read()
    signature = conn.execute("SELECT signature FROM key_certificates WHERE subject = ?",
                             (staff_subject(newcomer.id),)).fetchone()[0]
    identity = node_ctx.keys.identity_public
    for bit in range(0, 512, 37):
        flipped = bytearray(signature)
        flipped[bit // 8] ^= 1 << (bit % 8)
        _writer(node_ctx.datadir).execute(
            "UPDATE key_certificates SET signature = ? WHERE subject = ?",
            (bytes(flipped), staff_subject(newcomer.id)))
        assert not is_authentic(conn, node_ctx.keys.node_id, identity,
                                staff_subject(newcomer.id), newcomer.public_key)
    raw = bytearray(newcomer.public_key.raw())
    raw[0] ^= 1
    _writer(node_ctx.datadir).execute(
        "UPDATE key_certificates SET signature = ? WHERE subject = ?",
        (signature, staff_subject(newcomer.id)))
    assert is_authentic(conn, node_ctx.keys.node_id, identity, staff_subject(newcomer.id),
                        newcomer.public_key)
    assert not is_authentic(conn, node_ctx.keys.node_id, identity,
                            staff_subject(newcomer.id), BoxPublicKey(bytes(raw)))


@pytest.mark.parametrize("meta_key", ["intake_public_key", "analysis_public_key"])
def test_a_swapped_node_key_stops_the_node_at_restart(node_dir: DataDir, meta_key: str) -> None:
    attacker = BoxSecretKey.generate()
    _writer(node_dir).execute("UPDATE node_meta SET value = ? WHERE key = ?",
                              (attacker.public_key.raw(), meta_key))
    with pytest.raises(KeysNotAuthentic) as caught:  # detected by: the key certificate
        _open(node_dir)
    assert meta_key.removesuffix("_public_key") in str(caught.value)


def test_a_swapped_staff_key_is_disabled_when_the_node_starts(node_dir: DataDir) -> None:
    ctx = _open(node_dir)
    newcomer = _new_account(ctx, "newcoord", {"coordinator"})
    ctx.close()
    _writer(node_dir).execute("UPDATE staff SET box_public_key = ? WHERE id = ?",
                              (BoxSecretKey.generate().public_key.raw(), newcomer.id))
    ctx = _open(node_dir)
    try:
        conn = ctx.db.read()
        assert conn.execute("SELECT disabled FROM staff WHERE id = ?",
                            (newcomer.id,)).fetchone()[0] == 1
        assert _actions(ctx)[-1] == "account.key_not_authentic"
        assert ctx.audit.verify(conn).ok
    finally:
        ctx.close()


def test_the_role_statement_binds_one_key_per_role(node_ctx: NodeContext) -> None:
    keys = node_ctx.keys
    publics = {role: k.verify_key.raw() for role, k in keys.roles.items()}
    assert set(publics) == set(keyring.ROLES)
    assert len(set(publics.values()) | {keys.identity_public.raw()}) == len(publics) + 1
    stored = node_ctx.db.read().execute(
        "SELECT value FROM node_meta WHERE key = 'role_statement'").fetchone()[0]
    bound = keyring.verify_role_statement(bytes(stored), keys.node_id, keys.identity_public)
    assert {r: k.raw() for r, k in bound.items()} == publics


def test_a_flipped_bit_in_the_role_statement_stops_the_node(node_dir: DataDir) -> None:
    w = _writer(node_dir)
    stored = bytes(w.execute("SELECT value FROM node_meta WHERE key = 'role_statement'"
                             ).fetchone()[0])
    for bit in (8 * 3 + 1, len(stored) * 8 - 9):  # in the text, in the signature
        flipped = bytearray(stored)
        flipped[bit // 8] ^= 1 << (bit % 8)
        w.execute("UPDATE node_meta SET value = ? WHERE key = 'role_statement'",
                  (bytes(flipped),))
        with pytest.raises(KeysNotAuthentic):  # detected by: the role statement
            _open(node_dir)
    w.execute("UPDATE node_meta SET value = ? WHERE key = 'role_statement'", (stored,))
    _open(node_dir).close()


def test_derived_role_keys_are_deterministic_and_separate() -> None:
    seed = SigningKey.generate()
    again = SigningKey(seed.seed())
    assert seed.derive(b"a").verify_key == again.derive(b"a").verify_key
    assert seed.derive(b"a").verify_key != seed.derive(b"b").verify_key
    assert seed.derive(b"a").verify_key != seed.verify_key
    assert SigningKey.generate().derive(b"a").verify_key != seed.derive(b"a").verify_key


def test_the_schema10_fixture_is_certified_once_at_upgrade(tmp_path) -> None:  # type: ignore[no-untyped-def]
    datadir, answers = copy_fixture(tmp_path)
    ctx = _open(datadir)
    try:
        conn = ctx.db.read()
        assert conn.execute("SELECT 1 FROM node_meta WHERE key = 'key_certificates_pending'"
                            ).fetchone() is None
        certifier = ctx.keys.certifier
        for staff_id, public in conn.execute("SELECT id, box_public_key FROM staff"):
            assert certifier.is_authentic(conn, staff_subject(staff_id), BoxPublicKey(public))
        assert certifier.is_authentic(conn, INTAKE_SUBJECT, ctx.keys.intake_public)
        # the chain signed by the identity key before issue 13 verifies, and goes on
        assert ctx.audit.verify(conn).ok
        before = audit.stored_head(conn)
        assert before is not None and before.legacy
        admin = accounts.unlock(conn, str(answers["admin"]), str(answers["passphrase"]))
        newcomer = _new_account(ctx, "newcoord", {"coordinator"})
        accounts.grant_pending(ctx.db, ctx.audit, admin, newcomer.id, 0)
        after = audit.stored_head(ctx.db.read())
        assert after is not None and not after.legacy
        assert ctx.audit.verify(ctx.db.read()).ok
    finally:
        ctx.close()
    # certified once: opening again signs nothing new and changes nothing
    ctx = _open(datadir)
    try:
        assert ctx.audit.verify(ctx.db.read()).ok
    finally:
        ctx.close()
