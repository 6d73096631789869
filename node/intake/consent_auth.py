"""Consent authenticated against a database writer (issue 13, item 6).

Consent gates legal export, referral, sharing and statistics, and it is plain data in the
database (invariant 4): the flags of a report (``reports.consent_*``) and their history
(``consent_events``). Someone who can write to ``node.db`` but holds no key could flip a
flag or rewrite a history row and so open a gate the reporter closed. Every report's
consent is therefore bound to the report by an HMAC-SHA256 tag (``reports.consent_mac``)
under a 32-byte key that lives in its own file, ``keys/consent.key`` (0600), never in the
database. It must work unattended -- reporters change their consent with no staff present
-- so it cannot be under a passphrase; like the receipt-index key it is backed up with
the identity seed.

What the tag covers is generic, not a fixed list: every ``consent_*`` column of the
report's row (except the tag itself) and every column of every one of its history rows in
order, with the report id, as canonical JSON (RFC 8785). A consent or scope added later as
a column of either table is covered without a change here, provided that its "not given"
value is NULL, 0 or '' (those are left out of the tagged form, so that tags written before
the column existed stay valid -- a new column must not mean consent by default).

Every gate verifies the tag in the snapshot it reads (`verify`, `verified_granting`); a
mismatch raises `ConsentUnverified`: the gate fails closed and says why. A database
written before the key existed (schema 12 and earlier) is authenticated once when the
node first opens it, flagged by the migration's ``consent_auth_pending`` row. A writer
cannot ask for that again: a pending flag found beside an existing key file, or a missing
check value, refuses to start (`load`).

What it does not protect: whoever holds the key file too (the whole data directory, a
seized running server) can forge tags; and a writer who kept an older copy of the same
report's consent rows and tag can put it back (a rollback to a state the reporter really
had). The threat model (docs/threat-model.md) says so.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import rfc8785

from node import errors
from node.i18n import N_
from runtime.files import write_private_file

KEY_FILE = "consent.key"
KEY_BYTES = 32
MAC_COLUMN = "consent_mac"
_CHECK_LABEL = b"backup-consent-key-check-v1"
_TAG_LABEL = "backup-consent-v1"
_META_CHECK = "consent_key_check"
_META_PENDING = "consent_auth_pending"


class ConsentUnverified(errors.ConsentMissing):
    message = N_("The reporter's consent record for this report has been altered outside "
                 "the application and cannot be trusted. Nothing was done. Tell the node's "
                 "administrator: the database must be checked against its backup.")


class StatisticsConsentUnverified(ConsentUnverified):
    message = N_("The consent records of %(count)s report(s) have been altered outside the "
                 "application and cannot be trusted, so no statistics were computed. Tell the "
                 "node's administrator: the database must be checked against its backup.")


class ConsentKeyError(RuntimeError):
    """The consent key and the database do not go together; the node refuses to start."""


def _tagged_form(report_id: str, current: dict[str, object],
                 history: Iterable[dict[str, object]]) -> bytes:
    def kept(row: dict[str, object]) -> dict[str, int | float | str]:
        out: dict[str, int | float | str] = {}
        for name, value in row.items():
            if value is None or value == 0 or value == "" or value == b"":
                continue  # "not given": see the module's docstring
            if isinstance(value, bytes):
                out[name] = value.hex()
            elif isinstance(value, int | float | str):
                out[name] = value
            else:
                raise TypeError(f"unexpected consent value in {name}")
        return out
    return rfc8785.dumps({"v": _TAG_LABEL, "report": report_id, "current": kept(current),
                          "history": [kept(h) for h in history]})


def consent_columns(conn: sqlite3.Connection) -> list[str]:
    """The report row's consent columns, whatever migrations added."""
    return [r[1] for r in conn.execute("PRAGMA table_info(reports)")
            if r[1].startswith("consent_") and r[1] != MAC_COLUMN]


def _history_columns(conn: sqlite3.Connection) -> list[str]:
    return [r[1] for r in conn.execute("PRAGMA table_info(consent_events)")]


class ConsentKey:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("a consent key has 32 bytes")
        self._key = key

    def check_value(self) -> bytes:
        return hmac.new(self._key, _CHECK_LABEL, hashlib.sha256).digest()

    def _tag(self, form: bytes) -> bytes:
        return hmac.new(self._key, form, hashlib.sha256).digest()

    def _state(self, conn: sqlite3.Connection, report_id: str
               ) -> tuple[dict[str, object], list[dict[str, object]], bytes | None] | None:
        cols = consent_columns(conn)
        row = conn.execute(f"SELECT {', '.join(cols)}, {MAC_COLUMN} FROM reports"  # noqa: S608
                           " WHERE id = ?", (report_id,)).fetchone()
        if row is None:
            return None
        hcols = _history_columns(conn)
        history = [dict(zip(hcols, tuple(h), strict=True)) for h in conn.execute(
            f"SELECT {', '.join(hcols)} FROM consent_events WHERE report_id = ?"  # noqa: S608
            " ORDER BY id", (report_id,))]
        mac = row[len(cols)]
        return (dict(zip(cols, tuple(row)[:len(cols)], strict=True)), history,
                bytes(mac) if mac is not None else None)

    def seal(self, conn: sqlite3.Connection, report_id: str) -> None:
        """Tag the report's consent as it now stands, inside the caller's write
        transaction: call it after every change to its consent or history."""
        state = self._state(conn, report_id)
        if state is None:
            raise errors.ReportGone()
        current, history, _old = state
        conn.execute(f"UPDATE reports SET {MAC_COLUMN} = ? WHERE id = ?",  # noqa: S608
                     (self._tag(_tagged_form(report_id, current, history)), report_id))

    def verify(self, conn: sqlite3.Connection, report_id: str) -> dict[str, object]:
        """The report's current consent columns, once its tag verifies; `ReportGone` or
        `ConsentUnverified`. Read in one snapshot (the caller's transaction if any)."""
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN")
        try:
            state = self._state(conn, report_id)
        finally:
            if own:
                conn.execute("COMMIT")
        if state is None:
            raise errors.ReportGone()
        current, history, mac = state
        expected = self._tag(_tagged_form(report_id, current, history))
        if mac is None or not hmac.compare_digest(expected, mac):
            raise ConsentUnverified()
        return current

    def unverified_reports(self, conn: sqlite3.Connection, report_ids: Iterable[str]
                           ) -> list[str]:
        """Which of `report_ids` have a consent tag that does not verify (or no row), in
        two scans of the caller's snapshot (a statistics run checks every report)."""
        wanted = set(report_ids)
        cols, hcols = consent_columns(conn), _history_columns(conn)
        cursor = conn.cursor()
        cursor.row_factory = None
        current: dict[str, tuple[dict[str, object], bytes | None]] = {}
        for row in cursor.execute(f"SELECT id, {', '.join(cols)}, {MAC_COLUMN}"  # noqa: S608
                                  " FROM reports"):
            if row[0] in wanted:
                current[row[0]] = (dict(zip(cols, row[1:-1], strict=True)), row[-1])
        history: dict[str, list[dict[str, object]]] = {rid: [] for rid in current}
        at = hcols.index("report_id")
        for h in cursor.execute(f"SELECT {', '.join(hcols)} FROM consent_events"  # noqa: S608
                                " ORDER BY report_id, id"):
            if h[at] in history:
                history[h[at]].append(dict(zip(hcols, h, strict=True)))
        bad = sorted(wanted - set(current))
        for report_id, (cur, mac) in current.items():
            expected = self._tag(_tagged_form(report_id, cur, history[report_id]))
            if mac is None or not hmac.compare_digest(expected, bytes(mac)):
                bad.append(report_id)
        return bad

    def authenticate_all(self, conn: sqlite3.Connection) -> int:
        ids = [r[0] for r in conn.execute("SELECT id FROM reports")]
        for report_id in ids:
            self.seal(conn, report_id)
        return len(ids)


def key_path(keys_dir: Path) -> Path:
    return keys_dir / KEY_FILE


def load(keys_dir: Path, conn: sqlite3.Connection) -> ConsentKey:
    """The node's consent key, inside the caller's write transaction. On a database the
    migration flagged (`_META_PENDING`), the key is created -- written as ``.new`` and
    renamed into place only after the caller commits (`finish`) -- and every report's
    consent is authenticated once. A flag beside an existing key file, a missing check
    value or a different key refuses to start: only an upgrade may authenticate consent
    wholesale, and a database writer must not be able to ask for one."""
    path = key_path(keys_dir)
    fresh = path.with_name(KEY_FILE + ".new")
    pending = conn.execute("SELECT 1 FROM node_meta WHERE key = ?", (_META_PENDING,)).fetchone()
    check = conn.execute("SELECT value FROM node_meta WHERE key = ?", (_META_CHECK,)).fetchone()
    if pending is not None:
        if path.exists() or check is not None:
            raise ConsentKeyError(
                "the database asks for its consent records to be authenticated again, but "
                f"{KEY_FILE} already exists: the database was altered or replaced; restore it "
                "from the node's backup")
        # a crash between writing the key and committing left `fresh`: reuse it
        key = ConsentKey(fresh.read_bytes()) if fresh.exists() else _create(fresh)
        key.authenticate_all(conn)
        conn.execute("INSERT INTO node_meta (key, value) VALUES (?, ?)",
                     (_META_CHECK, key.check_value()))
        conn.execute("DELETE FROM node_meta WHERE key = ?", (_META_PENDING,))
        return key
    if fresh.exists() and not path.exists() and check is not None:
        finish(keys_dir)  # committed, not yet renamed
    if check is None or not path.exists():
        raise ConsentKeyError(f"{KEY_FILE} or its check value is missing: without it no "
                              "consent can be verified; restore it from the node's backup")
    key = ConsentKey(path.read_bytes())
    if not hmac.compare_digest(key.check_value(), bytes(check[0])):
        raise ConsentKeyError(f"{KEY_FILE} does not match this node's database")
    return key


def finish(keys_dir: Path) -> None:
    """Once the transaction of `load` committed: put a newly created key in place."""
    path = key_path(keys_dir)
    fresh = path.with_name(KEY_FILE + ".new")
    if fresh.exists():
        os.replace(fresh, path)
        fd = os.open(keys_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _create(path: Path) -> ConsentKey:
    key = secrets.token_bytes(KEY_BYTES)
    write_private_file(path, key)
    return ConsentKey(key)
