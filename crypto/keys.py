"""Typed keys.

Each kind of key is its own class so that one can never be used where another is
expected: a `DataKey` encrypts records, a `BoxSecretKey`/`BoxPublicKey` pair (X25519)
seals keys to people, a `SigningKey`/`VerifyKey` pair (Ed25519) signs what leaves the node.

Secret key bytes do not leave this package: a secret key is wrapped and unwrapped as a
typed key (`BoxPublicKey.seal_data_key`/`BoxSecretKey.open_data_key` to a person's public
key, `DataKey.wrap_data_key`/`DataKey.open_data_key` under another data key,
`crypto.passphrase.wrap_key`/`open_data_key`/`open_box_key` under a passphrase), and every
failure to unwrap is the one opaque `DecryptionError`.
"""

from __future__ import annotations

import hashlib
import hmac

import nacl.exceptions
import nacl.public
import nacl.signing
import nacl.utils

from crypto import aead
from crypto.errors import DecryptionError, FormatError, SignatureError

KEY_BYTES = 32


class DataKey:
    """A random 256-bit symmetric key for one report (its records and attachments)."""

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise FormatError("a data key is 32 bytes")
        self._raw = bytes(raw)

    @classmethod
    def generate(cls) -> DataKey:
        return cls(nacl.utils.random(KEY_BYTES))

    def encrypt(self, plaintext: bytes, context: bytes) -> bytes:
        """Encrypt and bind the ciphertext to `context` (e.g. b"report:<id>:body")."""
        return aead.encrypt(self._raw, plaintext, context)

    def decrypt(self, blob: bytes, context: bytes) -> bytes:
        return aead.decrypt(aead.opening_key(self._generations(), blob), blob, context)

    def holds(self, blob: bytes) -> bool:
        """Whether `blob` (a record of `crypto.aead`) was sealed under a generation this
        key holds, by its key commitment -- not whether it is intact: a record sealed under
        a case key's newer generation that this holder was not given yet says False."""
        return aead.committed_to(self._generations(), blob)

    def _generations(self) -> tuple[bytes, ...]:
        """The raw keys that may have sealed what this key opens, oldest first: one here,
        a case's every generation in `CaseKey`."""
        return (self._raw,)

    def wrap_data_key(self, key: DataKey, context: bytes) -> bytes:
        """Encrypt another data key under this one, bound to `context` (e.g. an incident's
        key under the key of a report it is linked to)."""
        return self.encrypt(key._raw, context)

    def open_data_key(self, blob: bytes, context: bytes) -> DataKey:
        """A data key wrapped by `wrap_data_key` under this key and `context`."""
        return unwrapped_data_key(self.decrypt(blob, context))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataKey) and hmac.compare_digest(self._raw, other._raw)

    def __hash__(self) -> int:  # keys are not meant as dict keys; keep hash stable but opaque
        return hash(type(self))

    def __repr__(self) -> str:
        return "DataKey(<secret>)"


class CaseKey(DataKey):
    """A case's data key with all its generations (issue 13: rotation after a person leaves
    a case). It encrypts -- and is wrapped, sealed and streamed -- as its newest generation;
    it opens a blob with the generation whose key commitment the blob carries
    (`aead.opening_key`), so material sealed before a rotation stays readable and material
    sealed after it opens only with the new generation, which a departed holder lacks."""

    __slots__ = ("_all",)

    def __init__(self, generations: list[DataKey]) -> None:
        if not generations:
            raise FormatError("a case key has at least one generation")
        super().__init__(generations[-1]._raw)
        self._all = tuple(g._raw for g in generations)

    @property
    def generation(self) -> int:
        """The newest generation's number (0: the key the report was submitted under)."""
        return len(self._all) - 1

    def newest(self) -> DataKey:
        return DataKey(self._all[-1])

    def first(self) -> DataKey:
        """Generation 0: the key the report was submitted under."""
        return DataKey(self._all[0])

    def with_next(self, new: DataKey) -> CaseKey:
        """This case key with `new` as its next generation."""
        return CaseKey([*(DataKey(b) for b in self._all), new])

    def _generations(self) -> tuple[bytes, ...]:
        return self._all

    def __repr__(self) -> str:
        return f"CaseKey(<secret>, generation={self.generation})"


class BoxPublicKey:
    """An X25519 public key that keys and small secrets can be sealed to."""

    __slots__ = ("_key",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise FormatError("a public key is 32 bytes")
        self._key = nacl.public.PublicKey(raw)

    def seal(self, plaintext: bytes) -> bytes:
        """Anonymous sealed box: only the holder of the matching secret key can open it."""
        return nacl.public.SealedBox(self._key).encrypt(plaintext)

    def seal_data_key(self, key: DataKey) -> bytes:
        return self.seal(secret_bytes(key))

    def seal_generation(self, generation: int, key: DataKey) -> bytes:
        """A case key's generation sealed with its number, ``u32 || key`` inside the box
        (issue 13: to the reporter's receipt-derived key), so the number cannot be changed
        without the box failing to open."""
        return self.seal(generation.to_bytes(4, "big") + key._raw)

    def seal_box_key(self, key: BoxSecretKey) -> bytes:
        return self.seal(secret_bytes(key))

    def raw(self) -> bytes:
        return bytes(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BoxPublicKey) and self.raw() == other.raw()

    def __hash__(self) -> int:
        return hash(self.raw())

    def __repr__(self) -> str:
        return f"BoxPublicKey({self.raw().hex()[:16]}…)"


class BoxSecretKey:
    """An X25519 secret key: a staff member's, the node's intake key, the recovery key."""

    __slots__ = ("_key", "_sealed")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise FormatError("a secret key is 32 bytes")
        self._key = nacl.public.PrivateKey(raw)
        # made once: a coordinator's search index opens a sealed data key per case, and
        # making the box each time cost a fifth as much as opening (bench_backoffice)
        self._sealed = nacl.public.SealedBox(self._key)

    @classmethod
    def generate(cls) -> BoxSecretKey:
        return cls(bytes(nacl.public.PrivateKey.generate()))

    @classmethod
    def from_seed(cls, seed: bytes) -> BoxSecretKey:
        """Deterministic key from 32 bytes of high-entropy seed (the recovery key)."""
        if len(seed) != KEY_BYTES:
            raise FormatError("a seed is 32 bytes")
        return cls(bytes(nacl.public.PrivateKey.from_seed(seed)))

    @property
    def public_key(self) -> BoxPublicKey:
        return BoxPublicKey(bytes(self._key.public_key))

    def open(self, sealed: bytes) -> bytes:
        try:
            return self._sealed.decrypt(sealed)
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            raise DecryptionError() from None

    def open_data_key(self, sealed: bytes) -> DataKey:
        return unwrapped_data_key(self.open(sealed))

    def open_box_key(self, sealed: bytes) -> BoxSecretKey:
        return unwrapped_box_key(self.open(sealed))

    def open_generation(self, sealed: bytes) -> tuple[int, DataKey]:
        """A generation sealed by `BoxPublicKey.seal_generation`: its number and key."""
        plain = self.open(sealed)
        if len(plain) != 4 + KEY_BYTES:
            raise DecryptionError()
        return int.from_bytes(plain[:4], "big"), DataKey(plain[4:])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BoxSecretKey) and hmac.compare_digest(
            bytes(self._key), bytes(other._key))

    def __hash__(self) -> int:  # as DataKey: stable, reveals nothing
        return hash(type(self))

    def __repr__(self) -> str:
        return "BoxSecretKey(<secret>)"


class VerifyKey:
    """An Ed25519 public key: a node's identity as others see it."""

    __slots__ = ("_key",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise FormatError("a verify key is 32 bytes")
        self._key = nacl.signing.VerifyKey(raw)

    def verify(self, message: bytes, signature: bytes) -> None:
        """Raise `SignatureError` unless `signature` is this key's over `message`."""
        try:
            self._key.verify(message, signature)
        except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
            raise SignatureError() from None

    def raw(self) -> bytes:
        return bytes(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifyKey) and self.raw() == other.raw()

    def __hash__(self) -> int:
        return hash(self.raw())

    def __repr__(self) -> str:
        return f"VerifyKey({self.raw().hex()[:16]}…)"


class SigningKey:
    """An Ed25519 secret key: the node's identity, used to sign what leaves it."""

    __slots__ = ("_key",)

    def __init__(self, seed: bytes) -> None:
        if len(seed) != KEY_BYTES:
            raise FormatError("a signing key seed is 32 bytes")
        self._key = nacl.signing.SigningKey(seed)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(bytes(nacl.signing.SigningKey.generate()))

    @property
    def verify_key(self) -> VerifyKey:
        return VerifyKey(bytes(self._key.verify_key))

    def sign(self, message: bytes) -> bytes:
        """Detached 64-byte signature."""
        return self._key.sign(message).signature

    def derive(self, label: bytes) -> SigningKey:
        """An independent Ed25519 key for one purpose, derived from this key's seed with
        HKDF-SHA256 (RFC 5869: extract with a fixed salt, expand with `label` as info).
        Keys for different labels are unrelated to anyone without the seed, so one seed
        kept on disk yields one key per signature type (C2SP signed-note: a key should not
        sign more than one kind of message) without a second secret to back up."""
        if not label:
            raise FormatError("a derived key needs a label")
        prk = hmac.new(b"backup-derived-signing-key-v1", bytes(self._key), hashlib.sha256).digest()
        return SigningKey(hmac.new(prk, label + b"\x01", hashlib.sha256).digest())

    def seed(self) -> bytes:
        """The 32-byte seed, for the one place it is kept on disk (the node's and the
        observatory's ``keys/identity.key``) and for libp2p's own key type
        (`transport.identity`): both need the Ed25519 seed itself."""
        return bytes(self._key)

    def __repr__(self) -> str:
        return "SigningKey(<secret>)"


# -- inside this package only: secret key bytes, for wrapping ------------------------------


def secret_bytes(key: DataKey | BoxSecretKey) -> bytes:
    """The bytes of a secret key, for the wraps of this package (sealed boxes, AEAD, the
    passphrase wraps of `crypto.passphrase`). Never called outside `crypto/`."""
    if isinstance(key, DataKey):
        return key._raw
    return bytes(key._key)


def generation_bytes(key: DataKey) -> tuple[bytes, ...]:
    """Every generation's bytes of a (case) data key, oldest first, for the streams of
    `crypto.filestream`. Never called outside `crypto/`."""
    return key._generations()


def unwrapped_data_key(raw: bytes) -> DataKey:
    """A data key from unwrapped bytes (for this package's wraps): anything that is not a
    key is the one opaque error, as a failed open is."""
    if len(raw) != KEY_BYTES:
        raise DecryptionError()
    return DataKey(raw)


def unwrapped_box_key(raw: bytes) -> BoxSecretKey:
    if len(raw) != KEY_BYTES:
        raise DecryptionError()
    return BoxSecretKey(raw)

