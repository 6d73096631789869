"""Accounts security over a real SQLite file: invitations, node-key grants and their removal,
TOTP, failed sign-ins (never locking), admin safeguards, recovery -- and every audit
entry written verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import passphrase as pw
from node import accounts, errors, invitations, keyring, second_factor
from node.backoffice import audit
from node.context import NodeContext
from node.web.failures import status_of
from node.web.staff.sessions import PENDING_SECONDS, SecondFactorState
from node.web.staff.sign_in_guard import FORGET_SECONDS, SignInThrottle
from tests.conftest import ADMIN, ADMIN_PASSPHRASE

FAST = pw.INSECURE_FAST_FOR_TESTS
PASS = "a long enough passphrase"
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
NOW = int(T0.timestamp())


def admin(ctx: NodeContext) -> accounts.UnlockedStaff:
    return accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)


def make(ctx: NodeContext, username: str, roles: set[str]) -> accounts.StaffMember:
    with ctx.db.write() as conn:
        member, _ = accounts.create(conn, username, PASS, roles, FAST, 0,
                                    certifier=ctx.keys.certifier)
    return member


def row(ctx: NodeContext, staff_id: str) -> dict[str, object]:
    return dict(ctx.db.read().execute("SELECT * FROM staff WHERE id = ?", (staff_id,))
                .fetchone())


def actions(ctx: NodeContext) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.detail) for e in audit.entries(ctx.db.read())]


def assert_chain(ctx: NodeContext) -> None:
    verdict = ctx.audit.verify(ctx.db.read())
    assert verdict.ok, verdict.reason


# ------------------------------------------------------------------ parsers (fuzzed)

@given(st.text(max_size=80))
def test_invitation_code_parser_accepts_only_codes(text: str) -> None:
    try:
        code = invitations.parse_invitation_code(text)
    except invitations.InvitationInvalid:
        return
    assert len(code) == 32 and code == text.strip()
    assert set(code) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@given(st.text(max_size=80) | st.from_regex(r"\A[0-9 \-]{6,9}\Z"))
def test_totp_code_parser_gives_six_ascii_digits_or_a_clear_error(text: str) -> None:
    try:
        code = second_factor.parse_totp_code(text)
    except second_factor.TotpFormat as exc:
        assert status_of(exc) == 400 and exc.message
        return
    assert len(code) == 6 and code.isascii() and code.isdigit()


def test_totp_code_parser_accepts_spaces_and_other_scripts_digits() -> None:
    assert second_factor.parse_totp_code(" 123 456 ") == "123456"
    assert second_factor.parse_totp_code("١٢٣-٤٥٦") == "123456"  # Arabic-Indic digits
    for bad in ("12345", "1234567", "12a456", ""):
        with pytest.raises(second_factor.TotpFormat):
            second_factor.parse_totp_code(bad)


# ------------------------------------------------------------------ TOTP

def test_totp_match_allows_one_step_of_drift_and_no_replay() -> None:
    secret = second_factor.new_totp_secret()
    totp = pyotp.TOTP(secret)
    assert len(secret) == 32
    step = second_factor.totp_match(secret, totp.at(T0), T0)
    assert step == totp.timecode(T0)
    assert second_factor.totp_match(secret, totp.at(T0 - timedelta(seconds=30)), T0) == step - 1
    assert second_factor.totp_match(secret, totp.at(T0 + timedelta(seconds=30)), T0) == step + 1
    assert second_factor.totp_match(secret, totp.at(T0 - timedelta(seconds=90)), T0) is None
    assert second_factor.totp_match(secret, totp.at(T0), T0, after_step=step) is None  # replay
    later = T0 + timedelta(seconds=30)
    assert second_factor.totp_match(secret, totp.at(later), later, after_step=step) == step + 1


def test_totp_secret_is_sealed_to_the_person_and_opened_by_the_passphrase(
        node_ctx: NodeContext) -> None:
    me = admin(node_ctx)
    secret = second_factor.new_totp_secret()
    with pytest.raises(second_factor.TotpRejected):
        second_factor.enable_totp(node_ctx.db, node_ctx.audit, me, secret, "000000"
                                  if pyotp.TOTP(secret).at(T0) != "000000" else "111111", T0)
    second_factor.enable_totp(node_ctx.db, node_ctx.audit, me, secret,
                              pyotp.TOTP(secret).at(T0), T0)
    stored = row(node_ctx, me.member.id)["totp_sealed"]
    assert isinstance(stored, bytes) and secret.encode() not in stored
    sign_in = accounts.begin_sign_in(node_ctx.db, node_ctx.audit, ADMIN, ADMIN_PASSPHRASE,
                                     FAST, NOW)
    assert sign_in.totp_secret == secret
    with pytest.raises(second_factor.TotpAlreadyOn):
        second_factor.enable_totp(node_ctx.db, node_ctx.audit, me, secret,
                                  pyotp.TOTP(secret).at(T0), T0)
    later = T0 + timedelta(minutes=5)
    second_factor.disable_totp(node_ctx.db, node_ctx.audit, me, pyotp.TOTP(secret).at(later),
                               later)
    assert row(node_ctx, me.member.id)["totp_sealed"] is None
    assert [a for _, a, _ in actions(node_ctx)].count("account.totp_on") == 1
    assert_chain(node_ctx)


def test_pending_second_steps_expire_after_five_minutes() -> None:
    clock = [1000.0]
    state = SecondFactorState(monotonic=lambda: clock[0])
    staff = accounts.UnlockedStaff(
        accounts.StaffMember("id", "u", frozenset({"analyst"}),
                             accounts.BoxSecretKey.generate().public_key),
        accounts.BoxSecretKey.generate())
    pending = state.start(staff, "SECRET")
    assert state.get(pending.id) is pending
    assert "SECRET" not in repr(pending)
    clock[0] += PENDING_SECONDS - 1
    assert state.get(pending.id) is pending
    clock[0] += 2
    assert state.get(pending.id) is None and len(state) == 0


def test_a_used_step_is_kept_in_the_database_and_never_goes_back(node_ctx: NodeContext
                                                                 ) -> None:
    me = admin(node_ctx)
    secret = second_factor.new_totp_secret()
    totp = pyotp.TOTP(secret)
    second_factor.enable_totp(node_ctx.db, node_ctx.audit, me, secret, totp.at(T0), T0)
    step = second_factor.last_step(node_ctx.db.read(), me.member.id)
    assert step == totp.timecode(T0)
    later = T0 + timedelta(seconds=30)
    assert second_factor.check_second_factor(node_ctx.db, me.member.id, secret,
                                             totp.at(later), later) == step + 1
    with pytest.raises(second_factor.TotpRejected):  # the same code, again
        second_factor.check_second_factor(node_ctx.db, me.member.id, secret, totp.at(later),
                                          later)
    with pytest.raises(second_factor.TotpRejected):  # an older one still within the drift
        second_factor.check_second_factor(node_ctx.db, me.member.id, secret, totp.at(T0),
                                          later)
    assert second_factor.last_step(node_ctx.db.read(), me.member.id) == step + 1
    second_factor.reset_totp(node_ctx.db, node_ctx.audit, "admin-id", me.member.id, NOW)
    assert second_factor.last_step(node_ctx.db.read(), me.member.id) is None


# ------------------------------------------------------------------ failed sign-ins

def test_delay_grows_from_the_third_failure_and_is_capped() -> None:
    assert [accounts.failure_delay(n) for n in range(0, 10)] == [
        0, 0, 0, 1, 2, 4, 8, 16, 30, 30]
    assert accounts.failure_delay(10_000) == accounts.MAX_DELAY_SECONDS


def test_no_number_of_failures_locks_an_account(node_ctx: NodeContext) -> None:
    bob = make(node_ctx, "bob", {"caseworker"})
    for n in range(1, 30):
        with pytest.raises(accounts.SignInFailed):
            accounts.begin_sign_in(node_ctx.db, node_ctx.audit, "bob", "wrong passphrase!",
                                   FAST, NOW + n)
    assert not row(node_ctx, bob.id)["locked"]
    assert accounts.begin_sign_in(node_ctx.db, node_ctx.audit, "bob", PASS, FAST,
                                  NOW + 31).staff.member.id == bob.id
    assert "account.lock" not in [a for _, a, _ in actions(node_ctx)]
    assert_chain(node_ctx)


def test_an_account_locked_before_says_so_only_to_its_passphrase(node_ctx: NodeContext
                                                                  ) -> None:
    """A lock set by an earlier version stays until an admin (or `backup-node
    unlock-account`) lifts it, but only the right passphrase learns of it."""
    bob = make(node_ctx, "bob", {"caseworker"})
    with node_ctx.db.write() as conn:
        conn.execute("UPDATE staff SET locked = 1, failed_logins = 10 WHERE id = ?", (bob.id,))
    with pytest.raises(accounts.SignInFailed):
        accounts.begin_sign_in(node_ctx.db, node_ctx.audit, "bob", "wrong passphrase!", FAST,
                               NOW)
    with pytest.raises(accounts.AccountLocked):
        accounts.begin_sign_in(node_ctx.db, node_ctx.audit, "bob", PASS, FAST, NOW)
    accounts.unlock_account(node_ctx.db, node_ctx.audit, "cli", bob.id, NOW + 12)
    assert accounts.begin_sign_in(node_ctx.db, node_ctx.audit, "bob", PASS, FAST,
                                  NOW + 13).staff.member.id == bob.id
    assert row(node_ctx, bob.id)["failed_logins"] == 0
    assert_chain(node_ctx)


def test_unknown_names_fail_like_wrong_passphrases_and_write_nothing(
        node_ctx: NodeContext) -> None:
    make(node_ctx, "bob", {"caseworker"})
    before = actions(node_ctx)
    for name in ("bob", "nobody"):
        with pytest.raises(accounts.SignInFailed) as failed:
            accounts.begin_sign_in(node_ctx.db, node_ctx.audit, name, "nope nope nope", FAST,
                                   NOW)
        assert type(failed.value) is accounts.SignInFailed
    assert actions(node_ctx) == before


def test_the_throttle_counts_per_username_and_source() -> None:
    clock = [0.0]
    throttle = SignInThrottle(monotonic=lambda: clock[0])
    for _ in range(3):
        delay = throttle.failed("Coord", "192.0.2.1")
    assert delay == 1 and throttle.held_back("coord", "192.0.2.1") == 1
    assert throttle.held_back("coord", "192.0.2.2") == 0      # another source
    assert throttle.held_back("someone", "192.0.2.1") == 0    # another username
    clock[0] += 1
    assert throttle.held_back("coord", "192.0.2.1") == 0      # the wait is over
    assert throttle.failures("coord", "192.0.2.1") == 3
    clock[0] += FORGET_SECONDS + 1
    assert throttle.failures("coord", "192.0.2.1") == 0
    throttle.failed("coord", "192.0.2.1")
    throttle.succeeded("coord", "192.0.2.1")
    assert throttle.failures("coord", "192.0.2.1") == 0


# ------------------------------------------------------------------ invitations

def test_invitation_is_single_use_stored_as_a_hash_and_expires(node_ctx: NodeContext) -> None:
    me = admin(node_ctx)
    code = invitations.invite(node_ctx.db, node_ctx.audit, me.member.id, "amina",
                              ["caseworker", "analyst"], NOW)
    stored = node_ctx.db.read().execute("SELECT * FROM invitations").fetchone()
    assert code.encode() not in bytes(stored["code_hash"]) and stored["username"] == "amina"
    with pytest.raises(accounts.UsernameTaken):
        invitations.invite(node_ctx.db, node_ctx.audit, me.member.id, "Amina", ["analyst"], NOW)
    with pytest.raises(accounts.PassphraseMismatch):
        invitations.accept_invitation(node_ctx.db, node_ctx.audit, code, PASS, PASS + "x",
                                      FAST, NOW + 60)
    staff = invitations.accept_invitation(node_ctx.db, node_ctx.audit, code, PASS, PASS, FAST,
                                          NOW + 60)
    assert staff.member.roles == {"caseworker", "analyst"} and not staff.node_keys
    with pytest.raises(invitations.InvitationUsed):
        invitations.accept_invitation(node_ctx.db, node_ctx.audit, code, PASS, PASS, FAST,
                                      NOW + 61)
    late = invitations.invite(node_ctx.db, node_ctx.audit, me.member.id, "late", ["analyst"], NOW)
    with pytest.raises(invitations.InvitationExpired):
        invitations.open_invitation(node_ctx.db.read(), late, NOW + invitations.INVITATION_SECONDS)
    with pytest.raises(invitations.InvitationInvalid):
        invitations.open_invitation(node_ctx.db.read(), "A" * 32, NOW)
    with pytest.raises(accounts.BadUsername):
        invitations.invite(node_ctx.db, node_ctx.audit, me.member.id, "a b", ["analyst"], NOW)
    with pytest.raises(accounts.NoRole):
        invitations.invite(node_ctx.db, node_ctx.audit, me.member.id, "carla", [], NOW)
    assert [a for _, a, _ in actions(node_ctx)] == [
        "account.invite", "account.create", "account.invite"]
    for _, _, detail in actions(node_ctx):
        assert "amina" not in detail and code not in detail
    assert_chain(node_ctx)


# ------------------------------------------------------------------ grants and removals

def test_grants_follow_roles_and_disabling_removes_them(node_ctx: NodeContext) -> None:
    me = admin(node_ctx)
    coord = make(node_ctx, "coord", {"coordinator"})
    analyst = make(node_ctx, "ana", {"analyst"})
    pending = {p.member.username: p.missing for p in accounts.pending_access(node_ctx.db.read())}
    assert pending == {"coord": {"intake", "analysis"}, "ana": {"analysis"}}
    assert accounts.unlock(node_ctx.db.read(), "coord", PASS).intake_key is None

    granted = accounts.grant_pending(node_ctx.db, node_ctx.audit, me, coord.id, NOW)
    assert set(granted) == {"intake", "analysis"}
    assert accounts.unlock(node_ctx.db.read(), "coord", PASS).intake_key is not None
    with pytest.raises(accounts.NothingToGrant):
        accounts.grant_pending(node_ctx.db, node_ctx.audit, me, coord.id, NOW)
    # someone without the key cannot give it
    no_keys = accounts.unlock(node_ctx.db.read(), "ana", PASS)
    with pytest.raises(accounts.NothingToGrant):
        accounts.grant_pending(node_ctx.db, node_ctx.audit, no_keys, analyst.id, NOW)
    accounts.grant_pending(node_ctx.db, node_ctx.audit, me, analyst.id, NOW)
    assert accounts.pending_access(node_ctx.db.read()) == []

    accounts.set_roles(node_ctx.db, node_ctx.audit, me.member.id, coord.id, ["analyst"], NOW)
    assert accounts.get_account(node_ctx.db.read(), coord.id).keys == {"analysis"}  # type: ignore[union-attr]
    accounts.set_disabled(node_ctx.db, node_ctx.audit, me.member.id, analyst.id, True, NOW)
    assert accounts.get_account(node_ctx.db.read(), analyst.id).keys == set()  # type: ignore[union-attr]
    with pytest.raises(errors.LoginFailed):
        accounts.begin_sign_in(node_ctx.db, node_ctx.audit, "ana", PASS, FAST, NOW)
    accounts.set_disabled(node_ctx.db, node_ctx.audit, me.member.id, analyst.id, False, NOW)
    assert [p.member.username for p in accounts.pending_access(node_ctx.db.read())] == ["ana"]
    revoked = [d for _, a, d in actions(node_ctx) if a == "key.revoke"]
    assert revoked == ["key=intake", "key=analysis"]
    assert_chain(node_ctx)


def test_the_last_admin_and_the_last_key_holder_are_protected(node_ctx: NodeContext) -> None:
    me = admin(node_ctx)
    mine = me.member.id
    with pytest.raises(accounts.LastAdmin):
        accounts.set_roles(node_ctx.db, node_ctx.audit, mine, mine, ["coordinator"], NOW)
    with pytest.raises(accounts.LastAdmin):
        accounts.set_disabled(node_ctx.db, node_ctx.audit, mine, mine, True, NOW)
    other = make(node_ctx, "admin2", {"admin"})
    # another admin now, but nobody else holds the node keys
    with pytest.raises(accounts.LastKeyHolder):
        accounts.set_disabled(node_ctx.db, node_ctx.audit, other.id, mine, True, NOW)
    accounts.set_roles(node_ctx.db, node_ctx.audit, mine, mine, ["admin", "coordinator"], NOW)
    accounts.set_roles(node_ctx.db, node_ctx.audit, mine, mine, ["coordinator"], NOW)
    assert accounts.get_account(node_ctx.db.read(), mine).roles == {"coordinator"}  # type: ignore[union-attr]
    with pytest.raises(accounts.LastAdmin):
        accounts.set_disabled(node_ctx.db, node_ctx.audit, other.id, other.id, True, NOW)
    # a locked admin cannot sign in to administer: it does not count as the one remaining
    admin3 = make(node_ctx, "admin3", {"admin"})
    with node_ctx.db.write() as conn:
        conn.execute("UPDATE staff SET locked = 1 WHERE id = ?", (admin3.id,))
    with pytest.raises(accounts.LastAdmin):
        accounts.set_roles(node_ctx.db, node_ctx.audit, other.id, other.id, ["analyst"], NOW)
    assert_chain(node_ctx)


# ------------------------------------------------------------------ passphrase and recovery

def test_changing_the_passphrase_keeps_the_key(node_ctx: NodeContext) -> None:
    me = admin(node_ctx)
    with pytest.raises(accounts.CurrentPassphraseWrong):
        accounts.change_passphrase(node_ctx.db, node_ctx.audit, me, "not it at all", PASS, PASS,
                                   FAST, NOW)
    accounts.change_passphrase(node_ctx.db, node_ctx.audit, me, ADMIN_PASSPHRASE, PASS, PASS,
                               FAST, NOW)
    again = accounts.unlock(node_ctx.db.read(), ADMIN, PASS)
    assert again.secret_key == me.secret_key and again.intake_key is not None
    assert_chain(node_ctx)


def test_recover_admin_with_the_node_keys(node_ctx: NodeContext) -> None:
    keys = {name: admin(node_ctx).node_keys[name] for name in accounts.NODE_KEYS}
    member = accounts.recover_admin(node_ctx.db, node_ctx.audit, "rescuer", PASS, keys, FAST,
                                    NOW)
    assert member.roles == accounts.RECOVERY_ROLES
    rescued = accounts.unlock(node_ctx.db.read(), "rescuer", PASS)
    assert set(rescued.node_keys) == {"intake", "analysis"}
    with pytest.raises(accounts.UsernameTaken):
        accounts.recover_admin(node_ctx.db, node_ctx.audit, "rescuer", PASS, keys, FAST, NOW)
    assert all(actor == "recovery" for actor, _, _ in actions(node_ctx))
    assert keyring.RECOVERY_HOLDER == "recovery"
    assert_chain(node_ctx)
