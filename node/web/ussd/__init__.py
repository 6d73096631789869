"""The USSD callback (issue 19): ``POST /ussd/{secret}`` on the public address.

The gateway (Africa's Talking's convention, followed by most African USSD gateways) posts a
form with ``sessionId``, ``serviceCode``, ``phoneNumber``, ``networkCode`` and ``text`` (the
answers so far joined by ``*``); the node answers ``text/plain``, ``CON <screen>`` to go on
or ``END <screen>`` to finish. The menu itself is `node.channels.ussd_menu`, a pure
function of ``text``: nothing is kept while a session runs, so an abandoned one leaves
nothing. A finished report goes through the intake service like any other, channel
``ussd``. "Check my report" shows the status and whether a message waits; when ``[sms]`` is
configured it then offers to set the status-only PIN for SMS (`node.channels.sms_pins`),
and, when the node can send SMS, to turn notices of a waiting message on (to the number
dialling) or off -- recorded as the reporter's consent, like any other. It also offers a
new receipt secret (`node.intake.secret_replacement`), shown on the last screen: the
carrier sees USSD screens, so the reporter can replace it again on the site.

The gateway proves itself with the secret path segment, its address, or both
(``[ussd]`` in ``node.toml``); anything else gets a bare 404 and nothing is read. The phone
number is contact data: it is kept only when the reporter agrees to be called back, inside
the report's encrypted body; otherwise it exists only as a keyed hash in the rate limiter's
memory, under a key replaced every hour. Nothing about a session is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass

from aiohttp import web

from crypto import receipt
from crypto.keys import DataKey
from node import errors
from node.channels import sms_pins, ussd_menu
from node.channels.ussd_config import UssdConfig
from node.context import NodeContext, run_sync
from node.i18n import N_
from node.intake import secret_replacement
from node.intake.models import Consent, ContactPreference, ReportInput
from node.intake.service import ReporterAccess
from node.web.appkeys import LIMITER, node
from node.web.ratelimit import client_bucket

log = logging.getLogger(__name__)

MAX_FIELD = 64           # sessionId, serviceCode, phoneNumber, networkCode
FINISHED_SECONDS = 120   # a gateway's retry of the last step gets the same last screen
MAX_FINISHED = 10_000

SENT = N_("Sent. Receipt: %(receipt)s\nSecret: %(secret)s\nKeep both safe. Dial again to "
          "check.")
STATUS = N_("Status: %(status)s")
MESSAGE_WAITING = N_("A message is waiting: read it on the site.")
NO_MESSAGE = N_("No new message.")
NOT_RECOGNISED = N_("Receipt or secret not recognised.")
TOO_MANY = N_("Too many tries. Please try again later.")
UNKNOWN_CODE = N_("This service code is not in use.")
PIN_SET = N_("PIN saved. By SMS, send %(keyword)s, your receipt number and the PIN.")
NOTICE_ON = N_("Saved. An SMS will tell you when a message waits. It never says what.")
NOTICE_OFF = N_("Saved. No more SMS when a message waits.")
NOTICE_NEEDS_CONTACT = N_("First agree to be contacted, on the site. Nothing was changed.")
TRY_AGAIN = N_("Sorry, something went wrong. Nothing was kept. Please dial again.")
# the last screen: the carrier sees it, so the reporter is told they can replace it again
NEW_SECRET_SHOWN = N_("New secret: %(secret)s\nThe phone company can see it: you can "
                      "replace it on the site.")


@dataclass
class _Finished:
    text: str
    until: float


class FinishedSessions:
    """The last screen of sessions that just ended, in memory for two minutes, by a keyed
    hash of the gateway's session id: a gateway that retries the final step (its answer
    was lost) must not create a second report, and the reporter must still see the
    receipt."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._ended: dict[bytes, _Finished] = {}

    def _tag(self, session_id: str) -> bytes:
        return hashlib.blake2b(session_id.encode(), key=self._key, digest_size=16).digest()

    def get(self, session_id: str) -> str | None:
        now = time.monotonic()
        hit = self._ended.get(self._tag(session_id))
        return hit.text if hit is not None and hit.until > now else None

    def put(self, session_id: str, text: str) -> None:
        now = time.monotonic()
        if len(self._ended) >= MAX_FINISHED:
            self._ended = {k: v for k, v in self._ended.items() if v.until > now}
            if len(self._ended) >= MAX_FINISHED:
                self._ended.clear()
        self._ended[self._tag(session_id)] = _Finished(text, now + FINISHED_SECONDS)


FINISHED: web.AppKey[FinishedSessions] = web.AppKey("ussd_finished")


def _reply(text: str, *, end: bool) -> web.Response:
    return web.Response(text=("END " if end else "CON ") + text, content_type="text/plain",
                        charset="utf-8")


def _authenticated(request: web.Request, cfg: UssdConfig, given: str) -> bool:
    ok = True
    if cfg.callback_secret is not None:
        ok = hmac.compare_digest(cfg.callback_secret.encode(),
                                 given.encode("utf-8", "surrogatepass"))
    if cfg.allowed_addresses:
        address, _ = client_bucket(request.remote, request.headers.get("X-Forwarded-For"),
                                   node(request).config.rate_limits.trusted_proxies)
        ok = ok and address in cfg.allowed_addresses
    return ok


def menu_of(ctx: NodeContext) -> ussd_menu.Menu:
    def translate(lang: str, msgid: str) -> str:
        return ctx.catalogues.get(lang).gettext(msgid)

    def regions(lang: str) -> list[ussd_menu.Region]:
        return [ussd_menu.Region(r.code, r.label(lang)) for r in ctx.config.regions]

    sms = ctx.config.sms
    return ussd_menu.Menu(ctx.config.languages, ctx.config.default_language, regions,
                          translate, sms_pin=sms is not None,
                          sms_notice=sms is not None and sms.sender is not None)


async def callback(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    cfg = ctx.config.ussd
    if cfg is None or not _authenticated(request, cfg, request.match_info["secret"]):
        raise web.HTTPNotFound()
    menu = menu_of(ctx)
    lang = ctx.config.default_language
    try:
        form = await request.post()
        fields = {name: form.get(name) for name in (
            "sessionId", "serviceCode", "phoneNumber", "networkCode", "text")}
        if not all(isinstance(v, str) for v in fields.values()) or any(
                len(str(fields[n])) > MAX_FIELD for n in fields if n != "text"):
            return _reply(menu.translate(lang, TRY_AGAIN), end=True)
        session_id, code = str(fields["sessionId"]), str(fields["serviceCode"])
        phone, text = str(fields["phoneNumber"]), str(fields["text"])
        if cfg.service_codes and code not in cfg.service_codes:
            return _reply(menu.translate(lang, UNKNOWN_CODE), end=True)
        finished = request.config_dict[FINISHED]
        if (again := finished.get(session_id)) is not None:
            return _reply(again, end=True)
        limiter = request.config_dict[LIMITER]
        if not limiter.allow("ussd-step", "phone:" + phone, cfg.steps_per_minute):
            return _reply(menu.translate(lang, TOO_MANY), end=True)
        outcome = ussd_menu.answer(menu, text)
        if isinstance(outcome, ussd_menu.Screen):
            return _reply(outcome.text, end=outcome.end)
        if isinstance(outcome, ussd_menu.Submit):
            reply = await _submit(request, ctx, cfg, menu, outcome, phone)
        elif isinstance(outcome, ussd_menu.Check):
            reply, opened = await _check(request, ctx, menu, outcome, phone)
            if opened:  # the status, then a new secret or (with SMS) more choices
                offer = ussd_menu.after_check_offer(menu)[1]
                return _reply(reply + "\n1 " + menu.translate(outcome.lang, offer),
                              end=False)
        elif isinstance(outcome, ussd_menu.SetNotice):
            reply = await _set_notice(request, ctx, menu, outcome, phone)
        elif isinstance(outcome, ussd_menu.NewSecret):
            reply = await _new_secret(request, ctx, menu, outcome, phone)
        else:
            reply = await _set_pin(request, ctx, menu, outcome, phone)
        finished.put(session_id, reply)
        return _reply(reply, end=True)
    except Exception as exc:  # noqa: BLE001 -- a gateway gets a safe END, never a 500
        # the type only: a message or traceback could quote the number or an answer
        log.error("ussd step failed: %s", type(exc).__name__)
        return _reply(menu.translate(lang, TRY_AGAIN), end=True)


def report_of(outcome: ussd_menu.Submit, phone: str) -> ReportInput:
    """The report a finished session gives. The phone number goes in only with contact
    consent, as the report's contact details (encrypted with the report)."""
    contact = None
    if outcome.call_back is not None:
        contact = ContactPreference(method="phone_call", details=phone[:MAX_FIELD],
                                    safe_times=outcome.call_back)
    return ReportInput.model_validate({
        "reporter_role": outcome.role, "needs": list(outcome.needs),
        "region": outcome.region, "consent": Consent(**outcome.consent),
        "contact": contact, "language": outcome.lang})


async def _submit(request: web.Request, ctx: NodeContext, cfg: UssdConfig,
                  menu: ussd_menu.Menu, outcome: ussd_menu.Submit, phone: str) -> str:
    t, lang = menu.translate, outcome.lang
    report = report_of(outcome, phone)
    try:
        ctx.intake.validate(report)
    except errors.EmptyReport:
        return t(lang, ussd_menu.NOTHING_TO_SEND)
    if not request.config_dict[LIMITER].allow("ussd-report", "phone:" + phone,
                                              cfg.reports_per_minute):
        return t(lang, TOO_MANY)
    got = await run_sync(ctx, ctx.intake.submit, report, DataKey.generate(), [], "ussd")
    return t(lang, SENT) % {"receipt": got.code_display, "secret": got.secret_display}


async def _open(request: web.Request, ctx: NodeContext, receipt: str, secret: str,
                phone: str) -> ReporterAccess | str:
    """The report a receipt opens, or the msgid of why not (counted per phone number as
    the site counts receipt attempts per address)."""
    per_minute = ctx.config.rate_limits.receipt_attempts_per_minute
    if not request.config_dict[LIMITER].allow("ussd-receipt", "phone:" + phone, per_minute):
        return TOO_MANY
    try:
        return await run_sync(ctx, ctx.intake.open_receipt, receipt, secret)
    except (errors.ReceiptRejected, errors.ReportGone):
        return NOT_RECOGNISED


async def _check(request: web.Request, ctx: NodeContext, menu: ussd_menu.Menu,
                 outcome: ussd_menu.Check, phone: str) -> tuple[str, bool]:
    """(the screen, whether the receipt opened the report)."""
    t, lang = menu.translate, outcome.lang
    access = await _open(request, ctx, outcome.receipt, outcome.secret, phone)
    if isinstance(access, str):
        return t(lang, access), False
    try:
        view = await run_sync(ctx, ctx.intake.view_for_reporter, access)
        talk = await run_sync(ctx, ctx.conversations.for_reporter, access.report_id,
                              access.data_key)
    except errors.ReportGone:
        return t(lang, NOT_RECOGNISED), False
    waiting = bool(talk) and talk[-1].extra.get("direction") == "to_reporter"
    status = t(lang, STATUS) % {"status": t(lang, ussd_menu.STATUS_SHORT[view.status])}
    return status + "\n" + t(lang, MESSAGE_WAITING if waiting else NO_MESSAGE), True


async def _set_pin(request: web.Request, ctx: NodeContext, menu: ussd_menu.Menu,
                   outcome: ussd_menu.SetPin, phone: str) -> str:
    """The SMS status PIN, set by USSD (no notice: that needs the site's opt-in)."""
    t, lang = menu.translate, outcome.lang
    access = await _open(request, ctx, outcome.receipt, outcome.secret, phone)
    if isinstance(access, str):
        return t(lang, access)
    sms = ctx.config.sms
    if sms is None:
        return t(lang, TRY_AGAIN)
    try:
        await run_sync(ctx, sms_pins.set_pin, ctx.db, ctx.keys.receipt_index, ctx.intake,
                       access.report_id, access.data_key,
                       sms_pins.Choice(outcome.pin, lang, None, None),
                       int(ctx.clock().timestamp()) // 3600 * 3600)
    except errors.ReportGone:
        return t(lang, NOT_RECOGNISED)
    return t(lang, PIN_SET) % {"keyword": sms.keyword}


async def _set_notice(request: web.Request, ctx: NodeContext, menu: ussd_menu.Menu,
                      outcome: ussd_menu.SetNotice, phone: str) -> str:
    """SMS notices on (to the number dialling, which the gateway gives) or off, recorded as
    consent; on only while the reporter agrees to be contacted."""
    t, lang = menu.translate, outcome.lang
    access = await _open(request, ctx, outcome.receipt, outcome.secret, phone)
    if isinstance(access, str):
        return t(lang, access)
    try:
        number = sms_pins.normalize_phone(phone) if outcome.on else None
        if outcome.on:
            view = await run_sync(ctx, ctx.intake.view_for_reporter, access)
            if not view.consent.contact:
                return t(lang, NOTICE_NEEDS_CONTACT)
        await run_sync(ctx, sms_pins.set_notice, ctx.db, ctx.intake, access.report_id,
                       access.data_key, lang, number,
                       int(ctx.clock().timestamp()) // 3600 * 3600, "ussd")
    except errors.ReportGone:
        return t(lang, NOT_RECOGNISED)
    except sms_pins.BadPhone:
        return t(lang, TRY_AGAIN)
    return t(lang, NOTICE_ON if outcome.on else NOTICE_OFF)


async def _new_secret(request: web.Request, ctx: NodeContext, menu: ussd_menu.Menu,
                      outcome: ussd_menu.NewSecret, phone: str) -> str:
    """Replace the receipt secret (issue 19) and show the new one on the last screen."""
    t, lang = menu.translate, outcome.lang
    access = await _open(request, ctx, outcome.receipt, outcome.secret, phone)
    if isinstance(access, str):
        return t(lang, access)
    try:
        secret = await run_sync(ctx, secret_replacement.replace_secret, ctx.intake, ctx.audit,
                                access)
    except errors.ReportGone:
        return t(lang, NOT_RECOGNISED)
    return t(lang, NEW_SECRET_SHOWN) % {"secret": receipt.group(secret, 3)}


def add_routes(app: web.Application) -> None:
    """The callback, on the public address, when ``[ussd]`` is configured."""
    app[FINISHED] = FinishedSessions()
    app.router.add_post("/ussd/{secret}", callback, name="ussd_callback")
