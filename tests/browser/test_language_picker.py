"""The language picker (issue 20) in a real Chromium at 360 px: plain links in each
language's own name, which work without JavaScript, laid out in the page's direction, with
languages the organisation added by configuration alone (Lingala, and Persian, right to
left) next to the shipped ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import VIEWPORT, Neutral, NewPage
from tests.conftest import NodeProcess, free_port, init_with_cli
from tests.conftest import test_config as node_config_text

LANGUAGES = '["en", "fr", "ar", "ln", "fa"]'
LINGALA_PO = 'msgid "Leave this site"\nmsgstr "Bimá na site oyo"\n'
PERSIAN_PO = 'msgid "Leave this site"\nmsgstr "خروج از این سایت"\n'


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, neutral: Neutral) -> Iterator[NodeProcess]:
    tmp = tmp_path_factory.mktemp("picker-node")
    root = tmp / "node"
    init_with_cli(root, node_config_text(neutral.url))
    config = (root / "node.toml").read_text(encoding="utf-8")
    old = 'languages = ["en", "fr", "ar", "sw", "uk"]'
    assert old in config
    (root / "node.toml").write_text(config.replace(
        old, f'languages = {LANGUAGES}\ncatalogues_dir = "locales"'), encoding="utf-8")
    (root / "locales").mkdir()
    (root / "locales" / "ln.po").write_text(LINGALA_PO, encoding="utf-8")
    (root / "locales" / "fa.po").write_text(PERSIAN_PO, encoding="utf-8")
    proc = NodeProcess(root, free_port(), tmp / "node.log")
    proc.start()
    yield proc
    proc.stop()


def test_the_picker_works_without_javascript(node: NodeProcess, new_page: NewPage) -> None:
    from playwright.sync_api import Page

    page = new_page(js=False)
    assert isinstance(page, Page)
    page.goto(f"{node.url}/en/report/who")
    picker = page.locator("nav.langs a")
    assert picker.all_inner_texts() == ["Français", "العربية", "Lingála", "فارسی"]
    page.get_by_role("link", name="Lingála").click()
    page.wait_for_url(f"{node.url}/ln/report/who")
    assert page.locator("html").get_attribute("lang") == "ln"
    assert page.locator("#exit").inner_text() == "Bimá na site oyo"
    page.get_by_role("link", name="فارسی").click()
    page.wait_for_url(f"{node.url}/fa/report/who")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("#exit").inner_text() == "خروج از این سایت"


@pytest.mark.parametrize(("lang", "direction"), [("ln", "ltr"), ("fa", "rtl"), ("ar", "rtl")])
def test_the_picker_fits_360_px_in_the_pages_direction(
        node: NodeProcess, new_page: NewPage, lang: str, direction: str) -> None:
    from playwright.sync_api import Page

    page = new_page()
    assert isinstance(page, Page)
    page.goto(f"{node.url}/{lang}/report/who")
    assert page.locator("html").get_attribute("dir") == direction
    # nothing scrolls sideways at 360 px
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
    links = page.locator("nav.langs a")
    boxes = [links.nth(i).bounding_box() for i in range(links.count())]
    assert len(boxes) == 4 and all(box is not None for box in boxes)
    for box in boxes:
        assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= VIEWPORT["width"]
    first, second = boxes[0], boxes[1]
    assert first is not None and second is not None
    if first["y"] == second["y"]:  # on one line: in reading order of the page's direction
        assert (first["x"] < second["x"]) == (direction == "ltr")
