"""Statistics end to end (issue 6, "On the observatory"): nodes, played with real libp2p hosts
and signed `protocol` messages, send `StatisticsRelease`s to a real observatory (aiohttp +
libp2p on 127.0.0.1, SQLite on disk) after an admin approved them; refused releases store
nothing; the public site, the downloads and `GET /api/v1/statistics` publish the combined
estimates with intervals, overall and per country."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from observatory.cli import main as cli
from observatory.context import ObservatoryContext
from observatory.statistics.opendata import StatisticsOut
from protocol.delivery import DeliveryAck
from protocol.statistics import REGION_VOCABULARY
from tests.unit.observatory.fakenode import FakeNode, ObservatoryAddress
from tests.unit.observatory.releases import PLAN, domains_of, make_release
from tests.unit.observatory.support import count_rows, make_observatory, serving

STATS = ("statistics_releases", "statistics_tables", "members")
LANGUAGES = ("en", "fr", "ar", "sw", "uk")
PAGE_BUDGET = 60 * 1024  # bytes of HTML, charts included (the report page's is 30 KB)


CD_REGIONS = ("CD-NK", "CD-SK")  # ISO 3166-2: North and South Kivu
UA_REGIONS = ("UA-14", "UA-63")  # Donetsk and Kharkiv oblasts


def truth(value: int, regions: tuple[str, ...] = CD_REGIONS) -> dict[str, np.ndarray]:
    """`value` in every cell of every table."""
    months = tuple(f"2025-{m:02d}" for m in range(1, 7))
    return {name: np.full(tuple(len(d) for d in domains_of(dims, months, (*regions, "unknown"))),
                          value) for name, dims in PLAN}


def incidents(count: int, regions: tuple[str, ...] = CD_REGIONS) -> dict[str, np.ndarray]:
    """`count` incidents of January, rape, the first region, ... : every table's first cell,
    so that the tables agree with each other as real ones do."""
    out = {}
    for name, counts in truth(0, regions).items():
        counts.flat[0] = count
        out[name] = counts
    return out


@dataclass
class Federation:
    ctx: ObservatoryContext
    url: str
    obs: ObservatoryAddress
    members: dict[str, FakeNode]


@pytest.fixture
async def federation(tmp_path: Path) -> AsyncIterator[Federation]:
    root = make_observatory(tmp_path / "observatory")
    nodes = {"cd1": FakeNode(organisation_name="Clinique du Lac", country="CD"),
             "cd2": FakeNode(organisation_name="Maison Espoir", country="CD"),
             "ua": FakeNode(organisation_name="Hromada Help", country="UA")}
    async with serving(root) as (ctx, served, obs):
        for node in nodes.values():
            await node.start()
        try:
            for node in nodes.values():
                answer = await node.enroll(obs)
                assert isinstance(answer, DeliveryAck) and answer.status == "accepted"
                assert cli(["approve", node.node_id, "--data", str(root)]) == 0
            yield Federation(ctx, served.web_url, obs, nodes)
        finally:
            for node in nodes.values():
                await node.stop()


async def get(url: str) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False) as r:
        return r.status, dict(r.headers), await r.read()


async def statistics_json(url: str) -> dict[str, object]:
    status, headers, body = await get(f"{url}/api/v1/statistics")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    StatisticsOut.model_validate_json(body)
    out: dict[str, object] = json.loads(body)
    return out


def cell(doc: dict[str, object], table: str, scope: str = "all",
         country: str | None = None) -> dict[str, object]:
    tables = doc["tables"]
    assert isinstance(tables, list)
    [found] = [t for t in tables if t["table"] == table and t["scope"] == scope
               and t["country"] == country]
    return dict(found)


async def test_releases_over_libp2p_are_combined_and_published(federation: Federation) -> None:
    f, nodes = federation, federation.members
    for key, value in (("cd1", 1), ("cd2", 2), ("ua", 10)):
        regions = UA_REGIONS if key == "ua" else CD_REGIONS
        answer = await nodes[key].ask(make_release(truth=truth(value, regions), noise=False,
                                                   regions=regions, created_hour=100), f.obs)
        assert isinstance(answer, DeliveryAck) and answer.status == "accepted", answer
    assert count_rows(f.ctx, *STATS)["statistics_releases"] == 3

    doc = await statistics_json(f.url)
    assert doc["periods"] == ["2025"] and doc["releases"] == 3
    overall = cell(doc, "category_month")
    assert overall["nodes"] == 3 and overall["estimate"] == [13] * 36
    assert all(lo < 13 < hi for lo, hi in zip(overall["lower"], overall["upper"],  # type: ignore[call-overload]
                                              strict=True))
    assert cell(doc, "category_month", "country", "CD")["estimate"] == [3] * 36
    assert cell(doc, "category_month", "country", "UA")["nodes"] == 1
    regional = cell(doc, "category_month_region")
    # keyed by subdivision: the two CD nodes' provinces are added, "unknown" across all
    assert regional["domains"][2] == ["CD-NK", "CD-SK", "unknown",  # type: ignore[index]
                                      "UA-14", "UA-63"]
    assert regional["estimate"][:5] == [3, 3, 13, 10, 10]  # type: ignore[index]
    assert regional["region_vocabulary"] == REGION_VOCABULARY
    assert doc["regions"]["UA-14"] == {  # type: ignore[index]
        "country": "UA", "name": "Donetska oblast", "kind": "Region"}
    assert sorted(doc["regions"]) == ["CD-NK", "CD-SK", "UA-14", "UA-63"]  # type: ignore[call-overload]
    assert {p["node_id"] for p in overall["privacy"]} == {  # type: ignore[attr-defined]
        n.node_id for n in nodes.values()}
    losses = doc["privacy_loss"]
    assert isinstance(losses, list) and {(x["organisation_name"], x["epsilon_spent"])
                                         for x in losses} == {
        ("Clinique du Lac", 1.0), ("Maison Espoir", 1.0), ("Hromada Help", 1.0)}

    # a newer release of the same period replaces the older one in the estimates
    answer = await nodes["cd1"].ask(make_release(truth=truth(5), noise=False,
                                                 created_hour=200, spent=2.0), f.obs)
    assert isinstance(answer, DeliveryAck) and answer.status == "accepted"
    doc = await statistics_json(f.url)
    assert cell(doc, "category_month")["estimate"] == [17] * 36  # 5 + 2 + 10
    assert cell(doc, "category_month", "country", "CD")["estimate"] == [7] * 36
    assert doc["releases"] == 4

    # the same JSON as a download, and every cell as CSV
    status, headers, body = await get(f"{f.url}/data/statistics.json")
    assert status == 200 and json.loads(body) == doc
    assert "attachment" in headers["Content-Disposition"]
    status, headers, body = await get(f"{f.url}/data/statistics.csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    sizes = {(t["scope"], t["country"], t["table"]): len(t["estimate"])
             for t in doc["tables"]}  # type: ignore[attr-defined]
    assert len(rows) == sum(sizes.values())
    row = next(r for r in rows if r["table"] == "category_month" and r["scope"] == "all")
    assert (row["estimate"], row["display"], row["nodes"], row["epsilon_max"]) == (
        "17", "17", "3", "0.2")
    assert float(row["lower"]) < 17 < float(row["upper"])


async def test_refused_releases_store_nothing(federation: Federation) -> None:
    f, node = federation, federation.members["cd1"]
    stranger = FakeNode(country="CD")
    await stranger.start()
    try:
        accepted = make_release(spent=1.0)
        answer = await node.ask(accepted, f.obs)
        assert isinstance(answer, DeliveryAck) and answer.status == "accepted"
        before = count_rows(f.ctx, *STATS)

        async def refused(sender: FakeNode, release: object, reason: str) -> None:
            answer = await sender.ask(release, f.obs)  # type: ignore[arg-type]
            assert isinstance(answer, DeliveryAck)
            assert (answer.status, answer.reason) == ("rejected", reason), answer
            assert count_rows(f.ctx, *STATS) == before

        await refused(stranger, make_release(), "not_authenticated")  # unknown: as forged
        await refused(node, make_release(epsilon=0.3, spent=2.5, budget=2.5),
                      "over_observatory_budget")
        await refused(node, make_release(spent=1.5, budget=1.5, epsilon=0.2), "over_budget")
        good = make_release()
        await refused(node, good.model_construct(**{**dict(good), "epsilon": 9.0}),
                      "malformed")
        await refused(node, make_release(tables=(("secret_table", ("category",)),)),
                      "unknown_table")
        await refused(node, make_release(tables=(("category_month", ("month", "category")),)),
                      "dimensions_mismatch")
        # the same release again, in a fresh envelope: acknowledged as a duplicate
        again = await node.ask(accepted, f.obs)
        assert isinstance(again, DeliveryAck) and again.status == "duplicate"
        assert count_rows(f.ctx, *STATS) == before

        # an envelope that does not verify (signed by another key) changes nothing at all
        everything = count_rows(f.ctx)
        forger = FakeNode(node_id=node.node_id)
        await forger.start()
        try:
            frame = forger.seal(make_release(), f.obs).to_frame()
            answer = forger.open_response(await forger.send(frame, f.obs), f.obs)
            assert isinstance(answer, DeliveryAck) and answer.reason == "not_authenticated"
        finally:
            await forger.stop()
        assert count_rows(f.ctx) == everything
    finally:
        await stranger.stop()
    doc = await statistics_json(f.url)
    assert doc["releases"] == 1


async def test_the_public_site(federation: Federation) -> None:
    f, nodes = federation, federation.members
    status, headers, _ = await get(f"{f.url}/")
    assert status == 303 and headers["Location"] == "/en/"
    status, headers, body = await get(f"{f.url}/en/")
    assert status == 200 and "No statistics have been published here yet." in body.decode()
    for key, value in (("cd1", 4000), ("ua", 7000)):
        regions = (*UA_REGIONS, "UA-65") if key == "ua" else (*CD_REGIONS, "CD-IT")
        await nodes[key].ask(make_release(truth=incidents(value, regions),
                                          regions=regions, noise=False), f.obs)
    await nodes["cd2"].ask(make_release(period="2024", last_month="2024-12"), f.obs)

    for lang in LANGUAGES:
        status, headers, body = await get(f"{f.url}/{lang}/")
        page = body.decode("utf-8")
        assert status == 200, lang
        assert f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}">' in page
        assert len(body) <= PAGE_BUDGET, (lang, len(body))
        assert page.count("<svg") >= 4 and "<script" not in page
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
        assert "%(" not in page and "%%" not in page
        assert headers["Cache-Control"] == "public, max-age=300"
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "http" not in csp
        style = re.search(r"<style>(.*?)</style>", page, re.DOTALL)
        assert style is not None
        digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
        assert f"style-src 'sha256-{digest}'" in csp  # the inline stylesheet is allowed
        assert "X-Robots-Tag" not in headers and "Set-Cookie" not in headers
        assert headers["X-Frame-Options"] == "DENY"
    page = (await get(f"{f.url}/en/"))[2].decode()
    assert '<p class="big">11,000</p>' in page, "the total"
    assert re.search(r"95% interval: [\d,]+ to [\d,]+", page)
    assert re.search(r'<td class="n">[\d,]+</td><td class="n">[\d,]+ to [\d,]+</td>', page)
    assert "Rape" in page and "Non-state armed groups" in page and "Ukraine" in page
    assert 'href="?year=2024"' in page

    status, _, body = await get(f"{f.url}/fr/?year=2024")
    assert status == 200 and "Incidents signalés en 2024" in body.decode()
    status, _, body = await get(f"{f.url}/uk/countries/UA")
    assert status == 200 and "Україна" in body.decode()
    ua_page = body.decode()
    # the table by region, keyed by ISO 3166-2 code, names in the page's language
    assert re.search(r'<td><bdi dir="ltr">UA-14</bdi></td><th scope="row"><bdi>Донецька '
                     r'область</bdi></th><td class="n">7\D?000</td>', ua_page)
    assert "Херсонська область" in ua_page and "(Україна)" not in ua_page
    page = (await get(f"{f.url}/en/"))[2].decode()
    assert "Donetska oblast (Ukraine)" in page and "Nord-Kivu (" in page
    status, _, body = await get(f"{f.url}/ar/methodology")
    method = body.decode()
    assert status == 200 and "Clinique du Lac" in method and "الخصوصية التفاضلية" in method
    status, _, body = await get(f"{f.url}/sw/data")
    assert status == 200 and 'href="/data/statistics.csv"' in body.decode()
    for path in ("/xx/", "/en/countries/FR", "/en/countries/cd", "/en/?year=1999",
                 "/en/?year=abc", "/en/countries/UA?year=2024"):
        status, headers, body = await get(f"{f.url}{path}")
        assert status == 404, path
        assert headers["Cache-Control"].startswith("no-store")
        assert "Page not found" in body.decode() or "Сторінку" in body.decode()
    for path in ("/data/statistics.csv", "/api/v1/statistics"):
        _, headers, _ = await get(f"{f.url}{path}")
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert headers["Cache-Control"] == "public, max-age=300"


async def test_the_openapi_document_describes_the_statistics(federation: Federation) -> None:
    status, _, body = await get(f"{federation.url}/api/v1/openapi.json")
    assert status == 200
    doc = json.loads(body)
    op = doc["paths"]["/api/v1/statistics"]["get"]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/StatisticsOut"}
    assert {"StatisticsOut", "TableOut", "ParamsOut", "LossOut", "PlanOut"} <= set(
        doc["components"]["schemas"])
    assert "/{lang}/" in doc["paths"] and "/data/statistics.csv" in doc["paths"]


async def test_the_dashboard_refreshes_when_a_release_arrives(federation: Federation) -> None:
    f, node = federation, federation.members["ua"]
    await node.ask(make_release(truth=incidents(36), noise=False, created_hour=1), f.obs)
    first = (await get(f"{f.url}/en/countries/UA"))[2].decode()
    assert '<p class="big">36</p>' in first
    await node.ask(make_release(truth=incidents(72), noise=False, created_hour=2, spent=2.0),
                   f.obs)
    second = (await get(f"{f.url}/en/countries/UA"))[2].decode()
    assert '<p class="big">72</p>' in second


async def test_an_exact_count_release_is_flagged_on_the_admin_page(federation: Federation
                                                                  ) -> None:
    """Exact counts sent with a declared scale are accepted (nodes are trusted to add noise)
    but flagged by the plausibility checks, and the admin sees them (issue 14)."""
    from tests.integration.test_observatory_enrollment import sign_in

    f, nodes = federation, federation.members
    honest = await nodes["cd2"].ask(make_release(truth=truth(0), created_hour=100), f.obs)
    exact = await nodes["cd1"].ask(make_release(truth=truth(0), noise=False,
                                                created_hour=100), f.obs)
    for answer in (honest, exact):
        assert isinstance(answer, DeliveryAck) and answer.status == "accepted", answer
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await sign_in(http, f.url)
        async with http.get(f"{f.url}/admin/en/") as r:
            page = await r.text()
    section = page.split('id="implausible"', 1)[1].split("</section>", 1)[0]
    assert "Clinique du Lac" in section and "Maison Espoir" not in section
    assert "negatives 0 among" in section
