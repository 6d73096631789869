"""A node's side of the federation, played by the tests with the real parts: a
`transport.host.Libp2pHost` (Noise, on 127.0.0.1), `protocol` messages and envelopes, and an
evidence log (`crypto.merkle.MemoryTree`) signed as a node signs its checkpoints. It does
not import `node` (node and observatory never import each other, and these tests check the
observatory against the protocol, not against one node implementation).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from crypto.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from crypto.keys import BoxSecretKey, SigningKey, VerifyKey
from crypto.merkle import MemoryTree, consistency_proof, root_hash
from protocol.envelope import Envelope, seal, verify_frame
from protocol.exchanges import ClientExchange, Endpoint, ResponseReceived
from protocol.membership import MembershipListQuery, MembershipRequest
from protocol.message import Message
from protocol.versions import FEDERATION_PROTOCOL
from protocol.witness import CheckpointPush
from protocol.witnessing import evidence_origin
from transport.host import HostConfig, Libp2pHost
from transport.identity import peer_id_from_public_key

PROTOCOL_ID = FEDERATION_PROTOCOL


@dataclass(frozen=True)
class ObservatoryAddress:
    """What a node pins in its configuration (`backup-observatory show-key`)."""

    node_id: str
    identity_key: VerifyKey
    addrs: tuple[str, ...]

    @property
    def peer_id(self) -> str:
        return peer_id_from_public_key(self.identity_key.raw())


@dataclass
class FakeNode:
    organisation_name: str = "Test organisation"
    country: str = "CD"
    contact: str = "federation@example.org"
    node_id: str = field(default_factory=lambda: secrets.token_hex(16))
    key: SigningKey = field(default_factory=SigningKey.generate)
    box_key: str = field(default_factory=lambda: BoxSecretKey.generate().public_key.raw().hex())
    log: MemoryTree = field(default_factory=MemoryTree)
    host: Libp2pHost | None = None
    seen: set[str] = field(default_factory=set)

    # -- messages ------------------------------------------------------------------------

    def membership_request(self, **changes: Any) -> MembershipRequest:
        fields: dict[str, Any] = {
            "node_id": self.node_id, "organisation_name": self.organisation_name,
            "country": self.country, "contact": self.contact,
            "identity_key": self.key.verify_key.raw().hex(), "box_key": self.box_key,
        }
        return MembershipRequest(**{**fields, **changes})

    @property
    def origin(self) -> str:
        return evidence_origin(self.node_id)

    def grow(self, leaves: int) -> None:
        for _ in range(leaves):
            self.log.append(secrets.token_bytes(32))

    def note(self, size: int | None = None, *, log: MemoryTree | None = None,
             key: SigningKey | None = None) -> str:
        tree = log or self.log
        size = tree.size if size is None else size
        checkpoint = Checkpoint(self.origin, size, root_hash(tree, size))
        signer = NoteSigner(self.origin, key or self.key)
        return sign_checkpoint(checkpoint, signer).encode().decode()

    def push(self, size: int | None = None, old_size: int | None = None, *,
             log: MemoryTree | None = None, key: SigningKey | None = None) -> CheckpointPush:
        tree = log or self.log
        size = tree.size if size is None else size
        proof: list[bytes] = []
        if old_size is not None and 0 < old_size < size:
            proof = consistency_proof(tree, old_size, size)
        return CheckpointPush(checkpoint=self.note(size, log=tree, key=key), old_size=old_size,
                              consistency_proof=tuple(h.hex() for h in proof))

    def seal(self, message: Message, observatory: ObservatoryAddress, *,
             now: int | None = None, ttl: int = 3600, **kwargs: Any) -> Envelope:
        params: dict[str, Any] = {
            "sender": self.node_id, "recipient": observatory.node_id,
            "signing_key": self.key, "now": int(time.time()) if now is None else now,
            "ttl": ttl, **kwargs,
        }
        return seal(message, **params)

    # -- the wire ------------------------------------------------------------------------

    async def start(self) -> None:
        self.host = Libp2pHost(self.key, HostConfig())
        await self.host.start()

    async def stop(self) -> None:
        if self.host is not None:
            await self.host.stop()

    async def send(self, frame: bytes, observatory: ObservatoryAddress) -> bytes:
        assert self.host is not None
        return await self.host.request(observatory.peer_id, observatory.addrs, PROTOCOL_ID,
                                       frame, 10)

    async def ask(self, message: Message, observatory: ObservatoryAddress) -> Message:
        """One request/response exchange through `protocol.exchanges.ClientExchange`."""
        exchange = ClientExchange(self.endpoint(observatory), peer_node_id=observatory.node_id)
        now = int(time.time())
        response = await self.send(exchange.send_request(message, now=now), observatory)
        exchange.receive_data(response)
        event = exchange.next_event(now=now)
        assert isinstance(event, ResponseReceived)
        self.seen.add(event.envelope.envelope_id)
        return event.message

    def endpoint(self, observatory: ObservatoryAddress) -> Endpoint:
        """This node as the protocol sees it: it believes the observatory's key only."""
        return Endpoint(
            self.node_id, self.key,
            lookup_key=lambda n: observatory.identity_key if n == observatory.node_id else None,
            is_replay=self._seen)

    def open_response(self, frame: bytes, observatory: ObservatoryAddress, *,
                      unaddressed: bool = False) -> Message:
        """Verify a response frame addressed to us (or, with `unaddressed`, a refusal that
        names no recipient), signed by the observatory."""
        verified = verify_frame(
            frame, local_node_id=self.node_id, now=int(time.time()),
            lookup_key=lambda n: observatory.identity_key if n == observatory.node_id else None,
            is_replay=lambda *_: False, accept_unaddressed=unaddressed,
        )
        return verified.message

    def _seen(self, sender: str, envelope_id: str, nonce: str) -> bool:
        return envelope_id in self.seen

    async def enroll(self, observatory: ObservatoryAddress) -> Message:
        return await self.ask(self.membership_request(), observatory)

    async def query_list(self, observatory: ObservatoryAddress,
                         known: int | None = None) -> Message:
        return await self.ask(MembershipListQuery(known_sequence=known), observatory)
