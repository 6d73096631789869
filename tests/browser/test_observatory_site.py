"""The observatory's public statistics site in a real browser (issue 6, "Tests that must
exist": browser test of the dashboard and the CSV download, also without JavaScript).

`backup-observatory serve` runs in a subprocess on 127.0.0.1; three test-owned node
identities (two in DR Congo, one in Ukraine) ask to join over a real libp2p host, are
approved with `backup-observatory approve`, and send signed `StatisticsRelease`s. Debian's
Chromium then reads the dashboard (SVG charts, numbers with their intervals), the Arabic
dashboard (right to left), a country page and the open-data page, with and without
JavaScript, and downloads the CSV. Nothing may leave 127.0.0.1 and no page may break its
Content Security Policy.

Screenshots go to test-artifacts/browser/observatory-*.png.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crypto.keys import VerifyKey
from observatory.cli import main as observatory_cli
from protocol.delivery import DeliveryAck
from tests.browser.conftest import VIEWPORT, NewPage, Traffic, foreign_requests
from tests.conftest import free_port
from tests.unit.observatory.fakenode import FakeNode, ObservatoryAddress
from tests.unit.observatory.releases import make_release
from tests.unit.observatory.support import PASSPHRASE, make_observatory

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = {"width": 1280, "height": 900}


@dataclass(frozen=True)
class Site:
    url: str
    nodes: dict[str, str]  # organisation -> node id


async def _feed(root: Path, obs: ObservatoryAddress) -> dict[str, str]:
    """Three nodes join, are approved and each send releases for 2025 (and one for 2024)."""
    nodes = [FakeNode(organisation_name="Clinique du Lac", country="CD"),
             FakeNode(organisation_name="Maison Espoir", country="CD"),
             FakeNode(organisation_name="Hromada Help", country="UA")]
    rng = np.random.default_rng(6)
    for node in nodes:
        await node.start()
    try:
        for node in nodes:
            answer = await node.enroll(obs)
            assert isinstance(answer, DeliveryAck) and answer.status == "accepted"
            assert observatory_cli(["approve", node.node_id, "--data", str(root)]) == 0
        for i, node in enumerate(nodes):
            regions = ("CD-NK", "CD-SK") if node.country == "CD" else ("UA-63",)  # ISO 3166-2
            for release in (
                make_release(regions=regions, last_month="2025-09", epsilon=0.1,
                             truth={"category_month": rng.integers(20, 60, (6, 9))}, rng=rng),
                make_release(period="2024", last_month="2024-12", epsilon=0.1,
                             regions=regions, rng=rng),
            ):
                answer = await node.ask(release, obs)
                assert isinstance(answer, DeliveryAck) and answer.status == "accepted", (
                    i, answer)
    finally:
        for node in nodes:
            await node.stop()
    return {n.organisation_name: n.node_id for n in nodes}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("browser-observatory")
    root = make_observatory(tmp / "observatory")
    port, p2p_port = free_port(), free_port()
    log = (tmp / "observatory.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "observatory.cli", "serve", "--data", str(root),
         "--host", "127.0.0.1", "--port", str(port), "--p2p-port", str(p2p_port)],
        stdout=subprocess.PIPE, stderr=log, cwd=ROOT, env={**os.environ})
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline().decode() for _ in range(3)]
        assert banner[0].startswith("Admin pages:"), banner
        url = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{url}/api/v1/nodes", timeout=5) as r:
            info = json.loads(r.read())["observatory"]
        obs = ObservatoryAddress(info["node_id"],
                                 VerifyKey(bytes.fromhex(info["identity_key"])),
                                 (f"/ip4/127.0.0.1/tcp/{p2p_port}",))
        nodes = asyncio.run(_feed(root, obs))
        yield Site(url, nodes)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        if proc.stdout is not None:
            proc.stdout.close()
        log.close()


def _page(new_page: NewPage, js: bool, viewport: dict[str, int] | None = None) -> Any:
    page: Any = new_page(js=js)
    if viewport:
        page.set_viewport_size(viewport)
    return page


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_dashboard_shows_charts_and_numbers_with_intervals(
        site: Site, new_page: NewPage, artifacts: Path, js: bool) -> None:
    page = _page(new_page, js, DESKTOP)
    response = page.goto(f"{site.url}/")  # redirected to the default language
    assert response.ok and page.url == f"{site.url}/en/"
    assert page.locator("h1").inner_text().startswith("Conflict-related sexual violence")
    # charts: the monthly line with its band, regional small multiples, two bar charts
    assert page.locator("svg.chart").count() >= 6
    assert page.locator("svg polygon.band").count() >= 4
    assert page.locator("svg rect.bar").count() == 12  # 6 categories, 6 affiliations
    assert page.locator("svg path.whisker").count() == 12
    assert page.locator("#by-month + svg circle.dot").count() == 9  # January to September
    # the headline and every table row: a number with its 95 % interval
    big = page.locator("p.big").inner_text()
    assert big.replace(",", "").isdigit() and int(big.replace(",", "")) > 0
    assert page.get_by_text("95% interval:").first.is_visible()
    rows = page.locator("#by-month ~ table tbody tr")
    assert rows.count() == 9
    first = rows.first.locator("td")
    assert first.nth(0).inner_text().replace(",", "").isdigit()
    assert " to " in first.nth(1).inner_text()
    # the chart's accessible name and a point's tooltip carry the interval too
    title = page.locator("#by-month + svg circle.dot title").first.text_content()
    assert title.startswith("January 2025: ") and "(95% interval: " in title
    assert page.get_by_role("img", name="Incidents by month").count() == 1
    # without JavaScript, links still lead to a country and another year
    page.get_by_role("link", name="Ukraine").click()
    assert page.url.startswith(f"{site.url}/en/countries/UA")
    assert "Ukraine" in page.locator("h1").inner_text()
    page.get_by_role("link", name="All countries").click()
    page.get_by_role("link", name="2024").click()
    assert page.url.endswith("/en/?year=2024")
    assert "Incidents reported in 2024" in page.locator("main").inner_text()
    page.goto(f"{site.url}/en/")
    page.screenshot(path=str(artifacts / f"observatory-dashboard-{'js' if js else 'nojs'}.png"),
                    full_page=True)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_arabic_reads_right_to_left(site: Site, new_page: NewPage, artifacts: Path,
                                    js: bool) -> None:
    page = _page(new_page, js)
    page.goto(f"{site.url}/ar/")
    html = page.locator("html")
    assert html.get_attribute("dir") == "rtl" and html.get_attribute("lang") == "ar"
    assert page.locator("h1").inner_text().startswith("العنف الجنسي المرتبط بالنزاعات")
    assert "فترة الثقة 95%" in page.locator("main").inner_text()
    # bar charts follow the page: labels and bars start at the right
    chart = page.locator("#by-category + svg")
    box = chart.bounding_box()
    label = chart.locator("text.label").first.bounding_box()
    bar = chart.locator("rect.bar").nth(1).bounding_box()
    assert label["x"] + label["width"] > box["x"] + box["width"] * 0.8
    assert bar["x"] + bar["width"] > box["x"] + box["width"] * 0.9
    # the table's first column is on the right too
    cells = page.locator("#by-month ~ table tbody tr").first.locator("th, td")
    assert cells.first.bounding_box()["x"] > cells.last.bounding_box()["x"]
    # the table by region is keyed by ISO 3166-2 code: the code column on the right, each
    # code still written left to right; every region the nodes reported, and "not known"
    regions = page.locator("#by-region ~ table tbody tr")
    codes = sorted(regions.nth(i).locator("td").first.inner_text()
                   for i in range(regions.count()))
    assert codes == ["", "CD-NK", "CD-SK", "UA-63"]
    code_cell = regions.first.locator("td").first
    assert code_cell.locator("bdi").get_attribute("dir") == "ltr"
    assert code_cell.bounding_box()["x"] > regions.first.locator("td").last.bounding_box()["x"]
    page.screenshot(path=str(artifacts / f"observatory-ar-{'js' if js else 'nojs'}.png"),
                    full_page=True)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_the_csv_download(site: Site, new_page: NewPage, tmp_path: Path, js: bool) -> None:
    page = _page(new_page, js)
    page.goto(f"{site.url}/en/")
    page.get_by_role("navigation").get_by_role("link", name="Open data").click()
    assert page.url == f"{site.url}/en/data"
    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV (one row per cell)").click()
    download = info.value
    assert download.suggested_filename == "backup-observatory-statistics.csv"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    with target.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {"period", "scope", "country", "table", "estimate", "lower", "upper",
                     "display", "nodes", "epsilon_min", "epsilon_max"} <= set(rows[0])
    assert {r["period"] for r in rows} == {"2024", "2025"}
    assert {r["country"] for r in rows} == {"", "CD", "UA"}
    for r in rows[:500]:
        assert float(r["lower"]) <= float(r["estimate"]) <= float(r["upper"])
        assert int(r["display"]) >= 0
    overall = [r for r in rows if r["scope"] == "all" and r["table"] == "category_month"
               and r["period"] == "2025"]
    assert len(overall) == 6 * 9 and {r["table_nodes"] for r in overall} == {"3"}


def test_the_methodology_names_each_nodes_privacy_loss(site: Site, new_page: NewPage) -> None:
    page = _page(new_page, False)
    page.goto(f"{site.url}/en/methodology")
    text = page.locator("main").inner_text()
    assert "What differential privacy promises" in text and "What the numbers are not" in text
    table = page.get_by_role("table", name="Privacy loss by organisation and year")
    for organisation in site.nodes:
        assert table.get_by_text(organisation).count() == 2  # 2024 and 2025
    assert table.locator("tbody tr").count() == 6


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_public_and_admin_pages_have_no_wcag_violations(site: Site, new_page: NewPage,
                                                        browser: Any, auditor: Any,
                                                        js: bool) -> None:
    """Issue 20: axe-core finds no WCAG 2.0/2.1/2.2 A or AA violation on the public site
    (left to right and right to left) or the admin pages, at phone width."""
    page = _page(new_page, js)
    found: list[str] = []
    for path in ("/en/", "/ar/", "/en/countries/UA", "/ar/countries/CD", "/en/?year=2024",
                 "/en/data", "/ar/data", "/en/methodology", "/ar/methodology"):
        page.goto(site.url + path)
        found.extend(auditor.check(page, f"observatory {path}", js=js))
    # The not-found and admin pages in a context of their own: Chromium logs a 404 (of the
    # page, or of the admin pages' /favicon.ico) as a console error, which the last test of
    # this module counts on the public site.
    context = browser.new_context(viewport=VIEWPORT, java_script_enabled=js)
    try:
        page = context.new_page()
        for path in ("/ar/countries/ZZ", "/admin/en/login", "/admin/ar/login"):
            page.goto(site.url + path)
            found.extend(auditor.check(page, f"observatory {path}", js=js))
        page.goto(f"{site.url}/admin/en/login")
        page.fill("#passphrase", PASSPHRASE)
        page.click("main form button")
        page.wait_for_url(lambda url: "/login" not in url)
        found.extend(auditor.check(page, "observatory admin dashboard", js=js))
    finally:
        context.close()
    assert not found, f"{len(found)} WCAG violations:\n" + "\n".join(found)


def test_nothing_left_127_0_0_1_and_no_policy_was_broken(site: Site, traffic: Traffic) -> None:
    assert traffic.requests, "the other tests ran first"
    assert not foreign_requests(traffic)
    documents = [d for d in traffic.documents if "/data/" not in d[1] or d[1].endswith("/data")]
    assert documents and all(csp and "default-src 'none'" in csp for _, _, csp in documents)
    assert not traffic.page_errors
    errors = [c for c in traffic.console if c[1] == "error"]
    assert not errors, errors
