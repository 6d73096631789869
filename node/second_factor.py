"""The optional second sign-in factor: TOTP (RFC 6238), sealed to the person's own key.

Parsing what people type, enrolment, the second sign-in step and turning it off (by the
person, or by an admin for a lost phone). A wrong code is held back like a wrong passphrase
(by the staff office, per username and source). No code or secret goes into an audit entry.

The last accepted time step of each account is kept in the database (`node_meta`,
`totp_step:<account id>`), so that a code seen once is refused again even after a restart
(RFC 6238, section 5.2). A step number is a time to 30 s, no secret; the audit chain
already holds each sign-in's time.
"""

from __future__ import annotations

import hmac
import sqlite3
import unicodedata
from datetime import datetime

import pyotp

from node import errors
from node.accounts import SignInFailed, UnlockedStaff, append_audit, require_account
from node.backoffice.audit import AuditLog
from node.i18n import N_
from node.storage.database import Database

# TOTP (RFC 6238): 6 digits, 30 s steps, one step of clock drift accepted either way
# (RFC 6238, section 5.2); a code once accepted is refused again (same section).
TOTP_DIGITS = 6
TOTP_DRIFT_STEPS = 1


# ------------------------------------------------------------------ errors

class TotpFormat(errors.InvalidInput):
    message = N_("The code has 6 digits. Type the code your authenticator app shows now.")


class TotpRejected(SignInFailed):
    message = N_("This code is not right or has expired. Type the code your authenticator "
                 "app shows now. If it keeps failing, check that your phone's clock is right.")


class TotpAlreadyOn(errors.NodeError):
    message = N_("Two-step sign-in is already on for your account.")


class TotpNotOn(errors.NodeError):
    message = N_("Two-step sign-in is not on for your account.")


# ------------------------------------------------------------------ codes

def parse_totp_code(text: str) -> str:
    """Six digits, as typed: spaces and hyphens are ignored and any script's decimal digits
    (e.g. Arabic-Indic) are accepted. `TotpFormat` otherwise."""
    digits = []
    for ch in text[:64]:
        if ch in " -\u00a0\u2009\u202f\t":
            continue
        value = unicodedata.decimal(ch, None)
        if value is None:
            raise TotpFormat(field="code")
        digits.append(str(value))
    if len(digits) != TOTP_DIGITS:
        raise TotpFormat(field="code")
    return "".join(digits)


def new_totp_secret() -> str:
    """160 random bits in base32, the length RFC 4226 (section 4, R6) recommends."""
    return pyotp.random_base32(32)


def totp_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def totp_match(secret: str, code: str, at: datetime, after_step: int | None = None
               ) -> int | None:
    """The time step whose code `code` is (within the allowed drift), or None. Steps at or
    before `after_step` -- the last one accepted -- are refused, so no code works twice."""
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS)
    current = totp.timecode(at)
    found = None
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    return found


# ------------------------------------------------------------------ signing in and enrolment

def _step_key(staff_id: str) -> str:
    return f"totp_step:{staff_id}"


def last_step(conn: sqlite3.Connection, staff_id: str) -> int | None:
    """The last time step accepted for this account (None: none since it was turned on)."""
    row = conn.execute("SELECT value FROM node_meta WHERE key = ?",
                       (_step_key(staff_id),)).fetchone()
    return int(row[0]) if row is not None else None


def _use_step(conn: sqlite3.Connection, staff_id: str, step: int) -> bool:
    """Record `step` as used, inside the caller's write transaction; False if it (or a
    later one) was used already -- by a concurrent sign-in, say."""
    last = last_step(conn, staff_id)
    if last is not None and step <= last:
        return False
    conn.execute("INSERT OR REPLACE INTO node_meta (key, value) VALUES (?, ?)",
                 (_step_key(staff_id), str(step).encode("ascii")))
    return True


def _forget_steps(conn: sqlite3.Connection, staff_id: str) -> None:
    conn.execute("DELETE FROM node_meta WHERE key = ?", (_step_key(staff_id),))


def check_second_factor(db: Database, staff_id: str, secret: str, code: str,
                        at: datetime) -> int:
    """The second sign-in step: the accepted time step, recorded as used before this
    returns. `TotpRejected` for a wrong code or one used before."""
    step = totp_match(secret, parse_totp_code(code), at, last_step(db.read(), staff_id))
    if step is None:
        raise TotpRejected()
    with db.write() as conn:
        if not _use_step(conn, staff_id, step):
            raise TotpRejected()
    return step


def has_totp(conn: sqlite3.Connection, staff_id: str) -> bool:
    row = conn.execute("SELECT totp_sealed IS NOT NULL FROM staff WHERE id = ?",
                       (staff_id,)).fetchone()
    return bool(row and row[0])


def enable_totp(db: Database, audit: AuditLog, staff: UnlockedStaff, secret: str, code: str,
                at: datetime) -> int:
    """Turn the second factor on once the person shows a code from their app. The secret is
    sealed to their own public key: only their passphrase opens it."""
    step = totp_match(secret, parse_totp_code(code), at)
    if step is None:
        raise TotpRejected()
    with db.write() as conn:
        if has_totp(conn, staff.member.id):
            raise TotpAlreadyOn()
        # sealed to the public half of the secret key the passphrase just opened, not to
        # the stored public key, which a database writer could have swapped (issue 13)
        conn.execute("UPDATE staff SET totp_sealed = ? WHERE id = ?",
                     (staff.secret_key.public_key.seal(secret.encode("ascii")),
                      staff.member.id))
        _forget_steps(conn, staff.member.id)
        _use_step(conn, staff.member.id, step)
        append_audit(conn, audit, int(at.timestamp()), staff.member.id, "account.totp_on",
                     staff.member.id)
    return step


def disable_totp(db: Database, audit: AuditLog, staff: UnlockedStaff, code: str,
                 at: datetime) -> int:
    """Turn the second factor off; needs a current code."""
    row = db.read().execute("SELECT totp_sealed FROM staff WHERE id = ?",
                            (staff.member.id,)).fetchone()
    if row is None or row["totp_sealed"] is None:
        raise TotpNotOn()
    secret = staff.secret_key.open(row["totp_sealed"]).decode("ascii")
    step = totp_match(secret, parse_totp_code(code), at, last_step(db.read(), staff.member.id))
    if step is None:
        raise TotpRejected()
    with db.write() as conn:
        if not _use_step(conn, staff.member.id, step):
            raise TotpRejected()
        conn.execute("UPDATE staff SET totp_sealed = NULL WHERE id = ?", (staff.member.id,))
        append_audit(conn, audit, int(at.timestamp()), staff.member.id, "account.totp_off",
                     staff.member.id)
    return step


# ------------------------------------------------------------------ administration

def reset_totp(db: Database, audit: AuditLog, admin_id: str, staff_id: str, now: int) -> None:
    """An admin turns off someone's second factor (a lost phone); they sign in with their
    passphrase alone and can enrol again."""
    with db.write() as conn:
        row = require_account(conn, staff_id)
        if row["totp_sealed"] is None:
            raise TotpNotOn()
        conn.execute("UPDATE staff SET totp_sealed = NULL WHERE id = ?", (staff_id,))
        _forget_steps(conn, staff_id)
        append_audit(conn, audit, now, admin_id, "account.totp_reset", staff_id)
