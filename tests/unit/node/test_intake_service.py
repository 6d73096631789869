"""The intake service over a real SQLite file and real encrypted blobs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crypto.keys import DataKey
from node import accounts, errors, keyring
from node.context import NodeContext
from node.demo import tiny_png
from node.intake.models import AdditionInput, Consent, ReportInput
from tests import intake_views
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, CANARY, files_containing


def staff_key(ctx: NodeContext):  # type: ignore[no-untyped-def]
    return accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE).intake_key


def submit(ctx: NodeContext, **fields: object):  # type: ignore[no-untyped-def]
    key = DataKey.generate()
    files = []
    if fields.pop("with_file", False):
        w = ctx.intake.attachment_writer(key, ctx.intake.allowance(), f"{CANARY}.png")
        w.feed(tiny_png(3) + CANARY.encode())
        files.append(w.finish())
    return ctx.intake.submit(ReportInput(**fields), key, files, "test")  # type: ignore[arg-type]


def test_submit_open_read_round_trip(node_ctx: NodeContext) -> None:
    r = submit(node_ctx, narrative=f"{CANARY} story", region="R1", needs=["medical"],
               consent=Consent(care=True, statistics=True), with_file=True)
    access = node_ctx.intake.open_receipt(r.code_display, r.secret_display)
    view = node_ctx.intake.view_for_reporter(access)
    assert view.status == "new" and view.consent.care and not view.consent.legal
    assert view.record["narrative"] == f"{CANARY} story"
    staff = intake_views.read_report(node_ctx, staff_key(node_ctx), r.report_id)
    assert staff.record["region"] == "R1"
    meta, chunks = intake_views.open_attachment(node_ctx, staff_key(node_ctx), r.report_id,
                                                staff.items[0].id)
    assert b"".join(chunks) == tiny_png(3) + CANARY.encode()
    assert meta["sha256"] and meta["mime"] == "image/png"
    assert files_containing(node_ctx.datadir.root, CANARY.encode()) == []


def test_wrong_receipt_or_secret(node_ctx: NodeContext) -> None:
    r = submit(node_ctx, narrative="x")
    other = submit(node_ctx, narrative="y")
    with pytest.raises(errors.ReceiptRejected):
        node_ctx.intake.open_receipt(r.code, other.secret)
    with pytest.raises(errors.ReceiptFormat):
        node_ctx.intake.open_receipt("123", r.secret)
    with pytest.raises(errors.SecretFormat):
        node_ctx.intake.open_receipt(r.code, r.secret[:-1] + str((int(r.secret[-1]) + 1) % 10))


def test_validation(node_ctx: NodeContext) -> None:
    with pytest.raises(errors.EmptyReport):
        submit(node_ctx, consent=Consent(care=True))
    with pytest.raises(errors.UnknownChoice):
        submit(node_ctx, narrative="x", region="NOWHERE")
    with pytest.raises(errors.BadDate):
        submit(node_ctx, narrative="x", incident_year=2024, incident_month=2, incident_day=30)
    with pytest.raises(errors.BadDate):
        submit(node_ctx, narrative="x", incident_year=datetime.now(UTC).year + 1)
    with pytest.raises(errors.TextTooLong):
        submit(node_ctx, narrative="x" * 5001)
    assert intake_views.count_reports(node_ctx) == 0


def test_additions_consent_history_and_deletion(node_ctx: NodeContext) -> None:
    r = submit(node_ctx, narrative=f"{CANARY} first", with_file=True)
    access = node_ctx.intake.open_receipt(r.code, r.secret)
    node_ctx.intake.add_information(access, AdditionInput(text=f"{CANARY} later"), [])
    node_ctx.intake.change_consent(access, Consent(legal=True))
    view = node_ctx.intake.view_for_reporter(access)
    assert [i.kind for i in view.items] == ["attachment", "addition"]
    assert view.consent == Consent(legal=True)
    events = node_ctx.db.read().execute(
        "SELECT source, legal FROM consent_events WHERE report_id = ? ORDER BY id",
        (r.report_id,)).fetchall()
    assert [(e[0], e[1]) for e in events] == [("report", 0), ("reporter", 1)]

    blob_dir = node_ctx.datadir.blobs
    assert any(p.is_file() for p in blob_dir.rglob("*") if p.parent.name != "tmp")
    node_ctx.deletion.by_reporter(r.report_id)
    with pytest.raises(errors.ReceiptRejected):
        node_ctx.intake.open_receipt(r.code, r.secret)
    assert not [p for p in blob_dir.rglob("*") if p.is_file()]
    tomb = node_ctx.db.read().execute("SELECT reason FROM deletions").fetchall()
    assert [t[0] for t in tomb] == ["reporter request"]
    with pytest.raises(errors.ReportGone):
        node_ctx.intake.view_for_reporter(access)


def test_attachment_limits_and_types(node_ctx: NodeContext) -> None:
    key = DataKey.generate()
    allowance = node_ctx.intake.allowance()
    w = node_ctx.intake.attachment_writer(key, allowance, "x.exe")
    with pytest.raises(errors.FileTypeNotAllowed):
        w.feed(b"MZ" + b"\0" * 9000)
    w = node_ctx.intake.attachment_writer(key, allowance, "big.png")
    with pytest.raises(errors.FileTooLarge):
        for _ in range(40):
            w.feed(tiny_png(1) + b"\0" * 65536)
    w = node_ctx.intake.attachment_writer(key, allowance, "empty.txt")
    with pytest.raises(errors.EmptyFile):
        w.finish()
    assert not [p for p in node_ctx.datadir.blobs.rglob("*") if p.is_file()]
    for i in range(4):
        w = node_ctx.intake.attachment_writer(key, allowance, f"{i}.txt")
        w.feed(b"some text")
        w.finish()
    with pytest.raises(errors.TooManyFiles):
        node_ctx.intake.attachment_writer(key, allowance, "5.txt")


def test_recovery_key_opens_reports(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from crypto import passphrase as pw
    from node.context import init_node, open_node
    from node.datadir import DataDir
    from tests.conftest import test_config

    datadir = DataDir(tmp_path / "n")
    result = init_node(datadir, ADMIN, ADMIN_PASSPHRASE, test_config(),
                       pw.INSECURE_FAST_FOR_TESTS)
    ctx = open_node(datadir, receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        r = submit(ctx, narrative="after losing every passphrase")
        intake = keyring.open_with_recovery(ctx.db.read(), result.recovery_key)
        view = intake_views.read_report(ctx, intake, r.report_id)
        assert view.record["narrative"].startswith("after")
    finally:
        ctx.close()


def test_wrong_passphrase_fails_login(node_ctx: NodeContext) -> None:
    with pytest.raises(errors.LoginFailed):
        accounts.unlock(node_ctx.db.read(), ADMIN, "not the passphrase")
    with pytest.raises(errors.LoginFailed):
        accounts.unlock(node_ctx.db.read(), "nobody", ADMIN_PASSPHRASE)
