"""Staff accounts and the keys they unlock (ARCHITECTURE.md, invariant 2: keys follow people).

Each person has an X25519 key pair; the secret half is wrapped under Argon2id of their
passphrase. Node-level secret keys (the intake key that opens new reports) are sealed to
the public keys of the people allowed to use them, and to the recovery key.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass, field

from crypto import passphrase as pw
from crypto.errors import DecryptionError
from crypto.keys import BoxPublicKey, BoxSecretKey
from node import errors
from node.i18n import N_

ROLES = ("admin", "coordinator", "caseworker", "analyst")
INTAKE_KEY = "intake"      # opens every report's data key: coordinators (triage)
ANALYSIS_KEY = "analysis"  # opens incident codings, never reports: analysts, coordinators
NODE_KEYS_BY_ROLE = {"coordinator": (INTAKE_KEY, ANALYSIS_KEY), "analyst": (ANALYSIS_KEY,)}
MIN_PASSPHRASE_CHARS = 12
_SK_CONTEXT = b"staff-secret-key:"


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


class WeakPassphrase(errors.InvalidInput):
    message = N_("The passphrase must have at least %(limit)s characters. "
                        "Several unrelated words are easy to remember and hard to guess.")


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise WeakPassphrase(limit=MIN_PASSPHRASE_CHARS)


def create(conn: sqlite3.Connection, username: str, passphrase: str, roles: set[str],
           params: pw.KdfParams, hour: int) -> tuple[StaffMember, BoxSecretKey]:
    check_passphrase(passphrase)
    unknown = roles - set(ROLES)
    if unknown or not roles:
        raise errors.UnknownChoice(field="roles")
    staff_id = secrets.token_hex(8)
    sk = BoxSecretKey.generate()
    wrap = pw.wrap(sk.raw(), passphrase, params, _SK_CONTEXT + staff_id.encode())
    conn.execute(
        "INSERT INTO staff (id, username, roles, box_public_key, secret_key_wrap, created_hour)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (staff_id, username, ",".join(sorted(roles)), sk.public_key.raw(), wrap, hour))
    member = StaffMember(staff_id, username, frozenset(roles), sk.public_key)
    return member, sk


def grant_key(conn: sqlite3.Connection, key_name: str, key: BoxSecretKey,
              holder: str, holder_public: BoxPublicKey) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO key_wraps (key_name, holder, sealed) VALUES (?, ?, ?)",
        (key_name, holder, holder_public.seal_box_key(key)))


def staff_holder(staff_id: str) -> str:
    return f"staff:{staff_id}"


def _member(row: sqlite3.Row) -> StaffMember:
    return StaffMember(row["id"], row["username"], frozenset(row["roles"].split(",")),
                       BoxPublicKey(row["box_public_key"]))


def unlock(conn: sqlite3.Connection, username: str, passphrase: str) -> UnlockedStaff:
    """Open a person's keys with their passphrase; `LoginFailed` for any failure."""
    row = conn.execute("SELECT * FROM staff WHERE username = ? AND disabled = 0",
                       (username,)).fetchone()
    if row is None:
        # Spend the same Argon2id time as a real attempt so timing does not reveal accounts.
        pw.derive_key(passphrase, b"\0" * pw.SALT_BYTES, pw.STAFF)
        raise errors.LoginFailed()
    try:
        raw = pw.unwrap(row["secret_key_wrap"], passphrase, _SK_CONTEXT + row["id"].encode())
    except DecryptionError:
        raise errors.LoginFailed() from None
    sk = BoxSecretKey(raw)
    return UnlockedStaff(_member(row), sk, open_node_keys(conn, row["id"], sk))


def open_node_keys(conn: sqlite3.Connection, staff_id: str,
                   sk: BoxSecretKey) -> dict[str, BoxSecretKey]:
    """The node-level keys sealed to this person (what their roles were granted)."""
    return {r["key_name"]: sk.open_box_key(r["sealed"]) for r in conn.execute(
        "SELECT key_name, sealed FROM key_wraps WHERE holder = ?", (staff_holder(staff_id),))}


def get(conn: sqlite3.Connection, staff_id: str) -> StaffMember | None:
    row = conn.execute("SELECT * FROM staff WHERE id = ?", (staff_id,)).fetchone()
    return _member(row) if row is not None else None
