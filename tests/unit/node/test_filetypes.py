"""Attachments are classified by content, never by name; unsafe types are refused.
Fuzzed with Hypothesis: the sniffer never crashes on any bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from node.demo import tiny_png
from node.intake.filetypes import Sniffed, sniff


def test_real_formats() -> None:
    assert sniff(tiny_png(1)).mime == "image/png"  # type: ignore[union-attr]
    assert sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj").category == "document"  # type: ignore[union-attr]
    assert sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00").mime == "image/jpeg"  # type: ignore[union-attr]
    assert sniff(b"#!AMR\n" + b"\x00" * 32).category == "audio"  # type: ignore[union-attr]
    assert sniff("Plain words, ça va, مرحبا\n".encode()).mime == "text/plain"  # type: ignore[union-attr]


def test_refused_formats() -> None:
    assert sniff(b"MZ\x90\x00\x03\x00\x00\x00") is None  # Windows executable
    assert sniff(b"\x7fELF\x02\x01\x01") is None  # ELF executable
    assert sniff(b"PK\x03\x04" + b"\x00" * 40) is None  # bare zip archive
    assert sniff(b"<svg xmlns='http://www.w3.org/2000/svg'><script>") is None
    assert sniff(b"<!doctype html><script>alert(1)</script>") is None
    assert sniff(b"binary\x00\x01\x02garbage") is None
    assert sniff(b"") is None


@given(st.binary(max_size=9000))
def test_never_crashes(data: bytes) -> None:
    result = sniff(data)
    assert result is None or result.category in {"image", "audio", "video", "document"}


# ------------------------------------------------------------------ voice recordings (issue 20)

def test_what_phones_record_is_sound() -> None:
    from tests.audio_samples import mp4, ogg_opus, wav, webm

    voice = b"\x00\x01 spoken words " * 20
    assert sniff(webm(voice)) == Sniffed("audio", "audio/webm", "weba")  # Android browsers
    assert sniff(webm(voice, doctype=b"matroska")).category == "audio"  # type: ignore[union-attr]
    assert sniff(ogg_opus(voice)) == Sniffed("audio", "audio/ogg", "ogg")  # Firefox
    assert sniff(mp4(voice)) == Sniffed("audio", "audio/mp4", "m4a")  # iOS (iso5 brand)
    assert sniff(mp4(voice, brand=b"M4A ")).mime == "audio/mp4"  # type: ignore[union-attr]
    assert sniff(wav(voice)) == Sniffed("audio", "audio/wav", "wav")


def test_a_container_with_video_stays_a_video() -> None:
    from tests.audio_samples import mp4, webm

    assert sniff(webm(b"frames", video=True)).category == "video"  # type: ignore[union-attr]
    assert sniff(mp4(b"frames", handlers=(b"vide", b"soun"))).category == "video"  # type: ignore[union-attr]
    assert sniff(mp4(b"frames", handlers=(b"vide",))).category == "video"  # type: ignore[union-attr]
    assert sniff(b"OggS\x00\x02" + b"\x00" * 22 + b"\x80theora").category == "video"  # type: ignore[union-attr]


@given(st.sampled_from([b"\x1a\x45\xdf\xa3\x42\x82\x84webm", b"\x00\x00\x00\x18ftypiso5",
                        b"OggS", b"RIFF\x00\x00\x00\x00WAVE"]),
       st.binary(max_size=9000))
def test_containers_never_crash(prefix: bytes, data: bytes) -> None:
    result = sniff(prefix + data)
    assert result is None or result.category in {"image", "audio", "video", "document"}
