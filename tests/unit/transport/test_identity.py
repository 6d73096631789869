"""The node key as libp2p identity: peer ids computed independently of libp2p."""

from __future__ import annotations

import base58
import pytest
from libp2p.peer.id import ID

from crypto.keys import SigningKey
from transport.errors import BadPeerAddress
from transport.identity import (
    MAX_ADDRS,
    key_pair_from_signing_key,
    parse_addrs,
    parse_peer_id,
    peer_id_from_public_key,
)

# RFC 8032 §7.1, TEST 1.
RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")


def expected_peer_id(public: bytes) -> str:
    """libp2p peer-ids spec: base58btc(identity multihash(protobuf PublicKey))."""
    protobuf = b"\x08\x01" + b"\x12\x20" + public  # Type = Ed25519 (1), Data = 32 bytes
    return base58.b58encode(b"\x00" + bytes([len(protobuf)]) + protobuf).decode()


def test_peer_id_of_the_rfc8032_key() -> None:
    assert SigningKey(RFC8032_SEED).verify_key.raw() == RFC8032_PUBLIC
    peer_id = peer_id_from_public_key(RFC8032_PUBLIC)
    assert peer_id == expected_peer_id(RFC8032_PUBLIC)
    assert peer_id.startswith("12D3KooW")


def test_the_libp2p_key_pair_is_the_node_key() -> None:
    key = SigningKey.generate()
    pair = key_pair_from_signing_key(key)
    assert pair.public_key.to_bytes() == key.verify_key.raw()
    assert pair.private_key.sign(b"m") == key.sign(b"m")  # Ed25519 is deterministic
    assert ID.from_pubkey(pair.public_key).to_base58() == peer_id_from_public_key(
        key.verify_key.raw()
    )


def test_public_key_length_is_checked() -> None:
    with pytest.raises(ValueError):
        peer_id_from_public_key(b"\x01" * 31)


def test_parse_peer_id_accepts_only_ed25519_peer_ids() -> None:
    good = peer_id_from_public_key(RFC8032_PUBLIC)
    assert parse_peer_id(good).to_base58() == good
    rsa_style = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"  # sha256 multihash
    for bad in ("", "abc", "0OIl", rsa_style, good[:-1], good + "1"):
        with pytest.raises(BadPeerAddress):
            parse_peer_id(bad)


def test_parse_addrs() -> None:
    peer = peer_id_from_public_key(RFC8032_PUBLIC)
    other = peer_id_from_public_key(SigningKey.generate().verify_key.raw())
    parsed = parse_addrs(peer, ["/ip4/127.0.0.1/tcp/4001", f"/ip6/::1/tcp/4001/p2p/{peer}"])
    assert [str(a) for a in parsed] == ["/ip4/127.0.0.1/tcp/4001", "/ip6/::1/tcp/4001"]
    for bad in (
        [],
        ["/dns4/example.org/tcp/1"],
        ["/ip4/127.0.0.1/udp/1"],
        ["/ip4/127.0.0.1"],
        ["/ip4/127.0.0.1/tcp/1/ws"],
        ["/ip4/300.0.0.1/tcp/1"],
        [f"/ip4/127.0.0.1/tcp/1/p2p/{other}"],
        ["/ip4/127.0.0.1/tcp/1"] * (MAX_ADDRS + 1),
    ):
        with pytest.raises(BadPeerAddress):
            parse_addrs(peer, bad)
    with pytest.raises(TypeError):
        parse_addrs(peer, "/ip4/127.0.0.1/tcp/1")
