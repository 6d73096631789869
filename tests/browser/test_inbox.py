"""A caseworker clears their inbox in a real browser (issue 15, "An inbox and tasks").

Debian's Chromium drives a real `backup-node serve` on 127.0.0.1 (the module's `node`).
Each run has its own caseworker with one case assigned to them, on which the reporter has
replied and a task is overdue. The navigation counts three things new; "my work" lists
them; the caseworker opens the reply from it (the case page opens at the conversation and
marks it read), comes back to "my work" and finishes the overdue task there; nothing is
left. At 1280×800 and 360×740, in English and in Arabic (right to left).

Screenshots go to test-artifacts/browser/inbox-<lang>-<width>-NN-*.png. Expected texts
come from the node's own catalogues, never typed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM_ARGS, host_of
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, NodeProcess

pytestmark = pytest.mark.browser

SIZES = {"wide": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}
RUNS = [(lang, size) for lang in ("en", "ar") for size in SIZES]
PASSPHRASE = "inbox caseworker passphrase for the browser"


@dataclass(frozen=True)
class Run:
    username: str
    report_id: str
    reply: str
    task: str
    due: str


@pytest.fixture(scope="module")
def runs(node: NodeProcess) -> dict[tuple[str, str], Run]:
    """Per run: a caseworker, a case assigned to them, the reporter's reply and a task due
    yesterday -- written in this process while the node serves (SQLite WAL)."""
    from crypto import passphrase as pw
    from crypto.keys import DataKey
    from node import accounts
    from node.context import open_node
    from node.datadir import DataDir
    from node.intake.models import Consent, ReportInput

    ctx = open_node(DataDir(node.datadir))
    out = {}
    try:
        coordinator = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
        due = datetime.now(UTC).date() - timedelta(days=1)
        for lang, size in RUNS:
            username = f"inbox-{lang}-{size}"
            with ctx.db.write() as conn:
                member, _ = accounts.create(conn, username, PASSPHRASE, {"caseworker"},
                                            pw.INSECURE_FAST_FOR_TESTS, 0,
                                            certifier=ctx.keys.certifier)
            worker = accounts.unlock(ctx.db.read(), username, PASSPHRASE)
            receipt = ctx.intake.submit(ReportInput(
                narrative=f"inbox in a browser {lang} {size}", consent=Consent(care=True)),
                DataKey.generate(), [], "test")
            rid = receipt.report_id
            ctx.case_access.assign(coordinator, rid, member.id)
            access = ctx.intake.open_receipt(receipt.code, receipt.secret)
            reply = f"reply from the reporter, {lang} {size}"
            ctx.conversations.reply(rid, access.data_key, reply)
            task = f"call the clinic back, {lang} {size}"
            ctx.timeline.add_task(worker, rid, task, due)
            out[(lang, size)] = Run(username, rid, reply, task, due.isoformat())
    finally:
        ctx.close()
    return out


@pytest.fixture(scope="module")
def browser_for_inbox(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.mark.parametrize(("lang", "size"), RUNS, ids=[f"{lang}-{size}" for lang, size in RUNS])
def test_a_caseworker_clears_their_inbox(
        node: NodeProcess, runs: dict[tuple[str, str], Run], browser_for_inbox: Any,
        artifacts: Path, lang: str, size: str) -> None:
    from babel.dates import format_date

    from node.backoffice.case_numbers import number_of
    from node.i18n import load

    t = load(lang).gettext
    base = node.url
    run = runs[(lang, size)]
    viewport = SIZES[size]
    context = browser_for_inbox.new_context(viewport=viewport, locale=lang,
                                            extra_http_headers={"Accept-Language": lang})
    context.set_default_timeout(15_000)
    requests: list[str] = []
    page = context.new_page()
    page.on("request", lambda r: requests.append(r.url))
    n = 0

    def shot(name: str) -> None:
        nonlocal n
        n += 1
        page.screenshot(path=artifacts / f"inbox-{lang}-{viewport['width']}-{n:02d}-{name}.png",
                        full_page=True)

    def fits() -> bool:
        return bool(page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))

    def badge() -> str:
        counts = page.locator("#nav-inbox .badge")
        return counts.inner_text().strip() if counts.count() else ""

    try:
        page.goto(f"{base}/staff/login")
        page.fill("#username", run.username)
        page.fill("#passphrase", PASSPHRASE)
        page.click("main form[action='/staff/login'] button")
        page.wait_for_url(f"{base}/staff/cases", timeout=60_000)
        assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
        # newly assigned, a reply, an overdue task
        assert badge() == "3"
        assert t("My work") in page.locator("#nav-inbox").inner_text()

        page.click("#nav-inbox")
        page.wait_for_url(f"{base}/staff/inbox")
        item = page.locator(f"#case-{run.report_id}")
        assert number_of(run.report_id) in item.locator("h2").inner_text()
        assert t("Newly assigned to you") in item.inner_text()
        due = format_date(date.fromisoformat(run.due), format="long", locale=lang)
        assert (t("Overdue since %(day)s") % {"day": due}) in item.inner_text()
        assert run.task in item.locator("li.task bdi").inner_text()
        assert fits()
        shot("inbox")

        # the reply: the case opens at the conversation, which shows it
        item.locator("li.reply a").click()
        page.wait_for_url(f"{base}/staff/cases/{run.report_id}#conversation")
        assert run.reply in page.locator("#conversation ~ ul").first.inner_text()
        assert fits()
        shot("reply-read")
        # read, and no longer newly assigned: only the task is left
        assert badge() == "1"

        page.click("#nav-inbox")
        page.wait_for_url(f"{base}/staff/inbox")
        item = page.locator(f"#case-{run.report_id}")
        assert item.locator("li.reply").count() == 0
        assert t("Newly assigned to you") not in item.inner_text()
        shot("task-left")
        item.locator("li.task button").click()
        page.wait_for_url(f"{base}/staff/inbox")
        status = page.locator("main [role=status]").all_inner_texts()
        assert t("The task is done.") in status
        assert t("Nothing new. Your cases are in the case list.") in status
        assert badge() == ""
        assert fits()
        shot("cleared")
    finally:
        context.close()
    assert all(u.startswith("data:") or host_of(u) == "127.0.0.1" for u in requests)
