"""Requests arriving at this node over libp2p: its decisions, behind the shared responder.

`protocol.responder.Responder` does what every endpoint does (verify with the keys this node
believes, refuse with the shared reason codes, check that the libp2p peer is the sender's
key, answer duplicates, act once in the same transaction as the replay record). The keys
believed are the `directory`'s: the observatory's pinned key and the members of the latest
verified membership list. What this node answers:

* `CheckpointPush` from a member: witnessed (`peer_logs`); anyone else: ``not_a_member``.
  A retry of a push already handled is answered again from the current witness state (the
  same checkpoint is cosigned again), storing nothing;
* after a member's restore (issue 21): `WitnessedQuery`, what we cosigned of its log;
  `LogSuccession`, its successor statement, recorded (`peer_logs`) or refused with why;
* `MembershipList` / `MembershipDecision` pushed by the observatory: kept as if fetched;
  from anyone else: ``not_the_observatory``;
* `ExpertNeed`, `ExpertOffer`, `ExpertDecline`, `ExpertEngagement` from a member: the
  expert network's mobilising (`node.experts.need_exchange`);
* `SealedShare` / `ExpertRevocation` of a share from a member (issue 16, when the node
  keeps shares for its experts): kept or erased (`node.experts.shares`); a share for no
  expert of this node, or another node's, is refused and nothing is stored;
* `ExpertOpinion` from an engaged expert's home node (issue 16): checked and committed to
  the evidence log (`node.experts.opinions`), or refused with nothing stored;
* `ThreadMessage` / `ExpertRevocation` of a thread from a member (issue 16): the next
  message of a thread with a party here, or its erasure (`node.experts.threads`); anything
  else (another author, an old or skipped number, a closed thread) is refused, nothing kept;
* anything else: ``not_supported``.

The responder runs in a worker thread: SQLite (through the node's one writer) and Ed25519
are blocking, and the libp2p host waits on this coroutine, not on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable

from crypto.keys import VerifyKey
from node.experts import need_exchange
from node.experts.opinions import CaseOpinions
from node.experts.opinions import Refused as OpinionRefused
from node.experts.shares import PartRefused, Shares
from node.experts.threads import ThreadRefused, Threads
from node.federation import enrollment, members, peer_logs
from node.federation.config import FederationConfig
from node.federation.directory import Directory
from node.federation.errors import FederationError
from node.keyring import NodeKeys
from node.storage.database import Database
from protocol.delivery import DeliveryAck
from protocol.engagements import ExpertRevocation, SealedShare, ThreadMessage
from protocol.envelope import role_key_of
from protocol.errors import BadSignature, EnvelopeRejected
from protocol.exchanges import DuplicateReceived, RequestReceived
from protocol.membership import MembershipDecision, MembershipList
from protocol.message import Message
from protocol.opinions import ExpertOpinion
from protocol.reasons import Reason
from protocol.responder import Refuse, Responder
from protocol.statements import verify_key_from_hex
from protocol.witness import (
    CheckpointPush,
    CosignatureResponse,
    LogSuccession,
    WitnessedQuery,
)
from transport.identity import peer_id_from_public_key
from transport.inbox import ReplayGuard
from transport.store import ReplayStore

log = logging.getLogger("backup.federation")


class FederationHandler:
    """The `transport.host.Handler` of the federation protocol."""

    def __init__(self, db: Database, *, keys: NodeKeys, config: FederationConfig,
                 directory: Callable[[], Directory], clock: Callable[[], int],
                 on_change: Callable[[], None] = lambda: None,
                 shares: Shares | None = None, opinions: CaseOpinions | None = None,
                 threads: Threads | None = None) -> None:
        self._db = db
        self._opinions = opinions
        self._shares = shares
        self._threads = threads
        self._keys = keys
        self._config = config
        self._directory = directory
        self._clock = clock
        self._on_change = on_change
        self._changed = threading.local()
        guard: ReplayStore = ReplayGuard(db)
        self.responder: Responder[sqlite3.Connection] = Responder(
            keys.endpoint(lookup_key=self._key_of, is_replay=guard),
            once=guard.once, peer_id_of=lambda key: peer_id_from_public_key(key.raw()),
            clock=clock, log=log)
        self.responder.serve(CheckpointPush, self._witness, again=self._witness_again)
        self.responder.serve(WitnessedQuery, self._witnessed)  # after a restore (issue 21)
        self.responder.serve(LogSuccession, self._succession)
        self.responder.serve(MembershipList, self._membership_list)
        self.responder.serve(MembershipDecision, self._membership_decision)
        need_exchange.serve(self.responder, node_id=keys.node_id,  # issue 16
                            observatory_key=verify_key_from_hex(config.observatory_identity_key),
                            is_member=lambda node_id: self._directory().is_member(
                                node_id, self._clock()),
                            clock=clock,
                            stored=lambda: setattr(self._changed, "value", True))
        if shares is not None:
            self.responder.serve(SealedShare, self._share)
        if shares is not None or threads is not None:
            self.responder.serve(ExpertRevocation, self._revocation)
        if opinions is not None:
            self.responder.serve(ExpertOpinion, self._opinion)
        if threads is not None:
            self.responder.serve(ThreadMessage, self._thread_message)

    async def __call__(self, frame: bytes, remote_peer_id: str) -> bytes:
        answer, changed = await asyncio.to_thread(self.handle, frame, remote_peer_id)
        if changed:
            self._on_change()
        return answer

    def handle(self, frame: bytes, remote_peer_id: str) -> tuple[bytes, bool]:
        """The answer to one frame (blocking), and whether it changed what this node
        believes (a membership list or decision was stored)."""
        self._changed.value = False
        answer = self.responder.answer(frame, remote_peer_id)
        return answer, self._changed.value

    def _key_of(self, node_id: str) -> VerifyKey | None:
        return self._directory().key_of(node_id, self._clock())

    # -- this node as a witness of its members' logs ---------------------------------------

    def _member_key(self, sender: str) -> VerifyKey:
        now = self._clock()
        directory = self._directory()
        key = directory.key_of(sender, now)
        if not directory.is_member(sender, now) or key is None:
            raise Refuse(Reason.NOT_A_MEMBER)
        return key

    def _witness(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        push = request.message
        assert isinstance(push, CheckpointPush)  # served for this type only
        sender = request.envelope.sender
        key = self._member_key(sender)
        answer = peer_logs.witness_push(
            conn, push, sender=sender, sender_key=key,
            role_key=role_key_of(request.envelope, key, "checkpoint"),
            node_id=self._keys.node_id, witness_key=self._keys.witness_key, now=self._clock())
        log.info("federation: %s: %s%s", request.envelope.describe(), answer.outcome,
                 f" ({answer.refusal})" if answer.refusal else "")
        return answer

    def _witness_again(self, duplicate: DuplicateReceived) -> CosignatureResponse:
        push = duplicate.message
        assert isinstance(push, CheckpointPush)
        sender = duplicate.envelope.sender
        key = self._member_key(sender)
        return peer_logs.answer_again(
            self._db.read(), push, sender=sender, sender_key=key,
            role_key=role_key_of(duplicate.envelope, key, "checkpoint"),
            node_id=self._keys.node_id, witness_key=self._keys.witness_key, now=self._clock())

    # -- the expert network (issue 16): shares, opinions and threads from members -----------

    def _share(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        share = request.message
        shares = self._shares
        assert isinstance(share, SealedShare) and shares is not None
        return self._kept(request, "share part ", lambda sender: shares.receive_part_in(
            conn, share, sender=sender, now=self._clock()))

    def _revocation(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        revocation = request.message
        assert isinstance(revocation, ExpertRevocation)
        threads, shares = self._threads, self._shares

        def erase(sender: str) -> str:
            if revocation.subject == "thread" and threads is not None:
                return threads.receive_erasure_in(conn, revocation, sender=sender,
                                                  now=self._clock())
            if shares is not None:
                return shares.receive_revocation_in(conn, revocation, sender=sender,
                                                    now=self._clock())
            raise Refuse(Reason.NOT_SUPPORTED)
        return self._kept(request, "", erase)

    def _opinion(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        opinion = request.message
        opinions = self._opinions
        assert isinstance(opinion, ExpertOpinion) and opinions is not None
        return self._kept(request, "opinion ", lambda sender: opinions.receive_in(
            conn, opinion, sender=sender, node_id=self._keys.node_id))

    def _thread_message(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        """Issue 16: one message of a thread with a party on this node."""
        message = request.message
        threads = self._threads
        assert isinstance(message, ThreadMessage) and threads is not None
        return self._kept(request, "thread message ", lambda sender: threads.receive_in(
            conn, message, sender=sender, now=self._clock()))

    def _kept(self, request: RequestReceived, what: str, keep: Callable[[str], str]
              ) -> Message:
        """What every expert-network message from a member comes to (issue 16): refused
        unless its sender is a member; `keep(sender)` records it in the responder's
        transaction and says how (an expert store's refusal, or an author signature that
        does not verify, refuses it with nothing stored); logged by its outcome, and
        acknowledged."""
        sender = request.envelope.sender
        self._member_key(sender)
        try:
            outcome = keep(sender)
        except BadSignature:  # the author's, inside the message (the envelope verified)
            raise Refuse(Reason.NOT_AUTHENTICATED, "author signature") from None
        except (PartRefused, ThreadRefused, OpinionRefused) as exc:
            raise Refuse(exc.code) from None
        log.info("federation: %s: %s%s", request.envelope.describe(), what, outcome)
        return DeliveryAck.accept(request.envelope.envelope_id)

    def _witnessed(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        query = request.message
        assert isinstance(query, WitnessedQuery)
        sender = request.envelope.sender
        self._member_key(sender)
        return peer_logs.witnessed_answer(conn, query, sender=sender)

    def _succession(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        message = request.message
        assert isinstance(message, LogSuccession)
        sender = request.envelope.sender
        key = self._member_key(sender)
        peer_logs.record_succession(conn, message, sender=sender, sender_key=key,
                                    role_key=role_key_of(request.envelope, key, "checkpoint"),
                                    now=self._clock())
        log.info("federation: %s: log successor recorded", request.envelope.describe())
        return DeliveryAck.accept(request.envelope.envelope_id)

    # -- what the observatory pushes ---------------------------------------------------------

    def _from_observatory(self, request: RequestReceived) -> None:
        if request.envelope.sender != self._config.observatory_node_id:
            raise Refuse(Reason.NOT_THE_OBSERVATORY)

    def _membership_list(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        self._from_observatory(request)
        pushed = request.message
        assert isinstance(pushed, MembershipList)
        try:
            members.accept(conn, pushed, node_id=self._keys.node_id, config=self._config,
                           now=self._clock())
        except EnvelopeRejected as exc:  # bad signature, expired, rolled back
            raise Refuse(exc.reason) from None
        except FederationError as exc:
            raise Refuse(exc.code) from None
        self._changed.value = True
        return DeliveryAck.accept(request.envelope.envelope_id)

    def _membership_decision(self, request: RequestReceived,
                             conn: sqlite3.Connection) -> Message:
        self._from_observatory(request)
        try:
            enrollment.handle_answer(conn, request.message, keys=self._keys,
                                     config=self._config, now=self._clock())
        except FederationError as exc:
            raise Refuse(exc.code) from None
        self._changed.value = True
        return DeliveryAck.accept(request.envelope.envelope_id)
