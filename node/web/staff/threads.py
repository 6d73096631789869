"""A coordinator's conversations in the expert network (issue 16): each engagement's thread
with the engaged expert, and threads with another organisation's coordinator (opened by an
introduction, `node.experts.threads.Threads.introduce`). Messages are opened with the
coordinator's own key in server memory for this request only. Plain forms, no JavaScript."""

from __future__ import annotations

from aiohttp import web

from node import errors
from node.backoffice.access import Action
from node.context import run_sync
from node.experts.thread_content import MAX_ATTACHMENT_BYTES
from node.web.appkeys import node
from node.web.expert.threads import file_response, hex_id, posted_content, shown, wake
from node.web.failures import error_text, status_of
from node.web.responses import see_other
from node.web.staff.common import STAFF_PATH, StaffRoute, checked_form, page, session_of
from node.web.staff.needs import when


async def threads_get(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    found = await run_sync(ctx, ctx.threads.of_staff, session_of(request).staff)
    return page(request, "staff/threads.html", session_of(request), threads=found, when=when)


async def _thread_page(request: web.Request, thread_id: str,
                       exc: errors.NodeError | None = None, draft: str = "") -> web.Response:
    ctx = node(request)
    thread, messages = await run_sync(ctx, ctx.threads.read, session_of(request).staff,
                                      thread_id)
    response = page(request, "staff/thread.html", session_of(request),
                    status=status_of(exc) if exc else 200,
                    errors=[error_text(request, exc)] if exc else [], thread=thread,
                    thread_open=thread.open, messages=shown(messages), draft=draft, when=when,
                    action=f"{STAFF_PATH}/threads/{thread_id}",
                    files=f"{STAFF_PATH}/threads/{thread_id}/files",
                    max_kb=MAX_ATTACHMENT_BYTES // 1024)
    response.headers["Cache-Control"] = "no-store"
    return response


async def thread_get(request: web.Request) -> web.StreamResponse:
    return await _thread_page(request, hex_id(request, "thread_id"))


async def message_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    thread_id = hex_id(request, "thread_id")
    form = await checked_form(request)
    try:
        content = posted_content(form)
        await run_sync(ctx, ctx.threads.send, session_of(request).staff, thread_id, content)
    except errors.NodeError as exc:
        return await _thread_page(request, thread_id, exc,
                                  draft=str(form.get("text", ""))[:4000])
    wake(request)
    raise see_other(f"{STAFF_PATH}/threads/{thread_id}#latest")


async def file_get(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    found = await run_sync(ctx, ctx.threads.attachment, session_of(request).staff,
                           hex_id(request, "thread_id"), hex_id(request, "message_id"))
    return file_response(found.filename, found.data)


ROUTES = [
    StaffRoute("GET", "/threads", threads_get, "staff_threads", Action.MOBILISE_EXPERTS),
    StaffRoute("GET", "/threads/{thread_id}", thread_get, "staff_thread",
               Action.MOBILISE_EXPERTS),
    StaffRoute("POST", "/threads/{thread_id}", message_post, "staff_thread_message",
               Action.MOBILISE_EXPERTS),
    StaffRoute("GET", "/threads/{thread_id}/files/{message_id}", file_get,
               "staff_thread_file", Action.MOBILISE_EXPERTS),
]
