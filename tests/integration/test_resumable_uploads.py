"""Issue 20: resumable uploads (tus 1.0) on the reporter's site, against a real node server on
127.0.0.1, driven by a well-kept tus client (tuspy) and by a raw socket that drops the
connection halfway through a chunk.

- an upload interrupted mid-chunk resumes from the server's offset, which counts only whole
  sealed chunks, and the file joins the draft and the sent report byte for byte;
- a forged offset (409), an oversized upload at creation and a PATCH beyond the declared
  length (413), and another draft's upload URL (404) are refused;
- partial uploads count against the staged-bytes caps, end with their draft (quick exit,
  sending) and are never in clear under the data directory (their expiry, on a clock moved
  by hand: tests/unit/node/test_partial_uploads.py).
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError

from crypto import passphrase as pw
from node import accounts
from node.context import NodeContext, open_node
from node.demo import tiny_png
from node.intake.partial_uploads import SEAL_BYTES
from node.web.app import create_app
from node.web.appkeys import REPORTER_SESSIONS
from node.web.reporter.sessions import ReporterSession
from tests import conftest, intake_views
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, CANARY, files_containing, make_node
from tests.integration.conftest import csrf_of

AClient = Callable[..., Awaitable[TestClient[Any, Any]]]
TUS = {"Tus-Resumable": "1.0.0"}


def _file(size: int) -> bytes:
    """A PNG (so that the type sniffing accepts it) padded with a canary and noise."""
    head = tiny_png(1) + CANARY.encode()
    return head + os.urandom(size - len(head) - len(CANARY)) + CANARY.encode()


class Reporter:
    """One browser-like reporter: a cookie jar, a draft and its CSRF token."""

    def __init__(self, client: TestClient[Any, Any], http: aiohttp.ClientSession) -> None:
        self.client = client
        self.http = http
        self.token = ""

    @classmethod
    async def start(cls, client: TestClient[Any, Any]) -> Reporter:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        me = cls(client, http)
        r = await http.get(client.make_url("/en/report/what"))
        me.token = csrf_of(await r.text())
        r = await http.post(client.make_url("/en/report/what"), allow_redirects=False,
                            data={"csrf": me.token, "narrative": "a draft", "go": "next"})
        assert r.status == 303, await r.text()
        return me

    @property
    def headers(self) -> dict[str, str]:
        cookie = "; ".join(f"{c.key}={c.value}" for c in self.http.cookie_jar)
        return {"Cookie": cookie, "X-CSRF-Token": self.token}

    def tus(self) -> TusClient:
        return TusClient(str(self.client.make_url("/en/uploads")), headers=self.headers)

    async def create(self, length: int, name: str = "evidence.png") -> aiohttp.ClientResponse:
        import base64

        meta = "filename " + base64.b64encode(name.encode()).decode()
        r = await self.http.post(self.client.make_url("/en/uploads"), headers={
            **TUS, "X-CSRF-Token": self.token, "Upload-Length": str(length),
            "Upload-Metadata": meta})
        await r.read()
        return r

    async def patch(self, url: str, offset: int, body: bytes) -> aiohttp.ClientResponse:
        r = await self.http.patch(url, data=io.BytesIO(body), headers={
            **TUS, "X-CSRF-Token": self.token, "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream"})
        await r.read()
        return r

    async def head(self, url: str) -> aiohttp.ClientResponse:
        r = await self.http.head(url, headers=TUS)
        return r

    def session(self) -> ReporterSession:
        sessions = self.client.app[REPORTER_SESSIONS]
        sid = next(c.value for c in self.http.cookie_jar if c.key == "s")
        session = sessions.get(sid)
        assert session is not None
        return session


@pytest.fixture
async def node(tmp_path: Path, aiohttp_client: AClient
               ) -> AsyncIterator[tuple[TestClient[Any, Any], NodeContext]]:
    datadir = make_node(tmp_path / "node", conftest.test_config())
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    client = await aiohttp_client(create_app(ctx, parts={"public"}))
    yield client, ctx
    ctx.close()


async def _reporter(client: TestClient[Any, Any]) -> AsyncIterator[Reporter]:
    me = await Reporter.start(client)
    try:
        yield me
    finally:
        await me.http.close()


async def _torn_patch(client: TestClient[Any, Any], me: Reporter, path: str, offset: int,
                      body: bytes, declared: int) -> None:
    """A PATCH that announces `declared` bytes, sends `body`, then drops the connection
    (what a 2G link does halfway through a chunk)."""
    _, writer = await asyncio.open_connection(client.host, client.port)
    head = (f"PATCH {path} HTTP/1.1\r\nHost: {client.host}:{client.port}\r\n"
            f"Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\n"
            f"Content-Type: application/offset+octet-stream\r\nContent-Length: {declared}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in me.headers.items()) + "\r\n")
    writer.write(head.encode() + body)
    await writer.drain()
    writer.transport.abort()  # no FIN-and-wait: the socket is gone
    await asyncio.sleep(0)


async def test_interrupted_upload_resumes_and_joins_the_report(
        node: tuple[TestClient[Any, Any], NodeContext], tmp_path: Path) -> None:
    client, ctx = node
    async for me in _reporter(client):
        content = _file(1_500_000)
        r = await me.create(len(content), f"{CANARY}.png")
        assert r.status == 201, r.status
        assert r.headers["Tus-Resumable"] == "1.0.0" and "Upload-Expires" in r.headers
        path = r.headers["Location"]
        url = str(client.make_url(path))

        # the connection drops 1,000 bytes into the fourth chunk
        await _torn_patch(client, me, path, 0, content[:3 * SEAL_BYTES + 1000], len(content))
        # the HEAD waits until the server has noticed the drop: the offset is final
        r = await me.head(url)
        assert r.status == 200
        assert int(r.headers["Upload-Offset"]) == 3 * SEAL_BYTES  # the torn chunk is not kept
        assert r.headers["Upload-Length"] == str(len(content))
        # partly received, nothing of it in clear on disk
        assert files_containing(ctx.datadir.root, CANARY.encode()) == []

        # tuspy picks up from the server's offset, with PATCHes that do not end on a chunk
        # boundary: what does not fill a chunk is discarded and sent again
        # (tuspy is synchronous: it runs in a thread, the server in this loop)
        uploader = await asyncio.to_thread(
            me.tus().uploader, file_stream=io.BytesIO(content), url=url, chunk_size=300_000)
        assert uploader.offset == 3 * SEAL_BYTES
        await asyncio.to_thread(uploader.upload)
        assert uploader.offset == len(content)

        draft = me.session().draft
        assert draft is not None and not draft.uploads
        [staged] = draft.files
        assert staged.filename == f"{CANARY}.png" and staged.mime == "image/png"
        assert staged.size == len(content)
        r = await me.head(url)
        assert r.status == 404  # a finished upload is a file of the draft, not an upload

        # sent like any file: the report holds the same bytes
        r = await me.http.post(client.make_url("/en/report/review"), allow_redirects=False,
                               data={"csrf": me.token, "go": "next"})
        assert r.status == 303, await r.text()
    key = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE).intake_key
    assert key is not None
    [view] = intake_views.list_reports(ctx, key)
    report = intake_views.read_report(ctx, key, view.id)
    [item] = [i for i in report.items if i.kind == "attachment"]
    _, chunks = intake_views.open_attachment(ctx, key, report.id, item.id)
    assert b"".join(chunks) == content
    assert files_containing(ctx.datadir.root, CANARY.encode()) == []


async def test_forged_offset_oversize_and_wrong_version(
        node: tuple[TestClient[Any, Any], NodeContext]) -> None:
    client, _ = node
    async for me in _reporter(client):
        content = _file(SEAL_BYTES * 2 + 10)
        r = await me.create(len(content))
        url = str(client.make_url(r.headers["Location"]))
        r = await me.patch(url, 0, content[:SEAL_BYTES])
        assert r.status == 204 and r.headers["Upload-Offset"] == str(SEAL_BYTES)
        # a forged offset: behind, ahead, or not a number
        for offset in (0, SEAL_BYTES + 5, 2 * SEAL_BYTES):
            r = await me.patch(url, offset, content[offset:offset + 10])
            assert r.status == 409, offset
        r = await me.http.patch(url, data=b"x", headers={
            **TUS, "X-CSRF-Token": me.token, "Upload-Offset": "-1",
            "Content-Type": "application/offset+octet-stream"})
        assert r.status == 400
        # more than the declared length
        r = await me.patch(url, SEAL_BYTES, content[SEAL_BYTES:] + b"more")
        assert r.status == 413
        r = await me.head(url)
        assert r.headers["Upload-Offset"] == str(SEAL_BYTES)  # refused, nothing lost
        # not the offset stream, not tus 1.0.0, no CSRF token
        r = await me.http.patch(url, data=b"x", headers={
            **TUS, "X-CSRF-Token": me.token, "Upload-Offset": str(SEAL_BYTES)})
        assert r.status == 415
        r = await me.http.patch(url, data=b"x", headers={
            "Tus-Resumable": "0.2.2", "X-CSRF-Token": me.token,
            "Upload-Offset": str(SEAL_BYTES), "Content-Type": "application/offset+octet-stream"})
        assert r.status == 412 and r.headers["Tus-Version"] == "1.0.0"
        r = await me.http.patch(url, data=b"x", headers={
            **TUS, "Upload-Offset": str(SEAL_BYTES),
            "Content-Type": "application/offset+octet-stream"})
        assert r.status == 403
        r = await me.patch(url, SEAL_BYTES, content[SEAL_BYTES:])
        assert r.status == 204 and r.headers["Upload-Offset"] == str(len(content))

        # larger than a file may be (2 MB in the test configuration), or than the report
        r = await me.create(2 * 1024 * 1024 + 1)
        assert r.status == 413
        r = await me.create(2 * 1024 * 1024)
        assert r.status == 201
        r = await me.create(1024 * 1024)
        assert r.status == 413  # 3 MB together at most: the upload under way counts
        # and tuspy sees the refusals as errors
        uploader = await asyncio.to_thread(
            me.tus().uploader, file_stream=io.BytesIO(b"x" * (3 * 1024 * 1024)),
            chunk_size=SEAL_BYTES)
        with pytest.raises(TusCommunicationError) as raised:
            await asyncio.to_thread(uploader.upload)
        assert raised.value.status_code == 413


async def test_file_type_is_sniffed_and_termination_shreds(
        node: tuple[TestClient[Any, Any], NodeContext]) -> None:
    client, ctx = node
    async for me in _reporter(client):
        program = b"MZ\x90\x00" + os.urandom(SEAL_BYTES * 2)
        r = await me.create(len(program), "photo.png")
        url = str(client.make_url(r.headers["Location"]))
        r = await me.patch(url, 0, program)
        assert r.status == 415
        r = await me.head(url)
        assert r.status == 404  # refused by its content: the upload ended
        content = _file(SEAL_BYTES * 3)
        r = await me.create(len(content))
        url = str(client.make_url(r.headers["Location"]))
        r = await me.patch(url, 0, content[:SEAL_BYTES])
        assert r.status == 204
        temporary = list((ctx.datadir.root / "blobs" / "tmp").iterdir())
        assert len(temporary) == 1
        r = await me.http.delete(url, headers={**TUS, "X-CSRF-Token": me.token})
        assert r.status == 204
        assert not any((ctx.datadir.root / "blobs" / "tmp").iterdir())
        r = await me.head(url)
        assert r.status == 404
        assert me.session().draft.files == []  # type: ignore[union-attr]


async def test_another_drafts_upload_is_refused(
        node: tuple[TestClient[Any, Any], NodeContext]) -> None:
    client, _ = node
    async for alice in _reporter(client):
        async for mallory in _reporter(client):
            content = _file(SEAL_BYTES * 2)
            r = await alice.create(len(content))
            url = str(client.make_url(r.headers["Location"]))
            r = await alice.patch(url, 0, content[:SEAL_BYTES])
            assert r.status == 204
            # Mallory knows the URL (a shared computer's history, a proxy log) but not
            # Alice's cookie: the upload is not hers, whatever she sends
            r = await mallory.head(url)
            assert r.status == 404
            r = await mallory.patch(url, SEAL_BYTES, content[SEAL_BYTES:])
            assert r.status == 404
            r = await mallory.http.delete(url, headers={**TUS, "X-CSRF-Token": mallory.token})
            assert r.status == 404
            # with no cookie at all
            async with aiohttp.ClientSession() as stranger:
                r = await stranger.head(url, headers=TUS)
                assert r.status == 404
            r = await alice.head(url)
            assert r.headers["Upload-Offset"] == str(SEAL_BYTES)
            assert mallory.session().draft.files == []  # type: ignore[union-attr]


async def test_first_upload_of_a_visit_starts_the_session(
        node: tuple[TestClient[Any, Any], NodeContext]) -> None:
    client, _ = node
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        r = await http.get(client.make_url("/en/report/files"))
        token = csrf_of(await r.text())
        r = await http.post(client.make_url("/en/uploads"), headers={
            **TUS, "X-CSRF-Token": "forged", "Upload-Length": "100"})
        assert r.status == 403
        r = await http.post(client.make_url("/en/uploads"), headers={
            **TUS, "X-CSRF-Token": token, "Upload-Length": "100"})
        assert r.status == 201
        assert any(c.key == "s" for c in http.cookie_jar)
        r = await http.options(client.make_url("/en/uploads"))
        assert r.status == 204
        assert r.headers["Tus-Extension"] == "creation,termination,expiration"
        assert r.headers["Tus-Max-Size"] == str(2 * 1024 * 1024)


async def test_partial_uploads_count_against_the_staging_caps(
        tmp_path: Path, aiohttp_client: AClient) -> None:
    datadir = make_node(tmp_path / "node", conftest.test_config()
                        + "\n[drafts]\nstaged_mb_per_session = 1\nstaged_mb_per_source = 1\n"
                          "staged_mb_total = 1\n")
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        client = await aiohttp_client(create_app(ctx, parts={"public"}))
        async for me in _reporter(client):
            content = _file(2 * 1024 * 1024)
            r = await me.create(len(content))
            url = str(client.make_url(r.headers["Location"]))
            # the per-file limit lets the file pass the 1 MB cap once...
            half = 17 * SEAL_BYTES
            r = await me.patch(url, 0, content[:half])
            assert r.status == 204
            assert me.session().staged_bytes == half
            # ...but with more than 1 MB of it staged, no further bytes are taken
            r = await me.patch(url, half, content[half:])
            assert r.status == 503
            r = await me.create(SEAL_BYTES)
            assert r.status == 503
    finally:
        ctx.close()


async def test_uploads_end_with_their_draft(
        node: tuple[TestClient[Any, Any], NodeContext]) -> None:
    client, ctx = node
    tmp = ctx.datadir.root / "blobs" / "tmp"
    async for me in _reporter(client):
        content = _file(SEAL_BYTES * 3)
        # sending the report with an upload still under way: the upload is shredded
        r = await me.create(len(content))
        url = str(client.make_url(r.headers["Location"]))
        await me.patch(url, 0, content[:SEAL_BYTES])
        r = await me.http.post(client.make_url("/en/report/review"), allow_redirects=False,
                               data={"csrf": me.token, "go": "next"})
        assert r.status == 303
        assert not any(tmp.iterdir())

        # quick exit ends the draft and its uploads
        r = await me.create(len(content))
        url = str(client.make_url(r.headers["Location"]))
        await me.patch(url, 0, content[:SEAL_BYTES])
        assert len(list(tmp.iterdir())) == 1
        r = await me.http.get(client.make_url("/exit"), allow_redirects=False)
        assert r.status == 303
        assert not any(tmp.iterdir())
    assert files_containing(ctx.datadir.root, CANARY.encode()) == []
