"""A CSRF token that is not ASCII is refused like any wrong token (issue 13, item 8): it
gave a 500, because `hmac.compare_digest` raises TypeError on a non-ASCII str."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from node import errors
from node.web.security import check_csrf
from tests.integration.conftest import csrf_of

NON_ASCII = ("é" * 8, "токен", "رمز", "\u0000\u00ff")


@settings(max_examples=200, deadline=None)
@given(given_token=st.one_of(st.text(max_size=80), st.binary(max_size=20), st.none()))
def test_check_csrf_refuses_anything_but_the_token(given_token: object) -> None:
    expected = "a-session-token"
    if given_token == expected:
        check_csrf(expected, given_token)
        return
    with pytest.raises(errors.SessionExpired):
        check_csrf(expected, given_token)


@pytest.mark.parametrize("token", NON_ASCII)
async def test_non_ascii_tokens_get_the_expired_page_not_a_500(
        client: TestClient[Any, Any], token: str) -> None:
    r = await client.get("/en/report/who")
    csrf_of(await r.text())
    # the reporter's session now exists (the first form starts it); post with a bad token
    r = await client.post("/en/report/who", data={"csrf": csrf_of(await r.text()),
                                                  "reporter_role": "survivor", "go": "next"},
                          allow_redirects=False)
    assert r.status == 303
    r = await client.post("/en/report/what", data={"csrf": token, "narrative": "x",
                                                   "go": "next"}, allow_redirects=False)
    assert r.status == 403, await r.text()
    r = await client.get("/staff/login")
    csrf_of(await r.text())
    r = await client.post("/staff/login", data={"csrf": token, "username": "someone",
                                                "passphrase": "whatever it is"},
                          allow_redirects=False)
    assert r.status == 403, await r.text()
