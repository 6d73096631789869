"""v1 DRAFTS for later exchanges: registered now so their type names are reserved.

These are placeholders, not designs. Each is the smallest model that respects the invariants
it will have to keep (no raw survivor data crosses the network; case material only with
recorded consent and end-to-end encrypted to the receiving person).
Their issues will replace them, bumping `VERSION` if the shape changes after anyone has
persisted one. Nothing may depend on their fields yet.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from protocol.message import (
    Base64Blob,
    KeyHex,
    LanguageTag,
    Message,
    RandomId,
    UnixTime,
)


class ExpertRequest(Message):
    """DRAFT v1. A node asks the federation for an expert. No survivor data: no free text."""

    TYPE = "expert.request"
    VERSION = 1
    DRAFT = True

    request_id: RandomId
    specialty: Literal["legal", "medical", "psychosocial", "investigation", "other"]
    languages: tuple[LanguageTag, ...] = Field(min_length=1, max_length=10)
    urgency: Literal["routine", "urgent"]
    respond_by: UnixTime | None = None


class CaseReferral(Message):
    """DRAFT v1. Case material shared with recorded consent, sealed to one person's key.

    `sealed_case` is an X25519 sealed box (made in `crypto/`) that only the holder of
    `recipient_key` can open; the network and the receiving node's servers see ciphertext.
    """

    TYPE = "case.referral"
    VERSION = 1
    DRAFT = True

    referral_id: RandomId
    consent_id: RandomId  # the consent record at the sending node that allows this referral
    purpose: Literal["care", "medical", "psychosocial", "legal"]
    recipient_key: KeyHex  # the receiving person's X25519 public key
    sealed_case: Base64Blob


class PerpetratorToken(Message):
    """DRAFT v1. Blinded OPRF elements (RFC 9497, ristretto255-SHA512) for matching."""

    TYPE = "perpetrator.token"
    VERSION = 1
    DRAFT = True

    batch_id: RandomId
    suite: Literal["ristretto255-SHA512"]
    blinded_elements: tuple[KeyHex, ...] = Field(min_length=1, max_length=1000)
