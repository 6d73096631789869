"""Issue 13: the parsers of what the node reads back from its own database -- the custody
head and the role statement -- refuse anything else with their own errors, never a crash,
and accept only what the right key signed."""

from __future__ import annotations

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import FormatError, SignatureError
from crypto.keys import SigningKey
from node import keyring
from node.backoffice import audit
from node.storage import migrations

IDENTITY = SigningKey.generate()
NODE_ID = "0123456789abcdef0123456789abcdef"


def _conn_with_head(value: bytes) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrations.apply(conn)
    conn.execute("INSERT INTO node_meta (key, value) VALUES ('audit_head', ?)", (value,))
    return conn


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_stored_head_is_parsed_or_refused(value: bytes) -> None:
    conn = _conn_with_head(value)
    try:
        head = audit.stored_head(conn)
    except FormatError:
        assert len(value) not in (104, 136)
        return
    assert head is not None and len(value) in (104, 136)
    # and a head nobody signed never verifies
    assert audit.check_head(conn, IDENTITY.verify_key, IDENTITY.verify_key,
                            (head.seq, head.hash)) != ""


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_any_role_statement_is_refused_unless_signed(value: bytes) -> None:
    try:
        keyring.verify_role_statement(value, NODE_ID, IDENTITY.verify_key)
    except (SignatureError, ValueError, UnicodeDecodeError):
        return
    raise AssertionError("an unsigned role statement was accepted")


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 8 * 300))
def test_a_signed_role_statement_with_any_flipped_bit_is_refused(bit: int) -> None:
    text = keyring.role_statement(NODE_ID, keyring.role_keys(IDENTITY))
    signed = text + IDENTITY.sign(keyring.ROLE_DOMAIN + text)
    assert keyring.verify_role_statement(signed, NODE_ID, IDENTITY.verify_key)
    flipped = bytearray(signed)
    flipped[(bit // 8) % len(flipped)] ^= 1 << (bit % 8)
    try:
        keyring.verify_role_statement(bytes(flipped), NODE_ID, IDENTITY.verify_key)
    except (SignatureError, ValueError, UnicodeDecodeError):
        return
    raise AssertionError(f"bit {bit} flipped and still accepted")
