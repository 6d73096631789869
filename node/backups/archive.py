"""The backup archive format.

    MAGIC || stream || trailer || signature || u64 stream length || u32 trailer length
          || u32 signature length || END

* ``stream``: a tar of the node's files (database snapshot, configuration, keys, blobs),
  encrypted with a fresh data key in libsodium's secretstream (`crypto.filestream`), bound
  to the node id by its associated data.
* ``trailer``: canonical JSON: format, node id, identity key, creation time, schema, the
  backup public key the data key is sealed to, the sealed data key, the backup secret key
  sealed to the recovery key, the stream's SHA-256 and length, and the number of files.
* ``signature``: the node's identity key over ``DOMAIN || trailer``.

A reader checks the signature and the stream's hash before it decrypts anything, so a
corrupt or altered archive is refused before one byte is written. The trailer is at the end
because the stream's hash is known only once it is written; the stream is read within its
stated length, so the secretstream's own check (nothing after the final chunk) still holds.
"""

from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

from crypto.errors import FormatError, SignatureError
from crypto.filestream import StreamEncryptor
from crypto.keys import DataKey, SigningKey, VerifyKey
from protocol.encoding import canonical_json, parse_canonical_json

MAGIC = b"BACKUP-NODE-ARCHIVE-1\n"
END = b"\nBACKUP-END-1"
DOMAIN = b"backup-node-archive-v1\n"
FORMAT = 1
_FOOTER = struct.Struct(">QII")
_MAX_TRAILER = 64 * 1024


class ArchiveInvalid(ValueError):
    """Not a backup archive, or one that was damaged or altered: nothing was restored."""


def stream_context(node_id: str) -> bytes:
    return b"backup-archive:" + node_id.encode("ascii")


class EncryptingWriter(io.RawIOBase):
    """A write-only file object: what is written to it is encrypted onto `out`."""

    def __init__(self, out: BinaryIO, key: DataKey, node_id: str) -> None:
        super().__init__()
        self._out = out
        self._enc = StreamEncryptor(key, stream_context(node_id))
        self._hash = hashlib.sha256()
        self.length = 0
        self._put(self._enc.start())

    def _put(self, data: bytes) -> None:
        if data:
            self._out.write(data)
            self._hash.update(data)
            self.length += len(data)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._put(self._enc.update(chunk))
        return len(chunk)

    def finish(self) -> str:
        self._put(self._enc.finish())
        return self._hash.hexdigest()


def write_trailer(out: BinaryIO, trailer: dict[str, Any], stream_length: int,
                  identity: SigningKey) -> None:
    body = canonical_json(trailer)
    signature = identity.sign(DOMAIN + body)
    out.write(body + signature + _FOOTER.pack(stream_length, len(body), len(signature)) + END)


@dataclass(frozen=True)
class Opened:
    trailer: dict[str, Any]
    stream_offset: int
    stream_length: int


def read_trailer(f: BinaryIO) -> Opened:
    """The signed trailer, checked: `ArchiveInvalid` for anything else."""
    f.seek(0, io.SEEK_END)
    total = f.tell()
    tail = len(END) + _FOOTER.size
    if total < len(MAGIC) + tail:
        raise ArchiveInvalid("the file is too short to be a backup archive")
    f.seek(0)
    if f.read(len(MAGIC)) != MAGIC:
        raise ArchiveInvalid("the file is not a BackUp node archive")
    f.seek(total - tail)
    footer = f.read(tail)
    if footer[_FOOTER.size:] != END:
        raise ArchiveInvalid("the archive is incomplete (its end is missing)")
    stream_length, trailer_length, sig_length = _FOOTER.unpack(footer[:_FOOTER.size])
    if (trailer_length > _MAX_TRAILER or sig_length != 64
            or len(MAGIC) + stream_length + trailer_length + sig_length + tail != total):
        raise ArchiveInvalid("the archive's lengths do not add up: it was cut or altered")
    f.seek(len(MAGIC) + stream_length)
    body = f.read(trailer_length)
    signature = f.read(sig_length)
    try:
        trailer = parse_canonical_json(body)
        if not isinstance(trailer, dict) or trailer.get("format") != FORMAT:
            raise ArchiveInvalid("this archive's format is not one this version reads")
        VerifyKey(bytes.fromhex(str(trailer["identity_key"]))).verify(DOMAIN + body, signature)
    except (SignatureError, FormatError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, ArchiveInvalid):
            raise
        raise ArchiveInvalid("the archive's signature does not verify: it was altered") from None
    if trailer.get("stream_length") != stream_length:
        raise ArchiveInvalid("the archive's lengths do not add up: it was cut or altered")
    return Opened(trailer, len(MAGIC), stream_length)


class Bounded(io.RawIOBase):
    """`length` bytes of `f` from `offset`, as a file."""

    def __init__(self, f: BinaryIO, offset: int, length: int) -> None:
        super().__init__()
        self._f = f
        self._left = length
        f.seek(offset)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self._left:
            n = self._left
        data = self._f.read(n)
        self._left -= len(data)
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)


def check_stream_hash(f: BinaryIO, opened: Opened) -> None:
    digest = hashlib.sha256()
    source = Bounded(f, opened.stream_offset, opened.stream_length)
    while chunk := source.read(1 << 20):
        digest.update(chunk)
    if digest.hexdigest() != opened.trailer.get("stream_sha256"):
        raise ArchiveInvalid("the archive's content does not match its signed digest: it was "
                             "damaged or altered")
