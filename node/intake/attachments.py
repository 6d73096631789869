"""Receiving attachments: sniff the type, enforce limits, encrypt while streaming to disk.

Originals are kept byte for byte as evidence (encrypted with the report's data key), with
the SHA-256 of the plaintext recorded in the encrypted metadata for the chain of custody.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from crypto.filestream import StreamEncryptor
from crypto.keys import DataKey
from node import errors
from node.config import Limits
from node.intake.filetypes import SNIFF_BYTES, NotAudio, Sniffed, sniff
from node.storage.blobstore import BlobStore, BlobWriter

MB = 1024 * 1024


def item_context(item_id: str) -> bytes:
    return b"item:" + item_id.encode()


def meta_context(item_id: str) -> bytes:
    return b"item-meta:" + item_id.encode()


def safe_filename(name: str | None) -> str:
    """A display name: no path, no control characters, bounded length."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in unicodedata.normalize("NFC", base)
                   if unicodedata.category(c)[0] != "C")
    return base.strip()[:120] or "file"


@dataclass(frozen=True)
class StagedFile:
    """An encrypted attachment on disk, not yet attached to a report row."""

    item_id: str
    blob_name: str
    stored_bytes: int
    filename: str
    mime: str
    category: str
    size: int
    sha256: str
    received_at: str

    def meta_json(self) -> bytes:
        return json.dumps({
            "filename": self.filename, "mime": self.mime, "category": self.category,
            "size": self.size, "sha256": self.sha256, "received_at": self.received_at,
        }, ensure_ascii=False).encode()


class Allowance:
    """How many files and bytes a report may still receive."""

    def __init__(self, limits: Limits, files_used: int = 0, bytes_used: int = 0) -> None:
        self.limits = limits
        self.files_used = files_used
        self.bytes_used = bytes_used

    @property
    def file_limit_bytes(self) -> int:
        return self.limits.max_file_mb * MB

    @property
    def total_limit_bytes(self) -> int:
        return self.limits.max_total_mb * MB


class AttachmentWriter:
    """Feed one file's bytes as they arrive; `finish()` makes it durable, else `abort()`.
    `audio_only`: a voice recording (issue 20), refused unless its content is sound."""

    def __init__(self, blobs: BlobStore, key: DataKey, allowance: Allowance,
                 filename: str | None, now: datetime, *, audio_only: bool = False) -> None:
        self.filename = safe_filename(filename)
        self._audio_only = audio_only
        self._allowance = allowance
        if allowance.files_used >= allowance.limits.max_files:
            raise errors.TooManyFiles(name=self.filename, limit=allowance.limits.max_files)
        self.item_id = secrets.token_hex(16)
        self._enc = StreamEncryptor(key, item_context(self.item_id))
        self._blob_cm = blobs.create()
        self._blob: BlobWriter = self._blob_cm.__enter__()
        self._blob.write(self._enc.start())
        self._head = bytearray()
        self._sniffed: Sniffed | None = None
        self._sha = hashlib.sha256()
        self._size = 0
        self._now = now
        self._done = False

    def feed(self, chunk: bytes) -> None:
        try:
            self._size += len(chunk)
            if self._size > self._allowance.file_limit_bytes:
                raise errors.FileTooLarge(name=self.filename,
                                          limit=self._allowance.limits.max_file_mb)
            if self._allowance.bytes_used + self._size > self._allowance.total_limit_bytes:
                raise errors.TotalTooLarge(name=self.filename,
                                           limit=self._allowance.limits.max_total_mb)
            self._sha.update(chunk)
            if self._sniffed is None:
                self._head += chunk
                if len(self._head) < SNIFF_BYTES:
                    return
                self._decide()
                chunk, self._head = bytes(self._head), bytearray()
            self._blob.write(self._enc.update(chunk))
        except BaseException:
            self.abort()
            raise

    def _decide(self) -> None:
        self._sniffed = sniff(bytes(self._head))
        if self._sniffed is None:
            raise errors.FileTypeNotAllowed(name=self.filename)
        if self._audio_only and self._sniffed.category != "audio":
            raise NotAudio(name=self.filename)

    def finish(self) -> StagedFile:
        try:
            if self._size == 0:
                raise errors.EmptyFile(name=self.filename)
            if self._sniffed is None:
                self._decide()
                self._blob.write(self._enc.update(bytes(self._head)))
            self._blob.write(self._enc.finish())
            self._blob_cm.__exit__(None, None, None)
        except BaseException:
            self.abort()
            raise
        self._done = True
        self._allowance.files_used += 1
        self._allowance.bytes_used += self._size
        assert self._sniffed is not None
        return StagedFile(
            item_id=self.item_id, blob_name=self._blob.name, stored_bytes=self._blob.size,
            filename=self.filename, mime=self._sniffed.mime, category=self._sniffed.category,
            size=self._size, sha256=self._sha.hexdigest(), received_at=self._now.isoformat())

    def abort(self) -> None:
        if not self._done:
            self._done = True
            self._blob.abort()
