"""Budget arithmetic: a float tolerance for drift, never a real overspend."""

from __future__ import annotations

import math
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from node.statistics.budget import RELATIVE_TOLERANCE, BudgetStatus, fits
from node.statistics.columns import ranks


def test_float_drift_is_tolerated_but_a_real_overspend_is_not() -> None:
    spent = 0.0
    for _ in range(10):
        assert fits(spent, 0.1, 1.0)
        spent += 0.1  # naive float sum: 0.9999999999999999
    assert not fits(spent, 0.1, 1.0)
    assert fits(0.7, 0.3, 1.0)  # 0.7 + 0.3 = 0.9999999999999999 or 1.0000000000000002
    assert not fits(0.7, 0.31, 1.0)
    status = BudgetStatus("2025", 2.0, 2.5, 3)
    assert status.remaining == 0.0 and not status.allows(1e-6)


@given(st.floats(0.01, 10), st.lists(st.floats(1e-4, 3), max_size=50))
def test_accepted_charges_never_exceed_the_budget(budget: float, asks: list[float]) -> None:
    spent: list[float] = []
    for eps in asks:
        if fits(math.fsum(spent), eps, budget):
            spent.append(eps)
    assert math.fsum(spent) <= budget * (1 + 2 * RELATIVE_TOLERANCE)


@given(st.lists(st.one_of(st.binary(min_size=12, max_size=12).map(bytes.hex),
                          st.binary(min_size=1, max_size=4).map(bytes.hex),
                          st.sampled_from(["0a", "0A", "a0", "A0", "09"]),
                          st.text(max_size=6)), max_size=40))
def test_ranks_order_ids_exactly(ids: list[str]) -> None:
    r = ranks(ids).tolist()
    distinct = sorted(set(ids))
    assert r == [distinct.index(i) for i in ids]


def test_the_ledger_is_the_one_writer_of_a_releases_status() -> None:
    """Draft, approved, discarded, voided and sent are written by the ledger's module alone
    (the review, the observatory's acknowledgement, consent and erasure call it), so the
    rules of the ledger live in one place. The schema migrations, which run once at upgrade
    (migration 14 voids the drafts drawn under the older per-year bound), are not a writer
    at run time."""
    root = Path(__file__).resolve().parents[3] / "node"
    writers = sorted(str(path.relative_to(root)) for path in root.rglob("*.py")
                     if re.search(r"(UPDATE|INSERT INTO)\s+statistics_(releases|report_charges)\b",
                                  path.read_text(encoding="utf-8")))
    assert writers == ["statistics/budget.py", "storage/migrations.py"]
    migration = (root / "storage" / "migrations.py").read_text(encoding="utf-8")
    # one migration writes a status (14); migration 22 fills in who drafted, no status
    sets = re.findall(r"UPDATE\s+statistics_releases\s+SET\s+(.*?)\bWHERE\b", migration, re.S)
    assert len(sets) == 2 and sum("status" in s for s in sets) == 1
