"""The evidence log for authorised parties, and court-bundle export.

The log's routes return hashes only, but they are not public: the size of the log and how
fast it grows would tell someone watching the node when reports arrive. Staff with
`VIEW_EVIDENCE_LOG` (and, through the federation, enrolled witnesses) may read them.
"""

from __future__ import annotations

from aiohttp import web

from node import errors
from node.backoffice.access import Action
from node.context import run_sync
from node.evidence import checkpoints, log_store
from node.evidence.errors import EvidenceError
from node.evidence.signing import sign_if_grown
from node.web.appkeys import node
from node.web.language import lang_of
from node.web.responses import see_other
from node.web.staff.common import STAFF_PATH, StaffRoute, checked_form, session_of


def _int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 19:
        raise errors.InvalidInput(field=name)
    return int(raw)


async def latest_checkpoint(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    stored = await run_sync(ctx, lambda: checkpoints.latest_checkpoint(ctx.db.read()))
    if stored is None:
        raise errors.NotFound()
    return web.Response(body=stored.note, content_type="text/plain", charset="utf-8")


async def inclusion_proof(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    index, size = _int(request, "index"), _int(request, "tree_size")
    leaf_hash = request.query.get("leaf_hash")

    def work() -> log_store.InclusionProof:
        conn = ctx.db.read()
        if leaf_hash is not None:
            try:
                hashed = bytes.fromhex(leaf_hash)
            except ValueError:
                raise errors.InvalidInput(field="leaf_hash") from None
            return log_store.inclusion_proof_for(conn, hashed, size)
        if index is None:
            raise errors.InvalidInput(field="index")
        return log_store.inclusion_proof(conn, index, size)

    try:
        proof = await run_sync(ctx, work)
    except EvidenceError as exc:
        raise errors.InvalidInput(field="index") from exc
    return web.json_response(proof.as_json())


async def consistency_proof(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    first, second = _int(request, "first"), _int(request, "second")
    if first is None:
        raise errors.InvalidInput(field="first")
    try:
        proof = await run_sync(ctx, lambda: log_store.consistency_proof(ctx.db.read(), first,
                                                                        second))
    except EvidenceError as exc:
        raise errors.InvalidInput(field="first") from exc
    return web.json_response(proof.as_json())


async def sign_checkpoint_now(request: web.Request) -> web.StreamResponse:
    """Sign a checkpoint now (it is also done every few minutes when the log grew)."""
    ctx = node(request)
    await checked_form(request)
    await run_sync(ctx, sign_if_grown, ctx.db, ctx.keys, int(ctx.clock().timestamp()))
    raise see_other(f"{STAFF_PATH}/evidence/checkpoint")


async def export_bundle(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    report_id = request.match_info["report_id"]
    data = await run_sync(ctx, ctx.bundles.export, session_of(request).staff, report_id,
                          lang_of(request))
    return web.Response(body=data, content_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="evidence-{report_id}.zip"'})


ROUTES: list[StaffRoute] = [
    StaffRoute("GET", "/evidence/checkpoint", latest_checkpoint, "staff_evidence_checkpoint",
               Action.VIEW_EVIDENCE_LOG),
    StaffRoute("POST", "/evidence/checkpoint", sign_checkpoint_now,
               "staff_evidence_checkpoint_sign", Action.VIEW_EVIDENCE_LOG),
    StaffRoute("GET", "/evidence/proof/inclusion", inclusion_proof, "staff_evidence_inclusion",
               Action.VIEW_EVIDENCE_LOG),
    StaffRoute("GET", "/evidence/proof/consistency", consistency_proof,
               "staff_evidence_consistency", Action.VIEW_EVIDENCE_LOG),
    StaffRoute("GET", "/cases/{report_id}/export", export_bundle, "staff_case_export",
               Action.EXPORT_CASE),
]
