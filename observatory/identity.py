"""The observatory's identity: a random node id and one Ed25519 key (issue 5, federation v1).

The key signs everything the observatory states: envelopes, membership certificates and
lists, and its cosignatures of nodes' checkpoints (as the witness ``backup.witness/<id>``).
It is also the libp2p identity, so the peer id nodes dial is derived from the public key
they pin (`transport.identity`). The seed lives in ``DIR/keys/identity.key`` (0600) because
the observatory signs unattended; the node id and public key are in the database, and
`load` refuses a key file that does not match them.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass

from crypto.checkpoint import COSIGNATURE_V1, Cosigner, encode_vkey
from crypto.keys import SigningKey, VerifyKey
from observatory.datadir import DataDir
from protocol.witnessing import witness_name
from runtime.files import write_private_file
from transport.identity import peer_id_from_public_key


@dataclass(frozen=True)
class ObservatoryIdentity:
    node_id: str
    signing_key: SigningKey

    @property
    def verify_key(self) -> VerifyKey:
        return self.signing_key.verify_key

    @property
    def identity_key_hex(self) -> str:
        return self.verify_key.raw().hex()

    @property
    def peer_id(self) -> str:
        return peer_id_from_public_key(self.verify_key.raw())

    @property
    def cosigner(self) -> Cosigner:
        return Cosigner(witness_name(self.node_id), self.signing_key)

    @property
    def witness_vkey(self) -> str:
        """The cosignature verifier key (C2SP tlog-cosignature, type 0x04) in vkey form."""
        return encode_vkey(witness_name(self.node_id), COSIGNATURE_V1, self.verify_key)


def create(datadir: DataDir, conn: sqlite3.Connection) -> ObservatoryIdentity:
    """Generate the identity; store the seed file and the public half (in `conn`'s open
    write transaction)."""
    identity = ObservatoryIdentity(secrets.token_hex(16), SigningKey.generate())
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        [("node_id", identity.node_id), ("identity_key", identity.identity_key_hex)],
    )
    write_private_file(datadir.identity_key, identity.signing_key.seed())
    return identity


def load(datadir: DataDir, conn: sqlite3.Connection) -> ObservatoryIdentity:
    rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if "node_id" not in rows:
        raise RuntimeError(f"{datadir.database} holds no observatory identity")
    key = SigningKey(datadir.identity_key.read_bytes())
    if key.verify_key.raw().hex() != rows["identity_key"]:
        raise RuntimeError("keys/identity.key does not match this observatory's database")
    return ObservatoryIdentity(str(rows["node_id"]), key)
