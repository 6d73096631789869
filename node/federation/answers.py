"""The answers to this node's requests: believed through the protocol's client exchange, then
stored by what they answer.

`verify` resumes a `protocol.exchanges.ClientExchange` from the request frame the outbox
stored (possibly before a restart) and feeds it the answer: it is believed only if it is
signed by the node we asked, answers that very request (`in_reply_to`, or the request
frame's digest for a `FrameRefusal`), is a response the exchange allows, and is fresh.
`record` then keeps what it says, inside the caller's write transaction:

* our `MembershipRequest` (`enrollment.handle_answer`): pending, approved (certificate
  checked), rejected;
* our `MembershipListQuery` (`members.handle_answer`): a newer verified list, or none;
* our `StatisticsRelease` (`statistics_delivery.handle_answer`);
* our `CheckpointPush` (`our_log.handle_answer`): a cosignature, or what the witness refused;
* our `SealedShare` and `ExpertRevocation` (`shares.handle_answer`): delivered or refused;
* our `ThreadMessage` (`threads.handle_answer`): kept, refused, or to be tried again;
* after a restore, our `WitnessedQuery` and `LogSuccession` (`restored`, issue 21).

A refusal (`DeliveryAck(rejected)` where the handler says it is final, or a `FrameRefusal`)
is `Refused`: the outbox gives the item up, and the periodic work sends a fresh request
later. Anything that cannot be believed raises, and the outbox retries.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from crypto import role_statement as role_format
from node.experts import directory as expert_directory
from node.experts import need_exchange, outgoing, shares, threads, vetting
from node.federation import enrollment, members, our_log, restored, statistics_delivery
from node.federation.config import FederationConfig
from node.federation.directory import Directory
from node.federation.errors import BadAnswer, Refused
from node.keyring import NodeKeys
from protocol.delivery import FrameRefusal
from protocol.exchanges import ClientExchange, Endpoint, NeedData
from protocol.membership import MembershipListQuery, MembershipRequest
from protocol.message import Message
from protocol.witness import CheckpointPush, LogSuccession, WitnessedQuery


def _kind(model: type[Message]) -> str:
    """How the outbox names a request's type (`transport.store.Queued.message_type`)."""
    return f"{model.TYPE} v{model.VERSION}"


ENROLL = _kind(MembershipRequest)
LIST_QUERY = _kind(MembershipListQuery)
PUSH = _kind(CheckpointPush)
QUERY = _kind(WitnessedQuery)  # issue 21: a restored node asks what was cosigned
SUCCESSION = _kind(LogSuccession)
# Answers to a push after which the next push to that witness may go at once.
PUSH_AGAIN = frozenset({"cosigned", "old_size_mismatch", "smaller_tree", "duplicate",
                        "accepted", "succession_recorded"})


@dataclass(frozen=True)
class Outcome:
    code: str  # for the log line: "approved", "cosigned", a refusal's reason...
    refused: Refused | None = None  # what was said is kept; then the item is given up
    approved: bool = False  # our membership was just approved

    @property
    def push_again(self) -> bool:
        return self.code in PUSH_AGAIN


def verify(endpoint: Endpoint, request: bytes, response: bytes, *,
           now: int) -> tuple[Message, str | None]:
    """The answer to `request` (a frame this node sealed) that `response` holds, believed,
    and the role statement its envelope carried (verified with the sender's identity key).

    Raises the exchange's `EnvelopeRejected` or `RemoteProtocolError` (the outbox retries),
    or `Refused` for a `FrameRefusal` (the peer could not read our frame: given up)."""
    exchange = ClientExchange.resume(endpoint, request)
    exchange.receive_data(response)
    event = exchange.next_event(now=now)
    if isinstance(event, NeedData):  # the transport hands over whole frames only
        raise BadAnswer("an incomplete answer")
    if isinstance(event.message, FrameRefusal):
        raise Refused(event.message.reason)
    return event.message, event.envelope.role_statement


def record(conn: sqlite3.Connection, request_type: str, envelope_id: str, recipient: str,
          answer: Message, *, keys: NodeKeys, config: FederationConfig, directory: Directory,
          now: int, witnesses: tuple[str, ...] = (),
          role_statement: str | None = None) -> Outcome:
    """Keep what `answer` says about our request (of `request_type`, sealed as `envelope_id`
    to `recipient`), inside the caller's write transaction. A `Refused` is kept too (the
    witness's last outcome, say) and returned, for the caller to raise once committed."""
    try:
        if request_type == ENROLL:
            code = enrollment.handle_answer(conn, answer, keys=keys, config=config, now=now)
            return Outcome(code, approved=code == "approved")
        if request_type == LIST_QUERY:
            body = members.handle_answer(conn, answer, node_id=keys.node_id, config=config,
                                         now=now)
            return Outcome("unchanged" if body is None else f"sequence {body.sequence}")
        if request_type == statistics_delivery.MESSAGE_TYPE:
            return Outcome(statistics_delivery.handle_answer(conn, envelope_id, answer,
                                                             now // 3600))
        if request_type == vetting.AVAILABILITY:  # issue 16
            return Outcome(vetting.handle_availability_answer(answer))
        if request_type == vetting.VOUCH:
            return Outcome(vetting.handle_answer(conn, answer, node_id=keys.node_id,
                                                 config=config, now=now))
        if request_type in outgoing.KINDS:  # needs, answers, engagements (issue 16)
            return Outcome(need_exchange.acknowledged(answer))
        if request_type == expert_directory.QUERY:
            return Outcome(expert_directory.handle_answer(conn, answer, config=config,
                                                          now=now))
        if request_type == threads.MESSAGE:  # issue 16: a gap is retried, not given up
            return Outcome(threads.handle_answer(answer))
        if request_type in (shares.SHARE, shares.REVOCATION):  # issue 16
            return Outcome(shares.handle_answer(answer))
        if request_type == PUSH:
            key = directory.key_of(recipient, now)
            if key is None:
                raise BadAnswer("the witness is no longer believed")
            witness_key = key
            if role_statement is not None:  # checked by `verify` with the same identity key
                witness_key = role_format.verify_encoded(role_statement, key,
                                                         recipient).key("witness")
            return Outcome(our_log.handle_answer(
                conn, answer, node_id=keys.node_id,
                log_keys=(keys.checkpoint_key.verify_key, keys.identity_public),
                witness=recipient, witness_key=witness_key, now=now))
        if request_type in (QUERY, SUCCESSION):
            return Outcome(_after_restore(conn, request_type, recipient, answer, keys=keys,
                                          directory=directory, now=now,
                                          witnesses=witnesses, role_statement=role_statement))
    except Refused as exc:
        return Outcome(exc.code, refused=exc)
    raise BadAnswer("an answer to a message this node does not send")


def _after_restore(conn: sqlite3.Connection, request_type: str, recipient: str,
                   answer: Message, *, keys: NodeKeys, directory: Directory, now: int,
                   witnesses: tuple[str, ...], role_statement: str | None) -> str:
    """Issue 21: a witness's answer to a restored node's query or successor statement."""
    if request_type == SUCCESSION:
        return restored.handle_succession_answer(conn, answer, node_id=keys.node_id,
                                                 witness=recipient, now=now)
    key = directory.key_of(recipient, now)
    if key is None:
        raise BadAnswer("the witness is no longer believed")
    witness_key = key
    if role_statement is not None:  # checked by `verify` with the same identity key
        witness_key = role_format.verify_encoded(role_statement, key, recipient).key("witness")
    return restored.handle_witnessed(
        conn, answer, node_id=keys.node_id,
        log_keys=(keys.checkpoint_key.verify_key, keys.identity_public), witness=recipient,
        witness_key=witness_key, witnesses=witnesses or (recipient,), now=now)
