"""Joining the federation: the request this node sends, and what the observatory's answers
mean (issue 5, "Observatory: membership").

The node sends a self-certified `MembershipRequest` (its envelope is signed with the identity
key the request announces, so the observatory learns the key with proof of possession). While
an observatory admin has not decided, the answer is `DeliveryAck(accepted)` (or `duplicate`
for a retry of the same envelope); the node asks again with a fresh envelope every
`enrollment_poll_seconds` until the answer is a `MembershipDecision`. An approval carries the
`MembershipCertificate`, which is checked here against the observatory's pinned key and this
node's own keys before it is stored. A member asks again when its certificate enters the last
quarter of its validity, and stores the renewed one the answer carries.
"""

from __future__ import annotations

import sqlite3

from node.federation import store
from node.federation.config import FederationConfig
from node.federation.errors import BadAnswer, Refused
from node.keyring import NodeKeys
from protocol.delivery import DeliveryAck
from protocol.errors import EnvelopeRejected
from protocol.membership import MembershipDecision, MembershipRequest
from protocol.message import Message
from protocol.statements import verify_key_from_hex


def request(keys: NodeKeys, config: FederationConfig) -> MembershipRequest:
    """What this node asks with. `box_key` is the intake key: material sealed to "the node"
    must reach the people who triage for it, who hold that key's private half."""
    return MembershipRequest(
        node_id=keys.node_id,
        organisation_name=config.organisation_name,
        country=config.country,
        contact=config.contact,
        identity_key=keys.identity_public.raw().hex(),
        box_key=keys.intake_public.raw().hex(),
    )


def renewal_due(membership: store.Membership, now: int) -> bool:
    """An approved membership whose certificate is in the last quarter of its validity:
    time to ask again, and the observatory answers with a renewed certificate."""
    cert = membership.certificate
    if membership.status != "approved" or cert is None:
        return False
    body = cert.body
    return now >= body.not_after - (body.not_after - body.not_before) // 4


def handle_answer(conn: sqlite3.Connection, answer: Message, *, keys: NodeKeys,
                  config: FederationConfig, now: int) -> str:
    """Store what an answer to our request says; return the outcome ("pending", "approved",
    "rejected"). Runs inside the caller's write transaction.

    Raises `Refused` if the observatory refused the request itself (the outbox gives it
    up; the next poll asks again), `BadAnswer` if the answer cannot be believed.
    """
    observatory = config.observatory_node_id
    if isinstance(answer, DeliveryAck):
        if answer.status == "rejected":
            raise Refused(answer.reason or "rejected")
        store.record_request(conn, observatory, now)
        return "pending"
    if not isinstance(answer, MembershipDecision):
        raise BadAnswer("not an answer to a membership request")
    if answer.node_id != keys.node_id:
        raise BadAnswer("a membership decision about another node")
    if answer.decision == "rejected":
        store.record_decision(conn, observatory, "rejected", now, reason=answer.reason)
        return "rejected"
    certificate = answer.certificate
    assert certificate is not None  # MembershipDecision's validator: approved ⇒ certificate
    try:
        body = certificate.verify(
            issuer_key=verify_key_from_hex(config.observatory_identity_key), now=now)
    except EnvelopeRejected as exc:
        raise BadAnswer(f"membership certificate: {exc.reason}") from None
    if (body.issuer != observatory or body.node_id != keys.node_id
            or body.identity_key != keys.identity_public.raw().hex()
            or body.box_key != keys.intake_public.raw().hex()):
        raise BadAnswer("the membership certificate is not for this node's keys")
    store.record_decision(conn, observatory, "approved", now, certificate=certificate)
    return "approved"
