"""Vetting the federation's experts and publishing the expert directory (issue 16).

A member node's coordinator vouches for an expert of their node: the node sends an
`ExpertVouch` (signed by the expert's own key, in an envelope signed by the node). It waits
here until the observatory admin countersigns it: an `ExpertCredential` binding the expert's
keys, specialties, home node and expiry, sent back as the answer to the node's next vouch
(the node resends until it gets one). The admin can revoke a credential; the node's
availability changes (`ExpertAvailability`) go into the directory too.

The directory (`protocol.experts.ExpertDirectory`) is signed and numbered like the
membership list: every countersignature, revocation or availability change issues the next
one in the same transaction, and one older than half of `DIRECTORY_MAX_AGE` is re-issued
when asked for, so a member always gets one with at least twelve hours to live. It is handed
only to members, never published; its entries are pseudonymous (keys and structured
fields: no name, no contact detail ever reaches the observatory).
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass

from observatory.identity import ObservatoryIdentity
from observatory.storage.database import Database
from protocol.encoding import canonical_json, parse_canonical_json
from protocol.errors import BadSignature
from protocol.experts import (
    DIRECTORY_MAX_AGE,
    CredentialBody,
    CredentialRevocation,
    DirectoryBody,
    DirectoryEntry,
    ExpertAvailability,
    ExpertCredential,
    ExpertCredentialIssued,
    ExpertDirectory,
    ExpertRefused,
    ExpertVouch,
)
from protocol.message import Record

DAY = 86_400
DEFAULT_CREDENTIAL_DAYS = 365
REVOCATION_REASONS = ("left", "key_compromised", "misconduct", "other")


class VettingRefused(Exception):
    """A vouch, countersignature or revocation that cannot be done; `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class PendingVouch:
    vouch_id: str
    home_node: str
    expert_key: str
    specialties: tuple[str, ...]
    received_at: int


def _json(record: Record) -> str:
    return canonical_json(record.to_json_object()).decode("utf-8")


class ExpertRegistry:
    def __init__(self, db: Database, identity: ObservatoryIdentity) -> None:
        self._db = db
        self._identity = identity

    # -- vouches, from member nodes ---------------------------------------------------------

    def receive_vouch_in(self, conn: sqlite3.Connection, vouch: ExpertVouch, sender: str,
                         now: int) -> ExpertCredentialIssued | None:
        """Store a vouch for the admin (None: pending), or answer a vouch already
        countersigned with its credential. `VettingRefused` stores nothing."""
        try:
            body = vouch.verify(sender=sender)
        except BadSignature:
            raise VettingRefused("bad_expert_signature") from None
        except ExpertRefused as exc:
            raise VettingRefused(exc.code) from None
        issued = conn.execute(
            "SELECT credential FROM expert_credentials WHERE expert_key = ? "
            "AND revoked_at IS NULL", (body.expert_key,)).fetchone()
        if issued is not None:
            credential = ExpertCredential.from_json_object(
                parse_canonical_json(issued[0].encode("utf-8")))
            if credential.body.home_node != sender:
                raise VettingRefused("key_in_use")
            return ExpertCredentialIssued(vouch_id=credential.body.vouch_id,
                                          credential=credential)
        revoked = conn.execute("SELECT 1 FROM expert_credentials WHERE expert_key = ?",
                               (body.expert_key,)).fetchone()
        if revoked is not None:
            raise VettingRefused("revoked")  # a revoked key is never vetted again
        other = conn.execute("SELECT home_node FROM expert_vouches WHERE expert_key = ?",
                             (body.expert_key,)).fetchone()
        if other is not None and other[0] != sender:
            raise VettingRefused("key_in_use")
        conn.execute(
            "INSERT INTO expert_vouches (vouch_id, home_node, expert_key, vouch, received_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (expert_key) DO UPDATE SET "
            "vouch_id = excluded.vouch_id, vouch = excluded.vouch, "
            "received_at = excluded.received_at",
            (body.vouch_id, sender, body.expert_key, _json(vouch), now))
        return None

    def pending(self) -> list[PendingVouch]:
        """Vouches waiting for the admin: what they see (keys, home node, specialties)."""
        out = []
        for row in self._db.read().execute(
                "SELECT vouch, received_at FROM expert_vouches ORDER BY received_at"):
            vouch = ExpertVouch.from_json_object(parse_canonical_json(row[0].encode("utf-8")))
            out.append(PendingVouch(vouch.body.vouch_id, vouch.body.home_node,
                                    vouch.body.expert_key, vouch.body.profile.specialties,
                                    row[1]))
        return out

    # -- the admin's decisions ---------------------------------------------------------------

    def countersign(self, vouch_id: str, now: int, *, days: int = DEFAULT_CREDENTIAL_DAYS,
                    member_approved: bool = True) -> ExpertCredential:
        """Issue the credential for a pending vouch, and the next directory with it."""
        if not 1 <= days <= 730:
            raise VettingRefused("bad_lifetime")
        with self._db.write() as conn:
            row = conn.execute("SELECT vouch FROM expert_vouches WHERE vouch_id = ?",
                               (vouch_id,)).fetchone()
            if row is None:
                raise VettingRefused("unknown_vouch")
            vouch = ExpertVouch.from_json_object(parse_canonical_json(row[0].encode("utf-8")))
            body = vouch.body
            home = conn.execute("SELECT status FROM members WHERE node_id = ?",
                                (body.home_node,)).fetchone()
            if home is None or home[0] != "approved":
                raise VettingRefused("not_a_member")
            credential = ExpertCredential.issue(CredentialBody(
                serial=secrets.token_hex(16), issuer=self._identity.node_id,
                home_node=body.home_node, expert_key=body.expert_key, box_key=body.box_key,
                specialties=body.profile.specialties, vouch_id=body.vouch_id,
                not_before=now, not_after=now + days * DAY), self._identity.signing_key)
            conn.execute(
                "INSERT INTO expert_credentials (serial, expert_key, home_node, credential, "
                "profile, availability, issued_at, not_after) "
                "VALUES (?, ?, ?, ?, ?, 'away', ?, ?)",
                (credential.body.serial, body.expert_key, body.home_node, _json(credential),
                 _json(body.profile), now, credential.body.not_after))
            conn.execute("DELETE FROM expert_vouches WHERE vouch_id = ?", (vouch_id,))
            self.issue_in(conn, now)
        return credential

    def revoke(self, serial: str, reason: str, now: int) -> None:
        """Revoke a credential: it leaves the directory and is listed as revoked in the
        next one, issued now; its key is never vetted again."""
        if reason not in REVOCATION_REASONS:
            raise VettingRefused("bad_reason")
        with self._db.write() as conn:
            changed = conn.execute(
                "UPDATE expert_credentials SET revoked_at = ?, revoke_reason = ? "
                "WHERE serial = ? AND revoked_at IS NULL", (now, reason, serial)).rowcount
            if not changed:
                raise VettingRefused("unknown_credential")
            self.issue_in(conn, now)

    # -- availability, from home nodes -------------------------------------------------------

    def availability_in(self, conn: sqlite3.Connection, change: ExpertAvailability,
                        sender: str, now: int) -> None:
        row = conn.execute(
            "SELECT home_node, availability_changed_at FROM expert_credentials "
            "WHERE serial = ? AND revoked_at IS NULL", (change.serial,)).fetchone()
        if row is None or row[0] != sender:
            raise VettingRefused("unknown_credential")  # another node's expert, or none
        if row[1] is not None and change.changed_at <= row[1]:
            return  # an older change arriving late: the later one stands
        conn.execute("UPDATE expert_credentials SET availability = ?, "
                     "availability_changed_at = ? WHERE serial = ?",
                     (change.availability, change.changed_at, change.serial))
        self.issue_in(conn, now)

    # -- the directory -----------------------------------------------------------------------

    def issue_in(self, conn: sqlite3.Connection, now: int) -> ExpertDirectory:
        """Sign and store the next directory (inside a write transaction)."""
        entries, revocations = [], []
        for row in conn.execute(
                "SELECT credential, profile, availability, revoked_at, revoke_reason, serial "
                "FROM expert_credentials WHERE not_after > ? ORDER BY serial", (now,)):
            if row["revoked_at"] is not None:
                revocations.append(CredentialRevocation(
                    serial=row["serial"], revoked_at=row["revoked_at"],
                    reason=row["revoke_reason"]))
                continue
            credential = ExpertCredential.from_json_object(
                parse_canonical_json(row["credential"].encode("utf-8")))
            entries.append(DirectoryEntry.from_json_object({
                "credential": credential.to_json_object(),
                "profile": parse_canonical_json(row["profile"].encode("utf-8")),
                "availability": row["availability"]}))
        (last,) = conn.execute("SELECT coalesce(max(sequence), 0) FROM expert_directories"
                               ).fetchone()
        body = DirectoryBody(issuer=self._identity.node_id, sequence=last + 1, issued_at=now,
                             entries=tuple(entries), revocations=tuple(revocations))
        signed = ExpertDirectory.issue(body, self._identity.signing_key)
        conn.execute("INSERT INTO expert_directories (sequence, issued_at, directory) "
                     "VALUES (?, ?, ?)", (body.sequence, now, _json(signed)))
        return signed

    def current_in(self, conn: sqlite3.Connection, now: int) -> ExpertDirectory:
        """The directory to hand out now: the latest, unless half of its day has passed."""
        row = conn.execute("SELECT directory FROM expert_directories "
                           "ORDER BY sequence DESC LIMIT 1").fetchone()
        if row is not None:
            latest = ExpertDirectory.from_json_object(
                parse_canonical_json(row[0].encode("utf-8")))
            if 0 <= now - latest.body.issued_at < DIRECTORY_MAX_AGE // 2:
                return latest
        return self.issue_in(conn, now)
