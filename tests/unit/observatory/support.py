"""Shared by the observatory's unit and integration tests: a real observatory in a
temporary directory (smallest Argon2id parameters, the SecureDrop pattern, tests only), and
the same serving process as `backup-observatory serve` on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from crypto import passphrase as pw
from observatory.config import template_text
from observatory.context import ObservatoryContext, init_observatory, open_observatory
from observatory.server import Running, running
from observatory.web.sessions import LoginThrottle
from tests.unit.observatory.fakenode import ObservatoryAddress

PASSPHRASE = "observatory admin passphrase"

TEST_CONFIG = template_text().replace("secure_cookies = true", "secure_cookies = false")


def make_observatory(root: Path, config_text: str = TEST_CONFIG) -> Path:
    init_observatory(root, PASSPHRASE, config_text, pw.INSECURE_FAST_FOR_TESTS)
    return root


def address_of(ctx: ObservatoryContext, served: Running) -> ObservatoryAddress:
    return ObservatoryAddress(ctx.identity.node_id, ctx.identity.verify_key,
                              served.p2p.listen_addrs)


@asynccontextmanager
async def serving(root: Path, throttle: LoginThrottle | None = None
                  ) -> AsyncIterator[tuple[ObservatoryContext, Running, ObservatoryAddress]]:
    """`backup-observatory serve` in this process: web and libp2p on free loopback ports."""
    ctx = open_observatory(root)
    try:
        throttle = throttle or LoginThrottle(failure_pause=0)
        async with running(ctx, port=0, p2p_port=0, throttle=throttle) as served:
            yield ctx, served, address_of(ctx, served)
    finally:
        ctx.close()


async def login_data(http: aiohttp.ClientSession, url: str, lang: str, passphrase: str
                     ) -> dict[str, str]:
    """The sign-in form as a browser posts it: the page's CSRF token (its pre-session
    cookie is now in `http`'s jar) and `passphrase`."""
    async with http.get(f"{url}/admin/{lang}/login") as r:
        page = await r.text()
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None, page
    return {"csrf": match.group(1), "passphrase": passphrase}


def count_rows(ctx: ObservatoryContext, *tables: str) -> dict[str, int]:
    """Rows per table, to show that a refused message stored nothing."""
    tables = tables or ("members", "membership_lists", "witness_state",
                        "cosigned_checkpoints", "fork_alarms", "transport_seen")
    conn = ctx.db.read()
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in tables}
