"""The node's composition root: everything a running node needs, built once from the data
directory and passed in.

No globals: the CLI, the serving process (`node.server`), the web apps and the tests each get
a `NodeContext` from `open_node` (after `init_node` created the node) and close it. Nothing
here knows about HTTP or libp2p; the serving process adds those around it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from crypto import passphrase as pw
from node import config as node_config
from node import keyring
from node.accounts import check_passphrase, check_username
from node.analysis import case_suggestions
from node.analysis.adapted import AdaptedModels
from node.backoffice import audit_rewrite, inbox
from node.backoffice.audit import AuditLog
from node.backoffice.case_access import CaseAccess
from node.backoffice.case_incidents import CaseIncidents
from node.backoffice.cases import CaseReader
from node.backoffice.conversations import Conversations
from node.backoffice.custody import Custody
from node.backoffice.deletion import Deletion, DerivedStore
from node.backoffice.ledger import CaseLedger
from node.backoffice.referrals import Referrals
from node.backoffice.retention import Retention
from node.backoffice.timeline import CaseTimeline
from node.backups import keys as backup_keys
from node.bundles.export import BundleExporter
from node.channels import sms_pins
from node.datadir import DataDir
from node.experts import needs
from node.experts.opinions import CaseOpinions
from node.experts.shares import Shares
from node.experts.threads import Threads
from node.i18n import Catalogues
from node.imports import importer
from node.intake import consent_auth
from node.intake.service import Clock, IntakeService, hour_of, utc_now
from node.matching import introductions
from node.matching.identifiers import PerpetratorIdentifiers
from node.statistics import four_eyes, geography_upgrade
from node.statistics.budget import void_drafts_for_coding
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
    case_access: CaseAccess
    cases: CaseReader
    timeline: CaseTimeline
    conversations: Conversations
    referrals: Referrals
    incidents: CaseIncidents
    retention: Retention
    deletion: Deletion
    custody: Custody
    perpetrators: PerpetratorIdentifiers  # issue 18
    bundles: BundleExporter
    statistics: StatisticsService
    shares: Shares  # consented case sharing with vetted experts (issue 16)
    opinions: CaseOpinions  # experts' signed opinions received for cases (issue 16)
    threads: Threads  # end-to-end encrypted threads of the expert network (issue 16)
    catalogues: Catalogues
    staff_params: pw.KdfParams
    audit: AuditLog
    clock: Clock
    executor: concurrent.futures.ThreadPoolExecutor = field(repr=False)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=False)
        self.db.close()


def init_node(datadir: DataDir, admin: str, passphrase: str, config_text: str,
              staff_params: pw.KdfParams = pw.STAFF) -> keyring.InitResult:
    """Create a node in `datadir`: data directory, configuration file, database, keys and
    the first admin account. Refuses a bad username (`accounts.BadUsername`), a weak
    passphrase (`accounts.WeakPassphrase`) or a bad configuration (`config.ConfigError`)
    before anything is written."""
    admin = check_username(admin)
    check_passphrase(passphrase)
    node_config.parse(tomllib.loads(config_text))  # refuse to create a node with a bad config
    datadir.create()
    if not datadir.config.exists():
        datadir.config.write_text(config_text, encoding="utf-8")
    db = Database(datadir.database)
    try:
        result = keyring.initialise(datadir, db, admin, passphrase, staff_params,
                                    hour_of(utc_now()))
        with db.write() as conn:  # keys/consent.key exists from the start, to be backed up
            consent_auth.load(datadir.keys, conn)
        consent_auth.finish(datadir.keys)
        return result
    finally:
        db.close()


def open_node(datadir: DataDir, *, staff_params: pw.KdfParams = pw.STAFF,
              receipt_params: pw.KdfParams = pw.RECEIPT, clock: Clock = utc_now,
              workers: int = 4) -> NodeContext:
    """Open an initialised node: configuration, database, keys, services."""
    if not datadir.is_initialised():
        raise FileNotFoundError(f"{datadir.root} is not a node; run `backup-node init` first")
    cfg = node_config.load(datadir.config)
    # issue 20: every configured language's catalogue is read and checked before anything
    # opens, so a malformed one stops the node here, naming its file and line
    folder = datadir.root / cfg.catalogues_dir if cfg.catalogues_dir else None
    catalogues = Catalogues(cfg.languages, folder)
    db = Database(datadir.database)
    blobs = BlobStore(datadir.blobs)
    keys = keyring.load(datadir, db)
    audit = keyring.custody_log(keys)
    audit_rewrite.apply_pending(db, audit, int(clock().timestamp()))
    keyring.disable_uncertified(db, keys, audit, int(clock().timestamp()))
    geography_upgrade.apply_pending(db, audit, int(clock().timestamp()))  # issue 14
    four_eyes.record_setting(db, audit, int(clock().timestamp()),  # issue 15
                             cfg.statistics_approval.four_eyes)
    with db.write() as conn:
        consent = consent_auth.load(datadir.keys, conn)
        backup_keys.ensure_if_possible(conn, keys.certifier)  # issue 21: at init or upgrade
    consent_auth.finish(datadir.keys)
    intake = IntakeService(db, blobs, cfg, keys, receipt_params, clock, consent=consent)
    sms_pins.record_pending_consents(db, intake, hour_of(clock()))  # migration 31, issue 19
    ledger = CaseLedger(db, audit, clock)
    access = CaseAccess(db, ledger, consent)
    timeline = CaseTimeline(db, access, ledger)
    conversations = Conversations(db, access, ledger)
    referrals = Referrals(db, access, ledger, cfg.services)
    incidents = CaseIncidents(db, access, ledger, cfg, keys.analysis_public)
    statistics = StatisticsService(db, cfg, keys, audit, clock, consent=consent)
    # a coding edited, withdrawn, linked or unlinked voids the pending drafts that counted
    # its reports (issue 15; releases already sent stay as they are)
    incidents.coding_changed.append(void_drafts_for_coding)
    access.after_rotation.append(incidents.rekey_after_rotation)  # issue 13
    shares = Shares(db, audit, access, intake, consent, node_id=keys.node_id,
                    clock=lambda: int(clock().timestamp()))
    threads = Threads(db, audit, node_id=keys.node_id, clock=lambda: int(clock().timestamp()))
    perpetrators = PerpetratorIdentifiers(access, ledger)  # issue 18
    opinions = CaseOpinions(db, audit, access, observatory_key=(
        cfg.federation.observatory_identity_key if cfg.federation is not None else None),
        clock=lambda: int(clock().timestamp()))
    # Every store derived from a report, erased by the one deletion path.
    deletion = Deletion(db, audit, clock, [
        *statistics.derived_stores, *incidents.derived_stores, *intake.derived_stores,
        *access.derived_stores, *timeline.derived_stores, *conversations.derived_stores,
        *referrals.derived_stores, *shares.derived_stores, *threads.derived_stores,
        *inbox.DERIVED_STORES,
        *needs.DERIVED_STORES,
        *AdaptedModels(db, keys.intake_public, keys.analysis_public, lambda: 0).derived_stores,
        case_suggestions.DERIVED_STORE, importer.DERIVED_STORE, sms_pins.DERIVED_STORE,
        *perpetrators.derived_stores, *opinions.derived_stores,
        DerivedStore("matching introductions", introductions.erase)],
        keys.intake_public)
    retention = Retention(db, ledger, deletion)
    cases = CaseReader(db, intake, access, ledger, timeline, conversations, referrals,
                       incidents, retention)
    return NodeContext(
        datadir=datadir, config=cfg, db=db, blobs=blobs, keys=keys, intake=intake,
        case_access=access, cases=cases, timeline=timeline, conversations=conversations,
        referrals=referrals, incidents=incidents, retention=retention, deletion=deletion,
        custody=Custody(db, access, ledger), perpetrators=perpetrators,
        bundles=BundleExporter(db, access, intake, keys, audit, clock, opinions=opinions),
        statistics=statistics, shares=shares, opinions=opinions, threads=threads,
        catalogues=catalogues, staff_params=staff_params,
        audit=audit, clock=clock,
        executor=concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="node"))


async def run_sync(ctx: NodeContext, fn: Callable[..., T], *args: object) -> T:
    """Run blocking service code (SQLite, Argon2id, fsync) off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(ctx.executor, fn, *args)
