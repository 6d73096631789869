"""Suggested codings in a real browser (issue 17): a caseworker accepts a suggestion and it
becomes a coding -- through the coding form, its review and "Save", never by itself -- and
a rejected suggestion is remembered. Without JavaScript: the highlighting and the
decisions are plain HTML and forms.

Debian's Chromium drives a real `backup-node serve` on 127.0.0.1 (the module's `node`); the
case and the caseworker are written in this process while the node serves (SQLite WAL).
Screenshots go to test-artifacts/browser/suggestions-NN-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.browser.conftest import CHROMIUM_ARGS
from tests.conftest import NodeProcess

pytestmark = pytest.mark.browser

NARRATIVE = ("On 12 March 2024 soldiers of the 2nd battalion came to our village at night. "
             "Three soldiers raped me and my sister, then they took us to their camp.")
WORKER = "suggestworker"
PASSPHRASE = "a long enough passphrase for the browser"


@pytest.fixture(scope="module")
def case(node: NodeProcess) -> str:
    from crypto import passphrase as pw
    from crypto.keys import DataKey
    from node import accounts
    from node.context import open_node
    from node.datadir import DataDir
    from node.intake.models import Consent, ReportInput
    from tests.conftest import ADMIN, ADMIN_PASSPHRASE

    ctx = open_node(DataDir(node.datadir))
    try:
        root = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
        with ctx.db.write() as conn:
            member, _ = accounts.create(conn, WORKER, PASSPHRASE, {"caseworker"},
                                        pw.INSECURE_FAST_FOR_TESTS, 0,
                                        certifier=ctx.keys.certifier)
        report_id = ctx.intake.submit(ReportInput(
            narrative=NARRATIVE, region="R1", consent=Consent(statistics=True)),
            DataKey.generate(), [], "test").report_id
        ctx.case_access.assign(root, report_id, member.id)
        return report_id
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def browser_for_suggestions(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_a_caseworker_accepts_a_suggestion_and_it_becomes_a_coding(
        node: NodeProcess, case: str, browser_for_suggestions: Any, artifacts: Path) -> None:
    base = node.url
    context = browser_for_suggestions.new_context(
        viewport={"width": 1280, "height": 800}, java_script_enabled=False)
    context.set_default_timeout(15_000)
    requests: list[str] = []
    page = context.new_page()
    page.on("request", lambda r: requests.append(r.url))
    n = 0

    def shot(name: str) -> None:
        nonlocal n
        n += 1
        page.screenshot(path=artifacts / f"suggestions-{n:02d}-{name}.png", full_page=True)

    try:
        page.goto(f"{base}/staff/login")
        page.fill("#username", WORKER)
        page.fill("#passphrase", PASSPHRASE)
        page.click("main form[action='/staff/login'] button")
        page.wait_for_url(f"{base}/staff/cases", timeout=60_000)

        page.goto(f"{base}/staff/cases/{case}")
        panel = page.locator("#suggestions")
        assert "raped" in " ".join(panel.locator("blockquote mark").all_inner_texts())
        shot("suggestions")

        # a rejection is remembered, and nothing is coded
        page.locator("#suggestions li", has=page.locator(
            "input[name=item][value='context:abduction']")).locator(
            "button[value=reject]").click()
        page.wait_for_url(f"{base}/staff/cases/{case}#suggestions")
        rejected = page.locator("#suggestions li", has=page.locator(
            "input[name=item][value='context:abduction']"))
        assert "rejected" in rejected.inner_text()
        assert "Not coded yet." in page.locator("#incidents ~ ul").first.inner_text()

        # accepting "rape" opens the coding form with it chosen; the rest is the coder's
        page.locator("#suggestions li", has=page.locator(
            "input[name=item][value='category:rape']")).locator(
            "button[value=accept]").click()
        assert page.locator("#c_category").input_value() == "rape"
        assert page.locator("#c_survivor_sex").input_value() == ""
        shot("coding-form")
        page.select_option("#c_region", "R1")
        page.select_option("#c_perpetrator_affiliation", "state_forces")
        page.select_option("#c_survivor_sex", "female")
        page.select_option("#c_survivor_age_group", "unknown")
        page.select_option("#c_context", "non_international_armed_conflict")
        page.click("main form button")
        page.wait_for_url(f"{base}/staff/cases/{case}/incidents/review")
        assert "Art. 8(2)(e)(vi)" in page.locator("#provision").inner_text()
        page.click("main form button:text-is('Save this coding')")
        page.wait_for_url(f"{base}/staff/cases/{case}#incidents")
        listed = page.locator("#incidents ~ ul li").first.inner_text()
        assert "Rape" in listed and "Art. 8(2)(e)(vi)" in listed
        accepted = page.locator("#suggestions li", has=page.locator(
            "input[name=item][value='category:rape']"))
        assert "accepted" in accepted.inner_text()
        shot("coded")
        # nothing left 127.0.0.1
        assert {urlparse(u).hostname for u in requests} <= {"127.0.0.1"}
    finally:
        context.close()
