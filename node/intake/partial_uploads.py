"""Resumable uploads in progress (tus 1.0, issue 20): a file that arrives over several
requests because the reporter's connection dropped, and the parsers of tus's headers.

A partial upload is an ordinary `AttachmentWriter` kept open between requests: the same
type sniffing, the same per-file and per-report limits, the same encrypted blob, and once
complete the same `StagedFile` a form-posted file gives. Bytes are fed to it, and so
sealed, only in whole chunks of `SEAL_BYTES` (one secretstream record of
`crypto.filestream`). The offset the server announces counts only those bytes: a chunk
torn by a dropped connection was never fed to the writer, is discarded, and the client
sends it again from the announced offset. Until then its bytes were only in memory; the
encrypted blob is a temporary file that `abort` removes (with the draft's key, which lives
in memory only, nothing could read it anyway).

Nothing here is persistent: an upload lives in its draft (`node.web.reporter.sessions`),
ends with it, and expires when no bytes arrived for a while (`expired`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
from dataclasses import dataclass, field

from crypto.filestream import CHUNK_BYTES
from node import errors
from node.i18n import N_
from node.intake.attachments import Allowance, AttachmentWriter, StagedFile

TUS_VERSION = "1.0.0"
SEAL_BYTES = CHUNK_BYTES
# Header values are short: a length is at most 19 digits, metadata a file name and a type.
MAX_NUMBER_DIGITS = 19
MAX_METADATA_CHARS = 4096
_DIGITS = frozenset("0123456789")
_B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


class BadUploadHeader(errors.InvalidInput):
    message = N_("The file could not be sent. Please choose it again.")


class BeyondLength(errors.FileTooLarge):
    """More bytes than the Upload-Length declared at creation (413)."""

    message = N_("The file %(name)s is longer than it said it would be and was not added. "
                 "Please choose it again.")


def parse_number(value: str | None, name: str) -> int:
    """Upload-Length or Upload-Offset: a non-negative integer in plain ASCII digits."""
    if value is None or not 0 < len(value) <= MAX_NUMBER_DIGITS or not set(value) <= _DIGITS:
        raise BadUploadHeader(field=name)
    return int(value)


def parse_metadata(value: str | None) -> dict[str, bytes]:
    """Upload-Metadata: comma-separated pairs of a key and an optional base64 value
    (tus 1.0, creation extension). Keys are unique, ASCII, without spaces or commas."""
    if value is None or not value.strip():
        return {}
    if len(value) > MAX_METADATA_CHARS or not value.isascii():
        raise BadUploadHeader(field="Upload-Metadata")
    out: dict[str, bytes] = {}
    for pair in value.split(","):
        parts = pair.strip().split(" ")
        if len(parts) > 2 or not parts[0] or parts[0] in out \
                or not parts[0].isprintable():
            raise BadUploadHeader(field="Upload-Metadata")
        encoded = parts[1] if len(parts) == 2 else ""
        if not set(encoded) <= _B64 or len(encoded) % 4:
            raise BadUploadHeader(field="Upload-Metadata")
        try:
            out[parts[0]] = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise BadUploadHeader(field="Upload-Metadata") from None
    return out


def filename_of(metadata: dict[str, bytes]) -> str | None:
    """The file's name as the client gave it (tus-js-client sends `filename`, others
    `name`); a display name only, cleaned like a form-posted one."""
    raw = metadata.get("filename") or metadata.get("name")
    return raw.decode("utf-8", errors="replace") if raw else None


@dataclass(eq=False)
class PartialUpload:
    """One file arriving over several requests."""

    length: int
    writer: AttachmentWriter = field(repr=False)
    expires_at: float
    id: str = field(default_factory=lambda: secrets.token_hex(16))
    offset: int = 0
    busy: bool = False
    gone: bool = False
    _torn: bytearray = field(default_factory=bytearray, repr=False)
    _idle: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def __post_init__(self) -> None:
        self._idle.set()

    def begin_request(self) -> None:
        self.busy = True
        self._idle.clear()

    async def wait_idle(self, seconds: float) -> bool:
        """Wait (at most `seconds`) for the request receiving bytes to end: a client
        resumes once its own connection failed, often before the server has noticed."""
        if self.busy:
            try:
                await asyncio.wait_for(self._idle.wait(), seconds)
            except TimeoutError:
                return False
        return not self.busy

    @property
    def complete(self) -> bool:
        return self.offset == self.length

    def accept(self, data: bytes) -> None:
        """Take bytes of the current request; seal every whole chunk, and the last piece of
        the file once it is all here. More than the declared length is refused."""
        if self.gone:
            raise errors.NotFound()
        if self.offset + len(self._torn) + len(data) > self.length:
            self._torn.clear()
            raise BeyondLength(name=self.writer.filename)
        self._torn += data
        while len(self._torn) >= SEAL_BYTES:
            self._seal(bytes(self._torn[:SEAL_BYTES]))
            del self._torn[:SEAL_BYTES]
        if self._torn and self.offset + len(self._torn) == self.length:
            self._seal(bytes(self._torn))
            self._torn.clear()

    def _seal(self, chunk: bytes) -> None:
        self.writer.feed(chunk)  # raises (and aborts the writer) on a refused type or size
        self.offset += len(chunk)

    def end_request(self) -> None:
        """The request ended, whole or torn: what did not fill a chunk is discarded."""
        self._torn.clear()
        self.busy = False
        self._idle.set()

    def finish(self) -> StagedFile:
        return self.writer.finish()

    def abort(self) -> None:
        """Shred: the encrypted temporary file goes, the plaintext in memory is dropped."""
        self.gone = True
        self._torn.clear()
        self.writer.abort()


def check_new_upload(allowance: Allowance, in_progress: list[PartialUpload], length: int,
                     filename: str) -> None:
    """Refuse at creation an upload the report's limits could not take, counting the
    uploads already under way at their declared lengths (each is held to its length)."""
    limits = allowance.limits
    if length == 0:
        raise errors.EmptyFile(name=filename)
    if length > allowance.file_limit_bytes:
        raise errors.FileTooLarge(name=filename, limit=limits.max_file_mb)
    reserved = sum(u.length for u in in_progress)
    if allowance.bytes_used + reserved + length > allowance.total_limit_bytes:
        raise errors.TotalTooLarge(name=filename, limit=limits.max_total_mb)
    if allowance.files_used + len(in_progress) >= limits.max_files:
        raise errors.TooManyFiles(name=filename, limit=limits.max_files)
