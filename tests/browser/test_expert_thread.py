"""An expert reads and answers their engagement's thread in Chromium at 360×740, with
JavaScript on and off (issue 16): the messages are opened on the server with the expert's
own key for that request only, the form is a plain form, the page fits the phone and asks
for nothing outside 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from crypto import passphrase as pw
from node import accounts
from node.context import open_node
from node.datadir import DataDir
from node.experts.thread_content import checked
from tests.browser.conftest import VIEWPORT, NewPage, Traffic, foreign_requests
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, NodeProcess, free_port, make_node
from tests.conftest import test_config as base_config
from tests.expert_vetting import EXPERT_PASSPHRASE, vetted_experts
from tests.unit.node.test_expert_threads import local_engagement

EXPERTS = {True: "thread-js", False: "thread-nojs"}
QUESTION = "Can you examine her on Monday at the clinic?"


@pytest.fixture(scope="module")
def thread_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[bool, str]]]:
    """A node serving the expert app; each of its two experts engaged by the admin, who
    wrote them a first message."""
    tmp = tmp_path_factory.mktemp("thread-node")
    root = tmp / "node"
    port = free_port()
    make_node(root, base_config() + f"\n[expert_app]\nenabled = true\nport = {port}\n")
    ctx = open_node(DataDir(root), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    threads = {}
    try:
        vetted_experts(ctx, [ctx], tmp, usernames=tuple(EXPERTS.values()))
        admin = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
        for js, username in EXPERTS.items():
            expert = accounts.unlock(ctx.db.read(), username, EXPERT_PASSPHRASE)
            threads[js] = local_engagement(ctx, admin, expert)
            ctx.threads.send(admin, threads[js], checked(QUESTION, None))
    finally:
        ctx.close()
    proc = NodeProcess(root, free_port(), tmp / "node.log")
    proc.start()
    yield f"http://127.0.0.1:{port}", threads
    proc.stop()


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_an_expert_answers_in_the_thread_on_a_phone(
        thread_node: tuple[str, dict[bool, str]], new_page: NewPage, traffic: Traffic,
        artifacts: Path, js: bool) -> None:
    url, threads = thread_node
    page: Any = new_page(js=js)
    page.goto(url + "/expert/login")
    page.fill("#username", EXPERTS[js])
    page.fill("#passphrase", EXPERT_PASSPHRASE)
    page.click("text=Sign in and unlock")
    page.wait_for_url(re.compile(r"/expert/second-factor$"))
    secret = page.inner_text("#totp-secret").replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("text=Check the code and turn on")
    page.wait_for_url(re.compile(r"/expert/\?done=second_factor$"))
    assert page.inner_text("header .badge") == "1"  # the unread message
    page.goto(url + "/expert/needs")
    assert "1 new messages" in page.inner_text("main")
    page.click(f'a[href="/expert/engagements/{threads[js]}"]')
    page.wait_for_url(re.compile(rf"/expert/engagements/{threads[js]}$"))
    assert QUESTION in page.inner_text("main")
    page.fill("#thread-text", "Yes, at ten, with an interpreter.")
    page.click("text=Send")
    page.wait_for_url(re.compile(rf"/expert/engagements/{threads[js]}#latest$"))
    text = page.inner_text("main")
    assert QUESTION in text and "Yes, at ten, with an interpreter." in text
    width = page.evaluate("document.documentElement.scrollWidth") if js else None
    assert width is None or width <= VIEWPORT["width"]
    page.screenshot(path=str(artifacts / f"expert-thread-{'js' if js else 'nojs'}.png"),
                    full_page=True)
    assert not foreign_requests(traffic)
