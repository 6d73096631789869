"""Selective disclosure in court bundles (issue 12), end to end on a real node: contact
canaries leave in no byte of any bundle, the narrative does; a coordinator's and the
reporter's choices are enforced and recorded; a later bundle discloses more of the same
leaves; a report committed before per-field leaves is re-committed, exports and verifies."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from backup_evidence.verify import verify_bundle
from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts, errors
from node.bundles.disclosure import Choices
from node.context import NodeContext, open_node
from node.demo import tiny_png
from node.intake.models import Consent, ContactPreference, ReportInput
from tests.integration.test_schema10_fixture import copy_fixture
from tests.team import Team, make_team

CANARIES = {"details": "CANARY-PHONE-+1-555-0100", "safe_times": "CANARY-SAFE-TIMES-X",
            "precautions": "CANARY-PRECAUTIONS-X"}
NARRATIVE = "CANARY-NARRATIVE-X they came at night"


@pytest.fixture
def team(node_ctx: NodeContext) -> Team:
    return make_team(node_ctx)


def submit(ctx: NodeContext, consent: Consent | None = None) -> str:
    key = DataKey.generate()
    w = ctx.intake.attachment_writer(key, ctx.intake.allowance(), "amina-photo.png")
    w.feed(tiny_png(7))
    r = ctx.intake.submit(ReportInput(
        narrative=NARRATIVE, region="R1", place="the market", reporter_role="survivor",
        incident_year=2024, needs=["medical", "legal"],
        contact=ContactPreference(method="phone_call", **CANARIES),
        consent=consent or Consent(legal=True, contact=True)), key, [w.finish()], "test")
    return r.report_id


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def check(tmp_path: Path, ctx: NodeContext, data: bytes) -> tuple[dict[str, bytes], list[str]]:
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    report = verify_bundle(str(path), ctx.keys.identity_public.raw().hex())
    assert report.ok, [c for c in report.checks if not c[1]]
    return members(data), report.notes


def assert_no_contact(files: dict[str, bytes], data: bytes, canaries: list[str]) -> None:
    for canary in canaries:
        for name, content in files.items():
            assert canary.encode() not in content, (canary, name)
        assert canary.encode() not in data


def test_contact_canaries_never_leave(node_ctx: NodeContext, team: Team,
                                      tmp_path: Path) -> None:
    report_id = submit(node_ctx)
    data = node_ctx.bundles.export(team.coordinator, report_id)
    files, notes = check(tmp_path, node_ctx, data)
    assert_no_contact(files, data, list(CANARIES.values()))
    assert NARRATIVE.encode() in files["evidence/report.jsonl"]
    assert "amina" not in data.decode("latin-1")  # the file's name is withheld too
    manifest = json.loads(files["manifest.json"])
    report = next(i for i in manifest["items"] if i["type"] == "report")
    withheld = {w["name"]: w["why"] for w in report["withheld"]}
    assert withheld["contact.details"] == withheld["contact.safe_times"] == "never"
    assert withheld["needs[0]"] == "default"
    assert {"narrative", "place", "region", "incident_year", "reporter_role"} <= set(
        report["disclosed"])
    assert any("withheld (committed) contact.details" in n for n in notes)
    assert any("asserted by the node" in n for n in notes)
    summary = files["summary.html"].decode()
    assert "contact.precautions" in summary and "Withheld (committed)" in summary


def test_choices_are_enforced_and_recorded(node_ctx: NodeContext, team: Team,
                                           tmp_path: Path) -> None:
    report_id = submit(node_ctx, Consent(legal=True, court_perpetrators=False))
    view = node_ctx.intake.view_with_key(
        report_id, node_ctx.case_access.case_key(team.coordinator, report_id))
    photo = view.items[0].id
    with pytest.raises(errors.InvalidInput):
        node_ctx.bundles.export(team.coordinator, report_id, choices=Choices(
            withhold_groups=frozenset({"place"}), withhold_reason="because I said so"))
    with pytest.raises(errors.InvalidInput):  # contact can never be chosen
        node_ctx.bundles.export(team.coordinator, report_id, choices=Choices(
            withhold_groups=frozenset({"contact"}), withhold_reason="not_relevant"))
    first = node_ctx.bundles.export(team.coordinator, report_id, choices=Choices(
        withhold_groups=frozenset({"place"}), withhold_items=frozenset({photo}),
        withhold_reason="others_safety"))
    files, _ = check(tmp_path, node_ctx, first)
    manifest = json.loads(files["manifest.json"])
    report = next(i for i in manifest["items"] if i["type"] == "report")
    why = {w["name"]: w["why"] for w in report["withheld"]}
    assert why["place"] == why["region"] == "coordinator"
    assert why["perpetrators"] == "reporter"
    assert b"the market" not in first
    assert not any(n.endswith(".png") for n in files)  # the photo stays
    details = [e["detail"] for e in json.loads(files["custody.json"])["entries"]
               if e["action"] == "case.export.choice"]
    assert details == ["withheld groups place; reason others_safety",
                       f"withheld items {photo}; reason others_safety"]
    # a later bundle, on a court order, discloses more of the same leaves, same checkpoint
    later = node_ctx.bundles.export(team.coordinator, report_id, choices=Choices(
        disclose_fields=frozenset({"needs[0]"}), disclose_reason="court_order"))
    files2, _ = check(tmp_path, node_ctx, later)
    manifest2 = json.loads(files2["manifest.json"])
    report2 = next(i for i in manifest2["items"] if i["type"] == "report")
    assert "needs[0]" in report2["disclosed"] and b'"needs[0]","medical"' in files2[
        "evidence/report.jsonl"]
    assert manifest2["tree_size"] == manifest["tree_size"]
    assert files2["proofs/item-001.json"] == files["proofs/item-001.json"]
    assert any(n.endswith(".png") for n in files2)


def test_a_pre_change_report_is_recommitted_and_verifies(tmp_path: Path) -> None:
    datadir, answers = copy_fixture(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        report_id = str(answers["canary_report_id"])
        staff = accounts.unlock(ctx.db.read(), str(answers["admin"]),
                                str(answers["passphrase"]))
        view = ctx.intake.view_with_key(report_id, ctx.case_access.case_key(staff, report_id))
        assert view.consent.court_scope() == list(Consent().court_scope())  # the default
        if not view.consent.legal:  # the reporter agrees to legal use, with their receipt
            access = ctx.intake.open_receipt(str(answers["canary_receipt"]),
                                             str(answers["canary_secret"]))
            ctx.intake.change_consent(access, view.consent.model_copy(update={"legal": True}))
        plan = ctx.bundles.plan(staff, report_id)
        assert plan.pending_recommit
        data = ctx.bundles.export(staff, report_id)
        files, notes = check(tmp_path, ctx, data)
        canaries = dict(answers["canaries"])  # type: ignore[call-overload]
        assert_no_contact(files, data, [canaries[k] for k in ("details", "safe_times",
                                                              "precautions")])
        assert canaries["narrative"].encode() in files["evidence/report.jsonl"]
        items = json.loads(files["manifest.json"])["items"]
        original, report = items[0], items[1]
        assert original["version"] == 1 and original["withheld_item"]
        assert report["recommitted"]["original_leaf_index"] == original["leaf_index"]
        assert report["received_at"] > original["received_at"]  # committed at migration
        assert any("by re-committing" in n for n in notes)
        assert "Re-committed" in files["summary.html"].decode()
        actions = [r[0] for r in ctx.db.read().execute(
            "SELECT action FROM audit_log WHERE object_id = ?", (report_id,))]
        assert actions.count("evidence.recommit") == 1
        again = ctx.bundles.export(staff, report_id)  # once only
        check(tmp_path, ctx, again)
        actions = [r[0] for r in ctx.db.read().execute(
            "SELECT action FROM audit_log WHERE object_id = ?", (report_id,))]
        assert actions.count("evidence.recommit") == 1
    finally:
        ctx.close()


def test_the_demo_back_office_exports_without_contact_details(tmp_path: Path) -> None:
    from node.demo import DEMO_ADMIN, DEMO_PASSPHRASE, prepare

    datadir = prepare(tmp_path / "demo", reports=12)
    ctx = open_node(datadir)
    try:
        staff = accounts.unlock(ctx.db.read(), DEMO_ADMIN, DEMO_PASSPHRASE)
        row = ctx.db.read().execute(
            "SELECT id FROM reports WHERE consent_legal = 1 AND consent_contact = 1").fetchone()
        assert row is not None
        data = ctx.bundles.export(staff, row["id"])
        files, notes = check(tmp_path, ctx, data)
        assert_no_contact(files, data, ["+000 000 000 (fictional)", "mornings"])
        assert any("withheld (committed) contact.details" in n for n in notes)
        assert "Withheld (committed)" in files["summary.html"].decode()
    finally:
        ctx.close()


def test_each_item_is_bounded_by_its_earliest_witnessed_checkpoint(
        node_ctx: NodeContext, team: Team, tmp_path: Path) -> None:
    from crypto.checkpoint import Checkpoint, Cosigner, SignedNote
    from crypto.keys import SigningKey
    from node.evidence.signing import sign_if_grown
    from node.federation import store
    from protocol.witnessing import witness_name

    witness_id = "ab" * 16
    witness = Cosigner(witness_name(witness_id), SigningKey.generate())

    def cosign_latest(at: int) -> int:
        stored = sign_if_grown(node_ctx.db, node_ctx.keys, at)
        assert stored is not None
        line = witness.cosign_at(Checkpoint.parse(SignedNote.parse(stored.note).text), at)
        with node_ctx.db.write() as conn:
            store.record_cosignature(conn, witness_id, stored.size,
                                     line.line().rstrip("\n"), at)
        return stored.size

    report_id = submit(node_ctx)
    first = cosign_latest(1_800_000_000)  # 2027-01-15T08:00:00Z
    submit(node_ctx)
    cosign_latest(1_800_003_600)  # an hour later, with more witnesses' trust
    data = node_ctx.bundles.export(team.coordinator, report_id)
    files = members(data)
    manifest = json.loads(files["manifest.json"])
    assert manifest["tree_size"] > first
    assert all(i["bounded_by"]["tree_size"] == first for i in manifest["items"])
    path = tmp_path / "b.zip"
    path.write_bytes(data)
    report = verify_bundle(str(path), node_ctx.keys.identity_public.raw().hex(),
                           [witness.verifier.vkey()])
    assert report.ok, [c for c in report.checks if not c[1]]
    times = [n for n in report.notes if "no later than" in n]
    assert len(times) == len(manifest["items"])
    assert all("2027-01-15T08:00:00Z" in n and "asserted by the node" in n for n in times)
    # without the witness's key nothing is proven, and the verifier says so
    report = verify_bundle(str(path), node_ctx.keys.identity_public.raw().hex())
    assert report.ok and not any("no later than" in n for n in report.notes)
    assert any("give --witness" in n for n in report.notes)


def test_recommit_evidence_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    from node import cli

    datadir, answers = copy_fixture(tmp_path)
    monkeypatch.setenv(cli.EXPORT_PASSPHRASE_ENV, str(answers["passphrase"]))
    args = ["recommit-evidence", "--data", str(datadir.root), "--username",
            str(answers["admin"])]
    assert cli.main(args) == 0
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        committed = conn.execute(
            "SELECT COUNT(*) FROM reports WHERE evidence_ct IS NOT NULL").fetchone()[0]
        recommits = conn.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'evidence.recommit'").fetchone()[0]
        assert committed > 0 and recommits == committed
        assert f"{committed} report(s) re-committed" in capsys.readouterr().out
    finally:
        ctx.close()
    assert cli.main(args) == 0  # again: nothing left to do
    assert "0 report(s) re-committed" in capsys.readouterr().out


def test_the_summary_is_in_the_readers_language(node_ctx: NodeContext, team: Team) -> None:
    report_id = submit(node_ctx)
    summary = members(node_ctx.bundles.export(team.coordinator, report_id, "fr"))[
        "summary.html"].decode()
    assert "Retenu (engagé)" in summary and "les coordonnées ne sortent jamais" in summary
    assert "Divulgué" in summary and NARRATIVE in summary
    assert CANARIES["details"] not in summary


def test_a_changed_field_salt_or_digest_fails_and_names_the_item(
        node_ctx: NodeContext, team: Team, tmp_path: Path) -> None:
    from backup_evidence import disclosures as sd

    report_id = submit(node_ctx)
    data = node_ctx.bundles.export(team.coordinator, report_id)
    files = members(data)
    lines = files["evidence/report.jsonl"].split(b"\n")[:-1]
    n = next(i for i, line in enumerate(lines) if sd.parse(line).name == "place")
    d = sd.parse(lines[n])
    manifest = json.loads(files["manifest.json"])
    report = next(i for i in manifest["items"] if i["type"] == "report")
    digest = bytearray(bytes.fromhex(report["withheld"][0]["digest"]))
    digest[5] ^= 1

    def changed_line(new: bytes) -> dict[str, bytes]:
        return {**files, "evidence/report.jsonl": b"".join(
            (new if i == n else line) + b"\n" for i, line in enumerate(lines))}

    report_changed = json.loads(files["manifest.json"])
    next(i for i in report_changed["items"] if i["type"] == "report")["withheld"][0][
        "digest"] = bytes(digest).hex()
    variants = {
        "field": changed_line(sd.Disclosure(d.salt, d.name, "another market").encode()),
        "salt": changed_line(sd.Disclosure(bytes([d.salt[0] ^ 1]) + d.salt[1:], d.name,
                                           d.value).encode()),
        "digest": {**files, "manifest.json": json.dumps(report_changed).encode()},
    }
    for what, variant in variants.items():
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name, content in variant.items():
                z.writestr(name, content)
        path = tmp_path / f"{what}.zip"
        path.write_bytes(buf.getvalue())
        result = verify_bundle(str(path), node_ctx.keys.identity_public.raw().hex())
        failed = [name for name, ok, _ in result.checks if not ok]
        assert "item evidence/report.jsonl" in failed, (what, failed)
