"""Certificates of the public keys the node stores, by its identity key (issue 13).

Keys are sealed to public keys read from the database: a coordinator's grant seals the
intake key to a new colleague's box key, an assignment seals a case key to a caseworker's,
every new report is sealed to the node's intake key. A database writer who swaps one of
those public keys for their own would receive what is sealed next. So each stored public
key has a certificate, ``Ed25519(identity, DOMAIN || len(node id) || node id ||
len(subject) || subject || key)``, and nothing is sealed to a key whose certificate does
not verify (`Certifier.check`, called by `node.accounts.grant_key`, case assignment and
`node.keyring.load`). The identity key lives in ``keys/identity.key``, not in the database,
so writing to the database is not enough to certify a key.

Subjects: ``staff:<account id>`` (a person's box key), ``node:intake`` and
``node:analysis`` (the node's own box keys). Keys stored before this existed are certified
once, as they are, when the node first opens after the upgrade (``key_certificates_pending``,
migration 12): an upgrade trusts what it finds, as the first install trusted what it made.
"""

from __future__ import annotations

import sqlite3
import struct

from crypto.errors import SignatureError
from crypto.keys import BoxPublicKey, SigningKey, VerifyKey
from node import errors
from node.i18n import N_

DOMAIN = b"backup-key-certificate-v1"
PENDING = "key_certificates_pending"
INTAKE_SUBJECT = "node:intake"
ANALYSIS_SUBJECT = "node:analysis"
_U32 = struct.Struct(">I")


class KeyNotAuthentic(errors.NodeError):
    """A stored public key without a valid certificate: nothing was sealed to it."""

    message = N_("Nothing was given: the public key stored for this account is not the one "
                 "this server certified, so someone may have changed the database. The "
                 "account has been disabled. Tell your administrator; the person needs a "
                 "new invitation.")


def staff_subject(staff_id: str) -> str:
    return f"staff:{staff_id}"


def statement(node_id: str, subject: str, key: BoxPublicKey) -> bytes:
    nid, sub = node_id.encode("utf-8"), subject.encode("utf-8")
    return DOMAIN + _U32.pack(len(nid)) + nid + _U32.pack(len(sub)) + sub + key.raw()


class Certifier:
    """Signs (with the identity key) and checks the certificates of stored public keys."""

    def __init__(self, node_id: str, identity: SigningKey) -> None:
        self._node_id = node_id
        self._identity = identity

    @property
    def identity_public(self) -> VerifyKey:
        return self._identity.verify_key

    def certify(self, conn: sqlite3.Connection, subject: str, key: BoxPublicKey) -> bytes:
        """Record `key` as `subject`'s, inside the caller's write transaction; returns the
        certificate (the identity key's signature of the statement)."""
        signature = self._identity.sign(statement(self._node_id, subject, key))
        conn.execute("INSERT OR REPLACE INTO key_certificates (subject, public_key, signature)"
                     " VALUES (?, ?, ?)", (subject, key.raw(), signature))
        return signature

    def is_authentic(self, conn: sqlite3.Connection, subject: str, key: BoxPublicKey) -> bool:
        return is_authentic(conn, self._node_id, self.identity_public, subject, key)

    def check(self, conn: sqlite3.Connection, subject: str, key: BoxPublicKey) -> None:
        """`KeyNotAuthentic` unless `key` is certified as `subject`'s."""
        if not self.is_authentic(conn, subject, key):
            raise KeyNotAuthentic()


def is_authentic(conn: sqlite3.Connection, node_id: str, identity: VerifyKey, subject: str,
                 key: BoxPublicKey) -> bool:
    """Whether the certificate of `subject` names `key` and verifies under `identity`."""
    row = conn.execute("SELECT public_key, signature FROM key_certificates WHERE subject = ?",
                       (subject,)).fetchone()
    if row is None or bytes(row[0]) != key.raw():
        return False
    return verifies(identity, node_id, subject, key, bytes(row[1]))


def verifies(identity: VerifyKey, node_id: str, subject: str, key: BoxPublicKey,
             signature: bytes) -> bool:
    """Whether `signature` is `identity`'s certificate of `key` as `subject`'s on `node_id`
    (a stored certificate, or one another member sent)."""
    try:
        identity.verify(statement(node_id, subject, key), signature)
    except SignatureError:
        return False
    return True


def apply_pending(conn: sqlite3.Connection, certifier: Certifier) -> int:
    """Certify every public key stored before certificates existed, once (inside the
    caller's write transaction); returns how many were certified."""
    if conn.execute("SELECT 1 FROM node_meta WHERE key = ?", (PENDING,)).fetchone() is None:
        return 0
    count = 0
    for subject, meta_key in ((INTAKE_SUBJECT, "intake_public_key"),
                              (ANALYSIS_SUBJECT, "analysis_public_key")):
        row = conn.execute("SELECT value FROM node_meta WHERE key = ?", (meta_key,)).fetchone()
        if row is not None and conn.execute(
                "SELECT 1 FROM key_certificates WHERE subject = ?", (subject,)).fetchone() is None:
            certifier.certify(conn, subject, BoxPublicKey(bytes(row[0])))
            count += 1
    for staff_id, public in conn.execute("SELECT id, box_public_key FROM staff").fetchall():
        subject = staff_subject(staff_id)
        if conn.execute("SELECT 1 FROM key_certificates WHERE subject = ?",
                        (subject,)).fetchone() is None:
            certifier.certify(conn, subject, BoxPublicKey(bytes(public)))
            count += 1
    conn.execute("DELETE FROM node_meta WHERE key = ?", (PENDING,))
    return count


def accounts_failing(conn: sqlite3.Connection, certifier: Certifier) -> list[str]:
    """Enabled accounts whose stored public key is not the certified one."""
    return [staff_id for staff_id, public in conn.execute(
                "SELECT id, box_public_key FROM staff WHERE disabled = 0").fetchall()
            if not certifier.is_authentic(conn, staff_subject(staff_id),
                                          BoxPublicKey(bytes(public)))]
