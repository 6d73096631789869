"""Signed requests over the host, for the transport's tests: two test nodes, a request one
seals to the other, and a responder that answers it with a sealed `DeliveryAck`.

The responder does what the federation's does before acting on anything: `verify_frame`
against the keys it knows, and the sender's key must be the libp2p identity that Noise
authenticated for the stream (a node's peer id is derived from its identity key).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from crypto.keys import SigningKey
from protocol.delivery import DeliveryAck
from protocol.envelope import seal, verify_frame
from protocol.membership import MembershipListQuery
from transport.identity import peer_id_from_public_key


@dataclass(frozen=True)
class SignedNode:
    key: SigningKey = field(default_factory=SigningKey.generate)
    node_id: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def peer_id(self) -> str:
        return peer_id_from_public_key(self.key.verify_key.raw())


def sealed_query(sender: SignedNode, recipient: SignedNode) -> bytes:
    """A signed `MembershipListQuery` from `sender` to `recipient`, as one varint frame."""
    return seal(MembershipListQuery(), sender=sender.node_id, recipient=recipient.node_id,
                signing_key=sender.key, now=int(time.time())).to_frame()


def responder(me: SignedNode, known: list[SignedNode], seen: list[tuple[str, str]]
              ) -> Callable[[bytes, str], Awaitable[bytes]]:
    """A host handler answering signed requests from `known` nodes; records (sender node
    id, remote peer id) in `seen`."""
    by_id = {node.node_id: node for node in known}

    async def handle(frame: bytes, remote: str) -> bytes:
        now = int(time.time())
        verified = verify_frame(
            frame, local_node_id=me.node_id, now=now, is_replay=lambda *_: False,
            lookup_key=lambda node_id: by_id[node_id].key.verify_key if node_id in by_id
            else None)
        envelope = verified.envelope
        seen.append((envelope.sender, remote))
        bound = by_id[envelope.sender].peer_id == remote
        ack = DeliveryAck(envelope_id=envelope.envelope_id,
                          status="accepted" if bound else "rejected",
                          reason=None if bound else "peer_mismatch")
        return seal(ack, sender=me.node_id, recipient=envelope.sender, signing_key=me.key,
                    now=now, in_reply_to=envelope.envelope_id).to_frame()

    return handle


def open_answer(frame: bytes, me: SignedNode, peer: SignedNode) -> DeliveryAck:
    """The verified `DeliveryAck` that `peer` sent `me` in `frame`."""
    verified = verify_frame(frame, local_node_id=me.node_id, now=int(time.time()),
                            lookup_key=lambda node_id: peer.key.verify_key
                            if node_id == peer.node_id else None,
                            is_replay=lambda *_: False)
    assert isinstance(verified.message, DeliveryAck)
    return verified.message
