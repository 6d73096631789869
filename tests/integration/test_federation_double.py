"""An observatory stand-in for in-process federation tests, built from the real parts: a real
libp2p host with its own identity key, the shared `protocol.responder.Responder` for every
frame, real membership certificates and lists, and the shared witness decision
(`protocol.witnessing`). What it lacks is the observatory's storage (so it keeps no replay
record: every request is new to it), web pages and CLI, which the multi-process test
(`test_federation_network.py`) exercises with `backup-observatory`.

It also records every frame it receives, so tests can check what crossed the network.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from crypto.checkpoint import Cosigner
from crypto.keys import SigningKey
from protocol.delivery import DeliveryAck
from protocol.envelope import role_key_of
from protocol.exchanges import Endpoint, RequestReceived
from protocol.membership import (
    CertificateBody,
    MemberEntry,
    MembershipCertificate,
    MembershipDecision,
    MembershipList,
    MembershipListBody,
    MembershipListQuery,
    MembershipRequest,
)
from protocol.message import Message
from protocol.reasons import Reason
from protocol.responder import Refuse, Responder
from protocol.statements import verify_key_from_hex
from protocol.versions import FEDERATION_PROTOCOL as PROTOCOL_ID
from protocol.witness import CheckpointPush
from protocol.witnessing import Witnessed, evidence_origin, response_for, witness, witness_name
from transport.host import HostConfig, Libp2pHost
from transport.identity import peer_id_from_public_key

YEAR = 365 * 24 * 3600


def listen_port() -> int:
    """A free port below Linux's ephemeral range (32768-60999): a port chosen now and
    listened on later (or again, after a restart) must not be taken meanwhile by some
    process's outgoing connection, which draws from the ephemeral range."""
    while True:
        port = random.randrange(20_000, 32_000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


@dataclass
class ObservatoryDouble:
    auto_approve: bool = True
    key: SigningKey = field(default_factory=SigningKey.generate)
    node_id: str = field(default_factory=lambda: secrets.token_hex(16))
    clock: Callable[[], int] = lambda: int(time.time())
    frames: list[bytes] = field(default_factory=list)
    requests: dict[str, MembershipRequest] = field(default_factory=dict)
    approved: dict[str, MemberEntry] = field(default_factory=dict)
    extra_members: list[MemberEntry] = field(default_factory=list)
    witnessed: dict[str, Witnessed] = field(default_factory=dict)
    sequence: int = 0
    host: Libp2pHost | None = None
    list_ttl: int = YEAR

    @property
    def identity_key(self) -> str:
        return self.key.verify_key.raw().hex()

    @property
    def addrs(self) -> list[str]:
        assert self.host is not None
        return list(self.host.listen_addrs)

    async def start(self) -> None:
        responder: Responder[None] = Responder(
            Endpoint(self.node_id, self.key, lookup_key=self._lookup, is_replay=lambda *_: False),
            once=lambda envelope, act: act(None),
            peer_id_of=lambda key: peer_id_from_public_key(key.raw()), clock=self.clock,
            accept_self_certified=True)
        responder.serve(MembershipRequest, self._answer)
        responder.serve(MembershipListQuery, self._answer)
        responder.serve(CheckpointPush, self._answer)
        self.responder = responder
        self.host = Libp2pHost(self.key, HostConfig())
        self.host.set_handler(PROTOCOL_ID, self.handle)
        await self.host.start()

    async def stop(self) -> None:
        if self.host is not None:
            await self.host.stop()

    def approve(self, node_id: str) -> None:
        request = self.requests[node_id]
        self.approved[node_id] = MemberEntry(
            node_id=node_id, organisation_name=request.organisation_name,
            country=request.country, identity_key=request.identity_key,
            box_key=request.box_key, certificate_serial=secrets.token_hex(16),
            joined_at=self.clock())
        self.sequence += 1

    def add_member(self, node_id: str, key: SigningKey) -> None:
        """A member that never enrolled through this double (e.g. a hand-driven peer)."""
        self.extra_members.append(MemberEntry(
            node_id=node_id, organisation_name="Hand-driven member", country="CD",
            identity_key=key.verify_key.raw().hex(), box_key="00" * 32,
            certificate_serial=secrets.token_hex(16), joined_at=self.clock()))
        self.sequence += 1

    def member_list(self) -> MembershipList:
        now = self.clock()
        body = MembershipListBody(
            issuer=self.node_id, sequence=max(self.sequence, 1), issued_at=now,
            expires=now + self.list_ttl,
            members=(*self.approved.values(), *self.extra_members))
        return MembershipList.issue(body, self.key)

    def _lookup(self, node_id: str):  # type: ignore[no-untyped-def]
        entry = self.approved.get(node_id) or next(
            (m for m in self.extra_members if m.node_id == node_id), None)
        return None if entry is None else verify_key_from_hex(entry.identity_key)

    async def handle(self, frame: bytes, remote: str) -> bytes:
        self.frames.append(frame)
        await asyncio.sleep(0)
        return self.responder.answer(frame, remote)

    def _answer(self, request: RequestReceived, _: None) -> Message:
        sender, message, now = request.envelope.sender, request.message, self.clock()
        if isinstance(message, MembershipRequest):
            self.requests[sender] = message
            if self.auto_approve and sender not in self.approved:
                self.approve(sender)
            if sender not in self.approved:
                return DeliveryAck.accept(request.envelope.envelope_id)
            body = CertificateBody(
                serial=self.approved[sender].certificate_serial, issuer=self.node_id,
                node_id=sender, organisation_name=message.organisation_name,
                country=message.country, identity_key=message.identity_key,
                box_key=message.box_key, not_before=now - 60, not_after=now + YEAR)
            return MembershipDecision(node_id=sender, decision="approved",
                                      certificate=MembershipCertificate.issue(body, self.key))
        if sender not in self.approved and self._lookup(sender) is None:
            raise Refuse(Reason.NOT_A_MEMBER)
        if isinstance(message, MembershipListQuery):
            return self.member_list()
        assert isinstance(message, CheckpointPush)
        origin = evidence_origin(sender)
        key = self._lookup(sender)
        assert key is not None
        result = witness(message, origin=origin, log_key=key, last=self.witnessed.get(origin),
                         cosigner=Cosigner(witness_name(self.node_id), self.key), now=now,
                         role_key=role_key_of(request.envelope, key, "checkpoint"))
        witnessed = getattr(result, "witnessed", None)
        if witnessed is not None:
            self.witnessed[origin] = witnessed
        return response_for(result, push=message)


async def test_the_double_answers_a_membership_request() -> None:
    from protocol.envelope import seal

    double = ObservatoryDouble(auto_approve=False)
    await double.start()
    try:
        node = SigningKey.generate()
        node_id = secrets.token_hex(16)
        request = MembershipRequest(node_id=node_id, organisation_name="Org", country="CD",
                                    contact="c@example.org",
                                    identity_key=node.verify_key.raw().hex(),
                                    box_key="11" * 32)
        client = Libp2pHost(node, HostConfig())
        await client.start()
        try:
            envelope = seal(request, sender=node_id, recipient=double.node_id,
                            signing_key=node, now=int(time.time()))
            assert double.host is not None
            answer = await client.request(double.host.peer_id, double.addrs, PROTOCOL_ID,
                                          envelope.to_frame(), 10)
        finally:
            await client.stop()
        assert answer and node_id in double.requests and not double.approved
    finally:
        await double.stop()
