"""Consented case sharing with a vetted expert (issue 16).

Two nodes take part: the *requesting* node, whose coordinator shares part of a case for an
engagement, and the expert's *home* node, which keeps it for the expert.

On the requesting node, `Shares.share` checks, in this order and storing nothing when one
fails: the coordinator may refer the case; the expert is listed, unrevoked, in a directory
younger than 24 hours (`directory.shareable`); the reporter's sharing consent verifies
(its HMAC tag, `consent_auth`), was given with a scope (`Consent.share_*`: a report
consented before the scope existed is asked again on its receipt page first), allows every
chosen field group and file, allows an expert of another organisation if the expert's home
node is not this one, and allows contact details only with the contact consent too. The
material (the chosen fields and files, as JSON) is then sealed in parts to the expert's
X25519 key from their credential: anonymous sealed boxes (`crypto.keys.BoxPublicKey.seal`),
each binding the share, its part number and the number of parts. The parts wait in
``expert_share_parts`` until the federation queues them (`queue_due`), then only the outbox
holds them, until delivered. The node keeps a record of what went to whom, never the
material.

On the home node, `receive_part_in` keeps the ciphertext for the expert whose key it was
sealed to; the node cannot open it. The expert opens it (`open_held`) with their own key, in
memory for that request only.

Revocation (`revoke`, by the coordinator or the reporter; or the report's deletion) ends a
share at once on the requesting node: its parts not yet queued and its frames still in the
outbox are erased, and an `ExpertRevocation` is queued for the home node, which erases its
parts when it arrives (`receive_revocation_in`) -- later, if that node is offline: the
outbox retries until it answers. What the expert already read cannot be recalled.

Every step is in each node's custody chain (``audit_log``): sharing, revoking and erasing on
the requesting node (on the report), receiving, opening and erasing on the home node (on
the share).
"""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from backup_evidence.disclosures import report_subject
from backup_evidence.opinions import subject_digest
from crypto.errors import DecryptionError
from crypto.keys import BoxPublicKey, VerifyKey
from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action
from node.backoffice.audit import AuditLog
from node.backoffice.case_access import CaseAccess
from node.backoffice.deletion import AfterCommit, DerivedStore
from node.experts import directory, engagements
from node.federation.errors import BadAnswer, Refused
from node.i18n import N_
from node.intake.consent_auth import ConsentKey
from node.intake.service import IntakeService, ReporterAccess
from node.storage.database import Database
from protocol.delivery import DeliveryAck
from protocol.engagements import MAX_SHARE_PARTS, ExpertRevocation, SealedShare
from protocol.experts import ExpertRefused
from protocol.message import Message
from transport.queue import OutboxQueue

# What a coordinator can choose, by group, and the reporter's scope each group needs.
FIELD_GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "narrative": ("narrative",),
    "when": ("incident_year", "incident_month", "incident_day", "incident_when"),
    "place": ("region", "place"),
    "perpetrators": ("perpetrators", "perpetrator_affiliation", "people_harmed"),
    "role": ("reporter_role",),
    "needs": ("needs",),
    "contact": ("contact",),
}
SCOPE_OF_GROUP: Final[dict[str, str]] = {
    "narrative": "share_account", "when": "share_account", "place": "share_account",
    "perpetrators": "share_account", "role": "share_account", "needs": "share_account",
    "contact": "share_contact",
}
GROUP_LABELS: Final[dict[str, str]] = {
    "narrative": N_("What happened"),
    "when": N_("When"),
    "place": N_("Where"),
    "perpetrators": N_("Perpetrators"),
    "role": N_("Reporter's role"),
    "needs": N_("Needs"),
    "contact": N_("Contact details"),
}
# How the reporter is told who has their case: the kind of expert, never a name.
EXPERT_KIND_FOR_REPORTER: Final[dict[str, str]] = {
    "forensic_medicine": N_("a vetted medical expert"),
    "sexual_reproductive_health": N_("a vetted medical expert"),
    "psychology_psychiatry": N_("a vetted mental health expert"),
    "psychosocial_support": N_("a vetted psychosocial support expert"),
    "international_criminal_law": N_("a vetted legal expert"),
    "domestic_law": N_("a vetted legal expert"),
    "investigation": N_("a vetted investigator"),
    "interpretation": N_("a vetted interpreter"),
}
OTHER_EXPERT: Final = N_("a vetted expert")
MAX_SHARE_SECONDS: Final = 90 * 24 * 3600  # a share ends at the latest with its need's life
CHUNK: Final = 384 * 1024  # sealed and in base64 this stays under `Base64Blob`'s limit
_PART_LABEL: Final = b"backup-expert-share-v1\x00"
SHARE: Final = f"{SealedShare.TYPE} v{SealedShare.VERSION}"  # as the outbox names it
REVOCATION: Final = f"{ExpertRevocation.TYPE} v{ExpertRevocation.VERSION}"


# Why a share was refused, as the coordinator reads it (`ShareRefused.code` -> words).
REFUSALS: Final[dict[str, str]] = {
    "no_directory": N_("this node has no expert directory from the observatory yet"),
    "directory_stale": N_("this node's expert directory is more than a day old"),
    "not_listed": N_("the expert is not in the federation's expert directory"),
    "revoked": N_("the expert's credential was revoked"),
    "credential_expired": N_("the expert's credential has expired"),
    "forged": N_("the expert directory stored here is not the observatory's"),
    "no_consent": N_("the reporter did not agree to sharing"),
    "not_other_orgs": N_("the reporter did not agree to sharing with other organisations"),
    "no_contact_consent": N_("the reporter did not agree to be contacted"),
    "outside_scope": N_("the reporter did not agree to share everything that was chosen"),
    "nothing_chosen": N_("nothing was chosen"),
    "too_large": N_("the chosen files are too large"),
    "no_engagement": N_("this expert has no engagement for this case, or it has ended"),
}


class ShareRefused(errors.ConsentMissing):
    """Sharing was refused; nothing was stored. `code` says why (`REFUSALS`)."""

    message = N_("This case cannot be shared with this expert: %(why)s. Nothing was shared.")

    def __init__(self, code: str) -> None:
        errors.NodeError.__init__(self, why=REFUSALS.get(code, REFUSALS["not_listed"]))
        self.code = code


class ScopeNotAsked(ShareRefused):
    message = N_("The reporter agreed to sharing before they could say what may be shared. "
                 "They are asked on their receipt page; nothing can be shared until they "
                 "answer.")

    def __init__(self) -> None:
        errors.NodeError.__init__(self)
        self.code = "scope_not_asked"


class PartRefused(Exception):
    """The home node refuses a part or a revocation from another node; nothing is stored.
    `code` is the refusal's reason on the wire (short, payload-free)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class ShareUnavailable(errors.NotFound):
    """Not shared with this expert, revoked, expired or not complete yet."""

    message = N_("This shared case is not available: it was not shared with you, or access "
                 "to it was stopped or has ended.")


@dataclass(frozen=True)
class SentShare:
    share_id: str
    engagement_id: str
    report_id: str | None
    expert_key: str
    home_node: str
    specialty: str
    what: tuple[str, ...]
    shared_at: int
    expires: int
    revoked_at: int | None
    revoke_reason: str | None

    def active(self, now: int) -> bool:
        return self.revoked_at is None and now < self.expires


@dataclass(frozen=True)
class HeldShare:
    share_id: str
    engagement_id: str
    requesting_node: str
    parts: int
    received: int
    shared_at: int
    expires: int


@dataclass(frozen=True)
class OpenedShare:
    """What the expert reads: the fields and files the coordinator chose."""

    share_id: str
    engagement_id: str
    fields: dict[str, Any]
    files: list[dict[str, Any]]  # filename, media_type, data (bytes)
    expires: int
    subject_sha256: str | None = None  # what an opinion signs of the report (shares since 32)


def _sent(row: sqlite3.Row) -> SentShare:
    return SentShare(row["share_id"], row["engagement_id"], row["report_id"],
                     row["expert_key"], row["home_node"], row["specialty"],
                     tuple(x for x in row["what"].split(",") if x), row["shared_at"],
                     row["expires"], row["revoked_at"], row["revoke_reason"])


def _part_plaintext(share_id: str, part: int, parts: int, chunk: bytes) -> bytes:
    # binds each part to its share and place, so the home node cannot swap or reorder them
    return (_PART_LABEL + bytes.fromhex(share_id) + part.to_bytes(4, "big")
            + parts.to_bytes(4, "big") + chunk)


def _chunk_of(share_id: str, part: int, parts: int, plaintext: bytes) -> bytes:
    head = _part_plaintext(share_id, part, parts, b"")
    if not plaintext.startswith(head):
        raise ShareUnavailable()  # sealed for another share or place: never use it
    return plaintext[len(head):]


class Shares:
    """The requesting node's side (sharing, revoking) and the home node's (keeping,
    opening, erasing) of consented case sharing."""

    def __init__(self, db: Database, audit: AuditLog, access: CaseAccess,
                 intake: IntakeService, consent: ConsentKey, *, node_id: str,
                 clock: Callable[[], int]) -> None:
        self._db = db
        self._audit = audit
        self._access = access
        self._intake = intake
        self._consent = consent
        self._node_id = node_id
        self._clock = clock

    # -- the requesting node --------------------------------------------------------------

    def _check_engagement(self, conn: sqlite3.Connection, engagement_id: str, report_id: str,
                          expert_key: str, now: int) -> None:
        """Material goes only to an expert this node engaged (`node.experts.engagements`,
        recorded when a coordinator picked them for a need): the engagement must be this
        node's, active, with this expert, and for this case if it names one."""
        e = engagements.get(conn, engagement_id)
        if (e is None or not e.active(now) or e.requesting_node != self._node_id
                or e.expert_key != expert_key
                or (e.report_id is not None and e.report_id != report_id)):
            raise ShareRefused("no_engagement")

    def share(self, coordinator: UnlockedStaff, *, engagement_id: str, report_id: str,
              expert_key: str, groups: Iterable[str], files: Iterable[str], expires: int,
              observatory_key: VerifyKey) -> SentShare:
        """Seal the chosen `groups` (of `FIELD_GROUPS`) and attachment ids `files` of a
        report to a vetted expert, for an engagement; `ShareRefused` (nothing stored) if
        the consent, the directory or the choice does not allow it."""
        now = self._clock()
        self._access.require(coordinator, Action.SHARE_WITH_EXPERTS, report_id)
        chosen = sorted(set(groups))
        file_ids = sorted(set(files))
        if len(engagement_id) != 32 or not set(engagement_id) <= set("0123456789abcdef"):
            raise errors.InvalidInput(field="engagement")
        if any(g not in FIELD_GROUPS for g in chosen):
            raise errors.UnknownChoice(field="groups")
        if not chosen and not file_ids:
            raise ShareRefused("nothing_chosen")
        if not now < expires <= now + MAX_SHARE_SECONDS:
            raise errors.InvalidInput(field="expires")
        self._check_engagement(self._db.read(), engagement_id, report_id, expert_key, now)
        try:
            entry = directory.shareable(self._db.read(), expert_key,
                                        observatory_key=observatory_key, now=now)
        except ExpertRefused as exc:
            raise ShareRefused(exc.code) from None
        credential = entry.credential.body
        self._check_consent(report_id, chosen, bool(file_ids),
                            other_org=credential.home_node != self._node_id)
        key = self._access.open_case(coordinator, Action.READ_CASE, report_id)
        view = self._intake.view_with_key(report_id, key)
        attachments = {i.id for i in view.items if i.kind == "attachment"}
        if any(f not in attachments for f in file_ids):
            raise errors.UnknownChoice(field="files")
        fields = {name: view.record[name] for g in chosen for name in FIELD_GROUPS[g]
                  if view.record.get(name) not in (None, "", [])}
        shared_files = []
        for item_id in file_ids:
            meta, chunks = self._intake.open_attachment_with_key(key, report_id, item_id)
            shared_files.append({
                "filename": meta.get("filename", ""), "media_type": meta.get("media_type", ""),
                "data": base64.b64encode(b"".join(chunks)).decode("ascii")})
        share_id = secrets.token_hex(16)
        # the report's subject as an opinion's statement binds it (issue 16): a digest, so
        # the expert can sign for this report without learning its id
        material = json.dumps({"share_id": share_id, "engagement_id": engagement_id,
                               "subject_sha256": subject_digest(report_subject(report_id)),
                               "fields": fields, "files": shared_files},
                              ensure_ascii=False, sort_keys=True).encode("utf-8")
        box = BoxPublicKey(bytes.fromhex(credential.box_key))
        pieces = [material[i:i + CHUNK] for i in range(0, len(material), CHUNK)]
        if len(pieces) > MAX_SHARE_PARTS:
            raise ShareRefused("too_large")
        specialty = credential.specialties[0] if credential.specialties else "expert"
        what = ",".join([*chosen, *file_ids])
        with self._db.write() as conn:
            # consent read again in the writing transaction: a revocation meanwhile wins
            self._check_consent(report_id, chosen, bool(file_ids),
                                other_org=credential.home_node != self._node_id, conn=conn)
            self._check_engagement(conn, engagement_id, report_id, expert_key, now)
            conn.execute(
                "INSERT INTO expert_shares_sent (share_id, engagement_id, report_id, "
                "expert_key, box_key, home_node, specialty, what, parts, shared_at, expires) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (share_id, engagement_id, report_id, expert_key, credential.box_key,
                 credential.home_node,
                 specialty, what, len(pieces), now, expires))
            conn.executemany(
                "INSERT INTO expert_share_parts (share_id, part, sealed) VALUES (?, ?, ?)",
                [(share_id, n, box.seal(_part_plaintext(share_id, n, len(pieces), piece)))
                 for n, piece in enumerate(pieces)])
            self._audit.append(conn, at=now, actor=coordinator.member.id,
                               action="expert.share", object_type="report",
                               object_id=report_id,
                               detail=f"share {share_id} to {credential.home_node}: {what}")
            if credential.home_node == self._node_id:  # an expert of this node: no network
                self._deliver_locally(conn, share_id, now)
            row = conn.execute("SELECT * FROM expert_shares_sent WHERE share_id = ?",
                               (share_id,)).fetchone()
        return _sent(row)

    def _deliver_locally(self, conn: sqlite3.Connection, share_id: str, now: int) -> None:
        row = conn.execute("SELECT * FROM expert_shares_sent WHERE share_id = ?",
                           (share_id,)).fetchone()
        for part, sealed in conn.execute("SELECT part, sealed FROM expert_share_parts "
                                         "WHERE share_id = ? ORDER BY part",
                                         (share_id,)).fetchall():
            self.receive_part_in(conn, SealedShare(
                share_id=share_id, engagement_id=row["engagement_id"],
                recipient_box_key=row["box_key"], part=part, parts=row["parts"],
                sealed=base64.b64encode(bytes(sealed)).decode("ascii"),
                shared_at=row["shared_at"], expires=row["expires"]),
                sender=self._node_id, now=now)
        # the parts now belong to the home side: the same table, the same rows
        conn.execute("UPDATE expert_shares_sent SET envelopes = '' WHERE share_id = ?",
                     (share_id,))

    def _check_consent(self, report_id: str, groups: list[str], with_files: bool, *,
                       other_org: bool, conn: sqlite3.Connection | None = None) -> None:
        current = self._consent.verify(conn or self._db.read(), report_id)
        if not current["consent_sharing"]:
            raise ShareRefused("no_consent")
        if not current["consent_share_scope_set"]:
            raise ScopeNotAsked()
        if other_org and not current["consent_share_other_orgs"]:
            raise ShareRefused("not_other_orgs")
        needed = {SCOPE_OF_GROUP[g] for g in groups} | ({"share_files"} if with_files else set())
        if "share_contact" in needed and not current["consent_contact"]:
            raise ShareRefused("no_contact_consent")
        outside = sorted(n for n in needed if not current[f"consent_{n}"])
        if outside:
            raise ShareRefused("outside_scope")

    def choices(self, coordinator: UnlockedStaff, report_id: str
                ) -> tuple[dict[str, bool], list[tuple[str, str]]]:
        """What the coordinator's share form offers: each field group and whether the
        reporter's scope allows it, and the report's attachments (id, file name) if it
        allows files. Reading it is in the case's custody."""
        self._access.require(coordinator, Action.SHARE_WITH_EXPERTS, report_id)
        current = self._consent.verify(self._db.read(), report_id)
        usable = bool(current["consent_sharing"] and current["consent_share_scope_set"])
        groups = {g: usable and bool(current[f"consent_{SCOPE_OF_GROUP[g]}"]) and (
                      g != "contact" or bool(current["consent_contact"]))
                  for g in FIELD_GROUPS}
        files: list[tuple[str, str]] = []
        if usable and current["consent_share_files"]:
            key = self._access.open_case(coordinator, Action.READ_CASE, report_id)
            view = self._intake.view_with_key(report_id, key)
            files = [(i.id, str(i.meta.get("filename", ""))) for i in view.items
                     if i.kind == "attachment"]
        return groups, files

    def sent_for_report(self, report_id: str) -> list[SentShare]:
        rows = self._db.read().execute(
            "SELECT * FROM expert_shares_sent WHERE report_id = ? ORDER BY shared_at, share_id",
            (report_id,)).fetchall()
        return [_sent(r) for r in rows]

    def sent(self, share_id: str) -> SentShare | None:
        row = self._db.read().execute("SELECT * FROM expert_shares_sent WHERE share_id = ?",
                                      (share_id,)).fetchone()
        return None if row is None else _sent(row)

    def revoke(self, coordinator: UnlockedStaff, share_id: str) -> None:
        """A coordinator ends a share (`errors.NotFound` if there is none)."""
        found = self.sent(share_id)
        if found is None or found.report_id is None:
            raise errors.NotFound()
        self._access.require(coordinator, Action.SHARE_WITH_EXPERTS, found.report_id)
        with self._db.write() as conn:
            self._revoke_in(conn, share_id, "coordinator", coordinator.member.id)

    def revoke_for_reporter(self, access: ReporterAccess, share_id: str) -> None:
        """The reporter stops a share of their own report from their receipt page."""
        found = self.sent(share_id)
        if found is None or found.report_id != access.report_id:
            raise errors.NotFound()
        with self._db.write() as conn:
            self._revoke_in(conn, share_id, "reporter", "reporter")

    def _revoke_in(self, conn: sqlite3.Connection, share_id: str, reason: str,
                   actor: str) -> None:
        row = conn.execute("SELECT report_id, envelopes, revoked_at, home_node "
                           "FROM expert_shares_sent "
                           "WHERE share_id = ?", (share_id,)).fetchone()
        if row is None or row["revoked_at"] is not None:
            return
        now = self._clock()
        conn.execute("UPDATE expert_shares_sent SET revoked_at = ?, revoke_reason = ? "
                     "WHERE share_id = ?", (now, reason, share_id))
        _erase_outgoing(conn, share_id, row["envelopes"], now)
        if row["home_node"] == self._node_id:  # this node's expert: erased here, now
            conn.execute("UPDATE expert_shares_sent SET revocation_queued = 1 "
                         "WHERE share_id = ?", (share_id,))
            self._erase_held_in(conn, share_id, reason, now)
        if row["report_id"] is not None:
            self._audit.append(conn, at=now, actor=actor, action="expert.share_revoked",
                               object_type="report", object_id=row["report_id"],
                               detail=f"share {share_id}: {reason}")

    # -- what the federation sends (blocking; from its periodic work) -----------------------

    def end_for_ended_credentials(self) -> int:
        """End the shares of every expert whose credential ended (revoked or expired): on
        either side, an expert missing from a directory issued after the share was made.
        How many (both sides)."""
        latest = directory.latest(self._db.read())
        if latest is None:
            return 0
        listed = {e.credential.body.expert_key for e in latest.body.entries}
        issued = latest.body.issued_at
        conn = self._db.read()
        sent = [r[0] for r in conn.execute(
            "SELECT share_id, expert_key FROM expert_shares_sent WHERE revoked_at IS NULL "
            "AND shared_at < ?", (issued,)) if r[1] not in listed]
        held = [r[0] for r in conn.execute(
            "SELECT h.share_id, hex(p.signing_public_key) FROM expert_shares_held h "
            "JOIN expert_profiles p ON p.staff_id = h.staff_id "
            "WHERE h.revoked_at IS NULL AND h.shared_at < ?", (issued,))
            if r[1].lower() not in listed]
        if sent or held:
            with self._db.write() as wconn:
                for share_id in sent:
                    self._revoke_in(wconn, share_id, "credential_revoked", "system")
                for share_id in held:
                    self._erase_held_in(wconn, share_id, "credential_revoked", self._clock())
        return len(sent) + len(held)

    def due(self) -> list[tuple[str, Message]]:
        """(home node, message) for every sealed part not queued yet and every revocation
        not queued yet (after ending the shares of experts whose credential ended)."""
        self.end_for_ended_credentials()
        conn = self._db.read()
        out: list[tuple[str, Message]] = []
        for row in conn.execute(
                "SELECT s.*, p.part, p.sealed FROM expert_share_parts p "
                "JOIN expert_shares_sent s ON s.share_id = p.share_id "
                "WHERE s.revoked_at IS NULL AND s.home_node != ? "
                "ORDER BY s.shared_at, p.share_id, p.part", (self._node_id,)):
            out.append((row["home_node"], SealedShare(
                share_id=row["share_id"], engagement_id=row["engagement_id"],
                recipient_box_key=row["box_key"],
                part=row["part"], parts=row["parts"],
                sealed=base64.b64encode(bytes(row["sealed"])).decode("ascii"),
                shared_at=row["shared_at"], expires=row["expires"])))
        for row in conn.execute("SELECT share_id, home_node, revoked_at, revoke_reason "
                                "FROM expert_shares_sent WHERE revoked_at IS NOT NULL "
                                "AND revocation_queued = 0 AND home_node != ?",
                                (self._node_id,)):
            out.append((row["home_node"], ExpertRevocation(
                subject="share", subject_id=row["share_id"],
                reason=row["revoke_reason"] if row["revoke_reason"] in (
                    "reporter", "coordinator", "expert", "credential_revoked", "expired")
                else "reporter", revoked_at=row["revoked_at"])))
        return out

    def queued(self, message: Message, envelope_id: str) -> None:
        """`message` of `due` is in the outbox as `envelope_id`: forget our copy."""
        with self._db.write() as conn:
            if isinstance(message, SealedShare):
                row = conn.execute("SELECT envelopes, revoked_at FROM expert_shares_sent "
                                   "WHERE share_id = ?", (message.share_id,)).fetchone()
                conn.execute("DELETE FROM expert_share_parts WHERE share_id = ? AND part = ?",
                             (message.share_id, message.part))
                if row is None:
                    return
                envelopes = ",".join(x for x in (row["envelopes"], envelope_id) if x)
                conn.execute("UPDATE expert_shares_sent SET envelopes = ? WHERE share_id = ?",
                             (envelopes, message.share_id))
                if row["revoked_at"] is not None:  # revoked while this was being queued
                    _erase_outgoing(conn, message.share_id, envelope_id, self._clock())
            elif isinstance(message, ExpertRevocation):
                conn.execute("UPDATE expert_shares_sent SET revocation_queued = 1 "
                             "WHERE share_id = ?", (message.subject_id,))

    # -- the home node ----------------------------------------------------------------------

    def receive_part_in(self, conn: sqlite3.Connection, share: SealedShare, *, sender: str,
                        now: int) -> str:
        """Keep one sealed part for the local expert it is sealed to (in the responder's
        transaction). Returns the outcome; `PartRefused` stores nothing."""
        if share.expires <= now:
            raise PartRefused("expired")
        staff = conn.execute(
            "SELECT s.id FROM staff s JOIN expert_profiles p ON p.staff_id = s.id "
            "WHERE s.box_public_key = ? AND s.disabled = 0",
            (bytes.fromhex(share.recipient_box_key),)).fetchone()
        if staff is None:
            raise PartRefused("unknown_expert")
        held = conn.execute("SELECT * FROM expert_shares_held WHERE share_id = ?",
                            (share.share_id,)).fetchone()
        if held is not None:
            if held["requesting_node"] != sender or (
                    held["staff_id"] is not None and held["staff_id"] != staff["id"]):
                raise PartRefused("not_yours")
            if held["revoked_at"] is not None:
                return "revoked"  # a part that arrived after its revocation: dropped
            if held["parts"] != share.parts:
                raise PartRefused("inconsistent")
        else:
            conn.execute(
                "INSERT INTO expert_shares_held (share_id, engagement_id, requesting_node, "
                "staff_id, parts, shared_at, expires) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (share.share_id, share.engagement_id, sender, staff["id"], share.parts,
                 share.shared_at, share.expires))
            self._audit.append(conn, at=now, actor="system", action="expert.share_received",
                               object_type="expert_share", object_id=share.share_id,
                               detail=f"from {sender} for {staff['id']}")
        conn.execute("INSERT OR IGNORE INTO expert_share_parts (share_id, part, sealed) "
                     "VALUES (?, ?, ?)",
                     (share.share_id, share.part, base64.b64decode(share.sealed)))
        return "kept"

    def receive_revocation_in(self, conn: sqlite3.Connection, revocation: ExpertRevocation,
                              *, sender: str, now: int) -> str:
        """Erase a share's parts on the home node (in the responder's transaction). A
        revocation that arrives before its share leaves a tombstone, so the share, when it
        comes, is dropped."""
        if revocation.subject != "share":
            raise PartRefused("not_a_share")
        held = conn.execute("SELECT requesting_node, revoked_at FROM expert_shares_held "
                            "WHERE share_id = ?", (revocation.subject_id,)).fetchone()
        if held is None:
            conn.execute(
                "INSERT INTO expert_shares_held (share_id, engagement_id, requesting_node, "
                "staff_id, parts, shared_at, expires, revoked_at, revoke_reason) "
                "VALUES (?, '', ?, NULL, 0, ?, ?, ?, ?)",
                (revocation.subject_id, sender, revocation.revoked_at, now + MAX_SHARE_SECONDS,
                 now, revocation.reason))
            return "tombstone"
        if held["requesting_node"] != sender:
            raise PartRefused("not_yours")
        if held["revoked_at"] is None:
            self._erase_held_in(conn, revocation.subject_id, revocation.reason, now)
        return "erased"

    def _erase_held_in(self, conn: sqlite3.Connection, share_id: str, reason: str,
                       now: int) -> None:
        conn.execute("DELETE FROM expert_share_parts WHERE share_id = ?", (share_id,))
        conn.execute("UPDATE expert_shares_held SET revoked_at = ?, revoke_reason = ? "
                     "WHERE share_id = ?", (now, reason, share_id))
        self._audit.append(conn, at=now, actor="system", action="expert.share_erased",
                           object_type="expert_share", object_id=share_id, detail=reason)

    def expire(self) -> int:
        """Erase the parts of every held share past its expiry; how many."""
        now = self._clock()
        with self._db.write() as conn:
            ids = [r[0] for r in conn.execute(
                "SELECT share_id FROM expert_shares_held WHERE revoked_at IS NULL "
                "AND expires <= ?", (now,))]
            for share_id in ids:
                self._erase_held_in(conn, share_id, "expired", now)
        return len(ids)

    def held_for(self, expert: UnlockedStaff) -> list[HeldShare]:
        """The expert's shares that can be opened now (complete, unrevoked, unexpired)."""
        now = self._clock()
        rows = self._db.read().execute(
            "SELECT h.*, (SELECT count(*) FROM expert_share_parts p "
            "WHERE p.share_id = h.share_id) AS received FROM expert_shares_held h "
            "WHERE h.staff_id = ? AND h.revoked_at IS NULL AND h.expires > ? "
            "ORDER BY h.shared_at DESC", (expert.member.id, now)).fetchall()
        return [HeldShare(r["share_id"], r["engagement_id"], r["requesting_node"], r["parts"],
                          r["received"], r["shared_at"], r["expires"])
                for r in rows if r["received"] == r["parts"]]

    def open_held(self, expert: UnlockedStaff, share_id: str) -> OpenedShare:
        """Open a share with the expert's own key, in memory for this call only;
        `ShareUnavailable` (and a custody entry) if it is not theirs to open now."""
        now = self._clock()
        conn = self._db.read()
        held = conn.execute("SELECT * FROM expert_shares_held WHERE share_id = ?",
                            (share_id,)).fetchone()
        parts = [bytes(r[0]) for r in conn.execute(
            "SELECT sealed FROM expert_share_parts WHERE share_id = ? ORDER BY part",
            (share_id,))]
        if (held is None or held["staff_id"] != expert.member.id
                or held["revoked_at"] is not None or held["expires"] <= now
                or len(parts) != held["parts"]):
            with self._db.write() as wconn:
                self._audit.append(wconn, at=now, actor=expert.member.id,
                                   action="expert.share_refused", object_type="expert_share",
                                   object_id=share_id if held is not None else "unknown")
            raise ShareUnavailable()
        try:
            material = b"".join(
                _chunk_of(share_id, n, len(parts), expert.secret_key.open(sealed))
                for n, sealed in enumerate(parts))
            opened = json.loads(material)
            if opened.get("share_id") != share_id:
                raise ShareUnavailable()
        except (DecryptionError, ValueError, ShareUnavailable):
            # altered at rest, or parts of another share put in its place: never shown
            with self._db.write() as wconn:
                self._audit.append(wconn, at=now, actor=expert.member.id,
                                   action="expert.share_refused", object_type="expert_share",
                                   object_id=share_id, detail="does not open")
            raise ShareUnavailable() from None
        with self._db.write() as wconn:
            self._audit.append(wconn, at=now, actor=expert.member.id,
                               action="expert.share_opened", object_type="expert_share",
                               object_id=share_id)
        return OpenedShare(
            share_id, held["engagement_id"], opened.get("fields", {}),
            [{"filename": f.get("filename", ""), "media_type": f.get("media_type", ""),
              "data": base64.b64decode(f.get("data", ""))} for f in opened.get("files", [])],
            held["expires"], opened.get("subject_sha256"))

    # -- the one deletion path --------------------------------------------------------------

    @property
    def derived_stores(self) -> tuple[DerivedStore, ...]:
        """A deleted report's shares are revoked (the home nodes erase their copies when the
        revocation reaches them) and forget what was shared and from which report."""
        return (DerivedStore("expert shares", self._erase_report),)

    def _erase_report(self, conn: sqlite3.Connection, report_id: str) -> AfterCommit | None:
        for (share_id,) in conn.execute(
                "SELECT share_id FROM expert_shares_sent WHERE report_id = ?",
                (report_id,)).fetchall():
            self._revoke_in(conn, share_id, "reporter", "system")
        conn.execute("UPDATE expert_shares_sent SET report_id = NULL, what = '' "
                     "WHERE report_id = ?", (report_id,))
        return None


def handle_answer(answer: Message) -> str:
    """What the home node said to a sealed part or a revocation: the outcome for the log
    line; a refusal is `Refused` (the item is given up: the share stays recorded as sent,
    and the coordinator sees it was not delivered in the outbox)."""
    if not isinstance(answer, DeliveryAck):
        raise BadAnswer("not an acknowledgement")
    if answer.status == "rejected":
        raise Refused(answer.reason or "rejected")
    return answer.status


def _erase_outgoing(conn: sqlite3.Connection, share_id: str, envelopes: str,
                    now: int) -> None:
    """The requesting node's copies of a share's material: the parts not queued yet, and
    the frames still waiting in the outbox (given up, their frame erased)."""
    conn.execute("DELETE FROM expert_share_parts WHERE share_id = ?", (share_id,))
    for envelope_id in (x for x in envelopes.split(",") if x):
        OutboxQueue.give_up_in(conn, envelope_id, "revoked", now)
