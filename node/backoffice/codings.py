"""Every incident coding opened for analysis (`open_codings`): decrypted with the analysis
key, authenticated, validated and read into arrays, a chunk at a time in worker threads,
with the reports each is linked to and whether they all consent to statistics.

Statistics releases (node/statistics/service.py) and the analysts' list of codings read
them this way. Coding and linking incidents on a case is case work
(`node.backoffice.case_incidents.CaseIncidents.code` stores each coding under its own data
key, sealed to the analysis key).
"""

from __future__ import annotations

import os
import sqlite3
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import chain
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from crypto.keys import BoxSecretKey
from node import errors
from node.accounts import ANALYSIS_KEY, UnlockedStaff
from node.backoffice.access import Action, require, require_node_key
from node.backoffice.incidents import IncidentCoding
from node.backoffice.ledger import aead_context
from node.intake.consent_auth import ConsentKey, StatisticsConsentUnverified
from node.statistics.columns import CHUNK, ChunkCoder, Coded, CodedChunk, CodedIncidents
from node.storage.database import Database

_CODING_WORKERS = 8  # threads opening codings, at most one per core available

# An incident to open: its id, sealed key, coding ciphertext, linked reports and consent.
_Sealed = tuple[str, bytes, bytes, list[str], bool]


@dataclass(frozen=True)
class IncidentRow:
    id: str
    coding: IncidentCoding
    report_ids: list[str]
    statistics_consent: bool


def open_codings(db: Database, staff: UnlockedStaff, *, statistics_only: bool = True,
                 consent: ConsentKey | None = None) -> list[IncidentRow]:
    """De-identified incident codings for analysis, opened with the analysis key.
    Only incidents whose every linked report consents to statistics, by default.

    Every coding is opened with its own sealed data key, authenticated (AEAD, bound to
    its incident id) and validated by the full `IncidentCoding` model, as before; a
    coding that fails any of these raises. Large sets are opened in worker threads,
    a few thousand incidents per task (libsodium and SQLite release the GIL), in the
    same order. The list returned is a `CodedIncidents`: it also carries the codings
    as numpy arrays, read chunk by chunk right after decoding (node/statistics/
    columns.py), so that a statistics release need not read a million Python objects
    again. With `consent` (the statistics service always passes it), every report
    counted as consenting must have a consent tag that verifies, else
    `StatisticsConsentUnverified` (fail closed: no release on altered consent)."""
    require(staff.member, Action.VIEW_CODINGS)
    conn = db.read()
    require_node_key(conn, staff, ANALYSIS_KEY)
    if staff.analysis_key is None:  # for the type checker: require_node_key raised
        raise errors.Forbidden()
    own = not conn.in_transaction  # one snapshot for consent, links and codings
    if own:
        conn.execute("BEGIN")
    try:
        links = _coding_links(conn)
        if consent is not None:
            # the statistics consent read above counts only once its tag verifies, in the
            # same snapshot (issue 13): an altered record refuses the whole run
            granting = set(links.numbers) - links.refusing
            altered = consent.unverified_reports(conn, granting)
            if altered:
                raise StatisticsConsentUnverified(count=len(altered))
        cursor = conn.cursor()
        cursor.row_factory = None  # plain tuples: a million sqlite3.Row cost seconds
        # a withdrawn coding is no longer what the coders say: nothing counts it
        cursor.execute("SELECT id, sealed_key, coding_ct FROM incidents WHERE withdrawn = 0"
                       " ORDER BY created_at")
        return _open_batches(staff.analysis_key, links.numbers,
                             _coding_batches(cursor, links, statistics_only))
    finally:
        if own:
            conn.execute("COMMIT")


class _Links(NamedTuple):
    reports: dict[str, list[str]]  # incident -> the reports linked to it
    refused: set[str]              # incidents linked to a report without consent
    numbers: dict[str, int]        # report -> its number (equal exactly when it is)
    refusing: set[str]             # reports without consent


def _coding_links(conn: sqlite3.Connection) -> _Links:
    """Which reports each incident is linked to, and which incidents have a report
    that does not consent to statistics. Two scans joined in dicts (faster than
    SQLite's join, a B-tree lookup per link), one list allocated per incident."""
    cursor = conn.cursor()
    cursor.row_factory = None
    numbers: dict[str, int] = {}
    refusing: set[str] = set()
    for report_id, consent in cursor.execute("SELECT id, consent_statistics FROM reports"):
        numbers[report_id] = len(numbers)
        if not consent:
            refusing.add(report_id)
    reports: dict[str, list[str]] = {}
    refused: set[str] = set()
    for incident_id, report_id in cursor.execute(
            "SELECT incident_id, report_id FROM incident_links"):
        if report_id not in numbers:  # as an inner join: a link to no report is none
            continue
        linked = reports.get(incident_id)
        if linked is None:
            reports[incident_id] = [report_id]
        else:
            linked.append(report_id)
        if report_id in refusing:
            refused.add(incident_id)
    return _Links(reports, refused, numbers, refusing)


def _coding_batches(cursor: sqlite3.Cursor, links: _Links, statistics_only: bool
                    ) -> Iterator[list[_Sealed]]:
    """The incidents to open, `CHUNK` at a time, with their reports and consent."""
    batch = []
    for incident_id, sealed_key, coding_ct in cursor:
        reports = links.reports.get(incident_id, [])
        consent = bool(reports) and incident_id not in links.refused
        if statistics_only and not consent:
            continue
        batch.append((incident_id, sealed_key, coding_ct, reports, consent))
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


class _Opened(NamedTuple):
    rows: list[IncidentRow]
    ids: list[str]
    chunk: CodedChunk
    lengths: npt.NDArray[np.int64]  # per incident: its links
    reports: npt.NDArray[np.int64]  # per link: the report's number


def _open_batch(key: BoxSecretKey, coder: ChunkCoder, numbers: dict[str, int],
                batch: list[_Sealed]) -> _Opened:
    """Decrypt, authenticate and validate a batch of codings (raises on any failure),
    then read them into arrays while they are in the CPU cache."""
    codings = [IncidentCoding.model_validate_json(key.open_data_key(sealed_key).decrypt(
        coding_ct, aead_context("incident", incident_id)))
        for incident_id, sealed_key, coding_ct, _, _ in batch]
    rows = [IncidentRow(b[0], coding, b[3], b[4])
            for b, coding in zip(batch, codings, strict=True)]
    lengths = np.fromiter((len(b[3]) for b in batch), dtype=np.int64, count=len(batch))
    reports = np.fromiter(map(numbers.__getitem__, chain.from_iterable(b[3] for b in batch)),
                          dtype=np.int64, count=int(lengths.sum()))
    return _Opened(rows, [b[0] for b in batch], coder(codings), lengths, reports)


def _open_batches(key: BoxSecretKey, numbers: dict[str, int],
                  batches: Iterator[list[_Sealed]]) -> CodedIncidents:
    coder = ChunkCoder()
    opened: list[_Opened] = []
    first = next(batches, None)
    second = None if first is None else next(batches, None)
    if first is not None and second is None:  # one batch: no threads
        opened.append(_open_batch(key, coder, numbers, first))
    elif first is not None and second is not None:
        cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                 else os.cpu_count() or 1)
        workers = max(1, min(_CODING_WORKERS, cores))
        pool = ThreadPoolExecutor(workers, thread_name_prefix="codings")
        pending: deque[Future[_Opened]] = deque()
        try:
            for batch in chain((first, second), batches):
                pending.append(pool.submit(_open_batch, key, coder, numbers, batch))
                if len(pending) > 2 * workers:  # bounded: not every ciphertext at once
                    opened.append(pending.popleft().result())
            while pending:
                opened.append(pending.popleft().result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    empty = np.zeros(0, dtype=np.int64)
    columns = Coded.join(
        list(chain.from_iterable(o.ids for o in opened)), [o.chunk for o in opened],
        np.concatenate([o.lengths for o in opened]) if opened else empty,
        np.concatenate([o.reports for o in opened]) if opened else empty, list(numbers))
    return CodedIncidents(chain.from_iterable(o.rows for o in opened), columns)
