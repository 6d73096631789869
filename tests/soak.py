"""A soak of hostile traffic mixed with genuine reporters (issue 11), against a real node server
(`node.server.running`) on 127.0.0.1. Run bounded by `tests/integration/test_soak.py`, which
asserts outcomes, and at a larger scale by `bench/bench_soak.py`, which measures them.

The node trusts 127.0.0.1 as its reverse proxy, so each client names its own address in
`X-Forwarded-For` (documentation ranges, one per client); a request without that header is
what an onion service sends: every Tor user on one shared address.

Two phases on one server:
- clearnet: genuine reporters, each from its own address, start a report (with a small
  attachment) before the attack and finish it during it, while hostile sources flood
  cookieless visits and new sessions, guess the coordinator's passphrase, stage uploads
  until refused and send the malformed bodies of issue 11; the coordinator signs in during
  the attack;
- shared onion: genuine Tor reporters start a report, then hostile Tor clients (no header,
  fresh form tokens) fill the session store and send malformed requests while the genuine
  ones finish.
Every genuine report is then read back by the coordinator in the staff office.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp

from node.context import NodeContext
from node.demo import tiny_png
from node.server import Site, running
from node.web.app import PARTS
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, test_config
from tests.integration.conftest import csrf_of
from tests.integration.test_malformed_requests import CASES as MALFORMED

MB = 1024 * 1024
CODE = re.compile(r'id="receipt-code">([^<]+)<')
SECRET = re.compile(r'id="receipt-secret">([^<]+)<')
T = TypeVar("T")

# What each kind of hostile request may be answered; anything else is a defect.
ALLOWED: dict[str, set[int]] = {
    "visit": {200},                     # and never a session cookie
    "session": {303, 429, 503},         # a new session; too many from this source; store full
    "guess": {401, 429, 503},           # wrong passphrase (or held back); rate; gate busy
    "stage": {303, 413, 429, 503},      # staged; draft allowance; rate or cap; total cap
    "malformed": {400, 413, 415},
}


@dataclass(frozen=True)
class SoakPlan:
    reporters: int = 6            # genuine clearnet reporters, one address each
    onion_reporters: int = 3      # genuine reporters behind the onion service
    flooders: int = 4             # hostile clearnet sources flooding visits and sessions
    visits: int = 30              # cookieless GETs per flooder
    session_posts: int = 25       # token-bearing POSTs per flooder (each a new session)
    guessers: int = 8             # hostile sources guessing the coordinator's passphrase
    guesses: int = 3              # wrong passphrases per guesser
    stagers: int = 2              # hostile sources staging uploads
    stage_sessions: int = 2       # sessions per stager
    stage_uploads: int = 3        # uploads per stager session
    stage_bytes: int = MB         # size of each staged file
    malformed_rounds: int = 2     # times each malformed body is sent, per phase
    onion_session_posts: int = 150  # fresh-token session POSTs from hostile Tor clients
    attachment_bytes: int = 2000  # a genuine reporter's file
    pace: float = 0.0             # seconds a genuine reporter pauses between steps
    stagger: float = 0.0          # reporter i resumes i * stagger seconds into the attack
    coordinator_delay: float = 0.05  # seconds into the attack before the coordinator signs in


def soak_config(max_sessions: int = 120, staged_mb_total: int = 16,
                staged_mb_per_source: int = 3, staged_mb_per_session: int = 2) -> str:
    """The test configuration with the production rate limits, the proxy on 127.0.0.1 and
    small caps on drafts (so that the attack reaches them)."""
    text = test_config().replace(
        "reports_per_minute = 1000\nreceipt_attempts_per_minute = 1000\n"
        "staff_logins_per_minute = 1000\n",
        'trusted_proxies = ["127.0.0.1"]\n')
    return text + (f"\n[drafts]\nmax_sessions = {max_sessions}\n"
                   f"staged_mb_per_session = {staged_mb_per_session}\n"
                   f"staged_mb_per_source = {staged_mb_per_source}\n"
                   f"staged_mb_total = {staged_mb_total}\n")


@dataclass
class Genuine:
    """One genuine reporter's run."""

    tag: str
    onion: bool
    receipt: tuple[str, str] | None = None
    draft_kept: bool = False     # the review page still showed their words and their file
    read_by_staff: bool = False
    retries: int = 0             # 429/503 answers they had to wait out
    failure: str = ""


@dataclass
class Outcome:
    genuine: list[Genuine] = field(default_factory=list)
    hostile: Counter[tuple[str, int]] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)   # statuses no request may get
    latencies: dict[str, list[float]] = field(default_factory=dict)  # genuine steps
    coordinator_attempts: int = 0
    coordinator_signed_in: bool = False
    coordinator_seconds: float = 0.0
    requests: int = 0
    seconds: float = 0.0
    phases: dict[str, tuple[float, int]] = field(default_factory=dict)  # seconds, requests
    store_full_after: float | None = None  # seconds into an attack until a session got 503

    @property
    def accepted(self) -> int:
        return sum(1 for g in self.genuine if g.receipt and g.read_by_staff)

    @property
    def drafts_lost(self) -> int:
        return sum(1 for g in self.genuine if not g.draft_kept)

    def hostile_by_status(self) -> dict[str, Counter[int]]:
        out: dict[str, Counter[int]] = {}
        for (kind, status), n in self.hostile.items():
            out.setdefault(kind, Counter())[status] += n
        return out


class Soak:
    def __init__(self, base: str, plan: SoakPlan) -> None:
        self.base = base
        self.plan = plan
        self.out = Outcome()

    # ------------------------------------------------------------ plumbing

    @staticmethod
    def _headers(source: str | None) -> dict[str, str]:
        return {"X-Forwarded-For": source} if source else {}

    async def _send(self, http: aiohttp.ClientSession, method: str, path: str,
                    source: str | None, **kw: Any) -> tuple[int, str, aiohttp.ClientResponse]:
        headers = {**self._headers(source), **kw.pop("headers", {})}
        async with http.request(method, self.base + path, headers=headers,
                                allow_redirects=False, **kw) as r:
            body = await r.text(errors="replace")
        self.out.requests += 1
        return r.status, body, r

    def _hostile(self, kind: str, status: int, path: str) -> None:
        self.out.hostile[(kind, status)] += 1
        if kind == "session" and status == 503 and self.out.store_full_after is None:
            self.out.store_full_after = time.perf_counter() - self.attack_started
        if status not in ALLOWED[kind]:
            self.out.unexpected.append(f"hostile {kind} {path}: {status}")

    async def _timed(self, step: str, work: Awaitable[T]) -> T:
        started = time.perf_counter()
        result = await work
        self.out.latencies.setdefault(step, []).append(time.perf_counter() - started)
        return result

    # ------------------------------------------------------------ genuine reporters

    async def _genuine_post(self, g: Genuine, http: aiohttp.ClientSession, step: str,
                            path: str, source: str | None, make_data: Callable[[], Any]
                            ) -> tuple[int, str, aiohttp.ClientResponse]:
        """A genuine step, waiting out 429/503 (as a person told "try again" would)."""
        for _ in range(30):
            status, body, r = await self._timed(
                step, self._send(http, "POST", path, source, data=make_data()))
            if status not in (429, 503):
                break
            g.retries += 1
            await asyncio.sleep(0.5)
        if status >= 500:
            self.out.unexpected.append(f"genuine {step}: {status}")
        return status, body, r

    async def start_report(self, g: Genuine, http: aiohttp.ClientSession, source: str | None
                           ) -> str:
        """Open the form, answer the first two steps and attach a file: the draft exists."""
        status, html, _ = await self._timed(
            "visit", self._send(http, "GET", "/en/report/who", source))
        token = csrf_of(html)
        for step, answers in (("who", {"reporter_role": "survivor"}),
                              ("what", {"narrative": f"{g.tag} what happened to me"})):
            status, html, _ = await self._genuine_post(
                g, http, step, f"/en/report/{step}", source,
                lambda a=answers: {"csrf": token, **a, "go": "next"})
            if status != 303:
                g.failure = f"{step}: {status}"
                return token

        def upload() -> aiohttp.FormData:
            form = aiohttp.FormData()
            form.add_field("csrf", token)
            form.add_field("files", io.BytesIO(tiny_png(3) + b"\0" * self.plan.attachment_bytes),
                           filename=f"{g.tag}.png", content_type="image/png")
            form.add_field("go", "next")
            return form

        status, html, _ = await self._genuine_post(g, http, "upload", "/en/report/files",
                                                   source, upload)
        if status != 303:
            g.failure = f"upload: {status}"
        return token

    async def finish_report(self, g: Genuine, http: aiohttp.ClientSession, source: str | None,
                            token: str) -> None:
        if g.failure:
            return
        rest = (("when", {"incident_month": "2", "incident_year": "2026"}),
                ("where", {"region": "R1"}), ("perpetrators", {}),
                ("help", {"needs": "medical"}), ("consent", {"consent": "care"}))
        for step, answers in rest:
            await asyncio.sleep(self.plan.pace)
            status, _, _ = await self._genuine_post(
                g, http, step, f"/en/report/{step}", source,
                lambda a=answers: {"csrf": token, **a, "go": "next"})
            if status != 303:
                g.failure = f"{step}: {status}"
                return
        status, html, _ = await self._timed("review", self._send(http, "GET", "/en/report/review",
                                                                 source))
        g.draft_kept = status == 200 and g.tag in html and f"{g.tag}.png" in html
        if not g.draft_kept:
            g.failure = f"review: {status}, draft gone"
            return
        status, _, r = await self._genuine_post(g, http, "send", "/en/report/review", source,
                                                lambda: {"csrf": token, "go": "next"})
        if status != 303 or r.headers.get("Location") != "/en/report/sent":
            g.failure = f"send: {status}"
            return
        status, html, _ = await self._timed("receipt", self._send(http, "GET", "/en/report/sent",
                                                                  source))
        code, secret = CODE.search(html), SECRET.search(html)
        if code is None or secret is None:
            g.failure = f"receipt page: {status}, no receipt shown"
            return
        g.receipt = (code.group(1), secret.group(1))

    async def reporter(self, g: Genuine, source: str | None, started: asyncio.Event,
                       delay: float) -> None:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            token = await self.start_report(g, http, source)
            started.set()
            await self.attack_begun.wait()
            await asyncio.sleep(delay)
            await self.finish_report(g, http, source, token)

    # ------------------------------------------------------------ hostile traffic

    async def flood_sessions(self, source: str | None, visits: int, posts: int) -> None:
        """Cookieless visits (which must create nothing), then forms posted each with a fresh
        token and no cookie: a new session each time, until refused."""
        paths = ("/en/report/who", "/en/report/review", "/en/receipt", "/fr/report/files")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            for i in range(visits):
                path = paths[i % len(paths)]
                status, _, r = await self._send(http, "GET", path, source)
                self._hostile("visit", status, path)
                if "Set-Cookie" in r.headers:
                    self.out.unexpected.append(f"a cookieless visit of {path} set a cookie")
            for _ in range(posts):
                _, html, _ = await self._send(http, "GET", "/en/report/who", source)
                status, _, _ = await self._send(http, "POST", "/en/report/who", source,
                                                data={"csrf": csrf_of(html), "go": "next"})
                self._hostile("session", status, "/en/report/who")

    async def guess(self, source: str | None, attempts: int, username: str = ADMIN) -> None:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            for i in range(attempts):
                _, html, _ = await self._send(http, "GET", "/staff/login", source)
                status, _, _ = await self._send(http, "POST", "/staff/login", source, data={
                    "csrf": csrf_of(html), "username": username,
                    "passphrase": f"not the passphrase {i}"})
                self._hostile("guess", status, "/staff/login")

    async def stage(self, source: str) -> None:
        for _ in range(self.plan.stage_sessions):
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                _, html, _ = await self._send(http, "GET", "/en/report/files", source)
                token = csrf_of(html)
                for _ in range(self.plan.stage_uploads):
                    form = aiohttp.FormData()
                    form.add_field("csrf", token)
                    form.add_field("files", io.BytesIO(tiny_png(1) + b"\0" * self.plan.stage_bytes),
                                   filename="x.png", content_type="application/octet-stream")
                    status, _, _ = await self._send(http, "POST", "/en/report/files", source,
                                                    data=form)
                    self._hostile("stage", status, "/en/report/files")

    async def malformed(self, source: str | None) -> None:
        async with aiohttp.ClientSession() as http:
            for _ in range(self.plan.malformed_rounds):
                for body, headers, _ in MALFORMED.values():
                    status, _, _ = await self._send(http, "POST", "/api/v1/reports", source,
                                                    data=body, headers=headers)
                    self._hostile("malformed", status, "/api/v1/reports")

    # ------------------------------------------------------------ the coordinator

    async def coordinator(self, source: str) -> None:
        """Signs in during the attack, from their own address, retrying a "busy" answer as
        the page says."""
        await asyncio.sleep(self.plan.coordinator_delay)
        started = time.perf_counter()
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            for _ in range(60):
                self.out.coordinator_attempts += 1
                _, html, _ = await self._timed("staff sign-in page", self._send(
                    http, "GET", "/staff/login", source))
                status, _, r = await self._timed("staff sign-in", self._send(
                    http, "POST", "/staff/login", source, data={
                        "csrf": csrf_of(html), "username": ADMIN,
                        "passphrase": ADMIN_PASSPHRASE}))
                if status == 303 and r.headers.get("Location") == "/staff/":
                    self.out.coordinator_signed_in = True
                    break
                if status != 503:
                    self.out.unexpected.append(f"coordinator sign-in: {status}")
                    break
                await asyncio.sleep(0.25)
        self.out.coordinator_seconds = time.perf_counter() - started

    async def read_back(self, ctx: NodeContext) -> None:
        """The coordinator reads every genuine report that got a receipt, with its file."""
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            _, html, _ = await self._send(http, "GET", "/staff/login", "10.0.0.2")
            status, _, _ = await self._send(http, "POST", "/staff/login", "10.0.0.2", data={
                "csrf": csrf_of(html), "username": ADMIN, "passphrase": ADMIN_PASSPHRASE})
            if status != 303:
                self.out.unexpected.append(f"coordinator sign-in after the attack: {status}")
                return
            for g in self.out.genuine:
                if g.receipt is None:
                    continue
                access = await asyncio.to_thread(ctx.intake.open_receipt, *g.receipt)
                status, html, _ = await self._send(
                    http, "GET", f"/staff/cases/{access.report_id}", "10.0.0.2")
                g.read_by_staff = status == 200 and g.tag in html and f"{g.tag}.png" in html

    # ------------------------------------------------------------ the phases

    async def _phase(self, reporters: list[tuple[Genuine, str | None]],
                     attack: list[Awaitable[None]]) -> None:
        self.attack_begun = asyncio.Event()
        started = [asyncio.Event() for _ in reporters]
        genuine = [asyncio.create_task(self.reporter(g, source, ev, i * self.plan.stagger))
                   for i, ((g, source), ev) in enumerate(zip(reporters, started, strict=True))]
        # every genuine draft exists before the attack starts (they must all survive it)
        await asyncio.gather(*(ev.wait() for ev in started))
        self.attack_started = time.perf_counter()
        self.attack_begun.set()
        await asyncio.gather(*attack, *genuine)

    async def clearnet(self) -> None:
        p = self.plan
        reporters = [(Genuine(f"genuine-{i:03d}", onion=False), f"198.51.100.{i + 1}")
                     for i in range(p.reporters)]
        self.out.genuine += [g for g, _ in reporters]
        attack: list[Awaitable[None]] = [
            *(self.flood_sessions(f"192.0.2.{i + 1}", p.visits, p.session_posts)
              for i in range(p.flooders)),
            *(self.guess(f"203.0.113.{i + 1}", p.guesses) for i in range(p.guessers)),
            self.guess("203.0.113.250", p.guesses, username="no-such-person"),
            *(self.stage(f"192.0.2.{200 + i}") for i in range(p.stagers)),
            self.malformed("192.0.2.250"),
            self.coordinator("10.0.0.1"),
        ]
        await self._phase(reporters, attack)

    async def onion(self) -> None:
        p = self.plan
        reporters = [(Genuine(f"onion-{i:03d}", onion=True), None)
                     for i in range(p.onion_reporters)]
        self.out.genuine += [g for g, _ in reporters]
        per_client = max(1, p.onion_session_posts // 3)
        attack: list[Awaitable[None]] = [
            *(self.flood_sessions(None, p.visits, per_client) for _ in range(3)),
            self.malformed(None),
        ]
        await self._phase(reporters, attack)


async def soak(ctx: NodeContext, plan: SoakPlan) -> Outcome:
    """Run both phases against `ctx` served on one loopback address (the staff office on
    the public address, the explicit choice: the worst case, where strangers reach the
    sign-in), then read every genuine report back as the coordinator."""
    async with running(ctx, (Site(PARTS),)) as node:
        run = Soak(node.public_url, plan)
        started = time.perf_counter()
        for name, phase in (("clearnet", run.clearnet), ("shared onion", run.onion)):
            t0, n0 = time.perf_counter(), run.out.requests
            await phase()
            run.out.phases[name] = (time.perf_counter() - t0, run.out.requests - n0)
        run.out.seconds = time.perf_counter() - started
        await run.read_back(ctx)
    return run.out
