"""The observatory and the shared geography (issue 14): releases keyed by ISO 3166-2 codes
are combined by region across organisations; releases stored before, keyed by each node's
own codes, are combined apart and never mixed in; the open data names each table's
vocabulary and every code's country and name, and its CSV has a row for every reported cell
and for no other."""

from __future__ import annotations

import csv
import io
import json
import time

import numpy as np
import pytest

from observatory.context import ObservatoryContext
from observatory.statistics import opendata, store
from observatory.statistics.combine import NodeRelease, NodeTable, combine
from observatory.statistics.publication import PublicationCache
from protocol.statistics import NODE_REGIONS, REGION_VOCABULARY
from tests.unit.observatory.fakenode import ObservatoryAddress
from tests.unit.observatory.releases import make_release
from tests.unit.observatory.test_release_ingest import ask, member, obs  # noqa: F401

CAT = ("a", "b")


def test_the_combiner_never_adds_across_region_vocabularies() -> None:
    def node(name: str, vocabulary: str) -> NodeRelease:
        return NodeRelease(name, "2025", name, (
            NodeTable("r", ("category", "region"), (CAT, ("CD-NK", "unknown")), [1, 2, 3, 4],
                      1.0, region_vocabulary=vocabulary),
            NodeTable("c", ("category",), (CAT,), [5, 6], 1.0, region_vocabulary=vocabulary)))

    tables = combine([node("new", REGION_VOCABULARY), node("old", NODE_REGIONS),
                      node("other", "iso3166-2-l1:000000000000")])
    by_region = sorted((t for t in tables if t.table == "r"), key=lambda t: t.region_vocabulary)
    # three vocabularies, three tables, each with one node: same labels, never one cell
    assert [(t.region_vocabulary, sorted(t.node_ids)) for t in by_region] == [
        ("iso3166-2-l1:000000000000", ["other"]), (REGION_VOCABULARY, ["new"]),
        ("node", ["old"])]
    assert all(t.estimate.tolist() == [[1, 2], [3, 4]] for t in by_region)
    # a table without regions means the same under any vocabulary: combined
    [plain] = [t for t in tables if t.table == "c"]
    assert plain.estimate.tolist() == [15, 18] and plain.region_vocabulary == ""
    assert by_region[1].marginal(("region",)).region_vocabulary == REGION_VOCABULARY
    assert by_region[1].marginal(("category",)).region_vocabulary == ""


def test_releases_stored_before_the_shared_geography_are_published_apart(
        ctx: ObservatoryContext, obs: ObservatoryAddress) -> None:  # noqa: F811
    old_node, new_node = member(ctx, obs), member(ctx, obs)
    # accepted before this observatory's upgrade: the node's own codes
    old = make_release(regions=("north", "south"), region_vocabulary=NODE_REGIONS,
                       noise=False, truth={"category_month_region": np.ones((6, 6, 3))})
    with ctx.db.write() as conn:
        store.insert(conn, old_node.node_id, "CD", old, store.digest(old), int(time.time()))
    truth = {}
    for table, rows in (("category_month_region", 6), ("affiliation_month_region", 6)):
        truth[table] = np.zeros((rows, 6, 3))
        truth[table][0, 0, 0] = 7  # the tables agree, as real ones do: 7 incidents in CD-NK
    ask(ctx, obs, new_node, make_release(noise=False, truth=truth))
    pub = PublicationCache(ctx.db, ctx.config.statistics).get()
    regional = {t.region_vocabulary: t for t in pub.overall.in_period("2025")
                if t.table == "category_month_region"}
    assert set(regional) == {REGION_VOCABULARY, NODE_REGIONS}
    assert regional[NODE_REGIONS].domains[2] == ("CD/north", "CD/south", "CD/unknown")
    assert regional[REGION_VOCABULARY].domains[2] == ("CD-NK", "CD-SK", "unknown")
    assert regional[REGION_VOCABULARY].node_ids == {new_node.node_id}
    # the tables without regions count both nodes
    [months] = [t for t in pub.overall.in_period("2025") if t.table == "category_month"]
    assert months.node_ids == {old_node.node_id, new_node.node_id}
    # the page's views by region read only the shared vocabulary
    view = pub.overall.view("2025")
    assert view["by_region"]["domains"] == [["CD-NK", "CD-SK", "unknown"]]
    assert view["by_region"]["estimate"] == [7, 0, 0]

    buf = io.StringIO()
    opendata.write_json(pub, "t", buf)
    doc = json.loads(buf.getvalue())
    opendata.StatisticsOut.model_validate(doc)
    vocabularies = sorted((t["region_vocabulary"] or "") for t in doc["tables"]
                          if t["table"] == "category_month_region" and t["scope"] == "all")
    assert vocabularies == sorted([REGION_VOCABULARY, NODE_REGIONS])
    assert doc["plan"]["region_vocabulary"] == REGION_VOCABULARY
    assert doc["regions"] == {"CD-NK": {"country": "CD", "name": "Nord-Kivu", "kind": "Province"},
                              "CD-SK": {"country": "CD", "name": "Sud-Kivu", "kind": "Province"}}


@pytest.mark.parametrize("seed", [1, 2])
def test_the_csv_has_a_row_for_each_reported_cell_and_no_other(
        ctx: ObservatoryContext, obs: ObservatoryAddress, seed: int) -> None:  # noqa: F811
    """Two organisations in other provinces and months: the combined table's cells that
    neither reported (a province x a month only the other counted) have no CSV row, and the
    JSON keeps the full arrays with 0 nodes for them."""
    a, b = member(ctx, obs), member(ctx, obs, "UA")
    rng = np.random.default_rng(seed)
    ask(ctx, obs, a, make_release(regions=("CD-NK",), last_month="2025-03", rng=rng))
    ask(ctx, obs, b, make_release(regions=("UA-14", "UA-63"), last_month="2025-06", rng=rng))
    pub = PublicationCache(ctx.db, ctx.config.statistics).get()
    buf = io.StringIO()
    opendata.write_csv(pub, buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    expected = sum(int(np.count_nonzero(t.nodes)) for scope in (pub.overall,
                                                                *pub.countries.values())
                   for t in scope.tables)
    assert len(rows) == expected and all(int(r["nodes"]) > 0 for r in rows)
    [regional] = [t for t in pub.overall.tables if t.table == "category_month_region"]
    assert int(np.count_nonzero(regional.nodes == 0)) > 0  # CD-NK in April to June
    # every reported cell is there, with its estimate
    keyed = {(r["scope"], r["country"], r["table"], r["month"], r["region"], r["category"]):
             float(r["estimate"]) for r in rows}
    for (m, region, category), value in zip(
            ((m, r, c) for m in regional.domains[1] for r in regional.domains[2]
             for c in regional.domains[0]), np.transpose(regional.estimate, (1, 2, 0)).ravel(),
            strict=True):
        reported = regional.nodes[regional.domains[0].index(category),
                                  regional.domains[1].index(m),
                                  regional.domains[2].index(region)] > 0
        key = ("all", "", "category_month_region", m, region, category)
        assert (key in keyed) == bool(reported)
        if reported:
            assert keyed[key] == value


def test_releases_stored_before_the_migration_read_as_the_nodes_own_codes() -> None:
    """An observatory database from before the shared geography: its stored releases come
    back keyed by the nodes' own codes (`NODE_REGIONS`), whatever migrations follow."""
    import sqlite3

    from observatory.storage import migrations

    mine = next(i for i, m in enumerate(migrations.MIGRATIONS) if "region_vocabulary" in m)
    conn = sqlite3.connect(":memory:")
    for script in migrations.MIGRATIONS[:mine]:
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {mine}")
    conn.execute("INSERT INTO members (node_id, organisation_name, country, contact, "
                 "identity_key, box_key, status, requested_at, decided_at, certificate) "
                 "VALUES ('n1', 'Org', 'CD', 'c', 'k', 'b', 'approved', 1, 2, '{}')")
    conn.execute("INSERT INTO statistics_releases (release_id, node_id, country, period, "
                 "plan_version, first_month, last_month, privacy_unit, contributions, "
                 "mechanism, epsilon, delta, budget_per_period, spent_in_period, "
                 "created_hour, received_hour, digest) VALUES ('r1', 'n1', 'CD', '2025', 1, "
                 "'2025-01', '2025-01', 'report', 2, 'discrete_laplace', 0.2, 0, 2, 0.2, 1, "
                 "1, 'd')")
    conn.execute("INSERT INTO statistics_tables (release_id, name, dimensions, domains, "
                 "counts, mechanism, scale, variance, accuracy_95, epsilon) VALUES ('r1', "
                 "'r', '[\"region\"]', '[[\"north\", \"unknown\"]]', ?, 'discrete_laplace', "
                 "10, 200, 30, 0.2)", (np.array([1, 2], dtype="<i8").tobytes(),))
    migrations.apply(conn)
    [release] = store.releases(conn)
    assert release.region_vocabulary == NODE_REGIONS
    assert release.tables[0].domains == (("north", "unknown"),)
