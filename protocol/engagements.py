"""The expert network's exchanges about work (issue 16): need, offer, decline, engagement,
sealed share, revocation and thread message.

Between two member nodes: the *requesting* node (a coordinator there posted a need) and an
expert's *home* node. Each message is one request of the one client path, answered with a
`DeliveryAck` (the transitions are in `protocol.exchanges.EXCHANGES`):

* `ExpertNeed`, requesting → home: structured fields only (specialty, languages, country
  and ISO 3166-2 regions, work mode, urgency, deadline) and the keys of the home node's
  experts it matched. A free-text description is never in it: it is sealed later, to the
  expert the coordinator accepts.
* `ExpertOffer` / `ExpertDecline`, home → requesting: the expert's answer, signed by the
  expert's own key (domain ``BackUp expert answer v1``), so the requesting node believes the
  expert and not only their node.
* `ExpertEngagement`, requesting → home: the coordinator picked an offer (carrying it, so
  the home node checks it is its expert's), or did not.
* `SealedShare`, requesting → home: case material sealed to the expert's X25519 key (a
  sealed box, made in `crypto/`), in parts; the home node stores ciphertext it cannot open.
* `ExpertRevocation`, either way: a need, an engagement or a share ends; its copies and
  wraps are erased.
* `ThreadMessage`, either way: one end-to-end encrypted message of a thread (an
  engagement's, coordinator <-> expert, or one joining two organisations' coordinators),
  sealed to the reader's X25519 key and signed by its author's key (domain
  ``BackUp expert thread message v1``). Each author numbers their messages 1, 2, 3... in
  the thread; the reader takes only the next one (`node.experts.threads`).

Nothing here decides who may receive what: consent, the coordinator's decision and the
directory check (`protocol.experts.shareable_entry`) are the sending node's.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, Self

from pydantic import Field, model_validator

from crypto.keys import SigningKey
from protocol.experts import (
    RegionCode,
    Specialty,
    regions_within,
    sorted_unique,
)
from protocol.message import (
    Base64Blob,
    CountryCode,
    FormatV1,
    KeyHex,
    LanguageTag,
    Message,
    NodeId,
    RandomId,
    Record,
    SignatureHex,
    UnixTime,
)
from protocol.statements import sign_record, verify_key_from_hex, verify_record

ANSWER_DOMAIN: Final = b"BackUp expert answer v1\x00"
THREAD_MESSAGE_DOMAIN: Final = b"BackUp expert thread message v1\x00"

# A need is for days, not months: an older one is posted again, with what changed.
MAX_NEED_LIFETIME: Final = 90 * 24 * 3600
MAX_MATCHED_EXPERTS: Final = 50
# A share's material travels in parts of at most one sealed blob each (`Base64Blob`).
MAX_SHARE_PARTS: Final = 4096

Urgency = Literal["routine", "urgent", "immediate"]
DeclineReason = Literal["unavailable", "outside_expertise", "conflict_of_interest", "other"]
NeedMode = Literal["remote", "on_site", "either"]


class ExpertNeed(Message):
    """A coordinator's need, as other organisations see it: structured fields only."""

    TYPE = "expert.need"
    VERSION = 1

    need_id: RandomId
    specialty: Specialty
    languages: tuple[LanguageTag, ...] = Field(min_length=1, max_length=10)
    country: CountryCode
    regions: tuple[RegionCode, ...] = Field(default=(), max_length=50)  # none: anywhere in it
    mode: NeedMode
    urgency: Urgency
    posted_at: UnixTime
    deadline: UnixTime  # the need expires here everywhere, also on nodes that were offline
    experts: tuple[KeyHex, ...] = Field(min_length=1, max_length=MAX_MATCHED_EXPERTS)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for name in ("languages", "regions", "experts"):
            sorted_unique(getattr(self, name), name)
        regions_within(self.regions, (self.country,))
        if self.deadline <= self.posted_at:
            raise ValueError("the deadline must be later than the posting")
        if self.deadline - self.posted_at > MAX_NEED_LIFETIME:
            raise ValueError("a need lasts at most 90 days")
        return self


class AnswerBody(Record):
    """An expert's answer to a need, as their key signs it."""

    format: FormatV1 = 1
    need_id: RandomId
    requesting_node: NodeId  # who posted the need: the answer is for them only
    expert_key: KeyHex
    answer: Literal["accept", "decline"]
    reason: DeclineReason | None = None
    answered_at: UnixTime

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.answer == "accept" and self.reason is not None:
            raise ValueError("an acceptance gives no reason")
        return self


class SignedAnswer(Record):
    """An `AnswerBody` signed by the expert (domain ``ANSWER_DOMAIN``)."""

    body: AnswerBody
    signature: SignatureHex

    @classmethod
    def sign(cls, body: AnswerBody, expert_key: SigningKey) -> SignedAnswer:
        return cls(body=body, signature=sign_record(ANSWER_DOMAIN, body, expert_key))

    def verify(self) -> AnswerBody:
        """The body, if the key it names signed it; else `BadSignature`. Whether that key is
        a vetted expert's is the directory's to say (`protocol.experts.shareable_entry`)."""
        verify_record(ANSWER_DOMAIN, self.body, self.signature,
                      verify_key_from_hex(self.body.expert_key))
        return self.body


class ExpertOffer(Message):
    """Home → requesting node: the expert accepts the need."""

    TYPE = "expert.offer"
    VERSION = 1

    answer: SignedAnswer

    @model_validator(mode="after")
    def _accepts(self) -> Self:
        if self.answer.body.answer != "accept":
            raise ValueError("an offer accepts")
        return self


class ExpertDecline(Message):
    """Home → requesting node: the expert declines the need."""

    TYPE = "expert.decline"
    VERSION = 1

    answer: SignedAnswer

    @model_validator(mode="after")
    def _declines(self) -> Self:
        if self.answer.body.answer != "decline":
            raise ValueError("a decline declines")
        return self


class ExpertEngagement(Message):
    """Requesting → home node: the coordinator's choice among the offers.

    `engaged` carries the chosen offer (the home node checks it is its own expert's, signed
    by them, for this need); `not_chosen` tells another expert who offered that the need is
    filled. The coordinator's keys open the engagement's thread."""

    TYPE = "expert.engagement"
    VERSION = 1

    engagement_id: RandomId
    decision: Literal["engaged", "not_chosen"]
    offer: SignedAnswer
    coordinator_key: KeyHex  # Ed25519: signs the coordinator's thread messages
    coordinator_box_key: KeyHex  # X25519: what the expert's thread messages are sealed to
    decided_at: UnixTime
    ends_at: UnixTime  # the engagement, and every share of it, expires here
    # The need's free text, sealed to the chosen expert's X25519 key (a sealed box): only
    # they read it, never their home node, and nobody before the coordinator chose them.
    sealed_description: Base64Blob | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.offer.body.answer != "accept":
            raise ValueError("an engagement follows an offer")
        if self.ends_at <= self.decided_at:
            raise ValueError("an engagement ends after it begins")
        return self


PartNumber = Annotated[int, Field(ge=0, le=MAX_SHARE_PARTS - 1)]
PartCount = Annotated[int, Field(ge=1, le=MAX_SHARE_PARTS)]


class SealedShare(Message):
    """Requesting → home node: one part of case material, sealed to the expert's X25519 key.

    The requesting node chose the fields and files within the reporter's consent and checked
    the expert's credential against a fresh directory before sealing; the home node keeps
    the ciphertext for the expert and cannot open it."""

    TYPE = "expert.share"
    VERSION = 1

    share_id: RandomId
    engagement_id: RandomId
    recipient_box_key: KeyHex
    part: PartNumber
    parts: PartCount
    sealed: Base64Blob
    shared_at: UnixTime
    expires: UnixTime

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.part >= self.parts:
            raise ValueError("part is beyond the number of parts")
        if self.expires <= self.shared_at:
            raise ValueError("a share expires after it is made")
        return self


class ExpertRevocation(Message):
    """Either node: a need, an engagement or a share ends; erase its copies and wraps.

    Ending an engagement ends all of its shares; a revoked credential (in the directory)
    ends all of that expert's engagements on every node. A thread's revocation (its case
    was deleted) closes it and erases its messages on the receiving node."""

    TYPE = "expert.revocation"
    VERSION = 1

    subject: Literal["need", "engagement", "share", "thread"]
    subject_id: RandomId
    reason: Literal["reporter", "coordinator", "expert", "credential_revoked", "expired"]
    revoked_at: UnixTime


class ThreadBody(Record):
    """One thread message as its author's key signs it: ciphertext only."""

    format: FormatV1 = 1
    thread_id: RandomId
    message_id: RandomId
    sequence: Annotated[int, Field(ge=1, le=1_000_000)]  # the author's, in order
    author_key: KeyHex
    recipient_box_key: KeyHex
    sealed: Base64Blob
    sent_at: UnixTime


class ThreadMessage(Message):
    """Either node: one message of an engagement's end-to-end encrypted thread."""

    TYPE = "expert.thread_message"
    VERSION = 1

    body: ThreadBody
    author_signature: SignatureHex

    @classmethod
    def sign(cls, body: ThreadBody, author_key: SigningKey) -> ThreadMessage:
        return cls(body=body,
                   author_signature=sign_record(THREAD_MESSAGE_DOMAIN, body, author_key))

    def verify(self) -> ThreadBody:
        """The body, if its author's key signed it; else `BadSignature`."""
        verify_record(THREAD_MESSAGE_DOMAIN, self.body, self.author_signature,
                      verify_key_from_hex(self.body.author_key))
        return self.body
