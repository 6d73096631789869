"""The court-bundle preview (issue 12), on a real server and through the CLI: every field
and file that would leave, a photo's embedded GPS position and device, a voice recording
named as such, contact information flagged inside disclosed text; the coordinator's
choices apply and need a reason from the list; ``--dry-run`` prints the same and writes
nothing. Plus the EXIF reader and the text checks under fuzzing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from backup_evidence.verify import verify_bundle
from crypto.keys import DataKey
from node import cli
from node.bundles.file_metadata import exif_facts, inspect
from node.bundles.preview import text_flags
from node.context import NodeContext
from node.intake.models import Consent, ContactPreference, ReportInput
from tests.conftest import ADMIN, ADMIN_PASSPHRASE
from tests.integration.conftest import csrf_of
from tests.team import make_team

CONTACT = "CANARY-CONTACT-PREVIEW"


def gps_jpeg() -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "EOS 5D"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (12.0, 30.0, 0.0), "W", (5.0, 15.0, 36.0)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


OGG = b"OggS\x00\x02" + bytes(22) + b"\x01\x1eOpusHead" + bytes(40)


def submit(ctx: NodeContext) -> str:
    key = DataKey.generate()
    staged = []
    for name, data in (("p.jpg", gps_jpeg()), ("v.ogg", OGG)):
        w = ctx.intake.attachment_writer(key, ctx.intake.allowance(), name)
        w.feed(data)
        staged.append(w.finish())
    r = ctx.intake.submit(ReportInput(
        narrative="he said call +243 810 000 222 or write to me@example.org",
        place="the school", region="R1",
        contact=ContactPreference(details=CONTACT), consent=Consent(legal=True, contact=True,
                                                                 court_voice=True)),
        key, staged, "test")
    return r.report_id


async def login(client: TestClient[Any, Any]) -> None:
    r = await client.get("/staff/login")
    r = await client.post("/staff/login", data={
        "csrf": csrf_of(await r.text()), "username": ADMIN, "passphrase": ADMIN_PASSPHRASE},
        allow_redirects=False)
    assert r.status == 303


async def test_preview_then_export(client: TestClient[Any, Any], node_ctx: NodeContext,
                                   tmp_path: Path) -> None:
    report_id = submit(node_ctx)
    await login(client)
    r = await client.get(f"/staff/cases/{report_id}/export")
    html = await r.text()
    assert r.status == 200
    assert "looks like a phone number" in html and "+243 810 000 222" in html
    assert "looks like an e-mail address" in html
    assert "Embedded GPS position: 12.50000, -5.26000" in html
    assert "Camera or phone model: Canon EOS 5D" in html
    assert "Voice recording" in html
    assert "contact.details" in html and CONTACT not in html  # named, never shown
    coordinator = make_team(node_ctx).coordinator
    photo = node_ctx.intake.view_with_key(
        report_id, node_ctx.case_access.case_key(coordinator, report_id)).items[0].id
    token = csrf_of(html)
    # a choice without a reason: shown again with the problem, nothing exported
    r = await client.post(f"/staff/cases/{report_id}/export", data={
        "csrf": token, "withhold": "place", "go": "export"})
    assert r.status == 400 and "needs a reason" in await r.text()
    r = await client.post(f"/staff/cases/{report_id}/export", data={
        "csrf": token, "withhold": "place", "withhold_item": photo,
        "withhold_reason": "reporter_safety", "go": "preview"})
    assert r.status == 200 and "withheld by a coordinator" in await r.text()
    r = await client.post(f"/staff/cases/{report_id}/export", data={
        "csrf": token, "withhold": "place", "withhold_item": photo,
        "withhold_reason": "reporter_safety", "go": "export"})
    assert r.status == 200 and r.content_type == "application/zip"
    data = await r.read()
    path = tmp_path / "b.zip"
    path.write_bytes(data)
    assert verify_bundle(str(path), node_ctx.keys.identity_public.raw().hex()).ok
    names = zipfile.ZipFile(path).namelist()
    files = [n for n in names if n.startswith("evidence/") and not n.endswith(".jsonl")]
    assert files == ["evidence/002-attachment.ogg"]  # the recording leaves, the photo stays
    assert b"the school" not in data and CONTACT.encode() not in data


def test_cli_dry_run(node_ctx: NodeContext, tmp_path: Path, capsys: Any,
                     monkeypatch: Any) -> None:
    report_id = submit(node_ctx)
    monkeypatch.setenv(cli.EXPORT_PASSPHRASE_ENV, ADMIN_PASSPHRASE)
    before = node_ctx.db.read().execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    assert cli.main(["export-bundle", "--data", str(node_ctx.datadir.root), "--case",
                     report_id, "--username", ADMIN, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "WITHHELD report: contact.details [contact]" in out and CONTACT not in out
    assert "LEAVES   report: narrative" in out and "CHECK  looks like a phone number" in out
    assert "INSIDE Embedded GPS position: 12.50000, -5.26000" in out
    assert "Voice recording" in out
    after = node_ctx.db.read().execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    assert after == before and not list(tmp_path.glob("*.zip"))  # nothing written


@settings(max_examples=200)
@given(st.binary(max_size=400))
def test_exif_reader_never_fails_on_hostile_bytes(data: bytes) -> None:
    for prefix in (b"", b"\xff\xd8\xff\xe1", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*"):
        facts = exif_facts(prefix + data)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in facts)
    assert inspect(data, "audio/ogg").kind == "voice"


@given(st.text(max_size=300))
def test_text_flags_never_fail(text: str) -> None:
    for kind, match in text_flags(text):
        assert kind in ("phone", "email", "address") and len(match) <= 80


def test_text_flags_find_contact_information() -> None:
    assert [k for k, _ in text_flags("appelle le ٠٩٩٩ ١٢٣ ٤٥٦")] == ["phone"]
    assert [k for k, _ in text_flags("write to a.b@mail.example")] == ["email"]
    assert "address" in [k for k, _ in text_flags("she lives at 14 rue de la Paix")]
    assert "address" in [k for k, _ in text_flags("вул. Шевченка 15")]
    assert text_flags("in 2024 twelve men came; 3 of them") == []
