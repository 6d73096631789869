"""Checkpoints, signed notes and cosignatures: C2SP examples, Go sumdb/note vectors, tampering.

Known answers come from golang.org/x/mod ``sumdb/note/note_test.go`` (the PeterNeumann and
EnochRoot keys and notes), transparency-dev/formats ``note/note_cosigv1_test.go`` (vkeys and
a cosignature's timestamp) and the examples in the C2SP specifications themselves.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.checkpoint import (
    COSIGNATURE_V1,
    ED25519,
    MAX_SIGNATURES,
    Checkpoint,
    CosignatureVerifier,
    Cosigner,
    Ed25519Verifier,
    NoteSignature,
    NoteSigner,
    SignedNote,
    cosignature_time,
    decode_vkey,
    encode_vkey,
    key_id,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)
from crypto.errors import CryptoError, FormatError, SignatureError
from crypto.keys import SigningKey
from crypto.merkle import EMPTY_ROOT

# -- golang.org/x/mod/sumdb/note test vectors ------------------------------------------------

PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
    "KvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01o"
    "OTGwnWLox33WWd1RvMc+QQ=\n"
)


def peter_signer() -> NoteSigner:
    seed = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert seed[0] == ED25519
    return NoteSigner("PeterNeumann", SigningKey(seed[1:]))


def with_abcd(sig_line: str) -> str:
    """Go's test inserts "ABCD" at byte 60 of a signature line (the em dash is 3 bytes)."""
    raw = sig_line.encode()
    return (raw[:60] + b"ABCD" + raw[60:]).decode()


def test_go_signer_key_gives_the_go_verifier_key_and_key_id() -> None:
    signer = peter_signer()
    assert signer.verifier.vkey() == PETER_VKEY
    assert signer.verifier.key_id == 0xC74F20A3
    assert key_id("PeterNeumann", ED25519, signer.verifier.public_key.raw()) == 0xC74F20A3


def test_go_signed_note_is_reproduced_byte_for_byte() -> None:
    note = sign_note(TEXT, peter_signer())
    assert note.encode() == (TEXT + "\n" + PETER_SIG).encode()


def test_go_note_opens_with_one_known_key_and_keeps_the_other_unverified() -> None:
    peter, enoch = decode_vkey(PETER_VKEY), decode_vkey(ENOCH_VKEY)
    data = (TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode()

    opened = open_note(data, [peter])
    assert opened.text == TEXT
    assert [s.name for s in opened.verified] == ["PeterNeumann"]
    assert [(s.name, s.key_id) for s in opened.unverified] == [("EnochRoot", 0xAF0CFE78)]
    assert opened.is_signed_by(peter) and not opened.is_signed_by(enoch)

    opened = open_note(data, [peter, enoch])
    assert [s.name for s in opened.verified] == ["PeterNeumann", "EnochRoot"]
    assert opened.unverified == ()

    with pytest.raises(SignatureError):
        open_note(data, [])


def test_go_note_with_repeated_signatures() -> None:
    data = TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + with_abcd(ENOCH_SIG)
    opened = open_note(data.encode(), [decode_vkey(PETER_VKEY)])
    assert len(opened.verified) == 1
    assert len(opened.unverified) == 2  # Enoch's, and Enoch's with "ABCD" inside


def test_go_note_with_a_broken_signature_by_a_known_key_is_rejected() -> None:
    data = (TEXT + "\n" + with_abcd(PETER_SIG)).encode()
    with pytest.raises(SignatureError):
        open_note(data, [decode_vkey(PETER_VKEY)])
    # ... even next to a valid one (C2SP signed-note: SHOULD reject the whole note).
    data = (TEXT + "\n" + PETER_SIG + with_abcd(ENOCH_SIG)).encode()
    with pytest.raises(SignatureError):
        open_note(data, [decode_vkey(PETER_VKEY), decode_vkey(ENOCH_VKEY)])


@pytest.mark.parametrize(
    "data",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSN",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1),
        TEXT + "\n" + "- PeterNeumann" + PETER_SIG[len("— PeterNeumann") :],  # hyphen, no em dash
        TEXT + "\n" + "— PeterNeumann\n",
        TEXT + "\n" + "— PeterNeumann AAAA\n",  # too short to hold a key ID and a signature
        TEXT + "\r\n" + PETER_SIG,
    ],
)
def test_malformed_notes_are_rejected(data: str) -> None:
    with pytest.raises(FormatError):
        open_note(data.encode(), [decode_vkey(PETER_VKEY)])


def test_note_that_is_not_utf8_is_rejected() -> None:
    with pytest.raises(FormatError):
        open_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), [decode_vkey(PETER_VKEY)])


def test_go_verifier_key_manglings_are_refused() -> None:
    """Every proper substring and every single-character increment (TestNewVerifier)."""
    assert decode_vkey(PETER_VKEY).vkey() == PETER_VKEY
    raw = PETER_VKEY.encode()
    for i in range(len(raw) + 1):
        for j in range(i + 1, len(raw) + 1):
            if (i, j) != (0, len(raw)):
                with pytest.raises(FormatError):
                    decode_vkey(raw[i:j].decode())
    for i in range(len(raw)):
        mangled = raw[:i] + bytes([raw[i] + 1]) + raw[i + 1 :]
        with pytest.raises(FormatError):
            decode_vkey(mangled.decode())
    for bad in [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ]:
        with pytest.raises(FormatError):
            decode_vkey(bad)


# -- transparency-dev/formats and C2SP examples ----------------------------------------------


def test_formats_verifier_keys() -> None:
    plain = decode_vkey("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")
    assert isinstance(plain, Ed25519Verifier)
    witness = decode_vkey("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
    assert isinstance(witness, CosignatureVerifier) and witness.key_id == 0xDA77ADE7
    for bad in [
        "bananas.sigstore.dev+12344556",
        "rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!",
        "rekor.sigstore.dev+12345678+AwEB",
        "rekor.sigstore.dev+NOT_A_NUMBER+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
        "rekor.sigstore.dev+00000000+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
    ]:
        with pytest.raises(FormatError):
            decode_vkey(bad)


C2SP_COSIGNED = (
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"
    "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJs"
    "X3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)


def test_c2sp_cosigned_checkpoint_example_parses() -> None:
    note = SignedNote.parse(C2SP_COSIGNED.encode())
    checkpoint = Checkpoint.parse(note.text)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert base64.b64encode(checkpoint.root_hash) == b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    assert checkpoint.text() == note.text
    log, witness = note.signatures
    assert (log.key_id, len(log.signature)) == (0x033DE0AE, 64)
    assert witness.key_id == 0x8D66CF3F
    assert cosignature_time(witness) == 1679315147  # the "time" line of the spec's message
    with pytest.raises(FormatError):
        cosignature_time(log)
    assert note.encode() == C2SP_COSIGNED.encode()
    with pytest.raises(SignatureError):  # nobody we trust signed it
        open_note(C2SP_COSIGNED.encode(), [decode_vkey(PETER_VKEY)])


def test_formats_cosignature_timestamp() -> None:
    blob = base64.b64decode(
        "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWW"
        "OworDcFiEBYJXORmnFBOBA=="
    )
    sig = NoteSignature("w", int.from_bytes(blob[:4], "big"), blob[4:])
    assert cosignature_time(sig) == 1727964367


def test_c2sp_signed_note_example_with_an_empty_line_in_its_text() -> None:
    data = (
        "Ognuno sta solo sul cuor della terra\n"
        "trafitto da un raggio di sole:\n"
        "\n"
        "ed è subito sera.\n"
        "\n"
        "— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKON"
        "rMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
    ).encode()
    note = SignedNote.parse(data)
    assert note.text.endswith(":\n\ned è subito sera.\n")
    assert [s.name for s in note.signatures] == ["quasimodo.example/salvatore"]
    assert note.encode() == data


# -- checkpoints ----------------------------------------------------------------------------

ROOT = hashlib.sha256(b"root").digest()


def test_checkpoint_text_follows_tlog_checkpoint() -> None:
    cp = Checkpoint("backup.example/node-1", 7, ROOT, ("ext one",))
    assert cp.text() == (
        "backup.example/node-1\n7\n" + base64.b64encode(ROOT).decode() + "\next one\n"
    )
    assert Checkpoint.parse(cp.text()) == cp
    assert Checkpoint("o", 0, EMPTY_ROOT).text() == (
        "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    )


@pytest.mark.parametrize(
    "text",
    [
        "o\n7\n{root}",  # no final newline
        "o\n7\n",  # two lines
        "\n7\n{root}\n",  # empty origin
        "o\n07\n{root}\n",  # leading zero
        "o\n+7\n{root}\n",
        "o\n-1\n{root}\n",
        "o\n7 \n{root}\n",
        "o\n0x7\n{root}\n",
        "o\n1_000\n{root}\n",
        "o\n٣\n{root}\n",  # an Arabic-Indic digit that int() would take
        "o\n18446744073709551616\n{root}\n",  # 2**64
        "o\n7\n{root}\n\n",  # empty extension line
        "o\n7\n{root}\next\n\n",
        "o\n7\nAAAA\n",  # not 32 bytes
        "o\n7\n{root_hex}\n",
        "o\n7\n{root_noncanonical}\n",
        "o\t\n7\n{root}\n",
    ],
)
def test_malformed_checkpoints_are_rejected(text: str) -> None:
    b64 = base64.b64encode(ROOT).decode()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    # 32 bytes leave the two low bits of the last character unused: set one of them.
    noncanonical = b64[:-2] + alphabet[alphabet.index(b64[-2]) ^ 1] + "="
    assert base64.b64decode(noncanonical) == ROOT
    filled = text.format(root=b64, root_hex=ROOT.hex(), root_noncanonical=noncanonical)
    with pytest.raises(FormatError):
        Checkpoint.parse(filled)


def test_checkpoint_fields_are_checked() -> None:
    for args in [("", 1, ROOT), ("o\nx", 1, ROOT), ("o", -1, ROOT), ("o", 2**64, ROOT)]:
        with pytest.raises(FormatError):
            Checkpoint(*args)
    with pytest.raises(FormatError):
        Checkpoint("o", 1, ROOT[:31])
    with pytest.raises(FormatError):
        Checkpoint("o", True, ROOT)
    with pytest.raises(FormatError):
        Checkpoint("o", 1, ROOT, ("",))


names = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zs", "Zl", "Zp"]),
    min_size=1,
    max_size=30,
).filter(lambda s: "+" not in s and not any(c.isspace() for c in s))
lines = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=40
)


@given(
    origin=lines,
    size=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(lines, max_size=3),
)
def test_checkpoint_text_round_trips(
    origin: str, size: int, root: bytes, extensions: list[str]
) -> None:
    cp = Checkpoint(origin, size, root, tuple(extensions))
    assert Checkpoint.parse(cp.text()) == cp


# -- signing and verifying ------------------------------------------------------------------

LOG_KEY = SigningKey(bytes(range(32)))
WITNESS_KEY = SigningKey(bytes(range(32, 64)))
LOG = NoteSigner("backup.example/node-1", LOG_KEY)
WITNESS = Cosigner("observatory.example/witness", WITNESS_KEY)
CHECKPOINT = Checkpoint("backup.example/node-1", 12345, ROOT)
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z


def test_checkpoint_round_trip() -> None:
    data = sign_checkpoint(CHECKPOINT, LOG).encode()
    checkpoint, note = open_checkpoint(data, LOG.verifier)
    assert checkpoint == CHECKPOINT
    assert note.is_signed_by(LOG.verifier)
    assert decode_vkey(LOG.verifier.vkey()) == LOG.verifier


def test_checkpoint_needs_the_logs_own_signature() -> None:
    other = NoteSigner("backup.example/node-1", SigningKey(bytes(32)))
    data = sign_checkpoint(CHECKPOINT, other).encode()
    with pytest.raises(SignatureError):
        open_checkpoint(data, LOG.verifier)
    # A witness's cosignature alone does not make a checkpoint the log's.
    note = SignedNote(CHECKPOINT.text(), (WITNESS.cosign_at(CHECKPOINT, NOW),))
    with pytest.raises(SignatureError):
        open_checkpoint(note.encode(), LOG.verifier, [WITNESS.verifier])


def test_every_flipped_bit_of_a_signed_checkpoint_is_caught() -> None:
    data = sign_checkpoint(Checkpoint("backup.example/node-1", 5, ROOT, ("ext",)), LOG).encode()
    for bit in range(len(data) * 8):
        tampered = bytearray(data)
        tampered[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises((SignatureError, FormatError)):
            open_checkpoint(bytes(tampered), LOG.verifier)


def test_changed_text_under_a_valid_signature_fails() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG)
    moved = SignedNote(Checkpoint(CHECKPOINT.origin, 12346, ROOT).text(), note.signatures)
    with pytest.raises(SignatureError):
        open_note(moved.encode(), [LOG.verifier])


def test_signature_by_an_unknown_key_is_not_enough() -> None:
    stranger = NoteSigner("stranger.example", SigningKey(bytes([7]) * 32))
    data = sign_checkpoint(CHECKPOINT, stranger).encode()
    with pytest.raises(SignatureError):
        open_note(data, [LOG.verifier])
    # Same name, other key: a different key ID, so also unknown.
    impostor = NoteSigner(LOG.name, SigningKey(bytes([7]) * 32))
    with pytest.raises(SignatureError):
        open_note(sign_checkpoint(CHECKPOINT, impostor).encode(), [LOG.verifier])


def test_ambiguous_trusted_keys_are_refused() -> None:
    data = sign_checkpoint(CHECKPOINT, LOG).encode()
    twin = Ed25519Verifier(LOG.name, SigningKey(bytes(32)).verify_key)
    open_note(data, [LOG.verifier, LOG.verifier])  # the same key twice is fine

    class Collider:
        name, key_id = LOG.name, LOG.verifier.key_id

        def verify(self, text: bytes, signature: bytes) -> bool:
            return True

        def vkey(self) -> str:
            return twin.vkey()

    with pytest.raises(FormatError):
        open_note(data, [LOG.verifier, Collider()])


@settings(max_examples=50, deadline=None)
@given(text=st.lists(lines, min_size=1, max_size=5), seed=st.binary(min_size=32, max_size=32))
def test_any_note_round_trips(text: list[str], seed: bytes) -> None:
    body = "".join(line + "\n" for line in text)
    signer = NoteSigner("signer.example", SigningKey(seed))
    opened = open_note(sign_note(body, signer).encode(), [signer.verifier])
    assert opened.text == body


@settings(max_examples=50, deadline=None)
@given(name=names, seed=st.binary(min_size=32, max_size=32))
def test_vkey_round_trips(name: str, seed: bytes) -> None:
    key = SigningKey(seed).verify_key
    for sig_type, cls in [(ED25519, Ed25519Verifier), (COSIGNATURE_V1, CosignatureVerifier)]:
        vkey = encode_vkey(name, sig_type, key)
        assert decode_vkey(vkey) == cls(name, key)


def test_note_texts_and_names_are_checked_before_signing() -> None:
    for text in ["no newline", "", "tab\there\n", "cosignature/v1\ntime 1\no\n1\nAAAA\n"]:
        with pytest.raises(FormatError):
            LOG.sign(text)
    for name in ["", "a b", "a+b", "a\nb", "nb\u00a0sp"]:
        with pytest.raises(FormatError):
            NoteSigner(name, LOG_KEY)
    with pytest.raises(FormatError):
        sign_note("x\n")


def test_signature_lines_use_an_em_dash() -> None:
    line = LOG.sign("x\n").line()
    assert line.startswith("\u2014 backup.example/node-1 ") and line.endswith("\n")


# -- cosignatures ---------------------------------------------------------------------------


def test_cosignature_round_trip() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG)
    cosig = WITNESS.cosign_at(CHECKPOINT, NOW)
    data = note.with_signature(cosig).encode()
    checkpoint, opened = open_checkpoint(data, LOG.verifier, [WITNESS.verifier])
    assert checkpoint == CHECKPOINT
    assert opened.is_signed_by(LOG.verifier) and opened.is_signed_by(WITNESS.verifier)
    assert cosignature_time(cosig) == NOW
    assert cosig.key_id == key_id(WITNESS.name, 0x04, WITNESS_KEY.verify_key.raw())
    # A newer cosignature by the same witness replaces the older one.
    again = note.with_signature(cosig).with_signature(WITNESS.cosign_at(CHECKPOINT, NOW + 60))
    assert [cosignature_time(s) for s in again.signatures[1:]] == [NOW + 60]


def test_cosignature_signs_the_message_of_the_spec() -> None:
    """tlog-cosignature: "cosignature/v1\\ntime <t>\\n" + checkpoint text, Ed25519, 8-byte
    big-endian time in front of the 64-byte signature."""
    cp = Checkpoint("example.com/behind-the-sofa", 20852163, ROOT, ("ext",))
    cosig = WITNESS.cosign_at(cp, 1679315147)
    assert cosig.signature[:8] == (1679315147).to_bytes(8, "big")
    message = b"cosignature/v1\ntime 1679315147\n" + cp.text().encode()
    WITNESS_KEY.verify_key.verify(message, cosig.signature[8:])


def test_tampered_cosignatures_fail() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG).with_signature(WITNESS.cosign_at(CHECKPOINT, NOW))
    data = note.encode()
    for bit in range(len(data) * 8):
        tampered = bytearray(data)
        tampered[bit // 8] ^= 1 << (bit % 8)
        try:
            _, opened = open_checkpoint(bytes(tampered), LOG.verifier, [WITNESS.verifier])
        except CryptoError:
            continue
        # Only a flip that makes the cosignature's key unknown can pass, and then the
        # witness is not counted.
        assert not opened.is_signed_by(WITNESS.verifier)

    cosig = note.signatures[1]
    later = NoteSignature(
        cosig.name, cosig.key_id, (NOW + 1).to_bytes(8, "big") + cosig.signature[8:]
    )
    with pytest.raises(SignatureError):
        open_checkpoint(note.with_signature(later).encode(), LOG.verifier, [WITNESS.verifier])


def test_cosignature_and_plain_signature_keys_do_not_mix() -> None:
    same_key_plain = Ed25519Verifier(WITNESS.name, WITNESS_KEY.verify_key)
    cosigned = SignedNote(CHECKPOINT.text(), (WITNESS.cosign_at(CHECKPOINT, NOW),))
    with pytest.raises(SignatureError):  # type 0x01 key ID differs from the 0x04 one
        open_note(cosigned.encode(), [same_key_plain])
    plain = sign_checkpoint(CHECKPOINT, NoteSigner(WITNESS.name, WITNESS_KEY))
    with pytest.raises(SignatureError):
        open_note(plain.encode(), [WITNESS.verifier])


def test_cosign_time_is_checked() -> None:
    for now in [-1, 2**63, 1.5, True]:
        with pytest.raises(FormatError):
            WITNESS.cosign_at(CHECKPOINT, now)  # type: ignore[arg-type]
    huge = NoteSignature(WITNESS.name, WITNESS.verifier.key_id, b"\xff" * 72)
    assert not WITNESS.verifier.verify(CHECKPOINT.text().encode(), huge.signature)
