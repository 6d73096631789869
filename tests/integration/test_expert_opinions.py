"""An expert's signed opinion as evidence a court bundle carries (issue 16), in process on a
real node (its SQLite file, its evidence log, real sealed boxes and signatures) whose own
expert is countersigned by a real observatory: the expert writes an opinion with a PDF from
a share, the node checks and commits it, the engaged coordinator opens it, and the court
bundle verifies offline -- and a flipped bit in the opinion, its signature or its
credential makes `backup-evidence verify` fail, naming the item. A forged signature, a
revoked credential or another case's engagement are refused with nothing stored."""

from __future__ import annotations

import dataclasses
import io
import json
import secrets
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from backup_evidence.verify import main as verify_main
from backup_evidence.verify import verify_bundle
from crypto.keys import DataKey, SigningKey
from node import accounts
from node.bundles.disclosure import Choices
from node.bundles.preview import build
from node.context import NodeContext
from node.evidence import log_store
from node.experts import directory, engagements, opinions
from node.intake.models import Consent, ReportInput
from node.web import appkeys
from node.web.app import create_app
from node.web.expert.common import EXPERT_COOKIE, SESSIONS
from node.web.staff.common import STAFF_COOKIE
from observatory.context import open_observatory
from observatory.experts import REVOCATION_REASONS
from protocol.encoding import canonical_json
from protocol.experts import ExpertCredential
from protocol.opinions import ExpertOpinion
from tests.conftest import files_containing
from tests.expert_vetting import EXPERT_PASSPHRASE, VettedExpert, vetted_expert
from tests.team import Team, make_team

OPINION = "OPINION-CANARY-7a2c: findings consistent with the account given"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
CONSENT = Consent(legal=True, sharing=True, share_account=True, share_scope_set=True)


class Case:
    def __init__(self, ctx: NodeContext, team: Team, expert: VettedExpert, report_id: str,
                 engagement_id: str, share_id: str, reader: accounts.UnlockedStaff) -> None:
        self.ctx, self.team, self.expert = ctx, team, expert
        self.report_id, self.engagement_id, self.share_id = report_id, engagement_id, share_id
        self.reader = reader

    @property
    def now(self) -> int:
        return int(self.ctx.clock().timestamp())

    def write(self, *, text: str = OPINION, file: bytes | None = PDF,
              kind: str = "medico_legal_certificate",
              receive: Any = None) -> str:
        opened = self.ctx.shares.open_held(self.reader, self.share_id)
        node_id = self.ctx.keys.node_id
        return opinions.write(
            self.ctx.db, self.ctx.audit, self.reader, engagement_id=self.engagement_id,
            subject_sha256=opened.subject_sha256, kind=kind, text=text, file=file,
            node_id=node_id, own_box_key=self.ctx.keys.intake_public.raw().hex(),
            observatory_node_id=None, observatory_key=self.expert.observatory_key,
            now=self.now,
            receive=receive or (lambda conn, m: self.ctx.opinions.receive_in(
                conn, m, sender=node_id, node_id=node_id)))


def engage(ctx: NodeContext, team: Team, expert: VettedExpert, report_id: str) -> str:
    """The coordinator's engagement of this node's own expert for the case."""
    conn = ctx.db.read()
    staff_id, box = conn.execute(
        "SELECT s.id, s.box_public_key FROM staff s WHERE s.username = ?",
        (expert.username,)).fetchone()
    engagement_id = secrets.token_hex(16)
    now = int(ctx.clock().timestamp())
    with ctx.db.write() as wconn:
        engagements.record(wconn, engagements.Engagement(
            engagement_id=engagement_id, need_id=secrets.token_hex(16),
            requesting_node=ctx.keys.node_id, home_node=ctx.keys.node_id,
            report_id=report_id, coordinator_id=team.coordinator.member.id,
            expert_staff_id=staff_id, expert_key=expert.expert_key,
            expert_box_key=bytes(box).hex(),
            coordinator_key=engagements.coordinator_signing_key(
                team.coordinator).verify_key.raw().hex(),
            coordinator_box_key=team.coordinator.member.public_key.raw().hex(),
            description_sealed=None, decided_at=now, ends_at=now + 14 * 86400,
            state="active"))
    return engagement_id


@pytest.fixture
def case(node_ctx: NodeContext, tmp_path: Path) -> Case:
    team = make_team(node_ctx)
    expert = vetted_expert(node_ctx, [node_ctx], tmp_path)
    node_ctx.opinions.observatory_key = expert.observatory_key.raw().hex()
    with node_ctx.db.write() as conn:  # the countersigned credential, as the vouch's answer
        entry = directory.shareable(conn, expert.expert_key,
                                    observatory_key=expert.observatory_key,
                                    now=int(node_ctx.clock().timestamp()))
        conn.execute("UPDATE expert_profiles SET credential = ? WHERE signing_public_key = ?",
                     (canonical_json(entry.credential.to_json_object()).decode("utf-8"),
                      bytes.fromhex(expert.expert_key)))
    r = node_ctx.intake.submit(ReportInput(narrative="what happened", incident_year=2024,
                                           consent=CONSENT), DataKey.generate(), [], "test")
    engagement_id = engage(node_ctx, team, expert, r.report_id)
    sent = node_ctx.shares.share(
        team.coordinator, engagement_id=engagement_id, report_id=r.report_id,
        expert_key=expert.expert_key, groups=("narrative",), files=(),
        expires=int(node_ctx.clock().timestamp()) + 3600,
        observatory_key=expert.observatory_key)
    reader = accounts.unlock(node_ctx.db.read(), expert.username, EXPERT_PASSPHRASE)
    return Case(node_ctx, team, expert, r.report_id, engagement_id, sent.share_id, reader)


def rows(ctx: NodeContext) -> int:
    return int(ctx.db.read().execute("SELECT count(*) FROM expert_opinions").fetchone()[0])


def log_size(ctx: NodeContext) -> int:
    return log_store.log_size(ctx.db.read())


def rewrite(data: bytes, name: str, change: Any) -> bytes:
    """The bundle with one member changed (the ZIP itself rewritten around it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            dst.writestr(info, change(content) if info.filename == name else content)
    return out.getvalue()


def flip(content: bytes, at: int) -> bytes:
    return content[:at] + bytes([content[at] ^ 0x01]) + content[at + 1:]


def test_an_opinion_is_committed_opened_exported_and_verified_offline(
        case: Case, node_ctx: NodeContext, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    before = log_size(node_ctx)
    opinion_id = case.write()
    assert rows(node_ctx) == 1 and log_size(node_ctx) == before + 1
    # sealed to the engaged coordinator: nothing of it in clear on disk
    assert files_containing(node_ctx.datadir.root, OPINION.encode()) == []
    actions = [r[0] for r in node_ctx.db.read().execute("SELECT action FROM audit_log")]
    assert "expert.opinion_sent" in actions and "expert.opinion_received" in actions

    (found,) = node_ctx.opinions.for_case(case.team.coordinator, case.report_id)
    assert (found.opinion_id, found.text, found.file, found.kind) == (
        opinion_id, OPINION, PDF, "medico_legal_certificate")
    assert tuple(node_ctx.db.read().execute(
        "SELECT sealed IS NULL, opinion_ct IS NOT NULL FROM expert_opinions").fetchone()) == (
        1, 1)
    assert files_containing(node_ctx.datadir.root, OPINION.encode()) == []

    data = node_ctx.bundles.export(case.team.coordinator, case.report_id)
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    observatory = case.expert.observatory_key.raw().hex()
    report = verify_bundle(str(path), node_ctx.keys.identity_public.raw().hex(),
                           observatory_key=observatory)
    assert report.ok, [c for c in report.checks if not c[1]]
    names = [name for name, _, _ in report.checks]
    assert any(n.endswith("opinion.jsonl (expert signature)") for n in names)
    assert any(n.endswith("opinion.jsonl (expert credential)") for n in names)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        manifest = json.loads(z.read("manifest.json"))
        (item,) = [i for i in manifest["items"] if i["type"] == "opinion"]
        assert z.read(item["file"]) == PDF
        assert item["credential"] in manifest["files"]
        assert manifest["observatory_key"] in manifest["files"]
    # the command line, with the observatory's key obtained independently
    assert verify_main(["verify", str(path), "--observatory-key", observatory]) == 0
    other = SigningKey.generate().verify_key.raw().hex()
    assert verify_main(["verify", str(path), "--observatory-key", other]) == 1
    assert "FAILED observatory key is the trusted key" in capsys.readouterr().out

    # a flipped bit: in the opinion's text, its signature, its credential
    jsonl = item["path"]
    lines = members(data)[jsonl].split(b"\n")
    text_line = next(n for n, line in enumerate(lines) if b'"text"' in line)
    signature_line = next(n for n, line in enumerate(lines) if b'"signature"' in line)

    def in_line(n: int) -> Any:
        def change(content: bytes) -> bytes:
            offset = sum(len(line) + 1 for line in lines[:n])
            return flip(content, offset + len(lines[n]) - 5)  # inside the value
        return change

    for name, change, failing in (
            (jsonl, in_line(text_line), "(opinion content)"),
            (jsonl, in_line(signature_line), "(expert signature)"),
            (item["credential"], lambda c: flip(c, c.index(b'"expert_key"') + 20),
             "(expert credential)")):
        bad = tmp_path / "flipped.zip"
        bad.write_bytes(rewrite(data, name, change))
        flipped = verify_bundle(str(bad), node_ctx.keys.identity_public.raw().hex(),
                                observatory_key=observatory)
        assert not flipped.ok
        failed = [c for c, ok, _ in flipped.checks if not ok]
        assert any(jsonl in c and c.endswith(failing) for c in failed), failed


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_an_opinion_can_be_withheld_with_a_reason_and_its_leaf_still_verifies(
        case: Case, node_ctx: NodeContext, tmp_path: Path) -> None:
    case.write(file=None)
    data = node_ctx.bundles.export(case.team.coordinator, case.report_id, choices=Choices(
        withhold_groups=frozenset({"opinion"}), withhold_reason="reporter_safety"))
    assert OPINION.encode() not in data
    path = tmp_path / "withheld.zip"
    path.write_bytes(data)
    report = verify_bundle(str(path), node_ctx.keys.identity_public.raw().hex())
    assert report.ok, [c for c in report.checks if not c[1]]
    assert any("withheld: its signature is not shown" in n for n in report.notes)
    details = [r[0] for r in node_ctx.db.read().execute(
        "SELECT detail FROM audit_log WHERE action = 'case.export.choice'")]
    assert "withheld groups opinion; reason reporter_safety" in details


def test_before_a_coordinator_with_the_intake_key_opens_it_its_digests_only_leave(
        case: Case, node_ctx: NodeContext, tmp_path: Path) -> None:
    case.write()
    # a coordinator who opens this case through their own wrap, without the node's intake
    # key: the opinion stays sealed to the node
    node_ctx.case_access.assign(case.team.coordinator, case.report_id,
                                case.team.coordinator.member.id)
    other = dataclasses.replace(case.team.coordinator, node_keys={})
    data = node_ctx.bundles.export(other, case.report_id)
    assert OPINION.encode() not in data and PDF not in data
    path = tmp_path / "sealed.zip"
    path.write_bytes(data)
    report = verify_bundle(str(path), node_ctx.keys.identity_public.raw().hex())
    assert report.ok, [c for c in report.checks if not c[1]]
    (listed,) = node_ctx.opinions.for_case(other, case.report_id)
    assert listed.sealed
    (opened,) = node_ctx.opinions.for_case(case.team.coordinator, case.report_id)
    assert opened.text == OPINION


def test_refusals_store_nothing(case: Case, node_ctx: NodeContext) -> None:
    other_case = node_ctx.intake.submit(ReportInput(narrative="another", consent=CONSENT),
                                        DataKey.generate(), [], "test").report_id
    captured: list[ExpertOpinion] = []
    case.write(receive=lambda conn, m: captured.append(m) or "kept")
    (message,) = captured
    node_id = node_ctx.keys.node_id
    before = (rows(node_ctx), log_size(node_ctx))

    def refused(m: ExpertOpinion, code: str, sender: str = node_id) -> None:
        with pytest.raises(opinions.Refused) as exc, node_ctx.db.write() as conn:
            node_ctx.opinions.receive_in(conn, m, sender=sender, node_id=node_id)
        assert exc.value.code == code
        assert (rows(node_ctx), log_size(node_ctx)) == before

    forged = SigningKey.generate().sign(b"anything").hex()
    refused(message.model_copy(update={"signature": forged}), "bad_signature")
    refused(message, "no_engagement", sender="ab" * 16)  # not the expert's home node
    forged_credential = ExpertCredential.issue(message.credential.body, SigningKey.generate())
    refused(message.model_copy(update={"credential": forged_credential}), "credential")
    with node_ctx.db.write() as conn:  # the engagement and its share for another case
        for table in ("expert_engagements", "expert_shares_sent"):
            conn.execute(f"UPDATE {table} SET report_id = ? WHERE engagement_id = ?",
                         (other_case, case.engagement_id))
    refused(message, "other_report")
    with node_ctx.db.write() as conn:  # an engagement for no case: its share names it
        conn.execute("UPDATE expert_engagements SET report_id = NULL")
        conn.execute("UPDATE expert_shares_sent SET report_id = ?", (case.report_id,))
    # the observatory revokes the credential: the next directory lists it as revoked
    obs = open_observatory(case.expert.observatory_root, clock=lambda: case.now)
    try:
        obs.experts.revoke(case.expert.serial, REVOCATION_REASONS[0], case.now)
        with obs.db.write() as oconn:
            newer = obs.experts.current_in(oconn, case.now)
    finally:
        obs.close()
    with node_ctx.db.write() as conn:
        directory.accept_in(conn, newer, observatory_key=case.expert.observatory_key,
                            now=case.now)
    refused(message, "not_listed")  # a revoked credential leaves the directory
    with node_ctx.db.write() as conn:
        conn.execute("DELETE FROM expert_directory")  # no directory: revocation unknowable
    refused(message, "no_directory")


def test_the_expert_app_refuses_bad_input_and_an_expired_credential(case: Case) -> None:
    with pytest.raises(opinions.OpinionRefused):
        case.write(kind="horoscope")
    with pytest.raises(opinions.OpinionRefused):
        case.write(text="   ")
    with pytest.raises(opinions.OpinionRefused):
        case.write(file=b"MZ\x90\x00 an executable, not a PDF")
    with case.ctx.db.write() as conn:
        conn.execute("UPDATE expert_profiles SET credential = NULL")
    with pytest.raises(opinions.OpinionRefused):
        case.write()
    assert rows(case.ctx) == 0


async def test_the_expert_signs_in_the_app_and_the_coordinator_reads_it_on_the_case(
        case: Case, node_ctx: NodeContext, aiohttp_client: Any) -> None:
    """Over a real aiohttp server: the form without JavaScript (multipart, a PDF), a bad
    input answered in the person's words with what they wrote kept, then the case's page."""
    app = create_app(node_ctx, {"staff", "expert"})
    client: TestClient[Any, Any] = await aiohttp_client(app)
    expert_session = app[SESSIONS].new(case.reader)
    client.session.cookie_jar.update_cookies({EXPERT_COOKIE: expert_session.id})
    page = await (await client.get(f"/expert/shares/{case.share_id}")).text()
    assert f"/expert/shares/{case.share_id}/opinion" in page
    form = await client.get(f"/expert/shares/{case.share_id}/opinion")
    assert form.status == 200 and 'enctype="multipart/form-data"' in await form.text()
    assert form.headers["Cache-Control"].startswith("no-store")

    def body(kind: str, file: bytes) -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("csrf", expert_session.csrf)
        data.add_field("kind", kind)
        data.add_field("text", OPINION)
        data.add_field("file", file, filename="certificate.pdf",
                       content_type="application/pdf")
        return data

    bad = await client.post(f"/expert/shares/{case.share_id}/opinion",
                            data=body("horoscope", PDF), allow_redirects=False)
    assert bad.status == 400 and OPINION in await bad.text() and rows(node_ctx) == 0
    r = await client.post(f"/expert/shares/{case.share_id}/opinion",
                          data=body("psychological_assessment", PDF), allow_redirects=False)
    assert r.status == 303, await r.text()
    assert r.headers["Location"] == f"/expert/shares/{case.share_id}?done=opinion"
    assert rows(node_ctx) == 1

    client.session.cookie_jar.clear()
    staff_session = app[appkeys.STAFF_SESSIONS].new(case.team.coordinator)
    client.session.cookie_jar.update_cookies({STAFF_COOKIE: staff_session.id})
    case_page = await (await client.get(f"/staff/cases/{case.report_id}")).text()
    assert f"/staff/cases/{case.report_id}/opinions" in case_page
    listed = await client.get(f"/staff/cases/{case.report_id}/opinions")
    text = await listed.text()
    assert listed.status == 200 and OPINION in text and "Psychological assessment" in text
    (opinion_id,) = [r[0] for r in node_ctx.db.read().execute(
        "SELECT opinion_id FROM expert_opinions")]
    file = await client.get(f"/staff/cases/{case.report_id}/opinions/{opinion_id}/file")
    assert await file.read() == PDF
    assert file.headers["Content-Disposition"].startswith("attachment")
    # a caseworker not assigned to the case is refused
    client.session.cookie_jar.clear()
    other = app[appkeys.STAFF_SESSIONS].new(case.team.caseworker)
    client.session.cookie_jar.update_cookies({STAFF_COOKIE: other.id})
    refused = await client.get(f"/staff/cases/{case.report_id}/opinions")
    assert refused.status == 403


def test_the_export_preview_lists_the_opinion_and_its_file(case: Case,
                                                           node_ctx: NodeContext) -> None:
    case.write()
    preview = build(node_ctx.bundles.plan(case.team.coordinator, case.report_id))
    shown = {(f.name, f.group, f.disclose) for f in preview.fields if f.item.endswith("opinion")}
    assert ("text", "opinion", True) in shown and ("signature", "opinion", True) in shown
    assert [f.mime for f in preview.files] == ["application/pdf"]


def test_content_that_is_not_what_was_committed_is_never_opened(case: Case,
                                                                node_ctx: NodeContext) -> None:
    """The requesting node's own database changed under it: content sealed to the node but
    not the committed disclosures stays sealed, and the custody chain says so."""
    case.write()
    forged = json.dumps({"disclosures": [], "file": None}).encode()
    with node_ctx.db.write() as conn:
        conn.execute("UPDATE expert_opinions SET sealed = ?",
                     (node_ctx.keys.intake_public.seal(forged),))
    (listed,) = node_ctx.opinions.for_case(case.team.coordinator, case.report_id)
    assert listed.sealed
    actions = [r[0] for r in node_ctx.db.read().execute("SELECT action FROM audit_log")]
    assert "expert.opinion_refused" in actions and "expert.opinion_opened" not in actions
