"""What was shared with the expert (issue 16): the list on their home page and one share
opened.

The home node keeps only ciphertext sealed to the expert's X25519 key. The expert's key is
unlocked in their session (their passphrase opened it at sign-in), so a share is opened
here, in server memory for this request only, and never written: the page and its files
are sent with ``Cache-Control: no-store`` like every page of the app. There is no
browser-side path: the expert's secret key never reaches the browser, so the page is the
same with JavaScript on or off.

From a share, the expert writes a signed opinion (`node.experts.opinions`): a plain
multipart form, signed on the server with the expert's key, which was unlocked at sign-in.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node import errors
from node.context import run_sync
from node.experts import opinions
from node.experts.opinions import KIND_LABELS, KINDS, MAX_FILE_BYTES, MAX_TEXT_CHARS
from node.experts.shares import FIELD_GROUPS, GROUP_LABELS, HeldShare, OpenedShare
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
from node.web.formatting import format_day
from node.web.responses import see_other
from protocol.statements import verify_key_from_hex

_ID_CHARS = 32  # a share id is 16 random bytes in hex (`protocol.message.RandomId`)


def _share_id(request: web.Request) -> str:
    share_id = request.match_info["share_id"]
    if len(share_id) != _ID_CHARS or any(c not in "0123456789abcdef" for c in share_id):
        raise errors.NotFound()
    return share_id


async def held_for(request: web.Request) -> list[HeldShare]:
    """The signed-in expert's shares that can be opened now (for the home page)."""
    ctx = node(request)
    return await run_sync(ctx, ctx.shares.held_for, session_of(request).staff)


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items() if v)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


async def share_get(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    opened: OpenedShare = await run_sync(ctx, ctx.shares.open_held,
                                         session_of(request).staff, _share_id(request))
    groups = []
    for group, names in FIELD_GROUPS.items():
        values = [_text(opened.fields[n]) for n in names if n in opened.fields]
        if values:
            groups.append({"label": GROUP_LABELS[group], "text": " · ".join(values),
                           "long": group == "narrative"})
    response = page(request, "expert/share.html", session_of(request), share=opened,
                    groups=groups, files=[{"n": n, "filename": f["filename"],
                                           "size": len(f["data"])}
                                          for n, f in enumerate(opened.files)],
                    expires=format_day(request, opened.expires // 3600),
                    done=request.query.get("done", "")[:20])
    response.headers["Cache-Control"] = "no-store"
    return response


async def share_file_get(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    opened = await run_sync(ctx, ctx.shares.open_held, session_of(request).staff,
                            _share_id(request))
    try:
        n = int(request.match_info["n"])
        item = opened.files[n]
    except (ValueError, IndexError):
        raise errors.NotFound() from None
    # always a download, never rendered in the app's origin
    return web.Response(body=item["data"], content_type="application/octet-stream", headers={
        "Cache-Control": "no-store",
        "Content-Disposition": f"attachment; filename=\"shared-file-{n}\"",
        "X-Content-Type-Options": "nosniff"})


def _opinion_page(request: web.Request, opened: OpenedShare,
                  exc: errors.NodeError | None = None, form: Any = None) -> web.Response:
    response = page(request, "expert/opinion.html", session_of(request), share=opened,
                    kinds=[(k, KIND_LABELS[k]) for k in KINDS],
                    status=status_of(exc) if exc else 200,
                    errors=[error_text(request, exc)] if exc else [],
                    kind=str((form or {}).get("kind", "")),
                    text=str((form or {}).get("text", "")), max_chars=MAX_TEXT_CHARS)
    response.headers["Cache-Control"] = "no-store"
    return response


async def opinion_get(request: web.Request) -> web.StreamResponse:
    """The form of a signed opinion, on an engagement with a share (issue 16)."""
    ctx = node(request)
    opened = await run_sync(ctx, ctx.shares.open_held, session_of(request).staff,
                            _share_id(request))
    return _opinion_page(request, opened)


async def opinion_post(request: web.Request) -> web.StreamResponse:
    """Sign the opinion with the expert's key and send it to the requesting node (queued
    while it is offline). Bad input gets the form back, with what was written kept."""
    ctx = node(request)
    form = await checked_form(request)
    staff = session_of(request).staff
    opened = await run_sync(ctx, ctx.shares.open_held, staff, _share_id(request))
    upload = form.get("file")
    data = upload.file.read(MAX_FILE_BYTES + 1) if isinstance(upload, web.FileField) else b""
    observatory = ctx.opinions.observatory_key  # the node's configured observatory's
    try:
        if observatory is None:
            raise errors.NotFound()  # a share only ever comes through a federation
        await run_sync(ctx, lambda: opinions.write(
            ctx.db, ctx.audit, staff, engagement_id=opened.engagement_id,
            subject_sha256=opened.subject_sha256, kind=str(form.get("kind", ""))[:40],
            text=str(form.get("text", ""))[:MAX_TEXT_CHARS + 1], file=data or None,
            node_id=ctx.keys.node_id, own_box_key=ctx.keys.intake_public.raw().hex(),
            observatory_node_id=(ctx.config.federation.observatory_node_id
                                 if ctx.config.federation is not None else None),
            observatory_key=verify_key_from_hex(observatory),
            now=int(ctx.clock().timestamp()),
            receive=lambda conn, message: ctx.opinions.receive_in(
                conn, message, sender=ctx.keys.node_id, node_id=ctx.keys.node_id)))
    except errors.NodeError as exc:
        return _opinion_page(request, opened, exc, form)
    wake = request.config_dict[FEDERATION_STATUS].wake
    if wake is not None:
        wake()
    raise see_other(f"{EXPERT_PATH}/shares/{opened.share_id}?done=opinion")


ROUTES = [
    ExpertRoute("GET", "/shares/{share_id}", share_get, "expert_share", Access.EXPERT),
    ExpertRoute("GET", "/shares/{share_id}/opinion", opinion_get, "expert_opinion",
                Access.EXPERT),
    ExpertRoute("POST", "/shares/{share_id}/opinion", opinion_post, "expert_opinion_send",
                Access.EXPERT),
    ExpertRoute("GET", "/shares/{share_id}/files/{n}", share_file_get, "expert_share_file",
                Access.EXPERT),
]
