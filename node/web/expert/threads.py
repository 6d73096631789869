"""The engagement's conversation in the expert app (issue 16): the messages, opened with the
expert's key in server memory for this request only, and a plain form to write one (with
one optional file). It works without JavaScript; the page is never cached. A file is always
a download, never rendered in the app's origin."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node import errors
from node.context import run_sync
from node.experts import engagements, received_needs
from node.experts.thread_content import MAX_ATTACHMENT_BYTES, Content, checked
from node.experts.threads import ShownMessage
from node.web.appkeys import FEDERATION_STATUS, node
from node.web.expert.common import (
    EXPERT_PATH,
    Access,
    ExpertRoute,
    checked_form,
    page,
    session_of,
)
from node.web.failures import error_text, status_of
from node.web.responses import see_other
from node.web.staff.needs import when

_HEX = frozenset("0123456789abcdef")


def hex_id(request: web.Request, name: str) -> str:
    value = request.match_info[name]
    if len(value) != 32 or not set(value) <= _HEX:
        raise errors.NotFound()
    return value


def posted_content(form: Any) -> Content:
    """The message written in a thread's form: its text and its file, if one was chosen
    (read at most one byte past the limit, so a larger one is refused, not read whole)."""
    text = str(form.get("text", ""))[:20_000]
    upload = form.get("file")
    attachment = None
    if isinstance(upload, web.FileField) and upload.filename:
        attachment = (upload.filename, upload.file.read(MAX_ATTACHMENT_BYTES + 1))
    return checked(text, attachment)


def wake(request: web.Request) -> None:
    wake_up = request.config_dict[FEDERATION_STATUS].wake
    if wake_up is not None:
        wake_up()


def shown(messages: list[ShownMessage]) -> list[dict[str, Any]]:
    """What the thread partial shows of each message."""
    return [{"id": m.message_id, "mine": m.mine, "sent_at": m.sent_at, "pending": m.pending,
             "opened": m.content is not None,
             "text": m.content.text if m.content else "",
             "file": m.content.attachment.filename
             if m.content and m.content.attachment else None} for m in messages]


async def message_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    thread_id = hex_id(request, "thread_id")
    form = await checked_form(request)
    staff = session_of(request).staff
    try:
        content = posted_content(form)
        await run_sync(ctx, ctx.threads.send, staff, thread_id, content)
    except errors.NodeError as exc:
        return await engagement_page(request, thread_id, exc,
                                     draft=str(form.get("text", ""))[:4000])
    wake(request)
    raise see_other(f"{EXPERT_PATH}/engagements/{thread_id}#latest")


async def engagement_page(request: web.Request, engagement_id: str,
                          exc: errors.NodeError | None = None, draft: str = "") -> web.Response:
    """The expert's engagement: the need's description and the conversation, both opened
    with their key for this request only."""
    ctx = node(request)
    staff = session_of(request).staff
    found = await run_sync(ctx, lambda: engagements.get(ctx.db.read(), engagement_id))
    if found is None or found.expert_staff_id != staff.member.id:
        raise errors.NotFound()  # another expert's engagement does not exist for them
    thread, messages = await run_sync(ctx, ctx.threads.read, staff, engagement_id)
    response = page(request, "expert/engagement.html", session_of(request),
                    status=status_of(exc) if exc else 200,
                    errors=[error_text(request, exc)] if exc else [], engagement=found,
                    description=received_needs.description(staff, found), when=when,
                    active=found.active(int(ctx.clock().timestamp())),
                    thread_open=thread.open, messages=shown(messages), draft=draft,
                    action=f"{EXPERT_PATH}/threads/{engagement_id}",
                    files=f"{EXPERT_PATH}/threads/{engagement_id}/files",
                    max_kb=MAX_ATTACHMENT_BYTES // 1024)
    response.headers["Cache-Control"] = "no-store"
    return response


def file_response(filename: str, data: bytes) -> web.Response:
    del filename  # never in a header: the name is the author's, the download's is ours
    return web.Response(body=data, content_type="application/octet-stream", headers={
        "Cache-Control": "no-store",
        "Content-Disposition": 'attachment; filename="message-file"',
        "X-Content-Type-Options": "nosniff"})


async def file_get(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    found = await run_sync(ctx, ctx.threads.attachment, session_of(request).staff,
                           hex_id(request, "thread_id"), hex_id(request, "message_id"))
    return file_response(found.filename, found.data)


ROUTES = [
    ExpertRoute("POST", "/threads/{thread_id}", message_post, "expert_thread_message",
                Access.EXPERT),
    ExpertRoute("GET", "/threads/{thread_id}/files/{message_id}", file_get,
                "expert_thread_file", Access.EXPERT),
]
