"""Issue 20: the parts of resumable uploads that need no server -- tus's header parsers
(fuzzed), sealing in whole chunks, and the expiry of abandoned uploads on a real data
directory with the sessions' clock moved by hand."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import passphrase as pw
from crypto.keys import DataKey
from node import errors
from node.context import NodeContext, open_node
from node.demo import tiny_png
from node.intake.partial_uploads import (
    MAX_METADATA_CHARS,
    SEAL_BYTES,
    BadUploadHeader,
    BeyondLength,
    PartialUpload,
    filename_of,
    parse_metadata,
    parse_number,
)
from node.web.reporter.sessions import UPLOAD_SWEEP_SECONDS, Draft, ReporterSessions
from tests.conftest import CANARY, files_containing, make_node

# ------------------------------------------------------------------ parsers


@given(st.integers(min_value=0, max_value=10**19 - 1))
def test_numbers_round_trip(n: int) -> None:
    assert parse_number(str(n), "Upload-Offset") == n


@given(st.text(max_size=40))
def test_numbers_are_plain_ascii_digits_or_refused(value: str) -> None:
    try:
        n = parse_number(value, "Upload-Length")
    except BadUploadHeader:
        assert not (value.isascii() and value.isdigit() and 0 < len(value) <= 19)
        return
    assert value.isascii() and value.isdigit() and n == int(value) >= 0


@pytest.mark.parametrize("value", [None, "", "-1", "+1", " 1", "1 ", "1e3", "0x10", "١٢",
                                   "1" * 20, "1_000"])
def test_numbers_refused(value: str | None) -> None:
    with pytest.raises(BadUploadHeader):
        parse_number(value, "Upload-Offset")


_keys = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126,
                                       blacklist_characters=","), min_size=1, max_size=20)


@given(st.dictionaries(_keys, st.binary(max_size=60), max_size=8))
def test_metadata_round_trips(pairs: dict[str, bytes]) -> None:
    header = ",".join(f"{k} {base64.b64encode(v).decode()}" if v else k
                      for k, v in pairs.items())
    assert parse_metadata(header) == pairs


@given(st.text(max_size=200))
def test_metadata_parser_only_refuses_cleanly(value: str) -> None:
    try:
        parsed = parse_metadata(value)
    except BadUploadHeader:
        return
    assert all(isinstance(k, str) and isinstance(v, bytes) for k, v in parsed.items())
    filename_of(parsed)  # any name decodes to a display string


@pytest.mark.parametrize("value", ["a b c", "a,a", "a !!!", "a Zm9v=", " ,x", "é Zm9v",
                                   "a " + "A" * MAX_METADATA_CHARS])
def test_metadata_refused(value: str) -> None:
    with pytest.raises(BadUploadHeader):
        parse_metadata(value)


def test_metadata_names() -> None:
    assert filename_of(parse_metadata("filename " + base64.b64encode(
        "صورة.png".encode()).decode() + ",filetype aW1hZ2UvcG5n")) == "صورة.png"
    assert filename_of(parse_metadata("name YS5wbmc=")) == "a.png"
    assert filename_of({}) is None


# ------------------------------------------------------------------ sealing and expiry

@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[NodeContext]:
    c = open_node(make_node(tmp_path / "node"), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                  receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    yield c
    c.close()


def _content(size: int) -> bytes:
    head = tiny_png(1) + CANARY.encode()
    return head + os.urandom(size - len(head))


def _upload(ctx: NodeContext, draft: Draft, length: int, expires_at: float) -> PartialUpload:
    writer = ctx.intake.attachment_writer(draft.data_key, draft.allowance, "a.png")
    upload = PartialUpload(length, writer, expires_at)
    draft.uploads[upload.id] = upload
    return upload


def test_only_whole_chunks_count(ctx: NodeContext) -> None:
    draft = Draft(DataKey.generate(), ctx.intake.allowance())
    content = _content(2 * SEAL_BYTES + 100)
    upload = _upload(ctx, draft, len(content), 0.0)
    upload.accept(content[:SEAL_BYTES - 1])
    assert upload.offset == 0
    upload.accept(content[SEAL_BYTES - 1:SEAL_BYTES + 7])
    assert upload.offset == SEAL_BYTES
    upload.end_request()  # torn: the 7 bytes past the chunk are gone
    assert upload.offset == SEAL_BYTES
    with pytest.raises(BeyondLength):
        upload.accept(content[SEAL_BYTES:] + b"!")
    assert upload.offset == SEAL_BYTES
    upload.accept(content[SEAL_BYTES:])  # the last, short piece completes the file
    assert upload.complete
    staged = upload.finish()
    assert staged.size == len(content) and staged.mime == "image/png"


def test_abandoned_uploads_expire_and_are_shredded(ctx: NodeContext) -> None:
    now = [1000.0]
    sessions = ReporterSessions(ctx.config.drafts, monotonic=lambda: now[0])
    session = sessions.new()
    session.draft = draft = Draft(DataKey.generate(), ctx.intake.allowance())
    content = _content(3 * SEAL_BYTES)
    kept = _upload(ctx, draft, len(content), sessions.upload_expiry())
    kept.accept(content[:SEAL_BYTES])
    kept.end_request()
    tmp = ctx.datadir.root / "blobs" / "tmp"
    assert len(list(tmp.iterdir())) == 1
    # a draft holding an upload waits as long as one holding files
    assert sessions._idle_limit(session) == ctx.config.drafts.idle_minutes_with_files * 60

    now[0] += sessions.upload_idle_seconds - 1
    assert sessions.get(session.id) is session
    sessions.expire()
    assert kept.id in draft.uploads and not kept.gone
    # a fresh upload in the same draft outlives the abandoned one
    fresh = _upload(ctx, draft, len(content), sessions.upload_expiry())
    fresh.accept(content[:SEAL_BYTES])
    fresh.end_request()

    now[0] += UPLOAD_SWEEP_SECONDS  # the sweep runs at most this often
    assert sessions.get(session.id) is session  # the draft lives on...
    assert list(draft.uploads) == [fresh.id]  # ...the abandoned upload is shredded
    assert kept.gone and len(list(tmp.iterdir())) == 1
    with pytest.raises(errors.NotFound):
        kept.accept(b"late bytes")

    # an idle draft ends, and its uploads with it
    now[0] += sessions.upload_idle_seconds + 1
    sessions.expire()
    assert len(sessions) == 0 and fresh.gone and not any(tmp.iterdir())
    assert files_containing(ctx.datadir.root, CANARY.encode()) == []
