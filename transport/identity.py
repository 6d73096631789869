"""The node's own Ed25519 key as its libp2p identity (issue 5, "Transport").

libp2p's `Ed25519PrivateKey` wraps a PyNaCl signing key built from the same 32-byte seed
(RFC 8032 §5.1.5), so the node's `crypto.keys.SigningKey` *is* its libp2p key and its peer
id is a pure function of the raw public key that the observatory's membership list already
publishes: an identity multihash of the protobuf-encoded key (libp2p peer-ids spec,
"Peer Ids"). Nobody has to publish or trust a second identifier.

Peer ids and multiaddrs that come from elsewhere (a membership list, an outbox row) are
checked here before libp2p sees them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import multiaddr  # type: ignore[import-untyped]  # ships no type information (0.2.0)
from libp2p.crypto.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from libp2p.crypto.keys import KeyPair
from libp2p.peer.id import ID

from crypto.keys import KEY_BYTES, SigningKey
from transport.errors import BadPeerAddress

# libp2p dials at most two addresses per peer anyway (`swarm.MAX_ADDRS_PER_PEER`); a node
# publishing more than a handful is misconfigured.
MAX_ADDRS = 8


def key_pair_from_signing_key(signing_key: SigningKey) -> KeyPair:
    """The libp2p key pair of `signing_key` (same seed, so the same Ed25519 key)."""
    private = Ed25519PrivateKey.from_bytes(signing_key.seed())
    return KeyPair(private, private.get_public_key())


def peer_id_from_public_key(raw: bytes) -> str:
    """The base58 libp2p peer id of a raw 32-byte Ed25519 public key."""
    if len(raw) != KEY_BYTES:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return ID.from_pubkey(Ed25519PublicKey.from_bytes(raw)).to_base58()


# An Ed25519 peer id is the identity multihash (0x00, length 0x24) of the protobuf
# `PublicKey{Type: Ed25519 (0x08 0x01), Data: 32 bytes (0x12 0x20)}` (libp2p peer-ids spec).
_ED25519_ID_PREFIX = bytes.fromhex("002408011220")


def parse_peer_id(peer_id: str) -> ID:
    """A libp2p `ID` from its base58 form, which must be an Ed25519 peer id.

    libp2p's own parser accepts any base58 string ("abc" included); every BackUp peer is an
    Ed25519 key, so anything else is refused here with `BadPeerAddress`.
    """
    try:
        parsed = ID.from_base58(peer_id)
    except (ValueError, KeyError, TypeError):
        raise BadPeerAddress("peer id does not parse") from None
    raw = parsed.to_bytes()
    if len(raw) != len(_ED25519_ID_PREFIX) + KEY_BYTES or not raw.startswith(_ED25519_ID_PREFIX):
        raise BadPeerAddress("peer id is not an Ed25519 peer id")
    if parsed.to_base58() != peer_id:
        raise BadPeerAddress("peer id is not in canonical base58")
    return parsed


def parse_addrs(peer_id: str, addrs: Sequence[str]) -> list[Any]:
    """Dialable TCP multiaddrs, without a `/p2p/` suffix (which must name `peer_id`).

    Only `/ip4|ip6/<address>/tcp/<port>`: no DNS names, so dialling a peer never leaks a
    lookup to a resolver.
    """
    if isinstance(addrs, str):
        raise TypeError("addrs is a sequence of multiaddr strings, not one string")
    if len(addrs) > MAX_ADDRS:
        raise BadPeerAddress(f"more than {MAX_ADDRS} addresses")
    parsed: list[Any] = []
    for text in addrs:
        try:
            addr = multiaddr.Multiaddr(text)
            names = [p.name for p in addr.protocols()]
            named = addr.value_for_protocol("p2p") if "p2p" in names else None
        except (ValueError, TypeError, LookupError):
            raise BadPeerAddress("multiaddr does not parse") from None
        if named is not None:
            if str(named) != peer_id:
                raise BadPeerAddress("multiaddr names another peer id")
            addr = addr.decapsulate(multiaddr.Multiaddr(f"/p2p/{named}"))
        names = [p.name for p in addr.protocols()]
        if len(names) != 2 or names[0] not in ("ip4", "ip6") or names[1] != "tcp":
            raise BadPeerAddress("only /ip4 or /ip6 TCP multiaddrs are dialled")
        parsed.append(addr)
    if not parsed:
        raise BadPeerAddress("no address to dial")
    return parsed
