"""Argon2id stretching of human secrets: staff passphrases and reporters' receipt secrets.

A key is wrapped under a passphrase as a typed key (`wrap_key`) and comes back as one
(`open_data_key`, `open_box_key`); every failure -- a wrong passphrase, a flipped bit, a
truncated or tampered wrap, something that is not a key -- is the one `DecryptionError`.

A wrap is self-describing, ``version || opslimit (u32) || memlimit (u32) || salt (16) ||
aead blob``, so parameters can be raised later without breaking old wraps.

Parameter choices (costs measured on a 2-core machine, see BENCHMARKS.md):

* ``STAFF``: opslimit 3, 256 MiB -- libsodium's MODERATE, about 0.7 s. Staff passphrases
  are chosen by people and may be weak; they are stretched once per login.
* ``RECEIPT``: opslimit 2, 64 MiB -- libsodium's INTERACTIVE, about 0.1 s. The receipt
  secret already carries >= 64 bits of entropy (`crypto.receipt`); stretching is defence
  in depth and must stay cheap enough for >= 10 reports/s on 2 cores.
* ``INSECURE_FAST_FOR_TESTS``: the smallest parameters libsodium accepts. Tests only (the
  SecureDrop pattern); the node refuses it unless a test explicitly passes it in.
"""

from __future__ import annotations

import hashlib
import struct
import unicodedata
from dataclasses import dataclass

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id
import nacl.utils

from crypto import aead
from crypto.errors import DecryptionError
from crypto.keys import (
    BoxPublicKey,
    BoxSecretKey,
    DataKey,
    secret_bytes,
    unwrapped_box_key,
    unwrapped_data_key,
)

WRAP_VERSION = 1
SALT_BYTES = argon2id.SALTBYTES  # 16
_HEADER = struct.Struct(">BII")


@dataclass(frozen=True)
class KdfParams:
    opslimit: int
    memlimit: int  # bytes
    name: str = "custom"

    def describe(self) -> str:
        return f"Argon2id, {self.opslimit} passes, {self.memlimit // (1 << 20)} MiB"


STAFF = KdfParams(argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_MODERATE, "staff")
RECEIPT = KdfParams(argon2id.OPSLIMIT_INTERACTIVE, argon2id.MEMLIMIT_INTERACTIVE, "receipt")
INSECURE_FAST_FOR_TESTS = KdfParams(argon2id.OPSLIMIT_MIN, argon2id.MEMLIMIT_MIN, "insecure-test")


def normalize(passphrase: str) -> bytes:
    """NFC so the same passphrase typed on two keyboards gives the same bytes."""
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def derive_key(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    return argon2id.kdf(32, normalize(passphrase), salt, opslimit=params.opslimit,
                        memlimit=params.memlimit)


def wrap_key(key: DataKey | BoxSecretKey, passphrase: str, params: KdfParams,
             context: bytes) -> bytes:
    """Encrypt `key` under a key stretched from `passphrase`, bound to `context`."""
    return _wrap(secret_bytes(key), passphrase, params, context)


def open_data_key(blob: bytes, passphrase: str, context: bytes) -> DataKey:
    """The data key `wrap_key` wrapped, or `DecryptionError`."""
    return unwrapped_data_key(_unwrap(blob, passphrase, context))


def open_box_key(blob: bytes, passphrase: str, context: bytes) -> BoxSecretKey:
    """The box secret key `wrap_key` wrapped, or `DecryptionError`."""
    return unwrapped_box_key(_unwrap(blob, passphrase, context))


def wrap_key_with_box(key: DataKey, passphrase: str, params: KdfParams,
                      context: bytes) -> tuple[bytes, BoxPublicKey]:
    """`wrap_key`, and the public half of the X25519 key derived from the same stretched
    key (`open_data_key_with_box`): what later key generations of a case are sealed to for
    its reporter (issue 13), from one Argon2id run."""
    salt = nacl.utils.random(SALT_BYTES)
    stretched = derive_key(passphrase, salt, params)
    header = _HEADER.pack(WRAP_VERSION, params.opslimit, params.memlimit)
    blob = header + salt + aead.encrypt(stretched, secret_bytes(key), header + context)
    return blob, _box_of(stretched, context).public_key


def open_data_key_with_box(blob: bytes, passphrase: str, context: bytes
                           ) -> tuple[DataKey, BoxSecretKey]:
    """The data key of a `wrap_key` wrap and the X25519 secret key derived from the same
    stretched key. Learning the public half gives no shortcut to the passphrase: testing a
    guess against it costs the same Argon2id run as testing it against the wrap itself."""
    stretched, rest, aad = _stretch(blob, passphrase, context)
    return unwrapped_data_key(aead.decrypt(stretched, rest, aad)), _box_of(stretched, context)


def _box_of(stretched: bytes, context: bytes) -> BoxSecretKey:
    # a keyed BLAKE2b under its own personalisation: a PRF output independent of the
    # AEAD use of the same stretched key
    return unwrapped_box_key(hashlib.blake2b(context, digest_size=32, key=stretched,
                                             person=b"BackUp-rcpt-box").digest())


def spend_one_attempt(passphrase: str, params: KdfParams) -> None:
    """Spend the Argon2id time of one real attempt and learn nothing: for an unknown
    account or receipt, so that timing does not tell which ones exist."""
    derive_key(passphrase, b"\0" * SALT_BYTES, params)


def _wrap(secret: bytes, passphrase: str, params: KdfParams, context: bytes) -> bytes:
    salt = nacl.utils.random(SALT_BYTES)
    key = derive_key(passphrase, salt, params)
    header = _HEADER.pack(WRAP_VERSION, params.opslimit, params.memlimit)
    return header + salt + aead.encrypt(key, secret, header + context)


def _unwrap(blob: bytes, passphrase: str, context: bytes) -> bytes:
    """Open a wrap made by `_wrap`; `DecryptionError` for a wrong passphrase or a bad blob."""
    key, rest, aad = _stretch(blob, passphrase, context)
    return aead.decrypt(key, rest, aad)


def _stretch(blob: bytes, passphrase: str, context: bytes) -> tuple[bytes, bytes, bytes]:
    """The stretched key of a wrap, its AEAD blob and associated data."""
    hlen = _HEADER.size
    if len(blob) < hlen + SALT_BYTES + aead.MIN_OVERHEAD:
        raise DecryptionError()
    version, ops, mem = _HEADER.unpack(blob[:hlen])
    if version != WRAP_VERSION or not _plausible(ops, mem):
        raise DecryptionError()
    salt = blob[hlen : hlen + SALT_BYTES]
    key = derive_key(passphrase, salt, KdfParams(ops, mem))
    return key, blob[hlen + SALT_BYTES :], blob[:hlen] + context


def _plausible(ops: int, mem: int) -> bool:
    # A tampered header must not make us allocate absurd memory or spin for hours.
    return (argon2id.OPSLIMIT_MIN <= ops <= 16
            and argon2id.MEMLIMIT_MIN <= mem <= (1 << 30))


def hash_for_storage(passphrase: str, params: KdfParams = STAFF) -> str:
    """An Argon2id verifier string (libsodium ``crypto_pwhash_str``, RFC 9106 encoding:
    ``$argon2id$v=19$m=...,t=...,p=1$salt$hash``) that carries its own parameters -- for a
    passphrase that must only be checked, not used as a key."""
    return argon2id.str(normalize(passphrase), opslimit=params.opslimit,
                        memlimit=params.memlimit).decode("ascii")


def matches_stored(stored: str, passphrase: str) -> bool:
    """True if `passphrase` matches a `hash_for_storage` string (constant time, in libsodium)."""
    try:
        return bool(argon2id.verify(stored.encode("ascii"), normalize(passphrase)))
    except (nacl.exceptions.InvalidkeyError, nacl.exceptions.CryptoError, ValueError):
        return False
