"""What one thread message says, and how it is sealed (issue 16): pure functions over bytes.

A thread message's content is a short text and at most one attachment. It is sealed twice
with anonymous sealed boxes (`crypto.keys.BoxPublicKey.seal`): to the reader's X25519 key
(what travels, in `protocol.engagements.ThreadBody.sealed`) and to the author's own (what
the author's node keeps, so the author reads their history). Neither node can open either.

The sealed plaintext binds the content to its thread and message (a label, the thread id and
the message id, then canonical JSON), so a copy moved to another message, or another thread,
never opens as that one (`parse`). An attachment is accepted by its content, never its name
or declared type (`node.intake.filetypes.sniff`: the reporter's rules; HTML and SVG, which
could run script, are refused), and bounded so that the sealed message stays inside one
`Base64Blob` of the wire.
"""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
from dataclasses import dataclass
from typing import Final

from crypto.keys import BoxPublicKey
from node import errors
from node.i18n import N_
from node.intake.filetypes import sniff

_LABEL: Final = b"backup-expert-thread-v1\x00"
MAX_TEXT_CHARS: Final = 4000
# Sealed, inside JSON as base64, then base64 again on the wire: 256 KiB stays well inside
# `protocol.message.Base64Blob` (700,000 characters).
MAX_ATTACHMENT_BYTES: Final = 256 * 1024
MAX_FILENAME_CHARS: Final = 120


class EmptyMessage(errors.InvalidInput):
    message = N_("Write a message or attach a file.")


class MessageTooLong(errors.InvalidInput):
    message = N_("This message is too long: at most %(limit)s characters.")


class AttachmentTooLarge(errors.InvalidInput):
    message = N_("This file is too large to attach: at most 256 KB.")


class AttachmentNotAllowed(errors.FileTypeNotAllowed):
    message = N_("This kind of file cannot be attached: photos, sound, video, PDF, office "
                 "documents and plain text can.")


class Unreadable(Exception):
    """The plaintext is not a message of this thread and id (altered, or moved)."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    media_type: str  # sniffed, never declared
    data: bytes


@dataclass(frozen=True)
class Content:
    text: str
    attachment: Attachment | None = None


def _clean_name(name: str) -> str:
    """A file name as it is kept: no path, no control or direction characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    return kept.strip()[:MAX_FILENAME_CHARS] or "file"


def checked(text: str, attachment: tuple[str, bytes] | None) -> Content:
    """The content as written (text, and a file's name and bytes, if any), checked:
    `EmptyMessage`, `MessageTooLong`, `AttachmentTooLarge`, `AttachmentNotAllowed`."""
    text = text.strip()
    if len(text) > MAX_TEXT_CHARS:
        raise MessageTooLong(field="text", limit=MAX_TEXT_CHARS)
    kept = None
    if attachment is not None and attachment[1]:
        name, data = attachment
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise AttachmentTooLarge(field="file")
        found = sniff(data[:8192])
        if found is None:
            raise AttachmentNotAllowed(field="file", name=_clean_name(name))
        kept = Attachment(_clean_name(name), found.mime, data)
    if not text and kept is None:
        raise EmptyMessage(field="text")
    return Content(text, kept)


def _head(thread_id: str, message_id: str) -> bytes:
    return _LABEL + bytes.fromhex(thread_id) + bytes.fromhex(message_id)


def plaintext(content: Content, *, thread_id: str, message_id: str) -> bytes:
    body: dict[str, object] = {"text": content.text}
    if content.attachment is not None:
        body["file"] = {"name": content.attachment.filename,
                        "type": content.attachment.media_type,
                        "data": base64.b64encode(content.attachment.data).decode("ascii")}
    return _head(thread_id, message_id) + json.dumps(
        body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def seal(content: Content, *, thread_id: str, message_id: str, to: str) -> bytes:
    """`content` sealed to the X25519 key `to` (hex)."""
    return BoxPublicKey(bytes.fromhex(to)).seal(
        plaintext(content, thread_id=thread_id, message_id=message_id))


def parse(opened: bytes, *, thread_id: str, message_id: str) -> Content:
    """The content of an opened message of `thread_id` / `message_id`; `Unreadable` for
    anything else (another message's plaintext, malformed JSON, a bad field, a file whose
    content is not an allowed type or too large)."""
    head = _head(thread_id, message_id)
    if not opened.startswith(head):
        raise Unreadable("not this message")
    try:
        body = json.loads(opened[len(head):].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Unreadable("not JSON") from None
    if not isinstance(body, dict) or set(body) - {"text", "file"}:
        raise Unreadable("unknown fields")
    text = body.get("text")
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
        raise Unreadable("text")
    file = body.get("file")
    if file is None:
        if not text:
            raise Unreadable("empty")
        return Content(text)
    if (not isinstance(file, dict) or set(file) != {"name", "type", "data"}
            or not all(isinstance(file[k], str) for k in file)):
        raise Unreadable("file")
    try:
        data = base64.b64decode(file["data"], validate=True)
    except (binascii.Error, ValueError):
        raise Unreadable("file data") from None
    if len(data) > MAX_ATTACHMENT_BYTES or not data:
        raise Unreadable("file size")
    found = sniff(data[:8192])
    if found is None or found.mime != file["type"]:
        raise Unreadable("file type")  # what the author's node sniffed, checked again
    return Content(text, Attachment(_clean_name(file["name"]), found.mime, data))
