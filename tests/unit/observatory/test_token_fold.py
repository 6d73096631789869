"""Matching tokens kept in two parts (issue 18, `observatory.matching`): a submission's new
tokens go to the small recent part and are folded into the stored part in the background;
matching, duplicates and withdrawals behave the same wherever a token is, a token is never
in both parts, and an observatory database from before the split keeps its tokens."""

from __future__ import annotations

import secrets
import sqlite3
from typing import Any

from observatory import matching
from observatory.context import ObservatoryContext
from observatory.matching import MatchingConfig, TokenMatcher
from observatory.server import fold_tokens
from observatory.storage import migrations
from protocol.matching import Token, TokenSubmission

MATCHER = TokenMatcher(MatchingConfig())


def _submit(ctx: ObservatoryContext, member: str, tokens: list[tuple[str, bytes]],
            withdrawn: tuple[str, ...] = ()) -> list[Any]:
    submission = TokenSubmission(
        batch_id=secrets.token_hex(16), epoch=1, withdrawn=withdrawn,
        tokens=tuple(Token(case_ref=ref, kind="name_group", token=value.hex())
                     for ref, value in tokens))
    with ctx.db.write() as conn:
        return MATCHER.submit_in(conn, member, submission, [], 0)


def _parts(ctx: ObservatoryContext) -> tuple[int, int]:
    conn = ctx.db.read()
    return (conn.execute("SELECT COUNT(*) FROM matching_tokens_stored").fetchone()[0],
            conn.execute("SELECT COUNT(*) FROM matching_tokens_recent").fetchone()[0])


def test_tokens_match_before_and_after_the_fold(ctx: ObservatoryContext) -> None:
    shared, later = secrets.token_bytes(64), secrets.token_bytes(64)
    a_case, b_case, c_case = ("0a" * 16), ("0b" * 16), ("0c" * 16)
    noise = [(secrets.token_hex(16), secrets.token_bytes(64)) for _ in range(7)]
    assert _submit(ctx, "m-a", [(a_case, shared), (a_case, later), *noise]) == []
    assert _parts(ctx) == (0, 9)
    # in the recent part: b's case matches a's
    got = _submit(ctx, "m-b", [(b_case, shared)])
    assert sorted((m, n.case_ref, n.other_organisations) for m, n in got) == [
        ("m-a", a_case, 1), ("m-b", b_case, 1)]
    # folded in chunks of 3 while more than 0 wait: everything moves, nothing is in both
    assert fold_tokens(ctx, after=0, chunk=3) == 10
    assert _parts(ctx) == (10, 0)
    stored = ctx.db.read().execute("SELECT member, case_ref, token FROM matching_tokens_stored"
                                   " WHERE member = 'm-a' AND token = ?", (later,)).fetchall()
    assert [tuple(r) for r in stored] == [("m-a", a_case, later)]
    # in the stored part: c matches a (on the second token) and a's count grows
    got = _submit(ctx, "m-c", [(c_case, later)])
    assert sorted((m, n.case_ref, n.other_organisations) for m, n in got) == [
        ("m-a", a_case, 2), ("m-c", c_case, 1)]
    # a token sent again is skipped wherever it is kept
    assert _submit(ctx, "m-a", [(a_case, shared), (a_case, later)]) == []
    assert _submit(ctx, "m-c", [(c_case, later)]) == []
    assert _parts(ctx) == (10, 1)
    # a withdrawal reaches both parts
    _submit(ctx, "m-a", [], withdrawn=(a_case,))
    held = ctx.db.read().execute("SELECT COUNT(*) FROM matching_tokens WHERE member = 'm-a'"
                                 " AND case_ref = ?", (a_case,)).fetchone()[0]
    assert held == 0 and _parts(ctx) == (8, 1)


def test_the_server_folds_only_past_the_threshold(ctx: ObservatoryContext) -> None:
    _submit(ctx, "m-a", [(secrets.token_hex(16), secrets.token_bytes(64)) for _ in range(5)])
    assert fold_tokens(ctx, after=5) == 0 and _parts(ctx) == (0, 5)
    assert fold_tokens(ctx, after=4, chunk=2) == 2 and _parts(ctx) == (2, 3)
    with ctx.db.write() as conn:
        assert matching.fold(conn, 10) == 3 and matching.fold(conn, 10) == 0
    assert matching.recent_count(ctx.db.read()) == 0


def test_tokens_stored_before_the_split_are_kept_and_still_match() -> None:
    split = next(i for i, m in enumerate(migrations.MIGRATIONS)
                 if "matching_tokens_recent" in m)
    conn = sqlite3.connect(":memory:", isolation_level=None)
    for script in migrations.MIGRATIONS[:split]:
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {split}")
    old = secrets.token_bytes(64)
    conn.execute("INSERT INTO matching_tokens (member, case_ref, epoch, kind, token)"
                 " VALUES ('m-a', ?, 1, 'name_group', ?)", ("0a" * 16, old))
    conn.execute("BEGIN")
    migrations.apply(conn)
    conn.execute("COMMIT")
    assert conn.execute("SELECT member, token FROM matching_tokens").fetchall() == [
        ("m-a", old)]
    assert conn.execute("SELECT COUNT(*) FROM matching_tokens_stored").fetchone()[0] == 1
    submission = TokenSubmission(batch_id="01" * 16, epoch=1, withdrawn=(), tokens=(
        Token(case_ref="0b" * 16, kind="name_group", token=old.hex()),))
    conn.execute("BEGIN")
    got = MATCHER.submit_in(conn, "m-b", submission, [], 0)
    conn.execute("COMMIT")
    assert sorted(m for m, _ in got) == ["m-a", "m-b"]
