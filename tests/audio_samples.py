"""Small sound files built byte by byte for tests (issue 20): the container headers that
phones' recorders write -- WebM/Opus (Android browsers), Ogg/Opus, MP4/AAC (iOS), WAV --
with `payload` as the "sound", so that canary checks can look for it on disk."""

from __future__ import annotations

import struct


def _ebml(element_id: bytes, body: bytes) -> bytes:
    assert len(body) < 2**56
    return element_id + b"\x01" + len(body).to_bytes(7, "big") + body


def _ebml_short(element_id: bytes, body: bytes) -> bytes:
    assert len(body) < 127
    return element_id + bytes([0x80 | len(body)]) + body


def _track(number: int, kind: int, codec: bytes) -> bytes:
    return _ebml(b"\xae", _ebml_short(b"\xd7", bytes([number]))
                 + _ebml_short(b"\x83", bytes([kind])) + _ebml_short(b"\x86", codec))


def webm(payload: bytes, *, video: bool = False, doctype: bytes = b"webm") -> bytes:
    """A WebM file with an Opus track (and a VP8 track if `video`), then `payload`."""
    header = _ebml(b"\x1a\x45\xdf\xa3", _ebml_short(b"\x42\x86", b"\x01")
                   + _ebml_short(b"\x42\x82", doctype))
    tracks = _track(1, 2, b"A_OPUS") + (_track(2, 1, b"V_VP8") if video else b"")
    segment = _ebml(b"\x16\x54\xae\x6b", tracks) + _ebml(b"\x1f\x43\xb6\x75", payload)
    return header + b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff" + segment


def ogg_opus(payload: bytes) -> bytes:
    """An Ogg page holding an RFC 7845 identification header, then `payload`."""
    head = b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00"
    page = (b"OggS\x00\x02" + b"\x00" * 8 + struct.pack("<I", 1234) + b"\x00" * 8
            + bytes([1, len(head)]) + head)
    return page + payload


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def mp4(payload: bytes, *, handlers: tuple[bytes, ...] = (b"soun",),
        brand: bytes = b"iso5") -> bytes:
    """An ISO BMFF file (as iOS records: brand iso5, compatible mp41) whose tracks have the
    given handler types, then `payload` in an mdat box."""
    ftyp = _box(b"ftyp", brand + b"\x00\x00\x02\x00" + brand + b"iso6mp41")
    traks = b"".join(_box(b"trak", _box(b"mdia", _box(
        b"hdlr", b"\x00" * 8 + h + b"\x00" * 12 + b"Handler\x00"))) for h in handlers)
    return ftyp + _box(b"moov", traks) + _box(b"mdat", payload)


def wav(payload: bytes) -> bytes:
    """A PCM WAV (8 kHz, 8 bit, mono) whose samples are `payload`."""
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack(
        "<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body
