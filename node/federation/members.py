"""The observatory's signed membership list, as this node fetches and keeps it.

A list is believed only if the observatory's pinned key signed it, it has not expired, and
its sequence is higher than the last one accepted (`MembershipList.verify`: no rollback to a
list from before a revocation). The same list again (same sequence) is no news. A list that
names this node among the revocations ends its membership.
"""

from __future__ import annotations

import sqlite3

from node.federation import store
from node.federation.config import FederationConfig
from node.federation.errors import BadAnswer, Refused
from protocol.delivery import DeliveryAck
from protocol.errors import EnvelopeRejected
from protocol.membership import MembershipList, MembershipListBody, MembershipListQuery
from protocol.message import Message
from protocol.statements import verify_key_from_hex


def query(conn: sqlite3.Connection, config: FederationConfig) -> MembershipListQuery:
    stored = store.membership_list(conn, config.observatory_node_id)
    return MembershipListQuery(known_sequence=None if stored is None else stored.sequence)


def accept(conn: sqlite3.Connection, signed: MembershipList, *, node_id: str,
           config: FederationConfig, now: int) -> MembershipListBody | None:
    """Verify and keep a list; return its body if it is new, None if it is the one we have.

    Raises the `EnvelopeRejected` of `MembershipList.verify` (bad signature, expired, rolled
    back) or `BadAnswer`. Runs inside the caller's write transaction.
    """
    observatory = config.observatory_node_id
    issuer_key = verify_key_from_hex(config.observatory_identity_key)
    stored = store.membership_list(conn, observatory)
    previous = None if stored is None else stored.sequence
    if previous is not None and signed.body.sequence == previous:
        signed.verify(issuer_key=issuer_key, now=now, previous_sequence=None)
        store.touch_membership_list(conn, observatory, now)
        return None
    body = signed.verify(issuer_key=issuer_key, now=now, previous_sequence=previous)
    if body.issuer != observatory:
        raise BadAnswer("a membership list issued by another node")
    store.store_membership_list(conn, observatory, signed, now)
    for revocation in body.revocations:
        if revocation.node_id == node_id:
            store.record_decision(conn, observatory, "rejected", now,
                                  reason=f"revoked ({revocation.reason})")
    return body


def handle_answer(conn: sqlite3.Connection, answer: Message, *, node_id: str,
                  config: FederationConfig, now: int) -> MembershipListBody | None:
    """What an answer to our `MembershipListQuery` says: a new list (returned), or none."""
    if isinstance(answer, DeliveryAck):
        if answer.status == "rejected":
            raise Refused(answer.reason or "rejected")
        return None
    if not isinstance(answer, MembershipList):
        raise BadAnswer("not an answer to a membership list query")
    try:
        return accept(conn, answer, node_id=node_id, config=config, now=now)
    except EnvelopeRejected as exc:  # bad signature, expired, rolled back: ask again later
        raise Refused(exc.reason) from None
