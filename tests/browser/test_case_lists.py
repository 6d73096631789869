"""Lists and search in Chromium (issue 15): a click anywhere on a case's row opens the case,
with and without JavaScript, at laptop and phone width; a search leaves its words out of
the address (and so out of the browser's history) and out of every link of its results."""

from __future__ import annotations

import json
import secrets
import urllib.request
from typing import Any

import pytest

from tests.browser.conftest import NewPage
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, NodeProcess

MARK = f"Lists-{secrets.token_hex(4)}"
WORD = f"Zamboko{secrets.token_hex(3)}"


def send(base: str, narrative: str) -> None:
    body = json.dumps({"narrative": narrative, "language": "en",
                       "consent": {"care": True}}).encode()
    request = urllib.request.Request(f"{base}/api/v1/reports", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        assert r.status == 201


def sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/staff/login")
    page.fill("#username", ADMIN)
    page.fill("#passphrase", ADMIN_PASSPHRASE)
    page.click("main form[action='/staff/login'] button")
    page.wait_for_url(f"{base}/staff/queue", timeout=30_000)


@pytest.mark.parametrize(("width", "height", "js"), [(1280, 800, True), (360, 740, True),
                                                     (1280, 800, False)])
def test_a_click_anywhere_on_a_row_opens_its_case(node: NodeProcess, new_page: NewPage,
                                                  width: int, height: int, js: bool) -> None:
    base = node.url
    send(base, f"{MARK} a report to open from its row, {WORD}")
    page: Any = new_page(js=js)
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, base)
    page.goto(f"{base}/staff/cases")
    row = page.locator("table.cases tbody tr", has_text=MARK).first
    href = row.locator("a.row-link").get_attribute("href")
    # a click in the summary cell, far from the link's own text, as a person clicks: at a
    # point on the screen (the row's link lies over the whole row and takes it)
    cell = row.locator("td").nth(7)
    cell.scroll_into_view_if_needed()
    box = cell.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(f"{base}{href}")


def test_search_words_stay_out_of_the_address_and_history(node: NodeProcess,
                                                          new_page: NewPage) -> None:
    base = node.url
    send(base, f"{MARK} a report to search for, {WORD}")
    page: Any = new_page(js=False)
    sign_in(page, base)
    page.goto(f"{base}/staff/search")
    page.fill("#q", WORD)
    page.click("main form[action='/staff/search'] button")
    page.wait_for_load_state()
    assert page.url == f"{base}/staff/search"
    rows = page.locator("table.cases tbody tr")
    assert rows.count() >= 1 and WORD in rows.first.inner_text()
    for element in page.locator("[href], [action]").all():
        address = element.get_attribute("href") or element.get_attribute("action") or ""
        assert WORD not in address
