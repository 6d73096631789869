"""Browser fixtures: one real node and one Chromium per module, everything on 127.0.0.1.

Playwright's sync API drives Debian's Chromium (never a downloaded browser). The node's
quick-exit target is a tiny "neutral" HTTP server started here, so no test ever leaves the
machine. Every request, console message and page error of every page is recorded in
`Traffic`, for the "nothing leaves 127.0.0.1" checks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import NodeProcess, free_port, init_with_cli, test_config

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
VIEWPORT = {"width": 360, "height": 740}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NEUTRAL_TEXT = "neutral page"


# ------------------------------------------------------------------ the neutral site

class _NeutralHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
                f'<link rel="icon" href="data:,"><title>Weather</title></head>'
                f"<body><p>{NEUTRAL_TEXT}</p></body></html>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Neutral:
    url: str
    hits: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def neutral() -> Iterator[Neutral]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NeutralHandler)
    server.daemon_threads = True
    info = Neutral(f"http://127.0.0.1:{server.server_address[1]}/neutral")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield info
    server.shutdown()
    server.server_close()
    thread.join(5)


# ------------------------------------------------------------------ the node

@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, neutral: Neutral) -> Iterator[NodeProcess]:
    """`backup-node serve` in a subprocess, initialised with `backup-node init`."""
    tmp = tmp_path_factory.mktemp("browser-node")
    root = tmp / "node"
    init_with_cli(root, test_config(neutral.url))
    proc = NodeProcess(root, free_port(), tmp / "node.log")
    proc.start()
    yield proc
    proc.stop()


# ------------------------------------------------------------------ the browser

@dataclass
class Traffic:
    """Everything the browser asked for and complained about, across the module."""

    # (test, url, resource type, url of the frame that asked, is it a navigation)
    requests: list[tuple[str, str, str, str, bool]] = field(default_factory=list)
    # (test, url, Content-Security-Policy header) of each document response
    documents: list[tuple[str, str, str | None]] = field(default_factory=list)
    # (test, type, text)
    console: list[tuple[str, str, str]] = field(default_factory=list)
    page_errors: list[tuple[str, str]] = field(default_factory=list)
    tests: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    return Traffic()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def auditor(browser: object) -> Iterator[object]:
    """The WCAG 2.2 AA audit (tests/browser/accessibility.py), on this module's browser."""
    from tests.browser.accessibility import Auditor

    a = Auditor(browser, VIEWPORT)
    yield a
    a.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def host_of(url: str) -> str | None:
    # A blob: URL names memory of the page that made it, by that page's origin (the
    # recorder's listen-back, issue 20): it is the origin's host that counts.
    return urlsplit(url.removeprefix("blob:")).hostname


def foreign_requests(traffic: Traffic) -> list[str]:
    """Requests to anything but 127.0.0.1 (data: URLs never leave the page)."""
    return [url for _, url, *_ in traffic.requests
            if not url.startswith("data:") and host_of(url) != "127.0.0.1"]


NewPage = Callable[..., object]


@pytest.fixture
def new_page(browser: object, traffic: Traffic, request: pytest.FixtureRequest
             ) -> Iterator[NewPage]:
    """`new_page(js=True)`: a fresh context (own cookies) and page at 360×740, recorded."""
    from playwright.sync_api import Browser, Page, Request, Response

    assert isinstance(browser, Browser)
    test = request.node.name
    traffic.tests.add(test)
    contexts = []

    def make(js: bool = True) -> Page:
        context = browser.new_context(viewport=VIEWPORT, java_script_enabled=js,
                                      accept_downloads=True)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()

        def on_request(r: Request) -> None:
            traffic.requests.append((test, r.url, r.resource_type, r.frame.url,
                                     r.is_navigation_request()))

        def on_response(r: Response) -> None:
            if r.request.resource_type == "document":
                traffic.documents.append((test, r.url, r.headers.get("content-security-policy")))

        page.on("request", on_request)
        page.on("response", on_response)
        page.on("console", lambda m: traffic.console.append((test, m.type, m.text)))
        page.on("pageerror", lambda e: traffic.page_errors.append((test, str(e))))
        return page

    yield make
    for context in contexts:
        context.close()
    # Each test on its own must not have left 127.0.0.1 (test 5 checks the whole module).
    leaked = [url for t, url, *_ in traffic.requests
              if t == test and not url.startswith("data:") and host_of(url) != "127.0.0.1"]
    assert not leaked, f"requests left 127.0.0.1: {leaked}"
