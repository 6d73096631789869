"""What was shared with the expert (issue 16): the list on their home page and one share
opened.

The home node keeps only ciphertext sealed to the expert's X25519 key. The expert's key is
unlocked in their session (their passphrase opened it at sign-in), so a share is opened
here, in server memory for this request only, and never written: the page and its files
are sent with ``Cache-Control: no-store`` like every page of the app. There is no
browser-side path: the expert's secret key never reaches the browser, so the page is the
same with JavaScript on or off.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node import errors
from node.context import run_sync
from node.experts.shares import FIELD_GROUPS, GROUP_LABELS, HeldShare, OpenedShare
from node.web.appkeys import node
from node.web.expert.common import Access, ExpertRoute, page, session_of
from node.web.formatting import format_day

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
                    expires=format_day(request, opened.expires // 3600))
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


ROUTES = [
    ExpertRoute("GET", "/shares/{share_id}", share_get, "expert_share", Access.EXPERT),
    ExpertRoute("GET", "/shares/{share_id}/files/{n}", share_file_get, "expert_share_file",
                Access.EXPERT),
]
