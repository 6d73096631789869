"""Observatory membership: request, decision, certificate, signed membership list (issue 5).

A node asks to join with a `MembershipRequest` that carries its own public keys; the envelope
around it is signed with the identity key it announces, which proves the node holds the
private half (proof of possession, as in a PKCS#10 request, RFC 2986 §3). An admin decides;
the node receives a `MembershipDecision`, with a `MembershipCertificate` when approved. The
observatory publishes a `MembershipList`, signed and numbered by `sequence`; a node accepts a
list only if its sequence is higher than the last it accepted (no rollback to a list from
before a revocation) and it has not expired (no freezing on an old list). Revoked nodes leave
`members` and are named in `revocations`, so revocations take effect with the next list.

Certificates and lists are signed statements of their own (see `protocol.statements`), not
just payloads of a signed envelope: a node can hand them on and anyone with the observatory's
public key can check them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import Field, model_validator

from crypto.keys import SigningKey, VerifyKey
from protocol.encoding import MAX_SAFE_INT
from protocol.errors import Expired, NotYetValid, RolledBack
from protocol.message import (
    CountryCode,
    FormatV1,
    KeyHex,
    Message,
    Name,
    NodeId,
    RandomId,
    Record,
    ShortText,
    SignatureHex,
    UnixTime,
)
from protocol.statements import (
    CERTIFICATE_DOMAIN,
    MEMBERSHIP_LIST_DOMAIN,
    sign_record,
    verify_key_from_hex,
    verify_record,
)

# A list is a few hundred bytes per member; this keeps one list well inside a frame.
MAX_MEMBERS = 2000
MAX_REVOCATIONS = 2000


class MembershipRequest(Message):
    """A node asks the observatory to join the federation."""

    TYPE = "membership.request"
    VERSION = 1

    node_id: NodeId
    organisation_name: Name
    country: CountryCode
    # How the observatory admin reaches a responsible person at the organisation (an email
    # address, a Signal number): staff contact data, never survivor data.
    contact: Name
    identity_key: KeyHex  # Ed25519 (RFC 8032): signs everything the node sends
    box_key: KeyHex  # X25519 (RFC 7748): what material for the node is sealed to

    def self_certified_key(self, sender: str) -> VerifyKey | None:
        """The key that must have signed the envelope carrying this request, if `sender`
        is the node the request is about; None otherwise."""
        if sender != self.node_id:
            return None
        return verify_key_from_hex(self.identity_key)


class CertificateBody(Record):
    """What the observatory attests: this node id holds these keys, for this period."""

    format: FormatV1 = 1
    serial: RandomId
    issuer: NodeId  # the observatory's node id
    node_id: NodeId
    organisation_name: Name
    country: CountryCode
    identity_key: KeyHex
    box_key: KeyHex
    not_before: UnixTime
    not_after: UnixTime

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.not_after <= self.not_before:
            raise ValueError("not_after must be later than not_before")
        return self


class MembershipCertificate(Record):
    """A `CertificateBody` signed by the observatory (domain `CERTIFICATE_DOMAIN`)."""

    body: CertificateBody
    signature: SignatureHex

    @classmethod
    def issue(cls, body: CertificateBody, observatory_key: SigningKey) -> MembershipCertificate:
        return cls(body=body, signature=sign_record(CERTIFICATE_DOMAIN, body, observatory_key))

    def verify(self, *, issuer_key: VerifyKey, now: int) -> CertificateBody:
        """The body, if the observatory signed it and `now` is within its validity period.

        Raises `BadSignature`, `NotYetValid` or `Expired`.
        """
        verify_record(CERTIFICATE_DOMAIN, self.body, self.signature, issuer_key)
        if now < self.body.not_before:
            raise NotYetValid(
                f"membership certificate {self.body.serial} for node {self.body.node_id} "
                f"is valid from {self.body.not_before} (now {now})"
            )
        if now >= self.body.not_after:
            raise Expired(
                f"membership certificate {self.body.serial} for node {self.body.node_id} "
                f"expired at {self.body.not_after} (now {now})"
            )
        return self.body


class MembershipDecision(Message):
    """The observatory's answer to a `MembershipRequest`."""

    TYPE = "membership.decision"
    VERSION = 1

    node_id: NodeId
    decision: Literal["approved", "rejected"]
    reason: ShortText | None = None  # required when rejected: the organisation deserves one
    certificate: MembershipCertificate | None = None  # exactly when approved

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.decision == "approved":
            if self.certificate is None:
                raise ValueError("an approval carries the membership certificate")
            if self.certificate.body.node_id != self.node_id:
                raise ValueError("the certificate is for another node")
        else:
            if self.certificate is not None:
                raise ValueError("a rejection carries no certificate")
            if self.reason is None:
                raise ValueError("a rejection gives a reason")
        return self


class MembershipListQuery(Message):
    """A node asks for the current membership list."""

    TYPE = "membership.list_query"
    VERSION = 1

    known_sequence: Annotated[int, Field(ge=1, le=MAX_SAFE_INT)] | None = None


class MemberEntry(Record):
    """One active member of the federation, with its public keys."""

    node_id: NodeId
    organisation_name: Name
    country: CountryCode
    identity_key: KeyHex
    box_key: KeyHex
    certificate_serial: RandomId
    joined_at: UnixTime


class Revocation(Record):
    """A node that is no longer a member; its keys must no longer be believed."""

    node_id: NodeId
    revoked_at: UnixTime
    reason: Literal["key_compromised", "left_federation", "misbehaviour", "other"]


# An evaluator keeps a few epochs' keys published at once (the current one and those nodes
# are still moving away from after a rotation).
MAX_OPRF_EPOCHS = 16


class OprfEpochKey(Record):
    """The OPRF public key of one key epoch (RFC 9497 ristretto255-SHA512, 32 bytes)."""

    epoch: Annotated[int, Field(ge=1, le=1_000_000)]
    public_key: KeyHex


class OprfEvaluatorEntry(Record):
    """The OPRF evaluator of perpetrator tokens (issue 18), run by another operator than the
    observatory: its identity (whose envelopes a node believes) and each live epoch's
    public key, against which a node checks every evaluation proof. The observatory's
    admin records them from the evaluator (``backup-observatory evaluator-*``)."""

    node_id: NodeId
    identity_key: KeyHex
    epochs: tuple[OprfEpochKey, ...] = Field(min_length=1, max_length=MAX_OPRF_EPOCHS)

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        numbers = [e.epoch for e in self.epochs]
        if len(set(numbers)) != len(numbers):
            raise ValueError("an epoch is listed twice")
        return self

    @property
    def current_epoch(self) -> int:
        """The epoch nodes evaluate under now: the newest published."""
        return max(e.epoch for e in self.epochs)

    def key_of(self, epoch: int) -> bytes | None:
        """The published public key of `epoch`, or None (not, or no longer, published)."""
        return next((bytes.fromhex(e.public_key) for e in self.epochs if e.epoch == epoch),
                    None)


class MembershipListBody(Record):
    """The signed content of a membership list."""

    format: FormatV1 = 1
    issuer: NodeId
    sequence: Annotated[int, Field(ge=1, le=MAX_SAFE_INT)]
    issued_at: UnixTime
    expires: UnixTime
    members: tuple[MemberEntry, ...] = Field(max_length=MAX_MEMBERS)
    revocations: tuple[Revocation, ...] = Field(default=(), max_length=MAX_REVOCATIONS)
    evaluator: OprfEvaluatorEntry | None = None  # issue 18; left out of the JSON when None

    def to_json_object(self) -> dict[str, Any]:
        # A list without an evaluator is the very JSON (and so the very signed bytes) it was
        # before issue 18 added the field: lists issued and stored before still verify.
        obj = super().to_json_object()
        if obj.get("evaluator") is None:
            obj.pop("evaluator", None)
        return obj

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.expires <= self.issued_at:
            raise ValueError("expires must be later than issued_at")
        member_ids = [m.node_id for m in self.members]
        if len(set(member_ids)) != len(member_ids):
            raise ValueError("a node is listed twice")
        revoked_ids = [r.node_id for r in self.revocations]
        if len(set(revoked_ids)) != len(revoked_ids):
            raise ValueError("a node is revoked twice")
        if set(member_ids) & set(revoked_ids):
            raise ValueError("a revoked node is still listed as a member")
        if self.evaluator is not None and self.evaluator.node_id in set(member_ids) | {
                self.issuer}:
            # the evaluator must not be the observatory (nor pose as a member): whoever holds
            # the OPRF key and the tokens could test any name it guesses
            raise ValueError("the evaluator is neither the observatory nor a member")
        return self

    def member(self, node_id: str) -> MemberEntry | None:
        for entry in self.members:
            if entry.node_id == node_id:
                return entry
        return None

    def verify_key_of(self, node_id: str) -> VerifyKey | None:
        """A key lookup for `envelope.verify_frame`: members only, revoked nodes never."""
        entry = self.member(node_id)
        return None if entry is None else verify_key_from_hex(entry.identity_key)


class MembershipList(Message):
    """The observatory's signed, numbered list of members and revocations."""

    TYPE = "membership.list"
    VERSION = 1

    body: MembershipListBody
    signature: SignatureHex

    def to_json_object(self) -> dict[str, Any]:
        return {**super().to_json_object(), "body": self.body.to_json_object()}

    @classmethod
    def issue(cls, body: MembershipListBody, observatory_key: SigningKey) -> MembershipList:
        return cls(body=body, signature=sign_record(MEMBERSHIP_LIST_DOMAIN, body, observatory_key))

    def verify(
        self, *, issuer_key: VerifyKey, now: int, previous_sequence: int | None
    ) -> MembershipListBody:
        """The body, if signed by the observatory, unexpired and newer than the last accepted.

        Raises `BadSignature`, `Expired` or `RolledBack`. The caller stores the new sequence.
        """
        verify_record(MEMBERSHIP_LIST_DOMAIN, self.body, self.signature, issuer_key)
        if now >= self.body.expires:
            raise Expired(
                f"membership list {self.body.sequence} expired at {self.body.expires} (now {now})"
            )
        if previous_sequence is not None and self.body.sequence <= previous_sequence:
            raise RolledBack(
                f"membership list {self.body.sequence} is not newer than the accepted "
                f"list {previous_sequence}"
            )
        return self.body
