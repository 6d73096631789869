"""Whose keys this node believes: everything that crosses the network is signed, and checked
before it is believed.

* The observatory: its identity key comes from ``node.toml`` (pinned out of band), never
  from the network.
* The OPRF evaluator of perpetrator tokens (issue 18): its identity key and each epoch's
  OPRF public key come from the membership list too (`evaluator`), and it is believed only
  in answers to this node's evaluation requests (`evaluator_key`), never as a member.
* Member nodes: their identity keys come from the latest membership list this node verified
  with the observatory's key. A revoked node is no longer in ``members``
  (`protocol.membership`), so it stops being believed with the next list; an expired list is
  not believed at all ("no freezing on an old list"), until a fresh one is fetched.
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto.keys import VerifyKey
from protocol.membership import MemberEntry, MembershipListBody, OprfEvaluatorEntry
from protocol.statements import verify_key_from_hex


@dataclass(frozen=True)
class Directory:
    observatory_id: str
    observatory_key: VerifyKey
    members: MembershipListBody | None = None

    def current(self, now: int) -> MembershipListBody | None:
        """The membership list, if it has not expired at `now`."""
        if self.members is None or now >= self.members.expires:
            return None
        return self.members

    def member(self, node_id: str, now: int) -> MemberEntry | None:
        body = self.current(now)
        return None if body is None else body.member(node_id)

    def key_of(self, node_id: str, now: int) -> VerifyKey | None:
        """The identity key to verify `node_id`'s envelopes with, or None (not believed)."""
        if node_id == self.observatory_id:
            return self.observatory_key
        entry = self.member(node_id, now)
        return None if entry is None else verify_key_from_hex(entry.identity_key)

    def evaluator(self, now: int) -> OprfEvaluatorEntry | None:
        body = self.current(now)
        return None if body is None else body.evaluator

    def evaluator_key(self, node_id: str, now: int) -> VerifyKey | None:
        """The evaluator's identity key, if `node_id` is the evaluator the list names."""
        entry = self.evaluator(now)
        if entry is None or entry.node_id != node_id:
            return None
        return verify_key_from_hex(entry.identity_key)

    def is_member(self, node_id: str, now: int) -> bool:
        return self.member(node_id, now) is not None

    def with_members(self, members: MembershipListBody) -> Directory:
        return Directory(self.observatory_id, self.observatory_key, members)
