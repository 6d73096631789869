"""The status-only PIN for SMS (issue 19): what the node keeps, and what it answers.

The full receipt secret is never sent by SMS: a sent SMS stays in the phone's Sent folder,
and receipt and secret together open the report, change consent or delete it. A reporter
who wants to check by SMS sets a PIN (on the receipt page, or by USSD, with the receipt and
secret) that opens only the status. The node keeps a keyed hash of it (under the receipt
index key, which lives in its own file, not in the database) and the language the
reporter used.

A notice of a waiting message is separate from the PIN: the reporter opts in on the
receipt page (giving a number) or from the USSD "check my report" menu (the number they
dial from), and opts out the same ways. The opt-in is consent data -- ``sms_notice`` in the
report's consent and its history, authenticated like every consent (`consent_auth`) -- and
the number is kept encrypted under the report's own data key, which only the reporter's
receipt and staff who may open the case hold. A notice is therefore prepared when a staff
member sends a message (they opened the key), and only while the report's authenticated
consent says yes to both being contacted and SMS notices.

One row a report, erased with it by the one deletion path (`DERIVED_STORE`).
"""

from __future__ import annotations

import hmac
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crypto import receipt
from crypto.errors import FormatError
from crypto.keys import DataKey
from node import errors
from node.backoffice.deletion import DerivedStore
from node.i18n import N_
from node.intake.consent_auth import ConsentKey, ConsentUnverified
from node.intake.receipt_index import ReceiptIndexKey
from node.storage.database import Database

if TYPE_CHECKING:
    from node.intake.service import IntakeService

PIN_DIGITS = 6
_LABEL = b"sms-status-pin"
_PHONE_CONTEXT = b"backup-sms-notice-phone-v1\0"
PENDING = "sms_notice_consent_pending"  # migration 31: opt-ins made before it was consent


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
    """What the reporter chose on the receipt page: `phone` only with `notify`; `notify`
    None (the USSD PIN screens) leaves the notice as it is."""

    pin: str
    lang: str
    notify: bool | None
    phone: str | None


def set_pin(db: Database, index: ReceiptIndexKey, intake: IntakeService, report_id: str,
            key: DataKey, choice: Choice, hour: int, source: str = "reporter") -> None:
    """Set or replace the report's PIN (the reporter opened the report with the receipt),
    and the notice as chosen with it."""
    if choice.notify and choice.phone is None:
        raise BadPhone(field="phone")
    tag = _tag(index, report_id, choice.pin)
    with db.write() as conn:
        if conn.execute("SELECT 1 FROM reports WHERE id = ?", (report_id,)).fetchone() is None:
            raise errors.ReportGone()
        conn.execute(
            "INSERT INTO sms_status_pins (report_id, pin_tag, lang, notify, phone_ct, set_at)"
            " VALUES (?, ?, ?, 0, NULL, ?) ON CONFLICT (report_id) DO UPDATE SET"
            " pin_tag = excluded.pin_tag, lang = excluded.lang, set_at = excluded.set_at",
            (report_id, tag, choice.lang, hour))
        if choice.notify is not None:
            _set_notice(conn, intake, report_id, key, choice.lang,
                        choice.phone if choice.notify else None, hour, source)


def set_notice(db: Database, intake: IntakeService, report_id: str, key: DataKey,
               lang: str, phone: str | None, hour: int, source: str) -> None:
    """Opt in to notices to `phone`, or out (None), with or without a PIN; the consent
    history records the change (`source`: "reporter", "ussd")."""
    with db.write() as conn:
        if conn.execute("SELECT 1 FROM reports WHERE id = ?", (report_id,)).fetchone() is None:
            raise errors.ReportGone()
        _set_notice(conn, intake, report_id, key, lang, phone, hour, source)


def _set_notice(conn: sqlite3.Connection, intake: IntakeService, report_id: str,
                key: DataKey, lang: str, phone: str | None, hour: int, source: str) -> None:
    phone_ct = (key.encrypt(phone.encode(), _phone_context(report_id))
                if phone is not None else None)
    conn.execute(
        "INSERT INTO sms_status_pins (report_id, pin_tag, lang, notify, phone_ct, set_at)"
        " VALUES (?, NULL, ?, ?, ?, ?) ON CONFLICT (report_id) DO UPDATE SET"
        " notify = excluded.notify, phone_ct = excluded.phone_ct, lang = excluded.lang",
        (report_id, lang, int(phone is not None), phone_ct, hour))
    # a row with neither a PIN nor a notice is nothing
    conn.execute("DELETE FROM sms_status_pins WHERE report_id = ? AND pin_tag IS NULL"
                 " AND notify = 0", (report_id,))
    intake.change_notice_consent(conn, report_id, phone is not None, hour, source)


def remove_pin(db: Database, intake: IntakeService, report_id: str, hour: int) -> None:
    """The receipt page's "remove": status by SMS and notices, both off."""
    with db.write() as conn:
        conn.execute("DELETE FROM sms_status_pins WHERE report_id = ?", (report_id,))
        if conn.execute("SELECT 1 FROM reports WHERE id = ?", (report_id,)).fetchone():
            intake.change_notice_consent(conn, report_id, False, hour, "reporter")


def has_pin(db: Database, report_id: str) -> tuple[bool, bool]:
    """(a PIN is set, notices are on)."""
    row = db.read().execute("SELECT pin_tag, notify FROM sms_status_pins WHERE report_id = ?",
                            (report_id,)).fetchone()
    return (row is not None and row["pin_tag"] is not None, bool(row and row["notify"]))


def record_pending_consents(db: Database, intake: IntakeService, hour: int) -> int:
    """Once, after migration 31: the notices reporters turned on before the opt-in was
    consent data join their consent history (source "sms_notice"); a report whose consent
    does not verify gets no notice. Returns how many were recorded."""
    done = 0
    with db.write() as conn:
        if conn.execute("SELECT 1 FROM node_meta WHERE key = ?", (PENDING,)).fetchone() is None:
            return 0
        for row in conn.execute("SELECT report_id FROM sms_status_pins WHERE notify = 1"
                                " AND phone_ct IS NOT NULL").fetchall():
            try:
                done += intake.change_notice_consent(conn, row[0], True, hour, "sms_notice")
            except ConsentUnverified:
                continue
        conn.execute("DELETE FROM node_meta WHERE key = ?", (PENDING,))
    return done


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
        " JOIN sms_status_pins AS p ON p.report_id = r.id WHERE r.receipt_index = ?"
        " AND p.pin_tag IS NOT NULL",
        (index.index(code),)).fetchone()
    if row is None or not hmac.compare_digest(row["pin_tag"], _tag(index, row["id"], pin)):
        return None
    waiting = conn.execute(
        "SELECT 1 FROM messages WHERE report_id = ? AND direction = 'to_reporter'"
        " AND read_at IS NULL LIMIT 1", (row["id"],)).fetchone() is not None
    return Status(row["id"], row["status"], row["lang"], waiting)


def notice_number(conn: sqlite3.Connection, consent: ConsentKey, report_id: str,
                  key: DataKey) -> str | None:
    """The number to announce a waiting message to: only while the report's
    (authenticated) consent says yes to being contacted and to SMS notices."""
    row = conn.execute("SELECT notify, phone_ct FROM sms_status_pins WHERE report_id = ?",
                       (report_id,)).fetchone()
    if row is None or not row["notify"] or row["phone_ct"] is None:
        return None
    granted = consent.verify(conn, report_id)
    if granted.get("consent_contact") != 1 or granted.get("consent_sms_notice") != 1:
        return None
    return key.decrypt(row["phone_ct"], _phone_context(report_id)).decode()


def _erase(conn: sqlite3.Connection, report_id: str) -> None:
    conn.execute("DELETE FROM sms_status_pins WHERE report_id = ?", (report_id,))


DERIVED_STORE = DerivedStore("SMS status PIN and notice number", _erase)
