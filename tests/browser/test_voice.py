"""Voice recording in a real browser (issue 20): Chromium with its fake microphone
(``--use-fake-ui-for-media-stream --use-fake-device-for-media-stream``, added to the
standard flags for this module only) records, listens back, records again, keeps and
sends; staff get the recording in the case; nothing is kept in the browser's storage; the
recording's bytes are in no file of the node's data directory. Without JavaScript the file
input sends an audio file. Quick exit during a recording stops the microphone at once."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.audio_samples import wav
from tests.browser.conftest import CHROMIUM_ARGS, NewPage, Traffic
from tests.browser.test_reporting import csp_errors, open_case, path_of, staff_login
from tests.conftest import CANARY, NodeProcess, files_containing

pytestmark = pytest.mark.browser

FAKE_MEDIA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS + FAKE_MEDIA)
        yield b
        b.close()


def state(page: Any) -> str:
    return str(page.get_attribute("#recorder", "data-state"))


def record(page: Any) -> None:
    page.click("#voice-record" if state(page) == "idle" else "#voice-again")
    page.wait_for_selector("#recorder[data-state=recording]")
    page.wait_for_function(
        "() => document.getElementById('voice-status').textContent.includes('0:01')")
    page.click("#voice-stop")
    page.wait_for_selector("#recorder[data-state=recorded]")


def test_record_listen_back_keep_send_and_staff_hear_it(
        node: NodeProcess, new_page: NewPage, traffic: Traffic, artifacts: Path) -> None:
    page: Any = new_page()
    marker = f"Voice-report {CANARY}"
    page.goto(f"{node.url}/en/report/what")
    assert page.is_visible("#voice") and page.is_visible("#voice-record")
    assert not page.is_visible("#voice-player")
    record(page)
    # before listening back, the page suggests earphones; then the clip plays from memory
    assert page.is_visible("#voice-phones") and page.is_visible("#voice-player")
    assert page.get_attribute("#voice-player", "src").startswith("blob:")
    # the listen-back player has its own accessible name (a screen reader says what it plays)
    assert page.get_attribute("#voice-player", "aria-label") == "Listen to your recording"
    assert page.evaluate("""() => { const a = document.getElementById('voice-player');
        return a.play().then(() => { a.pause(); return true; }); }""")
    page.screenshot(path=artifacts / "voice-01-recorded.png", full_page=True)
    record(page)  # record again: the first clip is dropped
    page.click("#voice-keep")
    assert state(page) == "kept"
    assert page.evaluate("document.getElementById('voice').files.length") == 1
    clip = base64.b64decode(page.evaluate("""async () => {
        const f = document.getElementById('voice').files[0];
        const b = new Uint8Array(await f.arrayBuffer());
        let s = ''; for (const x of b) { s += String.fromCharCode(x); } return btoa(s); }"""))
    assert clip[:4] == b"\x1a\x45\xdf\xa3" and len(clip) > 2000  # a WebM recording
    # nothing in the browser's storage
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert page.evaluate("indexedDB.databases().then(d => d.length)") == 0
    page.fill("#narrative", marker)
    page.click("button[name=go][value=next]")
    page.wait_for_url(f"{node.url}/en/report/when")
    page.goto(f"{node.url}/en/report/review")
    assert "Sound recordings: 1" in page.locator("main dl").inner_text()
    page.click("button[name=go][value=next]")
    page.wait_for_url(f"{node.url}/en/report/sent")
    assert page.locator("#receipt-code").inner_text().strip()

    # the recording's bytes (beyond the generic container header) are nowhere in clear
    for start in (len(clip) // 3, len(clip) // 2, len(clip) - 80):
        assert files_containing(node.datadir, clip[start:start + 48]) == []

    staff = new_page()
    staff_login(staff, node.url)
    open_case(staff, node.url, marker)
    link = staff.locator("main a[href*='/files/']", has_text="recording.webm")
    assert link.count() == 1
    assert "audio/webm" in staff.locator("main").inner_text()
    with staff.expect_download() as info:
        link.click()
    assert Path(info.value.path()).read_bytes() == clip
    # staff can also hear it in the page (nothing saved to their disk)
    assert staff.evaluate("""() => { const a = document.querySelector('main audio');
        return a.play().then(() => { a.pause(); return a.currentSrc.endsWith('?listen=1'); }); }""")
    assert not csp_errors(traffic, "test_record_listen_back_keep_send_and_staff_hear_it")


def test_without_javascript_the_file_input_sends_an_audio_file(
        node: NodeProcess, new_page: NewPage) -> None:
    page: Any = new_page(js=False)
    page.goto(f"{node.url}/en/report/what")
    assert page.get_attribute("#voice", "accept") == "audio/*"
    assert page.get_attribute("#voice", "capture") is not None
    assert page.locator("#recorder button").count() == 0
    page.set_input_files("#voice", files=[{"name": "phone-recording.wav",
                                          "mimeType": "audio/wav",
                                          "buffer": wav(b"\x80\x90" * 2000)}])
    page.click("button[name=go][value=next]")
    page.wait_for_url(f"{node.url}/en/report/when")
    page.goto(f"{node.url}/en/report/review")
    assert "Sound recordings: 1" in page.locator("main dl").inner_text()
    page.goto(f"{node.url}/en/report/files")
    assert "phone-recording.wav" in page.locator("main").inner_text()


def test_quick_exit_during_recording_stops_the_microphone(
        node: NodeProcess, new_page: NewPage) -> None:
    page: Any = new_page()
    # keep a handle on the microphone's stream, to see its track end
    page.add_init_script("""(() => { const md = navigator.mediaDevices;
        const get = md.getUserMedia.bind(md); window.__streams = [];
        md.getUserMedia = (c) => get(c).then((s) => { window.__streams.push(s); return s; });
        })();""")
    # the exit's navigation answered with 204 No Content: the page stays, to be looked at
    page.route("**/exit", lambda route: route.fulfill(status=204))  # 204: stay
    page.goto(f"{node.url}/en/report/what")
    page.click("#voice-record")
    page.wait_for_selector("#recorder[data-state=recording]")
    assert page.evaluate("window.__streams[0].getAudioTracks()[0].readyState") == "live"
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.body.className.includes('hidden-all')")
    assert page.evaluate(
        "window.__streams[0].getTracks().every(t => t.readyState === 'ended')")
    assert state(page) == "idle"
    assert page.evaluate("document.getElementById('voice').files.length") == 0
    assert page.evaluate("document.getElementById('voice-player').hasAttribute('src')") is False
    assert path_of(page) == "/en/report/what"
