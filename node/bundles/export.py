"""Exporting one case as a court bundle (format: `backup_evidence.bundle_format`).

Refused without the reporter's recorded consent to legal use, and to anyone but a
coordinator; the export, and the consent it relied on, are written to the chain of custody.
The bundle's checkpoint is the one a court can trust most among those that cover every
item: the most witness cosignatures, then an RFC 3161 timestamp, then the newest; if the
log grew since the last checkpoint, one is signed first.

The exporter is given what it reads: the case's access and keys (`CaseAccess`), its
report, items and consent (`IntakeService`), the node's keys, the chain of custody. The
witnesses' cosignatures of the node's own checkpoints are the federation's, read through
`node.federation.store`'s two functions for them.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from backup_evidence.bundle_format import (
    FORMAT,
    NODE_KEY,
    checkpoint_path,
    node_key_text,
    proof_path,
    timestamp_path,
)
from backup_evidence.leaves import leaf_from_digest
from crypto.checkpoint import ED25519, encode_vkey
from node import errors
from node.accounts import UnlockedStaff
from node.backoffice import audit as audit_log
from node.backoffice.access import Action, require
from node.backoffice.audit import AuditLog
from node.backoffice.case_access import CaseAccess
from node.bundles.summary import render_summary
from node.bundles.writer import BundleWriter, canonical_json
from node.evidence import checkpoints, log_store
from node.evidence.items import EvidenceRecord
from node.federation import store as cosignatures
from node.i18n import N_
from node.intake.attachments import safe_filename
from node.intake.service import IntakeService
from node.keyring import NodeKeys
from node.storage.database import Database


class NoEvidenceRecord(errors.NodeError):
    message = N_("This case has no evidence record and cannot be exported as a bundle.")


class BundleExporter:
    def __init__(self, db: Database, access: CaseAccess, intake: IntakeService, keys: NodeKeys,
                 audit: AuditLog, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._access = access
        self._intake = intake
        self._keys = keys
        self._audit = audit
        self._clock = clock

    def export(self, staff: UnlockedStaff, report_id: str, lang: str = "en") -> bytes:
        """The bundle of one case, in `lang` for its readable summary."""
        require(staff.member, Action.EXPORT_CASE)
        self._access.require_consent(report_id, "legal")
        key = self._access.case_key(staff, report_id)
        report_record = self._intake.evidence_record(report_id, key)
        if report_record is None:
            raise NoEvidenceRecord()
        now = int(self._clock().timestamp())
        signer = checkpoints.log_signer(self._keys.node_id, self._keys.identity)
        consent_history = self._intake.consent_history(report_id)
        consent_hour = max((e["at_hour"] for e in consent_history if e["legal"]), default=None)
        view = self._intake.view_with_key(report_id, key)
        needed = 1 + max([report_record.leaf_index,
                          *(int(i.meta["evidence"]["leaf_index"]) for i in view.items)])
        with self._db.write() as wconn:
            if _best_checkpoint(wconn, needed) is None:  # the log grew since: sign one now
                checkpoints.maybe_checkpoint(wconn, signer, now)
            self._audit.append(wconn, at=now, actor=staff.member.id, action="case.export",
                               object_type="report", object_id=report_id,
                               detail=f"court bundle; legal-use consent recorded at hour "
                                      f"{consent_hour}")
        conn = self._db.read()
        checkpoint = _best_checkpoint(conn, needed)
        assert checkpoint is not None

        writer = BundleWriter()
        items: list[dict[str, Any]] = []

        def add_item(path: str, content: bytes, record: EvidenceRecord, **extra: Any) -> None:
            n = len(items) + 1
            if hashlib.sha256(content).digest() != record.sha256:
                raise errors.NodeError()  # the stored item does not match its commitment
            leaf = leaf_from_digest(record.item_type, record.received_at, record.salt,
                                    record.sha256)
            proof = log_store.inclusion_proof(conn, record.leaf_index, checkpoint.size)
            writer.add(path, content)
            writer.add(proof_path(n), canonical_json({
                "item": path, "leaf_index": record.leaf_index, "tree_size": checkpoint.size,
                "leaf": leaf.encode().hex(), "leaf_hash": leaf.leaf_hash.hex(),
                "inclusion_path": [h.hex() for h in proof.path],
                "checkpoint": checkpoint_path(checkpoint.size)}))
            items.append({"path": path, "proof": proof_path(n),
                          "type": record.item_type.name.lower(),
                          "type_code": int(record.item_type), "received_at": record.received_at,
                          "received_at_utc": _utc(record.received_at),
                          "salt": record.salt.hex(), "sha256": record.sha256.hex(),
                          "size": len(content), "leaf_index": record.leaf_index, **extra})

        add_item("evidence/report.json", self._intake.submitted(report_id, key), report_record,
                 description="the report as submitted (canonical JSON)")
        for n, item in enumerate(view.items, start=1):
            record = EvidenceRecord.from_json(item.meta["evidence"])
            if item.kind == "attachment":
                _, chunks = self._intake.open_attachment_with_key(key, report_id, item.id)
                name = safe_filename(item.meta.get("filename")).replace("/", "_")
                add_item(f"evidence/{n:03d}-{name}", b"".join(chunks), record,
                         filename=item.meta.get("filename"), mime=item.meta.get("mime"))
            else:
                add_item(f"evidence/{n:03d}-addition.txt", item.meta["text"].encode("utf-8"),
                         record, description="information the reporter added later (UTF-8)")

        # The witnesses' cosignature lines, if any, after the node's own signature (issue 5).
        writer.add(checkpoint_path(checkpoint.size),
                   cosignatures.with_cosignatures(conn, checkpoint.note, checkpoint.size))
        timestamp: dict[str, str] = {}
        if checkpoint.timestamp_token is not None:
            timestamp["checkpoint_timestamp"] = timestamp_path(checkpoint.size)
            writer.add(timestamp["checkpoint_timestamp"], checkpoint.timestamp_token)
        identity_public = self._keys.identity_public
        writer.add(NODE_KEY, node_key_text(signer.name, identity_public))
        verdict = self._audit.verify(conn)
        custody = [{"seq": e.seq, "at": e.at, "at_utc": _utc(e.at), "actor": e.actor,
                    "action": e.action, "detail": e.detail, "prev_hash": e.prev_hash.hex(),
                    "hash": e.hash.hex()} for e in audit_log.entries(conn, report_id)]
        writer.add("custody.json", canonical_json({"chain_verified_at_export": verdict.ok,
                                                   "chain_entries": verdict.entries,
                                                   "entries": custody}))
        writer.add("consent.json", canonical_json({"current": view.consent.model_dump(),
                                                   "history": consent_history}))
        manifest = {"format": FORMAT, "case_id": report_id, "node_id": self._keys.node_id,
                    "log_origin": signer.name, "exported_at": now, "exported_at_utc": _utc(now),
                    "checkpoint": checkpoint_path(checkpoint.size),
                    "tree_size": checkpoint.size, **timestamp, "items": items}
        vkey = encode_vkey(signer.name, ED25519, identity_public)
        writer.add("summary.html", render_summary(manifest, custody, view.consent.model_dump(),
                                                  vkey, lang).encode())
        return writer.finish(manifest, self._keys.identity.sign)


def _best_checkpoint(conn: sqlite3.Connection, needed: int
                     ) -> checkpoints.StoredCheckpoint | None:
    """Of the signed checkpoints that cover every item (`needed` leaves), the one a court
    can trust most: the most witness cosignatures, then an RFC 3161 timestamp, then the
    newest. None if the log grew since the last checkpoint."""
    candidates = checkpoints.covering(conn, needed)
    if not candidates:
        return None
    # Cosigned checkpoints are among the candidates' sizes, and those at least `needed`
    # are the largest: the newest len(candidates) cosigned sizes hold all of them.
    counts = dict(cosignatures.cosigned_sizes(conn, limit=len(candidates)))
    size, _ = max(candidates, key=lambda c: (counts.get(c[0], 0), c[1], c[0]))
    return checkpoints.checkpoint_at(conn, size)


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
