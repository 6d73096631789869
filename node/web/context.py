"""Everything a running node's handlers need, built once from the data directory."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from crypto import passphrase as pw
from node import config as node_config
from node import keyring
from node.backoffice.audit import AuditLog
from node.backoffice.cases import CaseService
from node.datadir import DataDir
from node.i18n import Catalogues
from node.intake.service import Clock, IntakeService, utc_now
from node.statistics.service import StatisticsService
from node.storage.blobstore import BlobStore
from node.storage.database import Database

T = TypeVar("T")


@dataclass
class NodeContext:
    datadir: DataDir
    config: node_config.NodeConfig
    db: Database
    blobs: BlobStore
    keys: keyring.NodeKeys
    intake: IntakeService
    cases: CaseService
    statistics: StatisticsService
    catalogues: Catalogues
    staff_params: pw.KdfParams
    audit: AuditLog
    clock: Clock
    executor: concurrent.futures.ThreadPoolExecutor = field(repr=False)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=False)
        self.db.close()


def open_node(datadir: DataDir, *, staff_params: pw.KdfParams = pw.STAFF,
              receipt_params: pw.KdfParams = pw.RECEIPT, clock: Clock = utc_now,
              workers: int = 4) -> NodeContext:
    """Open an initialised node: configuration, database, keys, services."""
    if not datadir.is_initialised():
        raise FileNotFoundError(f"{datadir.root} is not a node; run `backup-node init` first")
    cfg = node_config.load(datadir.config)
    db = Database(datadir.database)
    blobs = BlobStore(datadir.blobs)
    keys = keyring.load(datadir, db)
    intake = IntakeService(db, blobs, cfg, keys, receipt_params, clock)
    audit = AuditLog(keys.identity)
    cases = CaseService(db, intake, cfg, keys, audit, clock)
    statistics = StatisticsService(db, cfg, keys, audit, clock)
    return NodeContext(
        datadir=datadir, config=cfg, db=db, blobs=blobs, keys=keys, intake=intake, cases=cases,
        statistics=statistics,
        catalogues=Catalogues(cfg.languages), staff_params=staff_params,
        audit=audit, clock=clock,
        executor=concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="node"))


def sweep_orphan_blobs(db: Database, blobs: BlobStore) -> int:
    """Delete encrypted files no report refers to: drafts abandoned when the server stopped
    (their key lived only in its memory, so they were unreadable already) and half-written
    temporary files. Only the serving process may call this, at start, before it accepts
    uploads: another process would see a live draft's files as orphans."""
    blobs.sweep_temporary()
    known = {r[0] for r in db.read().execute(
        "SELECT blob_name FROM report_items WHERE blob_name IS NOT NULL")}
    orphans = blobs.names() - known
    for name in orphans:
        blobs.delete(name)
    return len(orphans)


async def run_sync(ctx: NodeContext, fn: Callable[..., T], *args: object) -> T:
    """Run blocking service code (SQLite, Argon2id, fsync) off the event loop."""
    import asyncio

    return await asyncio.get_running_loop().run_in_executor(ctx.executor, fn, *args)
