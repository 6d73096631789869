"""Statistics releases through the federation endpoint with a real database (issue 6, "On the
observatory"): only approved members, only the published plan schema, only within budget,
duplicates idempotent, a newer release replacing an older one, and nothing stored by a
refusal (row counts before and after). The same paths over real libp2p hosts are in
tests/integration/test_observatory_statistics.py."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from observatory.config import ConfigError, ObservatoryConfig, parse
from observatory.context import ObservatoryContext, open_observatory
from observatory.federation import Federation
from observatory.statistics import opendata, store
from observatory.statistics.publication import ALL, Publication, PublicationCache, build
from observatory.statistics.schema import StatisticsConfig
from protocol.delivery import DeliveryAck
from protocol.message import Message
from protocol.statistics import DEFAULT_TABLES, NODE_REGIONS, StatisticsRelease, months
from tests.unit.observatory.fakenode import FakeNode, ObservatoryAddress
from tests.unit.observatory.releases import PLAN, domains_of, make_release, variance
from tests.unit.observatory.support import TEST_CONFIG, count_rows, make_observatory
from transport.identity import peer_id_from_public_key

ROOT = Path(__file__).resolve().parents[3]
REGIONS_OF = {"CD": ("CD-NK", "CD-SK"), "UA": ("UA-14", "UA-63")}  # ISO 3166-2
STATS = ("statistics_releases", "statistics_tables")


@pytest.fixture
def obs(ctx: ObservatoryContext) -> ObservatoryAddress:
    return ObservatoryAddress(ctx.identity.node_id, ctx.identity.verify_key, ())


def json_bytes(pub: Publication, name: str) -> bytes:
    buf = io.StringIO()
    opendata.write_json(pub, name, buf)
    return buf.getvalue().encode("utf-8")


def csv_bytes(pub: Publication) -> bytes:
    buf = io.StringIO()
    opendata.write_csv(pub, buf)
    return buf.getvalue().encode("utf-8")


def peer(node: FakeNode) -> str:
    return peer_id_from_public_key(node.key.verify_key.raw())


def ask(ctx: ObservatoryContext, obs: ObservatoryAddress, node: FakeNode,
        message: Message) -> Message:
    frame = node.seal(message, obs).to_frame()
    return node.open_response(Federation(ctx).answer(frame, peer(node)), obs)


def member(ctx: ObservatoryContext, obs: ObservatoryAddress, country: str = "CD") -> FakeNode:
    node = FakeNode(country=country, organisation_name=f"Org {country}")
    ask(ctx, obs, node, node.membership_request())
    ctx.members.approve(node.node_id, int(time.time()))
    return node


def stats_rows(ctx: ObservatoryContext) -> dict[str, int]:
    return count_rows(ctx, *STATS)


def assert_refused(ctx: ObservatoryContext, obs: ObservatoryAddress, node: FakeNode,
                   release: StatisticsRelease, reason: str) -> DeliveryAck:
    before = stats_rows(ctx)
    answer = ask(ctx, obs, node, release)
    assert isinstance(answer, DeliveryAck), answer
    assert (answer.status, answer.reason) == ("rejected", reason), answer
    assert stats_rows(ctx) == before
    return answer


# ---------------------------------------------------------------------- the plan schema


def test_the_published_plan_is_the_protocols_default_plan() -> None:
    schema = StatisticsConfig()
    assert schema.tables == DEFAULT_TABLES
    assert [(t.name, t.dimensions) for t in schema.tables] == list(PLAN)
    assert ObservatoryConfig().statistics == schema


def test_a_configuration_that_still_lists_the_fixed_domains_loads() -> None:
    """Before the vocabulary moved to `protocol`, observatory.toml listed the fixed domains
    (``[statistics.domains]``): such a file still loads when it lists the protocol's
    values, and is refused, naming the section, when it lists others."""
    old = {"max_epsilon_per_period": 1.5, "domains": {
        "category": ["rape", "sexual_slavery", "enforced_prostitution", "forced_pregnancy",
                     "enforced_sterilization", "other_sexual_violence"],
        "perpetrator_affiliation": ["state_forces", "non_state_armed_group", "militia",
                                    "peacekeepers", "civilian", "unknown"],
        "survivor_sex": ["female", "male", "other", "unknown"],
        "survivor_age_group": ["0-11", "12-17", "18-24", "25-59", "60+", "unknown"],
        "context": ["international_armed_conflict", "non_international_armed_conflict",
                    "widespread_or_systematic_attack", "unknown"]}}
    assert parse({"statistics": old}).statistics == StatisticsConfig(max_epsilon_per_period=1.5)
    assert parse({"statistics": {"domains": {"survivor_sex": ["female", "male", "other",
                                                               "unknown"]}}}).statistics \
        == StatisticsConfig()
    for other in ({"survivor_sex": ["male", "female", "other", "unknown"]},
                  {"survivor_sex": ["female", "male"]},
                  {"colour": ["red"]}, ["rape"]):
        with pytest.raises(ConfigError, match=r"statistics\.domains"):
            parse({"statistics": {"domains": other}})


def test_the_observatory_does_not_import_the_node() -> None:
    for path in (ROOT / "observatory").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import) node\b", source, re.MULTILINE), path


# ---------------------------------------------------------------------- acceptance


def test_a_members_release_is_stored_with_its_counts(ctx: ObservatoryContext,
                                                     obs: ObservatoryAddress) -> None:
    node = member(ctx, obs)
    release = make_release()
    answer = ask(ctx, obs, node, release)
    assert isinstance(answer, DeliveryAck) and answer.status == "accepted", answer
    assert stats_rows(ctx) == {"statistics_releases": 1, "statistics_tables": len(PLAN)}
    [stored] = store.releases(ctx.db.read())
    assert (stored.release_id, stored.node_id, stored.country, stored.period) == (
        release.release_id, node.node_id, "CD", "2025")
    for sent, kept in zip(release.tables, stored.tables, strict=True):
        assert (kept.name, kept.dimensions, kept.domains) == (sent.name, sent.dimensions,
                                                               sent.domains)
        assert kept.counts.tolist() == list(sent.counts)  # negative counts included
        assert (kept.scale, kept.variance, kept.epsilon) == (sent.scale, sent.variance,
                                                             sent.epsilon)


def test_the_database_has_no_place_for_a_record(ctx: ObservatoryContext) -> None:
    conn = ctx.db.read()
    columns = {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in STATS}
    text_columns = {c for cols in columns.values() for c in cols}
    assert not text_columns & {"narrative", "text", "name_of", "record", "survivor", "notes"}
    assert columns["statistics_tables"] == [
        "release_id", "name", "dimensions", "domains", "counts", "mechanism", "scale",
        "variance", "accuracy_95", "epsilon"]


# ---------------------------------------------------------------------- who may send


def test_unknown_pending_and_revoked_nodes_are_refused(ctx: ObservatoryContext,
                                                       obs: ObservatoryAddress) -> None:
    stranger = FakeNode()
    # key unknown: answered as a bad signature is, so that nobody learns who is known
    assert_refused(ctx, obs, stranger, make_release(), "not_authenticated")
    pending = FakeNode()
    ask(ctx, obs, pending, pending.membership_request())
    assert_refused(ctx, obs, pending, make_release(), "not_a_member")
    revoked = member(ctx, obs)
    ctx.members.revoke(revoked.node_id, "left_federation", int(time.time()))
    assert_refused(ctx, obs, revoked, make_release(), "not_a_member")
    assert stats_rows(ctx) == {"statistics_releases": 0, "statistics_tables": 0}


def test_a_release_signed_with_another_key_is_refused(ctx: ObservatoryContext,
                                                      obs: ObservatoryAddress) -> None:
    node = member(ctx, obs)
    forger = FakeNode(node_id=node.node_id)  # same node id, its own key
    before = count_rows(ctx)
    frame = forger.seal(make_release(), obs).to_frame()
    answer = forger.open_response(Federation(ctx).answer(frame, peer(forger)), obs)
    assert isinstance(answer, DeliveryAck) and answer.reason == "not_authenticated"
    assert count_rows(ctx) == before  # not even the replay guard: it did not verify


# ---------------------------------------------------------------------- the schema


def _swap(release: StatisticsRelease, table: str, **changes: Any) -> StatisticsRelease:
    tables = tuple(t.model_copy(update=changes) if t.name == table else t
                   for t in release.tables)
    return release.model_copy(update={"tables": tables})


def _category_reversed(r: StatisticsRelease) -> StatisticsRelease:
    t = next(t for t in r.tables if t.name == "category_month")
    return _swap(r, "category_month", domains=(tuple(reversed(t.domains[0])), t.domains[1]))


def _regions_without_unknown(r: StatisticsRelease) -> StatisticsRelease:
    t = next(t for t in r.tables if t.name == "category_month_region")
    regions = tuple(v if v != "unknown" else "elsewhere" for v in t.domains[2])
    return _swap(r, "category_month_region", domains=(*t.domains[:2], regions))


def _regions_differ(r: StatisticsRelease) -> StatisticsRelease:
    t = next(t for t in r.tables if t.name == "category_month_region")
    return _swap(r, "category_month_region", domains=(*t.domains[:2],
                                                      ("CD-IT", "CD-TA", "unknown")))


def _bad_region_code(r: StatisticsRelease) -> StatisticsRelease:
    return make_release(regions=("=cmd|calc", "CD-SK"))


def _region_too_long(r: StatisticsRelease) -> StatisticsRelease:
    return make_release(regions=("r" * 33,))


def _region_not_in_vocabulary(r: StatisticsRelease) -> StatisticsRelease:
    return make_release(regions=("CD-NK", "CD-XX"))  # the pattern of a code, but no such code


def _region_below_first_level(r: StatisticsRelease) -> StatisticsRelease:
    return make_release(regions=("FR-75",))  # Paris: a department, inside FR-IDF


def _region_without_unknown_last(r: StatisticsRelease) -> StatisticsRelease:
    t = next(t for t in r.tables if t.name == "category_month_region")
    return _swap(r, "category_month_region", domains=(*t.domains[:2],
                                                      ("CD-NK", "unknown", "CD-SK")))


def _node_own_region_codes(r: StatisticsRelease) -> StatisticsRelease:
    """A release from before the shared geography: the node's own codes."""
    return make_release(regions=("north", "south"), region_vocabulary=NODE_REGIONS)


def _another_vocabulary(r: StatisticsRelease) -> StatisticsRelease:
    return make_release(region_vocabulary="iso3166-2-l1:000000000000")


def _months_other(r: StatisticsRelease) -> StatisticsRelease:
    t = next(t for t in r.tables if t.name == "category_month")
    months = (*t.domains[1][1:], "2025-07")
    return _swap(r, "category_month", domains=(t.domains[0], months))


def _variance_small(r: StatisticsRelease) -> StatisticsRelease:
    return _swap(r, "context_category", variance=r.tables[3].variance / 4)


def _epsilon_low(r: StatisticsRelease) -> StatisticsRelease:
    changed = _swap(r, "context_category", epsilon=0.01)
    eps = math.fsum(t.epsilon for t in changed.tables)
    return changed.model_copy(update={"epsilon": eps, "spent_in_period": eps})


def _unknown_table(r: StatisticsRelease) -> StatisticsRelease:
    return _swap(r, "context_category", name="secret_table")


def _dimensions_swapped(r: StatisticsRelease) -> StatisticsRelease:
    t = next(t for t in r.tables if t.name == "context_category")
    return _swap(r, "context_category", dimensions=tuple(reversed(t.dimensions)),
                 domains=tuple(reversed(t.domains)))


def _gaussian(r: StatisticsRelease) -> StatisticsRelease:
    tables = tuple(t.model_copy(update={"mechanism": "discrete_gaussian"}) for t in r.tables)
    return r.model_copy(update={"mechanism": "discrete_gaussian", "tables": tables})


def _period_shifted(r: StatisticsRelease) -> StatisticsRelease:
    return r.model_copy(update={"period_start": r.period_start + 86400})


def _future(r: StatisticsRelease) -> StatisticsRelease:
    year = time.gmtime().tm_year + 1
    return make_release(period=str(year), first_month=f"{year}-01", last_month=f"{year}-03")


@pytest.mark.parametrize(("change", "reason"), [
    (_unknown_table, "unknown_table"),
    (_dimensions_swapped, "dimensions_mismatch"),
    (_category_reversed, "domain_mismatch"),
    (_months_other, "domain_mismatch"),
    (_regions_without_unknown, "domain_mismatch"),
    (_regions_differ, "domain_mismatch"),
    (_bad_region_code, "domain_mismatch"),
    (_region_too_long, "domain_mismatch"),
    (_region_not_in_vocabulary, "domain_mismatch"),
    (_region_below_first_level, "domain_mismatch"),
    (_region_without_unknown_last, "domain_mismatch"),
    (_node_own_region_codes, "domain_mismatch"),
    (_another_vocabulary, "domain_mismatch"),
    (_variance_small, "noise_mismatch"),
    (_epsilon_low, "noise_mismatch"),
    (_gaussian, "unsupported_mechanism"),
    (_period_shifted, "period_mismatch"),
    (_future, "period_in_future"),
])
def test_releases_outside_the_published_plan_are_refused(
        ctx: ObservatoryContext, obs: ObservatoryAddress,
        change: Callable[[StatisticsRelease], StatisticsRelease], reason: str) -> None:
    node = member(ctx, obs)
    answer = assert_refused(ctx, obs, node, change(make_release()), reason)
    assert answer.detail  # a short explanation for the node's staff


def test_a_release_the_protocol_refuses_is_malformed(ctx: ObservatoryContext,
                                                     obs: ObservatoryAddress) -> None:
    node = member(ctx, obs)
    good = make_release()
    short = good.tables[0].model_construct(**{**dict(good.tables[0]),
                                              "counts": good.tables[0].counts[:-1]})
    for bad in (
        make_release(tables=(), epsilon=0.2),  # no table
        good.model_construct(**{**dict(good), "tables": (short, *good.tables[1:])}),
        good.model_construct(**{**dict(good), "epsilon": good.epsilon / 2}),
        good.model_construct(**{**dict(good), "spent_in_period": 3.0}),  # above the budget
    ):
        assert_refused(ctx, obs, node, bad, "malformed")


# ---------------------------------------------------------------------- budget


def test_releases_within_the_budget_then_the_next_is_refused(ctx: ObservatoryContext,
                                                             obs: ObservatoryAddress) -> None:
    node = member(ctx, obs)
    # Five tables at 0.2 each: 1.0 a release; the node declares 2.5 (the observatory 2.0).
    first = make_release(budget=2.5, spent=1.0, created_hour=1)
    second = make_release(budget=2.5, spent=2.0, created_hour=2)
    for r in (first, second):
        answer = ask(ctx, obs, node, r)
        assert isinstance(answer, DeliveryAck) and answer.status == "accepted"
    assert_refused(ctx, obs, node, make_release(budget=2.5, spent=2.5, epsilon=0.1),
                   "over_observatory_budget")
    # Another period has its own budget.
    other = make_release(period="2024", last_month="2024-12", spent=1.0)
    assert isinstance(ask(ctx, obs, node, other), DeliveryAck)
    assert store.spent(ctx.db.read(), node.node_id, "2025") == pytest.approx(2.0)


def test_the_nodes_own_declared_budget_binds(ctx: ObservatoryContext,
                                             obs: ObservatoryAddress) -> None:
    node = member(ctx, obs)
    first = ask(ctx, obs, node, make_release(budget=1.5, spent=1.0))
    assert isinstance(first, DeliveryAck) and first.status == "accepted"
    # The node says it spent 1.5 in all, but we have seen 1.0 + 1.0 = 2.0 > 1.5.
    assert_refused(ctx, obs, node, make_release(budget=1.5, spent=1.5, epsilon=0.2),
                   "over_budget")


def test_the_observatorys_limit_comes_from_its_configuration(tmp_path: Path) -> None:
    root = make_observatory(tmp_path / "o", TEST_CONFIG.replace(
        "max_epsilon_per_period = 2.0", "max_epsilon_per_period = 0.5"))
    ctx = open_observatory(root)
    try:
        obs = ObservatoryAddress(ctx.identity.node_id, ctx.identity.verify_key, ())
        node = member(ctx, obs)
        assert_refused(ctx, obs, node, make_release(), "over_observatory_budget")
        answer = ask(ctx, obs, node, make_release(epsilon=0.1))  # 0.5 in all
        assert isinstance(answer, DeliveryAck) and answer.status == "accepted"
    finally:
        ctx.close()


# ---------------------------------------------------------------------- duplicates


def test_duplicates_are_ignored_and_conflicts_refused(ctx: ObservatoryContext,
                                                      obs: ObservatoryAddress) -> None:
    node, other = member(ctx, obs), member(ctx, obs, "UA")
    release = make_release()
    envelope = node.seal(release, obs)
    federation = Federation(ctx)
    first = node.open_response(federation.answer(envelope.to_frame(), peer(node)), obs)
    assert isinstance(first, DeliveryAck) and first.status == "accepted"
    before = stats_rows(ctx)
    # the same envelope again (an outbox retry), and the same release in a fresh envelope
    again = node.open_response(federation.answer(envelope.to_frame(), peer(node)), obs)
    fresh = ask(ctx, obs, node, release)
    for answer in (again, fresh):
        assert isinstance(answer, DeliveryAck) and answer.status == "duplicate", answer
    assert stats_rows(ctx) == before
    assert store.spent(ctx.db.read(), node.node_id, "2025") == pytest.approx(1.0)
    # the same id with other content, or from another node: refused
    changed = make_release(release_id=release.release_id)
    assert_refused(ctx, obs, node, changed, "release_id_conflict")
    assert_refused(ctx, obs, other, release, "release_id_conflict")


# ---------------------------------------------------------------------- publication


def _truth(value: int) -> dict[str, np.ndarray]:
    out = {}
    for name, dims in PLAN:
        shape = tuple(len(d) for d in domains_of(dims, months("2025-01", "2025-06"),
                                                 ("CD-NK", "CD-SK", "unknown")))
        out[name] = np.full(shape, value)
    return out


def test_a_newer_release_replaces_the_older_one(ctx: ObservatoryContext,
                                                obs: ObservatoryAddress) -> None:
    node = member(ctx, obs)
    cache = PublicationCache(ctx.db, ctx.config.statistics)
    old = make_release(truth=_truth(1), noise=False, created_hour=100, spent=1.0)
    new = make_release(truth=_truth(3), noise=False, created_hour=200, spent=2.0)
    ask(ctx, obs, node, old)
    first = cache.get()
    [table] = [t for t in first.overall.in_period("2025") if t.table == "category_month"]
    assert table.estimate.tolist() == [[1] * 6] * 6
    ask(ctx, obs, node, new)
    second = cache.get()  # the fingerprint changed: rebuilt
    assert second is not first
    [table] = [t for t in second.overall.in_period("2025") if t.table == "category_month"]
    assert table.estimate.tolist() == [[3] * 6] * 6
    assert [(n.releases, round(n.epsilon_spent, 9), n.release_in_use)
            for n in second.losses] == [(2, 2.0, new.release_id)]
    assert cache.get() is second  # nothing changed: the same object


def test_the_published_loss_includes_the_drafts_a_node_discarded(
        ctx: ObservatoryContext, obs: ObservatoryAddress) -> None:
    """A node that drew and discarded a draft (1.0) before its release (1.0) declares 2.0
    spent: the methodology's table says 2.0, not the 1.0 it received (issue 14)."""
    node = member(ctx, obs)
    ask(ctx, obs, node, make_release(truth=_truth(1), created_hour=100, spent=2.0))
    [loss] = PublicationCache(ctx.db, ctx.config.statistics).get().losses
    assert (loss.releases, round(loss.epsilon_spent, 9)) == (1, 2.0)


def test_an_older_release_arriving_late_does_not_replace_a_newer_one(
        ctx: ObservatoryContext, obs: ObservatoryAddress) -> None:
    node = member(ctx, obs)
    new = make_release(truth=_truth(3), noise=False, created_hour=200, spent=2.0)
    old = make_release(truth=_truth(1), noise=False, created_hour=100, spent=1.0)
    ask(ctx, obs, node, new)
    ask(ctx, obs, node, old)
    pub = PublicationCache(ctx.db, ctx.config.statistics).get()
    assert pub.in_use[("2025", node.node_id)].release_id == new.release_id


def test_countries_combine_only_their_nodes_and_untrusted_members_stop_counting(
        ctx: ObservatoryContext, obs: ObservatoryAddress) -> None:
    cd1, cd2, ua = member(ctx, obs, "CD"), member(ctx, obs, "CD"), member(ctx, obs, "UA")
    for node, value in ((cd1, 1), (cd2, 2), (ua, 10)):
        ask(ctx, obs, node, make_release(truth=_truth(value), noise=False,
                                         regions=REGIONS_OF[node.country]))
    cache = PublicationCache(ctx.db, ctx.config.statistics)
    pub = cache.get()
    assert set(pub.countries) == {"CD", "UA"}

    def cell(scope: str, table: str = "category_month_region") -> list[str]:
        s = pub.scope(scope)
        assert s is not None
        [t] = [t for t in s.in_period("2025") if t.table == table]
        return [f"{r}={int(v)}" for r, v in zip(t.domains[2], t.estimate[0, 0], strict=True)]

    # Regions are the federation's subdivision codes: CD's two nodes' provinces are added
    # up, and overall every node's "unknown" region too.
    assert cell("CD") == ["CD-NK=3", "CD-SK=3", "unknown=3"]
    assert cell("UA") == ["UA-14=10", "UA-63=10", "unknown=10"]
    assert cell(ALL) == ["CD-NK=3", "CD-SK=3", "unknown=13", "UA-14=10", "UA-63=10"]
    assert pub.nodes_in("2025") == 3 and pub.nodes_in("2025", "CD") == 2
    ctx.members.revoke(ua.node_id, "key_compromised", int(time.time()))
    ctx.members.revoke(cd2.node_id, "left_federation", int(time.time()))
    pub = cache.get()
    assert set(pub.countries) == {"CD"}
    assert cell("CD") == ["CD-NK=3", "CD-SK=3", "unknown=3"]
    assert {n.node_id: n.counted for n in pub.losses} == {
        cd1.node_id: True, cd2.node_id: True, ua.node_id: False}


def test_totals_are_unclamped_and_displays_clamped(ctx: ObservatoryContext,
                                                   obs: ObservatoryAddress) -> None:
    node = member(ctx, obs)
    truth = _truth(0)
    truth["category_month"] = np.array([[-3, 5, 0, 0, 0, 0]] + [[0] * 6] * 5)
    ask(ctx, obs, node, make_release(truth=truth, noise=False))
    pub = PublicationCache(ctx.db, ctx.config.statistics).get()
    [t] = [t for t in pub.overall.in_period("2025") if t.table == "category_month"]
    assert t.total()[0] == 2  # -3 + 5, not 0 + 5
    assert t.display()[0].tolist() == [0, 5, 0, 0, 0, 0]
    doc = json.loads(json_bytes(pub, "test"))
    opendata.StatisticsOut.model_validate(doc)
    [jt] = [x for x in doc["tables"] if x["table"] == "category_month" and x["scope"] == "all"]
    assert jt["estimate"][:2] == [-3, 5] and jt["display"][:2] == [0, 5]
    assert jt["lower"][0] < -3 < jt["upper"][0]
    assert jt["nodes"] == 1 and jt["privacy"][0]["epsilon"] == 0.2
    assert jt["privacy"][0]["variance"] == pytest.approx(variance(10.0))
    rows = list(csv.DictReader(io.StringIO(csv_bytes(pub).decode("utf-8"))))
    first = next(r for r in rows if r["table"] == "category_month" and r["scope"] == "all")
    assert (first["category"], first["month"], first["estimate"], first["display"]) == (
        "rape", "2025-01", "-3", "0")
    assert first["epsilon_min"] == first["epsilon_max"] == "0.2"
    assert {r["scope"] for r in rows} == {"all", "country"}


def test_an_empty_observatory_publishes_an_empty_document(ctx: ObservatoryContext) -> None:
    pub = build([], ctx.config.statistics)
    doc = json.loads(json_bytes(pub, "x"))
    assert doc["tables"] == [] and doc["periods"] == [] and doc["privacy_loss"] == []
    assert doc["plan"]["tables"][0]["name"] == "category_month_region"
    assert csv_bytes(pub).count(b"\r\n") == 1  # the header


# ---------------------------------------------------------------------- coverage


def test_published_intervals_cover_the_truth_at_about_the_nominal_rate(
        ctx: ObservatoryContext, obs: ObservatoryAddress) -> None:
    """Many nodes with known true counts, through the real ingest and publication: the
    95 % intervals of every published cell (overall and per country) hold the true sum
    about 95 % of the time. (tests/unit/observatory/test_combine.py checks the combination
    alone with 1, 3 and 1,000 nodes.)"""
    rng = np.random.default_rng(66)
    nodes = [member(ctx, obs, country) for country in ["CD"] * 12 + ["UA"] * 8]
    years = [str(y) for y in range(2019, 2024)]
    truths: dict[tuple[str, str, str], np.ndarray] = {}
    for year in years:
        for node in nodes:
            truth = {name: rng.integers(0, 8, shape) for name, shape in (
                (n, tuple(len(d) for d in _domains(dims, year))) for n, dims in PLAN)}
            release = make_release(period=year, first_month=f"{year}-01",
                                   last_month=f"{year}-06", regions=REGIONS_OF[node.country],
                                   truth=truth, rng=rng)
            answer = ask(ctx, obs, node, release)
            assert isinstance(answer, DeliveryAck) and answer.status == "accepted"
            for name, counts in truth.items():
                for scope in (ALL, node.country):
                    key = (year, scope, name)
                    truths[key] = truths.get(key, 0) + counts
    pub = PublicationCache(ctx.db, ctx.config.statistics).get()
    covered = total = 0
    for (year, scope, name), true_sum in truths.items():
        s = pub.scope(scope)
        assert s is not None
        [t] = [t for t in s.in_period(year) if t.table == name]
        lo, hi = t.interval()
        # same-country nodes share subdivisions, so the true sums line up cell by cell
        assert t.estimate.shape == true_sum.shape or scope == ALL
        if t.estimate.shape != true_sum.shape:
            continue  # overall regions are CD-* and UA-*: checked per country instead
        covered += int(np.sum((lo <= true_sum) & (true_sum <= hi)))
        total += true_sum.size
    rate = covered / total
    se = math.sqrt(0.95 * 0.05 / total)
    assert total > 3000
    assert 0.95 - 4 * se <= rate <= 0.95 + 4 * se, rate


def _domains(dims: tuple[str, ...], year: str) -> tuple[tuple[str, ...], ...]:
    return domains_of(dims, months(f"{year}-01", f"{year}-06"), ("CD-NK", "CD-SK", "unknown"))


def test_downloads_are_written_once_per_publication(ctx: ObservatoryContext,
                                                    obs: ObservatoryAddress,
                                                    tmp_path: Path) -> None:
    node = member(ctx, obs)
    ask(ctx, obs, node, make_release(created_hour=1))
    cache = PublicationCache(ctx.db, ctx.config.statistics)
    files = opendata.Files(tmp_path / "published", "Test observatory")
    first = files.path(cache.get(), "csv")
    assert first.read_bytes() == csv_bytes(cache.get())
    assert files.path(cache.get(), "csv") == first  # not written again
    doc = files.path(cache.get(), "json").read_bytes()
    assert doc == json_bytes(cache.get(), "Test observatory")
    opendata.StatisticsOut.model_validate_json(doc)
    ask(ctx, obs, node, make_release(created_hour=2, spent=2.0))
    second = files.path(cache.get(), "csv")
    assert second != first and not first.exists()  # the older publication's file is gone
    json_path = files.path(cache.get(), "json")
    assert sorted(p.name for p in (tmp_path / "published").iterdir()) == sorted(
        [second.name, json_path.name])


def test_csv_fields_are_quoted_and_formulas_neutralised() -> None:
    assert opendata.csv_text("CD/north") == "CD/north"
    assert opendata.csv_text("=cmd()") == "'=cmd()"
    assert opendata.csv_text("-1+2") == "'-1+2"
    assert opendata.csv_text('a,"b"') == '"a,""b"""'
