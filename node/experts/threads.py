"""End-to-end encrypted threads of the expert network (issue 16).

Two kinds, one code:

* ``engagement``: an engagement's thread, between the coordinator who engaged an expert and
  that expert (`node.experts.engagements`; the thread's id is the engagement's). Its rows
  are made from the engagement, on each node, when a party first opens or receives it.
* ``coordinators``: two organisations' coordinators, no expert. Issue 18's introduction
  opens one on each side with `Threads.introduce`, the same thread id on both, and each
  side's keys (`coordinator_keys`) handed to the other by whoever introduces them.

A message (`thread_content`: text and at most one attachment) is sealed to the reader's
X25519 key and, apart, to the author's own, so both sides read their history; the nodes
keep only these ciphertexts. The reader's copy travels as a `protocol.engagements.
ThreadMessage`, signed by the author's Ed25519 key (the expert's own signing key,
`profiles.signing_key`; the coordinator's, derived from their secret key,
`engagements.coordinator_signing_key`) and numbered by its author: 1, 2, 3... in the thread.

The receiving node (`receive_in`, behind the shared responder, which checked the sending
node's envelope) believes a message only if its author's key signed it, the thread is open
here with that author as the other party, it comes from that party's node, and it is the
author's next number: an old number (a replay, or another message put in its place) is
refused for good, a number ahead of the next ("thread_gap": the outbox delivers
concurrently) is refused for now, and the sender's outbox tries it again (`handle_answer`),
so every reader sees each author's messages in the order written, none twice, none missing.

The author's node hands the signed message to the outbox in `due` / `queued`, like shares:
it waits while the other node is offline. Both nodes keep custody entries (sent, received,
read, file opened, closed, erased). A thread closes when its engagement ends or its expert's
credential is revoked (`close_for_ended_credentials`), and then takes no message either way.
A deleted report erases its threads' messages here and queues an `ExpertRevocation` of the
thread for the other node, which erases its copy when it arrives (`receive_erasure_in`),
later if it is offline: the one deletion path (`derived_stores`).
"""

from __future__ import annotations

import base64
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from crypto.errors import DecryptionError
from crypto.keys import SigningKey
from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.audit import AuditLog
from node.backoffice.deletion import AfterCommit, DerivedStore
from node.experts import directory, engagements, profiles, thread_content
from node.experts.thread_content import Attachment, Content
from node.federation.errors import BadAnswer, Refused
from node.i18n import N_
from node.storage.database import Database
from protocol.delivery import DeliveryAck
from protocol.encoding import canonical_json, parse_canonical_json
from protocol.engagements import ExpertRevocation, ThreadBody, ThreadMessage
from protocol.message import Message
from transport.queue import OutboxQueue

MESSAGE: Final = f"{ThreadMessage.TYPE} v{ThreadMessage.VERSION}"  # as the outbox names it
GAP: Final = "thread_gap"  # a number ahead of the next: tried again by the sender
# A message dated this far ahead of the receiving node's clock is not believed.
MAX_CLOCK_SKEW: Final = 600


class ThreadUnavailable(errors.NotFound):
    message = N_("This conversation is not available: it is not yours, or it has ended.")


class ThreadClosed(errors.NodeError):
    message = N_("This conversation has ended: no more messages can be sent.")


class ThreadRefused(Exception):
    """A thread message or erasure this node does not keep; `code` is the wire's reason."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class NotYet(BadAnswer):
    """The other node waits for an earlier message of the thread: try this one later."""

    code = "thread_waiting"


@dataclass(frozen=True)
class Thread:
    thread_id: str
    kind: str  # engagement | coordinators
    local_key: str
    staff_id: str | None
    peer_node: str
    peer_key: str
    report_id: str | None
    opened_at: int
    closed_at: int | None
    close_reason: str | None

    @property
    def open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True)
class ShownMessage:
    message_id: str
    mine: bool
    sequence: int
    sent_at: int
    content: Content | None  # None: it did not open (altered at rest): never shown
    pending: bool  # mine, not yet in the outbox (the other node may be offline)


@dataclass(frozen=True)
class ThreadSummary:
    thread: Thread
    unread: int
    last_at: int | None


_THREAD_COLUMNS = ("thread_id, kind, local_key, staff_id, peer_node, peer_key, report_id, "
                   "opened_at, closed_at, close_reason")


def _thread(row: sqlite3.Row | tuple[object, ...]) -> Thread:
    values = tuple(row)
    return Thread(*values)


def coordinator_keys(coordinator: UnlockedStaff) -> tuple[str, str]:
    """What another organisation needs to open a thread with this coordinator: their
    Ed25519 key (signs their messages) and X25519 key (what is sealed to them), in hex."""
    return (engagements.coordinator_signing_key(coordinator).verify_key.raw().hex(),
            coordinator.member.public_key.raw().hex())


def _hex_id(value: str) -> str:
    if len(value) != 32 or not set(value) <= set("0123456789abcdef"):
        raise ThreadUnavailable()
    return value


class Threads:
    """Both ends of every thread this node takes part in."""

    def __init__(self, db: Database, audit: AuditLog, *, node_id: str,
                 clock: Callable[[], int]) -> None:
        self._db = db
        self._audit = audit
        self._node_id = node_id
        self._clock = clock

    # -- opening ----------------------------------------------------------------------------

    def _ensure_engagement_rows(self, conn: sqlite3.Connection, e: engagements.Engagement
                                ) -> None:
        """The engagement's thread rows for the parties of it on this node."""
        rows = []
        if e.requesting_node == self._node_id and e.coordinator_id is not None:
            rows.append((e.coordinator_key, e.coordinator_id, e.coordinator_box_key,
                         e.home_node, e.expert_key, e.expert_box_key, e.report_id))
        if e.home_node == self._node_id and e.expert_staff_id is not None:
            rows.append((e.expert_key, e.expert_staff_id, e.expert_box_key,
                         e.requesting_node, e.coordinator_key, e.coordinator_box_key, None))
        for local_key, staff_id, box, peer_node, peer_key, peer_box, report_id in rows:
            conn.execute(
                "INSERT INTO expert_threads (thread_id, local_key, kind, staff_id, "
                "local_box_key, peer_node, peer_key, peer_box_key, report_id, opened_at, "
                "closed_at, close_reason) VALUES (?, ?, 'engagement', ?, ?, ?, ?, ?, ?, ?, "
                "?, ?) ON CONFLICT DO NOTHING",
                (e.engagement_id, local_key, staff_id, box, peer_node, peer_key, peer_box,
                 report_id, e.decided_at, None if e.state == "active" else self._clock(),
                 None if e.state == "active" else "ended"))

    def introduce(self, coordinator: UnlockedStaff, *, thread_id: str, peer_node: str,
                  peer_key: str, peer_box_key: str, report_id: str | None = None) -> Thread:
        """Open a coordinator <-> coordinator thread on this side (issue 18's introduction:
        the other side calls this too, with the same `thread_id` and this side's
        `coordinator_keys`). `report_id`, if the thread is about a case of ours, puts it in
        that case's custody and deletion."""
        if not coordinator.has_role("coordinator"):
            raise errors.Forbidden()
        local_key, box = coordinator_keys(coordinator)
        with self._db.write() as conn:
            return self.introduce_in(conn, staff_id=coordinator.member.id, local_key=local_key,
                                     local_box_key=box, thread_id=thread_id,
                                     peer_node=peer_node, peer_key=peer_key,
                                     peer_box_key=peer_box_key, report_id=report_id)

    def introduce_in(self, conn: sqlite3.Connection, *, staff_id: str, local_key: str,
                     local_box_key: str, thread_id: str, peer_node: str, peer_key: str,
                     peer_box_key: str, report_id: str | None = None) -> Thread:
        """`introduce` inside the caller's transaction, for a coordinator who is not here:
        their keys as they gave them when they agreed (`coordinator_keys`); the federation
        round opens the thread when the introduction arrives (`node.matching.introductions`)."""
        _hex_id(thread_id)
        for key in (peer_key, peer_box_key, local_key, local_box_key):
            if len(key) != 64 or not set(key) <= set("0123456789abcdef"):
                raise errors.InvalidInput(field="key")
        conn.execute(
            "INSERT INTO expert_threads (thread_id, local_key, kind, staff_id, "
            "local_box_key, peer_node, peer_key, peer_box_key, report_id, opened_at) "
            "VALUES (?, ?, 'coordinators', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (thread_id, local_key, staff_id, local_box_key, peer_node, peer_key,
             peer_box_key, report_id, self._clock()))
        self._custody(conn, thread_id, report_id, staff_id, "expert.thread_opened",
                      f"with {peer_node}")
        row = conn.execute(f"SELECT {_THREAD_COLUMNS} FROM expert_threads "  # noqa: S608
                           "WHERE thread_id = ? AND local_key = ?",
                           (thread_id, local_key)).fetchone()
        return _thread(row)

    def _mine(self, conn: sqlite3.Connection, staff: UnlockedStaff, thread_id: str
              ) -> sqlite3.Row:
        _hex_id(thread_id)
        e = engagements.get(conn, thread_id)
        if e is not None:
            self._ensure_engagement_rows(conn, e)
        row = conn.execute("SELECT * FROM expert_threads WHERE thread_id = ? AND staff_id = ?",
                           (thread_id, staff.member.id)).fetchone()
        if row is None:
            raise ThreadUnavailable()
        return row  # type: ignore[no-any-return]

    def _custody(self, conn: sqlite3.Connection, thread_id: str, report_id: str | None,
                 actor: str, action: str, detail: str = "") -> None:
        if report_id is not None:  # the case's custody: what of it went where
            self._audit.append(conn, at=self._clock(), actor=actor, action=action,
                               object_type="report", object_id=report_id,
                               detail=f"thread {thread_id}{': ' if detail else ''}{detail}")
        else:
            self._audit.append(conn, at=self._clock(), actor=actor, action=action,
                               object_type="expert_thread", object_id=thread_id,
                               detail=detail)

    # -- writing ----------------------------------------------------------------------------

    def _signing_key(self, conn: sqlite3.Connection, author: UnlockedStaff) -> SigningKey:
        if author.member.roles == frozenset({profiles.EXPERT_ROLE}):
            return profiles.signing_key(conn, author)
        return engagements.coordinator_signing_key(author)

    def send(self, author: UnlockedStaff, thread_id: str, content: Content) -> str:
        """Seal `content` to the other party and to the author, sign it, keep the author's
        copy and queue the other's (delivered here at once if they are on this node); the
        message's id. `ThreadUnavailable`, `ThreadClosed`."""
        now = self._clock()
        with self._db.write() as conn:
            row = self._mine(conn, author, thread_id)
            if row["closed_at"] is not None or not self._engagement_active(conn, row, now):
                raise ThreadClosed()
            key = self._signing_key(conn, author)
            if key.verify_key.raw().hex() != row["local_key"]:
                raise ThreadUnavailable()  # not the key this thread knows them by
            (last,) = conn.execute(
                "SELECT coalesce(max(sequence), 0) FROM expert_thread_messages "
                "WHERE thread_id = ? AND reader_key = ? AND author_key = ?",
                (thread_id, row["local_key"], row["local_key"])).fetchone()
            message_id = secrets.token_hex(16)
            sealed = thread_content.seal(content, thread_id=thread_id, message_id=message_id,
                                         to=row["peer_box_key"])
            body = ThreadBody.model_validate({
                "thread_id": thread_id, "message_id": message_id, "sequence": last + 1,
                "author_key": row["local_key"], "recipient_box_key": row["peer_box_key"],
                "sealed": _b64(sealed), "sent_at": now})
            signed = ThreadMessage.sign(body, key)
            peer_here = conn.execute(
                "SELECT * FROM expert_threads WHERE thread_id = ? AND local_key = ?",
                (thread_id, row["peer_key"])).fetchone()
            conn.execute(
                "INSERT INTO expert_thread_messages (thread_id, reader_key, message_id, "
                "author_key, sequence, sealed, sent_at, received_at, read_at, notified, wire) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                (thread_id, row["local_key"], message_id, row["local_key"], last + 1,
                 thread_content.seal(content, thread_id=thread_id, message_id=message_id,
                                     to=row["local_box_key"]),
                 now, now, now,
                 None if peer_here is not None
                 else canonical_json(signed.to_json_object()).decode("utf-8")))
            self._custody(conn, thread_id, row["report_id"], author.member.id,
                          "expert.thread_sent", f"message {last + 1}")
            if peer_here is not None:  # both parties on this node: no network
                self._store_received(conn, peer_here, body, sender=self._node_id, now=now)
        return message_id

    def _engagement_active(self, conn: sqlite3.Connection, row: sqlite3.Row, now: int) -> bool:
        if row["kind"] != "engagement":
            return True
        e = engagements.get(conn, row["thread_id"])
        return e is not None and e.active(now)

    # -- reading ----------------------------------------------------------------------------

    def read(self, reader: UnlockedStaff, thread_id: str) -> tuple[Thread, list[ShownMessage]]:
        """The thread and its messages in the order this node kept them (each author's in
        their own order: `receive_in` takes only the next), opened with the reader's key in
        memory for this call; what was unread is now read (a custody entry when it was)."""
        now = self._clock()
        with self._db.write() as conn:
            row = self._mine(conn, reader, thread_id)
            rows = conn.execute(
                "SELECT message_id, author_key, sequence, sealed, sent_at, wire, read_at "
                "FROM expert_thread_messages WHERE thread_id = ? AND reader_key = ? "
                "ORDER BY rowid", (thread_id, row["local_key"])).fetchall()
            unread = sum(1 for r in rows if r["read_at"] is None)
            if unread:
                conn.execute("UPDATE expert_thread_messages SET read_at = ? WHERE "
                             "thread_id = ? AND reader_key = ? AND read_at IS NULL",
                             (now, thread_id, row["local_key"]))
                self._custody(conn, thread_id, row["report_id"], reader.member.id,
                              "expert.thread_read", f"{unread} new")
            thread = _thread(tuple(row[c.strip()] for c in _THREAD_COLUMNS.split(",")))
            if thread.open and not self._engagement_active(conn, row, now):
                thread = replace(thread, closed_at=now, close_reason="ended")  # expired
        shown = [ShownMessage(r["message_id"], r["author_key"] == row["local_key"],
                              r["sequence"], r["sent_at"],
                              _open(reader, thread_id, r["message_id"], bytes(r["sealed"])),
                              r["wire"] is not None)
                 for r in rows]
        return thread, shown

    def attachment(self, reader: UnlockedStaff, thread_id: str, message_id: str
                   ) -> Attachment:
        """One message's file, opened for the reader (a custody entry); `ThreadUnavailable`
        if there is none for them."""
        _hex_id(message_id)
        with self._db.write() as conn:
            row = self._mine(conn, reader, thread_id)
            found = conn.execute(
                "SELECT sealed FROM expert_thread_messages WHERE thread_id = ? "
                "AND reader_key = ? AND message_id = ?",
                (thread_id, row["local_key"], message_id)).fetchone()
            opened = None if found is None else _open(reader, thread_id, message_id,
                                                     bytes(found[0]))
            if opened is None or opened.attachment is None:
                raise ThreadUnavailable()
            self._custody(conn, thread_id, row["report_id"], reader.member.id,
                          "expert.thread_file_opened", f"message {message_id}")
        return opened.attachment

    def of_staff(self, staff: UnlockedStaff) -> list[ThreadSummary]:
        """The person's threads, open ones first, then the latest message first."""
        conn = self._db.read()
        out = []
        for row in conn.execute(
                f"SELECT {_THREAD_COLUMNS}, (SELECT count(*) FROM "  # noqa: S608 -- constant
                "expert_thread_messages m WHERE m.thread_id = t.thread_id AND m.reader_key = "
                "t.local_key AND m.read_at IS NULL), (SELECT max(sent_at) FROM "
                "expert_thread_messages m WHERE m.thread_id = t.thread_id AND m.reader_key = "
                "t.local_key) FROM expert_threads t WHERE staff_id = ?",
                (staff.member.id,)):
            out.append(ThreadSummary(_thread(tuple(row)[:10]), int(row[10]),
                                     None if row[11] is None else int(row[11])))
        out.sort(key=lambda s: (not s.thread.open, -(s.last_at or s.thread.opened_at)))
        return out

    def unread(self, staff_id: str) -> int:
        """The badge: messages to this person not opened yet."""
        (n,) = self._db.read().execute(
            "SELECT count(*) FROM expert_thread_messages m JOIN expert_threads t ON "
            "t.thread_id = m.thread_id AND t.local_key = m.reader_key WHERE t.staff_id = ? "
            "AND m.read_at IS NULL", (staff_id,)).fetchone()
        return int(n)

    # -- receiving (the responder's transaction) --------------------------------------------

    def receive_in(self, conn: sqlite3.Connection, message: ThreadMessage, *, sender: str,
                   now: int) -> str:
        """Keep a thread message from node `sender` for its reader here; the outcome.
        `ThreadRefused` (or `protocol.errors.BadSignature`) stores nothing."""
        body = message.verify()
        row = self._reader_row(conn, body.thread_id, body.recipient_box_key)
        if row is None:
            raise ThreadRefused("no_such_thread")
        if body.author_key != row["peer_key"] or sender != row["peer_node"]:
            raise ThreadRefused("not_a_party")
        if row["closed_at"] is not None or not self._engagement_active(conn, row, now):
            raise ThreadRefused("thread_closed")
        if body.sent_at > now + MAX_CLOCK_SKEW:
            raise ThreadRefused("bad_time")
        return self._store_received(conn, row, body, sender=sender, now=now)

    def _reader_row(self, conn: sqlite3.Connection, thread_id: str, box_key: str
                    ) -> sqlite3.Row | None:
        def find() -> sqlite3.Row | None:
            return conn.execute(  # type: ignore[no-any-return]
                "SELECT * FROM expert_threads WHERE thread_id = ? AND local_box_key = ?",
                (thread_id, box_key)).fetchone()

        row = find()
        if row is None:
            e = engagements.get(conn, thread_id)
            if e is not None:
                self._ensure_engagement_rows(conn, e)
                row = find()
        return row

    def _store_received(self, conn: sqlite3.Connection, row: sqlite3.Row, body: ThreadBody,
                        *, sender: str, now: int) -> str:
        (last,) = conn.execute(
            "SELECT coalesce(max(sequence), 0) FROM expert_thread_messages "
            "WHERE thread_id = ? AND reader_key = ? AND author_key = ?",
            (body.thread_id, row["local_key"], body.author_key)).fetchone()
        if body.sequence <= last:
            raise ThreadRefused("replayed")  # or another message in an old one's place
        if body.sequence > last + 1:
            raise ThreadRefused(GAP)
        if conn.execute("SELECT 1 FROM expert_thread_messages WHERE thread_id = ? AND "
                        "reader_key = ? AND message_id = ?",
                        (body.thread_id, row["local_key"], body.message_id)).fetchone():
            raise ThreadRefused("replayed")
        conn.execute(
            "INSERT INTO expert_thread_messages (thread_id, reader_key, message_id, "
            "author_key, sequence, sealed, sent_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
            "?)", (body.thread_id, row["local_key"], body.message_id, body.author_key,
                   body.sequence, _unb64(body.sealed), body.sent_at, now))
        self._custody(conn, body.thread_id, row["report_id"], "system",
                      "expert.thread_received", f"message {body.sequence} from {sender}")
        return "kept"

    def receive_erasure_in(self, conn: sqlite3.Connection, revocation: ExpertRevocation, *,
                           sender: str, now: int) -> str:
        """The other node's case was deleted: close the thread with it here and erase its
        messages (and end the engagement, which was for that case)."""
        if revocation.subject != "thread":
            raise ThreadRefused("not_a_thread")
        rows = conn.execute("SELECT * FROM expert_threads WHERE thread_id = ? AND peer_node = ?",
                            (revocation.subject_id, sender)).fetchall()
        e = engagements.get(conn, revocation.subject_id)
        if e is not None and sender in (e.requesting_node, e.home_node) \
                and sender != self._node_id:
            engagements.end(conn, e.engagement_id)
        elif not rows:
            return "unknown"  # nothing of it here (never opened): nothing to erase
        for row in rows:
            self._erase_in(conn, row, revocation.reason, now)
        return "erased"

    def _erase_in(self, conn: sqlite3.Connection, row: sqlite3.Row, reason: str,
                  now: int) -> None:
        for (envelope_id,) in conn.execute(
                "SELECT envelope_id FROM expert_thread_messages WHERE thread_id = ? AND "
                "reader_key = ? AND envelope_id IS NOT NULL",
                (row["thread_id"], row["local_key"])).fetchall():
            OutboxQueue.give_up_in(conn, envelope_id, "revoked", now)
        conn.execute("DELETE FROM expert_thread_messages WHERE thread_id = ? AND reader_key = ?",
                     (row["thread_id"], row["local_key"]))
        conn.execute("UPDATE expert_threads SET closed_at = coalesce(closed_at, ?), "
                     "close_reason = ?, report_id = NULL WHERE thread_id = ? AND local_key = ?",
                     (now, reason, row["thread_id"], row["local_key"]))
        self._custody(conn, row["thread_id"], row["report_id"], "system",
                      "expert.thread_erased", reason)

    # -- what the federation sends (blocking; from its periodic work) -----------------------

    def close_for_ended_credentials(self) -> int:
        """Close the engagement threads of every expert whose credential ended (missing
        from a directory issued after the thread opened), and end their engagements."""
        latest = directory.latest(self._db.read())
        if latest is None:
            return 0
        listed = {e.credential.body.expert_key for e in latest.body.entries}
        issued = latest.body.issued_at
        ended = []
        for row in self._db.read().execute(
                "SELECT thread_id, local_key, staff_id, peer_key FROM expert_threads "
                "WHERE kind = 'engagement' AND closed_at IS NULL AND opened_at < ?",
                (issued,)).fetchall():
            e = engagements.get(self._db.read(), row["thread_id"])
            if e is not None and e.expert_key not in listed:
                ended.append((row["thread_id"], row["local_key"]))
        if ended:
            now = self._clock()
            with self._db.write() as conn:
                for thread_id, local_key in ended:
                    conn.execute("UPDATE expert_threads SET closed_at = ?, close_reason = "
                                 "'credential_revoked' WHERE thread_id = ? AND local_key = ?",
                                 (now, thread_id, local_key))
                    engagements.end(conn, thread_id)
                    self._custody(conn, thread_id, None, "system", "expert.thread_closed",
                                  "credential_revoked")
        return len(ended)

    def due(self) -> list[tuple[str, Message]]:
        """(node, message) for every signed message not yet in the outbox, oldest first,
        and every erasure not yet queued (after closing the threads of revoked experts)."""
        self.close_for_ended_credentials()
        conn = self._db.read()
        out: list[tuple[str, Message]] = []
        for peer_node, wire in conn.execute(
                "SELECT t.peer_node, m.wire FROM expert_thread_messages m JOIN expert_threads t "
                "ON t.thread_id = m.thread_id AND t.local_key = m.reader_key "
                "WHERE m.wire IS NOT NULL AND t.closed_at IS NULL "
                "ORDER BY m.thread_id, m.sequence").fetchall():
            out.append((peer_node, ThreadMessage.from_json_object(
                parse_canonical_json(wire.encode("utf-8")))))
        for row in conn.execute("SELECT thread_id, peer_node, closed_at FROM expert_threads "
                                "WHERE erasure_pending = 1").fetchall():
            out.append((row["peer_node"], ExpertRevocation(
                subject="thread", subject_id=row["thread_id"], reason="reporter",
                revoked_at=row["closed_at"])))
        return out

    def queued(self, message: Message, envelope_id: str) -> None:
        """`message` of `due` is in the outbox as `envelope_id`: forget the copy that waited."""
        with self._db.write() as conn:
            if isinstance(message, ThreadMessage):
                conn.execute("UPDATE expert_thread_messages SET wire = NULL, envelope_id = ? "
                             "WHERE thread_id = ? AND reader_key = ? AND message_id = ?",
                             (envelope_id, message.body.thread_id, message.body.author_key,
                              message.body.message_id))
            elif isinstance(message, ExpertRevocation):
                conn.execute("UPDATE expert_threads SET erasure_pending = 0 "
                             "WHERE thread_id = ?", (message.subject_id,))

    # -- the one deletion path --------------------------------------------------------------

    @property
    def derived_stores(self) -> tuple[DerivedStore, ...]:
        """A deleted report's threads are closed and their messages erased here; the other
        node is told to erase its copy (queued until it is reachable)."""
        return (DerivedStore("expert threads", self._erase_report),)

    def _erase_report(self, conn: sqlite3.Connection, report_id: str) -> AfterCommit | None:
        now = self._clock()
        for row in conn.execute("SELECT * FROM expert_threads WHERE report_id = ?",
                                (report_id,)).fetchall():
            self._erase_in(conn, row, "reporter", now)
            if row["peer_node"] != self._node_id:
                conn.execute("UPDATE expert_threads SET erasure_pending = 1 WHERE "
                             "thread_id = ? AND local_key = ?",
                             (row["thread_id"], row["local_key"]))
            else:  # the other party is on this node: erased here too
                for other in conn.execute(
                        "SELECT * FROM expert_threads WHERE thread_id = ? AND local_key != ?",
                        (row["thread_id"], row["local_key"])).fetchall():
                    self._erase_in(conn, other, "reporter", now)
        return None


def handle_answer(answer: Message) -> str:
    """What the other node said to a thread message: kept (or had it), `NotYet` (it waits
    for an earlier one: the outbox tries again), or `Refused` (given up)."""
    if not isinstance(answer, DeliveryAck):
        raise BadAnswer("not an acknowledgement")
    if answer.status == "rejected":
        if answer.reason == GAP:
            raise NotYet(GAP)
        raise Refused(answer.reason or "rejected")
    return answer.status


def _open(reader: UnlockedStaff, thread_id: str, message_id: str, sealed: bytes
          ) -> Content | None:
    try:
        return thread_content.parse(reader.secret_key.open(sealed), thread_id=thread_id,
                                    message_id=message_id)
    except (DecryptionError, thread_content.Unreadable):
        return None


def _b64(blob: bytes) -> str:
    return base64.b64encode(blob).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)
