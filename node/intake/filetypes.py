"""What a reporter may attach, decided by the file's content, never its name or declared type.

`filetype` reads magic bytes from the head of the file. Plain text has no magic number: it
is accepted when the head decodes as UTF-8 without control characters. Anything else --
executables, archives, HTML, SVG (which can carry script) -- is refused.

Voice recordings (issue 20) come in containers that also carry video: WebM/Matroska from
Android browsers' MediaRecorder, MP4 from iOS, Ogg. Their magic bytes say only
"container"; the tracks they declare near the start say "sound only". `_audio_only`
reads those declarations: Matroska CodecID elements (``A_...`` / ``V_...``, Matroska
specification, Tracks), ISO BMFF handler boxes (``hdlr`` of type ``soun`` / ``vide``,
ISO/IEC 14496-12 section 8.4.3) and Ogg stream headers (RFC 7845 ``OpusHead``, Vorbis,
Theora). A container with any video track stays a video.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import filetype

from node import errors
from node.i18n import N_

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
    # never reported by `filetype`; what `_audio_only` reads in containers (and the
    # extensions a court bundle names them with)
    "weba": ("audio", "audio/webm"), "mka": ("audio", "audio/x-matroska"),
    "ogv": ("video", "video/ogg"),
    "pdf": ("document", "application/pdf"),
    "docx": ("document",
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "doc": ("document", "application/msword"),
    "odt": ("document", "application/vnd.oasis.opendocument.text"),
    "rtf": ("document", "application/rtf"),
}


class NotAudio(errors.FileTypeNotAllowed):
    """A file sent as a voice recording that is not sound (a photo named ``.webm``...)."""

    message = N_("The file %(name)s was not added as a recording: it is not a sound "
                 "recording.")


def sniff(head: bytes) -> Sniffed | None:
    """Classify a file by its first bytes; None if it is not an allowed type."""
    if not head:
        return None
    kind = filetype.guess(head)
    if kind is not None:
        allowed = _ALLOWED.get(kind.extension)
        if allowed is None:
            return None
        audio = _audio_only(kind.extension, head)
        if audio is not None:
            return audio
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


# Matroska: a CodecID element (ID 0x86) with a one-byte size, holding "A_..." or "V_...".
_MKV_CODEC = re.compile(rb"\x86[\x81-\xbf]([AVS])_")
# ISO BMFF: a handler box: size, "hdlr", version and flags, pre_defined, handler type.
_BMFF_HANDLER = re.compile(rb"hdlr.{8}(soun|vide)", re.DOTALL)
_CONTAINERS = frozenset({"webm", "mkv", "mp4", "m4v", "mov", "3gp", "m4a", "ogg"})


def _audio_only(extension: str, head: bytes) -> Sniffed | None:
    """A container whose head declares sound tracks and no video track, as audio; else
    None (the container's own classification stands)."""
    if extension not in _CONTAINERS:
        return None
    if extension in ("webm", "mkv"):
        kinds = {m.group(1) for m in _MKV_CODEC.finditer(head)}
        if b"A" in kinds and b"V" not in kinds:
            return (Sniffed("audio", "audio/webm", "weba") if extension == "webm"
                    else Sniffed("audio", "audio/x-matroska", "mka"))
        return None
    if extension == "ogg":
        if b"\x80theora" in head:
            return Sniffed("video", "video/ogg", "ogv")
        return Sniffed("audio", "audio/ogg", "ogg")
    handlers = {m.group(1) for m in _BMFF_HANDLER.finditer(head)}
    if extension == "m4a" or (handlers == {b"soun"}):
        return Sniffed("audio", "audio/mp4", "m4a")
    return None
