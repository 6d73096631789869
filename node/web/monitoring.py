"""Health and metrics for the node's operator (issue 21): ``/healthz`` and ``/metrics``
(Prometheus text format 0.0.4), served on the staff address only, next to the staff office
(never on the public address unless the operator put the staff office there).

What the metrics say is the node's state in aggregate: reports by status, the federation
outbox's backlog, the age of the last evidence checkpoint and of each witness's last
cosignature, fork alarms, the statistics budget left, and requests counted by face, route
*pattern* and status class. No label ever holds a report id, a receipt, a person, an
address or anything typed: routes are the patterns (``/staff/cases/{report_id}``), never
the paths.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.typedefs import Middleware

from node.backoffice.audit import CustodyBroken
from node.context import NodeContext
from node.evidence import succession
from node.statistics.plan import ReleasePeriod
from node.web import appkeys

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class RequestCounts:
    """Requests answered, by (face, route pattern, status class), in memory: shared by the
    apps of one serving process so that the staff address's /metrics counts them all."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, str]] = Counter()

    def add(self, face: str, route: str, status: int) -> None:
        self.counts[(face, route, f"{status // 100}xx")] += 1


def _face(path: str) -> str:
    for prefix, face in (("/api/", "api"), ("/staff", "staff"), ("/expert", "expert")):
        if path.startswith(prefix):
            return face
    return "monitoring" if path in ("/healthz", "/metrics") else "public"


def _pattern(request: web.Request) -> str:
    match = request.match_info
    resource = match.route.resource if match.http_exception is None else None
    return resource.canonical if resource is not None else "unmatched"


def counting(counts: RequestCounts) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            counts.add(_face(request.path), _pattern(request), status)
    return middleware


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class _Text:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str,
               samples: list[tuple[dict[str, str], float]]) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for labels, value in samples:
            inner = ",".join(f'{k}="{_label(v)}"' for k, v in sorted(labels.items()))
            self.lines.append(f"{name}{{{inner}}} {value:g}" if inner else f"{name} {value:g}")


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (name,)).fetchone() is not None


def render(ctx: NodeContext, counts: RequestCounts, now: float) -> str:
    conn = ctx.db.read()
    out = _Text()
    out.metric("backup_up", "gauge", "1 while the node serves.", [({}, 1)])
    out.metric("backup_reports", "gauge", "Reports held, by case status (the triage queue is "
               "status new).", [({"status": s}, n) for s, n in conn.execute(
                   "SELECT status, COUNT(*) FROM reports GROUP BY status ORDER BY status")])
    outbox: list[tuple[dict[str, str], float]] = []
    oldest: list[tuple[dict[str, str], float]] = []
    if _has_table(conn, "transport_outbox"):
        outbox = [({"status": s}, n) for s, n in conn.execute(
            "SELECT status, COUNT(*) FROM transport_outbox WHERE status != 'delivered' "
            "GROUP BY status ORDER BY status")]
        first = conn.execute("SELECT MIN(enqueued_at) FROM transport_outbox "
                             "WHERE status = 'pending'").fetchone()[0]
        if first is not None:
            oldest = [({}, max(0.0, now - first))]
    out.metric("backup_outbox_messages", "gauge", "Federation messages not delivered yet "
               "(pending) or given up (failed).", outbox)
    out.metric("backup_outbox_oldest_pending_age_seconds", "gauge",
               "Age of the oldest message waiting in the federation outbox.", oldest)
    size, created = conn.execute("SELECT size, created_at FROM checkpoints ORDER BY size DESC "
                                 "LIMIT 1").fetchone() or (0, None)
    out.metric("backup_evidence_log_size", "gauge", "Leaves in the evidence log's latest "
               "checkpoint.", [({}, size)])
    out.metric("backup_checkpoint_age_seconds", "gauge", "Age of the evidence log's latest "
               "checkpoint.", [] if created is None else [({}, max(0.0, now - created))])
    out.metric("backup_witness_cosignature_age_seconds", "gauge", "Age of each witness's "
               "latest cosignature of this node's evidence log.", [
                   ({"witness": w}, max(0.0, now - at)) for w, at in conn.execute(
                       "SELECT witness, MAX(received_at) FROM federation_cosignatures "
                       "GROUP BY witness ORDER BY witness")])
    out.metric("backup_fork_alarms", "gauge", "Fork alarms raised (each is kept as evidence; "
               "any is a reason to act).", [({}, conn.execute(
                   "SELECT COUNT(*) FROM federation_alarms").fetchone()[0])])
    held = succession.hold(conn)
    out.metric("backup_evidence_signing_held", "gauge", "1 while a restored node signs no "
               "checkpoint: checking its witnesses (check), or they cosigned a larger tree "
               "than the backup held and an admin must start a successor log (halted).",
               [({"state": state}, int(held is not None and held.state == state))
                for state in ("check", "halted")])
    year = datetime.fromtimestamp(now, UTC).year
    budget = ctx.statistics.budget(ReleasePeriod(year))
    out.metric("backup_statistics_budget_remaining", "gauge", "Privacy loss (epsilon) this "
               "period's statistics releases may still spend.",
               [({"period": budget.period}, budget.remaining)])
    lifetime = ctx.statistics.lifetime()
    out.metric("backup_statistics_lifetime_highest_loss", "gauge", "The most privacy loss any "
               "one report has had through all releases (bounded by the lifetime loss).",
               [({}, lifetime.highest)])
    out.metric("backup_statistics_lifetime_loss_bound", "gauge", "The lifetime privacy-loss "
               "bound of one report.", [({}, lifetime.lifetime)])
    out.metric("backup_http_requests_total", "counter", "Requests answered, by face, route "
               "pattern and status class.", [
                   ({"face": f, "route": r, "status": s}, n)
                   for (f, r, s), n in sorted(counts.counts.items())])
    return "\n".join(out.lines) + "\n"


async def healthz(request: web.Request) -> web.StreamResponse:
    """200 when the database answers and the custody chain's head checks; 503 otherwise,
    with one word saying which (no detail: it is unauthenticated). A restored node that
    checks its witnesses says ``ok evidence-check``; one they showed a larger tree than
    its backup held, which signs nothing until an admin starts a successor log (issue 21),
    is ``evidence-halted`` (503), though it still accepts reports."""
    ctx = request.app[appkeys.CONTEXT]
    try:
        conn = ctx.db.read()
        conn.execute("SELECT 1").fetchone()
    except sqlite3.Error:
        return web.Response(status=503, text="database\n")
    try:
        ctx.audit.check(conn)
    except CustodyBroken:
        return web.Response(status=503, text="custody\n")
    held = succession.hold(conn)
    if held is not None and held.state == "halted":
        # reports are still accepted; the evidence log waits for an admin (issue 21)
        return web.Response(status=503, text="evidence-halted\n")
    text = "ok\n" if held is None else "ok evidence-check\n"
    return web.Response(text=text, headers={"Cache-Control": "no-store"})


async def metrics(request: web.Request) -> web.StreamResponse:
    ctx = request.app[appkeys.CONTEXT]
    text = render(ctx, request.app[appkeys.REQUEST_COUNTS], time.time())
    return web.Response(body=text.encode("utf-8"), headers={
        "Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
