"""Reading incidents into arrays: the columns `open_codings` carries, the rows read
chunk by chunk and a plain Python reading of the rule all give the same release input; the
carried columns never outlive a change to the list; codings opened in worker threads are
the same rows, and a tampered or malformed coding is still refused."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from crypto.errors import DecryptionError
from crypto.keys import DataKey
from node.backoffice import codings as codings_module
from node.backoffice.codings import IncidentRow, open_codings
from node.backoffice.incidents import IncidentCoding
from node.context import NodeContext
from node.intake.models import Consent, ReportInput
from node.statistics import columns
from node.statistics.columns import ChunkCoder, Coded, CodedIncidents, encode
from node.statistics.plan import ReleasePeriod, domain
from protocol.statistics import DIMENSIONS, Dimension
from protocol.vocabulary import AFFILIATIONS, AGE_GROUPS, CATEGORIES, CONTEXTS, SEXES
from tests.team import Team, make_team

REGIONS = ["R1", "R2"]
REPORTS = [f"{i:032x}" for i in range(6)]
PERIODS = [ReleasePeriod(2025), ReleasePeriod(2025, 2, 4), ReleasePeriod(2024, 12, 12)]


@st.composite
def incident_rows(draw: st.DrawFn) -> list[IncidentRow]:
    ids = draw(st.lists(st.binary(min_size=12, max_size=12).map(bytes.hex), unique=True,
                        max_size=25))
    rows = []
    for incident_id in ids:
        start = draw(st.none() | st.dates(date(2024, 11, 1), date(2025, 6, 30)))
        days = draw(st.none() | st.integers(0, 90))
        end = None if days is None else (start or date(2025, 1, 1)) + timedelta(days=days)
        coding = IncidentCoding(
            category=draw(st.sampled_from(CATEGORIES)), date_from=start, date_to=end,
            region=draw(st.sampled_from(["R1", "R2", "GONE", None])),
            perpetrator_affiliation=draw(st.none() | st.sampled_from(AFFILIATIONS)),
            survivor_sex=draw(st.sampled_from(SEXES)),
            survivor_age_group=draw(st.sampled_from(AGE_GROUPS)),
            context=draw(st.sampled_from(CONTEXTS)))
        reports = draw(st.lists(st.sampled_from(REPORTS), min_size=1, max_size=3, unique=True))
        rows.append(IncidentRow(incident_id, coding, reports, True))
    return rows


def carried(rows: list[IncidentRow], size: int) -> CodedIncidents:
    """Rows with their columns, as `open_codings` builds them: chunk by chunk, and
    reports numbered in order of appearance."""
    coder = ChunkCoder()
    numbers: dict[str, int] = {}
    chunks = [coder([r.coding for r in rows[i:i + size]]) for i in range(0, len(rows), size)]
    lengths = np.array([len(r.report_ids) for r in rows], dtype=np.int64)
    reports = np.array([numbers.setdefault(x, len(numbers)) for r in rows for x in r.report_ids],
                       dtype=np.int64)
    return CodedIncidents(rows, Coded.join([r.id for r in rows], chunks, lengths, reports))


def reference(rows: list[IncidentRow], period: ReleasePeriod, k: int,
              dims: list[Dimension]) -> tuple[int, dict[Dimension, list[int]]]:
    """The rule in words: an incident belongs to the month of date_from, else date_to; each
    report vouches for its first k dated incidents by id, over every period (its lifetime);
    values outside a domain are "unknown"."""
    first, last = period.month_ordinals

    def month(r: IncidentRow) -> int | None:
        day = r.coding.date_from or r.coding.date_to
        return None if day is None else day.year * 12 + day.month - 1

    picked = [r for r in rows if (m := month(r)) is not None and first <= m <= last]
    dated = [r for r in rows if month(r) is not None]
    by_report: dict[str, list[str]] = {}
    for r in sorted(dated, key=lambda r: r.id):
        for report in r.report_ids:
            by_report.setdefault(report, []).append(r.id)
    vouched = {i for incidents in by_report.values() for i in incidents[:k]}
    counted = [r for r in picked if r.id in vouched]

    def index(dim: Dimension, r: IncidentRow) -> int:
        if dim == "month":
            return (month(r) or 0) - first
        values = domain(dim, period, REGIONS)
        value = getattr(r.coding, dim)
        return values.index(value) if value in values else values.index("unknown")

    return len(picked), {d: [index(d, r) for r in counted] for d in dims}


@settings(max_examples=200, deadline=None)
@given(incident_rows(), st.sampled_from(PERIODS), st.integers(1, 3), st.integers(1, 7))
def test_carried_columns_chunked_rows_and_the_rule_agree(
        rows: list[IncidentRow], period: ReleasePeriod, k: int, size: int) -> None:
    dims = list(DIMENSIONS)
    in_period, expected = reference(rows, period, k, dims)
    with mock.patch.object(columns, "CHUNK", size):
        from_rows = encode(rows, period, REGIONS, k, dims)
    with_columns = carried(rows, size)
    assert with_columns.columns is not None
    from_columns = encode(with_columns, period, REGIONS, k, dims)
    for got in (from_rows, from_columns):
        assert got.in_period == in_period
        assert got.counted == len(expected["month"])
        assert {d: got.values[d].tolist() for d in dims} == expected


def test_carried_columns_are_dropped_when_the_list_changes() -> None:
    def make() -> CodedIncidents:
        rows = [IncidentRow(secrets.token_hex(12), IncidentCoding(category="rape"),
                            [REPORTS[0]], True) for _ in range(3)]
        return carried(rows, 2)

    changes: list[Any] = [
        lambda r: r.append(r[0]), lambda r: r.extend([r[0]]), lambda r: r.insert(0, r[1]),
        lambda r: r.pop(), lambda r: r.remove(r[0]), lambda r: r.clear(),
        lambda r: r.reverse(), lambda r: r.sort(key=lambda x: x.id),
        lambda r: r.__setitem__(0, r[1]), lambda r: r.__delitem__(0),
        lambda r: r.__iadd__([r[0]]), lambda r: r.__imul__(2)]
    for change in changes:
        rows = make()
        assert rows.columns is not None
        change(rows)
        assert rows.columns is None
    rows = make()
    assert rows[:2] == list(rows)[:2] and not isinstance(rows[:2], CodedIncidents)
    # columns that do not match the rows are not carried at all
    other = make()
    assert CodedIncidents(list(rows), other.columns).columns is None


# ---------------------------------------------------------------------- on a real node

@pytest.fixture
def team(node_ctx: NodeContext) -> Team:
    return make_team(node_ctx)


def _report(ctx: NodeContext, statistics: bool = True) -> str:
    return ctx.intake.submit(ReportInput(consent=Consent(statistics=statistics),
                                         narrative="what happened"),
                             DataKey.generate(), [], "test").report_id


def _code(ctx: NodeContext, team: Team, report_id: str, i: int) -> str:
    return ctx.incidents.code(team.coordinator, report_id, IncidentCoding(
        category=CATEGORIES[i % len(CATEGORIES)], region=("R1", None)[i % 2],
        date_from=date(2025, 1 + i % 12, 10), survivor_sex=SEXES[i % len(SEXES)]))


def test_codings_opened_in_threads_are_the_same_and_still_refuse_bad_data(
        node_ctx: NodeContext, team: Team, monkeypatch: pytest.MonkeyPatch) -> None:

    survivor, witness, refusing = _report(node_ctx), _report(node_ctx), _report(node_ctx, False)
    incidents = [_code(node_ctx, team, survivor, i) for i in range(7)]
    node_ctx.incidents.link(team.coordinator, witness, incidents[2], survivor)
    hidden = _code(node_ctx, team, refusing, 7)
    node_ctx.incidents.link(team.coordinator, refusing, incidents[3], survivor)  # now excluded
    alone = open_codings(node_ctx.db, team.analyst)   # one batch, no threads
    monkeypatch.setattr(codings_module, "CHUNK", 2)   # four batches, in worker threads
    threaded = open_codings(node_ctx.db, team.analyst)
    assert isinstance(threaded, CodedIncidents) and threaded.columns is not None
    assert threaded == alone
    assert [r.id for r in threaded] == [i for i in incidents if i != incidents[3]]
    assert sorted(threaded[2].report_ids) == sorted([survivor, witness])
    every = open_codings(node_ctx.db, team.analyst, statistics_only=False)
    assert [r.id for r in every] == [*incidents, hidden]
    assert [r.statistics_consent for r in every] == [i != incidents[3] for i in incidents] + [
        False]
    for period in PERIODS:
        a = encode(threaded, period, REGIONS, 1, list(DIMENSIONS))
        b = encode(list(threaded), period, REGIONS, 1, list(DIMENSIONS))
        assert (a.in_period, a.counted) == (b.in_period, b.counted)
        assert all((a.values[d] == b.values[d]).all() for d in DIMENSIONS)

    # a ciphertext altered at rest is refused, whichever thread opens it
    conn = node_ctx.db.read()
    sealed, ct = conn.execute("SELECT sealed_key, coding_ct FROM incidents WHERE id = ?",
                              (incidents[5],)).fetchone()
    with node_ctx.db.write() as w:
        w.execute("UPDATE incidents SET coding_ct = ? WHERE id = ?",
                  (ct[:-1] + bytes([ct[-1] ^ 1]), incidents[5]))
    with pytest.raises(DecryptionError):
        open_codings(node_ctx.db, team.analyst)
    # a coding that decrypts but is not a valid coding is refused by the model
    key = team.analyst.analysis_key
    assert key is not None
    ikey = key.open_data_key(sealed)
    for bad in (b'{"category": "genocide"}', b'{"category": "rape", "extra": 1}',
                b'{"category": "rape", "region": 5}', b"not json"):
        with node_ctx.db.write() as w:
            w.execute("UPDATE incidents SET coding_ct = ? WHERE id = ?",
                      (ikey.encrypt(bad, b"incident:" + incidents[5].encode()), incidents[5]))
        with pytest.raises(ValidationError):
            open_codings(node_ctx.db, team.analyst)
