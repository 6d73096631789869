"""The staff federation page (admins, `Action.VIEW_FEDERATION`): is this node a member, what
waits in the outbox and why, who witnesses its evidence log, whose logs it witnesses, and fork
alarms with both signed notes.

Everything is read from the database (node ids, sizes, signed notes, short codes: no report
data), plus the running service's state shared through `appkeys.FEDERATION_STATUS`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from node.backoffice.access import Action
from node.context import NodeContext, run_sync
from node.evidence import checkpoints, succession
from node.federation import store
from node.federation.config import FederationConfig
from node.web.appkeys import FEDERATION_STATUS, node
from node.web.staff.common import StaffRoute, page, session_of


def _when(ts: float | int | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class CertificateView:
    serial: str
    not_before: str
    not_after: str
    valid: bool
    problem: str | None


def _certificate(membership: store.Membership | None, config: FederationConfig,
                 now: int) -> CertificateView | None:
    if membership is None or membership.certificate is None:
        return None
    from protocol.errors import EnvelopeRejected
    from protocol.statements import verify_key_from_hex

    cert = membership.certificate
    problem = None
    try:
        cert.verify(issuer_key=verify_key_from_hex(config.observatory_identity_key), now=now)
    except EnvelopeRejected as exc:
        problem = exc.reason
    return CertificateView(cert.body.serial, _when(cert.body.not_before),
                           _when(cert.body.not_after), problem is None, problem)


def _outbox(ctx: NodeContext) -> tuple[list[Any], list[Any]]:
    """The outbox is only read here; the serving process's service delivers it."""
    from transport.queue import OutboxQueue

    queue = OutboxQueue(ctx.db)
    try:
        return queue.pending(), queue.failed()[:20]
    except sqlite3.OperationalError:  # the service never ran: no outbox table yet
        return [], []


def _load(ctx: NodeContext, config: FederationConfig, now: int) -> dict[str, Any]:
    conn = ctx.db.read()
    observatory = config.observatory_node_id
    membership = store.membership(conn, observatory)
    listed = store.membership_list(conn, observatory)
    pending, failed = _outbox(ctx)
    latest = checkpoints.latest_checkpoint(conn)
    names: dict[str, str] = {}
    members: list[Any] = []
    if listed is not None:
        members = list(listed.signed.body.members)
        names.update({m.node_id: m.organisation_name for m in members})
    witnesses = {w.witness: w for w in store.witnesses_of_ours(conn)}
    expected = [observatory, *[p.node_id for p in config.peer_witnesses]]
    ours = [{"node_id": w, "name": names.get(w, ""),
             "member": w == observatory or w in names,
             "state": witnesses.get(w)} for w in expected]
    ours += [{"node_id": w, "name": names.get(w, ""), "member": w in names, "state": s}
             for w, s in witnesses.items() if w not in expected]
    return {
        "membership": membership,
        "certificate": _certificate(membership, config, now),
        "listed": listed,
        "list_expired": listed is not None and now >= listed.signed.body.expires,
        "members": members,
        "names": names,
        "pending": pending,
        "failed": failed,
        "latest_size": None if latest is None else latest.size,
        "cosigned": store.cosigned_sizes(conn),
        "ours": ours,
        "theirs": store.witnessed_logs(conn),
        "alarms": store.alarms(conn),
    }


async def federation_page(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    config = ctx.config.federation
    service = request.config_dict[FEDERATION_STATUS]
    if config is not None:
        data = await run_sync(ctx, _load, ctx, config, int(ctx.clock().timestamp()))
    else:  # alarms stay visible after the [federation] section was removed
        data = await run_sync(ctx, lambda: {"alarms": store.alarms(ctx.db.read())})
    data["hold"] = await run_sync(ctx, lambda: succession.hold(ctx.db.read()))  # issue 21
    return page(request, "staff/federation.html", session_of(request), federation=config,
                service=service, when=_when, node_id=ctx.keys.node_id, **data)


ROUTES: list[StaffRoute] = [
    StaffRoute("GET", "/federation", federation_page, "staff_federation",
               Action.VIEW_FEDERATION),
]
