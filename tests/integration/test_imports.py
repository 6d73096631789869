"""`backup-node import` (issue 19): KoboToolbox and ODK Central exports, written here in the
formats the tools document, imported through the real command into a real node, then
imported again with no new report; dry run, consent, evidence, erasure and bad input."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto import passphrase as pw
from node import errors
from node.backoffice.access import Action
from node.cli import main
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.demo import tiny_png
from node.evidence import items as evidence
from node.imports import formats, mapping
from node.imports.importer import Importer, open_original
from tests.conftest import CANARY, files_containing
from tests.team import Team, make_team

KOBO_UUIDS = ["7d1c1c8e-5a0b-4c1e-9f5e-1b2a3c4d5e01", "7d1c1c8e-5a0b-4c1e-9f5e-1b2a3c4d5e02"]
MAPPING = """\
attachments = ["evidence-photo"]

[fields]
reporter_role = "respondent/role"
narrative = ["incident/what_happened", "incident/anything_else"]
incident_year = "incident/year"
region = "incident/region"
needs = "help/needs"

[choices.reporter_role]
victim = "survivor"
[choices.needs]
health = "medical"

[consent]
care = "consent/help_me"
statistics = "consent/count_it"
"""
ODK_MAPPING = MAPPING.replace("/", "-")


def kobo_export(root: Path) -> Path:
    """An export as KoboToolbox's API v2 returns it, with its attachments folder."""
    results = []
    for n, uuid in enumerate(KOBO_UUIDS, start=1):
        photo = f"photo{n}.png"
        folder = root / "attachments" / uuid
        folder.mkdir(parents=True)
        (folder / photo).write_bytes(tiny_png(n) + CANARY.encode())
        results.append({
            "_id": 1000 + n, "_uuid": uuid, "formhub/uuid": "f" * 32,
            "_submission_time": f"2026-11-0{n}T10:15:00", "_status": "submitted_via_web",
            "start": "2026-11-01T10:00:00.000+01:00", "meta/instanceID": f"uuid:{uuid}",
            "respondent/role": "victim", "incident/what_happened": f"{CANARY} testimony {n}",
            "incident/anything_else": "", "incident/year": "2025", "incident/region": "R1",
            "help/needs": "health legal", "consent/help_me": "yes", "consent/count_it": "no",
            "consent/share_it": "yes",  # asked, but not mapped: not given
            "_attachments": [{
                "download_url": f"https://kf.kobotoolbox.org/media/original?media_file=x/{photo}",
                "filename": f"someone/attachments/{'f' * 32}/{uuid}/{photo}",
                "mimetype": "image/png", "question_xpath": "evidence/photo",
                "media_file_basename": photo, "instance": 1000 + n, "id": 50 + n}],
            "_geolocation": [None, None], "_tags": [], "_notes": [],
            "_validation_status": {}, "_submitted_by": None})
    path = root / "kobo.json"
    path.write_text(json.dumps({"count": len(results), "next": None, "previous": None,
                                "results": results}))
    return path


def odk_export(root: Path) -> Path:
    """ODK Central's submissions CSV with its media folder."""
    header = ["SubmissionDate", "start", "respondent-role", "incident-what_happened",
              "incident-anything_else", "incident-year", "incident-region", "help-needs",
              "consent-help_me", "consent-count_it", "evidence-photo", "meta-instanceID",
              "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
              "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits",
              "FormVersion"]
    (root / "media").mkdir(parents=True)
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header)
    for n in (1, 2, 3):
        uuid = f"uuid:0b1e6b4c-3d2a-4f5e-8a9b-00000000000{n}"
        photo = f"1700000000{n}.png"
        (root / "media" / photo).write_bytes(tiny_png(n) + CANARY.encode())
        w.writerow([f"2026-11-0{n}T09:00:00.000Z", "2026-11-01T08:00:00.000Z", "victim",
                    f"{CANARY}, with a comma and\na new line {n}", "", "2024", "R2",
                    "health", "yes", "yes", photo, uuid, uuid, "5", "collector", "1", "1",
                    "", "received", "collect:abc", "0", "v1"])
    path = root / "odk.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


@pytest.fixture
def node_path(node_dir: DataDir) -> Path:
    return node_dir.root


def open_ctx(root: Path) -> NodeContext:
    return open_node(DataDir(root), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                     receipt_params=pw.INSECURE_FAST_FOR_TESTS)


@pytest.fixture
def ctx_team(node_path: Path) -> Iterator[tuple[NodeContext, Team]]:
    ctx = open_ctx(node_path)
    yield ctx, make_team(ctx)
    ctx.close()


def run(node: Path, source: str, export: Path, *extra: str) -> int:
    return main(["import", "--data", str(node), "--from", source, str(export), *extra])


def report_ids(ctx: NodeContext) -> set[str]:
    return {r[0] for r in ctx.db.read().execute("SELECT id FROM reports")}


@pytest.mark.parametrize("source", ["kobo", "odk"])
def test_import_twice_creates_nothing_new(tmp_path: Path, node_path: Path, source: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    export = kobo_export(tmp_path) if source == "kobo" else odk_export(tmp_path)
    mapping_file = tmp_path / "map.toml"
    mapping_file.write_text(MAPPING if source == "kobo" else ODK_MAPPING)
    expected = 2 if source == "kobo" else 3
    assert run(node_path, source, export, "--mapping", str(mapping_file)) == 0
    assert f"imported {expected} report(s); 0 already imported" in capsys.readouterr().out
    assert run(node_path, source, export, "--mapping", str(mapping_file)) == 0
    assert f"imported 0 report(s); {expected} already imported" in capsys.readouterr().out

    ctx = open_ctx(node_path)
    try:
        team = make_team(ctx)
        ids = report_ids(ctx)
        assert len(ids) == expected
        for report_id in ids:
            case = ctx.cases.read(team.coordinator, report_id)
            record = case.report.record
            assert record["channel"] == f"import:{source}"
            assert record["reporter_role"] == "survivor" and record["incident_year"] > 2000
            assert CANARY in record["narrative"]
            assert record["collected_at"].startswith("2026-11-0")
            assert "medical" in record["needs"]
            # mapped consents as answered; the unmapped one is not given
            assert case.report.consent.care
            assert case.report.consent.statistics == (source == "odk")
            assert not case.report.consent.sharing and not case.report.consent.legal
            # its chain of custody starts with the import and its channel
            assert [tuple(r) for r in ctx.db.read().execute(
                "SELECT actor, detail FROM audit_log WHERE action = 'case.import'"
                " AND object_type = 'report' AND object_id = ?", (report_id,)
            ).fetchall()] == [("import", f"import:{source}")]
            history = ctx.intake.consent_history(report_id)
            assert [h["source"] for h in history] == ["import"]
            # the attachment byte for byte, and its evidence leaf commits to those bytes
            [item] = case.report.items
            _meta, body = ctx.cases.open_attachment(team.coordinator, report_id, item.id)
            assert body.startswith(b"\x89PNG") and body.endswith(CANARY.encode())
            assert item.meta["evidence"]["version"] == 2
            record_ = evidence.record_from_json(item.meta["evidence"])
            assert record_.value("file.sha256") == hashlib.sha256(body).hexdigest()
            # the original submission, kept encrypted
            key = ctx.case_access.open_case(team.coordinator, Action.READ_CASE, report_id)
            original = open_original(ctx.db.read(), report_id, key)
            assert original is not None and CANARY.encode() in original
        # no plaintext anywhere under the data directory: not the answers, not the UUIDs
        assert files_containing(node_path, CANARY.encode()) == []
        for uuid in [*KOBO_UUIDS, "0b1e6b4c-3d2a-4f5e-8a9b-000000000001"]:
            assert files_containing(node_path, uuid.encode()) == []
    finally:
        ctx.close()


def test_dry_run_prints_field_by_field_and_writes_nothing(
        tmp_path: Path, node_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = kobo_export(tmp_path)
    (tmp_path / "map.toml").write_text(MAPPING)
    open_ctx(node_path).close()  # whatever opening a node does, done once before
    before = contents(node_path)
    assert run(node_path, "kobo", export, "--mapping", str(tmp_path / "map.toml"),
               "--dry-run") == 0
    out = capsys.readouterr().out
    assert "submission 1: a new report (channel import:kobo" in out
    assert "  reporter_role: survivor" in out and "  region: R1" in out
    assert "  consent: care\n" in out
    assert "  file: photo1.png" in out
    assert "dry run: 2 report(s) would be created, 0 already imported" in out
    assert contents(node_path) == before


def contents(root: Path) -> tuple[list[str], set[Path]]:
    """What a node holds: every row of its database, and its files apart from the database."""
    conn = sqlite3.connect(f"file:{root / 'node.db'}?mode=ro", uri=True)
    try:
        rows = list(conn.iterdump())
    finally:
        conn.close()
    return rows, {p for p in root.rglob("*") if p.is_file() and "node.db" not in p.name}


def test_receipts_on_request(tmp_path: Path, ctx_team: tuple[NodeContext, Team]) -> None:
    ctx, _team = ctx_team
    subs = formats.read_kobo(kobo_export(tmp_path).read_bytes(), tmp_path / "attachments")
    importer = Importer(ctx.db, ctx.intake, ctx.keys, ctx.audit, ctx.clock,
                        pw.INSECURE_FAST_FOR_TESTS)
    chosen = mapping.load(MAPPING.encode())
    done = importer.run(importer.plan(subs, chosen), receipts=True)
    for item in done:
        assert item.receipt is not None
        access = ctx.intake.open_receipt(item.receipt.code, item.receipt.secret)
        assert access.report_id == item.report_id
    assert importer.run(importer.plan(subs, chosen), receipts=True) == []


def test_without_receipts_no_receipt_opens(tmp_path: Path,
                                           ctx_team: tuple[NodeContext, Team]) -> None:
    ctx, _ = ctx_team
    subs = formats.read_kobo(kobo_export(tmp_path).read_bytes(), tmp_path / "attachments")
    importer = Importer(ctx.db, ctx.intake, ctx.keys, ctx.audit, ctx.clock)
    done = importer.run(importer.plan(subs, mapping.load(MAPPING.encode())))
    assert [d.receipt for d in done] == [None, None]
    wraps = {r[0] for r in ctx.db.read().execute("SELECT reporter_wrap FROM reports")}
    assert wraps == {b""}


def test_deleted_import_is_erased_and_not_brought_back(
        tmp_path: Path, node_path: Path, ctx_team: tuple[NodeContext, Team]) -> None:
    ctx, team = ctx_team
    export = kobo_export(tmp_path)
    (tmp_path / "map.toml").write_text(MAPPING)
    assert run(node_path, "kobo", export, "--mapping", str(tmp_path / "map.toml")) == 0
    for report_id in report_ids(ctx):
        ctx.deletion.by_staff(team.coordinator, report_id, "duplicate")
    conn = ctx.db.read()
    assert conn.execute("SELECT COUNT(*) FROM imported_submissions WHERE report_id IS NOT NULL"
                        " OR original_ct IS NOT NULL").fetchone()[0] == 0
    assert files_containing(node_path, CANARY.encode()) == []
    # the same export again: the deleted reports do not come back
    assert run(node_path, "kobo", export, "--mapping", str(tmp_path / "map.toml")) == 0
    assert report_ids(ctx) == set()


def test_bad_answer_imports_nothing(tmp_path: Path, node_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    export = kobo_export(tmp_path)
    doc = json.loads(export.read_text())
    doc["results"][1]["incident/region"] = "atlantis"
    export.write_text(json.dumps(doc))
    (tmp_path / "map.toml").write_text(MAPPING)
    assert run(node_path, "kobo", export, "--mapping", str(tmp_path / "map.toml")) == 1
    err = capsys.readouterr().err
    assert err.startswith("submission 2: ") and "[region]" in err
    assert CANARY not in err  # messages never repeat what was typed
    ctx = open_ctx(node_path)
    try:
        assert report_ids(ctx) == set()
        assert ctx.intake.sweep_orphan_files() == 0  # no file left staged
    finally:
        ctx.close()


def test_missing_attachment_or_bad_mapping(tmp_path: Path, node_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    export = kobo_export(tmp_path)
    (tmp_path / "attachments" / KOBO_UUIDS[1] / "photo2.png").unlink()
    assert run(node_path, "kobo", export) == 1
    assert "photo2.png of submission 2 is not in the media folder" in capsys.readouterr().err
    (tmp_path / "map.toml").write_text('[fields]\nnarrative_typo = "x"\n')
    assert run(node_path, "kobo", export, "--mapping", str(tmp_path / "map.toml")) == 1
    assert "The mapping file is not valid (fields.narrative_typo)" in capsys.readouterr().err


def test_default_mapping_and_example_mapping_loads(tmp_path: Path) -> None:
    example = Path(mapping.__file__).with_name("mapping.example.toml")
    assert mapping.load(example.read_bytes()).consent["care"] == "consent/help_me"
    sub = formats.read_kobo(json.dumps({"results": [{
        "_uuid": "u1", "grp/narrative": "words", "grp/consent_legal": "yes",
        "grp/consent_care": "no"}]}).encode(), None)[0]
    report = mapping.report_of(sub, mapping.default_for(sub))
    assert report.narrative == "words"
    assert report.consent.granted() == ["legal"]


def test_unmapped_consent_is_not_given(tmp_path: Path) -> None:
    sub = formats.read_kobo(json.dumps({"results": [{
        "_uuid": "u1", "n": "words", "consent/sharing": "yes"}]}).encode(), None)[0]
    report = mapping.report_of(sub, mapping.load(b'[fields]\nnarrative = "n"\n'))
    assert report.consent.granted() == []


def test_empty_submission_is_refused(tmp_path: Path, ctx_team: tuple[NodeContext, Team]) -> None:
    ctx, _ = ctx_team
    subs = formats.read_kobo(b'{"results": [{"_uuid": "u1", "other": "x"}]}', None)
    with pytest.raises(errors.EmptyReport):
        Importer(ctx.db, ctx.intake, ctx.keys, ctx.audit, ctx.clock).plan(subs, None)


def test_an_imported_case_exports_a_bundle_that_verifies(
        tmp_path: Path, ctx_team: tuple[NodeContext, Team]) -> None:
    from backup_evidence.verify import verify_bundle

    ctx, team = ctx_team
    subs = formats.read_kobo(kobo_export(tmp_path).read_bytes(), tmp_path / "attachments")
    importer = Importer(ctx.db, ctx.intake, ctx.keys, ctx.audit, ctx.clock)
    chosen = mapping.load(MAPPING.replace('care = "consent/help_me"',
                                          'care = "consent/help_me"\nlegal = "consent/help_me"'
                                          ).encode())
    [first, _second] = importer.run(importer.plan(subs, chosen))
    path = tmp_path / "bundle.zip"
    path.write_bytes(ctx.bundles.export(team.coordinator, first.report_id))
    report = verify_bundle(str(path), ctx.keys.identity_public.raw().hex())
    assert report.ok, [c for c in report.checks if not c[1]]


def test_a_refused_file_names_its_submission_and_keeps_nothing_staged(
        tmp_path: Path, node_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = kobo_export(tmp_path)
    (tmp_path / "attachments" / KOBO_UUIDS[1] / "photo2.png").write_bytes(
        b"MZ\x90\x00 not a photo " + CANARY.encode())
    (tmp_path / "map.toml").write_text(MAPPING)
    assert run(node_path, "kobo", export, "--mapping", str(tmp_path / "map.toml")) == 1
    err = capsys.readouterr().err
    assert err.startswith("submission 2: ") and CANARY not in err
    ctx = open_ctx(node_path)
    try:
        assert report_ids(ctx) == set()  # one batch: nothing of it was stored
        assert ctx.intake.sweep_orphan_files() == 0
    finally:
        ctx.close()
    assert files_containing(node_path, CANARY.encode()) == []
