"""The observatory's admin pages in the configured languages, on a real aiohttp server
(127.0.0.1): the language is the path's (``/admin/{lang}/…``, as ``/{lang}/…`` on the
public site), ``<html lang dir>`` follow it (Arabic right to left), and the forms' answers,
one-time messages and error pages are in the language of the page they came from."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from observatory.context import ObservatoryContext
from tests.unit.observatory.fakenode import FakeNode
from tests.unit.observatory.support import (
    PASSPHRASE,
    TEST_CONFIG,
    login_data,
    make_observatory,
    serving,
)

ALL_LANGUAGES = 'languages = ["en", "ar", "es", "fr", "pt", "sw", "uk"]'


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def html_tag(page: str) -> str:
    match = re.search(r"<html[^>]*>", page)
    assert match is not None
    return match.group(0)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[ObservatoryContext, str]]:
    """An observatory with two requests to join and one member."""
    assert ALL_LANGUAGES in TEST_CONFIG
    async with serving(make_observatory(tmp_path / "observatory")) as (ctx, running, _obs):
        now = int(time.time())
        nodes = [FakeNode(organisation_name=f"Org {i}") for i in range(3)]
        with ctx.db.write() as conn:
            for node in nodes:
                ctx.members.enroll_in(conn, node.membership_request(), now)
        ctx.members.approve(nodes[0].node_id, now)
        yield ctx, running.web_url


async def test_the_admin_pages_in_french(served: tuple[ObservatoryContext, str]) -> None:
    ctx, url = served
    waiting = ctx.members.with_status("pending")  # in no fixed order: node ids are random
    pending = [m.node_id for m in waiting]
    async with client() as http:
        async with http.get(f"{url}/admin/fr/login") as r:
            page = await r.text()
        assert r.status == 200 and html_tag(page) == '<html lang="fr" dir="ltr">'
        assert "Phrase secrète d’administration" in page and "Se connecter" in page
        assert 'action="/admin/fr/login"' in page and "Admin passphrase" not in page
        async with http.post(f"{url}/admin/fr/login",
                             data=await login_data(http, url, "fr", "wrong")) as r:
            assert r.status == 401
            assert "Cette phrase secrète n’est pas la bonne." in await r.text()
        async with http.post(f"{url}/admin/fr/login",
                             data=await login_data(http, url, "fr", PASSPHRASE),
                             allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/admin/fr/"
        async with http.get(f"{url}/admin/fr/") as r:
            page = await r.text()
        assert html_tag(page) == '<html lang="fr" dir="ltr">'
        for text in ("Administration de l’observatoire", "Alertes de bifurcation (0)",
                     "Demandes d’adhésion (2)", "Membres (1)", "Refusés et révoqués (0)",
                     "Approuver", "Refuser", "Révoquer", "Se déconnecter",
                     '<option value="key_compromised">Clé compromise</option>'):
            assert text in page, text
        for english in ("Requests to join", "Members (", "Approve", "Sign out", "Reason"):
            assert english not in page, english
        assert f'action="/admin/fr/requests/{pending[0]}/approve"' in page
        assert 'action="/admin/fr/logout"' in page
        csrf = csrf_of(page)

        # the answers to its forms, one-time messages included, are in French too
        async with http.post(f"{url}/admin/fr/requests/{pending[0]}/approve",
                             data={"csrf": csrf}) as r:
            assert str(r.url).endswith("/admin/fr/")
            assert f"{waiting[0].organisation_name} est maintenant membre." in await r.text()
        async with http.post(f"{url}/admin/fr/requests/{pending[1]}/reject",
                             data={"csrf": csrf, "reason": " "}) as r:
            assert ("Demande non refusée : un refus doit être motivé : l’organisation y a droit"
                    in await r.text())
        async with http.post(f"{url}/admin/fr/requests/{pending[1]}/approve",
                             data={"csrf": "forged"}) as r:
            page = await r.text()
        assert r.status == 403 and html_tag(page) == '<html lang="fr" dir="ltr">'
        assert "Non autorisé" in page and "Ce formulaire a expiré." in page
        async with http.post(f"{url}/admin/fr/logout", data={"csrf": csrf}) as r:
            assert str(r.url).endswith("/admin/fr/login") and "Se connecter" in await r.text()
    assert ctx.members.get(pending[0]).status == "approved"  # type: ignore[union-attr]
    assert ctx.members.get(pending[1]).status == "pending"  # type: ignore[union-attr]


async def test_the_admin_pages_in_arabic_are_right_to_left(
        served: tuple[ObservatoryContext, str]) -> None:
    ctx, url = served
    member = ctx.members.with_status("approved")[0].node_id
    async with client() as http:
        async with http.get(f"{url}/admin/ar/") as r:  # signed out: to the sign-in, in Arabic
            page = await r.text()
        assert str(r.url).endswith("/admin/ar/login")
        assert html_tag(page) == '<html lang="ar" dir="rtl">'
        assert "عبارة مرور المسؤول" in page and "تسجيل الدخول" in page
        async with http.post(f"{url}/admin/ar/login",
                             data=await login_data(http, url, "ar", PASSPHRASE)) as r:
            page = await r.text()
        assert str(r.url).endswith("/admin/ar/")
        assert html_tag(page) == '<html lang="ar" dir="rtl">'
        for text in ("إدارة المرصد", "طلبات الانضمام (2)", "الأعضاء (1)", "تسجيل الخروج"):
            assert text in page, text
        assert "Requests to join" not in page and "Sign out" not in page
        csrf = csrf_of(page)
        async with http.post(f"{url}/admin/ar/members/{member}/revoke",
                             data={"csrf": csrf, "reason": "misbehaviour"}) as r:
            page = await r.text()
        assert html_tag(page) == '<html lang="ar" dir="rtl">'
        assert "لم تعد Org 0 عضوًا" in page and "المرفوضون والملغاة عضويتهم (1)" in page
        # its status among the past decisions, and the time, kept left to right in the line
        assert re.search(r'<td>ملغاة <time datetime="[0-9-]+T[0-9:]+Z" dir="ltr">', page)
        async with http.post(f"{url}/admin/ar/requests/{'0' * 32}/approve",
                             data={"csrf": csrf}) as r:
            assert "لم يُقبل الطلب: لا يوجد طلب انضمام من هذه العقدة" in await r.text()
        async with http.post(f"{url}/admin/ar/requests/not-a-node-id/approve",
                             data={"csrf": csrf}) as r:
            page = await r.text()
        assert r.status == 404 and html_tag(page) == '<html lang="ar" dir="rtl">'
        assert "غير موجود" in page and 'href="/admin/ar/"' in page


async def test_the_language_can_change_without_signing_in_again(
        served: tuple[ObservatoryContext, str]) -> None:
    ctx, url = served
    pending = ctx.members.with_status("pending")[0].node_id
    async with client() as http:
        async with http.post(f"{url}/admin/sw/login",
                             data=await login_data(http, url, "sw", PASSPHRASE)) as r:
            page = await r.text()
        assert html_tag(page) == '<html lang="sw" dir="ltr">' and "Maombi ya kujiunga" in page
        # links to the same page in every other configured language, none to this one
        links = re.findall(r'<a href="(/admin/[a-z]+/)" lang="([a-z]+)" hreflang="\2">', page)
        assert links == [(f"/admin/{code}/", code) for code in ("en", "ar", "es", "fr", "pt",
                                                                    "uk")]
        async with http.post(f"{url}/admin/sw/requests/{pending}/reject",
                             data={"csrf": csrf_of(page), "reason": "x" * 1001}) as r:
            assert ("Ombi halijakataliwa: sababu haiwezi kuzidi herufi 1000"
                    in await r.text())
        async with http.get(f"{url}/admin/uk/") as r:  # the same session
            page = await r.text()
        assert html_tag(page) == '<html lang="uk" dir="ltr">'
        assert "Запити на приєднання (2)" in page
        async with http.get(f"{url}/admin/en/") as r:
            page = await r.text()
        assert html_tag(page) == '<html lang="en" dir="ltr">' and "Requests to join" in page
        async with http.get(f"{url}/admin/uk/login") as r:  # signed in: to the page
            assert str(r.url).endswith("/admin/uk/")


async def test_only_configured_languages_and_the_first_is_the_default(tmp_path: Path) -> None:
    root = make_observatory(tmp_path / "o", TEST_CONFIG.replace(
        ALL_LANGUAGES, 'languages = ["ar", "fr"]'))
    async with serving(root) as (_ctx, running, _obs), client() as http:
        url = running.web_url
        async with http.get(f"{url}/admin/", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/admin/ar/"
        async with http.get(f"{url}/admin/") as r:
            page = await r.text()
        assert str(r.url).endswith("/admin/ar/login")
        assert html_tag(page) == '<html lang="ar" dir="rtl">'
        assert re.findall(r'<a href="(/admin/[a-z]+/login)"', page) == ["/admin/fr/login"]
        for path in ("/admin/en/login", "/admin/xx/", "/admin/nope"):
            async with http.get(url + path) as r:
                page = await r.text()
            assert r.status == 404, path
            # an unknown language's error page is in the default one
            assert html_tag(page) == '<html lang="ar" dir="rtl">' and "غير موجود" in page
