"""Resumable uploads on the reporter's site: a tus 1.0 server (core protocol, and the
creation, termination and expiration extensions; https://tus.io/protocols/resumable-upload).

A file chosen on the files step is sent by `static/upload.js` over these routes, so that a
2G connection dropping halfway through a video loses at most the chunk it was sending
(`node.intake.partial_uploads`); without JavaScript the step's plain form post is used.

Every upload belongs to one draft: it is found only through the reporter's session cookie
and that draft's uploads, so the URL of another draft's upload answers 404 whatever its
id. State-changing requests carry the page's CSRF token in ``X-CSRF-Token``; the first one
of a visit may start the session, as the step's form would. Limits are those of the form
post (per file, per report, staged bytes per session, address and node), checked at
creation against the declared Upload-Length and again as bytes arrive. A complete upload
joins the draft's files exactly as a form-posted file does.
"""

from __future__ import annotations

import time
from email.utils import formatdate

from aiohttp import web

from crypto.keys import DataKey
from node import errors
from node.context import run_sync
from node.i18n import N_
from node.intake.attachments import safe_filename
from node.intake.partial_uploads import (
    SEAL_BYTES,
    TUS_VERSION,
    BeyondLength,
    PartialUpload,
    check_new_upload,
    filename_of,
    parse_metadata,
    parse_number,
)
from node.web.appkeys import REPORTER_SESSIONS, node
from node.web.failures import ClientError
from node.web.language import require_lang
from node.web.reporter.sessions import (
    REPORTER_COOKIE,
    Draft,
    ReporterSession,
    reporter_session,
    staging_allowed,
    start_reporter_session,
    upload_allowed,
)
from node.web.responses import set_session_cookie
from node.web.security import check_csrf

EXTENSIONS = "creation,termination,expiration"
CSRF_HEADER = "X-CSRF-Token"
# How long HEAD and PATCH wait for an earlier request of the same upload to end (the
# server notices a dropped connection a little after the client does) before answering.
BUSY_WAIT_SECONDS = 10.0
OFFSET_TYPE = "application/offset+octet-stream"


class OffsetMismatch(ClientError):
    """A PATCH whose Upload-Offset is not where the upload stands (tus: 409 Conflict)."""

    message = N_("Part of the file was sent twice or not at all. Sending resumes from where "
                 "it stopped.")

    def __init__(self) -> None:
        super().__init__(409)


class UploadBusy(ClientError):
    """A PATCH while another one is still being received (423 Locked: the client waits
    for the server to notice that the older connection dropped)."""

    message = N_("This file is still being received. Please wait a moment.")

    def __init__(self) -> None:
        super().__init__(423)


class NotOffsetStream(ClientError):
    """A PATCH whose body is not ``application/offset+octet-stream`` (tus: 415)."""

    def __init__(self) -> None:
        super().__init__(415)


def _headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


def _expires(request: web.Request, upload: PartialUpload) -> str:
    """Upload-Expires as an RFC 9110 date: the wall clock plus the time left."""
    left = request.config_dict[REPORTER_SESSIONS].seconds_left(upload.expires_at)
    return formatdate(time.time() + left, usegmt=True)


def _version_refused(request: web.Request) -> web.Response | None:
    """tus: a request in another version of the protocol gets 412 and the one we speak."""
    if request.headers.get("Tus-Resumable") == TUS_VERSION:
        return None
    return web.Response(status=412, headers={"Tus-Version": TUS_VERSION,
                                             "Cache-Control": "no-store"})


def _own_upload(request: web.Request, *, safe: bool = False
                ) -> tuple[ReporterSession, Draft, PartialUpload]:
    """This reporter's upload named in the URL; any other id, another draft's included,
    is not found. Unsafe methods must carry the session's CSRF token."""
    session = reporter_session(request)
    draft = session.draft if session is not None else None
    upload = draft.uploads.get(request.match_info["upload_id"]) if draft is not None else None
    if session is None or draft is None or upload is None:
        raise errors.NotFound()
    if not safe:
        check_csrf(session.csrf, request.headers.get(CSRF_HEADER))
    return session, draft, upload


async def options(request: web.Request) -> web.StreamResponse:
    """What this server speaks (tus: OPTIONS), and the largest file it takes."""
    limit = node(request).config.limits.max_file_mb * 1024 * 1024
    return web.Response(status=204, headers=_headers(
        **{"Tus-Version": TUS_VERSION, "Tus-Extension": EXTENSIONS,
           "Tus-Max-Size": str(limit)}))


async def create(request: web.Request) -> web.StreamResponse:
    """Creation: a new upload of Upload-Length bytes in the reporter's draft."""
    lang = require_lang(request)
    if refused := _version_refused(request):
        return refused
    token = request.headers.get(CSRF_HEADER)
    session = reporter_session(request)
    created = session is None
    if session is None:
        session = start_reporter_session(request, token)
    else:
        check_csrf(session.csrf, token)
    if session.draft is None:  # a report was just sent from this session: a new one
        session.draft = Draft(DataKey.generate(), node(request).intake.allowance())
    draft = session.draft
    length = parse_number(request.headers.get("Upload-Length"), "Upload-Length")
    filename = safe_filename(filename_of(parse_metadata(request.headers.get("Upload-Metadata"))))
    check_new_upload(draft.allowance, list(draft.uploads.values()), length, filename)
    upload_allowed(request, session)
    ctx = node(request)
    writer = await run_sync(ctx, ctx.intake.attachment_writer, draft.data_key, draft.allowance,
                            filename)
    sessions = request.config_dict[REPORTER_SESSIONS]
    upload = PartialUpload(length, writer, sessions.upload_expiry())
    draft.uploads[upload.id] = upload
    response = web.Response(status=201, headers=_headers(
        Location=f"/{lang}/uploads/{upload.id}", **{"Upload-Expires": _expires(request, upload)}))
    if created:
        set_session_cookie(request, response, REPORTER_COOKIE, session.id)
    return response


async def head(request: web.Request) -> web.StreamResponse:
    """Where the upload stands: the bytes sealed so far (a torn chunk is not counted)."""
    if refused := _version_refused(request):
        return refused
    _, _, upload = _own_upload(request, safe=True)
    await upload.wait_idle(BUSY_WAIT_SECONDS)  # then the offset no longer moves
    if upload.gone:
        raise errors.NotFound()
    return web.Response(status=200, headers=_headers(**{
        "Upload-Offset": str(upload.offset), "Upload-Length": str(upload.length),
        "Upload-Expires": _expires(request, upload)}))


async def patch(request: web.Request) -> web.StreamResponse:
    """Bytes from Upload-Offset on, sealed in whole chunks as they arrive. The answer's
    Upload-Offset says how far the file got; a dropped connection's torn chunk is not in
    it, and the client sends it again."""
    if refused := _version_refused(request):
        return refused
    session, draft, upload = _own_upload(request)
    if request.content_type != OFFSET_TYPE:
        raise NotOffsetStream()
    offset = parse_number(request.headers.get("Upload-Offset"), "Upload-Offset")
    if not await upload.wait_idle(BUSY_WAIT_SECONDS):
        raise UploadBusy()
    if upload.gone:
        raise errors.NotFound()
    if offset != upload.offset:
        raise OffsetMismatch()
    declared = request.content_length
    if declared is not None and offset + declared > upload.length:
        raise BeyondLength(name=upload.writer.filename)
    staging_allowed(request, session)
    ctx = node(request)
    upload.begin_request()  # no await since wait_idle: no other request got in between
    try:
        async for data in request.content.iter_chunked(SEAL_BYTES):
            upload.accept(data)
    except BeyondLength:
        raise  # this request is refused; the upload stays where it was sealed
    except errors.NodeError:
        draft.uploads.pop(upload.id, None)  # refused by type or limit: it ends here
        upload.abort()
        raise
    finally:
        upload.end_request()
    if upload.gone:  # the draft ended (quick exit, sent, expired) while bytes arrived
        raise errors.NotFound()
    upload.expires_at = request.config_dict[REPORTER_SESSIONS].upload_expiry()
    headers = _headers(**{"Upload-Offset": str(upload.offset),
                          "Upload-Expires": _expires(request, upload)})
    if upload.complete:
        draft.uploads.pop(upload.id, None)
        draft.files.append(await run_sync(ctx, upload.finish))
    return web.Response(status=204, headers=headers)


async def delete(request: web.Request) -> web.StreamResponse:
    """Termination: the reporter gave the file up; its bytes are shredded."""
    if refused := _version_refused(request):
        return refused
    _, draft, upload = _own_upload(request)
    draft.uploads.pop(upload.id, None)
    upload.abort()
    return web.Response(status=204, headers=_headers())


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_route("OPTIONS", "/{lang}/uploads", options, name="tus_options")
    r.add_post("/{lang}/uploads", create, name="tus_create")
    r.add_route("OPTIONS", "/{lang}/uploads/{upload_id}", options, name="tus_upload_options")
    r.add_route("HEAD", "/{lang}/uploads/{upload_id}", head, name="tus_head")
    r.add_patch("/{lang}/uploads/{upload_id}", patch, name="tus_patch")
    r.add_delete("/{lang}/uploads/{upload_id}", delete, name="tus_delete")
