"""Stronger staff passphrases (issue 13, item 7): zxcvbn's estimate with a minimum score,
our own translated advice (never the estimator's English), and suggested passphrases of
random words from a shipped list per language, on the real invitation page."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from node import accounts, invitations, passphrase_strength
from node import passphrase_strength as ps
from node.context import NodeContext
from node.web.failures import status_of
from tests.conftest import ADMIN, ADMIN_PASSPHRASE
from tests.integration.conftest import csrf_of
from tests.team import PASSPHRASE

# What the estimator itself would have said, in English: none of it may reach a page.
ZXCVBN_ENGLISH = ("Straight rows of keys are easy to guess", "This is a top-10 common password",
                  "Add another word or two. Uncommon words are better.",
                  "Repeats like", "Sequences like", "Dates are often easy to guess")


@pytest.mark.parametrize(("weak", "problem"), [
    ("qwertyuiopasdfgh", ps.COMMON), ("aaaaaaaaaaaaaaaa", ps.REPEATS),
    ("abcdefghijklmnop", ps.SEQUENCE), ("p@ssw0rd1234", ps.COMMON),
    ("amina-amina-2024", ps.PERSONAL), ("zxcvbnm,./asdfg", ps.KEYBOARD),
])
def test_weak_passphrases_are_refused_with_our_advice(weak: str, problem: str) -> None:
    found = ps.strength(weak, ("amina",))
    assert not found.acceptable and problem in found.problems
    with pytest.raises(accounts.GuessablePassphrase) as refused:
        accounts.check_passphrase(weak, ("amina",))
    assert status_of(refused.value) == 400
    assert refused.value.params["advice"] in passphrase_strength.ADVICE.values()


@pytest.mark.parametrize("strong", [ADMIN_PASSPHRASE, PASSPHRASE, "demo passphrase not secret"])
def test_the_passphrases_the_project_uses_pass(strong: str) -> None:
    accounts.check_passphrase(strong)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=300))
def test_the_estimate_of_any_text_gives_known_codes(text: str) -> None:
    found = ps.strength(text, ("someone",))
    assert 0 <= found.score <= 4
    assert set(found.problems) <= set(passphrase_strength.ADVICE)
    assert (found.problems == ()) == found.acceptable


@pytest.mark.parametrize("lang", ["en", "fr", "ar", "sw", "uk"])
def test_suggestions_are_random_words_of_the_language_or_english(lang: str) -> None:
    pool = set(passphrase_strength.words(lang))
    own = "fr" if lang == "fr" else "en"
    assert pool == set(passphrase_strength.words(own))
    first, second = passphrase_strength.suggest(lang), passphrase_strength.suggest(lang)
    assert first != second
    for suggestion in (first, second):
        chosen = suggestion.split(" ")
        assert set(chosen) <= pool
        assert len(chosen) * len(pool).bit_length() >= passphrase_strength.SUGGESTION_BITS
        accounts.check_passphrase(suggestion)  # a suggestion always passes


async def test_the_invitation_page_suggests_and_refuses_in_the_persons_language(
        client: TestClient[Any, Any], node_ctx: NodeContext) -> None:
    admin = accounts.unlock(node_ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
    code = invitations.invite(node_ctx.db, node_ctx.audit, admin.member.id, "amina",
                              ["caseworker"], int(node_ctx.clock().timestamp()))
    path = f"/staff/invite/{code}"
    french = {"Accept-Language": "fr"}
    r = await client.get(path, headers=french)
    page = html_lib.unescape(await r.text())
    found = re.search(r'id="suggestion">[^:]*:\s*([^<]+)<', page)
    assert found
    suggested = found.group(1).strip().split(" ")
    assert set(suggested) <= set(passphrase_strength.words("fr"))
    for weak, advice in (("qwertyuiopasdfgh", passphrase_strength.ADVICE[ps.COMMON]),
                         ("amina amina amina", passphrase_strength.ADVICE[ps.PERSONAL])):
        r = await client.post(path, headers=french, allow_redirects=False, data={
            "csrf": csrf_of(page), "passphrase": weak, "repeat": weak})
        answer = html_lib.unescape(await r.text())
        assert r.status == 400
        translated = node_ctx.catalogues.get("fr").gettext(advice)
        assert translated != advice and translated in answer  # our message, in French
        assert "4" in answer
        assert not any(english in answer for english in ZXCVBN_ENGLISH)
        page = answer
    r = await client.post(path, headers=french, allow_redirects=False, data={
        "csrf": csrf_of(page), "passphrase": " ".join(suggested),
        "repeat": " ".join(suggested)})
    assert r.status == 303, await r.text()
