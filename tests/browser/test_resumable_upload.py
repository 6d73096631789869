"""Issue 20: the files step's resumable upload in a real Chromium against a real node
process. The tus client (static/upload.js) is loaded only once a file is chosen; a PATCH
that fails mid-way is resumed from the server's offset; "Next" pressed while a file is
still being sent waits for it; without JavaScript the form post is used."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from node.demo import tiny_png
from tests.browser.conftest import NewPage, Traffic, foreign_requests
from tests.conftest import NodeProcess

pytestmark = pytest.mark.browser


def _png(size: int) -> bytes:
    head = tiny_png(2)
    return head + os.urandom(size - len(head))


def _uploads(traffic: Traffic, test: str) -> list[str]:
    return [url for t, url, *_ in traffic.requests if t == test and "/uploads" in url]


def test_file_is_sent_resumably_after_a_dropped_request(
        node: NodeProcess, new_page: NewPage, traffic: Traffic, artifacts: Path,
        request: pytest.FixtureRequest) -> None:
    page: Any = new_page(js=True)
    base = node.url
    seen: list[str] = []
    page.on("request", lambda r: seen.append(f"{r.method} {r.url}"))
    page.goto(f"{base}/en/report/files")
    assert not any("upload.js" in s for s in seen)  # not loaded until a file is chosen

    dropped: list[str] = []

    def drop_first_patch(route: Any) -> None:
        if route.request.method == "PATCH" and not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")  # the link drops during the first PATCH
        else:
            route.continue_()

    page.route("**/en/uploads/*", drop_first_patch)
    content = _png(700_000)
    page.set_input_files("#files", files=[
        {"name": "resumed.png", "mimeType": "image/png", "buffer": content}])
    # once sent, the status says so; the step's list shows the file when loaded again
    page.locator("#files-status", has_text="Files sent.").wait_for(timeout=30_000)
    page.reload()
    assert page.locator("main ul.plain li", has_text="resumed.png").count() == 1
    assert dropped, "the first PATCH was not sent"
    methods = [s.split()[0] for s in seen if "/en/uploads" in s]
    assert methods[0] == "POST" and "HEAD" in methods  # resumed from the server's offset
    assert methods.count("PATCH") >= 2
    assert any(s.endswith("/static/upload.js") for s in seen)
    page.screenshot(path=str(artifacts / "resumable-upload-files.png"))

    # "Next" while a file is still being sent: the page waits, then goes on
    page.unroute("**/en/uploads/*")
    page.set_input_files("#files", files=[
        {"name": "second.png", "mimeType": "image/png", "buffer": _png(900_000)}])
    page.click("button[name=go][value=next]")
    page.wait_for_url(f"{base}/en/report/review", timeout=30_000)
    summary = page.locator("main dl").inner_text()
    assert "resumed.png" in summary and "second.png" in summary
    assert summary.count("second.png") == 1  # sent once, not also by the form
    assert foreign_requests(traffic) == []
    assert not [e for t, e in traffic.page_errors if t == request.node.name]


def test_without_javascript_the_form_posts_the_file(
        node: NodeProcess, new_page: NewPage, traffic: Traffic,
        request: pytest.FixtureRequest) -> None:
    page: Any = new_page(js=False)
    base = node.url
    page.goto(f"{base}/en/report/files")
    page.set_input_files("#files", files=[
        {"name": "plain.png", "mimeType": "image/png", "buffer": _png(50_000)}])
    page.click("button[name=go][value=next]")
    page.wait_for_url(f"{base}/en/report/review")
    assert "plain.png" in page.locator("main dl").inner_text()
    assert _uploads(traffic, request.node.name) == []
