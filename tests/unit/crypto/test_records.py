"""Record encryption (`crypto.aead` via DataKey), sealed boxes and signatures:
round trips for any input, and every flipped bit refused with the one opaque error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import aead
from crypto.errors import DecryptionError, FormatError, SignatureError
from crypto.keys import BoxSecretKey, DataKey, SigningKey, VerifyKey


def flip(blob: bytes, bit: int) -> bytes:
    i = bit % (len(blob) * 8)
    out = bytearray(blob)
    out[i // 8] ^= 1 << (i % 8)
    return bytes(out)


KEY = DataKey.generate()


@given(plaintext=st.binary(max_size=4096), context=st.binary(max_size=64))
def test_record_round_trip(plaintext: bytes, context: bytes) -> None:
    blob = KEY.encrypt(plaintext, context)
    assert KEY.decrypt(blob, context) == plaintext
    assert len(blob) == len(plaintext) + aead.OVERHEAD


@given(plaintext=st.binary(max_size=512), bit=st.integers(min_value=0))
def test_record_any_flipped_bit_fails(plaintext: bytes, bit: int) -> None:
    blob = KEY.encrypt(plaintext, b"ctx")
    with pytest.raises(DecryptionError):
        KEY.decrypt(flip(blob, bit), b"ctx")


@given(plaintext=st.binary(max_size=256), cut=st.integers(min_value=0, max_value=300))
def test_record_truncated_fails(plaintext: bytes, cut: int) -> None:
    blob = KEY.encrypt(plaintext, b"ctx")
    if cut >= len(blob):
        return
    with pytest.raises(DecryptionError):
        KEY.decrypt(blob[:cut], b"ctx")


def test_record_bound_to_context_and_key() -> None:
    blob = KEY.encrypt(b"testimony", b"report-body:a")
    with pytest.raises(DecryptionError):
        KEY.decrypt(blob, b"report-body:b")
    with pytest.raises(DecryptionError):
        DataKey.generate().decrypt(blob, b"report-body:a")


def test_record_nonces_differ() -> None:
    assert KEY.encrypt(b"same", b"c") != KEY.encrypt(b"same", b"c")


def test_keys_reject_wrong_length() -> None:
    for cls in (DataKey, BoxSecretKey, SigningKey, VerifyKey):
        with pytest.raises(FormatError):
            cls(b"short")


def test_repr_never_shows_secrets() -> None:
    raw = bytes(range(32))
    assert "secret" in repr(DataKey(raw)) and raw.hex()[:8] not in repr(DataKey(raw))
    assert raw.hex()[:8] not in repr(BoxSecretKey(raw))


def test_secret_keys_have_no_public_bytes() -> None:
    """Secret key bytes do not leave `crypto/`: no public accessor hands them out."""
    for key in (KEY, BoxSecretKey.generate()):
        assert not hasattr(key, "raw")


@given(context=st.binary(max_size=64), bit=st.integers(min_value=0))
def test_data_key_under_data_key(context: bytes, bit: int) -> None:
    inner = DataKey.generate()
    blob = KEY.wrap_data_key(inner, context)
    assert KEY.open_data_key(blob, context) == inner
    with pytest.raises(DecryptionError):
        KEY.open_data_key(flip(blob, bit), context)
    with pytest.raises(DecryptionError):
        DataKey.generate().open_data_key(blob, context)
    with pytest.raises(DecryptionError):  # something that is not a key
        KEY.open_data_key(KEY.encrypt(b"short", context), context)


def test_data_key_wrap_layout_is_unchanged() -> None:
    """An incident key wrapped as the node has always stored it (the key's bytes
    encrypted under the report key) opens as a typed key."""
    raw = bytes(range(32))
    stored = aead.encrypt(bytes(range(1, 33)), raw, b"incident-key:i:r")
    assert DataKey(bytes(range(1, 33))).open_data_key(stored, b"incident-key:i:r") == DataKey(raw)


BOX = BoxSecretKey.generate()


@settings(max_examples=50)
@given(secret=st.binary(max_size=256))
def test_sealed_box_round_trip(secret: bytes) -> None:
    assert BOX.open(BOX.public_key.seal(secret)) == secret


@settings(max_examples=50)
@given(bit=st.integers(min_value=0))
def test_sealed_box_flipped_bit_fails(bit: int) -> None:
    sealed = BOX.public_key.seal_data_key(KEY)
    with pytest.raises(DecryptionError):
        BOX.open_data_key(flip(sealed, bit))


def test_sealed_key_types_round_trip() -> None:
    inner = BoxSecretKey.generate()
    assert BOX.open_box_key(BOX.public_key.seal_box_key(inner)) == inner
    assert BOX.open_box_key(BOX.public_key.seal_box_key(inner)) != BOX
    assert BOX.open_data_key(BOX.public_key.seal_data_key(KEY)) == KEY
    with pytest.raises(DecryptionError):
        BoxSecretKey.generate().open_data_key(BOX.public_key.seal_data_key(KEY))
    with pytest.raises(DecryptionError):
        BOX.open_data_key(BOX.public_key.seal(b"not a key"))


def test_seed_derivation_is_deterministic() -> None:
    seed = bytes(range(32))
    assert BoxSecretKey.from_seed(seed) == BoxSecretKey.from_seed(seed)
    assert BoxSecretKey.from_seed(seed).public_key == BoxSecretKey.from_seed(seed).public_key


SIGNER = SigningKey.generate()


@settings(max_examples=50)
@given(message=st.binary(max_size=512), bit=st.integers(min_value=0))
def test_signature_round_trip_and_flipped_bit(message: bytes, bit: int) -> None:
    sig = SIGNER.sign(message)
    SIGNER.verify_key.verify(message, sig)
    with pytest.raises(SignatureError):
        SIGNER.verify_key.verify(message, flip(sig, bit))
    if message:
        with pytest.raises(SignatureError):
            SIGNER.verify_key.verify(flip(message, bit), sig)


def test_signature_by_other_key_fails() -> None:
    with pytest.raises(SignatureError):
        SigningKey.generate().verify_key.verify(b"m", SIGNER.sign(b"m"))
