"""Reading stored reports with the intake key alone, as the intake tests check what was
stored (the node's staff read them through `node.backoffice.cases.CaseReader`, which
checks access and writes the chain of custody)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crypto.keys import BoxSecretKey
from node.context import NodeContext
from node.intake.service import ReportView


def list_reports(ctx: NodeContext, intake_key: BoxSecretKey) -> list[ReportView]:
    """Every report, newest first, without items."""
    rows = ctx.db.read().execute(
        "SELECT * FROM reports ORDER BY received_hour DESC, id").fetchall()
    return [ctx.intake.view_row(r, intake_key.open_data_key(r["sealed_key"])) for r in rows]


def read_report(ctx: NodeContext, intake_key: BoxSecretKey, report_id: str) -> ReportView:
    """One report with its items."""
    sealed = ctx.db.read().execute("SELECT sealed_key FROM reports WHERE id = ?",
                                   (report_id,)).fetchone()[0]
    return ctx.intake.view_with_key(report_id, intake_key.open_data_key(sealed))


def open_attachment(ctx: NodeContext, intake_key: BoxSecretKey, report_id: str, item_id: str
                    ) -> tuple[dict[str, Any], Iterator[bytes]]:
    sealed = ctx.db.read().execute("SELECT sealed_key FROM reports WHERE id = ?",
                                   (report_id,)).fetchone()[0]
    return ctx.intake.open_attachment_with_key(intake_key.open_data_key(sealed), report_id,
                                               item_id)


def count_reports(ctx: NodeContext) -> int:
    n: int = ctx.db.read().execute("SELECT COUNT(*) FROM reports").fetchone()[0]
    return n
