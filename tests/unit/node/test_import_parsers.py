"""The parsers of field-tool exports (issue 19), fuzzed: any bytes, any JSON shape, any CSV
give submissions or `ExportUnreadable`/`AttachmentMissing`, and any answers give a report or
`AnswerUnusable` -- never another exception."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.imports import formats, mapping, odk_encrypted

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


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_kobo_any_bytes(data: bytes, tmp_path: Path) -> None:
    try:
        formats.read_kobo(data, tmp_path)
    except PARSE_ERRORS:
        pass


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
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


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_odk_any_bytes(data: bytes, tmp_path: Path) -> None:
    try:
        formats.read_odk(data, tmp_path, ["photo"])
    except PARSE_ERRORS:
        pass


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
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


@settings(max_examples=200, deadline=None)
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


# Encrypted ODK submissions as Briefcase pulls them: any manifest, any encrypted files, any
# decrypted XML give submissions or a clear error.
FORM_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
BRIEFCASE_ERRORS = (formats.ExportUnreadable, odk_encrypted.NotDecrypted)
b64ish = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
                 max_size=400)


def _instance(root: Path, manifest: bytes, files: dict[str, bytes]) -> Path:
    shutil.rmtree(root / "instances", ignore_errors=True)
    folder = root / "instances" / "uuid1"
    folder.mkdir(parents=True)
    (folder / "submission.xml").write_bytes(manifest)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return root


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(manifest=st.binary(max_size=400), enc=st.binary(max_size=64))
def test_briefcase_any_bytes(manifest: bytes, enc: bytes, tmp_path: Path) -> None:
    try:
        odk_encrypted.read_briefcase(
            _instance(tmp_path, manifest, {"submission.xml.enc": enc}), FORM_KEY)
    except BRIEFCASE_ERRORS:
        pass


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=b64ish, signature=b64ish, instance=st.text(max_size=40),
       media=st.lists(st.text(max_size=12), max_size=3), enc=st.binary(max_size=64),
       version=st.none() | st.text(max_size=8))
def test_briefcase_any_manifest(key: str, signature: str, instance: str, media: list[str],
                                enc: bytes, version: str | None, tmp_path: Path) -> None:
    files = "".join(f"<file>{escape(m)}</file>" for m in media)
    attr = f' version="{escape(version)}"' if version is not None else ""
    manifest = (f'<data id="f"{attr} encrypted="yes"><base64EncryptedKey>{key}'
                f"</base64EncryptedKey><meta><instanceID>{escape(instance)}</instanceID></meta>"
                f"<media>{files}</media><encryptedXmlFile>submission.xml.enc</encryptedXmlFile>"
                f"<base64EncryptedElementSignature>{signature}"
                "</base64EncryptedElementSignature></data>")
    try:
        odk_encrypted.read_briefcase(_instance(tmp_path, manifest.encode(), {
            "submission.xml.enc": enc, **{m: enc for m in media if m.endswith(".enc")
                                          and odk_encrypted._plain(m)}}),
            FORM_KEY)
    except (*BRIEFCASE_ERRORS, formats.AttachmentMissing):
        pass


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_decrypted_xml_any_text(text: str) -> None:
    try:
        root = odk_encrypted._parse(text.encode(), 1, "submission.xml.enc")
    except formats.ExportUnreadable:
        return
    answers = odk_encrypted._answers(root)
    assert all(isinstance(v, str | list) for v in answers.values())


def test_a_document_type_is_refused() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><d>&b;</d>')
    try:
        odk_encrypted._parse(bomb, 1, "submission.xml.enc")
    except formats.ExportUnreadable:
        return
    raise AssertionError("a document type was parsed")
