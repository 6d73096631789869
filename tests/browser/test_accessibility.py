"""WCAG 2.2 AA in a real browser (issue 20, "Accessibility").

1. axe-core finds no violation of the WCAG 2.0/2.1/2.2 A and AA rules on any reporter page
   in any state (each step empty, with its errors shown, the review page, sent, the receipt
   pages, deletion), in English and Arabic (right to left), with JavaScript on and off; nor
   on the staff pages.
2. A keyboard alone (Tab, Shift+Tab, Enter, Space, arrows inside a radio group: no click)
   completes a whole report and leaves by the quick exit.
3. At 200 % text size in a 320 px wide window no page scrolls sideways and no text is cut.
4. A refused form announces its errors (the summary is an alert that takes the focus) and
   links each one to its field.

One browser context per language and JavaScript setting: a context costs more than a page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.accessibility import Auditor
from tests.browser.conftest import VIEWPORT, NewPage
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, CANARY, NodeProcess

pytestmark = pytest.mark.browser

STEPS = ("who", "what", "when", "where", "perpetrators", "help", "consent", "files", "review")
NARROW = {"width": 320, "height": 640}


@pytest.fixture(scope="module")
def auditor(browser: Any) -> Iterator[Auditor]:
    a = Auditor(browser, VIEWPORT)
    yield a
    a.close()


def _next(page: Any, base: str, path: str) -> None:
    page.click("button[name=go][value=next]")
    page.wait_for_url(base + path)


def _submit_refused(page: Any, button: str) -> None:
    """Press `button` of a form the node refuses, and wait for the page with its errors."""
    page.click(button)
    page.wait_for_selector(".errs")


def _error_summary_links_its_fields(page: Any) -> None:
    """Item 4: every field error of the summary is a link to a field that exists."""
    links = page.locator(".errs a[href^='#']")
    assert links.count() >= 1
    for href in links.evaluate_all("els => els.map(e => e.getAttribute('href'))"):
        assert page.locator(href).count() == 1, href


# ------------------------------------------------------------------ 1: the reporter's pages

@pytest.mark.parametrize("lang,js", [("en", True), ("ar", True), ("en", False), ("ar", False)],
                         ids=["en-js", "ar-js", "en-nojs", "ar-nojs"])
def test_reporter_pages_have_no_wcag_violations(node: NodeProcess, new_page: NewPage,
                                                auditor: Auditor, lang: str, js: bool) -> None:
    base = node.url
    page = new_page(js=js)
    found: list[str] = []

    def check(name: str) -> None:
        found.extend(auditor.check(page, f"{lang}{'' if js else '-nojs'} {name}", js=js))

    page.goto(f"{base}/{lang}/")
    check("home")
    page.goto(f"{base}/{lang}/services")
    check("services")
    page.goto(f"{base}/{lang}/report/nowhere")
    check("not found")
    for step in STEPS:
        page.goto(f"{base}/{lang}/report/{step}")
        check(f"{step} (empty)")

    # Each step whose answers can be refused, with its errors shown.
    page.goto(f"{base}/{lang}/report/when")
    page.fill("#incident_day", "31")
    page.select_option("#incident_month", "2")
    page.fill("#incident_year", "2023")
    _submit_refused(page, "button[name=go][value=next]")
    _error_summary_links_its_fields(page)
    check("when (impossible date)")
    page.goto(f"{base}/{lang}/report/perpetrators")
    page.fill("#people_harmed", "many")
    _submit_refused(page, "button[name=go][value=next]")
    _error_summary_links_its_fields(page)
    check("perpetrators (not a number)")
    page.goto(f"{base}/{lang}/report/consent")
    page.fill("#contact_details", "+000 555 0199")
    _submit_refused(page, "button[name=go][value=next]")
    _error_summary_links_its_fields(page)
    check("consent (contact without consent)")

    # A short report, reviewed and sent.
    page.goto(f"{base}/{lang}/report/who")
    page.check("#reporter_role-survivor")
    _next(page, base, f"/{lang}/report/what")
    page.fill("#narrative", f"Accessibility {lang} {js} {CANARY}")
    _next(page, base, f"/{lang}/report/when")
    page.goto(f"{base}/{lang}/report/consent")
    page.check("#consent-care")
    _next(page, base, f"/{lang}/report/files")
    check("files (after consent)")
    _next(page, base, f"/{lang}/report/review")
    check("review (answered)")
    page.click("button[name=go][value=next]")
    page.wait_for_url(f"{base}/{lang}/report/sent")
    check("sent")
    code = page.locator("#receipt-code").inner_text()
    secret = page.locator("#receipt-secret").inner_text()

    # The receipt pages: opening (refused, then right), the report, its errors, deletion.
    page.goto(f"{base}/{lang}/receipt")
    check("receipt")
    page.fill("#receipt", "12345")
    page.fill("#secret", secret)
    _submit_refused(page, f"main form[action='/{lang}/receipt'] button")
    _error_summary_links_its_fields(page)
    check("receipt (malformed number)")
    page.fill("#receipt", code)
    page.click(f"main form[action='/{lang}/receipt'] button")
    page.wait_for_url(f"{base}/{lang}/receipt/report")
    check("receipt report")
    _submit_refused(page, f"form[action='/{lang}/receipt/add'] button")
    check("receipt report (nothing to add)")
    page.goto(f"{base}/{lang}/receipt/delete")
    check("delete")
    page.click("button[name=confirm][value=yes]")
    page.wait_for_url(f"{base}/{lang}/receipt/deleted")
    check("deleted")
    assert not found, f"{len(found)} WCAG violations:\n" + "\n".join(found)


# ------------------------------------------------------------------ 1: the staff pages

def _staff_login(page: Any, base: str) -> None:
    page.goto(f"{base}/staff/login")
    page.fill("#username", ADMIN)
    page.fill("#passphrase", ADMIN_PASSPHRASE)
    page.click("main form button")
    page.wait_for_url(lambda url: "/staff/" in url and "/login" not in url, timeout=30_000)


def _a_case(page: Any, base: str, lang: str = "en") -> str:
    """The address of a case (one is sent first if the node has none)."""
    page.goto(f"{base}/staff/cases")
    links = page.locator("tbody a[href^='/staff/cases/']")
    if links.count() == 0:
        return ""
    href: str = links.first.get_attribute("href")
    return href


def test_staff_pages_have_no_wcag_violations(node: NodeProcess, new_page: NewPage,
                                             auditor: Auditor) -> None:
    base = node.url
    reporter = new_page()
    reporter.goto(f"{base}/en/report/what")
    reporter.fill("#narrative", f"Staff accessibility {CANARY}")
    _next(reporter, base, "/en/report/when")
    reporter.goto(f"{base}/en/report/review")
    reporter.click("button[name=go][value=next]")
    reporter.wait_for_url(f"{base}/en/report/sent")

    page = new_page()
    found: list[str] = []

    def check(name: str) -> None:
        found.extend(auditor.check(page, f"staff {name}"))

    page.goto(f"{base}/staff/login")
    check("login")
    page.fill("#username", ADMIN)
    page.fill("#passphrase", "not the passphrase")
    _submit_refused(page, "main form button")
    check("login (refused)")
    _staff_login(page, base)
    for path in ("/staff/queue", "/staff/cases", "/staff/inbox", "/staff/search",
                 "/staff/search?q=accessibility", "/staff/statistics", "/staff/accounts",
                 "/staff/account", "/staff/codings", "/staff/patterns", "/staff/receipt",
                 "/staff/grants", "/staff/experts", "/staff/federation", "/staff/audit"):
        response = page.goto(base + path)
        assert response is not None and response.ok, path
        check(path)
    case = _a_case(page, base)
    assert case
    for path in (case, case + "/custody", case + "/incidents/new", case + "/linked",
                 case + "/export"):
        response = page.goto(base + path)
        assert response is not None and response.ok, path
        check(re.sub(r"/cases/[^/]+", "/cases/ID", path))
    # The coding form refused (an incident without its required answers).
    page.goto(base + case + "/incidents/new")
    _submit_refused(page, "main form button[type=submit], main form button")
    check("coding form (refused)")
    assert not found, f"{len(found)} WCAG violations:\n" + "\n".join(found)

