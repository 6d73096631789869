"""The expert network's people (issue 16): vocabulary, vouch, credential and directory.

An expert is a person with an account on their organisation's node (their *home node*),
with their own Ed25519 key (signs what they say: answers to needs, thread messages,
opinions) and X25519 key (what case material for them is sealed to, so their home node
cannot read it at rest). Vetting has two signatures:

1. The home node's coordinator vouches: the node sends an `ExpertVouch` to the observatory,
   carrying the expert's public keys and structured profile, signed by the expert's own key
   as proof of possession (as in a PKCS#10 request, RFC 2986 §3; the envelope around it is
   the node's signature).
2. The observatory admin countersigns: an `ExpertCredential`, a signed statement binding
   the expert's public keys, specialties, home node and expiry (domain
   ``BackUp expert credential v1``), sent back in an `ExpertCredentialIssued`.

Members fetch a signed `ExpertDirectory` (`ExpertDirectoryQuery`): pseudonymous entries
(each the credential plus the expert's languages, regions, work modes and availability),
never names or contact details, and the serials of revoked credentials. A node shares with
an expert only while the expert's credential is listed in a directory it verified that is
younger than `DIRECTORY_MAX_AGE` (`shareable_entry`).

Only structured fields travel. Sets (specialties, languages, countries, regions) are sorted
and unique, so that each has one spelling and its canonical JSON (RFC 8785) is unique.
Regions are ISO 3166-2 subdivision codes; whether a code is in the federation's shared
region vocabulary is checked by that vocabulary, not by the shape checked here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Final, Literal, Self, get_args

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from crypto.keys import SigningKey, VerifyKey
from protocol import regions
from protocol.encoding import MAX_SAFE_INT
from protocol.errors import BadSignature, Expired, NotYetValid, ProtocolError, RolledBack
from protocol.message import (
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
from protocol.vocabulary import N_, UNKNOWN

VOUCH_DOMAIN: Final = b"BackUp expert vouch v1\x00"
CREDENTIAL_DOMAIN: Final = b"BackUp expert credential v1\x00"
DIRECTORY_DOMAIN: Final = b"BackUp expert directory v1\x00"

# A node refuses to share with an expert unless a directory this young lists them (issue 16):
# a revocation reaches every member within a day even if a push is lost.
DIRECTORY_MAX_AGE: Final = 24 * 3600
# A credential lasts at most two years; the admin re-vets after that.
MAX_CREDENTIAL_LIFETIME: Final = 2 * 366 * 24 * 3600
MAX_DIRECTORY_ENTRIES: Final = 2000
MAX_DIRECTORY_REVOCATIONS: Final = 5000

Specialty = Literal[
    "forensic_medicine",
    "sexual_reproductive_health",
    "psychology_psychiatry",
    "psychosocial_support",
    "international_criminal_law",
    "domestic_law",
    "investigation",
    "interpretation",
]
SPECIALTIES: Final[tuple[str, ...]] = get_args(Specialty)
SPECIALTY_LABELS: Final[Mapping[str, str]] = MappingProxyType({
    "forensic_medicine": N_("Forensic medicine"),
    "sexual_reproductive_health": N_("Sexual and reproductive health"),
    "psychology_psychiatry": N_("Psychology and psychiatry"),
    "psychosocial_support": N_("Psychosocial support"),
    "international_criminal_law": N_("International criminal law"),
    "domestic_law": N_("Domestic law"),
    "investigation": N_("Investigation"),
    "interpretation": N_("Interpretation"),
})

# What the expert changes in one tap.
Availability = Literal["now", "this_week", "away"]
AVAILABILITIES: Final[tuple[str, ...]] = get_args(Availability)
AVAILABILITY_LABELS: Final[Mapping[str, str]] = MappingProxyType({
    "now": N_("Available now"),
    "this_week": N_("Available this week"),
    "away": N_("Away"),
})

WorkMode = Literal["remote", "on_site"]
WORK_MODES: Final[tuple[str, ...]] = get_args(WorkMode)
WORK_MODE_LABELS: Final[Mapping[str, str]] = MappingProxyType({
    "remote": N_("Remote"),
    "on_site": N_("On site"),
})

# ISO 3166-2: the country's alpha-2 code, a hyphen, and one to three letters or digits.


def _federation_region(code: str) -> str:
    """A region is a code of the federation's one region vocabulary (`protocol.regions`:
    first-level ISO 3166-2), never a node's own code and never "unknown"."""
    if code == UNKNOWN or not regions.is_region(code):
        raise ValueError(f"{code!r} is not a region of the federation's vocabulary "
                         f"({regions.VOCABULARY})")
    return code


RegionCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$"),
                       AfterValidator(_federation_region)]


class ExpertRefused(ProtocolError):
    """A node must not share with (or vouch for) this expert now; `code` is a stable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sorted_unique(values: tuple[str, ...], what: str) -> None:
    """Raise ValueError unless `values` is sorted and has no duplicates (a set's one spelling)."""
    if list(values) != sorted(set(values)):
        raise ValueError(f"{what} must be sorted and unique")


def regions_within(regions: tuple[str, ...], countries: tuple[str, ...]) -> None:
    """Raise ValueError unless every region is a subdivision of one of `countries`."""
    for region in regions:
        if region[:2] not in countries:
            raise ValueError("a region lies outside the listed countries")


class ExpertProfile(Record):
    """What the federation may know about an expert: structured fields, no name, no contact."""

    specialties: tuple[Specialty, ...] = Field(min_length=1, max_length=len(SPECIALTIES))
    languages: tuple[LanguageTag, ...] = Field(min_length=1, max_length=20)
    countries: tuple[CountryCode, ...] = Field(min_length=1, max_length=50)
    regions: tuple[RegionCode, ...] = Field(default=(), max_length=200)
    modes: tuple[WorkMode, ...] = Field(min_length=1, max_length=len(WORK_MODES))

    @model_validator(mode="after")
    def _sets(self) -> Self:
        for name in ("specialties", "languages", "countries", "regions", "modes"):
            sorted_unique(getattr(self, name), name)
        regions_within(self.regions, self.countries)
        return self


class VouchBody(Record):
    """A coordinator's vouch for an expert of their node, as the expert's key signs it."""

    format: FormatV1 = 1
    vouch_id: RandomId
    home_node: NodeId
    expert_key: KeyHex  # Ed25519 (RFC 8032): signs what the expert says
    box_key: KeyHex  # X25519 (RFC 7748): what material for the expert is sealed to
    profile: ExpertProfile
    vouched_at: UnixTime


class ExpertVouch(Message):
    """Node → observatory: please countersign a credential for this expert.

    `expert_signature` is the expert's over the body (proof of possession); the envelope is
    the home node's. The observatory answers `DeliveryAck(accepted)` while its admin has not
    decided, `ExpertCredentialIssued` once they countersigned, or a refusal."""

    TYPE = "expert.vouch"
    VERSION = 1

    body: VouchBody
    expert_signature: SignatureHex

    @classmethod
    def sign(cls, body: VouchBody, expert_key: SigningKey) -> ExpertVouch:
        return cls(body=body, expert_signature=sign_record(VOUCH_DOMAIN, body, expert_key))

    def verify(self, *, sender: str) -> VouchBody:
        """The body, if the expert's key signed it and `sender` (the envelope's verified
        sender) is the home node it names. Raises `BadSignature` or `ExpertRefused`."""
        if self.body.home_node != sender:
            raise ExpertRefused("not_home_node", "a node vouches only for its own experts")
        verify_record(VOUCH_DOMAIN, self.body, self.expert_signature,
                      verify_key_from_hex(self.body.expert_key))
        return self.body


class CredentialBody(Record):
    """What the observatory attests: this key is a vetted expert of this node, until then."""

    format: FormatV1 = 1
    serial: RandomId
    issuer: NodeId  # the observatory's node id
    home_node: NodeId
    expert_key: KeyHex
    box_key: KeyHex
    specialties: tuple[Specialty, ...] = Field(min_length=1, max_length=len(SPECIALTIES))
    vouch_id: RandomId  # the vouch it countersigns
    not_before: UnixTime
    not_after: UnixTime

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        sorted_unique(self.specialties, "specialties")
        if self.not_after <= self.not_before:
            raise ValueError("not_after must be later than not_before")
        if self.not_after - self.not_before > MAX_CREDENTIAL_LIFETIME:
            raise ValueError("a credential lasts at most two years")
        return self


class ExpertCredential(Record):
    """A `CredentialBody` countersigned by the observatory (domain ``CREDENTIAL_DOMAIN``).

    A record of its own, not only a payload, so that it travels on: in the directory, and
    later in court bundles beside the opinions the expert signs."""

    body: CredentialBody
    signature: SignatureHex

    @classmethod
    def issue(cls, body: CredentialBody, observatory_key: SigningKey) -> ExpertCredential:
        return cls(body=body, signature=sign_record(CREDENTIAL_DOMAIN, body, observatory_key))

    def verify(self, *, issuer_key: VerifyKey, now: int) -> CredentialBody:
        """The body, if the observatory signed it and `now` is within its validity period.

        Raises `BadSignature`, `NotYetValid` or `Expired`."""
        verify_record(CREDENTIAL_DOMAIN, self.body, self.signature, issuer_key)
        if now < self.body.not_before:
            raise NotYetValid(f"expert credential {self.body.serial} is valid from "
                              f"{self.body.not_before} (now {now})")
        if now >= self.body.not_after:
            raise Expired(f"expert credential {self.body.serial} expired at "
                          f"{self.body.not_after} (now {now})")
        return self.body


class ExpertCredentialIssued(Message):
    """Observatory → node: the credential countersigned for the node's vouch (an answer to
    `ExpertVouch`, or pushed when the admin decides later)."""

    TYPE = "expert.credential_issued"
    VERSION = 1

    vouch_id: RandomId
    credential: ExpertCredential

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.credential.body.vouch_id != self.vouch_id:
            raise ValueError("the credential countersigns another vouch")
        return self


class ExpertAvailability(Message):
    """Node → observatory: an expert of the node changed their availability (one tap).

    The observatory puts it into the next directory; `changed_at` orders changes that
    arrive out of order (the later one wins)."""

    TYPE = "expert.availability"
    VERSION = 1

    serial: RandomId  # of the expert's credential
    availability: Availability
    changed_at: UnixTime


class DirectoryEntry(Record):
    """One vetted expert as members see them: pseudonymous (keys and structured fields)."""

    credential: ExpertCredential
    profile: ExpertProfile
    availability: Availability

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.profile.specialties != self.credential.body.specialties:
            raise ValueError("the profile's specialties differ from the credential's")
        return self


class CredentialRevocation(Record):
    """A credential that must no longer be believed: its expert's shares and engagements end."""

    serial: RandomId
    revoked_at: UnixTime
    reason: Literal["left", "key_compromised", "misconduct", "other"]


class DirectoryBody(Record):
    """The signed content of an expert directory."""

    format: FormatV1 = 1
    issuer: NodeId
    sequence: Annotated[int, Field(ge=1, le=MAX_SAFE_INT)]
    issued_at: UnixTime
    entries: tuple[DirectoryEntry, ...] = Field(max_length=MAX_DIRECTORY_ENTRIES)
    revocations: tuple[CredentialRevocation, ...] = Field(
        default=(), max_length=MAX_DIRECTORY_REVOCATIONS)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        serials = [e.credential.body.serial for e in self.entries]
        keys = [e.credential.body.expert_key for e in self.entries]
        if len(set(serials)) != len(serials) or len(set(keys)) != len(keys):
            raise ValueError("an expert is listed twice")
        revoked = [r.serial for r in self.revocations]
        if len(set(revoked)) != len(revoked):
            raise ValueError("a credential is revoked twice")
        if set(serials) & set(revoked):
            raise ValueError("a revoked credential is still listed")
        if any(e.credential.body.issuer != self.issuer for e in self.entries):
            raise ValueError("an entry was issued by another observatory")
        return self

    def entry_for(self, expert_key: str) -> DirectoryEntry | None:
        for entry in self.entries:
            if entry.credential.body.expert_key == expert_key:
                return entry
        return None


class ExpertDirectoryQuery(Message):
    """Node → observatory: the current expert directory, please."""

    TYPE = "expert.directory_query"
    VERSION = 1

    known_sequence: Annotated[int, Field(ge=1, le=MAX_SAFE_INT)] | None = None


class ExpertDirectory(Message):
    """The observatory's signed, numbered directory of vetted experts. Never public: it is
    only the answer to a member's `ExpertDirectoryQuery`."""

    TYPE = "expert.directory"
    VERSION = 1

    body: DirectoryBody
    signature: SignatureHex

    @classmethod
    def issue(cls, body: DirectoryBody, observatory_key: SigningKey) -> ExpertDirectory:
        return cls(body=body, signature=sign_record(DIRECTORY_DOMAIN, body, observatory_key))

    def verify(self, *, issuer_key: VerifyKey, now: int,
               previous_sequence: int | None) -> DirectoryBody:
        """The body, if the observatory signed it, it is fresh, and newer than the last one
        accepted. Raises `BadSignature`, `NotYetValid`, `Expired` or `RolledBack`; the
        caller stores the new sequence. Each entry's credential is checked too: a directory
        never vouches for a credential the observatory did not sign."""
        verify_record(DIRECTORY_DOMAIN, self.body, self.signature, issuer_key)
        directory_age(self.body, now)
        if previous_sequence is not None and self.body.sequence <= previous_sequence:
            raise RolledBack(f"expert directory {self.body.sequence} is not newer than the "
                             f"accepted directory {previous_sequence}")
        for entry in self.body.entries:
            verify_record(CREDENTIAL_DOMAIN, entry.credential.body, entry.credential.signature,
                          issuer_key)
        return self.body


def directory_age(body: DirectoryBody, now: int) -> int:
    """Seconds since `body` was issued; `NotYetValid` if from the future, `Expired` if older
    than `DIRECTORY_MAX_AGE` (clock skew is the caller's `FreshnessPolicy`'s to allow)."""
    age = now - body.issued_at
    if age < 0:
        raise NotYetValid(f"expert directory {body.sequence} is issued at {body.issued_at} "
                          f"(now {now})")
    if age >= DIRECTORY_MAX_AGE:
        raise Expired(f"expert directory {body.sequence} is {age} s old")
    return age


def shareable_entry(body: DirectoryBody, expert_key: str, *, issuer_key: VerifyKey,
                    now: int) -> DirectoryEntry:
    """The directory entry of the expert a node is about to share with, or `ExpertRefused`.

    `body` is the latest directory the node verified (`ExpertDirectory.verify`); this
    checks again what time may have changed since: the directory is younger than a day, the
    credential is listed, not revoked, unexpired, and signed by the observatory."""
    try:
        directory_age(body, now)
    except (Expired, NotYetValid) as exc:
        raise ExpertRefused("directory_stale", str(exc)) from None
    entry = body.entry_for(expert_key)
    if entry is None:
        raise ExpertRefused("not_listed", "the expert is not in the directory")
    serial = entry.credential.body.serial
    if any(r.serial == serial for r in body.revocations):  # a body never holds both; belt
        raise ExpertRefused("revoked", f"expert credential {serial} is revoked")
    try:
        entry.credential.verify(issuer_key=issuer_key, now=now)
    except (Expired, NotYetValid) as exc:
        raise ExpertRefused("credential_expired", str(exc)) from None
    except BadSignature:
        raise ExpertRefused("forged", f"expert credential {serial} is not the observatory's"
                            ) from None
    return entry
