"""Issue 16's migration on the node of the previous version (the schema-10 fixture): the
expert tables appear, empty; the old accounts keep their roles and sign in as before; an
expert invited after the upgrade gets a profile and signing key of their own."""

from __future__ import annotations

from pathlib import Path

from crypto import passphrase as pw
from node import accounts, invitations
from node.context import open_node
from node.experts import profiles
from node.storage.migrations import MIGRATIONS
from tests.integration.test_schema10_fixture import copy_fixture

PASS = "a long enough passphrase"


def test_the_expert_tables_arrive_empty_and_old_accounts_are_unchanged(tmp_path: Path
                                                                       ) -> None:
    datadir, answers = copy_fixture(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        for table in ("expert_profiles", "expert_directory"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
        admin = accounts.unlock(conn, str(answers["admin"]), str(answers["passphrase"]))
        assert "expert" not in admin.member.roles and "admin" in admin.member.roles
        code = invitations.invite(ctx.db, ctx.audit, admin.member.id, "medic", {"expert"},
                                  1_800_000_000)
        expert = invitations.accept_invitation(ctx.db, ctx.audit, code, PASS, PASS,
                                               pw.INSECURE_FAST_FOR_TESTS, 1_800_000_000)
        stored = profiles.open_profile(ctx.db, ctx.audit, expert, 1_800_000_000)
        assert stored.profile is None and stored.availability == "away"
        assert profiles.signing_key(ctx.db.read(), expert).verify_key.raw() == \
            stored.signing_public_key
    finally:
        ctx.close()
