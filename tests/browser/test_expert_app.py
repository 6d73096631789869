"""The expert app in Chromium at 360×740, with JavaScript on and off (issue 16): an invited
expert creates their account, turns on the required second factor, changes their
availability in one tap and fills in their profile, on the app's own address."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from crypto import passphrase as pw
from node import accounts, invitations
from node.context import open_node
from node.datadir import DataDir
from tests.browser.conftest import VIEWPORT, NewPage, Traffic, foreign_requests
from tests.conftest import (
    ADMIN,
    ADMIN_PASSPHRASE,
    NodeProcess,
    free_port,
    init_with_cli,
)
from tests.conftest import test_config as base_config

PASS = "a long enough passphrase"


@pytest.fixture(scope="module")
def expert_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """A node serving the expert app on its own port, and two invitation paths."""
    tmp = tmp_path_factory.mktemp("expert-node")
    root = tmp / "node"
    port = free_port()
    init_with_cli(root, base_config() + f"\n[expert_app]\nenabled = true\nport = {port}\n")
    ctx = open_node(DataDir(root), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        admin = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
        codes = [invitations.invite(ctx.db, ctx.audit, admin.member.id, f"expert{n}",
                                    {"expert"}, int(time.time())) for n in range(2)]
    finally:
        ctx.close()
    proc = NodeProcess(root, free_port(), tmp / "node.log")
    proc.start()
    yield f"http://127.0.0.1:{port}", [f"/expert/invite/{code}" for code in codes]
    proc.stop()


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_an_expert_signs_up_taps_availability_and_fills_the_profile(
        expert_node: tuple[str, list[str]], new_page: NewPage, traffic: Traffic,
        artifacts: Path, auditor: Any, js: bool) -> None:
    base, invites = expert_node
    page: Any = new_page(js=js)
    found: list[str] = []

    def audit(name: str) -> None:
        """Issue 20: no WCAG 2.0/2.1/2.2 A or AA violation on any page of the app."""
        found.extend(auditor.check(page, f"expert {name}", js=js))

    page.goto(base + "/expert/login")
    audit("login")
    page.goto(base + invites[0 if js else 1])
    audit("invitation")
    page.fill("#passphrase", PASS)
    page.fill("#repeat", PASS + " but different")
    page.click("text=Create my account")
    page.wait_for_selector(".errs")
    audit("invitation (refused)")
    page.fill("#passphrase", PASS)
    page.fill("#repeat", PASS)
    page.click("text=Create my account")
    page.wait_for_url(re.compile(r"/expert/second-factor$"))
    audit("second factor")
    secret = page.inner_text("#totp-secret").replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("text=Check the code and turn on")
    page.wait_for_url(re.compile(r"/expert/\?done=second_factor$"))
    assert "Nothing has been shared with you." in page.content()
    audit("home")
    page.click("button:has-text('Available now')")
    page.wait_for_url(re.compile(r"/expert/$"))
    pressed = page.locator("button[aria-pressed=true]")
    assert "Available now" in pressed.inner_text()
    page.click("text=Change your profile")
    audit("profile")
    page.check("input[name=specialties][value=forensic_medicine]")
    page.check("input[name=languages][value=fr]")
    page.fill("#countries", "CD")
    page.fill("#regions", "CD-NK")
    page.check("input[name=modes][value=remote]")
    page.click("text=Save your profile")
    page.wait_for_url(re.compile(r"/expert/\?done=profile$"))
    text = page.inner_text("main")
    assert "Forensic medicine" in text and "CD-NK" in text
    audit("home (profile saved)")
    assert not found, f"{len(found)} WCAG violations:\n" + "\n".join(found)
    # Phone-first: nothing wider than the 360 px screen.
    width = page.evaluate("document.documentElement.scrollWidth") if js else None
    assert width is None or width <= VIEWPORT["width"]
    page.screenshot(path=str(artifacts / f"expert-home-{'js' if js else 'nojs'}.png"),
                    full_page=True)
    assert not foreign_requests(traffic)
    assert not [e for e in traffic.page_errors if e[0].startswith("test_an_expert")]
