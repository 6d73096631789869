"""The back office in a real browser (issue 3, "Tests that must exist": browser test).

Debian's Chromium drives a real `backup-node serve` on 127.0.0.1 (the module's `node`, from
conftest.py). A reporter sends a report at 360×740; the coordinator (the node's first
account, admin + coordinator) finds it at the top of the triage queue, moves it to "In
triage" and assigns it to a caseworker; the caseworker, in their own browser context at
1280×900, reads it and writes to the reporter; the reporter, in a fresh context, reads the
message with their receipt and answers; the caseworker sees the answer. Then: a caseworker
is refused a case not assigned to them, the chain of custody lists every action and
verifies, and nothing left 127.0.0.1 nor broke the Content Security Policy.

Screenshots go to test-artifacts/browser/office-NN-*.png. Expected texts come from the
node's own English catalogue (labels, error messages), never typed here.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import NewPage, Traffic, foreign_requests
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, NodeProcess

pytestmark = pytest.mark.browser

STAFF_VIEWPORT = {"width": 1280, "height": 900}
WORKER = "amina.k"
WORKER_PASSPHRASE = "caseworker passphrase for the browser test"
RUN = secrets.token_hex(3)  # every marker is unique to this run
MAIN_MARK = f"Office-main-{RUN}"
OTHER_MARK = f"Office-other-{RUN}"
MESSAGE_MARK = f"Office-message-{RUN}"
REPLY_MARK = f"Office-reply-{RUN}"
MESSAGE = (f"Hello, this is your caseworker. {MESSAGE_MARK}\n"
           "We can help with a clinic visit.\n"
           "Answer here when it is safe for you.")
REPLY = f"Thank you. {REPLY_MARK}\nMornings are safe."
REFUSAL_TESTS = ("test_caseworker_is_refused_a_case_not_assigned_to_them",
                 "test_refusal_page_says_not_allowed_not_expired")


# ------------------------------------------------------------------ fixtures and helpers

@dataclass(frozen=True)
class Worker:
    username: str
    passphrase: str
    id: str


@pytest.fixture(scope="module")
def caseworker(node: NodeProcess) -> Worker:
    """A caseworker account, created in this process while the node serves (SQLite WAL and a
    busy timeout let a second process write). No invitation flow: that is tested elsewhere."""
    from crypto import passphrase as pw
    from node import accounts
    from node.context import open_node
    from node.datadir import DataDir
    from node.intake.service import hour_of

    ctx = open_node(DataDir(node.datadir))
    try:
        with ctx.db.write() as conn:
            member, _ = accounts.create(conn, WORKER, WORKER_PASSPHRASE, {"caseworker"},
                                        pw.STAFF, hour_of(datetime.now(UTC)),
                                        certifier=ctx.keys.certifier)
    finally:
        ctx.close()
    return Worker(WORKER, WORKER_PASSPHRASE, member.id)


@pytest.fixture(scope="module")
def en() -> Any:
    """English as the node serves it."""
    from node.i18n import load

    return load("en").gettext


@dataclass
class Case:
    id: str
    code: str  # receipt number
    secret: str
    other_id: str  # a second report, never assigned to the caseworker


@pytest.fixture(scope="module")
def state() -> dict[str, Case]:
    """What the conversation test leaves for the tests after it."""
    return {}


class Shots:
    """Numbered full-page screenshots: test-artifacts/browser/office-NN-<name>.png."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.n = 0

    def __call__(self, page: Any, name: str) -> None:
        self.n += 1
        page.screenshot(path=self.directory / f"office-{self.n:02d}-{name}.png", full_page=True)


@pytest.fixture(scope="module")
def shots(artifacts: Path) -> Iterator[Shots]:
    for old in artifacts.glob("office-*.png"):
        old.unlink()
    yield Shots(artifacts)


def path_of(page: Any) -> str:
    return str(urlsplit(page.url).path)


def csp_errors(traffic: Traffic, test: str | None = None) -> list[str]:
    return [m[2] for m in traffic.console
            if (test is None or m[0] == test)
            and ("Content Security Policy" in m[2] or "Content-Security-Policy" in m[2])]


def send_report(page: Any, base: str, narrative: str, day: datetime | None) -> tuple[str, str]:
    """Who → what → (when) → review → send, as a reporter does; the receipt number and
    secret shown once on the last page."""
    page.goto(f"{base}/en/report/who")
    page.check("#reporter_role-survivor")
    page.click("button[name=go][value=next]")
    page.wait_for_url(f"{base}/en/report/what")
    page.fill("#narrative", narrative)
    page.click("button[name=go][value=next]")
    page.wait_for_url(f"{base}/en/report/when")
    if day is not None:
        page.fill("#incident_day", str(day.day))
        page.select_option("#incident_month", str(day.month))
        page.fill("#incident_year", str(day.year))
        page.click("button[name=go][value=next]")
        page.wait_for_url(f"{base}/en/report/where")
    page.goto(f"{base}/en/report/review")
    assert narrative.split("\n")[0] in page.locator("main dl").inner_text()
    page.click("button[name=go][value=next]")  # "Send report"
    page.wait_for_url(f"{base}/en/report/sent")
    code = page.locator("#receipt-code").inner_text().strip()
    secret = page.locator("#receipt-secret").inner_text().strip()
    assert code and secret
    return code, secret


def staff_page(new_page: NewPage) -> Any:
    page: Any = new_page()
    page.set_viewport_size(STAFF_VIEWPORT)
    return page


def sign_in(page: Any, base: str, username: str, passphrase: str, lands_on: str) -> None:
    page.goto(f"{base}/staff/login")
    page.fill("#username", username)
    page.fill("#passphrase", passphrase)
    page.click("main form[action='/staff/login'] button")
    # Argon2id with production parameters opens the key; each role lands on its own page.
    page.wait_for_url(f"{base}{lands_on}", timeout=30_000)


def case_id_from(row: Any) -> str:
    href = str(row.locator("a[href^='/staff/cases/']").get_attribute("href"))
    return href.rsplit("/", 1)[1]


def conversation(page: Any) -> Any:
    """The case page's list of messages (under the "Conversation with the reporter" title)."""
    return page.locator("form[action$='/messages']").locator(
        "xpath=preceding-sibling::ul[1]/li")


# ------------------------------------------------------------------ 1-4: the whole flow

def test_coordinator_triages_caseworker_and_reporter_converse(
        node: NodeProcess, caseworker: Worker, new_page: NewPage, traffic: Traffic,
        shots: Shots, en: Any, state: dict[str, Case]) -> None:
    from node.web import labels

    base = node.url

    # 1. Two reports reach the node: an undated one first, then one dated yesterday (the
    #    PEP window is open, so it must come first in the queue although it came second).
    other: Any = new_page()
    send_report(other, base, f"{OTHER_MARK} Another report, date unknown.", None)
    reporter: Any = new_page()
    yesterday = datetime.now(UTC) - timedelta(days=1)
    narrative = f"{MAIN_MARK} They came to the house yesterday.\nI need a doctor."
    code, secret = send_report(reporter, base, narrative, yesterday)
    shots(reporter, "reporter-sent")

    # 2. The coordinator signs in, lands on the triage queue, the new report is on top.
    coord = staff_page(new_page)
    sign_in(coord, base, ADMIN, ADMIN_PASSPHRASE, "/staff/queue")
    rows = coord.locator("main tbody tr")
    assert rows.count() >= 2
    top = rows.first
    assert MAIN_MARK in top.inner_text()
    assert top.get_attribute("class") == "pep"
    assert top.locator(".badge.pep").is_visible()
    assert en(labels.STATUS_FOR_STAFF["new"]) in top.inner_text()
    other_row = coord.locator("main tbody tr", has_text=OTHER_MARK)
    assert other_row.count() == 1
    other_id = case_id_from(other_row)
    shots(coord, "coordinator-queue")

    top.locator("a[href^='/staff/cases/']").click()
    coord.wait_for_url(f"{base}/staff/cases/*")
    case_id = path_of(coord).rsplit("/", 1)[1]
    assert case_id != other_id
    main = coord.locator("main")
    assert narrative in main.inner_text()  # line break kept
    assert en("Nobody yet") in main.inner_text()

    coord.select_option("form[action$='/status'] select[name=status]", "in_triage")
    coord.click("form[action$='/status'] button")
    coord.wait_for_url(f"{base}/staff/cases/{case_id}#status")
    assert coord.locator("p.box[role=status]").inner_text() == en("The status was changed.")
    assert (f"{en('Status')}: {en(labels.STATUS_FOR_STAFF['in_triage'])}"
            in main.locator("h2").all_inner_texts())
    shots(coord, "coordinator-in-triage")

    assign = coord.locator("form[action$='/assign']")
    assign.locator("select[name=staff_id]").select_option(label=WORKER)
    assert assign.locator("select[name=staff_id]").input_value() == caseworker.id
    assign.locator("button").click()
    coord.wait_for_url(f"{base}/staff/cases/{case_id}#assigned")
    assert coord.locator("p.box[role=status]").inner_text() == en("The case was assigned.")
    assert (f"{en('Status')}: {en(labels.STATUS_FOR_STAFF['assigned'])}"
            in main.locator("h2").all_inner_texts())
    assignees = coord.locator("form[action$='/unassign']").locator("xpath=..")
    assert assignees.count() == 1 and WORKER in assignees.inner_text()
    history = main.locator("#status ~ form[action$='/status'] + ul li").all_inner_texts()
    assert [h.rsplit(": ", 1)[1] for h in history] == [
        en(labels.STATUS_FOR_STAFF[s]) for s in ("in_triage", "assigned")], history
    assert all(f" — {ADMIN}: " in h for h in history), history
    shots(coord, "coordinator-assigned")
    coord.goto(f"{base}/staff/queue")  # assigned: out of the triage queue
    assert MAIN_MARK not in coord.locator("main").inner_text()
    assert OTHER_MARK in coord.locator("main").inner_text()

    # 3. The caseworker, in their own context, sees only their case, reads it, writes.
    worker = staff_page(new_page)
    sign_in(worker, base, WORKER, WORKER_PASSPHRASE, "/staff/cases")
    listed = worker.locator("main tbody tr")
    assert listed.count() == 1
    assert MAIN_MARK in listed.inner_text()
    assert OTHER_MARK not in worker.locator("main").inner_text()
    assert worker.locator("a[href='/staff/queue']").count() == 0
    shots(worker, "caseworker-cases")
    listed.locator("a[href^='/staff/cases/']").click()
    worker.wait_for_url(f"{base}/staff/cases/{case_id}")
    assert narrative in worker.locator("main").inner_text()
    assert worker.locator("form[action$='/assign']").count() == 0  # coordinators only
    worker.fill("form[action$='/messages'] textarea[name=text]", MESSAGE)
    worker.click("form[action$='/messages'] button")
    worker.wait_for_url(f"{base}/staff/cases/{case_id}#conversation")
    assert worker.locator("p.box[role=status]").inner_text() == en(
        "The message was sent. The reporter sees it with their receipt.")
    sent = conversation(worker)
    assert sent.count() == 1
    assert sent.first.locator("strong").inner_text() == WORKER
    assert sent.first.locator("bdi").inner_text() == MESSAGE
    shots(worker, "caseworker-message-sent")

    # 4. The reporter, in a fresh context (no cookies), opens the report with the receipt.
    fresh: Any = new_page()
    assert fresh.context.cookies() == []
    fresh.goto(f"{base}/en/receipt")
    fresh.fill("#receipt", code)
    fresh.fill("#secret", secret)
    fresh.click("main form[action='/en/receipt'] button")
    fresh.wait_for_url(f"{base}/en/receipt/report")
    assert fresh.locator("#status").inner_text().strip() == en(
        labels.STATUS_FOR_REPORTER["assigned"])
    messages = fresh.locator("#messages li")
    assert messages.count() == 1
    assert messages.first.locator("strong").inner_text() == en("From the staff")
    assert WORKER not in fresh.locator("main").inner_text()  # staff names stay hidden
    assert messages.first.locator("bdi").inner_text() == MESSAGE  # line breaks kept
    shots(fresh, "reporter-reads-message")

    fresh.fill("textarea[name=reply]", REPLY)
    fresh.click("form[action='/en/receipt/reply'] button")
    fresh.wait_for_url(f"{base}/en/receipt/report")
    assert fresh.locator("p.box[role=status]").inner_text() == en("Your message has been sent.")
    assert messages.count() == 2
    assert messages.nth(1).locator("strong").inner_text() == en("You")
    assert messages.nth(1).locator("bdi").inner_text() == REPLY
    assert fresh.input_value("textarea[name=reply]") == ""
    shots(fresh, "reporter-replied")

    worker.reload()
    answered = conversation(worker)
    assert answered.count() == 2
    assert answered.nth(1).locator("strong").inner_text() == en("the reporter")
    assert answered.nth(1).locator("bdi").inner_text() == REPLY
    shots(worker, "caseworker-sees-reply")

    test = "test_coordinator_triages_caseworker_and_reporter_converse"
    assert not csp_errors(traffic, test)
    state["case"] = Case(case_id, code, secret, other_id)


def _case(state: dict[str, Case], node: NodeProcess, caseworker: Worker,
          new_page: NewPage, traffic: Traffic, shots: Shots, en: Any) -> Case:
    """The case the flow above made (run alone, a test runs the flow first)."""
    if "case" not in state:
        test_coordinator_triages_caseworker_and_reporter_converse(
            node, caseworker, new_page, traffic, shots, en, state)
    return state["case"]


# ------------------------------------------------------------------ 5: access and custody

def test_caseworker_is_refused_a_case_not_assigned_to_them(
        node: NodeProcess, caseworker: Worker, new_page: NewPage, traffic: Traffic,
        shots: Shots, en: Any, state: dict[str, Case]) -> None:
    from node import errors

    case = _case(state, node, caseworker, new_page, traffic, shots, en)
    base = node.url
    worker = staff_page(new_page)
    sign_in(worker, base, WORKER, WORKER_PASSPHRASE, "/staff/cases")

    for path in (f"/staff/cases/{case.other_id}", f"/staff/cases/{case.other_id}/custody",
                 "/staff/queue"):
        response = worker.goto(f"{base}{path}")
        assert response is not None and response.status == 403, path
        assert en(errors.Forbidden.message) in worker.locator("main").inner_text()
        assert OTHER_MARK not in worker.content()
    shots(worker, "caseworker-403")

    # Writing to it is refused too, even with a valid CSRF token of the caseworker's session.
    worker.goto(f"{base}/staff/cases/{case.id}")
    csrf = worker.locator("form[action$='/messages'] input[name=csrf]").input_value()
    refused = worker.request.post(f"{base}/staff/cases/{case.other_id}/messages",
                                  form={"csrf": csrf, "text": "not mine"}, max_redirects=0)
    assert refused.status == 403
    allowed = worker.request.get(f"{base}/staff/cases/{case.id}", max_redirects=0)
    assert allowed.status == 200

    assert not csp_errors(traffic, "test_caseworker_is_refused_a_case_not_assigned_to_them")


def test_refusal_page_says_not_allowed_not_expired(
        node: NodeProcess, caseworker: Worker, new_page: NewPage, traffic: Traffic,
        shots: Shots, en: Any, state: dict[str, Case]) -> None:
    case = _case(state, node, caseworker, new_page, traffic, shots, en)
    worker = staff_page(new_page)
    sign_in(worker, node.url, WORKER, WORKER_PASSPHRASE, "/staff/cases")
    response = worker.goto(f"{node.url}/staff/cases/{case.other_id}")
    assert response is not None and response.status == 403
    assert worker.locator("main h1").inner_text() != en("This page has expired")


def test_custody_lists_every_action_and_the_chain_verifies(
        node: NodeProcess, caseworker: Worker, new_page: NewPage, traffic: Traffic,
        shots: Shots, en: Any, state: dict[str, Case]) -> None:
    case = _case(state, node, caseworker, new_page, traffic, shots, en)
    base = node.url
    coord = staff_page(new_page)
    sign_in(coord, base, ADMIN, ADMIN_PASSPHRASE, "/staff/queue")
    coord.goto(f"{base}/staff/cases/{case.id}")
    coord.click(f"a[href='/staff/cases/{case.id}/custody']")
    coord.wait_for_url(f"{base}/staff/cases/{case.id}/custody")
    shots(coord, "coordinator-custody")

    verdict = coord.locator("main p.box").inner_text()
    assert "warn" not in (coord.locator("main p.box").get_attribute("class") or "")
    assert verdict.startswith(en("The whole audit chain verifies: %(n)s entries, none changed,"
                                 " removed or reordered.").split("%(n)s")[0]), verdict

    rows = [[cell.strip() for cell in row.locator("td").all_inner_texts()]
            for row in coord.locator("main tbody tr").all()]
    seqs = [int(r[0]) for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    entries = [(who, what, detail) for _, _, who, what, detail, _ in rows]

    from node.web.staff.custody_actions import ACTION_LABELS

    def first(who: str, what: str, detail: str | None = None) -> int:
        # the page names each action in the reader's language; the CSV keeps its code
        for i, (w, a, d) in enumerate(entries):
            if w == who and a == en(ACTION_LABELS[what]) and (
                    detail is None or d.startswith(detail)):
                return i
        raise AssertionError(f"no {what} by {who} ({detail}) in {entries}")

    from node.web.labels import STATUS_FOR_STAFF

    # details too read in the reader's language: a status by its label, a person by name
    view = first(ADMIN, "case.view")
    triage = first(ADMIN, "case.status", en(STATUS_FOR_STAFF["in_triage"]))
    assign = first(ADMIN, "case.assign", en("to %(who)s") % {"who": WORKER})
    assigned = first(ADMIN, "case.status", en(STATUS_FOR_STAFF["assigned"]))
    worker_view = first(WORKER, "case.view")
    message = first(WORKER, "case.message")
    reply = first(en("the reporter"), "case.reply")
    assert view < triage < assign < assigned < worker_view < message < reply, entries
    # Only this case: the other report's entries are not in its custody report.
    assert coord.locator("main").inner_text().count(case.other_id) == 0

    csv = coord.request.get(f"{base}/staff/cases/{case.id}/custody.csv")
    assert csv.status == 200
    lines = csv.text().strip().splitlines()
    assert lines[0].startswith("seq,time_utc,actor,action,")
    assert all(line.endswith(",yes") for line in lines[1:])
    assert any(",case.reply," in line for line in lines[1:])
    # the CSV keeps the details as recorded: codes and ids, whatever the page's language
    assert any(",case.status," in line and "in_triage" in line for line in lines[1:])
    assert any(",case.assign," in line and f"to {caseworker.id}" in line for line in lines[1:])

    assert not csp_errors(traffic, "test_custody_lists_every_action_and_the_chain_verifies")


# ------------------------------------------------------------------ 6: nothing leaves 127.0.0.1

def test_no_request_leaves_the_machine_and_no_csp_violation(node: NodeProcess,
                                                             traffic: Traffic) -> None:
    if not traffic.requests:
        pytest.skip("checks the traffic recorded by the tests above: run the whole module")
    assert not foreign_requests(traffic)
    node_origin = f"http://127.0.0.1:{node.port}"
    for test, url, _kind, frame_url, _navigation in traffic.requests:
        if url.startswith("data:"):
            continue
        assert url.startswith(node_origin + "/"), (test, url)
        assert frame_url.startswith(node_origin + "/") or frame_url == "about:blank", (
            test, url, frame_url)
    documents = [d for d in traffic.documents if d[1].startswith(node_origin)]
    assert any("/staff/" in url for _, url, _ in documents)
    for test, url, csp in documents:
        assert csp and "default-src 'none'" in csp, (test, url, csp)
    assert not csp_errors(traffic)
    assert not traffic.page_errors
    # The only console errors allowed: the 403 pages the refusal tests asked for.
    unexpected = [m for m in traffic.console if m[1] == "error"
                  and not (m[0] in REFUSAL_TESTS and "status of 403" in m[2])]
    assert not unexpected
