"""What a reporter may attach, decided by the file's content, never its name or declared type.

`filetype` reads magic bytes from the head of the file. Plain text has no magic number: it
is accepted when the head decodes as UTF-8 without control characters. Anything else --
executables, archives, HTML, SVG (which can carry script) -- is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import filetype

SNIFF_BYTES = 8192


@dataclass(frozen=True)
class Sniffed:
    category: str  # image | audio | video | document
    mime: str
    extension: str


_ALLOWED: dict[str, tuple[str, str]] = {
    # extension reported by filetype -> (category, canonical mime)
    "jpg": ("image", "image/jpeg"), "png": ("image", "image/png"),
    "gif": ("image", "image/gif"), "webp": ("image", "image/webp"),
    "heic": ("image", "image/heic"), "avif": ("image", "image/avif"),
    "bmp": ("image", "image/bmp"), "tif": ("image", "image/tiff"),
    "mp3": ("audio", "audio/mpeg"), "m4a": ("audio", "audio/mp4"),
    "ogg": ("audio", "audio/ogg"), "wav": ("audio", "audio/wav"),
    "amr": ("audio", "audio/amr"), "aac": ("audio", "audio/aac"),
    "flac": ("audio", "audio/flac"), "aiff": ("audio", "audio/aiff"),
    "mp4": ("video", "video/mp4"), "m4v": ("video", "video/x-m4v"),
    "mov": ("video", "video/quicktime"), "3gp": ("video", "video/3gpp"),
    "webm": ("video", "video/webm"), "mkv": ("video", "video/x-matroska"),
    "avi": ("video", "video/x-msvideo"), "mpg": ("video", "video/mpeg"),
    "pdf": ("document", "application/pdf"),
    "docx": ("document",
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "doc": ("document", "application/msword"),
    "odt": ("document", "application/vnd.oasis.opendocument.text"),
    "rtf": ("document", "application/rtf"),
}


def sniff(head: bytes) -> Sniffed | None:
    """Classify a file by its first bytes; None if it is not an allowed type."""
    if not head:
        return None
    kind = filetype.guess(head)
    if kind is not None:
        allowed = _ALLOWED.get(kind.extension)
        if allowed is None:
            return None
        return Sniffed(allowed[0], allowed[1], kind.extension)
    if _looks_like_text(head):
        return Sniffed("document", "text/plain", "txt")
    return None


_INVISIBLE_LEAD = " \t\n\r\f\v\ufeff\u200b\u00a0\u2060"


def _looks_like_text(head: bytes) -> bool:
    sample = head[:SNIFF_BYTES]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the sample is fine
        if exc.start < len(sample) - 3:
            return False
        text = sample[: exc.start].decode("utf-8")
    # A byte-order mark (or a zero-width space) is not whitespace to str.lstrip, but a
    # browser skips it: "\ufeff<html>" is HTML too.
    if text.lstrip(_INVISIBLE_LEAD).startswith("<"):
        return False  # HTML, XML, SVG: markup that a browser could run
    return not any(ord(c) < 32 and c not in "\t\n\r\f" for c in text)
