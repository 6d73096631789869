"""E-mail to an expert when a need or a thread message for them arrives (issue 16), if they
asked for it and the node has an SMTP relay (`[expert_app.mail]`).

The message says nothing: a neutral subject chosen by the organisation, and a body that
only asks them to open the app. No specialty, place, organisation or link travels by
e-mail, which crosses servers nobody here controls. The address is the expert's choice in
the app; it is kept encrypted with a key derived from the node's identity key (the node
must read it unattended), so the database alone does not reveal it. One e-mail per expert
per batch of new needs and messages; a relay that fails is tried again at the next round.
"""

from __future__ import annotations

import re
import smtplib
import sqlite3
from email.message import EmailMessage

from crypto.keys import DataKey
from node import errors
from node.accounts import UnlockedStaff, append_audit
from node.backoffice.audit import AuditLog
from node.config import ExpertMail
from node.experts.profiles import require_expert
from node.i18n import N_
from node.keyring import NodeKeys
from node.storage.database import Database

_ADDRESS = re.compile(r"^[^@\s\"<>(),;:\\]{1,64}@[A-Za-z0-9.-]{1,251}\.[A-Za-z]{2,63}$")
_KEY_LABEL = b"backup-expert-mail/1"
BODY = ("Something is waiting for you in the app. Open it to see it.\n\n"
        "Quelque chose vous attend dans l'application. Ouvrez-la pour le voir.\n")


class BadAddress(errors.InvalidInput):
    message = N_("This is not an e-mail address. Leave it empty to receive no e-mail.")


def _key(keys: NodeKeys) -> DataKey:
    return DataKey(keys.identity.derive(_KEY_LABEL).seed())


def _context(staff_id: str) -> bytes:
    return b"expert-mail:" + staff_id.encode()


def set_address(db: Database, audit: AuditLog, expert: UnlockedStaff, address: str, *,
                keys: NodeKeys, now: int) -> None:
    """The expert's address for notifications, or none ("")."""
    require_expert(expert)
    address = address.strip()
    if address and not _ADDRESS.fullmatch(address):
        raise BadAddress(field="email")
    sealed = _key(keys).encrypt(address.encode(), _context(expert.member.id)) if address \
        else None
    with db.write() as conn:
        conn.execute("UPDATE expert_profiles SET notify_email = ? WHERE staff_id = ?",
                     (sealed, expert.member.id))
        append_audit(conn, audit, now, expert.member.id, "expert.mail",
                     expert.member.id, "on" if address else "off")


def address(conn: sqlite3.Connection, staff_id: str, keys: NodeKeys) -> str | None:
    row = conn.execute("SELECT notify_email FROM expert_profiles WHERE staff_id = ?",
                       (staff_id,)).fetchone()
    if row is None or row[0] is None:
        return None
    return _key(keys).decrypt(bytes(row[0]), _context(staff_id)).decode()


def send_due(db: Database, keys: NodeKeys, mail: ExpertMail, now: int) -> int:
    """E-mail each expert who has new needs, or new thread messages, not yet notified; how
    many e-mails went. Blocking (SMTP); an expert whose e-mail fails is tried again next
    time."""
    conn = db.read()
    due = [str(r[0]) for r in conn.execute(
        "SELECT r.staff_id FROM expert_needs_received r JOIN expert_profiles p "
        "ON p.staff_id = r.staff_id WHERE r.notified = 0 AND r.answer IS NULL "
        "AND r.deadline > ? AND p.notify_email IS NOT NULL UNION "
        "SELECT t.staff_id FROM expert_thread_messages m JOIN expert_threads t "
        "ON t.thread_id = m.thread_id AND t.local_key = m.reader_key JOIN expert_profiles p "
        "ON p.staff_id = t.staff_id WHERE m.notified = 0 AND m.read_at IS NULL "
        "AND p.notify_email IS NOT NULL", (now,))]
    sent = 0
    for staff_id in due:
        to = address(conn, staff_id, keys)
        if to is None:
            continue
        message = EmailMessage()
        message["From"] = mail.from_address
        message["To"] = to
        message["Subject"] = mail.subject
        message.set_content(BODY)
        try:
            with smtplib.SMTP(mail.relay_host, mail.relay_port, timeout=20) as smtp:
                if mail.starttls:
                    smtp.starttls()
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException):
            continue
        with db.write() as w:
            w.execute("UPDATE expert_needs_received SET notified = 1 WHERE staff_id = ? "
                      "AND notified = 0", (staff_id,))
            w.execute("UPDATE expert_thread_messages SET notified = 1 WHERE notified = 0 "
                      "AND EXISTS (SELECT 1 FROM expert_threads t WHERE t.thread_id = "
                      "expert_thread_messages.thread_id AND t.local_key = "
                      "expert_thread_messages.reader_key AND t.staff_id = ?)", (staff_id,))
        sent += 1
    return sent
