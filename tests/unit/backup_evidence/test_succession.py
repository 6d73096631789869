"""Successor statements of an evidence log (issue 21, `backup_evidence.succession`) and the
witness's decision on one (`protocol.witnessing.succession`): a flipped bit anywhere in a
signed statement is refused, the parser refuses any other bytes with its own error, a chain
is followed only from the node's first origin, and a witness records a statement only if it
names at least the tree it cosigned."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backup_evidence.succession import (
    SuccessionError,
    SuccessorStatement,
    first_origin,
    follow,
    next_origin,
    open_statement,
    origin_parts,
)
from crypto.keys import SigningKey
from protocol.witnessing import RefuseSuccession, Succeed, Witnessed, succession

NODE = secrets.token_hex(16)
KEY = SigningKey.generate()
ROOT = bytes(range(32))


def _statement(size: int = 7, root: bytes = ROOT,
               origin: str | None = None) -> SuccessorStatement:
    old = origin or first_origin(NODE)
    return SuccessorStatement(old, size, root, next_origin(old))


def test_origins_follow_one_another() -> None:
    first = first_origin(NODE)
    assert first == f"backup.node/{NODE}/evidence"
    assert next_origin(first) == f"{first}/2" and next_origin(f"{first}/2") == f"{first}/3"
    assert origin_parts(f"{first}/2") == (NODE, 2)
    for bad in (f"{first}/1", f"{first}/0", f"{first}/02", "backup.node//evidence",
                f"{first}/x", f"backup.node/{NODE}/other", ""):
        with pytest.raises(SuccessionError):
            origin_parts(bad)
    with pytest.raises(SuccessionError):  # a statement cannot skip an origin
        SuccessorStatement(first, 1, ROOT, f"{first}/3")


def test_a_signed_statement_opens_with_the_log_key_only() -> None:
    statement = _statement()
    note = statement.sign(KEY)
    assert open_statement(note, KEY.verify_key) == statement
    with pytest.raises(SuccessionError):
        open_statement(note, SigningKey.generate().verify_key)


def test_every_flipped_bit_of_a_signed_statement_is_refused() -> None:
    note = _statement().sign(KEY).encode("utf-8")
    for i in range(len(note)):
        for bit in range(8):
            flipped = bytearray(note)
            flipped[i] ^= 1 << bit
            try:
                text = bytes(flipped).decode("utf-8")
            except UnicodeDecodeError:
                continue  # not text: cannot even be carried
            with pytest.raises(SuccessionError):
                open_statement(text, KEY.verify_key)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_the_parser_refuses_any_text_with_its_own_error(text: str) -> None:
    with pytest.raises(SuccessionError):
        open_statement(text, KEY.verify_key)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**63 - 1), st.binary(min_size=32, max_size=32))
def test_any_statement_round_trips(size: int, root: bytes) -> None:
    statement = _statement(size, root)
    assert SuccessorStatement.parse_text(statement.text()) == statement
    assert open_statement(statement.sign(KEY), KEY.verify_key) == statement


def test_a_chain_is_followed_from_the_first_origin() -> None:
    one = _statement()
    two = _statement(origin=one.new_origin)
    notes = [one.sign(KEY), two.sign(KEY)]
    assert follow([], KEY.verify_key, NODE) == first_origin(NODE)
    assert follow(notes, KEY.verify_key, NODE) == two.new_origin
    with pytest.raises(SuccessionError):  # out of order
        follow(notes[::-1], KEY.verify_key, NODE)
    with pytest.raises(SuccessionError):  # another node's chain
        follow(notes, KEY.verify_key, secrets.token_hex(16))


def _decide(note: str, last: Witnessed | None,
            current: str | None = None) -> Succeed | RefuseSuccession:
    return succession(note, node_id=NODE, log_key=KEY.verify_key,
                      current_origin=current or first_origin(NODE), last=last)


def test_a_witness_records_a_statement_that_names_at_least_what_it_cosigned() -> None:
    cosigned = Witnessed(7, ROOT, "note")
    assert isinstance(_decide(_statement(7).sign(KEY), cosigned), Succeed)
    assert isinstance(_decide(_statement(9, bytes(32)).sign(KEY), cosigned), Succeed)
    assert isinstance(_decide(_statement(0, bytes(32)).sign(KEY), None), Succeed)
    refused = {
        "smaller_tree": _decide(_statement(6).sign(KEY), cosigned),
        "inconsistent": _decide(_statement(7, bytes(32)).sign(KEY), cosigned),
        "bad_statement": _decide(_statement(7).sign(SigningKey.generate()), cosigned),
        "unknown_log": _decide(_statement(7).sign(KEY), cosigned,
                               current=next_origin(first_origin(NODE))),
    }
    for reason, result in refused.items():
        assert isinstance(result, RefuseSuccession) and result.reason == reason, reason
    other = SuccessorStatement(first_origin("othernode"), 7, ROOT,
                               next_origin(first_origin("othernode")))
    result = _decide(other.sign(KEY), cosigned)
    assert isinstance(result, RefuseSuccession) and result.reason == "unknown_log"


def test_a_statement_opens_with_the_keys_that_check_the_old_logs_checkpoints() -> None:
    """Role keys (issue 13): the node signs its statement with its checkpoint role key, and
    one from before role keys with its identity key; either opens it when both are given,
    a chain may mix them, and a key outside the pair opens nothing."""
    role = SigningKey.generate()
    one = _statement()
    two = _statement(origin=one.new_origin)
    both = [role.verify_key, KEY.verify_key]
    assert open_statement(one.sign(role), both) == one
    assert open_statement(one.sign(KEY), both) == one
    assert follow([one.sign(KEY), two.sign(role)], both, NODE) == two.new_origin
    with pytest.raises(SuccessionError):
        open_statement(one.sign(role), KEY.verify_key)
    with pytest.raises(SuccessionError):
        open_statement(one.sign(SigningKey.generate()), both)
    with pytest.raises(SuccessionError):
        open_statement(one.sign(role), [])


def test_a_witness_checks_a_statement_with_the_role_key_it_was_shown() -> None:
    """The witness checks the statement with the checkpoint role key of the role statement
    the envelope carried, or the member's identity key; nothing else."""
    role = SigningKey.generate()
    cosigned = Witnessed(7, ROOT, "note")

    def decide(signer: SigningKey, role_key: SigningKey | None) -> Succeed | RefuseSuccession:
        return succession(_statement(7).sign(signer), node_id=NODE, log_key=KEY.verify_key,
                          current_origin=first_origin(NODE), last=cosigned,
                          role_key=None if role_key is None else role_key.verify_key)

    assert isinstance(decide(role, role), Succeed)
    assert isinstance(decide(KEY, role), Succeed)  # generation 0: the identity key
    assert isinstance(decide(KEY, None), Succeed)
    for signer, shown in ((role, None), (role, SigningKey.generate()),
                          (SigningKey.generate(), role)):
        result = decide(signer, shown)
        assert isinstance(result, RefuseSuccession) and result.reason == "bad_statement"
