"""An analyst drafts a statistics release and a second person approves it, in a real
browser (issue 15, "Four eyes" and "Tests that must exist").

Debian's Chromium drives a real `backup-node serve` on 127.0.0.1 (the module's `node`).
An analyst signs in, reads the budget warning before computing, computes a draft, and is
shown who can approve it instead of an approve button (four eyes); the coordinator (the
node's first account) opens the same release, reads how to treat negative counts, and
approves it; the page then says who drafted and who approved it. At 1280×800 and 360×740,
in English and in Arabic (right to left); each run releases its own year of incidents.

Screenshots go to test-artifacts/browser/statistics-<lang>-<width>-NN-*.png. Expected
texts come from the node's own catalogues, never typed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM_ARGS, host_of
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, NodeProcess

pytestmark = pytest.mark.browser

SIZES = {"wide": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}
RUNS = [(lang, size) for lang in ("en", "ar") for size in SIZES]
ANALYST = "analyst-a"
ANALYST_PASSPHRASE = "a long enough passphrase for the analyst"


@pytest.fixture(scope="module")
def analyst(node: NodeProcess) -> str:
    """An analyst holding the analysis key, and coded incidents of each run's year, written
    in this process while the node serves (SQLite WAL lets a second process write)."""
    from crypto import passphrase as pw
    from crypto.keys import DataKey
    from node import accounts
    from node.backoffice.incidents import IncidentCoding
    from node.context import open_node
    from node.datadir import DataDir
    from node.intake.models import Consent, ReportInput

    ctx = open_node(DataDir(node.datadir))
    try:
        root = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
        with ctx.db.write() as conn:
            member, _ = accounts.create(conn, ANALYST, ANALYST_PASSPHRASE, {"analyst"},
                                        pw.INSECURE_FAST_FOR_TESTS, 0,
                                        certifier=ctx.keys.certifier)
            accounts.grant_key(conn, accounts.ANALYSIS_KEY,
                               root.node_keys[accounts.ANALYSIS_KEY],
                               accounts.staff_holder(member.id), member.public_key,
                               certifier=ctx.keys.certifier)
        for year in years():
            for i in range(3):
                r = ctx.intake.submit(ReportInput(narrative=f"statistics in a browser {i}",
                                                  consent=Consent(statistics=True)),
                                      DataKey.generate(), [], "test")
                ctx.incidents.code(root, r.report_id, IncidentCoding(
                    category="rape", region="R1", date_from=datetime(year, 3, 1).date()))
    finally:
        ctx.close()
    return ANALYST


def years() -> list[int]:
    """The four years the page offers: one per run."""
    now = datetime.now(UTC).year
    return [now - i for i in range(len(RUNS))]


@pytest.fixture(scope="module")
def browser_for_statistics(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.mark.parametrize(("lang", "size"), RUNS, ids=[f"{lang}-{size}" for lang, size in RUNS])
def test_an_analyst_drafts_and_a_second_person_approves(
        node: NodeProcess, analyst: str, browser_for_statistics: Any, artifacts: Path,
        lang: str, size: str) -> None:
    from node.i18n import load

    t = load(lang).gettext
    base = node.url
    year = years()[RUNS.index((lang, size))]
    viewport = SIZES[size]
    requests: list[str] = []
    contexts = []
    n = 0

    def open_as(username: str, passphrase: str) -> Any:
        context = browser_for_statistics.new_context(
            viewport=viewport, locale=lang, extra_http_headers={"Accept-Language": lang})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{base}/staff/login")
        page.fill("#username", username)
        page.fill("#passphrase", passphrase)
        page.click("main form[action='/staff/login'] button")
        page.wait_for_url(lambda url: "/staff/login" not in url, timeout=60_000)
        return page

    def shot(page: Any, name: str) -> None:
        nonlocal n
        n += 1
        page.screenshot(
            path=artifacts / f"statistics-{lang}-{viewport['width']}-{n:02d}-{name}.png",
            full_page=True)

    def fits(page: Any) -> bool:
        return bool(page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))

    try:
        # the analyst: the budget warning before the button, four eyes on
        drafter = open_as(analyst, ANALYST_PASSPHRASE)
        drafter.goto(f"{base}/staff/statistics")
        assert drafter.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
        assert t("Four eyes is on: a release drafted by one person leaves this node only "
                 "after a second person (another analyst or a coordinator) has approved it."
                 ) in drafter.locator("#four-eyes").inner_text()
        warning = drafter.locator("#budget-warning")
        assert warning.is_visible()
        assert t("Before you compute: a draft spends privacy budget at once, whether it is "
                 "later approved or discarded, because its numbers are computed and seen."
                 ) in warning.inner_text()
        assert fits(drafter)
        shot(drafter, "budget-warning")
        drafter.select_option("#year", str(year))
        drafter.click(f"main form button:text-is('{t('Compute a draft for review')}')")
        drafter.wait_for_url(lambda url: "/staff/statistics/" in url and "draft" not in url)
        review = drafter.url
        second = drafter.locator("#second-person").inner_text()
        assert t("You drafted this release, so another person must approve it: another "
                 "analyst or a coordinator (four eyes).") in second
        assert ADMIN in second  # whom to ask, by name
        assert drafter.get_by_role("button", name=t("Approve and send")).count() == 0
        assert fits(drafter)
        shot(drafter, "drafted")

        # the second person: the coordinator approves
        approver = open_as(ADMIN, ADMIN_PASSPHRASE)
        approver.goto(review)
        assert t("You are the second person for this release: check the numbers below, "
                 "then approve it or discard it.") in approver.locator(
                     "#second-person").inner_text()
        assert approver.locator("#noisy-counts").is_visible()
        assert analyst in approver.locator("#drafted-by").inner_text()
        assert fits(approver)
        shot(approver, "review")
        approver.get_by_role("button", name=t("Approve and send")).click()
        approver.wait_for_url(review)
        assert t("Approved. This node is not federated, so the release stays here.") in \
            approver.locator("[role=status]").inner_text()
        assert ADMIN in approver.locator("#approved-by").inner_text()
        assert analyst in approver.locator("#drafted-by").inner_text()
        assert fits(approver)
        shot(approver, "approved")
    finally:
        for context in contexts:
            context.close()
    assert all(u.startswith("data:") or host_of(u) == "127.0.0.1" for u in requests)
