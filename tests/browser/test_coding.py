"""Coding a case in a real browser (issue 15, "Coding must not save wrong data").

Debian's Chromium drives a real `backup-node serve` on 127.0.0.1 (the module's `node`). The
coordinator (the node's first account) opens the coding form of a case, which starts
empty; sends it untouched and is asked to choose, in their language, with the six
questions marked and nothing saved; answers (confirming the region the reporter gave),
reviews the coding with the provision it implies, and saves it; the case page then shows
it. At 1280×800 and 360×740, in English and in Arabic (right to left).

The day's work of a coordinator (issue 15, "Tests that must exist"): signs in, switches
the language with the switcher on the page (no script, nothing in the URL), triages a case
from the queue, codes it with a partial date ("March 2025", as the page's language writes
it), and links it to the same event described by another case. On every page: no
horizontal scroll, and `dir="rtl"` in Arabic.

Screenshots go to test-artifacts/browser/coding-<lang>-<width>-NN-*.png and
day-<lang>-<width>-NN-*.png. Expected texts come from the node's own catalogues, never
typed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM_ARGS, host_of
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, NodeProcess

pytestmark = pytest.mark.browser

SIZES = {"wide": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}
RUNS = [(lang, size) for lang in ("en", "ar") for size in SIZES]


@pytest.fixture(scope="module")
def cases(node: NodeProcess) -> dict[tuple[str, str], str]:
    """One report per run, with the region and affiliation the reporter gave, written in
    this process while the node serves (SQLite WAL lets a second process write)."""
    from crypto.keys import DataKey
    from node.context import open_node
    from node.datadir import DataDir
    from node.intake.models import Consent, ReportInput

    ctx = open_node(DataDir(node.datadir))
    try:
        return {run: ctx.intake.submit(ReportInput(
            narrative=f"coding in a browser {run}", region="R1",
            perpetrator_affiliation="militia", consent=Consent(statistics=True)),
            DataKey.generate(), [], "test").report_id for run in RUNS}
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def day_cases(node: NodeProcess) -> dict[tuple[str, str], tuple[str, str]]:
    """Per run: a new report to triage, code and link, and a witness's report of the same
    event, already coded (what the coordinator links to)."""
    from crypto.keys import DataKey
    from node import accounts
    from node.backoffice.incidents import IncidentCoding
    from node.context import open_node
    from node.datadir import DataDir
    from node.intake.models import Consent, ReportInput

    ctx = open_node(DataDir(node.datadir))
    try:
        coordinator = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
        out = {}
        for run in RUNS:
            new, witness = (ctx.intake.submit(ReportInput(
                narrative=f"{who} {run}", region="R1", perpetrator_affiliation="militia",
                consent=Consent(statistics=True)), DataKey.generate(), [], "test").report_id
                for who in ("the day's work", "a witness"))
            ctx.incidents.code(coordinator, witness, IncidentCoding(
                category="rape", region="R1", perpetrator_affiliation="militia",
                context="non_international_armed_conflict"))
            out[run] = (new, witness)
        return out
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def browser_for_coding(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.mark.parametrize(("lang", "size"), RUNS, ids=[f"{lang}-{size}" for lang, size in RUNS])
def test_coding_from_an_untouched_form_to_a_saved_reviewed_coding(
        node: NodeProcess, cases: dict[tuple[str, str], str], browser_for_coding: Any,
        artifacts: Path, lang: str, size: str) -> None:
    from node.backoffice.case_numbers import number_of
    from node.i18n import load
    from protocol import vocabulary as vocab

    t = load(lang).gettext
    base = node.url
    report_id = cases[(lang, size)]
    viewport = SIZES[size]
    context = browser_for_coding.new_context(viewport=viewport, locale=lang,
                                             extra_http_headers={"Accept-Language": lang})
    context.set_default_timeout(15_000)
    requests: list[str] = []
    page = context.new_page()
    page.on("request", lambda r: requests.append(r.url))
    n = 0

    def shot(name: str) -> None:
        nonlocal n
        n += 1
        page.screenshot(path=artifacts / f"coding-{lang}-{viewport['width']}-{n:02d}-{name}.png",
                        full_page=True)

    def fits() -> bool:
        return bool(page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))

    try:
        page.goto(f"{base}/staff/login")
        page.fill("#username", ADMIN)
        page.fill("#passphrase", ADMIN_PASSPHRASE)
        page.click("main form[action='/staff/login'] button")
        page.wait_for_url(f"{base}/staff/queue", timeout=60_000)

        # the form starts empty: every question offers "choose", none is answered
        page.goto(f"{base}/staff/cases/{report_id}/incidents/new")
        assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
        assert number_of(report_id) in page.locator("h1").inner_text()
        selects = page.locator("main form select")
        assert selects.count() == 6
        for i in range(6):
            assert selects.nth(i).input_value() == ""
        assert t("as the reporter said") in page.locator("#c_region").inner_text()
        assert fits()
        shot("empty-form")

        # sent untouched: nothing saved, the coder is asked to choose, six questions marked
        page.click("main form button")
        page.wait_for_url(f"{base}/staff/cases/{report_id}/incidents/review")
        assert t("Nothing was saved: choose an answer for each marked question. "
                 "“Not known” is an answer too.") in page.locator(".errs").inner_text()
        assert page.locator("[aria-invalid=true]").count() == 6
        assert page.locator(".err").first.inner_text() == t("Choose an answer.")
        shot("asked-to-choose")

        # the coder answers: the region the reporter gave is confirmed, not assumed
        page.select_option("#c_category", "rape")
        page.fill("#c_date_from", "2025-11-02")
        page.select_option("#c_region", "R1")
        page.select_option("#c_perpetrator_affiliation", "militia")
        page.select_option("#c_survivor_sex", "unknown")
        page.select_option("#c_survivor_age_group", "unknown")
        page.select_option("#c_context", "non_international_armed_conflict")
        page.click("main form button")
        page.wait_for_url(f"{base}/staff/cases/{report_id}/incidents/review")
        provision = page.locator("#provision").inner_text()
        assert "Art. 8(2)(e)(vi)" in provision
        assert t("war crime in a non-international armed conflict") in provision
        assert t(vocab.CATEGORY_LABELS["rape"]) in provision
        assert t("Check the coding before it is saved") in page.locator("h1").inner_text()
        assert fits()
        shot("review")

        # saved only now; the case page lists it with its provision
        page.click(f"main form button:text-is('{t('Save this coding')}')")
        page.wait_for_url(f"{base}/staff/cases/{report_id}#incidents")
        assert t("The coding was saved.") in page.locator("[role=status]").inner_text()
        listed = page.locator("#incidents ~ ul li").first.inner_text()
        assert t(vocab.CATEGORY_LABELS["rape"]) in listed and "Art. 8(2)(e)(vi)" in listed
        assert t(vocab.NOT_KNOWN) in listed  # the coder's "not known", in their language
        shot("saved")
    finally:
        context.close()
    assert all(u.startswith("data:") or host_of(u) == "127.0.0.1" for u in requests)


@pytest.mark.parametrize(("lang", "size"), RUNS, ids=[f"{lang}-{size}" for lang, size in RUNS])
def test_a_coordinator_triages_codes_and_links_a_report(
        node: NodeProcess, day_cases: dict[tuple[str, str], tuple[str, str]],
        browser_for_coding: Any, artifacts: Path, lang: str, size: str) -> None:
    from babel.dates import format_skeleton

    from node.backoffice.case_numbers import number_of
    from node.i18n import load
    from node.web.labels import STATUS_FOR_STAFF
    from protocol import vocabulary as vocab
    from runtime.catalogues import native_name

    t = load(lang).gettext
    base = node.url
    report_id, witness_id = day_cases[(lang, size)]
    number = number_of(report_id)
    viewport = SIZES[size]
    # the browser asks for English: the language is chosen on the page, not by the browser
    context = browser_for_coding.new_context(viewport=viewport, locale="en",
                                             extra_http_headers={"Accept-Language": "en"})
    context.set_default_timeout(15_000)
    requests: list[str] = []
    page = context.new_page()
    page.on("request", lambda r: requests.append(r.url))
    n = 0
    direction = "rtl" if lang == "ar" else "ltr"

    def check(name: str) -> None:
        """Every page: the language and direction chosen, no horizontal scroll at this
        width, no language in the address; then a screenshot."""
        nonlocal n
        n += 1
        html = page.locator("html")
        assert html.get_attribute("lang") == lang, name
        assert html.get_attribute("dir") == direction, name
        assert page.evaluate("document.documentElement.scrollWidth"
                             " <= document.documentElement.clientWidth"), name
        assert f"/{lang}/" not in page.url and "lang=" not in page.url
        page.screenshot(path=artifacts / f"day-{lang}-{viewport['width']}-{n:02d}-{name}.png",
                        full_page=True)

    try:
        page.goto(f"{base}/staff/login")
        assert page.locator("html").get_attribute("lang") == "en"
        if lang != "en":
            page.click(f".langswitch button[value={lang}]")
            page.wait_for_load_state()
            assert page.url == f"{base}/staff/login"
        assert page.locator(f".langswitch button[value={lang}]").get_attribute(
            "aria-current") == "true"
        assert native_name(lang) in page.locator(".langswitch").inner_text()
        check("sign-in")
        page.fill("#username", ADMIN)
        page.fill("#passphrase", ADMIN_PASSPHRASE)
        page.click("main form[action='/staff/login'] button")
        page.wait_for_url(f"{base}/staff/queue", timeout=60_000)
        check("queue")

        # triage: open the case from the queue, put it in triage
        page.click(f"main a:has-text('{number}')")
        page.wait_for_url(f"{base}/staff/cases/{report_id}")
        check("case")
        page.select_option(f"form[action='/staff/cases/{report_id}/status'] select", "in_triage")
        page.click(f"form[action='/staff/cases/{report_id}/status'] button")
        page.wait_for_url(f"{base}/staff/cases/{report_id}*")
        assert t(STATUS_FOR_STAFF["in_triage"]) in page.locator("h2").nth(1).inner_text()

        # code: the incident is known to the month only, written as this language writes it
        page.click(f"a[href='/staff/cases/{report_id}/incidents/new']")
        page.wait_for_url(f"{base}/staff/cases/{report_id}/incidents/new")
        assert page.locator("#c_date_from").get_attribute("type") == "date"
        check("coding-form")
        march = format_skeleton("yMMMM", date(2025, 3, 1), locale=lang)
        page.select_option("#c_category", "rape")
        page.fill("#c_date_from_approx", march)
        page.select_option("#c_region", "R1")
        page.select_option("#c_perpetrator_affiliation", "militia")
        page.select_option("#c_survivor_sex", "female")
        page.select_option("#c_survivor_age_group", "unknown")
        page.select_option("#c_context", "non_international_armed_conflict")
        page.click("main form button")
        page.wait_for_url(f"{base}/staff/cases/{report_id}/incidents/review")
        assert march in page.locator("main dl").inner_text()
        check("review")
        page.click(f"main form button:text-is('{t('Save this coding')}')")
        page.wait_for_url(f"{base}/staff/cases/{report_id}#incidents")
        listed = page.locator("#incidents ~ ul li").first.inner_text()
        assert march in listed and t(vocab.CATEGORY_LABELS["rape"]) in listed
        check("coded")

        # link: the witness's case describes the same event; it is offered by its number
        option = page.locator("#link option", has_text=number_of(witness_id))
        assert option.count() == 1
        page.select_option("#link", option.get_attribute("value"))
        page.click(f"form[action='/staff/cases/{report_id}/incidents/link'] button")
        page.wait_for_url(f"{base}/staff/cases/{report_id}*")
        assert number_of(witness_id) in page.locator("#incidents ~ ul").first.inner_text()
        check("linked")
    finally:
        context.close()
    assert all(u.startswith("data:") or host_of(u) == "127.0.0.1" for u in requests)
