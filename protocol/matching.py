"""Perpetrator tokens (issue 18): OPRF evaluation, token submission and match notices.

Three exchanges replace the v1 draft `perpetrator.token`, which could only be answered by a
`DeliveryAck` and so could not carry evaluated elements back:

* ``matching_evaluation``, node -> evaluator: `OprfEvaluationRequest` carries blinded
  ristretto255 elements (RFC 9497, suite ristretto255-SHA512, VOPRF mode); the evaluator
  answers `OprfEvaluation` -- the evaluated elements in request order, one batch DLEQ proof,
  and the epoch's public key -- or refuses (``over_budget``, ``malformed``). The node checks
  the proof against the key the signed membership list publishes for that epoch, never
  against the key in the answer alone (`crypto.oprf.BlindedBatch.finalize`).
* ``matching_tokens``, node -> observatory: `TokenSubmission` carries finished tokens
  (OPRF outputs, never identifiers), each under an opaque per-case reference the node
  draws at random, and withdraws the tokens of deleted reports by reference.
* ``matching_notice``, observatory -> node: `MatchNotice` says only that one of the node's
  cases (by its opaque reference) matched cases at N other organisations -- neither which
  organisations nor what identifier.
* ``matching_notices``, node -> observatory: the observatory never dials a node, so a node
  fetches its notices on its federation round with `MatchNoticeQuery`, which also
  acknowledges the notices of the previous answer (they are then not sent again); the
  answer is `MatchNotices`, the pending notices (at most `MAX_NOTICES`, oldest first).
* ``matching_introduce``, node -> observatory: `IntroductionRequest`, a coordinator agrees
  to be introduced to the other side of one matched case (with their thread keys,
  certified by their node's identity key), or dismisses the match (which ends any pending
  introduction of it); answered by a `DeliveryAck`.
* ``matching_introductions``, node -> observatory: `IntroductionQuery` fetches the
  introductions issued once both sides agreed (and acknowledges the previous answer's);
  the answer is `Introductions`: a thread id shared by both sides, the other side's member
  id and its coordinator's certified keys.

Nothing here carries a name, an alias, a unit or a report id; an introduction carries public
keys only.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field, StringConstraints, model_validator

from protocol.message import KeyHex, Message, NodeId, RandomId, Record, SignatureHex, UnixTime

SUITE: Final = "ristretto255-SHA512"
# One batch: a node's backlog goes in several. 1,000 keeps a request under ~70 KB.
MAX_BATCH = 1000
Suite = Literal["ristretto255-SHA512"]
Epoch = Annotated[int, Field(ge=1, le=1_000_000)]
# RFC 9497 §2.2.1: a proof is two scalars, c || s (64 bytes).
ProofHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{128}$")]
# An OPRF output of ristretto255-SHA512 is a SHA-512 digest (64 bytes).
TokenHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{128}$")]


class OprfEvaluationRequest(Message):
    """Blinded elements to evaluate under the evaluator's key of `epoch`."""

    TYPE = "matching.evaluate"
    VERSION = 1

    request_id: RandomId
    suite: Suite
    epoch: Epoch
    blinded_elements: tuple[KeyHex, ...] = Field(min_length=1, max_length=MAX_BATCH)


class OprfEvaluation(Message):
    """The evaluator's answer: evaluated elements in request order and one batch proof."""

    TYPE = "matching.evaluation"
    VERSION = 1

    request_id: RandomId
    suite: Suite
    epoch: Epoch
    public_key: KeyHex
    evaluated_elements: tuple[KeyHex, ...] = Field(min_length=1, max_length=MAX_BATCH)
    proof: ProofHex


class Token(Record):
    """One token under the node's opaque reference to the case it came from. `kind` says
    which combination of identifiers it was made from (`node.matching.recipe`), so that
    only like is matched with like."""

    case_ref: RandomId
    kind: Literal["name_group", "name_unit", "unit_rank"]
    token: TokenHex


class TokenSubmission(Message):
    """Tokens of one epoch to add, and case references whose tokens are withdrawn (the
    report was deleted, or its reporter withdrew consent to matching)."""

    TYPE = "matching.tokens"
    VERSION = 1

    batch_id: RandomId
    epoch: Epoch
    tokens: tuple[Token, ...] = Field(max_length=MAX_BATCH)
    withdrawn: tuple[RandomId, ...] = Field(max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _not_empty(self) -> TokenSubmission:
        if not self.tokens and not self.withdrawn:
            raise ValueError("a submission adds or withdraws something")
        return self


class MatchNotice(Message):
    """One of the recipient's cases matched cases at `other_organisations` other members."""

    TYPE = "matching.notice"
    VERSION = 1

    notice_id: RandomId
    case_ref: RandomId
    other_organisations: Annotated[int, Field(ge=1, le=10_000)]
    epoch: Epoch


MAX_NOTICES = 500


class MatchNoticeQuery(Message):
    """A node asks for its pending match notices, acknowledging those it has recorded."""

    TYPE = "matching.notice_query"
    VERSION = 1

    acknowledged: tuple[RandomId, ...] = Field(default=(), max_length=MAX_NOTICES)


class MatchNotices(Message):
    """The observatory's answer: the notices not yet acknowledged, oldest first."""

    TYPE = "matching.notices"
    VERSION = 1

    notices: tuple[MatchNotice, ...] = Field(max_length=MAX_NOTICES)


class CoordinatorKeys(Record):
    """A coordinator's thread keys as their node certifies them: the Ed25519 key that signs
    their thread messages and the X25519 key messages to them are sealed to. `certificate`
    is the node's identity key's signature in the node's key-certificate format (subject
    ``coordinator-thread:<coordinator_key>``, key `coordinator_box_key`, bound to `node_id`),
    so the other side checks it against the identity key the membership list publishes for
    `node_id`, and the observatory, which relays it, cannot put keys of its own in."""

    node_id: NodeId
    coordinator_key: KeyHex
    coordinator_box_key: KeyHex
    certificate: SignatureHex


class IntroductionRequest(Message):
    """A coordinator's decision on one recorded match (by the case's opaque reference):
    ``agree`` to be introduced to the other side (with their certified keys), or
    ``dismiss`` it as false, which ends any introduction of it still pending."""

    TYPE = "matching.introduction_request"
    VERSION = 1

    request_id: RandomId
    case_ref: RandomId
    decision: Literal["agree", "dismiss"]
    coordinator: CoordinatorKeys | None = None

    @model_validator(mode="after")
    def _keys_iff_agreed(self) -> IntroductionRequest:
        if (self.decision == "agree") != (self.coordinator is not None):
            raise ValueError("an agreement carries the coordinator's keys, a dismissal none")
        return self


class Introduction(Record):
    """Both sides of a match agreed: open coordinator thread `thread_id` about the case
    `case_ref` (the recipient's own reference) with `peer`'s coordinator."""

    introduction_id: RandomId
    case_ref: RandomId
    thread_id: RandomId
    peer: CoordinatorKeys
    expires_at: UnixTime


MAX_INTRODUCTIONS = 100


class IntroductionQuery(Message):
    """A node asks for its pending introductions, acknowledging those it has recorded."""

    TYPE = "matching.introduction_query"
    VERSION = 1

    acknowledged: tuple[RandomId, ...] = Field(default=(), max_length=MAX_INTRODUCTIONS)


class Introductions(Message):
    """The observatory's answer: the introductions not yet acknowledged, oldest first."""

    TYPE = "matching.introductions"
    VERSION = 1

    introductions: tuple[Introduction, ...] = Field(max_length=MAX_INTRODUCTIONS)
