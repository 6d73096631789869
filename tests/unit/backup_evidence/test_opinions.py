"""The signed-opinion statement and the credential check of the offline verifier (issue
16): a statement round-trips through its one canonical form; any other bytes are refused
with `BadOpinion` and nothing else (Hypothesis); a flipped bit in a statement, a signature
or a credential never verifies; the verifier's credential check agrees with the
federation's own encoding of a credential (`protocol.experts.ExpertCredential`)."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backup_evidence import opinions as op
from crypto.keys import SigningKey
from protocol.encoding import canonical_json
from protocol.experts import CREDENTIAL_DOMAIN, CredentialBody, ExpertCredential

EXPERT = SigningKey(b"\x07" * 32)
OBSERVATORY = SigningKey(b"\x09" * 32)
hex32 = st.binary(min_size=16, max_size=16).map(bytes.hex)
hex64 = st.binary(min_size=32, max_size=32).map(bytes.hex)
statements = st.builds(
    op.Statement, engagement=hex32, subject_sha256=hex64, kind=st.sampled_from(op.KINDS),
    text_sha256=hex64, file_sha256=st.none() | hex64, credential=hex32,
    expert_key=st.just(EXPERT.verify_key.raw().hex()),
    signed_at=st.integers(min_value=0, max_value=2**53 - 1))


def credential(expert: SigningKey = EXPERT) -> ExpertCredential:
    return ExpertCredential.issue(CredentialBody(
        serial=secrets.token_hex(16), issuer="0b" * 16, home_node="0c" * 16,
        expert_key=expert.verify_key.raw().hex(), box_key="0d" * 32,
        specialties=("forensic_medicine", "psychology_psychiatry"), vouch_id="0e" * 16,
        not_before=1_700_000_000, not_after=1_760_000_000), OBSERVATORY)


def flip_bit(data: bytes, bit: int) -> bytes:
    i = bit % (len(data) * 8)
    return data[:i // 8] + bytes([data[i // 8] ^ (1 << (i % 8))]) + data[i // 8 + 1:]


def test_the_domain_is_the_federations() -> None:
    assert op.CREDENTIAL_DOMAIN == CREDENTIAL_DOMAIN


@given(statements)
def test_a_statement_round_trips_and_its_signature_verifies(statement: op.Statement) -> None:
    encoded = statement.encode()
    assert op.parse_statement(encoded) == statement
    assert op.verify_signature(encoded, statement.sign(EXPERT)) == statement


@given(st.binary(max_size=600))
def test_any_bytes_are_a_statement_or_refused_cleanly(data: bytes) -> None:
    try:
        parsed = op.parse_statement(data)
    except op.BadOpinion:
        return
    assert parsed.encode() == data  # only the canonical form is ever read


@given(statements, st.data())
def test_a_changed_statement_is_refused_or_is_another_canonical_one(
        statement: op.Statement, data: st.DataObject) -> None:
    encoded = statement.encode()
    changed = flip_bit(encoded, data.draw(st.integers(min_value=0)))
    try:
        parsed = op.parse_statement(changed)
    except op.BadOpinion:
        return
    assert parsed != statement and parsed.encode() == changed


@given(statements, st.integers(min_value=0))
def test_a_flipped_bit_in_a_statement_or_its_signature_never_verifies(
        statement: op.Statement, bit: int) -> None:
    encoded = statement.encode()
    signature = bytes.fromhex(statement.sign(EXPERT))
    with pytest.raises(op.BadOpinion):
        op.verify_signature(flip_bit(encoded, bit), signature.hex())
    with pytest.raises(op.BadOpinion):
        op.verify_signature(encoded, flip_bit(signature, bit).hex())


def test_only_the_expert_named_signs() -> None:
    statement = op.Statement("0a" * 16, "0b" * 32, "other", "0c" * 32, None, "0d" * 16,
                             EXPERT.verify_key.raw().hex(), 1)
    with pytest.raises(op.BadOpinion):
        statement.sign(OBSERVATORY)


def test_a_credential_verifies_as_the_federation_encodes_it() -> None:
    issued = credential()
    data = canonical_json(issued.to_json_object())
    checked = op.verify_credential(data, OBSERVATORY.verify_key)
    assert checked.serial == issued.body.serial
    assert checked.expert_key == EXPERT.verify_key.raw().hex()
    assert checked.specialties == issued.body.specialties
    with pytest.raises(op.BadOpinion):  # another observatory's key
        op.verify_credential(data, EXPERT.verify_key)


@given(st.integers(min_value=0))
def test_a_flipped_bit_in_a_credential_never_verifies(bit: int) -> None:
    data = canonical_json(credential().to_json_object())
    changed = flip_bit(data, bit)
    try:
        op.verify_credential(changed, OBSERVATORY.verify_key)
    except op.BadOpinion:
        return
    # JSON whitespace is not signed: a flip that only reformats it (none exists in
    # canonical JSON, whose every byte is content) would be the one way through
    raise AssertionError("a changed credential verified")


def test_a_credential_covers_only_its_own_statement_while_valid() -> None:
    issued = credential()
    checked = op.verify_credential(canonical_json(issued.to_json_object()),
                                   OBSERVATORY.verify_key)
    statement = op.Statement("0a" * 16, "0b" * 32, "legal_opinion", "0c" * 32, None,
                             issued.body.serial, EXPERT.verify_key.raw().hex(),
                             1_700_000_100)
    assert checked.covers(statement)
    assert not checked.covers(op.Statement(**{**statement.__dict__,
                                              "signed_at": 1_760_000_000}))
    assert not checked.covers(op.Statement(**{**statement.__dict__, "credential": "ff" * 16}))
