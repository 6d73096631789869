"""The parsers of field-tool exports (issue 19), fuzzed: any bytes, any JSON shape, any CSV
give submissions or `ExportUnreadable`/`AttachmentMissing`, and any answers give a report or
`AnswerUnusable` -- never another exception."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.imports import formats, mapping

PARSE_ERRORS = (formats.ExportUnreadable, formats.AttachmentMissing)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12)
answer_keys = st.sampled_from(["n", "r", "y", "needs", "c", "_uuid", "_attachments", "x"])
MAP = mapping.load(b"""
[fields]
narrative = ["n", "x"]
region = "r"
incident_year = "y"
needs = "needs"
[consent]
care = "c"
""")


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_kobo_any_bytes(data: bytes, tmp_path: Path) -> None:
    try:
        formats.read_kobo(data, tmp_path)
    except PARSE_ERRORS:
        pass


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(results=st.lists(st.dictionaries(answer_keys, json_values, max_size=6), max_size=4)
       | json_values)
def test_kobo_any_json(results: object, tmp_path: Path) -> None:
    doc = {"results": results} if isinstance(results, list) else results
    try:
        subs = formats.read_kobo(json.dumps(doc).encode(), tmp_path)
    except PARSE_ERRORS:
        return
    for sub in subs:
        try:
            report = mapping.report_of(sub, MAP)
        except mapping.AnswerUnusable:
            continue
        assert report.consent.granted() in ([], ["care"])


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_odk_any_bytes(data: bytes, tmp_path: Path) -> None:
    try:
        formats.read_odk(data, tmp_path, ["photo"])
    except PARSE_ERRORS:
        pass


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.lists(st.sampled_from(["KEY", "meta-instanceID", "n", "photo", "y", "c"])
                       | st.text(max_size=5), max_size=6),
       rows=st.lists(st.lists(st.text(max_size=12), max_size=7), max_size=4))
def test_odk_any_csv(header: list[str], rows: list[list[str]], tmp_path: Path) -> None:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    try:
        subs = formats.read_odk(buf.getvalue().encode(), tmp_path, ["photo"])
    except PARSE_ERRORS:
        return
    for sub in subs:
        assert sub.uuid
        try:
            mapping.report_of(sub, MAP)
        except mapping.AnswerUnusable:
            pass


@settings(max_examples=200)
@given(text=st.text(max_size=300))
def test_mapping_any_text(text: str) -> None:
    try:
        mapping.load(text.encode())
    except mapping.MappingInvalid:
        pass


def test_media_names_cannot_leave_the_folder(tmp_path: Path) -> None:
    (tmp_path / "secret.png").write_bytes(b"x")
    media = tmp_path / "media"
    media.mkdir()
    doc = {"results": [{"_uuid": "..", "_attachments": [{"filename": "../secret.png"}]}]}
    try:
        formats.read_kobo(json.dumps(doc).encode(), media)
    except formats.AttachmentMissing:
        return
    raise AssertionError("a name outside the media folder was read")
