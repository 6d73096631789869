"""Issue 3's figures: unlock-and-list with 10,000 cases, search over 10,000 cases, and
verification of a 1,000,000-entry audit chain; issue 15's: list pages with filters and
sorts over 10,000 cases.

A real node (SQLite in the work directory) is seeded in process through the real service
layer: 10,000 reports through `IntakeService.submit`, statuses through
`CaseTimeline.set_status`, assignments through `CaseAccess.assign`. Then
`backup-node serve` runs as a subprocess and a coordinator and a caseworker sign in over
127.0.0.1 with production `STAFF` Argon2id, as a browser would (GET the form, POST the
passphrase, GET the page). List pages -- each sort, each filter, filters together, a page
deep in the list -- are measured on that server once the person's index is built (issue
15). Search is measured through `/staff/search` (posted, as the form does) on that server
and directly on `SearchIndex.search` in process. Last, the node's audit chain is extended to
1,000,000 entries with `AuditLog.append` and verified by `node.backoffice.audit.verify` and
by `backup-node verify-audit`.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import random
import re
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp

from bench.bench_intake import peak_memory
from bench.cpuwatch import HEADERS as CPU_HEADERS
from bench.cpuwatch import CpuWatch, PhaseCpu, process_cpu
from bench.report import Figure, Section, fmt_ms, percentile, table
from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts
from node.accounts import UnlockedStaff
from node.backoffice import audit
from node.backoffice.case_listing import PAGE_SIZE, ListQuery, list_page
from node.backoffice.search import index_for
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.intake.models import NEEDS, REPORTER_ROLES, Consent, ReportInput
from node.keyring import load as load_keys
from node.storage.database import Database
from protocol.vocabulary import AFFILIATIONS
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, NodeProcess, free_port, make_node

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ".venv/bin/python -m bench.run --only backoffice"

# Targets, from issue 3 ("Figures").
MAX_UNLOCK_AND_LIST_S = 1.0
MAX_QUERY_S = 0.200
MAX_VERIFY_S = 10.0
MAX_LIST_PAGE_S = 0.300      # issue 15: p95 per list page, filters included, index built

CASES = 10_000
DAYS = 730                     # reports received over two years
FRESH_DAYS = 14                # reports younger than this are still new or in triage
CASEWORKER_CASES = 300         # assigned to the measured caseworker
CASEWORKER = "caseworker1"
CASEWORKER_PASSPHRASE = "a caseworker's long passphrase"
ROUNDS = 5                     # sign-ins per measured page
QUERY_ROUNDS = 3               # passes over the query set through HTTP
DIRECT_REPEATS = 20            # calls of SearchIndex.search per query, in process
AFTER_WRITE_ROUNDS = 5
LIST_ROUNDS = 20               # requests of each list page, once the index is built
THINK_S = 3.0                  # from the landing page to a typed query
AUDIT_ENTRIES = 1_000_000
AUDIT_BATCH = 20_000           # appends per write transaction
PAGE_ROWS = PAGE_SIZE          # rows of a list page

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CASE_LINK = re.compile(r'href="/staff/cases/[0-9a-f]{32}"')


# ------------------------------------------------------------------ synthetic reports

_SYLLABLES = ("ka", "ma", "lu", "ndi", "bo", "ra", "se", "ti", "wa", "ngo", "ki", "ba", "zu",
              "mi", "to", "ya", "ri", "sha", "go", "le", "mu", "da", "ne", "fa", "ho", "pe",
              "vi", "ju", "ko", "tsa")
_LANDMARKS = ("school", "church", "mosque", "market", "well", "river crossing", "bridge",
              "health centre", "checkpoint", "camp", "bus station", "police post", "farm",
              "mine", "forest", "water point", "football field", "barracks", "warehouse")
_WHEN = ("at night", "in the early morning", "on market day", "after the evening prayer",
         "during the rainy season", "while we were fetching water", "at dawn",
         "in the afternoon", "when the fighting started", "two days after the attack")
_WHOM = ("my sister", "my daughter", "my neighbour", "two girls from our street", "my wife",
         "a young boy", "the women of the compound", "my cousin", "my mother",
         "three students", "a woman selling vegetables", "my brother")
_UNIFORMS = ("green", "black", "camouflage", "brown", "blue", "grey")
_LANGUAGES = ("French", "Swahili", "Lingala", "Arabic", "Kinyarwanda", "English", "Sango")
_SENTENCES = (
    "{group} came to the {landmark} {when} and took {whom} away.",
    "They stopped us at the checkpoint on the road to {place}.",
    "Men in {uniform} uniforms said they were from {group}.",
    "Their commander was called {commander}; the others obeyed him.",
    "We were held in the {landmark} for {n} days with {m} other women.",
    "{whom} was taken to the {landmark} behind the {landmark2} in {place}.",
    "They threatened to kill {whom} if we spoke to anyone about it.",
    "The soldiers were drinking and carried guns and machetes.",
    "I could not go to the clinic because the road to {place} was closed for {n} days.",
    "A neighbour from {place} saw the trucks leave towards {place2}.",
    "They burned the houses near the {landmark} and looted the shops.",
    "Some of them spoke {language}, others spoke {language2}.",
    "I remember a vehicle with the number {plate} painted on the door.",
    "{whom} is still afraid to sleep at home and stays with relatives in {place}.",
    "The men raped {whom} in front of the children, one after another.",
    "We walked {n} hours to reach {place} where there is a health centre.",
    "Nobody helped us; the police post in {place} said it was not their business.",
    "They forced the women to cook and carry water for the camp for {n} weeks.",
    "When we came back the {landmark} was destroyed and our goats were gone.",
    "One of them had a scar on his face and wore a red beret.",
    "I heard that the same group attacked {place2} the week before.",
    "My husband was beaten when he tried to stop them and he cannot work since.",
    "The nurse at the {landmark} gave medicine but we could not pay for more.",
    "I want justice for what was done, and I want the world to know.",
    "People say {commander} still lives near {place} and nobody arrests him.",
    "Afterwards {whom} became pregnant and was sent away by the family.",
    "They asked for money at every barrier between {place} and {place2}.",
    "We are {n} families sheltering in the {landmark} now and there is little food.",
)


def _word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()


@dataclass
class Vocabulary:
    """Invented place and person names and armed groups, so that search terms range from
    words in most narratives to names in a few."""

    places: list[str]
    commanders: list[str]
    groups: list[str]

    @classmethod
    def make(cls, rng: random.Random) -> Vocabulary:
        places = sorted({_word(rng, rng.choice((2, 3, 3, 4))) for _ in range(900)})
        commanders = [f"{_word(rng, 2)} {_word(rng, 3)}" for _ in range(300)]
        groups = ([f"the {n}th battalion" for n in range(4, 40)]
                  + [f"Brigade {n}" for n in range(10, 60)]
                  + [f"the {_word(rng, 3)} Defence Force" for _ in range(25)]
                  + [f"the {_word(rng, 2)} militia" for _ in range(40)])
        return cls(places, commanders, groups)


def narrative(rng: random.Random, vocab: Vocabulary, n: int, chars: int = 1000) -> str:
    """About `chars` characters of invented testimony (marked synthetic)."""
    parts = [f"[SYNTHETIC BENCHMARK REPORT {n}]"]
    places = rng.sample(vocab.places, 3)
    group = rng.choice(vocab.groups)
    commander = rng.choice(vocab.commanders)
    while sum(len(p) + 1 for p in parts) < chars:
        template = rng.choice(_SENTENCES)
        parts.append(template.format(
            group=group, landmark=rng.choice(_LANDMARKS), landmark2=rng.choice(_LANDMARKS),
            when=rng.choice(_WHEN), whom=rng.choice(_WHOM), uniform=rng.choice(_UNIFORMS),
            commander=commander, place=places[0], place2=rng.choice(places[1:]),
            language=rng.choice(_LANGUAGES), language2=rng.choice(_LANGUAGES),
            plate=f"{rng.choice('ABCDEFGHKLMNPRSTUVWXYZ')}{rng.randint(100, 9999)}",
            n=rng.randint(2, 30), m=rng.randint(2, 30)).capitalize())
    return " ".join(parts)


def synthetic_report(rng: random.Random, vocab: Vocabulary, n: int,
                     received: datetime) -> ReportInput:
    """A text-only report received at `received`, its incident some days before."""
    back = min(int(rng.expovariate(1 / 20)), 1000)
    if received > datetime.now(UTC) - timedelta(days=5) and rng.random() < 0.5:
        back = rng.randint(0, 5)  # fresh incidents: the queue's PEP / EC flags
    when = (received - timedelta(days=back)).date()
    precision = rng.random()
    year = when.year if precision < 0.9 else None
    month = when.month if precision < 0.85 else None
    day = when.day if precision < 0.65 else None
    contact_ok = rng.random() < 0.5
    return ReportInput(
        reporter_role=rng.choice(REPORTER_ROLES),
        narrative=narrative(rng, vocab, n),
        incident_year=year, incident_month=month, incident_day=day,
        incident_when=rng.choice(_WHEN),
        region=rng.choice(("R1", "R2")),
        place=f"near the {rng.choice(_LANDMARKS)} of {rng.choice(vocab.places)}",
        perpetrators=f"men in {rng.choice(_UNIFORMS)} uniforms from {rng.choice(vocab.groups)}",
        perpetrator_affiliation=rng.choice(AFFILIATIONS),
        people_harmed=rng.randint(1, 6),
        needs=sorted(set(rng.sample([x for x in NEEDS if x != "none"], rng.randint(1, 3))),
                     key=NEEDS.index),
        consent=Consent(care=True, referral=rng.random() < 0.7, legal=rng.random() < 0.5,
                        statistics=rng.random() < 0.8, sharing=rng.random() < 0.3,
                        contact=contact_ok),
        language="en")


def queries(rng: random.Random, vocab: Vocabulary) -> list[str]:
    """What a coordinator types: common words, prefixes, names, and 2-3 word combinations."""
    place = rng.sample(vocab.places, 4)
    commander = rng.sample(vocab.commanders, 2)
    return [
        "soldiers", "checkpoint", "clinic", "pregnant", "machetes", "beret", "helicopter",
        "sold", "milit", "checkp", place[0], place[1], place[2][:4],
        commander[0].split()[1], commander[1],
        f"checkpoint {place[3]}", "soldiers night", "brigade 17", "red beret",
        "river crossing", "school taken", "police post money", "women cook water",
        f"{place[0]} market trucks", "uniforms green swahili",
    ]


# ------------------------------------------------------------------ seeding

@dataclass
class Clock:
    """The seeding clock: each report is submitted "at" its receipt time."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Seeded:
    report_ids: list[str]
    statuses: dict[str, int]
    caseworker_id: str
    staff_ids: list[str]
    vocab: Vocabulary
    seconds: float
    audit_entries: int


def seed(ctx: NodeContext, clock: Clock, rng: random.Random) -> Seeded:
    started = time.monotonic()
    vocab = Vocabulary.make(rng)
    now = datetime.now(UTC)
    times = sorted(now - timedelta(seconds=rng.uniform(60, DAYS * 86400))
                   for _ in range(CASES))
    # Bulk loading: no fsync per transaction (the figures are about reading). The serving
    # process opens the database again with synchronous=FULL.
    ctx.db._writer.execute("PRAGMA synchronous=OFF")
    ids = []
    for n, received in enumerate(times, 1):
        clock.now = received
        report = synthetic_report(rng, vocab, n, received)
        ids.append(ctx.intake.submit(report, DataKey.generate(), [], "bench",
                                     synthetic=True).report_id)
    clock.now = datetime.now(UTC)

    coordinator = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
    hour = int(clock.now.timestamp()) // 3600
    staff_ids = []
    with ctx.db.write() as conn:
        member, _ = accounts.create(conn, CASEWORKER, CASEWORKER_PASSPHRASE, {"caseworker"},
                                    pw.STAFF, hour, certifier=ctx.keys.certifier)
        staff_ids.append(member.id)
        for k in range(2, 6):  # colleagues: their assignments are realistic, not measured
            other, _ = accounts.create(conn, f"caseworker{k}", CASEWORKER_PASSPHRASE,
                                       {"caseworker"}, pw.INSECURE_FAST_FOR_TESTS, hour,
                                       certifier=ctx.keys.certifier)
            staff_ids.append(other.id)
    fresh_after = now - timedelta(days=FRESH_DAYS)
    old = [rid for rid, t in zip(ids, times, strict=True) if t < fresh_after]
    fresh = [rid for rid, t in zip(ids, times, strict=True) if t >= fresh_after]
    mine = set(rng.sample(old, CASEWORKER_CASES))
    counts: dict[str, int] = {}
    for rid in old:
        assignee = member.id if rid in mine else rng.choice(staff_ids[1:])
        if rng.random() < 0.97:
            ctx.case_access.assign(coordinator, rid, assignee)
        status = rng.choices(("assigned", "referred", "closed", "withdrawn"),
                             (15, 20, 60, 5))[0]
        if status != "assigned":
            ctx.timeline.set_status(coordinator, rid, status)
        counts[status] = counts.get(status, 0) + 1
    for rid in fresh:
        if rng.random() < 0.3:
            ctx.timeline.set_status(coordinator, rid, "in_triage")
            counts["in_triage"] = counts.get("in_triage", 0) + 1
        else:
            counts["new"] = counts.get("new", 0) + 1
    ctx.db._writer.execute("PRAGMA synchronous=FULL")
    entries = ctx.db.read().execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    return Seeded(ids, counts, member.id, staff_ids, vocab, time.monotonic() - started,
                  entries)


# ------------------------------------------------------------------ in process

@dataclass
class Direct:
    unlock_s: float
    list_s: float
    queue_s: float
    build_s: float
    build_parts: list[tuple[str, float]]
    per_query: dict[str, list[float]]
    hits: dict[str, int]
    caseworker_build_s: float
    index_bytes: int


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


# cProfile keys are (file, line, function); builtins have file "~".
PROFILE_PARTS: tuple[tuple[str, Callable[[str, str], bool]], ...] = (
    ("SQLite: selecting the rows", lambda path, fn: "sqlite3." in fn),
    ("Opening each data key (sealed box: X25519)", lambda path, fn: fn == "open_data_key"),
    ("Decrypting each body (XChaCha20-Poly1305)",
     lambda path, fn: fn == "decrypt" and path.endswith("keys.py")),
    ("Parsing each body's JSON", lambda path, fn: fn == "loads" and "json" in path),
    ("`Consent` model per row (pydantic)",
     lambda path, fn: fn == "__init__" and "pydantic" in path),
    ("Splitting words", lambda path, fn: fn == "words" and path.endswith("search.py")),
    ("Postings (`SearchIndex.add` less splitting words)",
     lambda path, fn: fn == "add" and path.endswith("search.py")),
)


def _profile_parts(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Cumulative time of the functions each part names; postings without the words."""
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    parts = [(label, sum(v[3] for (path, _line, fn), v in raw.items() if match(path, fn)))
             for label, match in PROFILE_PARTS]
    words_s = parts[-2][1]
    return [*parts[:-1], (parts[-1][0], parts[-1][1] - words_s)]


def direct(ctx: NodeContext, query_set: list[str]) -> Direct:
    unlock_s, coordinator = _timed(lambda: accounts.unlock(ctx.db.read(), ADMIN,
                                                           ADMIN_PASSPHRASE))
    queue_s, _ = _timed(lambda: ctx.cases.queue(coordinator))
    build_s, index = _timed(lambda: index_for(ctx.cases, coordinator))
    facts = index.facts
    list_s, _ = _timed(lambda: list_page(ctx.db.read(), coordinator, facts,
                                         ListQuery(sort="urgency"), datetime.now(UTC)))
    profiler = cProfile.Profile()
    profiler.enable()
    index_for(ctx.cases, coordinator)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = max(v[3] for v in stats.stats.values())  # type: ignore[attr-defined]
    parts = [(label, s * build_s / total) for label, s in _profile_parts(stats)]
    per_query: dict[str, list[float]] = {}
    hits = {}
    for q in query_set:
        hits[q] = len(index.search(q))
        per_query[q] = [_timed(partial(index.search, q))[0] for _ in range(DIRECT_REPEATS)]
    worker: UnlockedStaff = accounts.unlock(ctx.db.read(), CASEWORKER, CASEWORKER_PASSPHRASE)
    worker_build_s, _ = _timed(lambda: index_for(ctx.cases, worker))
    del index
    tracemalloc.start()
    kept = index_for(ctx.cases, coordinator)
    index_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return Direct(unlock_s, list_s, queue_s, build_s, parts, per_query, hits, worker_build_s,
                  index_bytes)


# ------------------------------------------------------------------ over HTTP

@dataclass
class SignIn:
    login_s: float            # POST of the passphrase to its 303 (Argon2id included)
    first_s: float            # the page, first time in this session
    warm_s: float             # the same page again
    rows: int

    @property
    def total_s(self) -> float:
        return self.login_s + self.first_s


@dataclass
class Http:
    pages: dict[str, list[SignIn]] = field(default_factory=dict)
    first_query_s: list[float] = field(default_factory=list)       # right after sign-in
    landed_query_s: list[float] = field(default_factory=list)      # after the landing page
    query_s: dict[str, list[float]] = field(default_factory=dict)
    query_rows: dict[str, int] = field(default_factory=dict)
    after_write_s: list[float] = field(default_factory=list)
    after_report_s: list[float] = field(default_factory=list)
    caseworker_first_query_s: float = 0.0
    list_s: dict[str, list[float]] = field(default_factory=dict)  # list page -> times
    node_memory: str = ""
    cpu: list[tuple[str, PhaseCpu]] = field(default_factory=list)


def _jar() -> aiohttp.CookieJar:
    return aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1, an IP address


def _wait_idle(pid: int, timeout: float = 30.0) -> None:
    """Until the node has finished what a sign-in started in the background (the search
    index): each measured sign-in meets an otherwise idle node."""
    deadline = time.monotonic() + timeout
    before = process_cpu(pid)
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = process_cpu(pid)
        if now - before < 0.25 * 0.1:
            return
        before = now


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[float, str]:
    t = time.perf_counter()
    async with session.get(url, allow_redirects=False) as r:
        text = await r.text()
        if r.status != 200:
            raise RuntimeError(f"GET {url}: {r.status}")
    return time.perf_counter() - t, text


_TOKENS: dict[int, str] = {}  # the CSRF token of each client session, by id()


async def _login(session: aiohttp.ClientSession, base: str, username: str,
                 passphrase: str) -> float:
    _TOKENS.pop(id(session), None)  # a new sign-in, a new session token
    _, form = await _get(session, f"{base}/staff/login")
    token = CSRF.search(form)
    if token is None:
        raise RuntimeError("no CSRF token on the sign-in page")
    t = time.perf_counter()
    async with session.post(f"{base}/staff/login", allow_redirects=False, data={
            "csrf": token.group(1), "username": username, "passphrase": passphrase}) as r:
        await r.read()
        if r.status != 303 or r.headers.get("Location") != "/staff/":
            raise RuntimeError(f"sign-in as {username}: {r.status} {r.headers.get('Location')}")
    return time.perf_counter() - t


async def _sign_in_and_list(base: str, username: str, passphrase: str, path: str) -> SignIn:
    async with aiohttp.ClientSession(cookie_jar=_jar()) as session:
        login_s = await _login(session, base, username, passphrase)
        first_s, html = await _get(session, base + path)
        warm_s, _ = await _get(session, base + path)
    return SignIn(login_s, first_s, warm_s, len(CASE_LINK.findall(html)))


async def _search(session: aiohttp.ClientSession, base: str, q: str) -> tuple[float, int]:
    """A search as the form posts it (issue 15: the words travel in the body, never in
    the address), with the session's CSRF token, read once from the search form."""
    token = _TOKENS.get(id(session))
    if token is None:
        _, form = await _get(session, f"{base}/staff/search")
        found = CSRF.search(form)
        if found is None:
            raise RuntimeError("no CSRF token on the search form")
        token = _TOKENS[id(session)] = found.group(1)
    t = time.perf_counter()
    async with session.post(f"{base}/staff/search", data={"csrf": token, "q": q},
                            allow_redirects=False) as r:
        html = await r.text()
        if r.status != 200:
            raise RuntimeError(f"POST /staff/search: {r.status}")
    return time.perf_counter() - t, len(CASE_LINK.findall(html))


def list_pages(caseworker_id: str) -> list[tuple[str, str]]:
    """The list pages measured once the index is built: each sort, each filter, filters
    together, and pages deep into the list (issue 15)."""
    deep = CASES // 2 // PAGE_SIZE * PAGE_SIZE
    return [
        ("Cases, newest first", "/staff/cases"),
        ("Cases, most urgent first", "/staff/cases?sort=urgency"),
        ("Cases, recently updated first", "/staff/cases?sort=updated"),
        (f"Cases, page {deep // PAGE_SIZE + 1}", f"/staff/cases?offset={deep}"),
        (f"Cases, most urgent first, page {deep // PAGE_SIZE + 1}",
         f"/staff/cases?sort=urgency&offset={deep}"),
        ("Cases, status closed", "/staff/cases?status=closed"),
        ("Cases, assigned to one caseworker", f"/staff/cases?assignee={caseworker_id}"),
        ("Cases, not assigned", "/staff/cases?assignee=none"),
        ("Cases, region R1", "/staff/cases?region=R1&sort=updated"),
        ("Cases, urgency: date unclear", "/staff/cases?urgency=check"),
        ("Cases, contact consent given", "/staff/cases?consent=contact&sort=received"),
        ("Cases, region R2 + closed + legal consent, most urgent first",
         "/staff/cases?region=R2&status=closed&consent=legal&sort=urgency"),
        ("Queue, most urgent first", "/staff/queue"),
        ("Queue, newest first, region R1", "/staff/queue?sort=received&region=R1"),
    ]


async def _list_pages(base: str, caseworker_id: str, pid: int) -> dict[str, list[float]]:
    """Each list page `LIST_ROUNDS` times for the coordinator (all 10,000 cases), after
    their index is built, and the caseworker's own list."""
    out: dict[str, list[float]] = {}
    async with aiohttp.ClientSession(cookie_jar=_jar()) as session:
        await _login(session, base, ADMIN, ADMIN_PASSPHRASE)
        await _get(session, f"{base}/staff/cases")  # starts building the index
        _wait_idle(pid)
        await _search(session, base, "soldiers")  # waits for it, if it is not done yet
        for _ in range(LIST_ROUNDS):
            for label, path in list_pages(caseworker_id):
                seconds, html = await _get(session, base + path)
                if not CASE_LINK.search(html):
                    raise RuntimeError(f"{path}: no case listed")
                out.setdefault(label, []).append(seconds)
    async with aiohttp.ClientSession(cookie_jar=_jar()) as session:
        await _login(session, base, CASEWORKER, CASEWORKER_PASSPHRASE)
        await _get(session, f"{base}/staff/cases")
        _wait_idle(pid)
        for _ in range(LIST_ROUNDS):
            for label, path in (("Caseworker, their cases, most urgent first", "/staff/cases"),
                                ("Caseworker, their cases, recently updated first",
                                 "/staff/cases?sort=updated")):
                seconds, _ = await _get(session, base + path)
                out.setdefault(label, []).append(seconds)
    return out


async def _new_report(session: aiohttp.ClientSession, base: str, word: str) -> None:
    body = {"narrative": f"[SYNTHETIC BENCHMARK REPORT] a new report naming {word}.",
            "language": "en", "consent": {"care": True}}
    async with session.post(f"{base}/api/v1/reports", json=body) as r:
        await r.read()
        if r.status != 201:
            raise RuntimeError(f"report: {r.status}")


async def over_http(base: str, pid: int, query_set: list[str], case_ids: list[str],
                    caseworker_id: str) -> Http:
    out = Http()
    with CpuWatch(pid) as watch:
        out.list_s = await _list_pages(base, caseworker_id, pid)
    out.cpu.append((f"List pages ({LIST_ROUNDS} rounds)", watch.result))
    pages = (("Coordinator, `/staff/cases`", ADMIN, ADMIN_PASSPHRASE, "/staff/cases"),
             ("Coordinator, `/staff/queue`", ADMIN, ADMIN_PASSPHRASE, "/staff/queue"),
             ("Caseworker, `/staff/cases` (their assigned cases)", CASEWORKER,
              CASEWORKER_PASSPHRASE, "/staff/cases"))
    with CpuWatch(pid) as watch:
        for _ in range(ROUNDS):
            for label, user, secret, path in pages:
                out.pages.setdefault(label, []).append(
                    await _sign_in_and_list(base, user, secret, path))
                _wait_idle(pid)
    out.cpu.append((f"Sign-in and lists ({ROUNDS} rounds)", watch.result))

    with CpuWatch(pid) as watch:
        for _ in range(ROUNDS):
            # a search bookmarked or typed before any list was opened
            async with aiohttp.ClientSession(cookie_jar=_jar()) as session:
                await _login(session, base, ADMIN, ADMIN_PASSPHRASE)
                out.first_query_s.append((await _search(session, base, query_set[0]))[0])
            # sign in, land on the triage queue (the redirect a browser follows), type a query
            async with aiohttp.ClientSession(cookie_jar=_jar()) as session:
                await _login(session, base, ADMIN, ADMIN_PASSPHRASE)
                await _get(session, f"{base}/staff/queue")
                await asyncio.sleep(THINK_S)
                out.landed_query_s.append((await _search(session, base, query_set[0]))[0])
            _wait_idle(pid)
        async with aiohttp.ClientSession(cookie_jar=_jar()) as session:
            await _login(session, base, ADMIN, ADMIN_PASSPHRASE)
            await _search(session, base, query_set[0])
            for _ in range(QUERY_ROUNDS):
                for q in query_set:
                    seconds, rows = await _search(session, base, q)
                    out.query_s.setdefault(q, []).append(seconds)
                    out.query_rows[q] = rows
            # what a coordinator does next: open a result (a `case.view` audit entry, a
            # write), come back and search again
            for rid in case_ids[:AFTER_WRITE_ROUNDS]:
                await _get(session, f"{base}/staff/cases/{rid}")
                out.after_write_s.append((await _search(session, base, query_set[1]))[0])
            # a reporter sends a new report; the coordinator searches for a word in it
            for n in range(AFTER_WRITE_ROUNDS):
                word = f"Zanzibo{n}"
                await _new_report(session, base, word)
                seconds, rows = await _search(session, base, word)
                if rows != 1:
                    raise RuntimeError(f"the new report was not found ({rows} rows)")
                out.after_report_s.append(seconds)
        async with aiohttp.ClientSession(cookie_jar=_jar()) as session:
            await _login(session, base, CASEWORKER, CASEWORKER_PASSPHRASE)
            out.caseworker_first_query_s = (await _search(session, base, query_set[0]))[0]
    out.cpu.append(("Search", watch.result))
    out.node_memory = peak_memory(pid)
    return out


# ------------------------------------------------------------------ the audit chain

_ACTIONS = (("case.view", ""), ("case.note", "note {h24}"), ("case.status", "closed"),
            ("case.assign", "to {staff}"), ("case.message", "message {h24}"),
            ("case.decrypt_attachment", "item {h32}"), ("case.code", "incident {h24}"),
            ("case.referral", "to service clinic"), ("case.task", "task {h24}"),
            ("case.custody_report", ""), ("case.retention", "365 days"))


@dataclass
class Chain:
    build_s: float
    entries: int
    verify_s: float
    verdict: audit.Verdict
    cli_s: float
    cli_out: str
    db_bytes: int


def extend_chain(ctx: NodeContext, seeded: Seeded, rng: random.Random) -> tuple[float, int]:
    conn = ctx.db.read()
    have = conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    at = int(datetime.now(UTC).timestamp()) - AUDIT_ENTRIES * 30
    staff = seeded.staff_ids
    reports = seeded.report_ids
    t = time.perf_counter()
    todo = AUDIT_ENTRIES - have
    while todo > 0:
        with ctx.db.write() as wconn:
            for _ in range(min(AUDIT_BATCH, todo)):
                action, detail = rng.choice(_ACTIONS)
                at += rng.randint(1, 60)
                ctx.audit.append(
                    wconn, at=at, actor=rng.choice(staff), action=action,
                    object_type="report", object_id=rng.choice(reports),
                    detail=detail.format(h24=rng.randbytes(12).hex(),
                                         h32=rng.randbytes(16).hex(), staff=rng.choice(staff)))
        todo -= AUDIT_BATCH
    return time.perf_counter() - t, AUDIT_ENTRIES - have


def verify_chain(root: Path) -> tuple[float, audit.Verdict, float, str]:
    datadir = DataDir(root)
    db = Database(datadir.database)
    try:
        keys = load_keys(datadir, db)
        verify_s, verdict = _timed(lambda: audit.verify(
            db.read(), keys.custody.verify_key, keys.identity_public))
    finally:
        db.close()
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "node.cli", "verify-audit", "--data",
                           str(root)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)
    cli_s = time.perf_counter() - t
    if done.returncode != 0:
        raise RuntimeError(f"verify-audit failed: {done.stdout}{done.stderr}")
    return verify_s, verdict, cli_s, done.stdout.strip()


# ------------------------------------------------------------------ the run

def _median_ms(values: list[float]) -> str:
    return fmt_ms(statistics.median(values))


def _fmt_small(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs" if seconds < 0.001 else fmt_ms(seconds)


def run(workdir: Path) -> Section:
    rng = random.Random(3)
    root = workdir / "node"
    init_s, _ = _timed(lambda: make_node(root, staff_params=pw.STAFF))
    clock = Clock()
    ctx = open_node(DataDir(root), staff_params=pw.STAFF,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS, clock=clock)
    try:
        seeded = seed(ctx, clock, rng)
        query_set = queries(rng, seeded.vocab)
        inproc = direct(ctx, query_set)
    finally:
        ctx.close()

    node = NodeProcess(root, free_port(), workdir / "node.log")
    node.start()
    try:
        assert node.proc is not None
        recent = seeded.report_ids[-AFTER_WRITE_ROUNDS:]
        http = asyncio.run(over_http(node.url, node.proc.pid, query_set, recent,
                                     seeded.caseworker_id))
    finally:
        node.stop()

    ctx = open_node(DataDir(root), staff_params=pw.STAFF, receipt_params=pw.RECEIPT)
    try:
        build_s, appended = extend_chain(ctx, seeded, rng)
    finally:
        ctx.close()
    verify_s, verdict, cli_s, cli_out = verify_chain(root)
    chain = Chain(build_s, verdict.entries, verify_s, verdict, cli_s, cli_out,
                  (root / "node.db").stat().st_size)
    return section(seeded, inproc, http, chain, appended, init_s)


def section(seeded: Seeded, d: Direct, http: Http, chain: Chain, appended: int,
            init_s: float) -> Section:
    sec = Section(title="Back office: unlock-and-list, search, audit chain (issue 3)",
                  command=COMMAND)
    page_rows = []
    for label, runs in http.pages.items():
        totals = [r.total_s for r in runs]
        worst = max(totals)
        sec.figures.append(Figure(
            f"Unlock-and-list, {CASES:,} cases: {label}, passphrase POST → first page "
            f"rendered, median (worst) of {len(runs)} sign-ins",
            f"{_median_ms(totals)} ({fmt_ms(worst)})", "≤ 1 s",
            statistics.median(totals) <= MAX_UNLOCK_AND_LIST_S))
        page_rows.append((label, f"{runs[0].rows}", _median_ms([r.login_s for r in runs]),
                          _median_ms([r.first_s for r in runs]),
                          _median_ms([r.warm_s for r in runs]), _median_ms(totals),
                          fmt_ms(worst)))

    every_list = [s for v in http.list_s.values() for s in v]
    worst_p95 = max(percentile(v, 95) for v in http.list_s.values())
    sec.figures.append(Figure(
        f"List pages, {CASES:,} cases, after the person's index is built: "
        f"{len(http.list_s)} pages (each sort, each filter, filters together, a page "
        f"half-way down) × "
        f"{LIST_ROUNDS}, p95 of all / worst page's p95",
        f"{fmt_ms(percentile(every_list, 95))} / {fmt_ms(worst_p95)}", "≤ 300 ms",
        worst_p95 <= MAX_LIST_PAGE_S))
    sec.details.append((f"List pages over HTTP, {CASES:,} cases, index built ({LIST_ROUNDS} "
                        "requests each)", table(
        ("Page", "Median", "p95", "Worst"),
        [(label, _median_ms(v), fmt_ms(percentile(v, 95)), fmt_ms(max(v)))
         for label, v in http.list_s.items()], (1, 2, 3))))
    samples = [s for v in http.query_s.values() for s in v]
    direct_samples = [s for v in d.per_query.values() for s in v]
    first = statistics.median(http.first_query_s)
    landed = statistics.median(http.landed_query_s)
    sec.figures += [
        Figure(f"Search, {CASES:,} cases, first query right after sign-in (the index is "
               f"built for it), `/staff/search`, median (worst) of {len(http.first_query_s)}",
               f"{fmt_ms(first)} ({fmt_ms(max(http.first_query_s))})", "≤ 200 ms",
               first <= MAX_QUERY_S),
        Figure(f"Search, {CASES:,} cases, first query after landing on the queue (typed "
               f"{THINK_S:.0f} s later), median (worst) of {len(http.landed_query_s)}",
               f"{fmt_ms(landed)} ({fmt_ms(max(http.landed_query_s))})", "≤ 200 ms",
               landed <= MAX_QUERY_S),
        Figure(f"Search, {CASES:,} cases, `/staff/search`, {len(http.query_s)} queries × "
               f"{QUERY_ROUNDS}, median / p99",
               f"{fmt_ms(statistics.median(samples))} / {fmt_ms(percentile(samples, 99))}",
               "≤ 200 ms", percentile(samples, 99) <= MAX_QUERY_S),
        Figure("Search again after opening a case (a write), median (worst) "
               f"of {len(http.after_write_s)}",
               f"{_median_ms(http.after_write_s)} ({fmt_ms(max(http.after_write_s))})",
               "≤ 200 ms", statistics.median(http.after_write_s) <= MAX_QUERY_S),
        Figure("Search for a word of a report that just arrived (the index takes it in), "
               f"median (worst) of {len(http.after_report_s)}",
               f"{_median_ms(http.after_report_s)} ({fmt_ms(max(http.after_report_s))})",
               "≤ 200 ms", statistics.median(http.after_report_s) <= MAX_QUERY_S),
        Figure(f"`SearchIndex.search` in process, {len(d.per_query)} queries × "
               f"{DIRECT_REPEATS}, median / p99",
               f"{_fmt_small(statistics.median(direct_samples))} / "
               f"{_fmt_small(percentile(direct_samples, 99))}", "≤ 200 ms",
               percentile(direct_samples, 99) <= MAX_QUERY_S),
        Figure(f"Audit chain of {chain.entries:,} entries, `audit.verify`",
               f"{chain.verify_s:.1f} s", "≤ 10 s",
               chain.verdict.ok and chain.verify_s <= MAX_VERIFY_S),
        Figure("Same, `backup-node verify-audit --data DIR` end to end (a new process)",
               f"{chain.cli_s:.1f} s", "≤ 10 s", chain.cli_s <= MAX_VERIFY_S),
    ]

    sec.details.append(("Sign-in and lists over HTTP (median of "
                        f"{ROUNDS} sign-ins each)", table(
        ("Page", "Rows", "Passphrase POST (Argon2id)", "Page, first in session",
         "Page, again", "Total", "Worst total"), page_rows, range(1, 7))))
    sec.details.append(("Search queries (`/staff/search` median of "
                        f"{QUERY_ROUNDS}; `SearchIndex.search` median of {DIRECT_REPEATS})",
                        table(("Query", "Cases matched", "Rows shown", "`/staff/search`",
                               "`SearchIndex.search`"),
                              [(f"`{q}`", f"{d.hits[q]:,}", http.query_rows[q],
                                _median_ms(http.query_s[q]),
                                _fmt_small(statistics.median(d.per_query[q])))
                               for q in http.query_s], range(1, 5))))
    sec.details.append(("In process, the service layer alone (this process, no HTTP)", table(
        ("Step", "Time"), [
            ("`accounts.unlock` (production `STAFF` Argon2id)", fmt_ms(d.unlock_s)),
            (f"`case_listing.list_page`, most urgent first, first {PAGE_ROWS} of {CASES:,} "
             "(index built)", fmt_ms(d.list_s)),
            ("`CaseReader.queue` (every new and in-triage report, decrypted)",
             fmt_ms(d.queue_s)),
            (f"`search.index_for`, coordinator ({CASES:,} cases)", fmt_ms(d.build_s)),
            (f"`search.index_for`, caseworker ({CASEWORKER_CASES} cases)",
             fmt_ms(d.caseworker_build_s)),
            ("Memory held by the coordinator's index (tracemalloc)",
             f"{d.index_bytes / 1e6:.0f} MB"),
            ("Caseworker's first query over HTTP, right after sign-in (their index built)",
             fmt_ms(http.caseworker_first_query_s)),
            ("`backup-node serve` peak resident memory (VmHWM, whole HTTP run)",
             http.node_memory),
        ], (1,))))
    sec.details.append(("Where building the coordinator's index goes (cProfile, scaled to "
                        "the unprofiled build)", table(
        ("Part", "Time", "Share"),
        [(label, fmt_ms(s), f"{s / d.build_s:.0%}") for label, s in d.build_parts],
        (1, 2))))
    sec.details.append(("Who used the CPU during each phase", table(
        CPU_HEADERS, [cpu.row(label) for label, cpu in http.cpu], range(1, 7))))
    sec.details.append(("The node", table(("Quantity", "Value"), [
        ("Reports", f"{CASES:,}, received over {DAYS} days, ~1 KB narrative each"),
        ("Statuses", ", ".join(f"{k}: {v:,}" for k, v in sorted(seeded.statuses.items()))),
        ("Assigned to the measured caseworker", f"{CASEWORKER_CASES}"),
        ("Seeding (submit, assign, set status)", f"{seeded.seconds:.0f} s"),
        ("Audit entries after seeding", f"{seeded.audit_entries:,}"),
        (f"Audit entries appended to reach {AUDIT_ENTRIES:,}",
         f"{appended:,} in {chain.build_s:.0f} s ({appended / chain.build_s:,.0f}/s, "
         f"batches of {AUDIT_BATCH:,})"),
        ("Database file with the full chain", f"{chain.db_bytes / 1e6:,.0f} MB"),
        ("`backup-node verify-audit` said", chain.cli_out),
    ])))

    busy = [(label, cpu.others_share) for label, cpu in http.cpu if cpu.others_share > 0.10]
    if busy:
        sec.notes.append("**Measured on a busy machine**: other processes used " + ", ".join(
            f"{share:.0%} of it during {label}" for label, share in busy) + "; rerun on a "
            "quiet machine.")
    sec.notes += [
        f"Node: `make_node` (tests/conftest.py; `init` took {init_s:.1f} s) with the "
        "test suite's configuration; the coordinator (the account created at init) and the "
        "measured caseworker have production `STAFF` Argon2id parameters, so every sign-in "
        "pays the real unlock. Figures over HTTP come from `backup-node serve` in its own "
        "process (production parameters, `synchronous=FULL`) with an aiohttp client in "
        "this process, each sign-in with a fresh cookie jar.",
        f"Seeding: {CASES:,} reports through `IntakeService.submit` with each report's "
        "clock set to its receipt time, then `CaseAccess.assign` and "
        "`CaseTimeline.set_status`. The reporters' receipt wraps use the fast test Argon2id "
        "parameters (`INSECURE_FAST_FOR_TESTS`): production `RECEIPT` would take about 15 minutes "
        "for 10,000 reports and plays no part in what staff read. The writer ran with "
        "`synchronous=OFF` while seeding (restored to `FULL` after); the serving process "
        "opens the database with `FULL`.",
        "Narratives: invented testimony (marked synthetic) from 28 sentence templates over "
        "900 invented place names, 300 commander names and 151 armed groups, so query terms "
        "range from words in most reports to names in a handful; queries are 1 to 3 words, "
        "word prefixes included (the index matches prefixes of 3 letters or more).",
        "Unlock-and-list: from sending the passphrase (POST `/staff/login`, answered with a "
        "303 once Argon2id has unlocked the person's key and their node keys) to the end "
        "of the body of the list page, `GET` directly (not through the `/staff/` "
        "redirect). \"First in session\" is the first request for the page after that "
        "sign-in; \"again\" the next one, which shares the node with the search index "
        "that the sign-in started building in the background (see Search). "
        "Between sign-ins the bench waits for the node to be idle again.",
        "Search: signing in starts building the person's search index in the background, "
        "in a worker thread (`StaffSession.cache`, memory only): it decrypts every case "
        "they may read. A search waits for that build if it is still running; \"first "
        "query right after sign-in\" searches at once, so it waits for nearly the whole "
        "build. The serving process freezes what it made at start out of the garbage "
        "collector's full collections, and postings are bytes, which it does not track "
        "(before, full collections walking every session's index were the p99). Later "
        "searches check with one query that the cases the person may read are still the "
        "same (a string of their ids), decrypt only cases that arrived since, and build "
        "the index again only when a case left (deleted, unassigned). A page shows at most "
        "200 results, the newest found by walking the index on (received_hour DESC, id) "
        "(migration 9) to the 200th match; each is decrypted again for its summary row "
        "(status and consent are read fresh).",
        "Before migration 9 (runs of 2026-11-28, quiet machine): each search read every "
        "encrypted report row to order its matches, 20 ms at 10,000 cases even for a word "
        "in no case; queries took 50-80 ms median and up to 214 ms p99.",
        "Before the changes made with this bench (same machine and data, 45-51% busy "
        "with other work): first query right after sign-in 1,991 ms; search after opening "
        "a case 2,836 ms, because any write on the node (an audit entry, a sign-in) made "
        "every session rebuild its whole index; queries 35.5 ms median, 389 ms p99; "
        "`search_index` 3.0 s for the coordinator, 65 MB of index per session.",
        f"Audit chain: the node's own chain (its {seeded.audit_entries:,} entries from "
        f"seeding) extended to {AUDIT_ENTRIES:,} with `AuditLog.append` (a signature of "
        "the chain head per append, as in production), realistic actions, staff ids, "
        "report ids and details. `audit.verify` is timed in this process on a fresh "
        "connection; `backup-node verify-audit` includes starting Python and loading the "
        "node's keys.",
    ]
    return sec
