"""E-mail notifications of new needs (issue 16) through a real SMTP server (aiosmtpd) on
127.0.0.1: one disguised message per expert who asked for it, carrying nothing about the
need; the address is not kept in clear; a relay that is down loses nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from node.config import ExpertMail
from node.context import NodeContext
from node.experts import notify
from tests.conftest import free_port
from tests.unit.node.test_expert_needs import make_world, post

ADDRESS = "zawadi.mail-canary@example.org"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    # aiosmtpd calls its handler's hooks by these names
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_one_disguised_mail_per_expert_and_nothing_about_the_need(
        node_ctx: NodeContext, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    w = make_world(node_ctx)
    mail = ExpertMail(relay_host="127.0.0.1", relay_port=port, from_address="noreply@ngo.org",
                      subject="A new message")
    with pytest.raises(notify.BadAddress):
        notify.set_address(node_ctx.db, node_ctx.audit, w["expert"], "not an address",
                           keys=node_ctx.keys, now=w["now"])
    notify.set_address(node_ctx.db, node_ctx.audit, w["expert"], ADDRESS, keys=node_ctx.keys,
                       now=w["now"])
    assert notify.address(node_ctx.db.read(), w["expert"].member.id, node_ctx.keys) == ADDRESS
    for path in node_ctx.datadir.root.rglob("node.db*"):
        assert ADDRESS.encode() not in path.read_bytes()
    now = int(time.time())
    assert notify.send_due(node_ctx.db, node_ctx.keys, mail, now) == 0  # nothing new yet
    need_id, _ = post(node_ctx, w)
    post(node_ctx, w)  # two needs: one e-mail
    # The relay is down: nothing is lost, the e-mail goes once it is back.
    down = mail.model_copy(update={"relay_port": free_port()})
    assert notify.send_due(node_ctx.db, node_ctx.keys, down, now) == 0
    assert notify.send_due(node_ctx.db, node_ctx.keys, mail, now) == 1
    assert notify.send_due(node_ctx.db, node_ctx.keys, mail, now) == 0
    [envelope] = inbox.messages
    assert envelope.rcpt_tos == [ADDRESS]
    message = message_from_bytes(envelope.content)
    assert message["Subject"] == "A new message"
    raw = envelope.content.decode()
    for secret in (need_id, "forensic", "Forensic", "CD-NK", "Canary-need-7731",
                   node_ctx.keys.node_id):
        assert secret not in raw
    # Turned off: no more e-mail.
    notify.set_address(node_ctx.db, node_ctx.audit, w["expert"], "", keys=node_ctx.keys,
                       now=now)
    post(node_ctx, w)
    assert notify.send_due(node_ctx.db, node_ctx.keys, mail, now) == 0
