"""Every user-facing string is translated in every language, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from node.config import ALL_LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
METHOD_MAP = [("node/**.py", "python"), ("node/templates/**.html", "jinja2")]


def source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
            str(ROOT), METHOD_MAP, keywords={"_": None, "N_": None}):
        if isinstance(message, str) and message:
            found.add(message)
    return found


MESSAGES = source_messages()


def test_strings_were_found() -> None:
    assert len(MESSAGES) > 150
    assert "Leave this site" in MESSAGES


@pytest.mark.parametrize("lang", [lang for lang in ALL_LANGUAGES if lang != "en"])
def test_catalogue_is_complete(lang: str) -> None:
    path = ROOT / "node" / "locales" / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    missing, fuzzy, bad = [], [], []
    for msgid in sorted(MESSAGES):
        entry = catalog.get(msgid)
        if entry is None or not entry.string:
            missing.append(msgid)
            continue
        if entry.fuzzy:
            fuzzy.append(msgid)
        if set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(str(entry.string))):
            bad.append(msgid)
    assert not missing, f"{lang}: {len(missing)} untranslated, e.g. {missing[:3]}"
    assert not fuzzy, f"{lang}: fuzzy entries {fuzzy[:3]}"
    assert not bad, f"{lang}: placeholders differ in {bad[:3]}"
