"""Accepted statistics releases in SQLite (migration 2): written inside the federation
handler's write transaction, read back whole for the publication.

Only what a node released is kept: its noisy counts (little-endian int64, row-major) and the
public parameters of their noise and budget, plus which member sent it and when (to the
hour, as checkpoints are). There is no column a record could go in.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from protocol.encoding import canonical_json
from protocol.statistics import NODE_REGIONS, StatisticsRelease

HOUR = 3600
# Members revoked for these reasons may have had their key used by someone else, or sent
# untrustworthy figures: their releases stay stored (and in the privacy-loss table) but no
# longer count in the estimates. A member that left the federation still counts.
UNTRUSTED_REVOCATIONS = ("key_compromised", "misbehaviour")


def digest(release: StatisticsRelease) -> str:
    """SHA-256 of the release's RFC 8785 JSON: the same release, resent, has the same one."""
    return hashlib.sha256(canonical_json(release.to_json_object())).hexdigest()


@dataclass(frozen=True)
class Known:
    node_id: str
    digest: str


def find(conn: sqlite3.Connection, release_id: str) -> Known | None:
    row = conn.execute("SELECT node_id, digest FROM statistics_releases WHERE release_id = ?",
                       (release_id,)).fetchone()
    return None if row is None else Known(row[0], row[1])


def spent(conn: sqlite3.Connection, node_id: str, period: str) -> float:
    """The privacy loss of every release accepted from `node_id` for `period`."""
    values = [r[0] for r in conn.execute(
        "SELECT epsilon FROM statistics_releases WHERE node_id = ? AND period = ?",
        (node_id, period))]
    return float(np.sum(values)) if values else 0.0


def insert(conn: sqlite3.Connection, node_id: str, country: str, release: StatisticsRelease,
           release_digest: str, now: int, implausible: str | None = None) -> None:
    """Store an accepted release; `implausible` holds the plausibility findings, if any
    (observatory/statistics/plausibility.py), for the admin."""
    conn.execute(
        "INSERT INTO statistics_releases (release_id, node_id, country, period, plan_version, "
        "first_month, last_month, privacy_unit, contributions, mechanism, epsilon, delta, "
        "budget_per_period, spent_in_period, created_hour, received_hour, digest, implausible, "
        "region_vocabulary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (release.release_id, node_id, country, release.period, release.plan_version,
         release.first_month, release.last_month, release.privacy_unit,
         release.contributions, release.mechanism, release.epsilon, release.delta,
         release.budget_per_period, release.spent_in_period, release.created_hour,
         now // HOUR, release_digest, implausible, release.region_vocabulary))
    conn.executemany(
        "INSERT INTO statistics_tables (release_id, name, dimensions, domains, counts, "
        "mechanism, scale, variance, accuracy_95, epsilon) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(release.release_id, t.name, json.dumps(list(t.dimensions)),
          json.dumps([list(d) for d in t.domains]),
          np.asarray(t.counts, dtype="<i8").tobytes(), t.mechanism, t.scale, t.variance,
          t.accuracy_95, t.epsilon) for t in release.tables])


@dataclass(frozen=True)
class Flagged:
    """An accepted release whose noise looked smaller than declared, for the admin."""

    release_id: str
    node_id: str
    period: str
    received_hour: int
    findings: str


def flagged(conn: sqlite3.Connection) -> list[Flagged]:
    """Releases flagged by the plausibility checks, newest first."""
    return [Flagged(*row) for row in conn.execute(
        "SELECT release_id, node_id, period, received_hour, implausible FROM statistics_releases"
        " WHERE implausible IS NOT NULL ORDER BY seq DESC")]


def fingerprint(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """Changes whenever what is published could: a release accepted, or a member approved or
    revoked (every such decision issues the next membership list)."""
    count, last = conn.execute(
        "SELECT count(*), coalesce(max(seq), 0) FROM statistics_releases").fetchone()
    (sequence,) = conn.execute(
        "SELECT coalesce(max(sequence), 0) FROM membership_lists").fetchone()
    return int(count), int(last), int(sequence)


# ---------------------------------------------------------------------- reading back


@dataclass(frozen=True)
class StoredTable:
    name: str
    dimensions: tuple[str, ...]
    domains: tuple[tuple[str, ...], ...]
    counts: npt.NDArray[np.int64]
    mechanism: str
    scale: float
    variance: float
    accuracy_95: int
    epsilon: float


@dataclass(frozen=True)
class StoredRelease:
    seq: int
    release_id: str
    node_id: str
    organisation_name: str
    country: str
    counted: bool  # False once the member is revoked for an untrusted reason
    period: str
    plan_version: int
    first_month: str
    last_month: str
    contributions: int
    mechanism: str
    epsilon: float
    budget_per_period: float
    spent_in_period: float
    created_hour: int
    received_hour: int
    tables: tuple[StoredTable, ...]
    region_vocabulary: str = NODE_REGIONS  # what its region cells are keyed by

    @property
    def order(self) -> tuple[int, float, int]:
        """Newer releases sort later: drawn later, else more of the budget spent (a node's
        ledger only grows), else arrived later."""
        return (self.created_hour, self.spent_in_period, self.seq)


def _tables(conn: sqlite3.Connection) -> dict[str, list[StoredTable]]:
    out: dict[str, list[StoredTable]] = {}
    parsed: dict[str, tuple[tuple[str, ...], ...]] = {}  # many releases share domains
    for row in conn.execute(
            "SELECT release_id, name, dimensions, domains, counts, mechanism, scale, "
            "variance, accuracy_95, epsilon FROM statistics_tables ORDER BY rowid"):
        domains = parsed.get(row[3])
        if domains is None:
            domains = tuple(tuple(d) for d in json.loads(row[3]))
            parsed[row[3]] = domains
        out.setdefault(row[0], []).append(StoredTable(
            row[1], tuple(json.loads(row[2])), domains,
            np.frombuffer(row[4], dtype="<i8").astype(np.int64), row[5], row[6], row[7],
            row[8], row[9]))
    return out


def releases(conn: sqlite3.Connection) -> list[StoredRelease]:
    """Every accepted release, oldest first (by `StoredRelease.order`)."""
    tables = _tables(conn)
    rows = conn.execute(
        "SELECT r.seq, r.release_id, r.node_id, m.organisation_name, r.country, "
        "NOT (m.status = 'revoked' AND m.reason IN (?, ?)), "
        "r.period, r.plan_version, r.first_month, r.last_month, r.contributions, "
        "r.mechanism, r.epsilon, r.budget_per_period, r.spent_in_period, r.created_hour, "
        "r.received_hour, r.region_vocabulary "
        "FROM statistics_releases r JOIN members m USING (node_id)",
        UNTRUSTED_REVOCATIONS)
    out = [StoredRelease(
        seq=row[0], release_id=row[1], node_id=row[2], organisation_name=row[3],
        country=row[4], counted=bool(row[5]), period=row[6], plan_version=row[7],
        first_month=row[8], last_month=row[9], contributions=row[10], mechanism=row[11],
        epsilon=row[12], budget_per_period=row[13], spent_in_period=row[14],
        created_hour=row[15], received_hour=row[16], tables=tuple(tables[row[1]]),
        region_vocabulary=row[17])
        for row in rows]
    return sorted(out, key=lambda r: r.order)

