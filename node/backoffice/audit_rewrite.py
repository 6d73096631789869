"""Rewriting the chain of custody, once, openly: for what must not stay in it.

Issue 11 found two things in the chain that a seized node should not reveal: the free text
of deletion reasons (which outlived the crypto-shredding it recorded) and the reporter's
replies to the second. Schema 10 fixes the tables and asks for this rewrite
(``node_meta.audit_rewrite_pending``), which needs the node's identity key and so runs when
the node opens (`apply_pending`).

Leaving the old entries as they were would have kept that text and those seconds, in clear,
for good. Rewriting them in silence would make the chain lie. So the entries are changed,
every later entry is re-chained, and a new entry, signed like every head, declares it: how
many entries were rewritten, between which sequence numbers, why, and the sequence number
and hash of the head before the rewrite, so that whoever kept that head (an auditor, an
export) can see where the chain they hold and this one part, and that the node said so.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace

from node.backoffice import audit
from node.backoffice.audit import AuditLog, Entry, entry_hash
from node.backoffice.deletion import REASONS
from node.storage.database import Database

PENDING = "audit_rewrite_pending"
ACTION = "audit.rewrite"


def rewrite(conn: sqlite3.Connection, log: AuditLog, change: Callable[[Entry], Entry],
            why: str, at: int) -> int:
    """Apply `change` to every entry, re-chain from the first it alters and append the
    declaring entry, inside the caller's write transaction; returns how many it altered.
    The chain is checked first (`AuditLog.check`, `CustodyBroken`): an open rewrite of a
    chain someone else changed would launder their change."""
    log.check(conn)
    entries = list(audit.entries(conn))
    altered = [(e, change(e)) for e in entries]
    changed = [old.seq for old, new in altered if new != old]
    if not changed:
        return 0
    head = entries[-1]
    prev = entries[changed[0] - 2].hash if changed[0] > 1 else audit.GENESIS
    for _, new in altered[changed[0] - 1:]:
        h = entry_hash(prev, new.seq, new.at, new.actor, new.action, new.object_type,
                       new.object_id, new.detail)
        conn.execute("UPDATE audit_log SET at = ?, detail = ?, prev_hash = ?, hash = ?"
                     " WHERE seq = ?", (new.at, new.detail, prev, h, new.seq))
        prev = h
    log.resign(conn)
    log.append(conn, at=at, actor="system", action=ACTION, object_type="audit",
               object_id=str(head.seq),
               detail=(f"{why}: rewrote {len(changed)} entries between {changed[0]} and "
                       f"{changed[-1]}; the head before was entry {head.seq}, "
                       f"hash {head.hash.hex()}"))
    return len(changed)


def _issue_11(entry: Entry) -> Entry:
    if entry.action == "case.delete" and entry.detail not in REASONS:
        return replace(entry, detail="other")
    if entry.action == "case.reply" and entry.at % 3600:
        return replace(entry, at=entry.at - entry.at % 3600)
    return entry


def apply_pending(db: Database, log: AuditLog, now: int) -> int:
    """The rewrite a migration asked for, if any; returns how many entries it altered."""
    with db.write() as conn:
        if conn.execute("SELECT 1 FROM node_meta WHERE key = ?", (PENDING,)).fetchone() is None:
            return 0
        count = rewrite(conn, log, _issue_11,
                        "deletion reasons reduced to their code, reporter replies to the hour",
                        now)
        conn.execute("DELETE FROM node_meta WHERE key = ?", (PENDING,))
    if count:
        db.vacuum()  # nothing of the old entries left in free pages or the write-ahead log
    return count
