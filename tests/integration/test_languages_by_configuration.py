"""Issue 20: a language added by configuration alone. An organisation drops a catalogue into
the folder `catalogues_dir` names and lists the language in node.toml (the observatory in
observatory.toml): reporter, staff and expert pages are then served in it, with its own name
in the language links and its direction from CLDR; a malformed catalogue stops `serve`
with an error naming the file and line. Real servers on 127.0.0.1, real data directories,
the real CLI in a subprocess."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from crypto import passphrase as pw
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.web.app import create_app
from tests.conftest import ROOT, make_node
from tests.conftest import test_config as node_config_text
from tests.integration.conftest import csrf_of
from tests.unit.observatory.support import TEST_CONFIG as OBSERVATORY_CONFIG
from tests.unit.observatory.support import make_observatory, serving

FAST = pw.INSECURE_FAST_FOR_TESTS

# A few strings of each kind of page, "translated" with a visible mark: what matters here is
# that the organisation's catalogue is the one served.
LINGALA = {
    "Leave this site": "Bimá na site oyo",
    "Staff sign-in": "[ln] Staff sign-in",
    "Expert sign-in": "[ln] Expert sign-in",
    "Sign in and unlock": "[ln] Sign in and unlock",
    "Shift presses left before leaving: %(count)s": "[ln] Shift: %(count)s",
}
PERSIAN = {"Leave this site": "خروج از این سایت"}


def po_text(code: str, messages: dict[str, str], *, header: bool = True) -> str:
    out = [f'msgid ""\nmsgstr "Language: {code}\\n"\n'] if header else []
    for msgid, msgstr in messages.items():
        out.append(f'\n#, python-format\nmsgid "{msgid}"\nmsgstr "{msgstr}"\n')
    return "".join(out)


def node_with_languages(root: Path, files: dict[str, str | bytes],
                        languages: str = '["en", "fr", "ln", "fa"]') -> DataDir:
    config = node_config_text().replace('languages = ["en", "fr", "ar", "sw", "uk"]',
                                   f'languages = {languages}\ncatalogues_dir = "locales"')
    assert "catalogues_dir" in config
    datadir = make_node(root)
    datadir.config.write_text(config, encoding="utf-8")  # as an operator edits it later
    folder = root / "locales"
    folder.mkdir()
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return datadir


@pytest.fixture
async def added(tmp_path: Path, aiohttp_client: Any) -> AsyncIterator[TestClient[Any, Any]]:
    datadir = node_with_languages(tmp_path / "node", {
        "ln.po": po_text("ln", LINGALA),
        # the gettext layout is read too; no header: the plural rule comes from CLDR
        "fa/LC_MESSAGES/messages.po": po_text("fa", PERSIAN, header=False)})
    ctx: NodeContext = open_node(datadir, staff_params=FAST, receipt_params=FAST)
    client = await aiohttp_client(create_app(ctx, {"public", "staff", "expert"}))
    yield client
    ctx.close()


def html_tag(page: str) -> str:
    match = re.search(r"<html[^>]*>", page)
    assert match is not None
    return match.group(0)


def language_links(page: str) -> dict[str, str]:
    """The picker: code -> the name shown for it."""
    found = re.findall(
        r'<a href="/(\w+)/[^"]*" lang="(\w+)" hreflang="\w+" dir="auto">([^<]+)</a>', page)
    assert all(href == code for href, code, _name in found)
    return {code: name for _href, code, name in found}


async def test_a_language_added_by_configuration_is_served_to_reporters(
        added: TestClient[Any, Any]) -> None:
    r = await added.get("/ln/")
    page = await r.text()
    assert r.status == 200
    assert html_tag(page) == '<html lang="ln" dir="ltr">'
    assert ">Bimá na site oyo</a>" in page and ">Leave this site<" not in page
    # a string the tiny catalogue leaves out is shown in English rather than failing
    assert "In danger now?" in page
    # the picker names every other language in itself, from CLDR
    assert language_links(page) == {"en": "English", "fr": "Français", "fa": "فارسی"}
    # and the other pages show Lingala in Lingala
    r = await added.get("/fr/")
    assert language_links(await r.text())["ln"] == "Lingála"
    # a browser asking for it gets it
    r = await added.get("/", headers={"Accept-Language": "ln, fr;q=0.5"}, allow_redirects=False)
    assert r.status in (302, 303) and r.headers["Location"].startswith("/ln/")


async def test_every_reporter_page_has_the_picker_but_the_one_showing_the_receipt(
        added: TestClient[Any, Any]) -> None:
    """The picker: native names, on every page of the report (no script needed: plain
    links), except while the receipt is shown, which leaving would lose."""
    expected = {"en": "English", "fr": "Français", "fa": "فارسی"}
    for path in ("/ln/", "/ln/services", "/ln/receipt", "/ln/report/who", "/ln/report/what",
                 "/ln/report/when", "/ln/report/where", "/ln/report/perpetrators",
                 "/ln/report/help", "/ln/report/consent", "/ln/report/files",
                 "/ln/report/review"):
        r = await added.get(path)
        page = await r.text()
        assert r.status == 200, path
        assert html_tag(page) == '<html lang="ln" dir="ltr">', path
        assert language_links(page) == expected, path
        assert '<nav class="langs"' in page, path
    token = csrf_of(await (await added.get("/ln/report/what")).text())
    r = await added.post("/ln/report/what", data={"csrf": token, "narrative": "synthetic",
                                                   "go": "next"}, allow_redirects=False)
    assert r.status == 303
    r = await added.post("/ln/report/review", data={"csrf": token, "go": "next"},
                         allow_redirects=False)
    assert r.status == 303
    page = await (await added.get("/ln/report/sent")).text()
    assert 'id="receipt-code"' in page and 'class="langs"' not in page
    # shown once: the page after it has the picker again
    page = await (await added.get("/ln/report/sent")).text()
    assert 'id="receipt-code"' not in page and language_links(page) == expected


async def test_a_right_to_left_language_added_by_configuration_is_laid_out_right_to_left(
        added: TestClient[Any, Any]) -> None:
    r = await added.get("/fa/")
    page = await r.text()
    assert r.status == 200
    assert html_tag(page) == '<html lang="fa" dir="rtl">'
    assert "خروج از این سایت" in page
    assert language_links(page)["ln"] == "Lingála"
    r = await added.get("/staff/login", headers={"Accept-Language": "fa"})
    assert html_tag(await r.text()) == '<html lang="fa" dir="rtl">'


async def test_staff_and_expert_pages_follow_the_nodes_languages(
        added: TestClient[Any, Any]) -> None:
    r = await added.get("/staff/login", headers={"Accept-Language": "ln"})
    page = await r.text()
    assert r.status == 200 and html_tag(page) == '<html lang="ln" dir="ltr">'
    assert "[ln] Staff sign-in" in page and "[ln] Sign in and unlock" in page
    r = await added.get("/expert/login", headers={"Accept-Language": "ln"})
    page = await r.text()
    assert r.status == 200 and html_tag(page) == '<html lang="ln" dir="ltr">'
    assert "[ln] Expert sign-in" in page and "[ln] Sign in and unlock" in page
    # a language the node was not configured with is not served
    r = await added.get("/staff/login", headers={"Accept-Language": "rw"})
    assert html_tag(await r.text()) == '<html lang="en" dir="ltr">'
    assert (await added.get("/rw/")).status == 404


async def test_a_compiled_catalogue_is_read_too(tmp_path: Path, aiohttp_client: Any) -> None:
    catalog = Catalog(locale="rw")
    catalog.add("Leave this site", "Va kuri uru rubuga")
    mo = io.BytesIO()
    write_mo(mo, catalog)
    datadir = node_with_languages(tmp_path / "node", {"rw.mo": mo.getvalue()}, '["en", "rw"]')
    ctx = open_node(datadir, staff_params=FAST, receipt_params=FAST)
    try:
        client = await aiohttp_client(create_app(ctx, {"public"}))
        page = await (await client.get("/rw/")).text()
        assert html_tag(page) == '<html lang="rw" dir="ltr">'
        assert "Va kuri uru rubuga" in page
        assert language_links(page) == {"en": "English"}
        assert language_links(await (await client.get("/en/")).text()) == {"rw": "Ikinyarwanda"}
    finally:
        ctx.close()


def serve_node(datadir: Path) -> subprocess.CompletedProcess[str]:
    """`backup-node serve` as an operator runs it; it must stop before serving."""
    return subprocess.run(
        [sys.executable, "-m", "node.cli", "serve", "--data", str(datadir), "--host",
         "127.0.0.1", "--port", "0"], capture_output=True, text=True, cwd=ROOT,
        env={**os.environ}, timeout=120, check=False)


BROKEN = 'msgid ""\nmsgstr ""\n\nmsgid "Leave this site"\nmsgstr "Bimá"\n\nthis is not gettext\n'


@pytest.mark.parametrize(("name", "content", "where", "why"), [
    ("ln.po", BROKEN, "ln.po:7", "malformed catalogue"),
    # a translation that would break the page it is on: an unknown placeholder
    ("ln.po", po_text("ln", {"Shift presses left before leaving: %(count)s": "%(conut)s"}),
     "ln.po:5", "%(conut)s"),
    # a percent sign that is not doubled where parameters follow
    ("ln.po", po_text("ln", {"Shift presses left before leaving: %(count)s": "100% %(count)s"}),
     "ln.po:5", "stray %"),
    ("ln.po", 'msgid ""\nmsgstr ""\n\nmsgid "Leave this site"\nmsgstr "\xff"\n'.encode("latin-1"),
     "ln.po:5", "not UTF-8"),
    ("ln.mo", b"\x00not a compiled catalogue", "ln.mo", "not a valid .mo"),
])
def test_a_malformed_catalogue_stops_the_node_at_start(
        tmp_path: Path, name: str, content: str | bytes, where: str, why: str) -> None:
    root = tmp_path / "node"
    node_with_languages(root, {name: content}, '["en", "ln"]')
    done = serve_node(root)
    assert done.returncode == 2, done.stderr
    assert f"{root / 'locales' / where}" in done.stderr and why in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_check_config_reads_the_catalogues_too(tmp_path: Path) -> None:
    """What an operator runs after editing node.toml: it names the broken line as well."""
    root = tmp_path / "node"
    node_with_languages(root, {"ln.po": BROKEN}, '["en", "ln"]')
    done = subprocess.run([sys.executable, "-m", "node.cli", "check-config", "--data", str(root)],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ},
                          timeout=120, check=False)
    assert done.returncode == 2 and f"{root / 'locales' / 'ln.po'}:7" in done.stderr
    (root / "locales" / "ln.po").write_text(po_text("ln", LINGALA), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "node.cli", "check-config", "--data", str(root)],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ},
                          timeout=120, check=False)
    assert done.returncode == 0 and "languages en, ln" in done.stdout


def test_a_configured_language_without_a_catalogue_stops_the_node(tmp_path: Path) -> None:
    root = tmp_path / "node"
    node_with_languages(root, {}, '["en", "ln"]')
    done = serve_node(root)
    assert done.returncode == 2
    assert "'ln'" in done.stderr and f"ln.po (or ln.mo) in {root / 'locales'}" in done.stderr


def test_a_language_without_locale_data_is_a_configuration_error(tmp_path: Path) -> None:
    root = tmp_path / "node"
    node_with_languages(root, {"zz.po": po_text("zz", {})}, '["en", "zz"]')
    done = serve_node(root)
    assert done.returncode == 2
    assert "languages.1" in done.stderr and "no locale data" in done.stderr


# -- the observatory: the same, with its own folder and configuration ------------------------

def observatory_with_languages(root: Path, files: dict[str, str],
                               languages: str = '["en", "ln", "ur"]') -> Path:
    config = re.sub(r"(?m)^languages = \[.*\]$",
                    f'languages = {languages}\ncatalogues_dir = "locales"', OBSERVATORY_CONFIG)
    assert "catalogues_dir" in config
    make_observatory(root, config)
    (root / "locales").mkdir()
    for name, content in files.items():
        (root / "locales" / name).write_text(content, encoding="utf-8")
    return root


async def test_the_observatory_serves_a_language_added_by_configuration(
        tmp_path: Path) -> None:
    root = observatory_with_languages(tmp_path / "observatory", {
        "ln.po": po_text("ln", {"Admin passphrase": "[ln] Admin passphrase"}),
        "ur.po": po_text("ur", {"Admin passphrase": "[ur] Admin passphrase"})})
    async with serving(root) as (_ctx, running, _address), aiohttp.ClientSession() as http:
        async with http.get(f"{running.web_url}/admin/ln/login") as r:
            page = await r.text()
        assert r.status == 200 and html_tag(page) == '<html lang="ln" dir="ltr">'
        assert "[ln] Admin passphrase" in page and "اردو" in page
        async with http.get(f"{running.web_url}/admin/ur/login") as r:
            page = await r.text()
        assert html_tag(page) == '<html lang="ur" dir="rtl">'
        assert "[ur] Admin passphrase" in page and "Lingála" in page
        async with http.get(f"{running.web_url}/ln/") as r:
            page = await r.text()
        assert r.status == 200 and html_tag(page) == '<html lang="ln" dir="ltr">'


def test_a_malformed_catalogue_stops_the_observatory_at_start(tmp_path: Path) -> None:
    root = observatory_with_languages(tmp_path / "observatory", {"ln.po": BROKEN}, '["en", "ln"]')
    done = subprocess.run(
        [sys.executable, "-m", "observatory.cli", "serve", "--data", str(root)],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ}, timeout=120, check=False)
    assert done.returncode != 0
    assert f"{root / 'locales' / 'ln.po'}:7" in done.stderr, done.stderr
    assert "malformed catalogue" in done.stderr and "Traceback" not in done.stderr


async def test_spanish_and_portuguese_are_served_as_shipped(tmp_path: Path,
                                                            aiohttp_client: Any) -> None:
    config = node_config_text().replace('languages = ["en", "fr", "ar", "sw", "uk"]',
                                        'languages = ["es", "pt", "en"]\ndefault_language = "es"'
                                        ).replace('default_language = "en"\n', "", 1)
    ctx = open_node(make_node(tmp_path / "node", config), staff_params=FAST,
                    receipt_params=FAST)
    try:
        client = await aiohttp_client(create_app(ctx, {"public", "staff"}))
        page = await (await client.get("/es/")).text()
        assert html_tag(page) == '<html lang="es" dir="ltr">'
        assert ">Salir de este sitio</a>" in page
        assert language_links(page) == {"pt": "Português", "en": "English"}
        page = await (await client.get("/pt/report/who")).text()
        assert ">Sair deste site</a>" in page and "Quem está a fazer este relato?" in page
        page = await (await client.get("/staff/login", headers={"Accept-Language": "pt-PT"})).text()
        assert html_tag(page) == '<html lang="pt" dir="ltr">' and "Entrada do pessoal" in page
        # no language asked for: the default
        page = await (await client.get("/staff/login")).text()
        assert "Inicio de sesión del personal" in page
    finally:
        ctx.close()
