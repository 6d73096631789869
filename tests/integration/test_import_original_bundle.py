"""An imported report's original submission in its court bundle (issue 19): it leaves
whole, checked offline against the SHA-256 its leaf commits to, only when nothing in it
looks like contact information and every legal-use answer leaves too; otherwise the bundle
proves it exists (withheld, committed) and no byte of it leaves."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from backup_evidence.verify import verify_bundle
from node.bundles import preview
from node.bundles.contact_text import original_flags
from node.bundles.disclosure import Choices
from node.context import NodeContext
from node.imports import formats, mapping
from node.imports.importer import Importer
from tests.conftest import CANARY
from tests.integration.test_imports import MAPPING, ctx_team, kobo_export, node_path  # noqa: F401
from tests.team import Team

CONTACT_CANARY = "CANARY-PHONE-+243 81 555 0100"
LEGAL = MAPPING.replace('care = "consent/help_me"',
                        'care = "consent/help_me"\nlegal = "consent/help_me"')


def imported(tmp_path: Path, ctx: NodeContext, mapping_text: str = LEGAL,
             extra: dict[str, str] | None = None) -> tuple[str, bytes]:
    """One Kobo submission imported with legal-use consent: (report id, original bytes)."""
    export = kobo_export(tmp_path)
    doc = json.loads(export.read_text())
    doc["results"][0].update(extra or {})
    export.write_text(json.dumps(doc))
    subs = formats.read_kobo(export.read_bytes(), tmp_path / "attachments")
    importer = Importer(ctx.db, ctx.intake, ctx.keys, ctx.audit, ctx.clock)
    done = importer.run(importer.plan(subs[:1], mapping.load(mapping_text.encode())))
    return done[0].report_id, subs[0].original


def unpacked(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def verified(tmp_path: Path, ctx: NodeContext, data: bytes, name: str = "b.zip"
             ) -> tuple[bool, list[tuple[str, bool, str]], list[str]]:
    path = tmp_path / name
    path.write_bytes(data)
    report = verify_bundle(str(path), ctx.keys.identity_public.raw().hex())
    return report.ok, report.checks, report.notes


def original_entry(files: dict[str, bytes]) -> dict[str, object]:
    [entry] = [i for i in json.loads(files["manifest.json"])["items"] if i.get("original")]
    return entry


def _flip(content: bytes) -> bytes:
    i = len(content) // 2
    return content[:i] + bytes([content[i] ^ 0x01]) + content[i + 1:]


def _rewrite(data: bytes, member: str) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            dst.writestr(info, _flip(content) if info.filename == member else content)
    return buf.getvalue()


def test_original_without_contact_leaves_and_verifies(
        tmp_path: Path, ctx_team: tuple[NodeContext, Team]) -> None:  # noqa: F811
    ctx, team = ctx_team
    report_id, original = imported(tmp_path, ctx)
    data = ctx.bundles.export(team.coordinator, report_id)
    files = unpacked(data)
    entry = original_entry(files)
    assert entry["file"] == "evidence/original.json"
    assert files["evidence/original.json"] == original  # byte for byte, as exported
    ok, checks, notes = verified(tmp_path, ctx, data)
    assert ok, [c for c in checks if not c[1]]
    assert any("original submission" in n and "match the SHA-256" in n for n in notes)
    assert "The original submission from the field tool" in files["summary.html"].decode()
    # one flipped bit in the original: verification fails and names the item
    ok, checks, _ = verified(tmp_path, ctx, _rewrite(data, "evidence/original.json"), "t.zip")
    assert not ok
    assert [c for c in checks if not c[1]] == [
        (f"item {entry['path']}", False, "its file changed (SHA-256 or size differs)")]


@pytest.mark.parametrize("how", ["mapped", "unmapped"])
def test_original_with_contact_is_withheld_and_no_byte_leaves(
        tmp_path: Path, ctx_team: tuple[NodeContext, Team], how: str) -> None:  # noqa: F811
    ctx, team = ctx_team
    if how == "mapped":  # the mapping takes the reporter's phone number from the form
        text = LEGAL.replace("[fields]\n", '[fields]\ncontact_details = "respondent/phone"\n')
    else:  # a question the mapping does not take still holds it
        text = LEGAL
    report_id, original = imported(tmp_path, ctx, text,
                                   {"respondent/phone": CONTACT_CANARY})
    assert CONTACT_CANARY.encode() in original
    data = ctx.bundles.export(team.coordinator, report_id)
    files = unpacked(data)
    for name, content in files.items():
        assert CONTACT_CANARY.encode() not in content, name
    assert CONTACT_CANARY.encode() not in data
    assert CANARY.encode() in files["evidence/report.jsonl"]  # the narrative still leaves
    entry = original_entry(files)
    assert entry.get("file") is None
    withheld = {w["name"]: w["why"] for w in entry["withheld"]}  # type: ignore[attr-defined]
    assert withheld["file.sha256"] == "original_contact"
    ok, checks, notes = verified(tmp_path, ctx, data)
    assert ok, [c for c in checks if not c[1]]
    assert any("withheld whole (committed), reason: original_contact" in n for n in notes)


def test_preview_shows_the_original_and_what_keeps_it(
        tmp_path: Path, ctx_team: tuple[NodeContext, Team]) -> None:  # noqa: F811
    ctx, team = ctx_team
    report_id, original = imported(tmp_path, ctx)
    shown = preview.build(ctx.bundles.plan(team.coordinator, report_id))
    [row] = [f for f in shown.files if f.key == "original"]
    assert (row.name, row.disclose, row.why, row.size) == (
        "evidence/original.json", True, "original", len(original))
    # the coordinator withholds it: nothing of it leaves
    choices = Choices(withhold_items=frozenset({"original"}), withhold_reason="not_relevant")
    shown = preview.build(ctx.bundles.plan(team.coordinator, report_id, choices))
    [row] = [f for f in shown.files if f.key == "original"]
    assert (row.disclose, row.why) == (False, "coordinator")
    files = unpacked(ctx.bundles.export(team.coordinator, report_id, choices=choices))
    assert "evidence/original.json" not in files
    assert original_entry(files)["withheld"]


def test_original_is_kept_when_a_legal_use_answer_is_withheld(
        tmp_path: Path, ctx_team: tuple[NodeContext, Team]) -> None:  # noqa: F811
    ctx, team = ctx_team
    report_id, _ = imported(tmp_path, ctx)
    choices = Choices(withhold_groups=frozenset({"place"}), withhold_reason="others_safety")
    files = unpacked(ctx.bundles.export(team.coordinator, report_id, choices=choices))
    entry = original_entry(files)
    assert entry.get("file") is None
    assert {w["name"]: w["why"] for w in entry["withheld"]}[  # type: ignore[attr-defined]
        "file.sha256"] == "original_more"


@pytest.mark.parametrize(("mime", "data", "flagged"), [
    ("application/json", b'{"_id": 123456789, "t": "2026-11-01T10:00:00.000+01:00",'
                         b' "u": "uuid:7d1c1c8e-5a0b-4c1e-9f5e-1b2a3c4d5e01"}', False),
    ("application/json", b'{"meta/deviceid": "imei:356938035643809"}', True),
    ("text/csv", b"KEY,phone\r\nuuid:0b1e6b4c-3d2a-4f5e-8a9b-000000000001,a@b.org\r\n", True),
    ("application/xml", b"<data><meta><instanceID>uuid:0b1e6b4c-3d2a-4f5e-8a9b-000000000001"
                        b"</instanceID></meta><n>words</n></data>", False),
    ("application/xml", b"<data><n>+243 81 555 0100</n></data>", True),
])
def test_original_flags(mime: str, data: bytes, flagged: bool) -> None:
    assert bool(original_flags(data, mime)) == flagged
