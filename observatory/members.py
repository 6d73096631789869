"""Members of the federation: requests to join, the admin's decisions, certificates.

A node asks to join with a self-certified `MembershipRequest` (the federation handler has
verified the envelope with the key the request carries). The request is stored as
*pending*, idempotently: the same node id with the same keys changes nothing, a different
key for a known node id is refused (it would let whoever holds another key take over the
node's place), and so is a key another node already registered. An admin then approves
(a `MembershipCertificate` is issued and a new membership list), or rejects with a reason;
an approved member can later be revoked (a new list names it in `revocations`).

Nodes learn the decision by asking again (a fresh envelope each time): there is no push
from the observatory to a node. A rejection is final for that node id.

Anyone can make a key and ask, so at most `enrollment.max_pending` requests wait for a
decision: a new one beyond is refused for now (``enrollment_full``) and nothing is stored;
requests already waiting, and members, are answered as always.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from typing import Literal, get_args

from crypto.keys import VerifyKey
from observatory.config import ObservatoryConfig
from observatory.errors import InvalidReason, UnknownNode, WrongState
from observatory.identity import ObservatoryIdentity
from observatory.membership_lists import DAY, MembershipLists
from observatory.storage.database import Database
from protocol.encoding import canonical_json, parse_canonical_json
from protocol.membership import (
    CertificateBody,
    MembershipCertificate,
    MembershipRequest,
    Revocation,
)
from protocol.statements import verify_key_from_hex
from transport.identity import peer_id_from_public_key

Status = Literal["pending", "approved", "rejected", "revoked"]
RevocationReason = Literal["key_compromised", "left_federation", "misbehaviour", "other"]
REVOCATION_REASONS: tuple[str, ...] = get_args(Revocation.model_fields["reason"].annotation)
MAX_REASON_CHARS = 1000  # `protocol.message.ShortText`


@dataclass(frozen=True)
class Member:
    """One row of the members table: a request to join and what became of it."""

    node_id: str
    organisation_name: str
    country: str
    contact: str  # staff contact: shown to the admin, never published
    identity_key: str
    box_key: str
    status: Status
    requested_at: int
    decided_at: int | None
    reason: str | None
    certificate: MembershipCertificate | None
    joined_at: int | None
    revoked_at: int | None

    @property
    def certificate_serial(self) -> str | None:
        return None if self.certificate is None else self.certificate.body.serial

    @property
    def peer_id(self) -> str:
        return peer_id_from_public_key(bytes.fromhex(self.identity_key))

    @property
    def verify_key(self) -> VerifyKey:
        return verify_key_from_hex(self.identity_key)


_COLUMNS = (
    "node_id, organisation_name, country, contact, identity_key, box_key, status, "
    "requested_at, decided_at, reason, certificate, joined_at, revoked_at"
)


def _member(row: sqlite3.Row) -> Member:
    certificate = None
    if row["certificate"] is not None:
        certificate = MembershipCertificate.from_json_object(
            parse_canonical_json(row["certificate"].encode("utf-8")))
    return Member(
        node_id=row["node_id"], organisation_name=row["organisation_name"],
        country=row["country"], contact=row["contact"], identity_key=row["identity_key"],
        box_key=row["box_key"], status=row["status"], requested_at=row["requested_at"],
        decided_at=row["decided_at"], reason=row["reason"], certificate=certificate,
        joined_at=row["joined_at"], revoked_at=row["revoked_at"],
    )


EnrollmentStatus = Literal["pending", "approved", "rejected", "revoked", "key_mismatch",
                           "key_in_use", "enrollment_full"]


@dataclass(frozen=True)
class Enrollment:
    """What a request to join amounts to: the member's status, or why it was refused."""

    status: EnrollmentStatus
    member: Member | None
    stored: bool = False  # a new pending request was stored


class Members:
    def __init__(self, db: Database, identity: ObservatoryIdentity, config: ObservatoryConfig,
                 lists: MembershipLists) -> None:
        self._db = db
        self._identity = identity
        self._lists = lists
        self._certificate_validity = config.certificate_days * DAY
        self._max_pending = config.enrollment.max_pending

    # -- reading -----------------------------------------------------------------------------

    def get(self, node_id: str, conn: sqlite3.Connection | None = None) -> Member | None:
        row = (conn or self._db.read()).execute(
            f"SELECT {_COLUMNS} FROM members WHERE node_id = ?", (node_id,)  # noqa: S608
        ).fetchone()
        return None if row is None else _member(row)

    def with_status(self, *statuses: Status) -> list[Member]:
        """Members in any of `statuses` (all if none), oldest request first."""
        wanted = statuses or get_args(Status)
        marks = ", ".join("?" for _ in wanted)
        rows = self._db.read().execute(
            f"SELECT {_COLUMNS} FROM members WHERE status IN ({marks}) "  # noqa: S608
            "ORDER BY requested_at, node_id", tuple(wanted),
        ).fetchall()
        return [_member(row) for row in rows]

    def key_of(self, node_id: str) -> VerifyKey | None:
        """The identity key registered for `node_id`, whatever its status: envelopes from a
        pending or revoked node still verify, and are then refused for what it is."""
        row = self._db.read().execute(
            "SELECT identity_key FROM members WHERE node_id = ?", (node_id,)).fetchone()
        return None if row is None else verify_key_from_hex(row[0])

    # -- requests to join (inside the federation handler's write transaction) -----------------

    def enroll_in(self, conn: sqlite3.Connection, request: MembershipRequest,
                  now: int) -> Enrollment:
        member = self.get(request.node_id, conn)
        if member is None:
            taken = conn.execute("SELECT 1 FROM members WHERE identity_key = ?",
                                 (request.identity_key,)).fetchone()
            if taken is not None:
                return Enrollment("key_in_use", None)
            waiting = conn.execute(
                "SELECT COUNT(*) FROM members WHERE status = 'pending'").fetchone()[0]
            if waiting >= self._max_pending:
                return Enrollment("enrollment_full", None)
            conn.execute(
                "INSERT INTO members (node_id, organisation_name, country, contact, "
                "identity_key, box_key, status, requested_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                (request.node_id, request.organisation_name, request.country, request.contact,
                 request.identity_key, request.box_key, now),
            )
            return Enrollment("pending", self.get(request.node_id, conn), stored=True)
        if (member.identity_key, member.box_key) != (request.identity_key, request.box_key):
            return Enrollment("key_mismatch", member)
        if member.status == "approved":
            member = self._renew_if_due(conn, member, now)
        return Enrollment(member.status, member)

    def _renew_if_due(self, conn: sqlite3.Connection, member: Member, now: int) -> Member:
        """A member asking in its certificate's last quarter gets a new one (and a new list,
        which names the new serial)."""
        assert member.certificate is not None
        if member.certificate.body.not_after - now > self._certificate_validity // 4:
            return member
        certificate, serial = self._certificate(member, now)
        conn.execute(
            "UPDATE members SET certificate = ?, certificate_serial = ? WHERE node_id = ?",
            (certificate, serial, member.node_id),
        )
        self._lists.issue_in(conn, now)
        renewed = self.get(member.node_id, conn)
        assert renewed is not None
        return renewed

    def _certificate(self, member: Member, now: int) -> tuple[str, str]:
        """A new certificate for `member`, signed now: (its RFC 8785 JSON, its serial)."""
        body = CertificateBody(
            serial=secrets.token_hex(16), issuer=self._identity.node_id,
            node_id=member.node_id, organisation_name=member.organisation_name,
            country=member.country, identity_key=member.identity_key,
            box_key=member.box_key, not_before=now,
            not_after=now + self._certificate_validity,
        )
        certificate = MembershipCertificate.issue(body, self._identity.signing_key)
        return canonical_json(certificate.to_json_object()).decode("utf-8"), body.serial

    # -- the admin's decisions ---------------------------------------------------------------

    def _require(self, conn: sqlite3.Connection, node_id: str, status: Status) -> Member:
        member = self.get(node_id, conn)
        if member is None:
            raise UnknownNode(f"no request to join from node {node_id}")
        if member.status != status:
            raise WrongState(f"node {node_id} is {member.status}, not {status}")
        return member

    def approve(self, node_id: str, now: int) -> Member:
        """Certify a pending node and publish the next membership list."""
        with self._db.write() as conn:
            member = self._require(conn, node_id, "pending")
            certificate, serial = self._certificate(member, now)
            conn.execute(
                "UPDATE members SET status = 'approved', decided_at = ?, joined_at = ?, "
                "certificate = ?, certificate_serial = ? WHERE node_id = ?",
                (now, now, certificate, serial, node_id),
            )
            self._lists.issue_in(conn, now)
            approved = self.get(node_id, conn)
        assert approved is not None
        return approved

    def reject(self, node_id: str, reason: str, now: int) -> Member:
        """Refuse a pending request; the node learns `reason` when it asks next."""
        reason = _check_reason(reason)
        with self._db.write() as conn:
            self._require(conn, node_id, "pending")
            conn.execute(
                "UPDATE members SET status = 'rejected', decided_at = ?, reason = ? "
                "WHERE node_id = ?", (now, reason, node_id))
            rejected = self.get(node_id, conn)
        assert rejected is not None
        return rejected

    def revoke(self, node_id: str, reason: RevocationReason, now: int) -> Member:
        """End a membership; the next membership list (issued now) names the revocation."""
        if reason not in REVOCATION_REASONS:
            raise ValueError(f"a revocation reason is one of {', '.join(REVOCATION_REASONS)}")
        with self._db.write() as conn:
            self._require(conn, node_id, "approved")
            conn.execute(
                "UPDATE members SET status = 'revoked', decided_at = ?, revoked_at = ?, "
                "reason = ? WHERE node_id = ?", (now, now, reason, node_id))
            self._lists.issue_in(conn, now)
            revoked = self.get(node_id, conn)
        assert revoked is not None
        return revoked


def _check_reason(reason: str) -> str:
    """A rejection reason goes to the node in a `MembershipDecision` (`ShortText`)."""
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidReason("a rejection needs a reason: the organisation deserves one",
                            "empty")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidReason(f"a reason has at most {MAX_REASON_CHARS} characters", "too_long")
    if any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 or ord(c) < 0x20
           or 0x7F <= ord(c) <= 0x9F for c in reason):
        raise InvalidReason("a reason has no control or bidirectional-override characters",
                            "control_characters")
    return reason
