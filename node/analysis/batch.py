"""The batch side of suggested codings (issue 17): `backup-node suggest-codings`.

`run(source, sink, model)` reads JSON lines ``{"id": ..., "text": ..., "language": ...}``
(``language`` optional) from a binary stream and writes one JSON line per input line, in
order, in the contract of the issue: ``{"id", "language", "is_crsv", "categories",
"perpetrator_affiliation", "perpetrator_affiliations", "confidence", "evidence"}`` (plus
``"evidence_spans"``, and ``"truncated": true`` when the text was over 100 KB and was cut).

Bad input loses nothing else: a line that is not UTF-8, not JSON, not an object, or lacks
``id`` or ``text`` (or has a text or language that is not a string) is answered with
``{"line": N, "error": "..."}`` (N counts from 1; the ``id`` is echoed when there is one)
and the run goes on. A line holding only spaces is no input and gets no answer, so a
trailing newline never makes a phantom answer. The exit code is 0 unless the input could
not be read (`READ_FAILED`).

No text leaves the process: the engine (`suggest.py`) is offline, and nothing here logs a
text or an error about its content -- an error says what is wrong with the line's shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from node.analysis.model import Model
from node.analysis.suggest import suggest

READ_FAILED = 1


class _LineError(ValueError):
    pass


def _record(raw_line: bytes) -> dict[str, Any]:
    try:
        line = raw_line.decode("utf-8")
    except UnicodeDecodeError:
        raise _LineError("the line is not UTF-8") from None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _LineError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise _LineError("not valid JSON (nested too deeply)") from None
    if not isinstance(record, dict):
        raise _LineError("not a JSON object")
    return record


def _check(record: dict[str, Any]) -> tuple[Any, str, str | None]:
    missing = [k for k in ("id", "text") if k not in record]
    if missing:
        raise _LineError(f"missing {' and '.join(repr(k) for k in missing)}")
    record_id, text, language = record["id"], record["text"], record.get("language")
    if isinstance(record_id, dict | list):
        raise _LineError("'id' must be a string or a number")
    if not isinstance(text, str):
        raise _LineError("'text' must be a string")
    if language is not None and (not isinstance(language, str) or len(language) > 16):
        raise _LineError("'language' must be a language code (a short string)")
    return record_id, text, (language.strip().lower() or None) if language else None


def answers(lines: Iterator[bytes], model: Model | None = None) -> Iterator[dict[str, Any]]:
    """One answer per non-blank input line, in order."""
    for number, raw_line in enumerate(lines, start=1):
        if not raw_line.strip():
            continue
        record: dict[str, Any] = {}
        try:
            record = _record(raw_line)
            record_id, text, language = _check(record)
        except _LineError as exc:
            error: dict[str, Any] = {"line": number, "error": str(exc)}
            if "id" in record and not isinstance(record["id"], dict | list):
                error["id"] = record["id"]
            yield error
            continue
        yield suggest(text, language, model).as_record(record_id)


def run(source: IO[bytes], sink: IO[bytes], model: Model | None = None) -> int:
    """Answer every line of `source` on `sink`; flushed line by line so that a caller can
    pipe one report at a time. 0, or READ_FAILED when the input could not be read."""
    failed = False

    def lines() -> Iterator[bytes]:
        nonlocal failed
        try:
            yield from source
        except OSError:
            failed = True

    for answer in answers(lines(), model):
        sink.write(json.dumps(answer, ensure_ascii=False).encode("utf-8") + b"\n")
        sink.flush()
    return READ_FAILED if failed else 0
