"""The observatory's side of perpetrator matching (issue 18): it stores finished tokens and
matches them, incrementally; it never holds the OPRF key (`observatory.oprf_evaluator` runs
as another operator's service), so it cannot compute the token of a name it guesses.

What it holds per member: ``(case_ref, epoch, kind, token)`` rows, where `case_ref` is an
opaque reference the member drew at random for one of its cases, and the token is an OPRF
output (64 bytes). No name, unit, group, report id or text ever reaches it
(`protocol.matching`).

The match rule: two cases match when they share a token (same epoch, kind and value) and
come from different members. A case is *matched* when the cases it matches come from at
least ``threshold - 1`` other members (`MatchingConfig.threshold`: distinct member nodes,
the case's own included; 2 by default). Revoked members are left out: their tokens stay
(so that a reinstated member need not resubmit) but match nothing, and they get no notice.

Incremental: a submission looks up only its own new tokens in the index on
``(epoch, kind, token)``; each case touched (the submitter's and the others' cases it
matched) is re-counted from its own few tokens. Nothing is recomputed over the whole store
(bench/bench_matching.py measures 10,000 new tokens against 10,000,000 stored).

Where tokens are kept: the tokens so far in ``matching_tokens_stored``, a submission's new
ones in the small ``matching_tokens_recent`` (``matching_tokens`` is the view of both).
Inserting 1,000 random 64-byte values into the index of ten million rows dirties about one
index page each, and a commit that writes and syncs a thousand scattered pages takes longer
than every lookup of the submission together; into a small index, the same rows dirty a few
dozen pages. `fold` then moves the recent rows into the stored part in the background, by
chunks sorted by token, each its own transaction (the observatory's server runs it when the
recent part passes `FOLD_AFTER` rows). A token is in exactly one part at any time.

A notice says to a member only that one of its cases (by its own reference) matched cases at
N other organisation(s): neither which organisations nor which token. A case is notified
again only when N grows. Notices wait in ``matching_notices`` until delivered: the
observatory never dials a node, so the member fetches them (`MatchNoticeQuery`, on its
federation round) and acknowledges them in its next query.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from protocol.matching import MatchNotice, TokenSubmission


@dataclass(frozen=True)
class MatchingConfig:
    threshold: int = 2  # distinct member nodes, the case's own included

    def __post_init__(self) -> None:
        if self.threshold < 2:
            raise ValueError("a match needs at least two member nodes")


CaseKey = tuple[str, str]  # (member, case_ref)
PARTS = ("matching_tokens_stored", "matching_tokens_recent")  # what `matching_tokens` reads
WITHDRAW = tuple(f"DELETE FROM {part} WHERE member = ? AND case_ref = ?"  # noqa: S608
                 for part in PARTS)
DROP_EPOCH = tuple(f"DELETE FROM {part} WHERE epoch = ?" for part in PARTS)  # noqa: S608
FOLD_AFTER = 20_000  # recent rows past which the server folds them into the stored part
FOLD_CHUNK = 2_000   # rows per fold transaction: the write lock is held about a second


def fold(conn: sqlite3.Connection, limit: int = FOLD_CHUNK) -> int:
    """Move the oldest `limit` recent tokens into the stored part, sorted by token, inside
    the caller's write transaction; returns how many moved."""
    last = conn.execute("SELECT MAX(rowid) FROM (SELECT rowid FROM matching_tokens_recent"
                        " ORDER BY rowid LIMIT ?)", (limit,)).fetchone()[0]
    if last is None:
        return 0
    conn.execute("INSERT INTO matching_tokens_stored (member, case_ref, epoch, kind, token)"
                 " SELECT member, case_ref, epoch, kind, token FROM matching_tokens_recent"
                 " WHERE rowid <= ? ORDER BY token, epoch, kind", (last,))
    return conn.execute("DELETE FROM matching_tokens_recent WHERE rowid <= ?",
                        (last,)).rowcount


def drop_epoch(conn: sqlite3.Connection, epoch: int) -> None:
    """Delete every stored token of `epoch`, in both parts (a retired epoch; a rare admin
    step, so a scan of the stored part is acceptable)."""
    for part in DROP_EPOCH:
        conn.execute(part, (epoch,))


def recent_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM matching_tokens_recent").fetchone()[0])


class TokenMatcher:
    def __init__(self, config: MatchingConfig) -> None:
        self._config = config

    def submit_in(self, conn: sqlite3.Connection, member: str, submission: TokenSubmission,
                  revoked: Iterable[str], now: int) -> list[tuple[str, MatchNotice]]:
        """Withdraw, then add, then match what was added; returns the new notices as
        (member, notice), also kept in ``matching_notices``."""
        excluded = set(revoked)
        for ref in submission.withdrawn:
            for delete in WITHDRAW:
                conn.execute(delete, (member, ref))
        touched: set[CaseKey] = set()
        new: set[tuple[bytes, str, str]] = set()
        # in token order, so that neighbouring lookups share the index pages they read
        for token, kind, case_ref in sorted({(bytes.fromhex(t.token), t.kind, t.case_ref)
                                             for t in submission.tokens}):
            holders = self._holders(conn, submission.epoch, kind, token, set())
            if (member, case_ref) in holders:
                continue  # sent again (a retry, or after a withdrawal of another case)
            new.add((token, kind, case_ref))
            others = [c for c in holders if c[0] != member and c[0] not in excluded]
            if others and member not in excluded:
                touched.add((member, case_ref))
                touched.update(others)
        conn.executemany("INSERT INTO matching_tokens_recent (member, case_ref, epoch, kind,"
                         " token) VALUES (?, ?, ?, ?, ?)",
                         [(member, case_ref, submission.epoch, kind, token)
                          for token, kind, case_ref in sorted(new)])
        return [n for case in sorted(touched)
                if (n := self._notice_if_grown(conn, case, submission.epoch, excluded, now))]

    @staticmethod
    def _holders(conn: sqlite3.Connection, epoch: int, kind: str, token: bytes,
                 excluded: set[str]) -> list[CaseKey]:
        # each part's index (token, epoch, kind) + rowid, then the row: a handful at most
        return [(r[0], r[1]) for r in conn.execute(
            "SELECT member, case_ref FROM matching_tokens WHERE token = ? AND epoch = ?"
            " AND kind = ?", (token, epoch, kind)) if r[0] not in excluded]

    def other_members(self, conn: sqlite3.Connection, case: CaseKey, epoch: int,
                      excluded: set[str]) -> set[str]:
        """The members, other than the case's, holding a case that shares a token with it."""
        member, case_ref = case
        out: set[str] = set()
        for kind, token in conn.execute(
                "SELECT kind, token FROM matching_tokens WHERE member = ? AND case_ref = ?"
                " AND epoch = ?", (member, case_ref, epoch)).fetchall():
            out.update(m for m, _ in self._holders(conn, epoch, kind, token, excluded)
                       if m != member)
        return out

    def _notice_if_grown(self, conn: sqlite3.Connection, case: CaseKey, epoch: int,
                         excluded: set[str], now: int) -> tuple[str, MatchNotice] | None:
        others = len(self.other_members(conn, case, epoch, excluded))
        if others + 1 < self._config.threshold:
            return None
        row = conn.execute("SELECT MAX(others) FROM matching_notices WHERE member = ? AND"
                           " case_ref = ?", case).fetchone()
        if row[0] is not None and row[0] >= others:
            return None
        notice = MatchNotice(notice_id=secrets.token_hex(16), case_ref=case[1],
                             other_organisations=others, epoch=epoch)
        conn.execute("INSERT INTO matching_notices (notice_id, member, case_ref, epoch, others,"
                     " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                     (notice.notice_id, case[0], case[1], epoch, others, now))
        return case[0], notice

    @staticmethod
    def pending_notices(conn: sqlite3.Connection, member: str) -> list[MatchNotice]:
        """The notices not yet delivered to `member`, oldest first."""
        return [MatchNotice(notice_id=r[0], case_ref=r[1], epoch=r[2], other_organisations=r[3])
                for r in conn.execute(
                    "SELECT notice_id, case_ref, epoch, others FROM matching_notices"
                    " WHERE member = ? AND delivered_at IS NULL ORDER BY created_at, notice_id",
                    (member,))]

    @staticmethod
    def acknowledged_in(conn: sqlite3.Connection, member: str, notice_ids: Iterable[str],
                        now: int) -> None:
        """The member recorded these notices (`MatchNoticeQuery.acknowledged`): they are not
        sent again. Only the member's own notices are touched."""
        conn.executemany("UPDATE matching_notices SET delivered_at = ? WHERE notice_id = ?"
                         " AND member = ? AND delivered_at IS NULL",
                         [(now, n, member) for n in notice_ids])

    @staticmethod
    def delivered(conn: sqlite3.Connection, notice_id: str, now: int) -> None:
        conn.execute("UPDATE matching_notices SET delivered_at = ? WHERE notice_id = ?",
                     (now, notice_id))
