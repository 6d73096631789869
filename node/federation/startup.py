"""Starting the federation with the serving process (`node.server.running`), if configured.

Kept apart from `service` so that a standalone node never imports libp2p (about 0.5 s and
95 MiB). A federation that cannot start (its port taken, say) is logged and
shown on the staff federation page; the reporting site keeps running: reporters come first.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

from node.federation.status import FederationStatus

if TYPE_CHECKING:  # pragma: no cover - typing only
    from node.context import NodeContext
    from node.federation.service import FederationService

log = logging.getLogger("backup.federation")


async def start_federation(ctx: NodeContext, status: FederationStatus
                           ) -> FederationService | None:
    config = ctx.config.federation
    if config is None:
        return None
    from node.federation.service import FederationService
    from runtime.logs import adopt_library_loggers
    from transport.errors import TransportError

    # importing libp2p (above) gave its logger propagate=False: route it through our
    # address-redacting handler, or its peer addresses would reach stderr unfiltered
    adopt_library_loggers(logging.getLogger().getEffectiveLevel())

    service = FederationService(ctx.db, ctx.keys, config,
                                clock=lambda: int(ctx.clock().timestamp()), status=status,
                                experts=ctx.config.expert_app.enabled,
                                mail=ctx.config.expert_app.mail, shares=ctx.shares,
                                matching=ctx.perpetrators.queue,
                                opinions=ctx.opinions,
                                threads=ctx.threads)
    try:
        await service.start()
    except (TransportError, OSError, sqlite3.Error) as exc:
        log.error("federation not started (%s): the node runs standalone until restarted",
                  status.error or type(exc).__name__)
        return None
    status.send_statistics = service.send_statistics
    status.wake = service.wake
    return service
