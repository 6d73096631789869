"""The admin passphrase, stored as an Argon2id hash string (RFC 9106) in the database.

libsodium's ``crypto_pwhash_str`` format (``$argon2id$v=19$m=…,t=…,p=1$salt$hash``) carries
its own parameters, so a test-made hash with the smallest parameters and a production hash
with libsodium's MODERATE ones (`crypto.passphrase.STAFF`) verify the same way.

The hashing itself is `crypto.passphrase.hash_for_storage`/`matches_stored` (only `crypto/`
touches PyNaCl).
"""

from __future__ import annotations

import sqlite3

from crypto.passphrase import STAFF, KdfParams, hash_for_storage, matches_stored

META_KEY = "admin_passphrase_hash"
MIN_LENGTH = 12


class WeakPassphrase(ValueError):
    """The passphrase is too short to protect the observatory's admin pages."""


def check_strength(passphrase: str) -> None:
    if len(passphrase) < MIN_LENGTH:
        raise WeakPassphrase(f"the admin passphrase needs at least {MIN_LENGTH} characters")


def hash_passphrase(passphrase: str, params: KdfParams = STAFF) -> str:
    return hash_for_storage(passphrase, params)


def verify_passphrase(stored: str, passphrase: str) -> bool:
    """True if `passphrase` matches `stored`."""
    return matches_stored(stored, passphrase)


def store(conn: sqlite3.Connection, passphrase: str, params: KdfParams = STAFF) -> None:
    """Set the admin passphrase inside `conn`'s open write transaction."""
    check_strength(passphrase)
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (META_KEY, hash_passphrase(passphrase, params)),
    )


def stored_hash(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_KEY,)).fetchone()
    return None if row is None else str(row[0])
