"""What is inside a file about to leave in a court bundle, for the coordinator's preview
(issue 12): a photo's embedded position and device, whether a file is a voice recording.
Read in memory from the decrypted bytes, never written anywhere.

EXIF is read with Pillow: it knows the metadata containers of JPEG (APP1), PNG (eXIf),
WebP and TIFF and their byte orders and offsets, which our own parser would have to
restate. Only the metadata block is read (``Image.open`` parses headers lazily; no pixel
is decoded). Files are hostile input: whatever Pillow raises on a broken file becomes
"could not be read", never an error page, and the preview says so.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from node.i18n import N_

_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_MAKE, _MODEL, _SOFTWARE, _DATETIME = 0x010F, 0x0110, 0x0131, 0x0132
_DATETIME_ORIGINAL = 0x9003
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4

KIND_LABELS = {
    "photo": N_("Photo"), "voice": N_("Voice recording"), "video": N_("Video (with sound)"),
    "document": N_("Document"), "other": N_("Other file"),
}
FACT_LABELS = {
    "gps": N_("Embedded GPS position: %(value)s"),
    "device": N_("Camera or phone model: %(value)s"),
    "software": N_("Software: %(value)s"),
    "taken": N_("Date taken (device clock): %(value)s"),
    "voice": N_("A recording of a voice: it may identify the speaker"),
    "unreadable": N_("Its embedded metadata could not be read: open it before it leaves"),
}


@dataclass
class FileFacts:
    kind: str
    facts: list[tuple[str, str]] = field(default_factory=list)  # (FACT_LABELS key, value)

    @property
    def has_location(self) -> bool:
        return any(k == "gps" for k, _ in self.facts)


def kind_of(mime: str | None) -> str:
    top = (mime or "").split("/", 1)[0]
    return {"image": "photo", "audio": "voice", "video": "video"}.get(top) or (
        "document" if mime in ("application/pdf", "text/plain") else "other")


def inspect(data: bytes, mime: str | None) -> FileFacts:
    """The facts a coordinator must see before `data` leaves."""
    kind = kind_of(mime)
    out = FileFacts(kind)
    if kind in ("voice", "video"):
        out.facts.append(("voice", ""))
    if kind == "photo":
        out.facts.extend(exif_facts(data))
    return out


def exif_facts(data: bytes) -> list[tuple[str, str]]:
    """GPS position, device, software and date from a photo's EXIF, if any."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. DecompressionBombWarning, truncated EXIF
            with Image.open(io.BytesIO(data)) as image:
                exif = image.getexif()
                facts = _facts(exif)
    except Exception:  # noqa: BLE001 -- hostile files: any failure is "could not be read"
        return [("unreadable", "")]
    return facts


def _facts(exif: Any) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = []
    gps = exif.get_ifd(_GPS_IFD)
    if gps:
        lat = _degrees(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF), "S")
        lon = _degrees(gps.get(_GPS_LON), gps.get(_GPS_LON_REF), "W")
        facts.append(("gps", f"{lat:.5f}, {lon:.5f}" if lat is not None and lon is not None
                      else "present"))
    device = " ".join(str(exif.get(t)).strip("\x00 ") for t in (_MAKE, _MODEL)
                      if exif.get(t))
    if device:
        facts.append(("device", device[:120]))
    if exif.get(_SOFTWARE):
        facts.append(("software", str(exif.get(_SOFTWARE)).strip("\x00 ")[:120]))
    taken = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if taken:
        facts.append(("taken", str(taken).strip("\x00 ")[:40]))
    return facts


def _degrees(value: Any, ref: Any, negative: str) -> float | None:
    try:
        d, m, s = (Fraction(float(x)) for x in value)
        degrees = float(d + m / 60 + s / 3600)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return -degrees if str(ref).strip("\x00 ").upper() == negative else degrees
