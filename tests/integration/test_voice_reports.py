"""Voice recordings and spoken prompts (issue 20) against a real aiohttp server on
127.0.0.1: the narrative step and the receipt page take a recording through the same
encrypted attachment path as any file (the no-JavaScript form: a file input the phone
records with), sniffed by content; a non-sound file dressed as one is refused and nothing
is lost; the recording's bytes are in no file under the data directory; staff hear it;
the court scope asks about voice apart, not disclosed by default, down to the bundle;
spoken prompts are served with their type and never cached."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts
from node.config import ConfigError
from node.context import NodeContext, open_node
from node.demo import tiny_png
from node.intake.models import Consent, ReportInput
from node.web.app import create_app
from tests.audio_samples import mp4, ogg_opus, wav, webm
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, CANARY, files_containing, make_node
from tests.conftest import test_config as config_text
from tests.integration.conftest import csrf_of
from tests.integration.test_schema18_fixture import copy_fixture18
from tests.team import Team, make_team

VOICE = f"{CANARY}-voice ".encode() * 40  # the "sound": found on disk only if in clear


async def first_token(client: TestClient[Any, Any]) -> str:
    r = await client.get("/en/report/what")
    assert r.status == 200
    return csrf_of(await r.text())


def what_form(token: str, narrative: str, voice: tuple[str, bytes, str] | None,
              go: str = "next") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("csrf", token)
    form.add_field("narrative", narrative)
    if voice is None:  # an input left empty, as a browser sends it
        form.add_field("voice", b"", filename="", content_type="application/octet-stream")
    else:
        form.add_field("voice", voice[1], filename=voice[0], content_type=voice[2])
    form.add_field("go", go)
    return form


async def send(client: TestClient[Any, Any], token: str) -> tuple[str, str]:
    r = await client.post("/en/report/review", data={"csrf": token, "go": "next"},
                          allow_redirects=False)
    assert r.status == 303, await r.text()
    html = await (await client.get("/en/report/sent")).text()
    code = html.split('id="receipt-code">')[1].split("<")[0]
    secret = html.split('id="receipt-secret">')[1].split("<")[0]
    return code, secret


async def staff_login(client: TestClient[Any, Any]) -> None:
    token = csrf_of(await (await client.get("/staff/login")).text())
    r = await client.post("/staff/login", data={"csrf": token, "username": ADMIN,
                                                "passphrase": ADMIN_PASSPHRASE},
                          allow_redirects=False)
    assert r.status == 303


async def test_the_narrative_step_takes_a_recording_without_javascript(
        client: TestClient[Any, Any], node_ctx: NodeContext) -> None:
    r = await client.get("/en/report/what")
    html = await r.text()
    assert 'enctype="multipart/form-data"' in html
    assert 'name="voice" accept="audio/*" capture' in html  # the phone's own recorder
    assert 'src="/static/voice.js"' in html
    token = csrf_of(html)
    clip = webm(VOICE)
    r = await client.post("/en/report/what", data=what_form(
        token, f"{CANARY} in words too", ("recording.webm", clip, "audio/webm")),
        allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/en/report/when"
    review = await (await client.get("/en/report/review")).text()
    assert "Sound recordings: 1" in review and f"{CANARY} in words too" in review
    # the step again: the recording is shown as kept, and an empty input adds nothing
    page = await (await client.get("/en/report/what")).text()
    assert "Recordings kept:" in page and "recording.webm" in page
    r = await client.post("/en/report/what", data=what_form(token, "edited", None),
                          allow_redirects=False)
    assert r.status == 303
    code, _ = await send(client, token)
    assert code
    root = node_ctx.datadir.root
    assert files_containing(root, VOICE[:64]) == []
    assert files_containing(root, CANARY.encode()) == []

    # staff find it in the case as sound, byte for byte
    await staff_login(client)
    [report_id] = [r[0] for r in node_ctx.db.read().execute("SELECT id FROM reports")]
    page = await (await client.get(f"/staff/cases/{report_id}")).text()
    assert "recording.webm" in page and "audio/webm" in page
    item = page.split(f"/staff/cases/{report_id}/files/")[1].split('"')[0]
    r = await client.get(f"/staff/cases/{report_id}/files/{item}")
    assert r.status == 200 and await r.read() == clip
    assert r.headers["X-Original-Type"] == "audio/webm"
    # or heard in the page, without saving it to the staff's disk
    listen = f"/staff/cases/{report_id}/files/{item}?listen=1"
    assert f'<audio controls preload="none" src="{listen}"' in page
    r = await client.get(f"/staff/cases/{report_id}/files/{item}?listen=1")
    assert r.status == 200 and r.content_type == "audio/webm" and await r.read() == clip
    assert "Content-Disposition" not in r.headers
    assert r.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"


@pytest.mark.parametrize("name,content,declared", [
    ("clip.webm", tiny_png(3) + b"\x00" * 9000, "audio/webm"),  # a photo named as sound
    ("clip.ogg", webm(b"frames " * 2000, video=True), "audio/ogg"),  # a video
    ("clip.wav", b"%PDF-1.7\n" + b"x" * 100, "audio/wav"),  # a document
    ("clip.m4a", b"<!doctype html><script>alert(1)</script>", "audio/mp4"),  # markup
])
async def test_a_file_dressed_as_sound_is_refused_and_nothing_is_lost(
        client: TestClient[Any, Any], node_ctx: NodeContext, name: str, content: bytes,
        declared: str) -> None:
    token = await first_token(client)
    r = await client.post("/en/report/what", data=what_form(
        token, "my words stay", (name, content, declared)), allow_redirects=False)
    assert r.status in (400, 415)
    html = await r.text()
    assert name in html and "my words stay" in html
    review = await (await client.get("/en/report/review")).text()
    assert "my words stay" in review and "Sound recordings" not in review
    staged = [p for p in node_ctx.datadir.blobs.rglob("*") if p.is_file()]
    assert staged == []  # nothing kept of the refused file


@pytest.mark.parametrize("sample", [wav, ogg_opus, mp4])
async def test_an_addition_takes_a_recording_and_refuses_a_non_sound(
        client: TestClient[Any, Any], node_ctx: NodeContext, sample: Any) -> None:
    token = await first_token(client)
    r = await client.post("/en/report/what", data=what_form(token, "first words", None),
                          allow_redirects=False)
    assert r.status == 303
    code, secret = await send(client, token)
    r = await client.get("/en/receipt")
    r = await client.post("/en/receipt", data={"csrf": csrf_of(await r.text()),
                                               "receipt": code, "secret": secret})
    html = await (await client.get("/en/receipt/report")).text()
    assert 'name="voice" accept="audio/*" capture' in html
    form = aiohttp.FormData()
    form.add_field("csrf", csrf_of(html))
    form.add_field("text", "")
    form.add_field("voice", sample(VOICE), filename="later", content_type="audio/x-anything")
    r = await client.post("/en/receipt/add", data=form, allow_redirects=False)
    assert r.status == 303, await r.text()
    form = aiohttp.FormData()
    form.add_field("csrf", csrf_of(html))
    form.add_field("voice", tiny_png(2), filename="photo.m4a", content_type="audio/mp4")
    r = await client.post("/en/receipt/add", data=form, allow_redirects=False)
    assert r.status in (400, 415) and "photo.m4a" in await r.text()
    key = accounts.unlock(node_ctx.db.read(), ADMIN, ADMIN_PASSPHRASE).intake_key
    assert key is not None
    from tests import intake_views
    [view] = intake_views.list_reports(node_ctx, key)
    full = intake_views.read_report(node_ctx, key, view.id)
    sounds = [i for i in full.items if i.kind == "attachment"]
    assert len(sounds) == 1 and sounds[0].meta["mime"].startswith("audio/")
    assert files_containing(node_ctx.datadir.root, VOICE[:64]) == []


# ------------------------------------------------------------------ court scope

def consent_rows(ctx: NodeContext) -> list[tuple[int, int]]:
    return [tuple(r) for r in ctx.db.read().execute(
        "SELECT legal, court_voice FROM consent_events ORDER BY id")]


async def test_voice_is_asked_apart_and_not_disclosed_by_default(
        client: TestClient[Any, Any], node_ctx: NodeContext) -> None:
    html = await (await client.get("/en/report/consent")).text()
    assert 'value="court_voice">' in html  # offered, not ticked
    assert 'value="court_files" checked' in html
    token = csrf_of(html)
    for step, data in (("what", {"narrative": "n"}), ("consent", {"consent": ["legal"]})):
        form = aiohttp.FormData()
        form.add_field("csrf", token)
        for k, v in data.items():
            for item in v if isinstance(v, list) else [v]:
                form.add_field(k, item)
        r = await client.post(f"/en/report/{step}", data=form, allow_redirects=False)
        assert r.status == 303
    code, secret = await send(client, token)
    assert consent_rows(node_ctx) == [(1, 0)]
    # the reporter says yes later, on the receipt page, into the same history and tag
    r = await client.get("/en/receipt")
    await client.post("/en/receipt", data={"csrf": csrf_of(await r.text()), "receipt": code,
                                           "secret": secret})
    html = await (await client.get("/en/receipt/report")).text()
    assert 'value="court_voice">' in html
    r = await client.post("/en/receipt/consent", data={
        "csrf": csrf_of(html), "consent": ["legal"], "court": ["court_narrative", "court_voice"]},
        allow_redirects=False)
    assert r.status == 303
    assert consent_rows(node_ctx) == [(1, 0), (1, 1)]
    [rid] = [r[0] for r in node_ctx.db.read().execute("SELECT id FROM reports")]
    assert node_ctx.intake.consent.verify(node_ctx.db.read(), rid)["consent_court_voice"] == 1


def submit_with_recording(ctx: NodeContext, consent: Consent) -> str:
    key = DataKey.generate()
    allowance = ctx.intake.allowance()
    staged = []
    for name, content in (("photo.png", tiny_png(4)), ("recording.webm", webm(VOICE))):
        w = ctx.intake.attachment_writer(key, allowance, name)
        w.feed(content)
        staged.append(w.finish())
    return ctx.intake.submit(ReportInput(narrative="n", consent=consent), key, staged,
                             "test").report_id


def exported_files(data: bytes) -> dict[str, Any]:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def verified(ctx: NodeContext, data: bytes, tmp_path: Path) -> dict[str, Any]:
    from backup_evidence.verify import verify_bundle

    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    report = verify_bundle(str(path), ctx.keys.identity_public.raw().hex())
    assert report.ok, [c for c in report.checks if not c[1]]
    return exported_files(data)


def test_the_bundle_honours_the_voice_scope(node_ctx: NodeContext, tmp_path: Path) -> None:
    team: Team = make_team(node_ctx)
    withheld = submit_with_recording(node_ctx, Consent(legal=True))
    files = verified(node_ctx, node_ctx.bundles.export(team.coordinator, withheld), tmp_path)
    assert not any(n.endswith(".weba") for n in files)  # the voice stays
    assert any(n.endswith(".png") for n in files)  # the photo goes (court_files)
    assert VOICE[:64] not in b"".join(files.values())
    manifest = json.loads(files["manifest.json"])
    sound = [i for i in manifest["items"] if any(
        w["why"] == "reporter" for w in i.get("withheld", []))]
    assert len(sound) == 1
    given = submit_with_recording(node_ctx, Consent(legal=True, court_voice=True,
                                                    court_files=False))
    files = verified(node_ctx, node_ctx.bundles.export(team.coordinator, given), tmp_path)
    assert any(n.endswith(".weba") for n in files) and not any(
        n.endswith(".png") for n in files)
    assert VOICE[:64] in b"".join(files.values())


def test_consents_from_before_default_to_not_disclosed(tmp_path: Path) -> None:
    datadir, answers = copy_fixture18(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        assert {r[0] for r in conn.execute("SELECT consent_court_voice FROM reports")} == {0}
        assert {r[0] for r in conn.execute("SELECT court_voice FROM consent_events")} == {0}
        # every consent tag written before the column existed still verifies
        ids = [r[0] for r in conn.execute("SELECT id FROM reports")]
        assert ids and ctx.intake.consent.unverified_reports(conn, ids) == []
        admin = accounts.unlock(conn, str(answers["admin"]), str(answers["passphrase"]))
        consent = ctx.cases.read(admin, str(answers["canary_report_id"])).report.consent
        assert consent.court_voice is False and "court_voice" not in consent.court_scope()
    finally:
        ctx.close()


# ------------------------------------------------------------------ spoken prompts

PROMPTS_CONFIG = """
[spoken_prompts]
directory = "{folder}"
[spoken_prompts.files.en]
what = "what-en.wav"
safety = "safety-en.ogg"
"""


async def test_spoken_prompts_are_served_on_demand_and_never_cached(
        tmp_path: Path, aiohttp_client: Any) -> None:
    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / "what-en.wav").write_bytes(wav(b"\x80" * 800))
    (folder / "safety-en.ogg").write_bytes(ogg_opus(b"\x00" * 400))
    datadir = make_node(tmp_path / "node", config_text() + PROMPTS_CONFIG.format(
        folder=folder))
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        client = await aiohttp_client(create_app(ctx))
        page = await (await client.get("/en/report/what")).text()
        assert '<audio controls preload="none" src="/prompts/en/what"' in page
        assert "autoplay" not in page
        assert "/prompts/" not in await (await client.get("/en/report/when")).text()
        assert "/prompts/" not in await (await client.get("/fr/report/what")).text()
        assert 'src="/prompts/en/safety"' in await (await client.get("/en/")).text()
        r = await client.get("/prompts/en/what")
        assert r.status == 200 and r.content_type == "audio/wav"
        assert "no-store" in r.headers["Cache-Control"]
        assert await r.read() == wav(b"\x80" * 800)
        r = await client.get("/prompts/en/safety")
        assert r.content_type == "audio/ogg"
        assert (await client.get("/prompts/fr/what")).status == 404
        assert (await client.get("/prompts/en/..%2Fnode.toml")).status == 404
        csp = r.headers["Content-Security-Policy"]
        assert "media-src 'self' blob:" in csp
    finally:
        ctx.close()


def test_a_missing_or_non_sound_prompt_stops_the_node(tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / "safety-en.ogg").write_bytes(ogg_opus(b"\x00" * 400))
    datadir = make_node(tmp_path / "node", config_text() + PROMPTS_CONFIG.format(
        folder=folder))
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        with pytest.raises(ConfigError, match=r"what-en\.wav"):
            create_app(ctx)
        (folder / "what-en.wav").write_bytes(b"<html>not a sound</html>")
        with pytest.raises(ConfigError, match="not a sound file"):
            create_app(ctx)
    finally:
        ctx.close()


def test_the_demo_ships_a_synthetic_spoken_prompt(tmp_path: Path) -> None:
    from node.demo import DEMO_CONFIG, copy_demo_prompts
    from node.web.reporter import prompts

    datadir = make_node(tmp_path / "demo", DEMO_CONFIG)
    copy_demo_prompts(datadir)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        loaded = prompts.load(ctx.config, datadir.root)
        assert loaded[("en", "what")].mime == "audio/wav"
        assert len(loaded[("en", "what")].body) < 100_000
    finally:
        ctx.close()


def test_the_template_documents_spoken_prompts() -> None:
    import re
    import tomllib

    from node import config

    text = config.template_text()
    start = text.index("# [spoken_prompts]")
    block = text[start:text.index("\n\n", start)]
    section = "\n".join(re.sub(r"^# ?", "", line) for line in block.splitlines())
    cfg = config.parse(tomllib.loads(section))
    assert cfg.spoken_prompts.files["en"] == {"what": "what-en.ogg", "safety": "safety-en.ogg"}
