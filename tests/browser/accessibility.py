"""The WCAG 2.2 AA audit of a page as the browser shows it (issue 20): axe-core, bundled by
the `axe-playwright-python` package, run inside the test's own Chromium.

`Auditor.check(page, label)` runs axe with the WCAG 2.0, 2.1 and 2.2 A and AA rule tags on
what `page` shows now and records each violation as "label: rule (impact) target: help";
`Auditor.assert_clean()` fails listing all of them, so one run shows every page to fix.

Chromium runs no script at all in a context without JavaScript (not even a promise
callback of an injected one), so axe cannot run there. A page of such a context is audited
as its DOM stands (what the server sent, parsed with scripting off: `<noscript>` content is
shown, no script ran), rendered at the same address in a separate JavaScript context whose
own scripts are stripped, with the same viewport: layout and contrast are the same, and no
script of ours changes anything first.
"""

from __future__ import annotations

import re
from typing import Any

from axe_playwright_python.sync_playwright import Axe

# The rule sets of WCAG 2.0, 2.1 and 2.2 at levels A and AA, as axe-core tags them.
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": list(WCAG_TAGS)},
               "resultTypes": ["violations"]}

_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S | re.I)
_NOSCRIPT = re.compile(r"</?noscript\b[^>]*>", re.I)


def violations_of(results: dict[str, Any], label: str) -> list[str]:
    """One line per element in violation: page, rule, impact, CSS target and axe's help."""
    return [f"{label}: {v['id']} ({v.get('impact')}) {node['target']}: {v['help']}"
            for v in results["violations"] for node in v["nodes"]]


class Auditor:
    """Runs axe on pages of any context of `browser` and collects what it finds."""

    def __init__(self, browser: Any, viewport: dict[str, int]) -> None:
        self.browser = browser
        self.viewport = viewport
        self.axe = Axe()
        self.found: list[str] = []
        self.pages: list[str] = []
        self._mirror: Any = None  # the JavaScript page that shows no-JavaScript DOMs

    def check(self, page: Any, label: str, *, js: bool = True) -> list[str]:
        """Audit what `page` shows now; `js=False` for a page of a context without
        JavaScript. Returns (and records) this page's violations."""
        target = page if js else self._mirrored(page)
        found = violations_of(self.axe.run(target, options=AXE_OPTIONS).response, label)
        self.found.extend(found)
        self.pages.append(label)
        return found

    def _mirrored(self, page: Any) -> Any:
        if self._mirror is None:
            context = self.browser.new_context(viewport=self.viewport)
            self._mirror = context.new_page()
        html = _NOSCRIPT.sub("", _SCRIPT.sub("", page.content()))
        url = page.url
        mirror = self._mirror

        def serve(route: Any) -> None:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

        mirror.route(url, serve)
        try:
            mirror.goto(url)
        finally:
            mirror.unroute(url)
        return mirror

    def assert_clean(self) -> None:
        assert self.pages, "nothing was audited"
        assert not self.found, (f"{len(self.found)} WCAG violations on {len(self.pages)} "
                                "pages:\n" + "\n".join(self.found))

    def close(self) -> None:
        if self._mirror is not None:
            self._mirror.context.close()
            self._mirror = None
