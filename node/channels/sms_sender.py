"""Outbound SMS (issue 19): the harmless notice that a message waits, sent through an HTTP
API in Twilio's REST form (`SmsSender`).

Only the organisation's `notice_text` is ever sent, never content: an SMS stays on the
phone, where others may read it. A notice is prepared when staff send a message to the
reporter (`Notices.after_staff_message`, inside the staff action, which opened the report's
key) and posted in the background, so the staff page does not wait for the gateway. A
failure is logged by its kind only: never the number, the text or the gateway's answer.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from node.accounts import UnlockedStaff
from node.backoffice.access import Action
from node.channels import sms_pins
from node.channels.sms_config import SmsConfig, SmsSender
from node.context import NodeContext

log = logging.getLogger(__name__)


def _basic(sender: SmsSender) -> str:
    pair = f"{sender.account_sid}:{sender.auth_token}".encode()
    return "Basic " + base64.b64encode(pair).decode()


async def send_sms(http: aiohttp.ClientSession, sender: SmsSender, to: str, body: str) -> None:
    """One SMS; raises on a refusal or a network failure."""
    url = f"{sender.api_base}/2010-04-01/Accounts/{sender.account_sid}/Messages.json"
    async with http.post(url, data={"To": to, "From": sender.from_number, "Body": body},
                         headers={"Authorization": _basic(sender)},
                         timeout=aiohttp.ClientTimeout(total=sender.timeout_seconds)) as r:
        if r.status >= 300:
            raise RuntimeError(f"SMS gateway answered {r.status}")


class Notices:
    """Notices of waiting messages, for the app that serves the staff office."""

    def __init__(self, cfg: SmsConfig) -> None:
        self.cfg = cfg
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0  # notices the gateway accepted (for the tests and /metrics)

    async def lifetime(self, _: web.Application) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        self._http = aiohttp.ClientSession()
        yield
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._http.close()

    def after_staff_message(self, ctx: NodeContext, staff: UnlockedStaff,
                            report_id: str) -> None:
        """Called in the staff action's thread right after the message is stored."""
        sender = self.cfg.sender
        if sender is None or self._loop is None:
            return
        key = ctx.case_access.open_case(staff, Action.MESSAGE_REPORTER, report_id)
        number = sms_pins.notice_number(ctx.db.read(), ctx.intake.consent, report_id, key)
        if number is None:
            return
        self._loop.call_soon_threadsafe(self._start, sender, number)

    def _start(self, sender: SmsSender, number: str) -> None:
        task = asyncio.ensure_future(self._send(sender, number))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, sender: SmsSender, number: str) -> None:
        assert self._http is not None
        try:
            await send_sms(self._http, sender, number, self.cfg.notice_text)
            self.sent += 1
        except Exception as exc:  # noqa: BLE001 -- logged by kind; the message stays on the site
            log.warning("SMS notice not sent: %s", type(exc).__name__)

    async def idle(self) -> None:
        """Until every notice started so far is done (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


NOTICES: web.AppKey[Notices] = web.AppKey("sms_notices")
