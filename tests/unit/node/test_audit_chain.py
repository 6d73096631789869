"""The chain of custody detects a row edited, deleted, reordered or cut off by hand."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.keys import SigningKey
from node.backoffice import audit
from node.storage import migrations

KEY = SigningKey.generate()


def fresh(n: int) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = sqlite3.Row
    migrations.apply(conn)
    log = audit.AuditLog(KEY)
    for i in range(n):
        log.append(conn, at=1_700_000_000 + i, actor=f"staff{i % 3}", action="case.view",
                   object_type="report", object_id=f"r{i % 5}", detail=f"d{i}")
    return conn


def test_chain_verifies_after_normal_use() -> None:
    conn = fresh(50)
    verdict = audit.verify(conn, KEY.verify_key)
    assert verdict.ok and verdict.entries == 50
    assert [e.seq for e in audit.entries(conn, "r1")] == list(range(2, 51, 5))


def test_empty_chain_verifies() -> None:
    assert audit.verify(fresh(0), KEY.verify_key).ok


@pytest.mark.parametrize("column", ["at", "actor", "action", "object_type", "object_id",
                                    "detail"])
def test_edited_row_is_detected(column: str) -> None:
    conn = fresh(20)
    value = 1 if column == "at" else "edited"
    conn.execute(f"UPDATE audit_log SET {column} = ? WHERE seq = 7", (value,))
    verdict = audit.verify(conn, KEY.verify_key)
    assert not verdict.ok and verdict.first_broken == 7


def test_edited_hashes_are_detected() -> None:
    conn = fresh(20)
    conn.execute("UPDATE audit_log SET hash = zeroblob(32) WHERE seq = 4")
    assert audit.verify(conn, KEY.verify_key).first_broken in (4, 5)


def test_deleted_row_is_detected() -> None:
    conn = fresh(20)
    conn.execute("DELETE FROM audit_log WHERE seq = 9")
    verdict = audit.verify(conn, KEY.verify_key)
    assert not verdict.ok and verdict.first_broken == 9 and "missing" in verdict.reason


def test_reordered_rows_are_detected() -> None:
    conn = fresh(20)
    rows = {r["seq"]: dict(r) for r in conn.execute("SELECT * FROM audit_log WHERE seq IN (5, 6)")}
    for seq, other in ((5, 6), (6, 5)):
        r = rows[other]
        conn.execute("UPDATE audit_log SET at=?, actor=?, action=?, object_type=?, object_id=?,"
                     " detail=?, prev_hash=?, hash=? WHERE seq=?",
                     (r["at"], r["actor"], r["action"], r["object_type"], r["object_id"],
                      r["detail"], r["prev_hash"], r["hash"], seq))
    verdict = audit.verify(conn, KEY.verify_key)
    assert not verdict.ok and verdict.first_broken == 5


def test_truncated_tail_is_detected_by_the_signed_head() -> None:
    conn = fresh(20)
    conn.execute("DELETE FROM audit_log WHERE seq > 17")
    verdict = audit.verify(conn, KEY.verify_key)
    assert not verdict.ok and "removed from the end" in verdict.reason


def test_forged_head_is_detected() -> None:
    conn = fresh(5)
    value = bytearray(conn.execute("SELECT value FROM node_meta WHERE key='audit_head'")
                      .fetchone()[0])
    value[-1] ^= 1
    conn.execute("UPDATE node_meta SET value = ? WHERE key = 'audit_head'", (bytes(value),))
    assert "signature" in audit.verify(conn, KEY.verify_key).reason
    assert not audit.verify(fresh(5), SigningKey.generate().verify_key).ok


@settings(max_examples=40, deadline=None)
@given(seq=st.integers(1, 30), bit=st.integers(0, 255))
def test_any_flipped_bit_in_a_hash_breaks_the_chain(seq: int, bit: int) -> None:
    conn = fresh(30)
    h = bytearray(conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (seq,)).fetchone()[0])
    h[bit // 8] ^= 1 << (bit % 8)
    conn.execute("UPDATE audit_log SET hash = ? WHERE seq = ?", (bytes(h), seq))
    assert not audit.verify(conn, KEY.verify_key).ok
