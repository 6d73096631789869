"""The receipt lookup page: a coordinator finds a case from the receipt number a caller
reads out, is told to verify the caller before saying anything, and may check the secret
the caller reads out (`node.backoffice.receipt_lookup`). Both numbers travel in POST
bodies only, never in an address the browser keeps in its history, and the answers are
not cached."""

from __future__ import annotations

from aiohttp import web

from node import errors
from node.backoffice import receipt_lookup
from node.backoffice.access import Action
from node.backoffice.case_numbers import number_of
from node.backoffice.ledger import CaseLedger
from node.context import NodeContext, run_sync
from node.web.appkeys import node
from node.web.failures import error_text, status_of
from node.web.staff.common import StaffRoute, checked_form, page, session_of


def _ledger(ctx: NodeContext) -> CaseLedger:
    return CaseLedger(ctx.db, ctx.audit, ctx.clock)


def _page(request: web.Request, *, status: int = 200, **kw: object) -> web.Response:
    # every staff page is sent with "Cache-Control: no-store" (node.web.security)
    return page(request, "staff/receipt_lookup.html", session_of(request), status=status,
                **{"found": None, "receipt": "", "checked": None, "errors": [],
                   "not_found": False, "field_errors": {}, **kw})


def _problem(request: web.Request, exc: errors.NodeError, **kw: object) -> web.Response:
    return _page(request, status=status_of(exc), errors=[error_text(request, exc)],
                 field_errors={exc.field: error_text(request, exc)} if exc.field else {}, **kw)


async def form(request: web.Request) -> web.StreamResponse:
    return _page(request)


async def find(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    posted = await checked_form(request)
    code = str(posted.get("receipt") or "")[:40]
    try:
        found = await run_sync(ctx, receipt_lookup.lookup, ctx.db, ctx.keys.receipt_index,
                               _ledger(ctx), session_of(request).staff, code)
    except errors.NodeError as exc:
        return _problem(request, exc, receipt=code)
    if found is None:
        return _page(request, status=404, receipt=code, not_found=True)
    return _page(request, receipt=code, found={"id": found, "number": number_of(found)})


async def check(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    posted = await checked_form(request)
    code = str(posted.get("receipt") or "")[:40]
    secret = str(posted.get("secret") or "")[:60]
    report_id = str(posted.get("report_id") or "")[:64]
    found = {"id": report_id, "number": number_of(report_id)}
    try:
        matched = await run_sync(ctx, receipt_lookup.check_secret, ctx.intake, ctx.case_access,
                                 _ledger(ctx), session_of(request).staff, report_id, code,
                                 secret)
    except errors.NodeError as exc:
        if isinstance(exc, errors.Forbidden | errors.ReportGone | errors.NotFound):
            raise
        return _problem(request, exc, receipt=code, found=found)
    return _page(request, receipt=code, found=found, checked=matched)


ROUTES: list[StaffRoute] = [
    StaffRoute("GET", "/receipt", form, "staff_receipt_lookup", Action.LOOKUP_RECEIPT),
    StaffRoute("POST", "/receipt", find, "staff_receipt_find", Action.LOOKUP_RECEIPT),
    StaffRoute("POST", "/receipt/check", check, "staff_receipt_check", Action.LOOKUP_RECEIPT),
]
