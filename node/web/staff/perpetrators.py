"""The perpetrator page of a case (issue 18): staff who code the case confirm who did it
(names and aliases, unit with rank, armed group), see what they confirmed, and take a
confirmation back. The names are shown only here, decrypted with the case key; the form
says what becomes a token and why a name alone does not."""

from __future__ import annotations

import asyncio

from aiohttp import web

from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action, allowed
from node.backoffice.case_numbers import number_of
from node.backoffice.ledger import CaseLedger
from node.context import NodeContext, run_sync
from node.i18n import N_
from node.matching import identifiers, introductions, notices
from node.matching.recipe import RANKS
from node.web.appkeys import FEDERATION_STATUS, node
from node.web.failures import error_text, status_of
from node.web.rendering import translate
from node.web.responses import see_other
from node.web.staff.common import STAFF_PATH, StaffRoute, checked_form, page, session_of

_CASE = "/cases/{report_id}/perpetrators"


def offer_keys(request: web.Request, staff: UnlockedStaff) -> None:
    """A coordinator signed in: their key opens the cases whose confirmed identifiers have
    no token of the current epoch yet (re-evaluation after a rotation), in the background
    (`PerpetratorIdentifiers.offer`); the sign-in does not wait for it."""
    if not allowed(staff.member, Action.DISMISS_MATCH):
        return
    ctx = node(request)
    work = asyncio.get_running_loop().run_in_executor(ctx.executor, ctx.perpetrators.offer,
                                                      staff)
    work.add_done_callback(lambda f: f.cancelled() or f.exception())  # next sign-in retries


def wake(request: web.Request) -> None:
    """Something waits for the federation round (a decision on a match): look at once."""
    wake_up = request.config_dict[FEDERATION_STATUS].wake
    if wake_up is not None:
        wake_up()


def _consented(ctx: NodeContext, report_id: str) -> bool:
    try:
        ctx.case_access.require_consent(report_id, "matching")
    except errors.ConsentMissing:
        return False
    return True


async def show(request: web.Request, *, problems: list[errors.NodeError] | None = None,
               status: int = 200, typed: dict[str, str] | None = None) -> web.StreamResponse:
    ctx = node(request)
    session = session_of(request)
    report_id = request.match_info["report_id"]
    key = await run_sync(ctx, ctx.case_access.open_case, session.staff, Action.READ_CASE,
                         report_id)
    confirmed = await run_sync(ctx, ctx.perpetrators.confirmed, report_id, key)
    consented = await run_sync(ctx, _consented, ctx, report_id)
    found = notices.matches(ctx.db.read(), report_id)
    introduced = introductions.states(ctx.db.read(), report_id)
    notice, session.flash = session.flash, None
    field_errors = {p.field: error_text(request, p) for p in problems or [] if p.field}
    return page(request, "staff/perpetrators.html", session, status=status, id=report_id,
                number=number_of(report_id), confirmed=confirmed, consented=consented,
                ranks=[(k, translate(request, v)) for k, v in RANKS.items()],
                rank_labels={k: translate(request, v) for k, v in RANKS.items()},
                can_confirm=allowed(session.staff.member, Action.CODE_INCIDENT),
                matches=found, can_dismiss=allowed(session.staff.member, Action.DISMISS_MATCH),
                introductions=introduced, me=session.staff.member.id,
                errors=[error_text(request, p) for p in problems or []],
                field_errors=field_errors, typed=typed or {}, notice=notice)


async def confirm(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await checked_form(request)
    session = session_of(request)
    report_id = request.match_info["report_id"]
    typed = {k: str(form.get(k) or "")[:4000] for k in ("names", "unit", "rank", "group")}
    try:
        ids = identifiers.parse(typed["names"], typed["unit"], typed["rank"], typed["group"])
        await run_sync(ctx, ctx.perpetrators.confirm, session.staff, report_id, ids)
    except errors.NodeError as exc:
        if isinstance(exc, errors.Forbidden | errors.ReportGone | errors.NotFound):
            raise
        return await show(request, problems=[exc], status=status_of(exc), typed=typed)
    session.flash = translate(request, N_("The identifiers were confirmed."))
    raise see_other(f"{STAFF_PATH}/cases/{report_id}/perpetrators")


async def remove(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    await checked_form(request)
    session = session_of(request)
    report_id = request.match_info["report_id"]
    await run_sync(ctx, ctx.perpetrators.remove, session.staff, report_id,
                   request.match_info["identifier_id"])
    session.flash = translate(request, N_("The identifiers were removed; their tokens are "
                                          "withdrawn."))
    raise see_other(f"{STAFF_PATH}/cases/{report_id}/perpetrators")


async def dismiss(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    await checked_form(request)
    session = session_of(request)
    report_id = request.match_info["report_id"]
    ledger = CaseLedger(ctx.db, ctx.audit, ctx.clock)

    def act() -> None:
        with ctx.db.write() as conn:
            if not notices.dismiss(conn, session.staff, report_id,
                                   request.match_info["case_ref"], ledger.now()):
                raise errors.NotFound()
            ledger.record(conn, session.staff, "case.match_dismissed", report_id, "match")
            # the observatory ends any introduction of this match still pending
            introductions.dismissed(conn, report_id, request.match_info["case_ref"],
                                    ledger.now())

    await run_sync(ctx, act)
    wake(request)
    session.flash = translate(request, N_("The match was dismissed as false; it will not be "
                                          "shown again."))
    raise see_other(f"{STAFF_PATH}/cases/{report_id}/perpetrators")


async def introduce(request: web.Request) -> web.StreamResponse:
    """A coordinator agrees to be introduced to the coordinator on the other side of one
    match (`node.matching.introductions.ask`): sent on the next federation round."""
    ctx = node(request)
    await checked_form(request)
    session = session_of(request)
    report_id = request.match_info["report_id"]
    ledger = CaseLedger(ctx.db, ctx.audit, ctx.clock)

    def act() -> None:
        with ctx.db.write() as conn:
            introductions.ask(conn, ctx.keys.certifier, ctx.keys.node_id, session.staff,
                              report_id, request.match_info["case_ref"], ledger.now())
            ledger.record(conn, session.staff, "case.match_introduction_asked", report_id,
                          "match")

    await run_sync(ctx, act)
    wake(request)
    session.flash = translate(request, N_("Your agreement was sent. If the other "
                                          "organisation's coordinator agrees too, a "
                                          "conversation with them opens here and under "
                                          "Conversations."))
    raise see_other(f"{STAFF_PATH}/cases/{report_id}/perpetrators#matches")


ROUTES: list[StaffRoute] = [
    StaffRoute("GET", _CASE, show, "staff_case_perpetrators", Action.READ_CASE),
    StaffRoute("POST", _CASE, confirm, "staff_case_perpetrators_confirm", Action.CODE_INCIDENT),
    StaffRoute("POST", _CASE + "/{identifier_id}/remove", remove,
               "staff_case_perpetrators_remove", Action.CODE_INCIDENT),
    StaffRoute("POST", _CASE + "/matches/{case_ref}/dismiss", dismiss,
               "staff_case_match_dismiss", Action.DISMISS_MATCH),
    StaffRoute("POST", _CASE + "/matches/{case_ref}/introduce", introduce,
               "staff_case_match_introduce", Action.DISMISS_MATCH),
]
