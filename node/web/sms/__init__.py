"""SMS follow-up (issue 19): the inbound webhook ``POST /sms/{secret}``, the receipt page
where a reporter sets a status-only PIN (``/{lang}/receipt/sms``), and the staff office's
notices of waiting messages.

The webhook follows the form convention of Twilio (and RapidPro/TextIt external channels):
``From``, ``To``, ``Body``; the reply is TwiML. The gateway proves itself with the secret
path segment, with ``X-Twilio-Signature``, or both (``[sms]`` in ``node.toml``); a refused
request reads nothing further and stores nothing. An inbound SMS stores nothing at all: it
is answered from what the node already holds. The only request it understands is
``STATUS <receipt number> <PIN>``, answered with the status and whether a message waits.
Answers per number are rate-limited under a keyed hash in memory; wrong PINs per receipt
are counted the same way and stop after a few an hour. Nothing about an SMS is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time

from aiohttp import web

from node import errors
from node.channels import sms_messages, sms_pins
from node.channels.sms_config import SmsConfig
from node.channels.sms_sender import NOTICES, Notices
from node.context import NodeContext, run_sync
from node.i18n import N_
from node.web import labels
from node.web.appkeys import LIMITER, node
from node.web.failures import error_text, status_of
from node.web.language import require_lang
from node.web.rendering import render, translate
from node.web.reporter.receipt_pages import _open_access, _posted_form
from node.web.responses import see_other

log = logging.getLogger(__name__)

STATUS = N_("Status: %(status)s")
MESSAGE_WAITING = N_("A message is waiting: read it on the site.")
NO_MESSAGE = N_("No new message.")
NOT_RECOGNISED = N_("Receipt number or PIN not recognised.")
HOW_TO = N_("To check your report, send %(keyword)s, your receipt number and your PIN.")
TOO_MANY = N_("Too many tries. Please try again later.")
PIN_SAVED = N_("Your SMS PIN has been saved.")
PIN_REMOVED = N_("Your SMS PIN has been removed. Status by SMS is off.")

WRONG_PINS_PER_HOUR = 5


class NeedsContactConsent(errors.InvalidInput):
    message = N_("A notice by SMS needs your agreement to be contacted: tick it under "
                 "\"Your choices\" first.")


class WrongPins:
    """Wrong PINs per receipt in the last hour, in memory under a keyed hash (a key that
    changes with every start): a 6-digit PIN must not be guessable by many tries."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._counts: dict[bytes, list[float]] = {}

    def _tag(self, code: str) -> bytes:
        digits = "".join(ch for ch in code if ch.isdigit())
        return hashlib.blake2b(digits.encode(), key=self._key, digest_size=16).digest()

    def blocked(self, code: str) -> bool:
        now = time.monotonic()
        recent = [t for t in self._counts.get(self._tag(code), []) if now - t < 3600]
        return len(recent) >= WRONG_PINS_PER_HOUR

    def failed(self, code: str) -> None:
        now = time.monotonic()
        if len(self._counts) > 100_000:
            self._counts.clear()
        tag = self._tag(code)
        self._counts[tag] = [t for t in self._counts.get(tag, []) if now - t < 3600] + [now]


WRONG_PINS: web.AppKey[WrongPins] = web.AppKey("sms_wrong_pins")


def _twiml(text: str | None) -> web.Response:
    return web.Response(text=sms_messages.twiml(text), content_type="text/xml",
                        charset="utf-8")


def _authenticated(request: web.Request, cfg: SmsConfig, given: str,
                   params: list[tuple[str, str]]) -> bool:
    ok = True
    if cfg.webhook_secret is not None:
        ok = hmac.compare_digest(cfg.webhook_secret.encode(),
                                 given.encode("utf-8", "surrogatepass"))
    if cfg.auth_token is not None:
        url = cfg.public_url or str(request.url)
        ok = sms_messages.signature_ok(cfg.auth_token, url, params,
                                       request.headers.get("X-Twilio-Signature")) and ok
    return ok


async def webhook(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    cfg = ctx.config.sms
    if cfg is None:
        raise web.HTTPNotFound()
    if cfg.webhook_secret is not None and not hmac.compare_digest(
            cfg.webhook_secret.encode(),
            request.match_info["secret"].encode("utf-8", "surrogatepass")):
        raise web.HTTPNotFound()
    t = ctx.catalogues.get
    lang = ctx.config.default_language
    try:
        form = await request.post()
        params = [(k, v) for k, v in form.items() if isinstance(v, str)]
    except Exception:  # noqa: BLE001 -- an unreadable body: refused, nothing read
        raise web.HTTPBadRequest() from None
    if not _authenticated(request, cfg, request.match_info["secret"], params):
        raise web.HTTPForbidden()
    try:
        sender, body = form.get("From"), form.get("Body")
        if not isinstance(sender, str) or not isinstance(body, str) \
                or not 0 < len(sender) <= sms_messages.MAX_FIELD:
            return _twiml(None)  # nothing to answer to
        if not request.config_dict[LIMITER].allow("sms-in", "phone:" + sender,
                                                  cfg.messages_per_minute):
            return _twiml(None)  # over the limit: silence, so a flood costs no SMS
        asked = sms_messages.parse(body, cfg.keyword)
        if asked is None:
            return _twiml(t(lang).gettext(HOW_TO) % {"keyword": cfg.keyword})
        wrong = request.config_dict[WRONG_PINS]
        if wrong.blocked(asked.receipt):
            return _twiml(t(lang).gettext(TOO_MANY))
        found = await run_sync(ctx, sms_pins.status, ctx.db, ctx.keys.receipt_index,
                               asked.receipt, asked.pin)
        if found is None:
            wrong.failed(asked.receipt)
            return _twiml(t(lang).gettext(NOT_RECOGNISED))
        gt = t(found.lang if found.lang in ctx.config.languages else lang).gettext
        text = (gt(STATUS) % {"status": gt(labels.STATUS_FOR_REPORTER[found.status])}
                + "\n" + gt(MESSAGE_WAITING if found.message_waiting else NO_MESSAGE))
        return _twiml(text)
    except Exception as exc:  # noqa: BLE001 -- a gateway gets an empty reply, never a 500
        log.error("sms webhook failed: %s", type(exc).__name__)
        return _twiml(None)


async def pin_get(request: web.Request) -> web.StreamResponse:
    require_lang(request)
    session, access = _open_access(request)
    return await _render_pin(request, session.csrf, access.report_id)


async def _render_pin(request: web.Request, csrf: str, report_id: str, *, status: int = 200,
                      problems: list[errors.NodeError] | None = None, phone: str = "",
                      notify: bool = False) -> web.Response:
    ctx = node(request)
    cfg = ctx.config.sms
    assert cfg is not None
    is_set, notifying = await run_sync(ctx, sms_pins.has_pin, ctx.db, report_id)
    problems = problems or []
    return render(request, "public/receipt/sms.html", status=status, csrf=csrf,
                  here="/receipt/sms", is_set=is_set, notifying=notifying or notify,
                  can_notify=cfg.sender is not None, keyword=cfg.keyword, phone_value=phone,
                  example=f"{cfg.keyword} 4831 0299 51 123456",
                  errors=[error_text(request, p) for p in problems],
                  field_errors={p.field: error_text(request, p) for p in problems if p.field})


async def pin_post(request: web.Request) -> web.StreamResponse:
    lang = require_lang(request)
    ctx = node(request)
    session, access, form = await _posted_form(request)
    if form.get("remove") == "yes":
        await run_sync(ctx, sms_pins.remove_pin, ctx.db, ctx.intake, access.report_id,
                       int(ctx.clock().timestamp()) // 3600 * 3600)
        session.flash = translate(request, PIN_REMOVED)
        raise see_other(f"/{lang}/receipt/report")
    pin, again = str(form.get("pin", ""))[:32], str(form.get("pin2", ""))[:32]
    notify = form.get("notify") == "yes" and ctx.config.sms is not None \
        and ctx.config.sms.sender is not None
    phone_text = str(form.get("phone", ""))[:40]
    try:
        pin_ok = sms_pins.normalize_pin(pin)
        if sms_pins.normalize_pin(again) != pin_ok:
            raise sms_pins.BadPin(field="pin")
        phone = sms_pins.normalize_phone(phone_text) if notify else None
        if notify:
            view = await run_sync(ctx, ctx.intake.view_for_reporter, access)
            if not view.consent.contact:
                raise NeedsContactConsent(field="notify")
        await run_sync(ctx, sms_pins.set_pin, ctx.db, ctx.keys.receipt_index, ctx.intake,
                       access.report_id, access.data_key,
                       sms_pins.Choice(pin_ok, lang, notify, phone),
                       int(ctx.clock().timestamp()) // 3600 * 3600)
    except errors.InvalidInput as exc:
        return await _render_pin(request, session.csrf, access.report_id,
                                 status=status_of(exc), problems=[exc], phone=phone_text,
                                 notify=notify)
    session.flash = translate(request, PIN_SAVED)
    raise see_other(f"/{lang}/receipt/report")


def add_routes(app: web.Application) -> None:
    """The webhook and the PIN page, on the public address, when ``[sms]`` is configured
    (before the site's ``/{lang}/`` routes)."""
    app[WRONG_PINS] = WrongPins()
    app.router.add_post("/sms/{secret}", webhook, name="sms_webhook")
    app.router.add_get("/{lang}/receipt/sms", pin_get, name="receipt_sms")
    app.router.add_post("/{lang}/receipt/sms", pin_post, name="receipt_sms_post")


def add_notices(app: web.Application, ctx: NodeContext) -> None:
    """Notices of waiting messages, for the app that serves the staff office."""
    if ctx.config.sms is not None and ctx.config.sms.sender is not None:
        notices = Notices(ctx.config.sms)
        app[NOTICES] = notices
        app.cleanup_ctx.append(notices.lifetime)

