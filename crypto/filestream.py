"""Chunked encryption of attachments (libsodium secretstream, XChaCha20-Poly1305).

Photos and videos can be tens of megabytes; they are encrypted as they stream in, never
held whole in memory, never written in clear. secretstream authenticates the order of
chunks and marks the last one (TAG_FINAL), so a truncated, reordered or spliced file fails
to open (libsodium documentation, "Encrypted streams and file encryption").

File layout: ``MAGIC || header (24) || commitment (32) || { u32 big-endian length || chunk
ciphertext }*``. Every chunk carries `context` as associated data, binding the file to its
item. The commitment (``BLAKE2b-256(key=K, person="BackUp-aead-kc", header)``, as in
`crypto.aead`) names the key the file was written under, so that a case key with several
generations (issue 13, `crypto.keys.CaseKey`) opens it with the right one, and commits the
file to that key. Files of the first layout (``BUS1``, no commitment) were all written
before generations existed: they open with a case's first generation.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Iterator
from typing import BinaryIO

import nacl.bindings as sodium
import nacl.exceptions

from crypto import aead
from crypto.errors import DecryptionError
from crypto.keys import DataKey, generation_bytes, secret_bytes

MAGIC = b"BUS2"
LEGACY_MAGIC = b"BUS1"
_HEADER_BYTES = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
CHUNK_BYTES = 64 * 1024
_LEN = struct.Struct(">I")
_ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL


class StreamEncryptor:
    """Feed plaintext in any pieces; get ciphertext bytes to append to the file."""

    def __init__(self, key: DataKey, context: bytes) -> None:
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        raw = secret_bytes(key)
        header = sodium.crypto_secretstream_xchacha20poly1305_init_push(self._state, raw)
        self._context = context
        self._pending = bytearray()
        self._started = MAGIC + header + aead.commitment(raw, header)
        self._finished = False

    def start(self) -> bytes:
        return self._started

    def update(self, data: bytes) -> bytes:
        if self._finished:
            raise ValueError("stream already finished")
        self._pending += data
        out = bytearray()
        while len(self._pending) > CHUNK_BYTES:
            chunk = bytes(self._pending[:CHUNK_BYTES])
            del self._pending[:CHUNK_BYTES]
            out += self._push(chunk, _TAG_MESSAGE)
        return bytes(out)

    def finish(self) -> bytes:
        if self._finished:
            raise ValueError("stream already finished")
        self._finished = True
        chunk = bytes(self._pending)
        self._pending.clear()
        return self._push(chunk, _TAG_FINAL)

    def _push(self, chunk: bytes, tag: int) -> bytes:
        ct = sodium.crypto_secretstream_xchacha20poly1305_push(
            self._state, chunk, self._context, tag)
        return _LEN.pack(len(ct)) + ct


def encrypt_bytes(key: DataKey, plaintext: bytes, context: bytes) -> bytes:
    enc = StreamEncryptor(key, context)
    return enc.start() + enc.update(plaintext) + enc.finish()


def decrypt_stream(key: DataKey, source: BinaryIO, context: bytes) -> Iterator[bytes]:
    """Yield plaintext chunks; `DecryptionError` on any tampering or truncation.

    A consumer must not trust what it has been given until the iterator ends without
    error (the final tag is checked last).
    """
    head = source.read(len(MAGIC) + _HEADER_BYTES)
    if len(head) != len(MAGIC) + _HEADER_BYTES or head[: len(MAGIC)] not in (MAGIC,
                                                                           LEGACY_MAGIC):
        raise DecryptionError()
    header = head[len(MAGIC):]
    generations = generation_bytes(key)
    raw = generations[0]  # a legacy file predates generations
    if head[: len(MAGIC)] == MAGIC:
        stated = source.read(aead.COMMITMENT_BYTES)
        raw = next((k for k in reversed(generations)
                    if hmac.compare_digest(stated, aead.commitment(k, header))), b"")
        if not raw:
            raise DecryptionError()  # committed to another key
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    try:
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, raw)
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise DecryptionError() from None
    while True:
        raw_len = source.read(_LEN.size)
        if len(raw_len) != _LEN.size:
            raise DecryptionError()  # truncated before the final chunk
        (n,) = _LEN.unpack(raw_len)
        if n < _ABYTES or n > CHUNK_BYTES + _ABYTES:
            raise DecryptionError()
        ct = source.read(n)
        if len(ct) != n:
            raise DecryptionError()
        try:
            msg, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, ct, context)
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            raise DecryptionError() from None
        if tag == _TAG_FINAL:
            if source.read(1):
                raise DecryptionError()  # bytes after the final chunk
            yield msg
            return
        yield msg


def decrypt_bytes(key: DataKey, blob: bytes, context: bytes) -> bytes:
    import io

    return b"".join(decrypt_stream(key, io.BytesIO(blob), context))
