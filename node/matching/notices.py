"""What the node sends to the observatory, and what it is told back (issue 18).

`next_submission` gathers, for one key epoch, the case references to withdraw and the tokens
not yet submitted, as one `TokenSubmission` (withdrawals first: the observatory applies them
before it adds); `submitted` marks them once the observatory acknowledged. Nothing in it is
more than a random case reference, a token kind and an OPRF output.

`record_notice` keeps a `MatchNotice` on the case it concerns (found by its reference; a
notice for a reference the node no longer holds -- the report was deleted -- is dropped):
"one of your cases matched a case at N other organisation(s)". Coordinators see it on the
case's perpetrator page and can dismiss it as a false match (`dismiss`); a dismissed match
is not shown again, even if the observatory later counts more organisations.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass

from node.accounts import UnlockedStaff
from node.backoffice.access import Action, require
from protocol.matching import MAX_BATCH, MatchNotice, Token, TokenSubmission


@dataclass(frozen=True)
class Outgoing:
    submission: TokenSubmission
    tokens: list[tuple[str, int, str, bytes]]  # (identifier_id, epoch, kind, token)


def next_submission(conn: sqlite3.Connection, epoch: int) -> Outgoing | None:
    """The next batch for `epoch`, or None when there is nothing to send."""
    withdrawn = [r[0] for r in conn.execute(
        "SELECT case_ref FROM matching_withdrawals ORDER BY case_ref LIMIT ?", (MAX_BATCH,))]
    rows = conn.execute(
        "SELECT identifier_id, epoch, kind, token, case_ref FROM matching_tokens"
        " WHERE submitted_at IS NULL AND epoch = ? AND report_id IN (SELECT id FROM reports"
        " WHERE consent_matching = 1) ORDER BY case_ref, kind, token LIMIT ?",
        (epoch, MAX_BATCH)).fetchall()
    if not withdrawn and not rows:
        return None
    submission = TokenSubmission(
        batch_id=secrets.token_hex(16), epoch=epoch, withdrawn=tuple(withdrawn),
        tokens=tuple(Token(case_ref=r[4], kind=r[2], token=bytes(r[3]).hex()) for r in rows))
    return Outgoing(submission, [(r[0], r[1], r[2], bytes(r[3])) for r in rows])


def submitted(conn: sqlite3.Connection, outgoing: Outgoing, now: int) -> None:
    """The observatory acknowledged `outgoing`."""
    conn.executemany("DELETE FROM matching_withdrawals WHERE case_ref = ?",
                     [(ref,) for ref in outgoing.submission.withdrawn])
    conn.executemany("UPDATE matching_tokens SET submitted_at = ? WHERE identifier_id = ?"
                     " AND epoch = ? AND kind = ? AND token = ?",
                     [(now, *t) for t in outgoing.tokens])


def submitted_message(conn: sqlite3.Connection, submission: TokenSubmission, now: int) -> None:
    """The observatory acknowledged `submission` (as the outbox carried it: the tokens are
    found by what was sent, which survives a restart of the node)."""
    conn.executemany("DELETE FROM matching_withdrawals WHERE case_ref = ?",
                     [(ref,) for ref in submission.withdrawn])
    conn.executemany("UPDATE matching_tokens SET submitted_at = ? WHERE case_ref = ? AND"
                     " epoch = ? AND kind = ? AND token = ? AND submitted_at IS NULL",
                     [(now, t.case_ref, submission.epoch, t.kind, bytes.fromhex(t.token))
                      for t in submission.tokens])


def record_notice(conn: sqlite3.Connection, notice: MatchNotice, now: int) -> bool:
    """Keep a notice on its case; False when the node no longer holds that reference."""
    row = conn.execute("SELECT report_id FROM matching_tokens WHERE case_ref = ? LIMIT 1",
                       (notice.case_ref,)).fetchone()
    if row is None:
        return False
    conn.execute(
        "INSERT INTO matching_matches (case_ref, report_id, others, epoch, notified_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (case_ref) DO UPDATE SET"
        " others = MAX(others, excluded.others), notified_at = excluded.notified_at",
        (notice.case_ref, row[0], notice.other_organisations, notice.epoch, now))
    return True


@dataclass(frozen=True)
class Match:
    case_ref: str
    others: int
    notified_at: int


def matches(conn: sqlite3.Connection, report_id: str) -> list[Match]:
    """The case's matches not dismissed (what a coordinator sees on the case)."""
    return [Match(r[0], r[1], r[2]) for r in conn.execute(
        "SELECT case_ref, others, notified_at FROM matching_matches WHERE report_id = ?"
        " AND dismissed_at IS NULL ORDER BY notified_at", (report_id,))]


def dismiss(conn: sqlite3.Connection, staff: UnlockedStaff, report_id: str, case_ref: str,
            now: int) -> bool:
    """A coordinator marks a match as false; it is not shown again."""
    require(staff.member, Action.DISMISS_MATCH)
    return conn.execute(
        "UPDATE matching_matches SET dismissed_at = ?, dismissed_by = ? WHERE case_ref = ?"
        " AND report_id = ? AND dismissed_at IS NULL",
        (now, staff.member.id, case_ref, report_id)).rowcount == 1
