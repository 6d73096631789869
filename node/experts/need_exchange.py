"""Needs, answers and engagements arriving over the federation (issue 16): what the node's
`FederationHandler` serves for them, behind the shared responder (which verified the
envelope, its sender's key and the libp2p peer, and records the request once).

* `ExpertNeed` from a member: kept for the experts of ours it names, until its deadline;
* `ExpertOffer` / `ExpertDecline` from an expert's home node: kept with the need, if the
  expert's own signature holds, the need is ours and open, the expert was matched at that
  node, and a directory younger than a day lists the expert (a forged or revoked
  credential is refused);
* `ExpertEngagement` from the node that posted the need: recorded, if the offer in it is
  our expert's, signed by them.

Every refusal rolls the transaction back: nothing is stored. Answers to what this node sent
are plain acknowledgements (`acknowledged`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from crypto.keys import VerifyKey
from node.experts import needs, received_needs
from node.federation.errors import NOT_KNOWN_YET, BadAnswer, NotKnownYet, Refused
from protocol.delivery import DeliveryAck
from protocol.engagements import ExpertDecline, ExpertEngagement, ExpertNeed, ExpertOffer
from protocol.errors import BadSignature
from protocol.exchanges import RequestReceived
from protocol.experts import ExpertRefused
from protocol.message import Message
from protocol.reasons import Reason
from protocol.responder import Refuse, Responder


def serve(responder: Responder[sqlite3.Connection], *, node_id: str,
          observatory_key: VerifyKey, is_member: Callable[[str], bool],
          clock: Callable[[], int], stored: Callable[[], None] = lambda: None) -> None:
    """Register the handlers on the node's responder; `stored` is called when a need for
    our experts was kept (their e-mail notifications go at the next round)."""

    def member(request: RequestReceived) -> str:
        sender = request.envelope.sender
        if not is_member(sender):
            raise Refuse(Reason.NOT_A_MEMBER)
        return sender

    def need(request: RequestReceived, conn: sqlite3.Connection) -> Message:
        sender = member(request)
        message = request.message
        assert isinstance(message, ExpertNeed)
        try:
            received_needs.receive(conn, message, requesting_node=sender, now=clock())
        except received_needs.NeedRefused as exc:
            raise Refuse(exc.code) from None
        stored()
        return DeliveryAck.accept(request.envelope.envelope_id)

    def answer(request: RequestReceived, conn: sqlite3.Connection) -> Message:
        sender = member(request)
        message = request.message
        assert isinstance(message, ExpertOffer | ExpertDecline)
        try:
            needs.record_answer(conn, message.answer, sender=sender, node_id=node_id,
                                observatory_key=observatory_key, now=clock())
        except BadSignature:
            raise Refuse(Reason.NOT_AUTHENTICATED, "expert signature") from None
        except ExpertRefused as exc:
            raise Refuse(exc.code) from None
        except received_needs.NeedRefused as exc:
            raise Refuse(exc.code) from None
        return DeliveryAck.accept(request.envelope.envelope_id)

    def engagement(request: RequestReceived, conn: sqlite3.Connection) -> Message:
        sender = member(request)
        message = request.message
        assert isinstance(message, ExpertEngagement)
        try:
            received_needs.engaged(conn, message, requesting_node=sender, node_id=node_id)
        except BadSignature:
            raise Refuse(Reason.NOT_AUTHENTICATED, "expert signature") from None
        except received_needs.NeedRefused as exc:
            raise Refuse(exc.code) from None
        return DeliveryAck.accept(request.envelope.envelope_id)

    responder.serve(ExpertNeed, need)
    responder.serve(ExpertOffer, answer)
    responder.serve(ExpertDecline, answer)
    responder.serve(ExpertEngagement, engagement)


def acknowledged(answer: Message) -> str:
    """What the receiver said to a need, answer or engagement we sent: ``accepted``, or
    `Refused` (given up: the receiver keeps nothing, and would refuse it again), or
    `NotKnownYet` (retried: the receiver's membership list does not name us yet)."""
    if not isinstance(answer, DeliveryAck):
        raise BadAnswer("not an acknowledgement")
    if answer.status == "rejected":
        if answer.reason in NOT_KNOWN_YET:
            raise NotKnownYet(answer.reason)
        raise Refused(answer.reason or "rejected")
    return answer.status
