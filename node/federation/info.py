"""What an admin hands to the observatory, to peer organisations and to courts: this node's
public federation identity. Nothing secret.

* the identity key is what members and witnesses know the node by; its libp2p peer id is
  derived from it (`transport.identity`), so nobody has to trust a second identifier. It
  signs the role statement (`crypto.role_statement`) that binds one key per kind of
  signature (issue 13), and that statement travels with what they sign;
* the log vkey (C2SP signed-note, type 0x01, name ``backup.node/<id>/evidence``) is the
  checkpoint role key: it verifies this node's checkpoints; the witness vkey (C2SP
  tlog-cosignature, type 0x04, name ``backup.witness/<id>``) is the witness role key: it
  verifies the cosignatures this node makes for its peers, and is what
  `backup-evidence verify --witness` takes for a bundle of a node it witnesses.
  Checkpoints and cosignatures made before role keys verify with the same names under
  the identity key (``identity_log_vkey``, ``identity_witness_vkey``).
"""

from __future__ import annotations

from crypto.checkpoint import COSIGNATURE_V1, ED25519, encode_vkey
from node.federation.config import FederationConfig
from node.keyring import NodeKeys
from protocol.witnessing import evidence_origin, witness_name


def witness_vkey(keys: NodeKeys) -> str:
    return encode_vkey(witness_name(keys.node_id), COSIGNATURE_V1, keys.witness_key.verify_key)


def log_vkey(keys: NodeKeys) -> str:
    return encode_vkey(evidence_origin(keys.node_id), ED25519, keys.checkpoint_key.verify_key)


def identity_witness_vkey(keys: NodeKeys) -> str:
    """Cosignatures this node made before role keys (generation 0)."""
    return encode_vkey(witness_name(keys.node_id), COSIGNATURE_V1, keys.identity_public)


def identity_log_vkey(keys: NodeKeys) -> str:
    """Checkpoints this node signed before role keys (generation 0)."""
    return encode_vkey(evidence_origin(keys.node_id), ED25519, keys.identity_public)


def federation_info(keys: NodeKeys, config: FederationConfig | None) -> list[tuple[str, str]]:
    from transport.identity import peer_id_from_public_key

    raw = keys.identity_public.raw()
    if config is None:
        listen = "none: no [federation] section in node.toml (the node runs standalone)"
    else:
        family = "ip6" if ":" in config.listen_host else "ip4"
        listen = f"/{family}/{config.listen_host}/tcp/{config.listen_port}"
    return [
        ("node id", keys.node_id),
        ("identity key", raw.hex()),
        ("peer id", peer_id_from_public_key(raw)),
        ("listen", listen),
        ("log vkey", log_vkey(keys)),
        ("witness vkey", witness_vkey(keys)),
        ("log vkey (before role keys)", identity_log_vkey(keys)),
        ("witness vkey (before role keys)", identity_witness_vkey(keys)),
    ]
