"""Creating a node's keys at init, and reading the public ones at start.

* identity: Ed25519, the node's libp2p key (its peer id), the key members and witnesses
  know it by. Kept in ``DIR/keys/identity.key`` (0600) because the node signs unattended.
  It signs statements about the node's own keys: the role statement below, and the
  certificates of every stored public key (`node.key_certificates`).
* role keys (issue 13): one Ed25519 key per kind of signature -- evidence checkpoints,
  witness cosignatures, federation envelopes, the custody chain, bundle manifests --
  derived from the identity seed (`crypto.keys.SigningKey.derive`, label
  ``backup-role/<role>/<generation>``), so there is no second secret to back up, and bound
  by a statement the identity key signs (``node_meta.role_statement``, `role_statement`).
  The custody role key certifies the session keys that sign the custody head
  (`node.backoffice.audit`); the checkpoint, witness, envelope and manifest keys sign
  what their names say. The statement travels with what they sign (envelopes, checkpoint
  pushes, bundles), and verifiers believe a role key only through it; material signed
  with the identity key before (generation 0) still verifies with the identity key.
* intake: X25519. New reports are sealed to its public half, which any process may hold;
  its secret half exists only sealed to triage staff and to the recovery key.
* recovery: an X25519 key derived from a seed printed once at init (`crypto.recovery`).
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass, field

from crypto import passphrase as pw
from crypto import role_statement as role_format
from crypto.errors import SignatureError
from crypto.keys import BoxPublicKey, BoxSecretKey, SigningKey, VerifyKey
from crypto.recovery import RecoveryKey
from crypto.role_statement import RoleStatement
from node import accounts, key_certificates
from node.backoffice.audit import AuditLog
from node.datadir import DataDir, write_private_file
from node.intake import receipt_index
from node.intake.receipt_index import ReceiptIndexKey
from node.key_certificates import ANALYSIS_SUBJECT, INTAKE_SUBJECT, Certifier
from node.key_rotation import LiveBoxKey
from node.storage.database import Database
from protocol.envelope import KeyLookup, ReplayCheck
from protocol.exchanges import Endpoint

RECOVERY_HOLDER = "recovery"
ROLES = role_format.ROLES
ROLE_GENERATION = 1
ROLE_DOMAIN = role_format.DOMAIN


class KeysNotAuthentic(RuntimeError):
    """The node's own stored keys do not match what its identity key signed: the node
    refuses to start rather than seal reports to a key someone put in its database."""


def role_keys(identity: SigningKey, generation: int = ROLE_GENERATION) -> dict[str, SigningKey]:
    return {role: identity.derive(f"backup-role/{role}/{generation}".encode("ascii"))
            for role in ROLES}


def role_statement(node_id: str, keys: dict[str, SigningKey],
                   generation: int = ROLE_GENERATION) -> bytes:
    """The text the identity key signs to bind the role keys (`crypto.role_statement`)."""
    return role_format.text(node_id, {r: k.verify_key for r, k in keys.items()}, generation)


def _sign_roles(conn: sqlite3.Connection, node_id: str, identity: SigningKey) -> None:
    value = role_format.sign(node_id, {r: k.verify_key for r, k in role_keys(identity).items()},
                             ROLE_GENERATION, identity)
    conn.execute("INSERT OR REPLACE INTO node_meta (key, value) VALUES ('role_statement', ?)",
                 (value,))


def verify_role_statement(value: bytes, node_id: str, identity: VerifyKey) -> dict[str, VerifyKey]:
    """The role public keys a stored statement binds, after checking the identity's
    signature over it; `SignatureError` otherwise."""
    return role_format.verify(bytes(value), identity, node_id).keys


@dataclass(frozen=True)
class NodeKeys:
    """What a running node holds without anyone signing in."""

    node_id: str
    identity: SigningKey
    intake_public: BoxPublicKey
    analysis_public: BoxPublicKey
    receipt_index: ReceiptIndexKey
    roles: dict[str, SigningKey] = field(repr=False, default_factory=dict)
    # The identity-signed statement binding `roles` (`crypto.role_statement`): it travels
    # with what the role keys sign (envelopes, bundles), so verifiers learn them from it.
    statement: RoleStatement | None = field(repr=False, default=None)

    @property
    def identity_public(self) -> VerifyKey:
        return self.identity.verify_key

    @property
    def custody(self) -> SigningKey:
        """The custody role key: certifies the custody chain's session keys."""
        return self.roles["custody"]

    @property
    def checkpoint_key(self) -> SigningKey:
        """Signs the evidence log's checkpoints (C2SP notes under the log's origin)."""
        return self.roles["checkpoint"]

    @property
    def witness_key(self) -> SigningKey:
        """Signs this node's cosignatures of its peers' checkpoints."""
        return self.roles["witness"]

    @property
    def envelope_key(self) -> SigningKey:
        """Signs the federation envelopes this node sends."""
        return self.roles["envelope"]

    @property
    def manifest_key(self) -> SigningKey:
        """Signs court bundle manifests."""
        return self.roles["manifest"]

    def endpoint(self, *, lookup_key: KeyLookup, is_replay: ReplayCheck) -> Endpoint:
        """This node as a federation endpoint: envelopes signed by the envelope role key,
        carrying the role statement that binds it."""
        assert self.statement is not None  # `load` refuses to start without it
        return Endpoint(self.node_id, self.envelope_key, lookup_key=lookup_key,
                        is_replay=is_replay, role_statement=self.statement.encode())

    @property
    def certifier(self) -> Certifier:
        return Certifier(self.node_id, self.identity)


@dataclass(frozen=True)
class InitResult:
    node_id: str
    recovery_key: str  # printed once, never stored


def initialise(datadir: DataDir, db: Database, admin_username: str, admin_passphrase: str,
               staff_params: pw.KdfParams, hour: int) -> InitResult:
    accounts.check_passphrase(admin_passphrase)
    identity = SigningKey.generate()
    intake = BoxSecretKey.generate()
    analysis = BoxSecretKey.generate()
    recovery = RecoveryKey.generate()
    node_id = secrets.token_hex(16)
    with db.write() as conn:
        if conn.execute("SELECT 1 FROM node_meta WHERE key = 'node_id'").fetchone():
            raise FileExistsError(f"{datadir.root} already holds a node")
        _put(conn, "node_id", node_id.encode())
        # Written before the database commits; a crash in between leaves a directory that
        # is not a node (`is_initialised`) and a key file that the next init replaces.
        index_key = receipt_index.create(datadir.receipt_index_key)
        _put(conn, "identity_public_key", identity.verify_key.raw())
        _put(conn, "intake_public_key", intake.public_key.raw())
        _put(conn, "analysis_public_key", analysis.public_key.raw())
        _put(conn, "created_hour", str(hour).encode())
        receipt_index.record_check(conn, index_key)
        certifier = Certifier(node_id, identity)
        _sign_roles(conn, node_id, identity)
        certifier.certify(conn, INTAKE_SUBJECT, intake.public_key)
        certifier.certify(conn, ANALYSIS_SUBJECT, analysis.public_key)
        certifier.certify(conn, RECOVERY_HOLDER, recovery.public_key)
        conn.execute("DELETE FROM node_meta WHERE key = ?", (key_certificates.PENDING,))
        member, _ = accounts.create(conn, admin_username, admin_passphrase,
                                    {"admin", "coordinator"}, staff_params, hour,
                                    certifier=certifier)
        for name, key in ((accounts.INTAKE_KEY, intake), (accounts.ANALYSIS_KEY, analysis)):
            accounts.grant_key(conn, name, key, accounts.staff_holder(member.id),
                               member.public_key, certifier=certifier)
            accounts.grant_key(conn, name, key, RECOVERY_HOLDER, recovery.public_key,
                               certifier=certifier)
    # The key file is written after the database commit; `is_initialised` needs both.
    write_private_file(datadir.identity_key, identity.seed())
    return InitResult(node_id, recovery.text())


def _put(conn: sqlite3.Connection, key: str, value: bytes) -> None:
    conn.execute("INSERT INTO node_meta (key, value) VALUES (?, ?)", (key, value))


def load(datadir: DataDir, db: Database) -> NodeKeys:
    with db.write() as conn:
        keyed = receipt_index.upgrade(datadir.receipt_index_key, conn)
    if keyed:
        db.vacuum()  # no unkeyed index value left in free pages or the write-ahead log
    conn = db.read()
    meta = {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM node_meta")}
    identity = SigningKey(datadir.identity_key.read_bytes())
    if identity.verify_key.raw() != meta["identity_public_key"]:
        raise RuntimeError("keys/identity.key does not match this node's database")
    node_id = meta["node_id"].decode()
    certifier = Certifier(node_id, identity)
    if key_certificates.PENDING in meta or "role_statement" not in meta:
        with db.write() as wconn:  # once, at the upgrade to schema 12 (issue 13)
            key_certificates.apply_pending(wconn, certifier)
            if "role_statement" not in meta:
                _sign_roles(wconn, node_id, identity)
        meta = {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM node_meta")}
    roles = role_keys(identity)
    statement: RoleStatement | None
    try:
        statement = role_format.verify(bytes(meta["role_statement"]), identity.verify_key,
                                       node_id)
    except SignatureError:
        statement = None
    if statement is None or {r: k.verify_key for r, k in roles.items()} != statement.keys:
        raise KeysNotAuthentic("the role statement in this node's database is not the one "
                               "its identity key signed; refusing to start")
    # One object each, shared by every service that seals to them, so that a rotation
    # made in this process moves them all (`node.key_rotation.LiveBoxKey`).
    intake_public = LiveBoxKey(meta["intake_public_key"])
    analysis_public = LiveBoxKey(meta["analysis_public_key"])
    for subject, key in ((INTAKE_SUBJECT, intake_public), (ANALYSIS_SUBJECT, analysis_public)):
        if not certifier.is_authentic(conn, subject, key):
            raise KeysNotAuthentic(
                f"the {subject.removeprefix('node:')} public key in this node's database is "
                "not the one its identity key certified: someone may have changed the "
                "database. Refusing to start, so that nothing is sealed to it. Restore the "
                "database from a backup, or rotate the key (backup-node rotate-key).")
    return NodeKeys(node_id, identity, intake_public, analysis_public,
                    receipt_index.load(datadir.receipt_index_key, conn), roles, statement)


def certified_intake_key(conn: sqlite3.Connection, keys: NodeKeys) -> BoxPublicKey:
    """The intake public key as stored and certified now (a rotation moves it), or
    `KeysNotAuthentic`: new reports are sealed to nothing else."""
    row = conn.execute("SELECT value FROM node_meta WHERE key = 'intake_public_key'"
                       ).fetchone()
    key = BoxPublicKey(bytes(row[0]))
    if not keys.certifier.is_authentic(conn, INTAKE_SUBJECT, key):
        raise KeysNotAuthentic("the intake public key in the database is not the certified "
                               "one: nothing is sealed to it")
    return key


def custody_log(keys: NodeKeys) -> AuditLog:
    """This process's writer of the chain of custody: a fresh session key certified by
    the custody role key (`node.backoffice.audit`); the serving process and every CLI
    command that appends (export, unlock, recovery) each make their own."""
    return AuditLog(keys.custody, legacy_head_key=keys.identity_public,
                    certifier=keys.certifier)


def disable_uncertified(db: Database, keys: NodeKeys, audit: AuditLog, now: int) -> list[str]:
    """Disable every enabled account whose stored public key fails its certificate (at
    each start: a key swapped while the node was off is caught before anyone grants)."""
    failing = key_certificates.accounts_failing(db.read(), keys.certifier)
    for staff_id in failing:
        accounts.disable_for_bad_key(db, audit, staff_id, now)
    return failing


def open_with_recovery(conn: sqlite3.Connection, recovery_text: str,
                       key_name: str = accounts.INTAKE_KEY) -> BoxSecretKey:
    """A node key (the intake key by default), opened with the recovery key's printed
    text; `FormatError` for a mistyped key, `DecryptionError` for another node's."""
    recovery = RecoveryKey.parse(recovery_text)
    row = conn.execute("SELECT sealed FROM key_wraps WHERE key_name = ? AND holder = ?",
                       (key_name, RECOVERY_HOLDER)).fetchone()
    return recovery.open_box_key(row["sealed"])
