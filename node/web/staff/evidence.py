"""The evidence log for authorised parties, and court-bundle export: a preview of exactly
what will leave (GET), where a coordinator may withhold more with a reason from a closed
list, then the export itself (POST).

The log's routes return hashes only, but they are not public: the size of the log and how
fast it grows would tell someone watching the node when reports arrive. Staff with
`VIEW_EVIDENCE_LOG` (and, through the federation, enrolled witnesses) may read them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node import errors
from node.backoffice.access import Action
from node.bundles import disclosure as policy
from node.bundles import preview
from node.bundles.file_metadata import FACT_LABELS, KIND_LABELS
from node.context import run_sync
from node.evidence import checkpoints, log_store
from node.evidence.errors import EvidenceError
from node.evidence.signing import sign_if_grown
from node.web.appkeys import node
from node.web.failures import error_text
from node.web.language import lang_of
from node.web.responses import see_other
from node.web.staff.common import STAFF_PATH, StaffRoute, checked_form, page, session_of


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


def _choices(values: Any) -> policy.Choices:
    """A coordinator's choices from a form or a query (closed lists, checked by the
    exporter; no free text)."""
    def many(name: str) -> frozenset[str]:
        return frozenset(v for v in values.getall(name, []) if isinstance(v, str) and v)
    return policy.Choices(
        withhold_groups=many("withhold"), withhold_items=many("withhold_item"),
        withhold_reason=values.get("withhold_reason") or None,
        disclose_fields=many("disclose"), disclose_reason=values.get("disclose_reason") or None)


async def export_preview(request: web.Request) -> web.StreamResponse:
    """Exactly what an export would hold: fields, files, what is inside the files, and what
    inside disclosed text looks like contact information (decrypted in memory only)."""
    return await _preview(request, policy.Choices())


async def _preview(request: web.Request, choices: policy.Choices,
                   problem: errors.NodeError | None = None) -> web.StreamResponse:
    ctx = node(request)
    report_id = request.match_info["report_id"]
    session = session_of(request)

    def work() -> preview.Preview:
        return preview.build(ctx.bundles.plan(session.staff, report_id, choices))

    try:
        shown = await run_sync(ctx, work)
    except errors.InvalidInput as exc:  # a choice outside the lists: shown, nothing lost
        return await _preview(request, policy.Choices(), exc)
    others = sorted({f.name for f in shown.fields if f.group == "other"})
    return page(request, "staff/export_preview.html", session, report_id=report_id,
                status=400 if problem else 200,
                problem=error_text(request, problem) if problem else None,
                preview=shown, choices=choices, others=others,
                group_labels=policy.GROUP_LABELS, why_labels=policy.WHY_LABELS,
                reason_labels=policy.REASON_LABELS,
                withhold_reasons=policy.WITHHOLD_REASONS,
                disclose_reasons=policy.DISCLOSE_REASONS,
                withholdable=[g for g in policy.GROUPS if g in policy.WITHHOLDABLE],
                kind_labels=KIND_LABELS, fact_labels=FACT_LABELS,
                flag_labels=preview.FLAG_LABELS)


async def export_bundle(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    report_id = request.match_info["report_id"]
    form = await checked_form(request)
    if form.get("go") == "preview":  # the same page again, with these choices applied
        return await _preview(request, _choices(form))
    choices = _choices(form)
    try:
        choices.check()
    except errors.InvalidInput as exc:
        return await _preview(request, policy.Choices(), exc)
    data = await run_sync(ctx, ctx.bundles.export, session_of(request).staff, report_id,
                          lang_of(request), choices)
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
    StaffRoute("GET", "/cases/{report_id}/export", export_preview,
               "staff_case_export_preview", Action.EXPORT_CASE),
    StaffRoute("POST", "/cases/{report_id}/export", export_bundle, "staff_case_export",
               Action.EXPORT_CASE),
]
