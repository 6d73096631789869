"""Background work of the serving process, started and stopped by `node.server.running`.

Every 15 minutes, whatever happened: anchor the custody head in the evidence log and sign
a checkpoint over it (`node.evidence.signing.anchor_and_sign`), tell the federation so
that its witnesses cosign it, and have a timestamping authority stamp new checkpoints (when
one is configured). Every hour: delete the cases whose retention ended. Failures are logged
by kind only (never case content) and the loop carries on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from node.context import NodeContext, run_sync
from node.evidence.signing import ANCHOR_SECONDS, anchor_and_sign, sign_if_grown

if TYPE_CHECKING:  # pragma: no cover - typing only
    from node.federation.service import FederationService

log = logging.getLogger("backup.node")

RETENTION_SWEEP_SECONDS = 3600
# a custody anchor and a checkpoint at a fixed cadence (issue 13, `node.evidence.signing`)
CHECKPOINT_SECONDS = ANCHOR_SECONDS


def _now(ctx: NodeContext) -> int:
    return int(ctx.clock().timestamp())


async def run_periodic(ctx: NodeContext, federation: FederationService | None = None) -> None:
    """Run until cancelled: checkpoints (every `CHECKPOINT_SECONDS`), their witnesses and
    timestamps, the retention sweep (once at start, then every
    `RETENTION_SWEEP_SECONDS`), and a shredding checkpoint left pending."""
    # imported here: RFC 3161 parsing is only needed once the process serves
    from node.evidence.timestamping import timestamp_pending

    elapsed = RETENTION_SWEEP_SECONDS  # sweep once at start
    started = True
    while True:
        try:
            # At start, only what grew while no process signed; then the fixed cadence,
            # so that a restart is not itself a checkpoint the witnesses see.
            signed = await (run_sync(ctx, sign_if_grown, ctx.db, ctx.keys, _now(ctx))
                            if started else
                            run_sync(ctx, anchor_and_sign, ctx.db, ctx.keys, ctx.audit,
                                     _now(ctx)))
            started = False
            if signed is not None and federation is not None:
                federation.checkpoint_signed()
            # RFC 3161 timestamps of new checkpoints, when an authority is configured
            await timestamp_pending(ctx.db, ctx.config.timestamping, _now(ctx))
            # a deletion's shredding checkpoint a reader held up (node.storage.database)
            await run_sync(ctx, ctx.db.retry_pending_checkpoint)
            if elapsed >= RETENTION_SWEEP_SECONDS:
                elapsed = 0
                deleted = await run_sync(ctx, ctx.retention.sweep)
                if deleted:
                    log.info("retention: %d case(s) deleted", len(deleted))
        except Exception as exc:  # noqa: BLE001 -- keep going; never log case content
            log.error("background task failed: %s", type(exc).__name__)
        await asyncio.sleep(CHECKPOINT_SECONDS)
        elapsed += CHECKPOINT_SECONDS
