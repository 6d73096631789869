"""Reading the exports of field tools, from local files only (no network).

- KoboToolbox: the JSON its API v2 returns for a form's data
  (``/api/v2/assets/<uid>/data/?format=json``): ``{"count": .., "results": [..]}``, each
  submission with ``_id``, ``_uuid``, ``_submission_time``, ``_attachments`` and its answers
  under their XLSForm group paths (``group/question``). Attachments are read from a folder
  exported beside it: ``<media>/<_uuid>/<name>`` or ``<media>/<name>``.
- ODK Central: the submissions CSV of its export (columns ``SubmissionDate``, the answers
  under ``group-question``, ``meta-instanceID``, ``KEY``, ...), with its ``media`` folder; the
  columns that name a media file are listed in the mapping (``attachments``).

A parser raises `ExportUnreadable` (with the submission's position) and nothing else, on
any input: it is fuzzed with Hypothesis.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785

from node import errors
from node.i18n import N_

SOURCES = ("kobo", "odk")
MAX_SUBMISSIONS = 1_000_000
# ODK Central's CSV cells can hold long free text; bound them as the intake bounds answers.
csv.field_size_limit(1_000_000)


class ExportUnreadable(errors.InvalidInput):
    message = N_("The export could not be read (%(what)s, submission %(number)s). Check that "
                 "it is the tool's own export, unchanged. Nothing was imported.")


class AttachmentMissing(errors.InvalidInput):
    message = N_("The file %(name)s of submission %(number)s is not in the media folder. "
                 "Export the media with the data, or give the folder with --media. "
                 "Nothing was imported.")


@dataclass(frozen=True)
class MediaFile:
    """A file of a submission: in the export's media folder, or decrypted in memory (the
    media of an encrypted ODK submission, never written in clear)."""

    name: str
    path: Path | None = None
    data: bytes | None = None

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return self.path.stat().st_size

    def chunks(self, size: int = 1 << 16) -> Iterator[bytes]:
        if self.data is not None:
            yield from (self.data[i:i + size] for i in range(0, len(self.data), size))
            return
        assert self.path is not None
        with self.path.open("rb") as f:
            while chunk := f.read(size):
                yield chunk


@dataclass(frozen=True)
class Submission:
    """One submission as the export gives it."""

    source: str
    number: int
    """Its position in the export, from 1 (what messages and the dry run show)."""
    uuid: str
    submitted_at: str | None
    answers: dict[str, Any]
    attachments: tuple[MediaFile, ...]
    original: bytes
    """The submission as exported: Kobo's JSON object as canonical JSON (RFC 8785), a
    one-row CSV with ODK's header, or an encrypted ODK submission's decrypted XML."""
    original_name: str
    original_mime: str


def read_kobo(data: bytes, media: Path | None) -> list[Submission]:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        raise ExportUnreadable(what="JSON", number=0) from None
    results = doc.get("results") if isinstance(doc, dict) else doc
    if not isinstance(results, list) or len(results) > MAX_SUBMISSIONS:
        raise ExportUnreadable(what="results", number=0)
    out = []
    for number, sub in enumerate(results, start=1):
        if not isinstance(sub, dict):
            raise ExportUnreadable(what="submission", number=number)
        uuid = sub.get("_uuid") or sub.get("meta/instanceID")
        if not isinstance(uuid, str) or not uuid.strip():
            raise ExportUnreadable(what="_uuid", number=number)
        uuid = uuid.strip().removeprefix("uuid:")
        when = sub.get("_submission_time")
        if when is not None and not isinstance(when, str):
            raise ExportUnreadable(what="_submission_time", number=number)
        names = []
        listed = sub.get("_attachments") or []
        if not isinstance(listed, list):
            raise ExportUnreadable(what="_attachments", number=number)
        for att in listed:
            name = att.get("media_file_basename") or att.get("filename") \
                if isinstance(att, dict) else None
            if not isinstance(name, str) or not name:
                raise ExportUnreadable(what="_attachments", number=number)
            names.append(name)
        try:
            original = rfc8785.dumps(sub)
        except (rfc8785.CanonicalizationError, ValueError, TypeError, RecursionError):
            raise ExportUnreadable(what="JSON", number=number) from None
        answers = {k: v for k, v in sub.items() if isinstance(k, str) and not k.startswith("_")}
        out.append(Submission(
            "kobo", number, uuid, when, answers,
            _find_media(media, names, number, subfolder=uuid), original,
            "kobo-submission.json", "application/json"))
    return out


def read_odk(data: bytes, media: Path | None,
             attachment_columns: Sequence[str] = ()) -> list[Submission]:
    try:
        text = data.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except (UnicodeDecodeError, csv.Error):
        raise ExportUnreadable(what="CSV", number=0) from None
    if not rows or len(rows) > MAX_SUBMISSIONS:
        raise ExportUnreadable(what="CSV", number=0)
    header = rows[0]
    if "KEY" not in header or len(set(header)) != len(header):
        raise ExportUnreadable(what="KEY", number=0)
    out = []
    for number, row in enumerate(rows[1:], start=1):
        if not row:
            continue  # a blank line at the end
        if len(row) != len(header):
            raise ExportUnreadable(what="CSV", number=number)
        answers = dict(zip(header, row, strict=True))
        uuid = (answers.get("meta-instanceID") or answers["KEY"]).strip().removeprefix("uuid:")
        if not uuid:
            raise ExportUnreadable(what="KEY", number=number)
        names = [answers[c] for c in attachment_columns if answers.get(c)]
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerow(row)
        out.append(Submission(
            "odk", number, uuid, answers.get("SubmissionDate") or None, answers,
            _find_media(media, names, number, subfolder=None),
            buf.getvalue().encode("utf-8"), "odk-submission.csv", "text/csv"))
    return out


def _find_media(media: Path | None, names: list[str], number: int, *,
                subfolder: str | None) -> tuple[MediaFile, ...]:
    found = []
    for name in names:
        # the export names a file; only its last segment is used, so no name leaves the folder
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        if base in ("", ".", "..") or "\0" in base or media is None:
            raise AttachmentMissing(name=base or "?", number=number)
        candidates = ([media / subfolder / base] if subfolder and _plain(subfolder) else []) \
            + [media / base]
        path = next((p for p in candidates if _is_file(p)), None)
        if path is None:
            raise AttachmentMissing(name=base, number=number)
        found.append(MediaFile(path.name, path=path))
    return tuple(found)


def _plain(segment: str) -> bool:
    return "/" not in segment and "\\" not in segment and segment not in (".", "..")


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for the file system
        return False
