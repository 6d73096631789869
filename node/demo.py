"""The demonstration node: synthetic, clearly labelled data, fixed demo credentials.

Everything here is invented. Each synthetic report says so in its text, carries the
``synthetic`` flag, and every page of a demo node shows a banner.
"""

from __future__ import annotations

import asyncio
import random
import struct
import zlib
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

from crypto import passphrase as pw
from crypto.keys import DataKey
from node.context import NodeContext, init_node, open_node
from node.datadir import DataDir
from node.intake.models import (
    NEEDS,
    REPORTER_ROLES,
    Consent,
    ContactPreference,
    ReportInput,
)
from node.intake.service import utc_now
from protocol.vocabulary import AFFILIATIONS

DEMO_ADMIN = "demo-admin"
DEMO_PASSPHRASE = "demo passphrase not secret"  # noqa: S105 -- demo only, printed on purpose
LABEL = "[SYNTHETIC DEMO DATA]"
CREDENTIALS_FILE = "DEMO-CREDENTIALS.txt"

DEMO_CONFIG = '''\
# Demonstration node -- synthetic data only. See node/node.toml.example for every setting.
site_name = "BackUp (demo)"
organisation = "Demo Partner Organisation (fictional)"
disguise_name = "Weather and health tips"
quick_exit_url = "https://www.bbc.co.uk/weather"
languages = ["en", "fr", "ar", "sw", "uk"]
default_language = "en"
secure_cookies = false
demo = true

[limits]
max_file_mb = 20
max_total_mb = 60
max_files = 10
max_text_chars = 20000

[rate_limits]
reports_per_minute = 30
receipt_attempts_per_minute = 30
staff_logins_per_minute = 30

# Fictional regions; for statistics each counts as a province of the federation's region
# vocabulary (ISO 3166-2), here the DR Congo's, so that the observatory can combine nodes.
[[regions]]
code = "R1"
name = "Northern Province (fictional)"
names = { fr = "Province du Nord (fictive)", ar = "المقاطعة الشمالية (خيالية)", sw = "Mkoa wa Kaskazini (wa kubuni)", uk = "Північна провінція (вигадана)" }
subdivision = "CD-NK"

[[regions]]
code = "R2"
name = "River District (fictional)"
names = { fr = "District du Fleuve (fictif)", ar = "منطقة النهر (خيالية)", sw = "Wilaya ya Mto (ya kubuni)", uk = "Річковий округ (вигаданий)" }
subdivision = "CD-SK"

[[regions]]
code = "R3"
name = "Capital Area (fictional)"
names = { fr = "Région de la capitale (fictive)", ar = "منطقة العاصمة (خيالية)", sw = "Eneo la Mji Mkuu (la kubuni)", uk = "Столичний регіон (вигаданий)" }
subdivision = "CD-KN"

[[crisis_contacts]]
name = "Demo emergency line (fictional)"
contact = "000 000 000"

[[services]]
id = "demo-clinic"
name = "Demo Health Centre (fictional)"
kinds = ["medical", "psychosocial"]
regions = ["R1", "R2"]
languages = ["en", "fr", "sw"]
contact = "+000 111 111 (fictional)"
address = "Market road (fictional)"
hours = "Mon-Sat 8:00-18:00"
description = "Fictional service for the demo: confidential care within 72 hours."
descriptions = { fr = "Service fictif pour la démo : soins confidentiels dans les 72 heures.", ar = "خدمة خيالية للعرض: رعاية سرية خلال 72 ساعة.", sw = "Huduma ya kubuni kwa onyesho: matibabu ya siri ndani ya saa 72.", uk = "Вигадана служба для демонстрації: конфіденційна допомога протягом 72 годин." }

[[services]]
id = "demo-legal"
name = "Demo Legal Aid (fictional)"
kinds = ["legal"]
regions = []
languages = ["en", "fr", "ar", "uk"]
contact = "legal@example.org (fictional)"
description = "Fictional legal aid for the demo."

[[services]]
id = "demo-shelter"
name = "Demo Safe House (fictional)"
kinds = ["shelter", "psychosocial"]
regions = ["R3"]
languages = ["ar", "en"]
contact = "+000 222 222 (fictional)"
description = "Fictional shelter for the demo."

# A spoken prompt (issue 20): synthetic speech (espeak-ng), copied into DIR/prompts/.
[spoken_prompts.files.en]
what = "synthetic-what-en.wav"
'''

# Each synthetic account describes an invented incident in words the suggestion engine
# reads (issue 17: the demo's back office shows suggestions with their evidence); the same
# invented unit in every language, so that linked reports are suggested across languages.
_NARRATIVES = {
    "en": "{label} This is an invented account for demonstrating the software. "
          "Synthetic report number {n}: armed men came to the village at night. Soldiers of "
          "the 2nd battalion raped two women and took three girls to their camp for two weeks.",
    "fr": "{label} Ceci est un récit inventé pour la démonstration du logiciel. "
          "Rapport synthétique numéro {n} : des hommes armés sont venus la nuit. Des soldats "
          "du 2e bataillon ont violé deux femmes et emmené trois filles dans leur camp.",
    "ar": "{label} هذه رواية مختلقة لعرض البرنامج. تقرير اصطناعي رقم {n}: جاء رجال مسلحون ليلاً. "
          "اغتصب جنود امرأتين واختطفوا ثلاث فتيات إلى معسكرهم.",
    "sw": "{label} Haya ni maelezo ya kubuni kwa ajili ya kuonyesha programu. "
          "Ripoti bandia namba {n}: watu wenye silaha walikuja usiku. Wanajeshi waliwabaka "
          "wanawake wawili na kuwachukua wasichana watatu hadi kambi yao.",
    "uk": "{label} Це вигадана розповідь для демонстрації програми. "
          "Синтетичний звіт номер {n}: озброєні люди прийшли вночі. Солдати 2-го батальйону "
          "зґвалтували двох жінок і забрали трьох дівчат до свого табору.",
}


def tiny_png(seed: int) -> bytes:
    """A valid 8x8 PNG of one synthetic colour (a stand-in for a photo)."""
    r, g, b = (seed * 53) % 256, (seed * 97) % 256, (seed * 193) % 256
    raw = b"".join(b"\x00" + bytes([r, g, b]) * 8 for _ in range(8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def synthetic_report(rng: random.Random, n: int, regions: list[str]) -> ReportInput:
    lang = rng.choice(list(_NARRATIVES))
    today = utc_now().date()
    # the first two are fresh, so the triage queue shows its PEP and EC urgency flags
    when = today - timedelta(days={1: 1, 2: 4}.get(n, rng.randint(10, 400)))
    contact_ok = rng.random() < 0.5
    return ReportInput(
        reporter_role=rng.choice(REPORTER_ROLES),
        narrative=_NARRATIVES[lang].format(label=LABEL, n=n),
        incident_year=when.year, incident_month=when.month,
        incident_day=when.day if n <= 2 or rng.random() < 0.6 else None,
        region=rng.choice(regions) if regions else None,
        place=f"{LABEL} invented place {n}",
        perpetrators=f"{LABEL} invented description",
        perpetrator_affiliation=rng.choice(AFFILIATIONS),
        people_harmed=rng.randint(1, 6),
        needs=sorted(set(rng.sample([n for n in NEEDS if n != "none"], rng.randint(1, 3))),
                     key=NEEDS.index),
        consent=Consent(care=True, referral=rng.random() < 0.7, legal=rng.random() < 0.5,
                        statistics=rng.random() < 0.8, sharing=rng.random() < 0.3,
                        contact=contact_ok),
        contact=ContactPreference(method="sms", details="+000 000 000 (fictional)",
                                  safe_times="mornings") if contact_ok else None,
        language=lang,
    )


def seed(ctx: NodeContext, count: int, rng_seed: int = 7) -> list[tuple[str, str]]:
    """Create `count` synthetic reports; return (receipt, secret) of each."""
    rng = random.Random(rng_seed)  # noqa: S311 -- synthetic data, not security
    regions = [r.code for r in ctx.config.regions]
    out = []
    for n in range(1, count + 1):
        report = synthetic_report(rng, n, regions)
        key = DataKey.generate()
        files = []
        if n % 3 == 0:
            w = ctx.intake.attachment_writer(key, ctx.intake.allowance(), f"synthetic-{n}.png")
            w.feed(tiny_png(n))
            files.append(w.finish())
        receipt = ctx.intake.submit(report, key, files, "demo", synthetic=True)
        out.append((receipt.code_display, receipt.secret_display))
    return out


DEMO_ANALYST = "demo-analyst"
DEMO_TEAM = (("demo-caseworker", {"caseworker"}), (DEMO_ANALYST, {"analyst"}))


def seed_back_office(ctx: NodeContext) -> None:
    """Give the demo a working back office: a caseworker and an analyst (same demo
    passphrase), and synthetic cases in every state -- assigned, with notes, tasks, a
    conversation, referrals and incident codings."""
    from node import accounts
    from node.backoffice.incidents import IncidentCoding

    admin = accounts.unlock(ctx.db.read(), DEMO_ADMIN, DEMO_PASSPHRASE)
    hour = int(ctx.clock().timestamp()) // 3600
    with ctx.db.write() as conn:
        for username, roles in DEMO_TEAM:
            member, _ = accounts.create(conn, username, DEMO_PASSPHRASE, roles,
                                        ctx.staff_params, hour, certifier=ctx.keys.certifier)
            for role in roles:
                for key_name in accounts.NODE_KEYS_BY_ROLE.get(role, ()):
                    accounts.grant_key(conn, key_name, admin.node_keys[key_name],
                                       accounts.staff_holder(member.id), member.public_key,
                                       certifier=ctx.keys.certifier)
    worker = accounts.unlock(ctx.db.read(), "demo-caseworker", DEMO_PASSPHRASE)
    rng = random.Random(11)  # noqa: S311 -- synthetic data
    entries = [e for e in ctx.cases.queue(admin) if e.urgency.level == "routine"]
    assigned = max(1, len(entries) * 2 // 3)
    for n, entry in enumerate(entries):
        rid = entry.view.id
        r = entry.view.record
        category = rng.choice(["rape", "rape", "sexual_slavery", "other_sexual_violence"])
        # every routine case is coded (the demo's statistics count them); two thirds are
        # also assigned and worked on
        coder = worker if n < assigned else admin
        if n < assigned:
            ctx.case_access.assign(admin, rid, worker.member.id)
        year, month, day = (r.get("incident_year"), r.get("incident_month"),
                            r.get("incident_day"))
        ctx.incidents.code(coder, rid, IncidentCoding(
            category=category, region=r.get("region"),
            # as precise as the reporter was: a month or a year is not its first day
            date_from=date(year, month or 1, day if month and day else 1) if year else None,
            date_from_precision="day" if month and day else "month" if month else "year",
            perpetrator_affiliation=r.get("perpetrator_affiliation"),
            perpetrator_count=rng.randint(1, 5), survivor_sex=rng.choice(["female", "male"]),
            survivor_age_group=rng.choice(["12-17", "18-24", "25-59"]),
            context=rng.choice(["non_international_armed_conflict",
                                "widespread_or_systematic_attack"])))
        if n >= assigned:
            continue
        ctx.timeline.add_note(worker, rid, f"{LABEL} First contact planned. Synthetic note {n}.")
        ctx.timeline.add_task(worker, rid, f"{LABEL} Follow-up call", None)
        ctx.conversations.send(worker, rid, f"{LABEL} Hello, this is a synthetic message from "
                               "the demo caseworker. How can we help?")
        if entry.view.consent.referral and ctx.config.services:
            ctx.referrals.refer(admin, rid, ctx.config.services[0].id,
                                f"{LABEL} needs: {', '.join(r.get('needs', []))}")
        if n % 4 == 3:
            ctx.timeline.set_status(worker, rid, "closed")


def copy_demo_prompts(datadir: DataDir) -> None:
    """The demo's spoken prompts (synthetic speech) into the node's prompts folder."""
    folder = datadir.root / "prompts"
    folder.mkdir(mode=0o700, exist_ok=True)
    for item in resources.files("node").joinpath("demo_prompts").iterdir():
        if item.name.endswith(".wav"):
            (folder / item.name).write_bytes(item.read_bytes())


def prepare(data: Path, reports: int = 24, config_text: str = DEMO_CONFIG) -> DataDir:
    """Create and fill a demo node in `data` once (synthetic data, demo credentials)."""
    datadir = DataDir(data)
    if not datadir.is_initialised():
        result = init_node(datadir, DEMO_ADMIN, DEMO_PASSPHRASE, config_text, pw.STAFF)
        copy_demo_prompts(datadir)
        ctx = open_node(datadir)
        receipts = seed(ctx, reports)
        seed_back_office(ctx)
        ctx.close()
        (datadir.root / CREDENTIALS_FILE).write_text(
            f"{LABEL} Demo node credentials. Synthetic data only.\n\n"
            f"Staff sign-in (passphrase for every demo account: {DEMO_PASSPHRASE}):\n"
            f"  {DEMO_ADMIN} (admin and coordinator), demo-caseworker, demo-analyst\n"
            f"Recovery key (demo): {result.recovery_key}\n\n"
            "Receipts of synthetic reports (receipt number / secret):\n"
            + "".join(f"  {c}  /  {s}\n" for c, s in receipts[:5]), encoding="utf-8")
    return datadir


def run(data: Path, host: str, port: int, reports: int = 24, staff_port: int = 8079) -> int:
    """`backup-node demo`: one standalone demo node, its staff office on 127.0.0.1 apart
    from the public site (the banner prints both)."""
    from node.server import serve, sites

    datadir = prepare(data, reports)
    ctx = open_node(datadir)
    banner = ("\n=== BackUp DEMO node -- synthetic data, not for real reports ===\n"
              + (datadir.root / CREDENTIALS_FILE).read_text(encoding="utf-8") + "\n")
    try:
        asyncio.run(serve(ctx, sites(host, port, "127.0.0.1", staff_port), banner=banner))
    finally:
        ctx.close()
    return 0
