"""The signed, numbered membership list (issue 5, "Observatory: membership").

Every approval and revocation issues a new list in the same transaction, with the next
sequence number, so revocations take effect with the next list a node fetches
(`protocol.membership.MembershipList`). A node refuses an expired list ("no freezing on an
old list") and one not newer than the last it accepted ("no rollback"); so a list is
re-issued, with a new sequence number, once half of its validity has passed: a node that
fetches it always gets at least half a validity period.

Every list issued is kept, as the observatory's record of what it stated when.
"""

from __future__ import annotations

import sqlite3

from observatory import evaluator_keys
from observatory.config import ObservatoryConfig
from observatory.identity import ObservatoryIdentity
from observatory.storage.database import Database
from protocol.encoding import canonical_json, parse_canonical_json
from protocol.membership import (
    MemberEntry,
    MembershipCertificate,
    MembershipList,
    MembershipListBody,
    Revocation,
)

DAY = 86_400


class MembershipLists:
    def __init__(self, db: Database, identity: ObservatoryIdentity,
                 config: ObservatoryConfig) -> None:
        self._db = db
        self._identity = identity
        self._validity = config.membership_list_days * DAY

    def issue_in(self, conn: sqlite3.Connection, now: int) -> MembershipList:
        """Sign and store the next list from the members table (inside a write transaction)."""
        members = []
        revocations = []
        for row in conn.execute(
            "SELECT node_id, organisation_name, country, identity_key, box_key, status, "
            "certificate, joined_at, revoked_at, reason FROM members "
            "WHERE status IN ('approved', 'revoked') ORDER BY node_id"
        ):
            if row["status"] == "approved":
                certificate = MembershipCertificate.from_json_object(
                    parse_canonical_json(row["certificate"].encode("utf-8")))
                members.append(MemberEntry(
                    node_id=row["node_id"], organisation_name=row["organisation_name"],
                    country=row["country"], identity_key=row["identity_key"],
                    box_key=row["box_key"], certificate_serial=certificate.body.serial,
                    joined_at=row["joined_at"],
                ))
            else:
                revocations.append(Revocation(
                    node_id=row["node_id"], revoked_at=row["revoked_at"], reason=row["reason"],
                ))
        (last,) = conn.execute("SELECT coalesce(max(sequence), 0) FROM membership_lists"
                               ).fetchone()
        body = MembershipListBody(
            issuer=self._identity.node_id, sequence=last + 1, issued_at=now,
            expires=now + self._validity, members=tuple(members),
            revocations=tuple(revocations), evaluator=evaluator_keys.entry_in(conn),
        )
        signed = MembershipList.issue(body, self._identity.signing_key)
        conn.execute(
            "INSERT INTO membership_lists (sequence, issued_at, expires, list) "
            "VALUES (?, ?, ?, ?)",
            (body.sequence, body.issued_at, body.expires,
             canonical_json(signed.to_json_object()).decode("utf-8")),
        )
        return signed

    def _fresh(self, signed: MembershipList | None, now: int) -> bool:
        return signed is not None and now < signed.body.issued_at + self._validity // 2

    def latest_in(self, conn: sqlite3.Connection) -> MembershipList | None:
        row = conn.execute(
            "SELECT list FROM membership_lists ORDER BY sequence DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return MembershipList.from_json_object(parse_canonical_json(row[0].encode("utf-8")))

    def current_in(self, conn: sqlite3.Connection, now: int) -> MembershipList:
        """The list to hand out now, issuing a new one if the latest is half expired."""
        latest = self.latest_in(conn)
        if latest is not None and self._fresh(latest, now):
            return latest
        return self.issue_in(conn, now)

    def current(self, now: int) -> MembershipList:
        latest = self.latest_in(self._db.read())
        if latest is not None and self._fresh(latest, now):
            return latest
        with self._db.write() as conn:
            return self.current_in(conn, now)

    def count(self) -> int:
        (n,) = self._db.read().execute("SELECT count(*) FROM membership_lists").fetchone()
        return int(n)
