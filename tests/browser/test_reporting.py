"""The reporter's site and the staff office in a real browser (issue 2, "Tests that must exist").

Debian's Chromium at 360×740 drives a real `backup-node serve` on 127.0.0.1: full reports in
French, Arabic (right-to-left) and English without JavaScript, the receipt channel, the quick
exit (link, Escape, Shift ×3, server-side draft), staff reading the French report, errors that
keep what was typed, and layout basics in every language. Screenshots go to
test-artifacts/browser/. Assertions are structural (ids, attributes, paths), except where
the expected text comes from the node's own catalogues, since translations are in progress.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import NEUTRAL_TEXT, Neutral, NewPage, Traffic, foreign_requests
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, CANARY, NodeProcess

pytestmark = pytest.mark.browser

LANGUAGES = ("en", "fr", "ar", "sw", "uk")
PUBLIC_FLOW_TESTS = ("test_full_report", "test_quick_exit")  # tests 1-4, checked by test 5
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


# ------------------------------------------------------------------ test data

def png_bytes(text: str = CANARY) -> bytes:
    """A real 4×4 RGB PNG, made here, with `text` in a tEXt chunk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + bytes((200, 30 * y, 60)) * 4 for y in range(4))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + chunk(b"tEXt", b"Comment\x00" + text.encode())
            + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


@dataclass
class Answers:
    lang: str
    marker: str  # unique words at the start of the narrative, to find the report again
    narrative: str
    role: str = "survivor"
    day: str = "15"
    month: str = "3"
    year: str = "2024"
    region: str = "R1"
    place: str = f"Village près de la rivière {CANARY}"
    affiliation: str = "non_state_armed_group"
    perpetrators: str = f"Trois hommes en uniforme {CANARY}"
    people_harmed: str = "2"
    needs: tuple[str, ...] = ("medical", "psychosocial", "legal")
    consents: tuple[str, ...] = ("care", "referral", "statistics", "contact")
    contact_method: str = "sms"
    contact_details: str = f"+000 555 0101 {CANARY}"
    safe_times: str = "Le matin"
    precautions: str = "Utiliser le nom Marie"
    file_name: str = "photo.png"
    file_bytes: bytes = field(default_factory=png_bytes)


@dataclass
class Sent:
    answers: Answers
    code: str
    secret: str


def french() -> Answers:
    marker = "Rapport-FR-navigateur"
    return Answers(lang="fr", marker=marker, narrative=(
        f"{marker} {CANARY}. Ils sont venus la nuit au village.\n"
        "Je veux que quelqu'un sache ce qui s'est passé."))


def arabic() -> Answers:
    marker = "تقرير-عربي-متصفح"
    return Answers(
        lang="ar", marker=marker,
        narrative=f"{marker} {CANARY}. جاؤوا في الليل إلى القرية.",
        day="15".translate(ARABIC_INDIC), year="2024".translate(ARABIC_INDIC),
        place=f"قرب النهر {CANARY}", perpetrators=f"ثلاثة رجال بالزي العسكري {CANARY}",
        contact_details=f"+000 555 0102 {CANARY}", safe_times="في الصباح",
        precautions="استخدموا اسم مريم", file_name="صورة.png")


def english() -> Answers:
    marker = "Report-EN-nojs"
    return Answers(
        lang="en", marker=marker, role="witness",
        narrative=f"{marker} {CANARY}. They came at night to the village.",
        place=f"Near the river {CANARY}", perpetrators=f"Three men in uniform {CANARY}",
        affiliation="militia", needs=("shelter",), consents=("care", "contact"),
        contact_method="phone_call", contact_details=f"+000 555 0103 {CANARY}",
        safe_times="Mornings", precautions="Ask for Anna", file_name="evidence.png",
        file_bytes=png_bytes(f"nojs {CANARY}"))


# ------------------------------------------------------------------ helpers

class Shots:
    """Numbered full-page screenshots under test-artifacts/browser/<prefix>-NN-<name>.png."""

    def __init__(self, directory: Path | None, prefix: str) -> None:
        self.directory = directory
        self.prefix = prefix
        self.n = 0
        if directory is not None:
            for old in directory.glob(f"{prefix}-*.png"):
                old.unlink()

    def __call__(self, page: Any, name: str) -> None:
        if self.directory is None:
            return
        self.n += 1
        page.screenshot(path=self.directory / f"{self.prefix}-{self.n:02d}-{name}.png",
                        full_page=True)


def path_of(page: Any) -> str:
    return urlsplit(page.url).path


def html_attrs(page: Any) -> tuple[str | None, str | None]:
    html = page.locator("html")
    return html.get_attribute("lang"), html.get_attribute("dir")


def go_next(page: Any, base: str, lang: str, step: str) -> None:
    page.click("button[name=go][value=next]")
    page.wait_for_url(f"{base}/{lang}/report/{step}")


def fill_report(page: Any, base: str, a: Answers, shots: Shots) -> Sent:
    """Every step of the form, from the home page to the receipt, answering everything."""
    lang = a.lang
    direction = "rtl" if lang == "ar" else "ltr"

    def check_page(step: str) -> None:
        assert path_of(page) == f"/{lang}/report/{step}"
        assert html_attrs(page) == (lang, direction)
        assert page.locator("a#exit").is_visible()
        shots(page, step)

    page.goto(f"{base}/{lang}/")
    assert html_attrs(page) == (lang, direction)
    shots(page, "home")
    page.click(f"a[href='/{lang}/report/who']")
    page.wait_for_url(f"{base}/{lang}/report/who")

    page.check(f"#reporter_role-{a.role}")
    check_page("who")
    go_next(page, base, lang, "what")

    page.fill("#narrative", a.narrative)
    check_page("what")
    go_next(page, base, lang, "when")

    page.fill("#incident_day", a.day)
    page.select_option("#incident_month", a.month)
    page.fill("#incident_year", a.year)
    check_page("when")
    go_next(page, base, lang, "where")

    page.select_option("#region", a.region)
    page.fill("#place", a.place)
    check_page("where")
    go_next(page, base, lang, "perpetrators")

    page.check(f"#perpetrator_affiliation-{a.affiliation}")
    page.fill("#perpetrators", a.perpetrators)
    page.fill("#people_harmed", a.people_harmed)
    check_page("perpetrators")
    go_next(page, base, lang, "help")

    for need in a.needs:
        page.check(f"#needs-{need}")
    check_page("help")
    go_next(page, base, lang, "consent")

    for consent in a.consents:
        page.check(f"#consent-{consent}")
    page.check(f"#contact_method-{a.contact_method}")
    page.fill("#contact_details", a.contact_details)
    page.fill("#contact_safe_times", a.safe_times)
    page.fill("#contact_precautions", a.precautions)
    check_page("consent")
    go_next(page, base, lang, "files")

    page.set_input_files("#files", files=[
        {"name": a.file_name, "mimeType": "image/png", "buffer": a.file_bytes}])
    check_page("files")
    go_next(page, base, lang, "review")  # the file goes up with "Next"

    check_page("review")
    summary = page.locator("main dl").inner_text()
    for expected in (a.marker, CANARY, a.file_name, a.place, a.perpetrators):
        assert expected in summary, (expected, summary)
    assert f"{int(a.year)}-{a.month}-{int(a.day)}" in summary  # int() reads Arabic-Indic too
    assert page.locator("main dl dd").count() == 8
    page.click("button[name=go][value=next]")  # "Send report"
    page.wait_for_url(f"{base}/{lang}/report/sent")

    assert html_attrs(page) == (lang, direction)
    code = page.locator("#receipt-code").inner_text().strip()
    secret = page.locator("#receipt-secret").inner_text().strip()
    assert len(code.replace(" ", "")) == 10 and code.replace(" ", "").isdigit(), code
    assert len(secret.replace(" ", "")) == 21 and secret.replace(" ", "").isdigit(), secret
    shots(page, "sent")

    # Shown once: the same page again no longer has them.
    page.goto(f"{base}/{lang}/report/sent")
    assert page.locator("#receipt-code").count() == 0
    assert page.locator("#receipt-secret").count() == 0
    assert code.replace(" ", "") not in page.content()
    return Sent(a, code, secret)


def open_receipt(page: Any, base: str, lang: str, code: str, secret: str) -> None:
    page.goto(f"{base}/{lang}/receipt")
    page.fill("#receipt", code)
    page.fill("#secret", secret)
    page.click(f"main form[action='/{lang}/receipt'] button")
    page.wait_for_url(f"{base}/{lang}/receipt/report")
    assert page.locator("#status").inner_text().strip()


def change_consent(page: Any, base: str, lang: str, *, off: str, on: str) -> None:
    assert page.is_checked(f"#consent-{off}")
    assert not page.is_checked(f"#consent-{on}")
    page.uncheck(f"#consent-{off}")
    page.check(f"#consent-{on}")
    page.click(f"form[action='/{lang}/receipt/consent'] button")
    page.wait_for_url(f"{base}/{lang}/receipt/report")
    assert page.locator("p.box[role=status]").is_visible()
    assert not page.is_checked(f"#consent-{off}")
    assert page.is_checked(f"#consent-{on}")


def add_information(page: Any, base: str, lang: str, text: str,
                    file: tuple[str, bytes] | None = None) -> None:
    before = page.locator("main ul.plain li").count()
    page.fill("#text", text)
    if file is not None:
        page.set_input_files("#files", files=[
            {"name": file[0], "mimeType": "image/png", "buffer": file[1]}])
    # the form's own Send button (with JavaScript the recorder's buttons come before it)
    page.click(f"form[action='/{lang}/receipt/add'] .actions button")
    page.wait_for_url(f"{base}/{lang}/receipt/report")
    assert page.locator("p.box[role=status]").is_visible()
    assert page.locator(".errs").count() == 0
    assert page.locator("main ul.plain li").count() == before + 1 + (file is not None)


def quick_report(page: Any, base: str, lang: str, narrative: str) -> Sent:
    """A short report (narrative only), for tests that only need a receipt."""
    page.goto(f"{base}/{lang}/report/what")
    page.fill("#narrative", narrative)
    go_next(page, base, lang, "when")
    page.goto(f"{base}/{lang}/report/review")
    page.click("button[name=go][value=next]")
    page.wait_for_url(f"{base}/{lang}/report/sent")
    a = Answers(lang=lang, marker=narrative, narrative=narrative)
    return Sent(a, page.locator("#receipt-code").inner_text().strip(),
                page.locator("#receipt-secret").inner_text().strip())


@pytest.fixture(scope="module")
def reports() -> dict[str, Sent]:
    """Reports sent by earlier tests of this module, by language."""
    return {}


# ------------------------------------------------------------------ 1-3: full reports

def test_full_report_in_french(node: NodeProcess, new_page: NewPage, artifacts: Path,
                               reports: dict[str, Sent]) -> None:
    page = new_page()
    shots = Shots(artifacts, "fr")
    sent = fill_report(page, node.url, french(), shots)
    reports["fr"] = sent

    open_receipt(page, node.url, "fr", sent.code, sent.secret)
    assert html_attrs(page) == ("fr", "ltr")
    shots(page, "receipt-status")
    change_consent(page, node.url, "fr", off="statistics", on="legal")
    shots(page, "receipt-consent-changed")
    add_information(page, node.url, "fr", f"Complément d'information {CANARY}")
    shots(page, "receipt-added")


def test_full_report_in_arabic_is_right_to_left(node: NodeProcess, new_page: NewPage,
                                                artifacts: Path,
                                                reports: dict[str, Sent]) -> None:
    page = new_page()
    shots = Shots(artifacts, "ar")
    a = arabic()
    sent = fill_report(page, node.url, a, shots)
    reports["ar"] = sent

    # The region's Arabic name comes from the node's configuration.
    page.goto(f"{node.url}/ar/services?region=R1")
    assert html_attrs(page) == ("ar", "rtl")
    assert page.locator("#region option[value=R1]").inner_text() == "الشمال"

    # A reporter may type the numbers with Arabic-Indic digits.
    open_receipt(page, node.url, "ar", sent.code.translate(ARABIC_INDIC),
                 sent.secret.translate(ARABIC_INDIC))
    assert html_attrs(page) == ("ar", "rtl")
    shots(page, "receipt-status")
    change_consent(page, node.url, "ar", off="referral", on="sharing")
    add_information(page, node.url, "ar", f"معلومات إضافية {CANARY}")
    shots(page, "receipt-added")


def test_full_report_without_javascript(node: NodeProcess, new_page: NewPage, artifacts: Path,
                                        reports: dict[str, Sent]) -> None:
    page = new_page(js=False)
    shots = Shots(artifacts, "en-nojs")
    sent = fill_report(page, node.url, english(), shots)
    reports["en"] = sent

    open_receipt(page, node.url, "en", sent.code, sent.secret)
    shots(page, "receipt-status")
    change_consent(page, node.url, "en", off="care", on="referral")
    add_information(page, node.url, "en", f"More details {CANARY}",
                    file=("second.png", png_bytes("second")))
    shots(page, "receipt-added")
    assert "second.png" in page.locator("main ul.plain").inner_text()


# ------------------------------------------------------------------ 4: quick exit

def _on_neutral(page: Any, neutral: Neutral) -> None:
    page.wait_for_url(neutral.url)
    assert NEUTRAL_TEXT in page.locator("body").inner_text()


def test_quick_exit_link_works_without_javascript(node: NodeProcess, neutral: Neutral,
                                                  new_page: NewPage) -> None:
    page = new_page(js=False)
    page.goto(f"{node.url}/en/report/what")
    link = page.locator("a#exit")
    assert link.get_attribute("href") == "/exit"
    assert set((link.get_attribute("rel") or "").split()) >= {"nofollow", "noreferrer"}
    link.click()
    _on_neutral(page, neutral)


def test_quick_exit_escape_replaces_the_history_entry(node: NodeProcess, neutral: Neutral,
                                                      new_page: NewPage) -> None:
    """GOV.UK's component navigates with `location.href`, so Back returns to the form page;
    issue 2 asks for more: exit.js uses `location.replace`, so the form page's history entry
    is replaced by the neutral site and Back skips it."""
    page = new_page()
    page.goto(f"{node.url}/en/")
    page.click("a[href='/en/report/who']")
    page.wait_for_url(f"{node.url}/en/report/who")
    page.check("#reporter_role-witness")
    length = page.evaluate("history.length")
    page.keyboard.press("Escape")
    _on_neutral(page, neutral)
    assert page.evaluate("history.length") == length  # replaced, not added
    page.go_back()
    page.wait_for_load_state()
    assert path_of(page) == "/en/", page.url  # the page before the form, not the form
    assert path_of(page) != "/en/report/who"


def test_quick_exit_shift_three_times(node: NodeProcess, neutral: Neutral,
                                      new_page: NewPage) -> None:
    page = new_page()
    page.goto(f"{node.url}/en/report/what")
    page.click("h1")  # focus the page, not a field
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    assert path_of(page) == "/en/report/what"
    assert page.locator("#exit-status").inner_text().strip()  # "press 1 more time"
    page.keyboard.press("a")  # any other key starts the count again
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    assert path_of(page) == "/en/report/what"
    page.keyboard.press("Shift")
    _on_neutral(page, neutral)


def test_quick_exit_holding_shift_once_does_not_exit(node: NodeProcess, neutral: Neutral,
                                                     new_page: NewPage) -> None:
    page = new_page()
    page.goto(f"{node.url}/en/report/what")
    page.click("h1")
    page.keyboard.down("Shift")
    page.keyboard.down("Shift")  # auto-repeat while the key is held: repeat=true
    page.keyboard.down("Shift")
    page.keyboard.up("Shift")
    page.wait_for_timeout(300)
    assert path_of(page) == "/en/report/what"


def test_quick_exit_ends_the_server_side_draft(node: NodeProcess, neutral: Neutral,
                                               new_page: NewPage) -> None:
    page = new_page()
    marker = f"Draft-before-exit {CANARY}"
    page.goto(f"{node.url}/en/report/what")
    page.fill("#narrative", marker)
    go_next(page, node.url, "en", "when")
    page.goto(f"{node.url}/en/report/review")
    assert marker in page.locator("main dl").inner_text()
    old = [c for c in page.context.cookies() if c["name"] == "s"]
    assert len(old) == 1

    page.click("a#exit")
    _on_neutral(page, neutral)
    assert not [c for c in page.context.cookies(node.url) if c["name"] == "s"]

    def empty_review() -> None:
        page.goto(f"{node.url}/en/report/review")
        answers = page.locator("main dl dd bdi").all_inner_texts()
        assert marker not in page.content()
        assert answers[1] == "Not answered", answers  # "What happened?"
        assert answers.count("Not answered") == 7, answers  # all but consent

    empty_review()
    # Even the old session cookie, put back, opens nothing: the draft is gone on the server.
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "s", "value": old[0]["value"], "url": node.url}])
    empty_review()


# ------------------------------------------------------------------ 5: nothing leaves 127.0.0.1

def test_no_request_leaves_the_machine(node: NodeProcess, neutral: Neutral,
                                       traffic: Traffic) -> None:
    if not traffic.requests:
        pytest.skip("checks the traffic recorded by the tests above: run the whole module")
    assert not foreign_requests(traffic)
    node_origin = f"http://127.0.0.1:{node.port}"
    for test, url, kind, frame_url, navigation in traffic.requests:
        if navigation or kind == "document" or url.startswith("data:"):
            continue
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        page_origin = "{0.scheme}://{0.netloc}".format(urlsplit(frame_url))
        assert origin == page_origin == node_origin, (test, url, frame_url)
    node_docs = [d for d in traffic.documents if d[1].startswith(node_origin)]
    assert node_docs
    for test, url, csp in node_docs:
        assert csp and "default-src 'none'" in csp, (test, url, csp)
    assert any(url == f"{node_origin}/static/exit.js" for _, url, *_ in traffic.requests)
    assert any(url.startswith(neutral.url) for _, url, *_ in traffic.requests)

    # The console of the reporter's pages (tests 1-4): no CSP violation, no error at all.
    console = [m for m in traffic.console if m[0].startswith(PUBLIC_FLOW_TESTS)]
    csp_errors = [m for m in console
                  if "Content Security Policy" in m[2] or "Content-Security-Policy" in m[2]]
    assert not csp_errors
    assert not [m for m in console if m[1] == "error"]
    assert not [e for e in traffic.page_errors if e[0].startswith(PUBLIC_FLOW_TESTS)]


# ------------------------------------------------------------------ 6: staff

def staff_login(page: Any, base: str) -> None:
    page.goto(f"{base}/staff/login")
    page.fill("#username", ADMIN)
    page.fill("#passphrase", ADMIN_PASSPHRASE)
    page.click("main form button")
    # Argon2id with production parameters unlocks the key; each role lands on its own page.
    page.wait_for_url(lambda url: "/staff/" in url and "/login" not in url, timeout=30_000)


def open_case(page: Any, base: str, marker: str) -> None:
    """From the list of cases, the one whose narrative starts with `marker`."""
    page.goto(f"{base}/staff/cases")
    row = page.locator("tbody tr", has_text=marker)
    assert row.count() == 1
    row.locator("a[href^='/staff/cases/']").click()
    page.wait_for_url(f"{base}/staff/cases/*")


def csp_errors(traffic: Traffic, test: str) -> list[str]:
    return [m[2] for m in traffic.console
            if m[0] == test and ("Content Security Policy" in m[2]
                                 or "Content-Security-Policy" in m[2])]


def test_staff_read_the_french_report_and_its_file(node: NodeProcess, new_page: NewPage,
                                                   artifacts: Path, traffic: Traffic,
                                                   reports: dict[str, Sent]) -> None:
    page = new_page()
    sent = reports.get("fr") or fill_report(new_page(), node.url, french(), Shots(None, ""))
    a = sent.answers
    staff_login(page, node.url)
    page.goto(f"{node.url}/staff/cases")
    row = page.locator("tbody tr", has_text=a.marker)
    assert row.count() == 1
    assert CANARY in row.inner_text()
    page.screenshot(path=artifacts / "staff-01-cases.png", full_page=True)
    open_case(page, node.url, a.marker)
    main = page.locator("main").inner_text()
    assert a.narrative in main  # line breaks kept (class "pre")
    for expected in (a.place, a.perpetrators, a.contact_details, a.safe_times):
        assert expected in main, expected
    page.screenshot(path=artifacts / "staff-02-case.png", full_page=True)

    link = page.locator("main a[href*='/files/']", has_text=a.file_name)
    assert link.count() == 1
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == a.file_name
    assert Path(download.path()).read_bytes() == a.file_bytes
    assert not csp_errors(traffic, "test_staff_read_the_french_report_and_its_file")


def test_staff_message_reaches_the_reporter_intact(node: NodeProcess, new_page: NewPage,
                                                   artifacts: Path, traffic: Traffic,
                                                   reports: dict[str, Sent]) -> None:
    sent = reports.get("fr") or fill_report(new_page(), node.url, french(), Shots(None, ""))
    message = "Bonjour.\nNous pouvons vous aider.\nRépondez quand c'est sûr."
    staff = new_page()
    staff_login(staff, node.url)
    open_case(staff, node.url, sent.answers.marker)
    staff.fill("#message", message)
    staff.click("form[action$='/messages'] button")
    staff.wait_for_url(f"{node.url}/staff/cases/*")
    assert staff.locator("p.box[role=status]").is_visible()

    reporter = new_page()
    open_receipt(reporter, node.url, "fr", sent.code, sent.secret)
    reporter.screenshot(path=artifacts / "fr-receipt-message.png", full_page=True)
    shown = reporter.locator("#messages bdi").first
    assert shown.inner_text().replace("\n", " ") == message.replace("\n", " ")
    assert not csp_errors(traffic, "test_staff_message_reaches_the_reporter_intact")
    assert shown.inner_text() == message  # line breaks kept


# ------------------------------------------------------------------ 7: errors keep input

@pytest.fixture(scope="module")
def fr_gettext() -> Any:
    """French as the node serves it (translations are being written: compare with the
    catalogue, never with a string typed here)."""
    from node.i18n import load

    return load("fr").gettext


def test_impossible_date_is_explained_and_keeps_input(node: NodeProcess, new_page: NewPage,
                                                      artifacts: Path, fr_gettext: Any) -> None:
    from node import errors

    page = new_page()
    page.goto(f"{node.url}/fr/report/when")
    page.fill("#incident_day", "31")
    page.select_option("#incident_month", "2")
    page.fill("#incident_year", "2023")
    page.fill("#incident_when", "la nuit")
    with page.expect_response(f"{node.url}/fr/report/when") as response:
        page.click("button[name=go][value=next]")
    assert response.value.status == 400
    page.wait_for_selector(".errs")
    page.screenshot(path=artifacts / "fr-error-when.png", full_page=True)
    assert path_of(page) == "/fr/report/when"
    assert html_attrs(page) == ("fr", "ltr")
    assert page.input_value("#incident_day") == "31"
    assert page.input_value("#incident_month") == "2"
    assert page.input_value("#incident_year") == "2023"
    assert page.input_value("#incident_when") == "la nuit"
    expected = fr_gettext(errors.BadDate.message)
    assert expected in page.locator(".errs").inner_text()
    assert page.locator("#date-err").inner_text() == expected
    assert page.get_attribute("#incident_day", "aria-describedby") == "date-err"


def _wrong_secret(secret: str) -> str:
    """Another secret with a valid check digit: it passes the typo check, then fails."""
    from stdnum import damm

    digits = secret.replace(" ", "")[:-1]
    other = str((int(digits[0]) + 1) % 10) + digits[1:]
    return other + str(damm.calc_check_digit(other))


def test_wrong_receipt_secret_is_explained_and_keeps_the_number(
        node: NodeProcess, new_page: NewPage, artifacts: Path, fr_gettext: Any,
        reports: dict[str, Sent]) -> None:
    from node import errors

    page = new_page()
    sent = reports.get("fr") or quick_report(new_page(), node.url, "fr", f"Reçu {CANARY}")
    page.goto(f"{node.url}/fr/receipt")
    page.fill("#receipt", sent.code)
    page.fill("#secret", _wrong_secret(sent.secret))
    with page.expect_response(f"{node.url}/fr/receipt") as response:
        page.click("main form[action='/fr/receipt'] button")
    assert response.value.status == 403
    page.wait_for_selector(".errs")
    page.screenshot(path=artifacts / "fr-error-receipt.png", full_page=True)
    assert path_of(page) == "/fr/receipt"
    assert html_attrs(page) == ("fr", "ltr")
    assert page.input_value("#receipt") == sent.code
    assert fr_gettext(errors.ReceiptRejected.message) in page.locator(".errs").inner_text()
    # The right secret still opens it afterwards.
    page.fill("#secret", sent.secret)
    page.click("main form[action='/fr/receipt'] button")
    page.wait_for_url(f"{node.url}/fr/receipt/report")


# ------------------------------------------------------------------ 8: page basics at 360 px

def _fits_and_exit_sticks(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    assert page.evaluate("window.scrollY") > 0, "page too short to test stickiness"
    link = page.locator("a#exit")
    assert link.is_visible()
    box = link.bounding_box()
    assert box is not None and abs(box["y"]) < 1 and box["width"] >= 300, box
    # Nothing covers it (a common failure: banners over the button).
    on_top = page.evaluate("""() => {
        const r = document.getElementById('exit').getBoundingClientRect();
        return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2).id;
    }""")
    assert on_top == "exit"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_pages_fit_360px_and_exit_stays_on_top(node: NodeProcess, new_page: NewPage,
                                               artifacts: Path, lang: str) -> None:
    page = new_page()
    page.goto(f"{node.url}/{lang}/")
    assert html_attrs(page) == (lang, "rtl" if lang == "ar" else "ltr")
    _fits_and_exit_sticks(page)

    page.goto(f"{node.url}/{lang}/report/what")
    page.fill("#narrative", " ".join(["Une longue histoire racontée avec des mots."] * 20))
    go_next(page, node.url, lang, "when")
    page.goto(f"{node.url}/{lang}/report/review")
    _fits_and_exit_sticks(page)
    page.screenshot(path=artifacts / f"layout-{lang}-review.png")


def test_review_with_a_long_unbroken_answer_fits_360px(node: NodeProcess,
                                                       new_page: NewPage) -> None:
    page = new_page()
    page.goto(f"{node.url}/en/report/what")
    page.fill("#narrative", "See https://example.org/" + "a" * 120 + " please")
    go_next(page, node.url, "en", "when")
    page.goto(f"{node.url}/en/report/review")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
