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
from typing import Any

import pytest

from tests.browser.accessibility import Auditor
from tests.browser.conftest import Neutral, NewPage
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, CANARY, NodeProcess

pytestmark = pytest.mark.browser

STEPS = ("who", "what", "when", "where", "perpetrators", "help", "consent", "files", "review")
NARROW = {"width": 320, "height": 640}


def _next(page: Any, base: str, path: str) -> None:
    page.click("button[name=go][value=next]")
    page.wait_for_url(base + path)


def _submit_refused(page: Any, button: str) -> None:
    """Press `button` of a form the node refuses, and wait for the page with its errors."""
    page.click(button)
    page.wait_for_selector(".errs")


def _error_summary_is_announced(page: Any) -> None:
    """Item 4: the summary is an alert and has the focus when the page opens (autofocus:
    with or without JavaScript), so a screen reader reads it first."""
    assert page.locator(".errs[role=alert]").count() == 1
    assert page.evaluate("document.activeElement.matches('.errs')")


def _error_summary_links_its_fields(page: Any) -> None:
    """Item 4: announced, and every field error of the summary is a link to a field that
    exists."""
    _error_summary_is_announced(page)
    links = page.locator(".errs a[href^='#']")
    assert links.count() >= 1
    for href in links.evaluate_all("els => els.map(e => e.getAttribute('href'))"):
        assert page.locator(href).count() == 1, href


# ------------------------------------------------------------------ 0: the audit itself

BROKEN = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Broken</title>'
          '</head><body><main><h1>Broken</h1><input type="text" id="nameless">'
          '<p style="color:#bbb;background:#fff">Pale text on white</p>'
          '<noscript><img src="data:,"></noscript></main></body></html>')


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_the_audit_finds_violations(node: NodeProcess, new_page: NewPage, auditor: Auditor,
                                    js: bool) -> None:
    """A page with a field without a label and pale text fails, with and without
    JavaScript (where the image without alternative text inside <noscript> counts too)."""
    page = new_page(js=js)
    page.route(f"{node.url}/broken", lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8", body=BROKEN))
    page.goto(f"{node.url}/broken")
    found = auditor.check(page, "broken", js=js)
    auditor.found.clear()  # this page is broken on purpose
    rules = {line.split()[1] for line in found}
    assert {"label", "color-contrast"} <= rules, found
    assert ("image-alt" in rules) == (not js), found
    assert all("#nameless" in line for line in found if " label " in line), found


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
    _submit_refused(page, f"form[action='/{lang}/receipt/add'] .actions button")
    _error_summary_is_announced(page)
    check("receipt report (nothing to add)")
    page.click(f"form[action='/{lang}/receipt/secret'] button")  # issue 19: a new secret
    page.locator("#receipt-secret").wait_for()
    check("receipt new secret")
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
    _error_summary_is_announced(page)
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
    for path in (case, case + "/custody", case + "/incidents/new", case + "/linked"):
        response = page.goto(base + path)
        assert response is not None and response.ok, path
        check(re.sub(r"/cases/[^/]+", "/cases/ID", path))
    # The coding form refused (an incident without its required answers).
    page.goto(base + case + "/incidents/new")
    _submit_refused(page, "main form button[type=submit], main form button")
    _error_summary_links_its_fields(page)
    check("coding form (refused)")
    assert not found, f"{len(found)} WCAG violations:\n" + "\n".join(found)



# ------------------------------------------------------------------ 2: keyboard only

# The focused element, and whether it shows that it has the focus (WCAG 2.4.7): an outline
# (Chromium's own ring is "auto") or a box shadow.
_FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const cs = getComputedStyle(el);
    const ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0)
                 || cs.boxShadow !== 'none';
    const id = el.id ? '#' + el.id : '';
    const key = el.tagName.toLowerCase() + id
                + (el.name ? `[name=${el.name}]` : '') + (el.value && el.tagName === 'BUTTON'
                   ? `[value=${el.value}]` : '') + (el.getAttribute('href')
                   ? `[href=${el.getAttribute('href')}]` : '');
    return {key: key, ring: ring};
}"""


def _tab_to(page: Any, selector: str, *, back: bool = False, limit: int = 60) -> None:
    """Press Tab (or Shift+Tab) until the element matching `selector` has the focus; every
    stop on the way must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focused = page.evaluate(_FOCUSED)
        if focused is None:
            continue
        assert focused["ring"], f"no visible focus on {focused['key']}"
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never took the focus")


def _press(page: Any, key: str, path: str) -> None:
    with page.expect_navigation(url=lambda url: url.endswith(path)):
        page.keyboard.press(key)


def test_a_whole_report_with_the_keyboard_alone(node: NodeProcess, neutral: Neutral,
                                                new_page: NewPage) -> None:
    base = node.url
    page = new_page()
    page.goto(f"{base}/en/")
    _tab_to(page, "main a[href='/en/report/who']")
    _press(page, "Enter", "/en/report/who")

    # A radio group is one Tab stop, on its ticked answer ("I prefer not to say" at first);
    # the arrow keys move inside it, and tick as they move (the platform's own behaviour).
    _tab_to(page, "input[name=reporter_role]")
    for _ in range(4):
        if page.evaluate("document.activeElement.id") == "reporter_role-survivor":
            break
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    assert page.is_checked("#reporter_role-survivor")
    _tab_to(page, "button[name=go][value=next]")
    _press(page, "Enter", "/en/report/what")

    _tab_to(page, "#narrative")
    page.keyboard.type(f"Keyboard only {CANARY}")
    _tab_to(page, "button[name=go][value=next]")
    _press(page, "Space", "/en/report/when")

    _tab_to(page, "#incident_year")
    page.keyboard.type("2024")
    _tab_to(page, "button[name=go][value=next]")
    _press(page, "Enter", "/en/report/where")

    _tab_to(page, "#place")
    page.keyboard.type("Near the market")
    _tab_to(page, "button[name=go][value=next]")
    _press(page, "Enter", "/en/report/perpetrators")

    _tab_to(page, "#perpetrators")
    page.keyboard.type("Two men")
    _tab_to(page, "button[name=go][value=next]")
    _press(page, "Enter", "/en/report/help")

    _tab_to(page, "#needs-medical")
    page.keyboard.press("Space")
    _tab_to(page, "#needs-legal")
    page.keyboard.press("Space")
    _tab_to(page, "#needs-medical", back=True)  # Shift+Tab goes back; Space unticks
    page.keyboard.press("Space")
    assert not page.is_checked("#needs-medical") and page.is_checked("#needs-legal")
    _tab_to(page, "button[name=go][value=next]")
    _press(page, "Enter", "/en/report/consent")

    _tab_to(page, "#consent-care")
    page.keyboard.press("Space")
    _tab_to(page, "button[name=go][value=next]")
    _press(page, "Enter", "/en/report/files")
    _tab_to(page, "button[name=go][value=next]")
    _press(page, "Enter", "/en/report/review")

    summary = page.locator("main dl").inner_text()
    for expected in ("Keyboard only", "Near the market", "Two men", "2024"):
        assert expected in summary, summary
    _tab_to(page, "button[name=go][value=next]")
    _press(page, "Enter", "/en/report/sent")
    assert page.locator("#receipt-code").inner_text().strip()

    # Quick exit: the first stop of every page, reached back with Shift+Tab.
    page.goto(f"{base}/en/report/what")
    _tab_to(page, "#narrative")
    _tab_to(page, "a#exit", back=True)
    page.keyboard.press("Enter")
    page.wait_for_url(neutral.url)


# ------------------------------------------------------------------ 3: 200 % text, 320 px

# What does not fit at this size: the page scrolls sideways, an element reaches out of the
# window, or an element that hides its overflow cuts its own text. Visually hidden text
# (clipped to 1 px on purpose, for screen readers) is left out.
_DOES_NOT_FIT = """() => {
    const out = [];
    const root = document.scrollingElement;
    if (root.scrollWidth > root.clientWidth)
        out.push(`the page scrolls sideways: ${root.scrollWidth} > ${root.clientWidth}`);
    const width = root.clientWidth;
    const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                       + (el.className && typeof el.className === 'string'
                          ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
    // Only the outermost element that does not fit is named; what is inside a visually
    // hidden element is left out with it.
    const named = new Set(), hidden = new Set();
    for (const el of document.body.querySelectorAll('*')) {
        const parent = el.parentElement;
        if (hidden.has(parent)) { hidden.add(el); continue; }
        const cs = getComputedStyle(el);
        if (cs.clipPath !== 'none' || cs.clip !== 'auto') { hidden.add(el); continue; }
        if (cs.display === 'none' || cs.visibility === 'hidden') continue;
        const r = el.getBoundingClientRect();
        if (r.width <= 1 || r.height <= 1) continue;
        if (r.right > width + 1 || r.left < -1) {
            if (!named.has(parent))
                out.push(`${name(el)} reaches out of the window`
                         + ` (${Math.round(r.left)}..${Math.round(r.right)})`);
            named.add(el);
        }
        const hides = v => v === 'hidden' || v === 'clip';
        if ((hides(cs.overflowX) && el.scrollWidth > el.clientWidth + 1)
            || (hides(cs.overflowY) && el.scrollHeight > el.clientHeight + 1))
            out.push(`${name(el)} cuts its content`);
    }
    return out;
}"""


def _large_text_narrow_page(browser: Any) -> Any:
    """A page 320 px wide whose browser text size is 200 % (Chromium's default font sizes
    doubled, as a person sets them), not a zoom: what scales is what the CSS lets scale."""
    context = browser.new_context(viewport=NARROW)
    context.set_default_timeout(10_000)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Page.enable")
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})
    return page


def test_reporter_pages_reflow_at_200_percent_text_and_320px(node: NodeProcess,
                                                            browser: Any) -> None:
    base = node.url
    page = _large_text_narrow_page(browser)
    problems: list[str] = []
    try:
        assert page.evaluate("parseFloat(getComputedStyle(document.documentElement)"
                             ".fontSize)") == 32  # the text size took
        for lang in ("en", "ar"):
            def check(name: str, lang: str = lang) -> None:
                problems.extend(f"{lang} {name}: {p}" for p in page.evaluate(_DOES_NOT_FIT))

            for path in ("/", "/services", "/receipt"):
                page.goto(f"{base}/{lang}{path}")
                check(path)
            for step in STEPS:
                page.goto(f"{base}/{lang}/report/{step}")
                check(step)
            page.goto(f"{base}/{lang}/report/when")
            page.fill("#incident_day", "31")
            page.select_option("#incident_month", "2")
            page.fill("#incident_year", "2023")
            _submit_refused(page, "button[name=go][value=next]")
            check("when (refused)")
            page.goto(f"{base}/{lang}/report/what")
            page.fill("#narrative", "x" * 300 + " " + CANARY)
            _next(page, base, f"/{lang}/report/when")
            page.goto(f"{base}/{lang}/report/review")
            check("review")
            page.click("button[name=go][value=next]")
            page.wait_for_url(f"{base}/{lang}/report/sent")
            check("sent")
            code = page.locator("#receipt-code").inner_text()
            secret = page.locator("#receipt-secret").inner_text()
            page.goto(f"{base}/{lang}/receipt")
            page.fill("#receipt", code)
            page.fill("#secret", secret)
            page.click(f"main form[action='/{lang}/receipt'] button")
            page.wait_for_url(f"{base}/{lang}/receipt/report")
            check("receipt report")
            page.goto(f"{base}/{lang}/receipt/delete")
            check("delete")
    finally:
        page.context.close()
    assert not problems, "\n".join(problems)


def test_staff_pages_reflow_at_200_percent_text_and_320px(node: NodeProcess,
                                                         browser: Any) -> None:
    base = node.url
    page = _large_text_narrow_page(browser)
    problems: list[str] = []
    try:
        def check(name: str) -> None:
            problems.extend(f"{name}: {p}" for p in page.evaluate(_DOES_NOT_FIT))

        page.goto(f"{base}/staff/login")
        check("/staff/login")
        _staff_login(page, base)
        for path in ("/staff/queue", "/staff/cases", "/staff/inbox", "/staff/search",
                     "/staff/statistics", "/staff/accounts"):
            page.goto(base + path)
            check(path)
        case = _a_case(page, base)
        if case:
            for path in (case, case + "/incidents/new", case + "/custody"):
                page.goto(base + path)
                check(re.sub(r"/cases/[^/]+", "/cases/ID", path))
    finally:
        page.context.close()
    assert not problems, "\n".join(problems)
