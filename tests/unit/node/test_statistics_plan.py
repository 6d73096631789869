"""The release plan: parsed from the configuration, fixed public cell domains, periods."""

from __future__ import annotations

import math
import tomllib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from node import config
from node.statistics.plan import (
    ReleasePeriod,
    StatisticsPlan,
    TablePlan,
    domain,
    region_domain,
)
from protocol.statistics import DIMENSIONS
from protocol.vocabulary import AFFILIATIONS, AGE_GROUPS, CATEGORIES, CONTEXTS, SEXES


def test_default_plan_has_five_tables_within_budget() -> None:
    plan = config.NodeConfig().statistics
    assert len(plan.tables) >= 5
    assert plan.mechanism == "discrete_laplace"
    assert math.fsum(t.epsilon for t in plan.tables) <= plan.budget_per_period
    assert {"category", "month", "region"} <= set(plan.tables[0].dimensions)


def test_template_plan_is_the_default_plan() -> None:
    cfg = config.parse(tomllib.loads(config.template_text()))
    assert cfg.statistics == StatisticsPlan()


def test_domains_are_fixed_and_public() -> None:
    period = ReleasePeriod(2025, 3, 5)
    assert domain("month", period, []) == ("2025-03", "2025-04", "2025-05")
    assert domain("region", period, ["NK", "SK", "NK"]) == ("NK", "SK", "unknown")
    assert domain("region", period, []) == ("unknown",)
    assert domain("category", period, []) == CATEGORIES
    assert domain("perpetrator_affiliation", period, []) == AFFILIATIONS
    assert domain("survivor_sex", period, []) == SEXES
    assert domain("survivor_age_group", period, []) == AGE_GROUPS
    assert domain("context", period, []) == CONTEXTS
    table = TablePlan(name="t", dimensions=("category", "month", "region"), epsilon=0.1)
    assert [len(domain(d, period, ["NK", "SK"])) for d in table.dimensions] == [6, 3, 3]


def test_period() -> None:
    p = ReleasePeriod(2024, 2, 2)
    assert p.key == "2024"
    assert p.months == ("2024-02",) and (p.first, p.last) == ("2024-02", "2024-02")
    start, end = p.bounds()
    assert end - start == 29 * 86400
    assert ReleasePeriod(2024).bounds()[1] - ReleasePeriod(2024).bounds()[0] == 366 * 86400
    for bad in ((2024, 0, 1), (2024, 5, 4), (2024, 1, 13), (1900, 1, 1)):
        with pytest.raises(ValueError):
            ReleasePeriod(*bad)


@pytest.mark.parametrize(("raw", "field"), [
    ({"tables": []}, "statistics.tables"),
    ({"tables": [{"name": "a", "dimensions": ["category", "category"], "epsilon": 0.1}]},
     "appears twice"),
    ({"tables": [{"name": "a", "dimensions": ["colour"], "epsilon": 0.1}]},
     "statistics.tables.0.dimensions.0"),
    ({"tables": [{"name": "a", "dimensions": ["month"], "epsilon": 0}]},
     "statistics.tables.0.epsilon"),
    ({"tables": [{"name": "a", "dimensions": ["month"], "epsilon": 0.1},
                 {"name": "a", "dimensions": ["region"], "epsilon": 0.1}]}, "unique"),
    ({"budget_per_period": 0.5}, "budget_per_period"),
    ({"lifetime_loss": 0.5}, "lifetime_loss"),
    ({"lifetime_loss": 0}, "statistics.lifetime_loss"),
    ({"contributions": 0}, "statistics.contributions"),
    ({"mechanism": "gaussian"}, "statistics.mechanism"),
    ({"period": "forever"}, "statistics.period"),
])
def test_bad_plan_names_the_field(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(config.ConfigError) as exc:
        config.parse({"statistics": raw})
    assert field in str(exc.value)


names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
table_dicts = st.fixed_dictionaries({
    "name": names,
    "dimensions": st.lists(st.sampled_from(DIMENSIONS), min_size=1, max_size=4, unique=True),
    "epsilon": st.floats(min_value=0.001, max_value=1.0),
})
junk = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c,
                                                                        max_size=3),
                    max_leaves=6)
plan_dicts = st.fixed_dictionaries(
    {}, optional={"version": st.integers(-2, 5) | junk,
                  "contributions": st.integers(-1, 200) | junk,
                  "budget_per_period": st.floats(allow_nan=True) | junk,
                  "lifetime_loss": st.floats(allow_nan=True) | junk,
                  "tables": st.lists(table_dicts | junk, max_size=6) | junk,
                  "mechanism": st.sampled_from(["discrete_laplace", "laplace"]) | junk})


@settings(max_examples=300, deadline=None)
@given(plan_dicts, st.lists(st.from_regex(r"[A-Za-z0-9_.-]{1,6}", fullmatch=True), max_size=5,
                            unique=True),
       st.lists(st.sampled_from(["CD-NK", "CD-SK", "UA-14", "unknown"]), min_size=5,
                max_size=5))
def test_plan_parsing_accepts_valid_and_names_invalid(raw: dict[str, Any],
                                                      regions: list[str],
                                                      subdivisions: list[str]) -> None:
    """Any input either parses into a consistent plan, or raises ConfigError (never
    anything else); a parsed plan's cell domains are fixed by the plan and the regions
    (several regions may count as one subdivision)."""
    try:
        cfg = config.parse({"statistics": raw,
                            "regions": [{"code": r, "name": r, "subdivision": sub}
                                        for r, sub in zip(regions, subdivisions, strict=False)]})
    except config.ConfigError as exc:
        assert "statistics" in str(exc)
        return
    plan = cfg.statistics
    assert math.fsum(t.epsilon for t in plan.tables) <= plan.budget_per_period
    assert math.fsum(t.epsilon for t in plan.tables) <= plan.lifetime_loss
    assert len({t.name for t in plan.tables}) == len(plan.tables)
    period = ReleasePeriod(2025)
    for table in plan.tables:
        doms = [domain(d, period, cfg.region_map()) for d in table.dimensions]
        assert all(len(set(d)) == len(d) > 0 for d in doms)
    assert region_domain(cfg.region_map())[-1] == "unknown"
    assert set(region_domain(cfg.region_map())) == {*subdivisions[:len(regions)], "unknown"}


def test_plan_is_frozen() -> None:
    plan = StatisticsPlan()
    with pytest.raises(ValidationError):
        plan.version = 2


def test_schedule_slots() -> None:
    from datetime import UTC, datetime

    from node.statistics.schedule import due

    jan, mar, apr = (datetime(2026, m, 5, tzinfo=UTC) for m in (1, 3, 4))
    assert not due("none", None, jan)
    assert due("quarterly", None, jan)
    assert not due("quarterly", jan, mar)
    assert due("quarterly", mar, apr)
    assert not due("yearly", jan, apr)
    assert due("yearly", datetime(2025, 12, 31, tzinfo=UTC), jan)
    assert not due("half_yearly", jan, apr)
