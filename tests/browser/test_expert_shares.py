"""An expert reads what was shared with them, in Chromium at 360×740, with JavaScript on
and off (issue 16). The share is opened on the server with the expert's own key, for that
request only; the page is the same either way and asks for nothing outside 127.0.0.1."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts
from node.context import open_node
from node.datadir import DataDir
from node.intake.models import Consent, ReportInput
from tests.browser.conftest import VIEWPORT, NewPage, Traffic, foreign_requests
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, NodeProcess, free_port, make_node
from tests.conftest import test_config as base_config
from tests.expert_vetting import EXPERT_PASSPHRASE, engaged, vetted_experts

NARRATIVE = "BROWSER-SHARE-CANARY: what happened, for the expert's eyes"
EXPERTS = {True: "reader-js", False: "reader-nojs"}


@pytest.fixture(scope="module")
def shared_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A node serving the expert app; a report shared with each of its two experts."""
    tmp = tmp_path_factory.mktemp("shares-node")
    root = tmp / "node"
    port = free_port()
    make_node(root, base_config() + f"\n[expert_app]\nenabled = true\nport = {port}\n")
    ctx = open_node(DataDir(root), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        experts = vetted_experts(ctx, [ctx], tmp, usernames=tuple(EXPERTS.values()))
        r = ctx.intake.submit(ReportInput(narrative=NARRATIVE, incident_year=2024,
                                          consent=Consent(sharing=True, share_account=True,
                                                          share_scope_set=True)),
                              DataKey.generate(), [], "test")
        admin = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
        for expert in experts:
            ctx.shares.share(admin, engagement_id=engaged(ctx, expert.expert_key, r.report_id),
                             report_id=r.report_id,
                             expert_key=expert.expert_key, groups=("narrative", "when"),
                             files=(), expires=int(time.time()) + 3600,
                             observatory_key=expert.observatory_key)
    finally:
        ctx.close()
    proc = NodeProcess(root, free_port(), tmp / "node.log")
    proc.start()
    yield f"http://127.0.0.1:{port}"
    proc.stop()


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_an_expert_reads_a_share_on_a_phone(shared_node: str, new_page: NewPage,
                                            traffic: Traffic, artifacts: Path,
                                            js: bool) -> None:
    page: Any = new_page(js=js)
    page.goto(shared_node + "/expert/login")
    page.fill("#username", EXPERTS[js])
    page.fill("#passphrase", EXPERT_PASSPHRASE)
    page.click("text=Sign in and unlock")
    page.wait_for_url(re.compile(r"/expert/second-factor$"))
    secret = page.inner_text("#totp-secret").replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("text=Check the code and turn on")
    page.wait_for_url(re.compile(r"/expert/\?done=second_factor$"))
    page.click("text=A shared case")
    page.wait_for_url(re.compile(r"/expert/shares/[0-9a-f]{32}$"))
    text = page.inner_text("main")
    assert NARRATIVE in text and "2024" in text
    width = page.evaluate("document.documentElement.scrollWidth") if js else None
    assert width is None or width <= VIEWPORT["width"]
    page.screenshot(path=str(artifacts / f"expert-share-{'js' if js else 'nojs'}.png"),
                    full_page=True)
    assert not foreign_requests(traffic)
