"""v1 DRAFTS for later exchanges: registered now so their type names are reserved.

These are placeholders, not designs. Each is the smallest model that respects the invariants
it will have to keep (no raw survivor data crosses the network; case material only with
recorded consent and end-to-end encrypted to the receiving person).
Their issues will replace them, bumping `VERSION` if the shape changes after anyone has
persisted one. Nothing may depend on their fields yet. (The expert network's drafts,
`ExpertRequest` and `CaseReferral`, gave way to `protocol.experts` and
`protocol.engagements`, issue 16.)
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from protocol.message import KeyHex, Message, RandomId


class PerpetratorToken(Message):
    """DRAFT v1. Blinded OPRF elements (RFC 9497, ristretto255-SHA512) for matching."""

    TYPE = "perpetrator.token"
    VERSION = 1
    DRAFT = True

    batch_id: RandomId
    suite: Literal["ristretto255-SHA512"]
    blinded_elements: tuple[KeyHex, ...] = Field(min_length=1, max_length=1000)
