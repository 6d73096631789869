"""The status-only PIN for SMS (issue 19): what the node keeps, and what it answers.

The full receipt secret is never sent by SMS: a sent SMS stays in the phone's Sent folder,
and receipt and secret together open the report, change consent or delete it. A reporter
who wants to check by SMS sets a PIN (on the receipt page, with the receipt and secret)
that opens only the status. The node keeps a keyed hash of it (under the receipt index key,
which lives in its own file, not in the database), the language the reporter used, and --
only when they opted in to notices of a waiting message -- their phone number encrypted
under the report's own data key, which only the reporter's receipt and staff who may open
the case hold. A notice is therefore prepared when a staff member sends a message (they
opened the key) and only while the report's consent to be contacted stands.

One row a report, erased with it by the one deletion path (`DERIVED_STORE`).
"""

from __future__ import annotations

import hmac
import sqlite3
from dataclasses import dataclass

from crypto import receipt
from crypto.errors import FormatError
from crypto.keys import DataKey
from node import errors
from node.backoffice.deletion import DerivedStore
from node.i18n import N_
from node.intake.consent_auth import ConsentKey
from node.intake.receipt_index import ReceiptIndexKey
from node.storage.database import Database

PIN_DIGITS = 6
_LABEL = b"sms-status-pin"
_PHONE_CONTEXT = b"backup-sms-notice-phone-v1\0"


class BadPin(errors.InvalidInput):
    message = N_("The PIN must be exactly 6 digits, typed the same twice.")


class BadPhone(errors.InvalidInput):
    message = N_("Give the phone number for the notice, digits only (a + in front is fine).")


def normalize_pin(text: str) -> str:
    pin = "".join(text.split())
    if len(pin) != PIN_DIGITS or not pin.isascii() or not pin.isdigit():
        raise BadPin(field="pin")
    return pin


def normalize_phone(text: str) -> str:
    phone = "".join(ch for ch in text if ch not in " -.()")
    digits = phone.removeprefix("+")
    if not 6 <= len(digits) <= 15 or not digits.isascii() or not digits.isdigit():
        raise BadPhone(field="phone")
    return phone


def _tag(index: ReceiptIndexKey, report_id: str, pin: str) -> bytes:
    return index.tag(_LABEL, f"{report_id}\0{pin}".encode())


def _phone_context(report_id: str) -> bytes:
    return _PHONE_CONTEXT + report_id.encode()


@dataclass(frozen=True)
class Choice:
    """What the reporter chose on the receipt page: `phone` only with `notify`."""

    pin: str
    lang: str
    notify: bool
    phone: str | None


def set_pin(db: Database, index: ReceiptIndexKey, report_id: str, key: DataKey,
            choice: Choice, hour: int) -> None:
    """Set or replace the report's PIN (the reporter opened the report with the receipt)."""
    phone_ct = None
    if choice.notify:
        if choice.phone is None:
            raise BadPhone(field="phone")
        phone_ct = key.encrypt(choice.phone.encode(), _phone_context(report_id))
    with db.write() as conn:
        if conn.execute("SELECT 1 FROM reports WHERE id = ?", (report_id,)).fetchone() is None:
            raise errors.ReportGone()
        conn.execute(
            "INSERT OR REPLACE INTO sms_status_pins (report_id, pin_tag, lang, notify,"
            " phone_ct, set_at) VALUES (?, ?, ?, ?, ?, ?)",
            (report_id, _tag(index, report_id, choice.pin), choice.lang,
             int(choice.notify), phone_ct, hour))


def remove_pin(db: Database, report_id: str) -> None:
    with db.write() as conn:
        conn.execute("DELETE FROM sms_status_pins WHERE report_id = ?", (report_id,))


def has_pin(db: Database, report_id: str) -> tuple[bool, bool]:
    """(a PIN is set, notices are on)."""
    row = db.read().execute("SELECT notify FROM sms_status_pins WHERE report_id = ?",
                       (report_id,)).fetchone()
    return (row is not None, bool(row and row["notify"]))


@dataclass(frozen=True)
class Status:
    report_id: str
    status: str
    lang: str
    message_waiting: bool


def status(db: Database, index: ReceiptIndexKey, code_text: str,
           pin_text: str) -> Status | None:
    """The status a receipt number and its PIN open, or None (no such receipt, no PIN set,
    or a wrong PIN: the caller cannot tell which)."""
    try:
        code = receipt.normalize_receipt_code(code_text)
        pin = normalize_pin(pin_text)
    except (FormatError, BadPin):
        return None
    conn = db.read()  # the calling thread's reader
    row = conn.execute(
        "SELECT r.id, r.status, p.pin_tag, p.lang FROM reports AS r"
        " JOIN sms_status_pins AS p ON p.report_id = r.id WHERE r.receipt_index = ?",
        (index.index(code),)).fetchone()
    if row is None or not hmac.compare_digest(row["pin_tag"], _tag(index, row["id"], pin)):
        return None
    waiting = conn.execute(
        "SELECT 1 FROM messages WHERE report_id = ? AND direction = 'to_reporter'"
        " AND read_at IS NULL LIMIT 1", (row["id"],)).fetchone() is not None
    return Status(row["id"], row["status"], row["lang"], waiting)


def notice_number(conn: sqlite3.Connection, consent: ConsentKey, report_id: str,
                  key: DataKey) -> str | None:
    """The number to announce a waiting message to: only when the reporter opted in and
    the report's (authenticated) consent to be contacted stands."""
    row = conn.execute("SELECT notify, phone_ct FROM sms_status_pins WHERE report_id = ?",
                       (report_id,)).fetchone()
    if row is None or not row["notify"] or row["phone_ct"] is None:
        return None
    if not consent.verify(conn, report_id).get("consent_contact"):
        return None
    return key.decrypt(row["phone_ct"], _phone_context(report_id)).decode()


def _erase(conn: sqlite3.Connection, report_id: str) -> None:
    conn.execute("DELETE FROM sms_status_pins WHERE report_id = ?", (report_id,))


DERIVED_STORE = DerivedStore("SMS status PIN and notice number", _erase)
