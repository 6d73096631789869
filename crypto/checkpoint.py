"""Signed checkpoints of the evidence log: C2SP tlog-checkpoint, signed-note and cosignatures.

Three C2SP specifications, followed to the letter so that existing transparency tooling
(golang.org/x/mod/sumdb/note, transparency-dev/formats, witnesses) reads what a node writes:

* ``tlog-checkpoint``: the note text ``<origin>\\n<tree size>\\n<base64 root hash>\\n``
  plus optional extension lines (C2SP tlog-checkpoint, "Note text").
* ``signed-note``: text, a blank line, then lines ``— <key name> base64(key ID || sig)``
  (C2SP signed-note, "Format" and "Signatures"), Ed25519 signatures of type 0x01
  ("Ed25519 signatures"), and verifier keys ``<name>+<hex key ID>+base64(type || key)``
  in the format of Go's sumdb/note.
* ``tlog-cosignature``: a witness's timestamped Ed25519 signature of type 0x04 over
  ``cosignature/v1\\ntime <seconds>\\n`` followed by the checkpoint text (C2SP
  tlog-cosignature, "Format" and "Ed25519 signed message").

Pure functions over bytes and text; time is passed in. Malformed input raises `FormatError`;
a note that no trusted key validly signed raises the opaque `SignatureError`.

Use different Ed25519 keys for a log and for a witness: a plain note signature over a text
that starts with ``cosignature/v1`` would read as a cosignature. `NoteSigner` refuses such
texts, but separate keys are the real fix (C2SP tlog-cosignature, "Ed25519 signed message").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from crypto.errors import FormatError, SignatureError
from crypto.keys import SigningKey, VerifyKey

ED25519 = 0x01
"""Signature type of plain Ed25519 note signatures (C2SP signed-note, "Signature types")."""

COSIGNATURE_V1 = 0x04
"""Signature type of timestamped Ed25519 witness cosignatures (C2SP tlog-cosignature)."""

MAX_SIGNATURES = 100
"""Signature lines accepted in one note: the spec asks for at least 16 and a limit, so that
parsing a hostile note stays cheap (C2SP signed-note, "Format"); Go's sumdb/note uses 100."""

ROOT_HASH_SIZE = 32
_SIG_PREFIX = "— "  # U+2014 EM DASH, U+0020 SPACE
_COSIG_HEADER = "cosignature/v1\n"
_MAX_TIMESTAMP = 2**63 - 1  # C2SP tlog-cosignature, "Format"
_MAX_TREE_SIZE = 2**64 - 1
_DECIMAL = re.compile(r"0|[1-9][0-9]*", re.ASCII)
_HEX_KEY_ID = re.compile(r"[0-9a-fA-F]{8}", re.ASCII)


# -- small strict encodings -----------------------------------------------------------------


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    """Standard base64 (RFC 4648 §4), canonical only, so one value has one spelling."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise FormatError(f"{what} is not base64") from None
    if _b64encode(raw) != text:
        raise FormatError(f"{what} is not canonical base64")
    return raw


def _check_note_chars(text: str, what: str) -> None:
    """Notes are UTF-8 without ASCII control characters other than newline (signed-note,
    "Format"). `str` is already decoded, so only surrogates could still fail to encode."""
    if any((ord(c) < 0x20 and c != "\n") or 0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise FormatError(f"{what} has a control character or is not valid UTF-8")


def check_key_name(name: str) -> None:
    """Key names are non-empty, without Unicode spaces or plus (signed-note, "Format")."""
    if (
        not isinstance(name, str)
        or not name
        or "+" in name
        or any(c.isspace() or ord(c) < 0x20 or 0xD800 <= ord(c) <= 0xDFFF for c in name)
    ):
        raise FormatError("a key name must be non-empty, without spaces or '+'")


def key_id(name: str, sig_type: int, public_key: bytes) -> int:
    """``SHA-256(key name || 0x0A || signature type || public key)[:4]`` as a big-endian
    uint32 (C2SP signed-note, "Signatures"; tlog-cosignature, "Format")."""
    check_key_name(name)
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


# -- checkpoints (C2SP tlog-checkpoint) -----------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """The body of a checkpoint: which log, how many leaves, which root (tlog-checkpoint)."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin or "\n" in self.origin:
            raise FormatError("a checkpoint origin is one non-empty line")
        _check_note_chars(self.origin, "the checkpoint origin")
        if type(self.size) is not int or not 0 <= self.size <= _MAX_TREE_SIZE:
            raise FormatError("a checkpoint tree size is a 64-bit unsigned integer")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != ROOT_HASH_SIZE:
            raise FormatError(f"a checkpoint root hash is {ROOT_HASH_SIZE} bytes")
        for line in self.extensions:
            # "Extension lines, if any, MUST be non-empty."
            if not isinstance(line, str) or not line or "\n" in line:
                raise FormatError("a checkpoint extension is one non-empty line")
            _check_note_chars(line, "a checkpoint extension")

    def text(self) -> str:
        """The note text: origin, decimal size, base64 root, extensions, each ending in \\n."""
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read a checkpoint from a note's text (tlog-checkpoint, "Note text")."""
        if not isinstance(text, str) or not text.endswith("\n"):
            raise FormatError("a checkpoint ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3 or not all(lines):
            raise FormatError("a checkpoint has at least three non-empty lines")
        origin, size, root, *extensions = lines
        # ASCII decimal, no leading zeroes: int() alone would take "+7", "0_1" or "٣".
        if not _DECIMAL.fullmatch(size):
            raise FormatError("a checkpoint tree size is a decimal without leading zeroes")
        root_hash = _b64decode(root, "the checkpoint root hash")
        return cls(origin, int(size), root_hash, tuple(extensions))


# -- signed notes (C2SP signed-note) --------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note: key name, key ID and the signature bytes after the ID."""

    name: str
    key_id: int
    signature: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if type(self.key_id) is not int or not 0 <= self.key_id < 2**32:
            raise FormatError("a key ID is a 32-bit unsigned integer")
        if not isinstance(self.signature, bytes) or not self.signature:
            raise FormatError("a note signature is not empty")

    def line(self) -> str:
        """``— <key name> base64(key ID || signature)\\n`` (signed-note, "Signatures")."""
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_SIG_PREFIX}{self.name} {_b64encode(blob)}\n"

    @classmethod
    def parse_line(cls, line: str) -> NoteSignature:
        """Read one signature line, without its final newline."""
        if not line.startswith(_SIG_PREFIX):
            raise FormatError("a signature line starts with an em dash and a space")
        name, space, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        if not space:
            raise FormatError("a signature line is '— <name> <signature>'")
        check_key_name(name)
        blob = _b64decode(b64, "a note signature")
        if len(blob) < 5:
            raise FormatError("a note signature is a key ID and at least one byte")
        return cls(name, int.from_bytes(blob[:4], "big"), blob[4:])


@dataclass(frozen=True)
class SignedNote:
    """A note text and its signature lines, verified or not: the wire form (signed-note)."""

    text: str
    signatures: tuple[NoteSignature, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.endswith("\n"):
            raise FormatError("a note text ends with a newline")
        _check_note_chars(self.text, "the note text")
        if len(self.signatures) > MAX_SIGNATURES:
            raise FormatError(f"a note has at most {MAX_SIGNATURES} signatures")

    def encode(self) -> bytes:
        """Text, the separating blank line, then one line per signature."""
        if not self.signatures:
            raise FormatError("a signed note has at least one signature")
        lines = "".join(sig.line() for sig in self.signatures)
        return (self.text + "\n" + lines).encode("utf-8")

    @classmethod
    def parse(cls, data: bytes) -> SignedNote:
        """Split a signed note into text and signature lines. Checks syntax, not signatures.

        The text is separated from the signatures by the last empty line (signed-note,
        "Format"), so a text may itself contain empty lines.
        """
        if not isinstance(data, bytes):
            raise FormatError("a signed note is bytes")
        try:
            decoded = data.decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError("a signed note is valid UTF-8") from None
        _check_note_chars(decoded, "the signed note")
        split = decoded.rfind("\n\n")
        if split < 0:
            raise FormatError("a signed note has a blank line before its signatures")
        text, block = decoded[: split + 1], decoded[split + 2 :]
        if not block.endswith("\n"):
            raise FormatError("a signed note ends with a signature line and a newline")
        lines = block[:-1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise FormatError(f"a note has at most {MAX_SIGNATURES} signatures")
        return cls(text, tuple(NoteSignature.parse_line(line) for line in lines))

    def with_signature(self, signature: NoteSignature) -> SignedNote:
        """This note with ``signature`` added, replacing one from the same key (e.g. a
        witness's cosignature appended to a log's checkpoint)."""
        kept = tuple(
            s for s in self.signatures if (s.name, s.key_id) != (signature.name, signature.key_id)
        )
        return SignedNote(self.text, (*kept, signature))


class NoteVerifier(Protocol):
    """A trusted key: name and key ID say which signature lines it checks."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (the bytes after the key ID) is valid over ``text``."""
        ...

    def vkey(self) -> str: ...


@dataclass(frozen=True)
class VerifiedNote:
    """A note that at least one trusted key signed: what `open_note` returns."""

    text: str
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...] = ()

    def is_signed_by(self, verifier: NoteVerifier) -> bool:
        return any((s.name, s.key_id) == (verifier.name, verifier.key_id) for s in self.verified)


def open_note(data: bytes, verifiers: Iterable[NoteVerifier]) -> VerifiedNote:
    """Parse a signed note and check it against trusted keys (signed-note, "Signatures").

    Signatures from unknown keys are ignored (kept in ``unverified``); a key is known only if
    both its name and key ID match. Every signature from a known key must verify, or the
    whole note is rejected; and at least one must, or the note is rejected too. Both
    rejections raise `SignatureError`; malformed notes raise `FormatError`.
    """
    note = SignedNote.parse(data)
    known: dict[tuple[str, int], NoteVerifier] = {}
    for v in verifiers:
        other = known.setdefault((v.name, v.key_id), v)
        if other is not v and other.vkey() != v.vkey():
            raise FormatError(f"two trusted keys share the name and key ID of {v.name}")
    text = note.text.encode("utf-8")
    verified: dict[tuple[str, int], NoteSignature] = {}
    unverified: dict[NoteSignature, None] = {}  # ordered, without repeats
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            unverified.setdefault(sig)
            continue
        if not verifier.verify(text, sig.signature):
            raise SignatureError()
        verified.setdefault((sig.name, sig.key_id), sig)
    if not verified:
        raise SignatureError()
    return VerifiedNote(note.text, tuple(verified.values()), tuple(unverified))


# -- Ed25519 note keys (signed-note, "Ed25519 signatures") ----------------------------------


@dataclass(frozen=True)
class Ed25519Verifier:
    """A trusted Ed25519 note key, signature type 0x01."""

    name: str
    public_key: VerifyKey

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @property
    def key_id(self) -> int:
        return key_id(self.name, ED25519, self.public_key.raw())

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            self.public_key.verify(text, signature)
        except SignatureError:
            return False
        return True

    def vkey(self) -> str:
        return encode_vkey(self.name, ED25519, self.public_key)


class NoteSigner:
    """Signs note texts with an Ed25519 key, as a log signs its checkpoints."""

    __slots__ = ("_key", "_name")

    def __init__(self, name: str, key: SigningKey) -> None:
        check_key_name(name)
        self._name, self._key = name, key

    @property
    def name(self) -> str:
        return self._name

    @property
    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self._name, self._key.verify_key)

    def sign(self, text: str) -> NoteSignature:
        """Sign a note text (RFC 8032 Ed25519 over its UTF-8 bytes)."""
        SignedNote(text)  # the text rules of signed-note, "Format"
        if text.startswith(_COSIG_HEADER):
            raise FormatError("refusing to sign a text that reads as a cosigned message")
        v = self.verifier
        return NoteSignature(self._name, v.key_id, self._key.sign(text.encode("utf-8")))

    def __repr__(self) -> str:
        return f"NoteSigner({self._name!r})"


def sign_note(text: str, *signers: NoteSigner) -> SignedNote:
    """A note over ``text`` signed by each of ``signers``."""
    if not signers:
        raise FormatError("a signed note needs at least one signer")
    return SignedNote(text, tuple(s.sign(text) for s in signers))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> SignedNote:
    """The log's signed checkpoint. The key name SHOULD match the origin (tlog-checkpoint,
    "Signatures"); pass a signer named after the origin."""
    return sign_note(checkpoint.text(), signer)


# -- cosignatures (C2SP tlog-cosignature) ---------------------------------------------------


def _cosigned_message(text: bytes, timestamp: int) -> bytes:
    """``cosignature/v1\\ntime <timestamp>\\n`` and the whole checkpoint text
    (tlog-cosignature, "Ed25519 signed message")."""
    return f"{_COSIG_HEADER}time {timestamp}\n".encode() + text


@dataclass(frozen=True)
class CosignatureVerifier:
    """A trusted witness key, signature type 0x04."""

    name: str
    public_key: VerifyKey

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @property
    def key_id(self) -> int:
        return key_id(self.name, COSIGNATURE_V1, self.public_key.raw())

    def verify(self, text: bytes, signature: bytes) -> bool:
        """``signature`` is the ``timestamped_signature``: a u64 big-endian timestamp, then
        64 bytes of Ed25519 (tlog-cosignature, "Format")."""
        if len(signature) != 8 + 64:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > _MAX_TIMESTAMP:
            return False
        try:
            self.public_key.verify(_cosigned_message(text, timestamp), signature[8:])
        except SignatureError:
            return False
        return True

    def vkey(self) -> str:
        return encode_vkey(self.name, COSIGNATURE_V1, self.public_key)


class Cosigner:
    """A witness: cosigns checkpoints it has checked to be consistent with what it saw."""

    __slots__ = ("_key", "_name")

    def __init__(self, name: str, key: SigningKey) -> None:
        check_key_name(name)
        self._name, self._key = name, key

    @property
    def name(self) -> str:
        return self._name

    @property
    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self._name, self._key.verify_key)

    def cosign_at(self, checkpoint: Checkpoint, now: int) -> NoteSignature:
        """The cosignature line for ``checkpoint`` at POSIX time ``now`` (whole seconds).

        Only sign after checking the consistency proof from the last checkpoint seen for
        this origin: that is what a cosignature states (tlog-cosignature, "Ed25519 signed
        message").
        """
        if type(now) is not int or not 0 <= now <= _MAX_TIMESTAMP:
            raise FormatError("a cosignature time is whole seconds in [0, 2**63 - 1]")
        message = _cosigned_message(checkpoint.text().encode("utf-8"), now)
        blob = now.to_bytes(8, "big") + self._key.sign(message)
        return NoteSignature(self._name, self.verifier.key_id, blob)

    def __repr__(self) -> str:
        return f"Cosigner({self._name!r})"


def cosignature_time(signature: NoteSignature) -> int:
    """The POSIX time a cosignature claims; compare it with your clock to refuse ones from
    the future or too old (tlog-cosignature, "Format": verifiers MAY reject future times)."""
    if len(signature.signature) != 8 + 64:
        raise FormatError("a cosignature is 8 bytes of time and 64 of signature")
    return int.from_bytes(signature.signature[:8], "big")


def open_checkpoint(
    data: bytes, log: NoteVerifier, witnesses: Iterable[NoteVerifier] = ()
) -> tuple[Checkpoint, VerifiedNote]:
    """Verify a signed checkpoint: it must carry a valid signature by ``log``; signatures
    by ``witnesses`` are verified too when present (see ``VerifiedNote.is_signed_by`` to
    count them). Raises `SignatureError` without the log's signature."""
    note = open_note(data, [log, *witnesses])
    if not note.is_signed_by(log):
        raise SignatureError()
    return Checkpoint.parse(note.text), note


# -- verifier keys (Go sumdb/note "vkey" format) --------------------------------------------


def encode_vkey(name: str, sig_type: int, public_key: VerifyKey) -> str:
    """``<name>+<8 hex digits of key ID>+base64(type || 32-byte key)``."""
    raw = public_key.raw()
    return f"{name}+{key_id(name, sig_type, raw):08x}+{_b64encode(bytes([sig_type]) + raw)}"


def decode_vkey(vkey: str) -> Ed25519Verifier | CosignatureVerifier:
    """A trusted key from its vkey string: type 0x01 (note signer) or 0x04 (witness,
    tlog-cosignature, "Format"). The key ID in the string must match the key."""
    if not isinstance(vkey, str):
        raise FormatError("a verifier key is a string")
    name, _, rest = vkey.partition("+")
    hex_id, _, key64 = rest.partition("+")
    check_key_name(name)
    if not _HEX_KEY_ID.fullmatch(hex_id):
        raise FormatError("a verifier key has an 8-digit hex key ID")
    blob = _b64decode(key64, "the verifier key")
    if len(blob) != 33 or blob[0] not in (ED25519, COSIGNATURE_V1):
        raise FormatError("a verifier key is an Ed25519 key of type 0x01 or 0x04")
    if int(hex_id, 16) != key_id(name, blob[0], blob[1:]):
        raise FormatError("a verifier key's key ID does not match its key")
    if blob[0] == ED25519:
        return Ed25519Verifier(name, VerifyKey(blob[1:]))
    return CosignatureVerifier(name, VerifyKey(blob[1:]))
