"""Staff accounts and the keys they unlock (invariant 2: keys follow people).

Each person has an X25519 key pair; the secret half is wrapped under Argon2id of their
passphrase. Node-level secret keys (the intake key that opens new reports) are sealed to
the public keys of the people allowed to use them, and to the recovery key.

Also here, because they are all about who may hold which key (issue 3, "Roles and access"):
node-key grants and their removal, signing in with a passphrase (slowing and locking
repeated failures), changing one's own passphrase, the account changes an admin makes, and
recovery. The second factor is in `node.second_factor`, invitations in `node.invitations`.
Failed sign-ins are held back per (username, source) by the staff office, in memory
(`node.web.staff.sign_in_guard`): nothing here counts them or locks an account, so that a
stranger who guesses at a coordinator's username slows only their own attempts.
Every change appends to the audit chain in the same write transaction; no passphrase, code,
secret or username ever goes into an audit entry (object ids are random account ids).
"""

from __future__ import annotations

import hmac
import re
import secrets
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from crypto import passphrase as pw
from crypto.errors import DecryptionError
from crypto.keys import BoxPublicKey, BoxSecretKey
from node import errors, passphrase_strength
from node.backoffice.audit import AuditLog
from node.i18n import N_
from node.key_certificates import Certifier, KeyNotAuthentic
from node.storage.database import Database

# An expert (issue 16) signs in only on the expert app (`node.web.expert`), never the office.
ROLES = ("admin", "coordinator", "caseworker", "analyst", "expert")
INTAKE_KEY = "intake"      # opens every report's data key: coordinators (triage)
ANALYSIS_KEY = "analysis"  # opens incident codings, never reports: analysts, coordinators
NODE_KEYS_BY_ROLE = {"coordinator": (INTAKE_KEY, ANALYSIS_KEY), "analyst": (ANALYSIS_KEY,)}
NODE_KEYS = (INTAKE_KEY, ANALYSIS_KEY)
MIN_PASSPHRASE_CHARS = 12
_SK_CONTEXT = b"staff-secret-key:"
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,39}")

# Failed sign-ins (OWASP Authentication Cheat Sheet, "Login Throttling"): answers to one
# (username, source) are held back from its 3rd consecutive failure, doubling up to 30 s.
# No number of failures locks an account: a lock that strangers can set is a way to keep
# coordinators out (issue 11). The per-address rate limit is a separate, earlier defence.
SLOW_FROM_FAILURES = 3
MAX_DELAY_SECONDS = 30


# ------------------------------------------------------------------ errors

class WeakPassphrase(errors.InvalidInput):
    message = N_("The passphrase must have at least %(limit)s characters. "
                        "Several unrelated words are easy to remember and hard to guess.")


class GuessablePassphrase(WeakPassphrase):
    """Long enough but too easy to guess (zxcvbn's estimate, `node.passphrase_strength`);
    `advice` is one of our own messages (`passphrase_strength.ADVICE`)."""

    message = N_("This passphrase would be too easy to guess for someone with a copy of the "
                 "server (strength %(score)s of 4; %(minimum)s is needed). %(advice)s "
                 "Several unrelated words, like the suggestion on this page, are easy to "
                 "remember and hard to guess.")


class PassphraseMismatch(errors.InvalidInput):
    message = N_("The two passphrases are not the same. Type the same passphrase twice.")


class CurrentPassphraseWrong(errors.InvalidInput):
    message = N_("Your current passphrase is not right. Nothing was changed. Try again.")


class BadUsername(errors.InvalidInput):
    message = N_("A username has 2 to 40 characters: letters, digits, dots, hyphens or "
                 "underscores, starting with a letter or a digit. Choose another one.")


class UsernameTaken(errors.InvalidInput):
    message = N_("This username is already used or invited. Choose another one.")


class NoRole(errors.UnknownChoice):
    message = N_("Choose at least one role.")


class ExpertAlone(errors.UnknownChoice):
    message = N_("An expert account has no other role. Invite the person twice if they "
                 "also work in your office.")


class SignInFailed(errors.LoginFailed):
    """A wrong username, passphrase or code -- or an attempt held back -- all alike."""


class AccountLocked(errors.NodeError):
    """Only an account locked by an earlier version (failures no longer lock), and only
    said to someone who gave its right passphrase."""

    message = N_("This account is locked after too many failed sign-in attempts. "
                 "Ask an administrator of your organisation to unlock it.")


class LastAdmin(errors.NodeError):
    message = N_("Nothing was changed: this would leave no administrator who can sign in. "
                 "Give another account the admin role first.")


class LastKeyHolder(errors.NodeError):
    message = N_("Nothing was changed: this would leave nobody who can open the node's "
                 "reports or incident codings. Give another coordinator their access first "
                 "(Pending access).")


class NothingToGrant(errors.NodeError):
    message = N_("There is no access you can give this person: they already have it, or "
                 "you do not hold it yourself. Ask a coordinator who holds it.")


class AccountGone(errors.NotFound):
    message = N_("This account does not exist or is disabled.")


# ------------------------------------------------------------------ people and their keys

@dataclass(frozen=True)
class StaffMember:
    id: str
    username: str
    roles: frozenset[str]
    public_key: BoxPublicKey


@dataclass(frozen=True)
class UnlockedStaff:
    """A signed-in person with their keys in memory (never written anywhere)."""

    member: StaffMember
    secret_key: BoxSecretKey = field(repr=False)
    node_keys: dict[str, BoxSecretKey] = field(repr=False, default_factory=dict)

    def has_role(self, role: str) -> bool:
        return role in self.member.roles

    @property
    def intake_key(self) -> BoxSecretKey | None:
        return self.node_keys.get(INTAKE_KEY)

    @property
    def analysis_key(self) -> BoxSecretKey | None:
        return self.node_keys.get(ANALYSIS_KEY)


def check_passphrase(passphrase: str, user_inputs: tuple[str, ...] = ()) -> None:
    """`WeakPassphrase` if shorter than `MIN_PASSPHRASE_CHARS`, `GuessablePassphrase` if
    zxcvbn's score is below `node.passphrase_strength.MIN_SCORE` (`user_inputs`: words an
    attacker would try first, such as the username)."""
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise WeakPassphrase(limit=MIN_PASSPHRASE_CHARS)
    found = passphrase_strength.strength(passphrase, user_inputs)
    if not found.acceptable:
        raise GuessablePassphrase(score=found.score, minimum=passphrase_strength.MIN_SCORE,
                                  advice=passphrase_strength.advice(found)[0])


def check_new_passphrase(passphrase: str, repeat: str, user_inputs: tuple[str, ...] = ()
                         ) -> None:
    check_passphrase(passphrase, user_inputs)
    if not hmac.compare_digest(pw.normalize(passphrase), pw.normalize(repeat)):
        raise PassphraseMismatch(field="repeat")


def check_roles(roles: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(roles)
    if not chosen:
        raise NoRole(field="roles")
    if chosen - set(ROLES):
        raise errors.UnknownChoice(field="roles")
    if "expert" in chosen and len(chosen) > 1:
        raise ExpertAlone(field="roles")
    return chosen


def check_username(username: str) -> str:
    username = username.strip()
    if not _USERNAME.fullmatch(username):
        raise BadUsername(field="username")
    return username


def username_free(conn: sqlite3.Connection, username: str, now: int) -> bool:
    """No account and no pending invitation has this username (in any letter case)."""
    if conn.execute("SELECT 1 FROM staff WHERE username = ? COLLATE NOCASE",
                    (username,)).fetchone():
        return False
    return conn.execute(
        "SELECT 1 FROM invitations WHERE username = ? COLLATE NOCASE AND used_at IS NULL"
        " AND expires_at > ?", (username, now)).fetchone() is None


def keys_needed(roles: Iterable[str]) -> frozenset[str]:
    return frozenset(k for r in roles for k in NODE_KEYS_BY_ROLE.get(r, ()))


@dataclass(frozen=True)
class PreparedAccount:
    """A new key pair, wrapped under the passphrase: Argon2id runs before the write lock."""

    staff_id: str
    secret_key: BoxSecretKey = field(repr=False)
    wrap: bytes = field(repr=False)


def prepare_account(passphrase: str, params: pw.KdfParams) -> PreparedAccount:
    """A fresh id and key pair for a new account (here or `invitations.accept_invitation`)."""
    check_passphrase(passphrase)
    staff_id = secrets.token_hex(8)
    sk = BoxSecretKey.generate()
    return PreparedAccount(staff_id, sk, pw.wrap_key(sk, passphrase, params,
                                                     _SK_CONTEXT + staff_id.encode()))


def insert_account(conn: sqlite3.Connection, prepared: PreparedAccount, username: str,
                   roles: Iterable[str], hour: int, *, certifier: Certifier) -> StaffMember:
    """Write a prepared account, and the certificate of its public key, inside the
    caller's write transaction."""
    chosen = check_roles(roles)
    public = prepared.secret_key.public_key
    certifier.certify(conn, staff_holder(prepared.staff_id), public)
    conn.execute(
        "INSERT INTO staff (id, username, roles, box_public_key, secret_key_wrap, created_hour)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (prepared.staff_id, username, ",".join(sorted(chosen)), public.raw(), prepared.wrap,
         hour))
    return StaffMember(prepared.staff_id, username, chosen, public)


def create(conn: sqlite3.Connection, username: str, passphrase: str, roles: set[str],
           params: pw.KdfParams, hour: int, *,
           certifier: Certifier) -> tuple[StaffMember, BoxSecretKey]:
    check_passphrase(passphrase, (username,))
    check_roles(roles)
    prepared = prepare_account(passphrase, params)
    return (insert_account(conn, prepared, username, roles, hour, certifier=certifier),
            prepared.secret_key)


def grant_key(conn: sqlite3.Connection, key_name: str, key: BoxSecretKey,
              holder: str, holder_public: BoxPublicKey, *, certifier: Certifier) -> None:
    """Seal a node key to `holder` -- only if `holder_public` is the key the node
    certified as theirs (`KeyNotAuthentic` otherwise, sealing nothing)."""
    certifier.check(conn, holder, holder_public)
    conn.execute(
        "INSERT OR REPLACE INTO key_wraps (key_name, holder, sealed) VALUES (?, ?, ?)",
        (key_name, holder, holder_public.seal_box_key(key)))


def staff_holder(staff_id: str) -> str:
    return f"staff:{staff_id}"


def _member(row: sqlite3.Row) -> StaffMember:
    return StaffMember(row["id"], row["username"], frozenset(row["roles"].split(",")),
                       BoxPublicKey(row["box_public_key"]))


def unlock(conn: sqlite3.Connection, username: str, passphrase: str) -> UnlockedStaff:
    """Open a person's keys with their passphrase; `LoginFailed` for any failure.

    A key-opening primitive: it neither counts failures nor honours a lock. The sign-in
    pages use `begin_sign_in`, which does both."""
    row = conn.execute("SELECT * FROM staff WHERE username = ? AND disabled = 0",
                       (username,)).fetchone()
    if row is None:
        # Spend the same Argon2id time as a real attempt so timing does not reveal accounts.
        pw.spend_one_attempt(passphrase, pw.STAFF)
        raise errors.LoginFailed()
    try:
        sk = pw.open_box_key(row["secret_key_wrap"], passphrase, _SK_CONTEXT + row["id"].encode())
    except DecryptionError:
        raise errors.LoginFailed() from None
    return UnlockedStaff(_member(row), sk, open_node_keys(conn, row["id"], sk))


def open_node_keys(conn: sqlite3.Connection, staff_id: str,
                   sk: BoxSecretKey) -> dict[str, BoxSecretKey]:
    """The node-level keys sealed to this person (what their roles were granted)."""
    return {r["key_name"]: sk.open_box_key(r["sealed"]) for r in conn.execute(
        "SELECT key_name, sealed FROM key_wraps WHERE holder = ?", (staff_holder(staff_id),))}


def get(conn: sqlite3.Connection, staff_id: str) -> StaffMember | None:
    row = conn.execute("SELECT * FROM staff WHERE id = ?", (staff_id,)).fetchone()
    return _member(row) if row is not None else None


def usernames(conn: sqlite3.Connection, staff_ids: Iterable[str]) -> dict[str, str]:
    """The username of each of `staff_ids` that is an account (others are left out: the
    reporter, the node itself, the CLI, recovery)."""
    ids = sorted(set(staff_ids))
    out: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        out.update((r[0], r[1]) for r in conn.execute(
            f"SELECT id, username FROM staff WHERE id IN ({', '.join('?' * len(chunk))})",  # noqa: S608
            chunk))
    return out


def _held(conn: sqlite3.Connection, staff_id: str) -> frozenset[str]:
    return frozenset(r[0] for r in conn.execute(
        "SELECT key_name FROM key_wraps WHERE holder = ?", (staff_holder(staff_id),)))


def append_audit(conn: sqlite3.Connection, audit: AuditLog, now: int, actor: str, action: str,
                 object_id: str, detail: str = "", object_type: str = "account") -> None:
    """One audit entry about an account (or, with `object_type`, an invitation)."""
    audit.append(conn, at=now, actor=actor, action=action, object_type=object_type,
                 object_id=object_id, detail=detail)


# ------------------------------------------------------------------ signing in

def failure_delay(failures: int) -> float:
    """Seconds to hold back the answer to a failed sign-in: none for the first two, then
    1, 2, 4, ... up to `MAX_DELAY_SECONDS`."""
    if failures < SLOW_FROM_FAILURES:
        return 0.0
    return float(min(2 ** min(failures - SLOW_FROM_FAILURES, 8), MAX_DELAY_SECONDS))


@dataclass(frozen=True)
class SignIn:
    """A passphrase that opened the person's key. With `totp_secret`, a second step must
    pass (`second_factor.check_second_factor`) before `finish_sign_in` starts the session."""

    staff: UnlockedStaff
    totp_secret: str | None = field(default=None, repr=False)


def begin_sign_in(db: Database, audit: AuditLog, username: str, passphrase: str,
                  params: pw.KdfParams, now: int) -> SignIn:
    """Check the passphrase. Raises `SignInFailed` for an unknown username or a wrong
    passphrase alike, after the same Argon2id work and without writing anything; an account
    an earlier version locked raises `AccountLocked`, but only to its right passphrase."""
    row = db.read().execute("SELECT * FROM staff WHERE username = ? AND disabled = 0",
                            (username,)).fetchone()
    if row is None:
        # Spend the same Argon2id time as a real attempt so timing does not reveal accounts.
        pw.spend_one_attempt(passphrase, params)
        raise SignInFailed()
    try:
        sk = pw.open_box_key(row["secret_key_wrap"], passphrase, _SK_CONTEXT + row["id"].encode())
    except DecryptionError:
        raise SignInFailed() from None
    if row["locked"]:
        raise AccountLocked()
    staff = UnlockedStaff(_member(row), sk, open_node_keys(db.read(), row["id"], sk))
    if row["totp_sealed"] is not None:
        return SignIn(staff, sk.open(row["totp_sealed"]).decode("ascii"))
    finish_sign_in(db, audit, staff.member.id, now)
    return SignIn(staff)


def finish_sign_in(db: Database, audit: AuditLog, staff_id: str, now: int) -> None:
    """Every step passed: reset the failure count, unless the account was locked or
    disabled meanwhile (by concurrent guessing or an admin)."""
    with db.write() as conn:
        row = conn.execute("SELECT locked, disabled FROM staff WHERE id = ?",
                           (staff_id,)).fetchone()
        if row is None or row["disabled"]:
            raise SignInFailed()
        if row["locked"]:
            raise AccountLocked()
        conn.execute("UPDATE staff SET failed_logins = 0 WHERE id = ?", (staff_id,))
        append_audit(conn, audit, now, staff_id, "account.sign_in", staff_id)


# ------------------------------------------------------------------ own passphrase

def change_passphrase(db: Database, audit: AuditLog, staff: UnlockedStaff, current: str,
                      new: str, repeat: str, params: pw.KdfParams, now: int) -> None:
    """Re-wrap the person's own secret key under a new passphrase (the key stays the same,
    so every wrap sealed to it keeps working)."""
    check_new_passphrase(new, repeat, (staff.member.username,))
    staff_id = staff.member.id
    row = db.read().execute("SELECT secret_key_wrap FROM staff WHERE id = ?",
                            (staff_id,)).fetchone()
    context = _SK_CONTEXT + staff_id.encode()
    try:
        pw.open_box_key(row["secret_key_wrap"], current, context)
    except DecryptionError:
        raise CurrentPassphraseWrong(field="current") from None
    wrap = pw.wrap_key(staff.secret_key, new, params, context)
    with db.write() as conn:
        conn.execute("UPDATE staff SET secret_key_wrap = ? WHERE id = ?", (wrap, staff_id))
        append_audit(conn, audit, now, staff_id, "account.passphrase", staff_id)


# ------------------------------------------------------------------ node-key grants

@dataclass(frozen=True)
class PendingAccess:
    member: StaffMember
    missing: frozenset[str]  # node keys the person's roles need and they do not hold


def pending_access(conn: sqlite3.Connection) -> list[PendingAccess]:
    """Enabled accounts whose roles need node keys they do not hold yet."""
    out = []
    for row in conn.execute("SELECT * FROM staff WHERE disabled = 0 ORDER BY username"):
        member = _member(row)
        missing = keys_needed(member.roles) - _held(conn, member.id)
        if missing:
            out.append(PendingAccess(member, missing))
    return out


# How long an admin's grant of roles to themselves stays on the coordinators' page.
SELF_GRANT_SHOWN_SECONDS = 90 * 86400


@dataclass(frozen=True)
class SelfGrant:
    """An admin who gave themselves roles (issue 11): who, which roles, when. Admins can,
    and sometimes must; the coordinators, who hold the keys those roles need, see it."""

    staff_id: str
    username: str
    roles: frozenset[str]
    at: int


def self_grants(conn: sqlite3.Connection, now: int) -> list[SelfGrant]:
    """Roles admins gave themselves in the last `SELF_GRANT_SHOWN_SECONDS`, newest first,
    from the audit chain (`account.self_grant`, written by `set_roles`)."""
    rows = conn.execute(
        "SELECT at, object_id, detail FROM audit_log WHERE action = 'account.self_grant'"
        " AND at >= ? ORDER BY seq DESC", (now - SELF_GRANT_SHOWN_SECONDS,)).fetchall()
    names = usernames(conn, [r["object_id"] for r in rows])
    return [SelfGrant(r["object_id"], names.get(r["object_id"], ""),
                      frozenset(r["detail"].removeprefix("added=").split(",")), r["at"])
            for r in rows]


def grant_pending(db: Database, audit: AuditLog, granter: UnlockedStaff, staff_id: str,
                  now: int) -> dict[str, BoxSecretKey]:
    """Seal to the person's public key the node keys their roles need that the granter
    holds in memory; returns what was granted. A person whose stored public key is not
    the certified one gets nothing, and their account is disabled (`KeyNotAuthentic`)."""
    try:
        with db.write() as conn:
            row = conn.execute("SELECT * FROM staff WHERE id = ? AND disabled = 0",
                               (staff_id,)).fetchone()
            if row is None:
                raise AccountGone()
            member = _member(row)
            missing = keys_needed(member.roles) - _held(conn, staff_id)
            granted = {k: granter.node_keys[k] for k in sorted(missing)
                       if k in granter.node_keys}
            if not granted:
                raise NothingToGrant()
            for name, key in granted.items():
                grant_key(conn, name, key, staff_holder(staff_id), member.public_key,
                          certifier=audit.certifier)
                append_audit(conn, audit, now, granter.member.id, "key.grant", staff_id,
                             f"key={name}")
    except KeyNotAuthentic:
        disable_for_bad_key(db, audit, staff_id, now)
        raise
    return granted


def disable_for_bad_key(db: Database, audit: AuditLog, staff_id: str, now: int) -> None:
    """Disable an account whose stored public key failed its certificate, and say so in
    the chain of custody (in its own transaction: the refused action was rolled back).
    Its node keys and case assignments go, as for any disabled account: whoever can
    write the database must not keep what was sealed to the real person either."""
    with db.write() as conn:
        row = conn.execute("SELECT disabled FROM staff WHERE id = ?", (staff_id,)).fetchone()
        if row is None or row[0]:
            return
        conn.execute("UPDATE staff SET disabled = 1 WHERE id = ?", (staff_id,))
        for (name,) in conn.execute("SELECT key_name FROM key_wraps WHERE holder = ?",
                                    (staff_holder(staff_id),)).fetchall():
            conn.execute("DELETE FROM key_wraps WHERE key_name = ? AND holder = ?",
                         (name, staff_holder(staff_id)))
        conn.execute("DELETE FROM case_key_wraps WHERE staff_id = ?", (staff_id,))
        append_audit(conn, audit, now, "node", "account.key_not_authentic", staff_id)


def _revoke_unneeded(conn: sqlite3.Connection, audit: AuditLog, actor: str, staff_id: str,
                     keep: frozenset[str], now: int) -> None:
    for name in sorted(_held(conn, staff_id) - keep):
        conn.execute("DELETE FROM key_wraps WHERE key_name = ? AND holder = ?",
                     (name, staff_holder(staff_id)))
        append_audit(conn, audit, now, actor, "key.revoke", staff_id, f"key={name}")


# ------------------------------------------------------------------ administration

@dataclass(frozen=True)
class Account:
    id: str
    username: str
    roles: frozenset[str]
    locked: bool
    disabled: bool
    totp: bool
    failed_logins: int
    keys: frozenset[str]

    @property
    def missing_keys(self) -> frozenset[str]:
        return frozenset() if self.disabled else keys_needed(self.roles) - self.keys


def list_accounts(conn: sqlite3.Connection) -> list[Account]:
    ids = [r[0] for r in conn.execute("SELECT id FROM staff ORDER BY disabled, username")]
    return [a for a in (get_account(conn, i) for i in ids) if a is not None]


def get_account(conn: sqlite3.Connection, staff_id: str) -> Account | None:
    r = conn.execute("SELECT * FROM staff WHERE id = ?", (staff_id,)).fetchone()
    if r is None:
        return None
    return Account(r["id"], r["username"], frozenset(r["roles"].split(",")), bool(r["locked"]),
                   bool(r["disabled"]), r["totp_sealed"] is not None, r["failed_logins"],
                   _held(conn, r["id"]))


def require_account(conn: sqlite3.Connection, staff_id: str) -> sqlite3.Row:
    """The account's row, or `AccountGone`."""
    row: sqlite3.Row | None = conn.execute("SELECT * FROM staff WHERE id = ?",
                                           (staff_id,)).fetchone()
    if row is None:
        raise AccountGone()
    return row


def _enabled_admin(row: sqlite3.Row) -> bool:
    return "admin" in row["roles"].split(",") and not row["disabled"]


def _check_still_run(conn: sqlite3.Connection, before: sqlite3.Row,
                     lost_keys: Iterable[str]) -> None:
    """After a change to one account (`before` is its row as it was), inside the change's
    transaction: if it was an admin, an admin who can sign in remains; every node
    key it lost is still held by an enabled account. (The recovery key holds them too, but
    restoring from it is a last resort, not a way of working.)"""
    if _enabled_admin(before):
        admins = conn.execute(
            "SELECT COUNT(*) FROM staff WHERE disabled = 0 AND locked = 0"
            " AND ',' || roles || ',' LIKE '%,admin,%'").fetchone()[0]
        if admins == 0:
            raise LastAdmin()
    for name in set(lost_keys):
        held = conn.execute(
            "SELECT COUNT(*) FROM key_wraps JOIN staff ON holder = 'staff:' || staff.id"
            " WHERE key_name = ? AND staff.disabled = 0", (name,)).fetchone()[0]
        if held == 0:
            raise LastKeyHolder()


def set_roles(db: Database, audit: AuditLog, admin_id: str, staff_id: str,
              roles: Iterable[str], now: int) -> frozenset[str]:
    """Change a person's roles; node keys their new roles do not need are removed at once."""
    chosen = check_roles(roles)
    with db.write() as conn:
        row = require_account(conn, staff_id)
        before = _held(conn, staff_id)
        conn.execute("UPDATE staff SET roles = ? WHERE id = ?",
                     (",".join(sorted(chosen)), staff_id))
        _revoke_unneeded(conn, audit, admin_id, staff_id, keys_needed(chosen), now)
        _check_still_run(conn, row, before - keys_needed(chosen))
        if frozenset(row["roles"].split(",")) != chosen:
            append_audit(conn, audit, now, admin_id, "account.roles", staff_id,
                         "roles=" + ",".join(sorted(chosen)))
        added = chosen - frozenset(row["roles"].split(","))
        if admin_id == staff_id and added:
            # flagged on the coordinators' pending-access page (`self_grants`)
            append_audit(conn, audit, now, admin_id, "account.self_grant", staff_id,
                         "added=" + ",".join(sorted(added)))
    return chosen


def set_disabled(db: Database, audit: AuditLog, admin_id: str, staff_id: str, disabled: bool,
                 now: int) -> None:
    """Disable (every node key the person held is removed) or enable an account. Enabled
    again, they appear on the pending-access page until a coordinator grants their keys."""
    with db.write() as conn:
        row = require_account(conn, staff_id)
        if bool(row["disabled"]) == disabled:
            return
        before = _held(conn, staff_id)
        conn.execute("UPDATE staff SET disabled = ? WHERE id = ?", (int(disabled), staff_id))
        if disabled:
            _revoke_unneeded(conn, audit, admin_id, staff_id, frozenset(), now)
            _check_still_run(conn, row, before)
            # their case assignments go too: each wrap of a case key to them is deleted
            for (report_id,) in conn.execute(
                    "SELECT report_id FROM case_key_wraps WHERE staff_id = ?",
                    (staff_id,)).fetchall():
                conn.execute("DELETE FROM case_key_wraps WHERE report_id = ? AND staff_id = ?",
                             (report_id, staff_id))
                audit.append(conn, at=now, actor=admin_id, action="case.unassign",
                             object_type="report", object_id=report_id,
                             detail=f"from {staff_id} (account disabled)")
        append_audit(conn, audit, now, admin_id,
                     "account.disable" if disabled else "account.enable", staff_id)


def unlock_account(db: Database, audit: AuditLog, actor: str, staff_id: str, now: int) -> None:
    with db.write() as conn:
        require_account(conn, staff_id)
        conn.execute("UPDATE staff SET locked = 0, failed_logins = 0 WHERE id = ?", (staff_id,))
        append_audit(conn, audit, now, actor, "account.unlock", staff_id)


def find_id(conn: sqlite3.Connection, username: str) -> str | None:
    row = conn.execute("SELECT id FROM staff WHERE username = ?", (username,)).fetchone()
    return row["id"] if row else None


# ------------------------------------------------------------------ recovery

RECOVERY_ACTOR = "recovery"
RECOVERY_ROLES = frozenset({"admin", "coordinator"})


def recover_admin(db: Database, audit: AuditLog, username: str, passphrase: str,
                  node_keys: Mapping[str, BoxSecretKey], params: pw.KdfParams,
                  now: int) -> StaffMember:
    """A new admin and coordinator account holding the node keys opened with the recovery
    key, for when every admin's passphrase is lost (issue 3, "Key recovery")."""
    username = check_username(username)
    prepared = prepare_account(passphrase, params)
    with db.write() as conn:
        if not username_free(conn, username, now):
            raise UsernameTaken(field="username")
        member = insert_account(conn, prepared, username, RECOVERY_ROLES, now // 3600,
                                certifier=audit.certifier)
        append_audit(conn, audit, now, RECOVERY_ACTOR, "account.recover", member.id,
                     "roles=" + ",".join(sorted(RECOVERY_ROLES)))
        for name in sorted(node_keys):
            grant_key(conn, name, node_keys[name], staff_holder(member.id), member.public_key,
                      certifier=audit.certifier)
            append_audit(conn, audit, now, RECOVERY_ACTOR, "key.grant", member.id, f"key={name}")
    return member
