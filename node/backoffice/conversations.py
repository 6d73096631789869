"""The conversation between staff and the reporter, through the receipt channel.

Messages are encrypted with the report's data key, which the reporter's receipt secret
opens too: staff write with the key their access opens (`send`), the reporter reads and
answers with the key their receipt opened (`for_reporter`, `reply`). Nothing about a
message reaches the reporter any other way (no e-mail, no SMS).
"""

from __future__ import annotations

import json
import secrets

from crypto.keys import DataKey
from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action
from node.backoffice.case_access import CaseAccess
from node.backoffice.deletion import DerivedStore
from node.backoffice.ledger import CaseLedger, EntryTable, TimelineEntry, aead_context, check_text
from node.storage.database import Database

# In the order they were written (``seq``, set by the database on insert): the reporter's
# messages and the times they read staff's are kept to the hour only, so time cannot order.
MESSAGES = EntryTable("messages", "message", order_column="seq")
MESSAGE_CHARS = 10_000


class Conversations:
    def __init__(self, db: Database, access: CaseAccess, ledger: CaseLedger) -> None:
        self._db = db
        self._access = access
        self._ledger = ledger

    def send(self, staff: UnlockedStaff, report_id: str, text: str) -> str:
        """A message the reporter reads through the receipt channel."""
        check_text(text, MESSAGE_CHARS)
        key = self._access.open_case(staff, Action.MESSAGE_REPORTER, report_id)
        # a case rotated before the reporter's key was known: let them read this (issue 13)
        self._access.share_with_reporter(report_id, key)
        return self._ledger.add_entry(staff, report_id, key, MESSAGES, {"text": text},
                                      {"direction": "to_reporter"})

    def of_case(self, report_id: str, key: DataKey) -> list[TimelineEntry]:
        """Both directions, oldest first (for staff, who opened `key`)."""
        return self._ledger.entries(MESSAGES, report_id, key)

    def for_reporter(self, report_id: str, key: DataKey) -> list[TimelineEntry]:
        """Both directions, oldest first, for the reporter (whose receipt opened `key`):
        what staff sent under a generation of the case key not yet sealed to the reporter
        is shown once it is (`CaseAccess.share_with_reporter`, at staff's next message)."""
        return self._ledger.entries(MESSAGES, report_id, key, then_by_id=True, held_only=True)

    def reply(self, report_id: str, key: DataKey, text: str) -> None:
        """The reporter's answer; staff messages they have now seen are marked read. Both
        times, and the custody entry's, are to the hour."""
        check_text(text, MESSAGE_CHARS)
        msg_id = secrets.token_hex(12)
        now = self._ledger.hour_start()
        with self._db.write() as conn:
            if conn.execute("SELECT 1 FROM reports WHERE id = ?", (report_id,)).fetchone() is None:
                raise errors.ReportGone()
            conn.execute(
                "INSERT INTO messages (id, report_id, at, direction, actor, body_ct)"
                " VALUES (?, ?, ?, 'from_reporter', 'reporter', ?)",
                (msg_id, report_id, now,
                 key.encrypt(json.dumps({"text": text}, ensure_ascii=False).encode(),
                             aead_context(MESSAGES.kind, report_id, msg_id))))
            self._ledger.touch(conn, report_id)
            conn.execute("UPDATE messages SET read_at = ? WHERE report_id = ? AND"
                         " direction = 'to_reporter' AND read_at IS NULL", (now, report_id))
            self._ledger.record(conn, "reporter", "case.reply", report_id, f"message {msg_id}",
                                at=now)

    @property
    def derived_stores(self) -> tuple[DerivedStore, ...]:
        return (DerivedStore("messages with the reporter", self._ledger.erase_entries(MESSAGES)),)
