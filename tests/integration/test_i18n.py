"""Every user-facing string is translated in every language, with the same placeholders.
Strings are extracted as the root `babel.cfg` says (the node's sources and templates, and
the shared coding vocabulary in protocol/vocabulary.py), and node/locales/messages.pot is
what they give."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from node.i18n import SHIPPED_LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def method_map() -> list[tuple[str, str]]:
    parser = configparser.RawConfigParser()
    parser.read(ROOT / "babel.cfg", encoding="utf-8")
    out = []
    for section in parser.sections():
        method, _, pattern = section.partition(":")
        out.append((pattern.strip(), method.strip()))
    return out


def source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
            str(ROOT), method_map(), keywords={"_": None, "N_": None}):
        if isinstance(message, str) and message:
            found.add(message)
    return found


MESSAGES = source_messages()


def test_strings_were_found() -> None:
    assert len(MESSAGES) > 150
    assert "Leave this site" in MESSAGES
    # the shared coding vocabulary, extracted from protocol/vocabulary.py
    assert {"Rape", "Militias", "60 and over", "Not known"} <= MESSAGES


def test_the_template_is_up_to_date() -> None:
    """messages.pot, from which `pybabel update` fills the catalogues, has every string of
    the sources and no other (`make messages`)."""
    with (ROOT / "node" / "locales" / "messages.pot").open("rb") as fh:
        template = read_po(fh)
    in_template = {m.id for m in template if m.id and isinstance(m.id, str)}
    assert in_template == MESSAGES, (sorted(MESSAGES - in_template)[:3],
                                     sorted(in_template - MESSAGES)[:3])


def test_spanish_and_portuguese_are_shipped() -> None:
    """Issue 20: on top of the first five, Spanish and Portuguese (checked complete below,
    as every shipped catalogue is)."""
    assert {"en", "fr", "ar", "sw", "uk", "es", "pt"} <= set(SHIPPED_LANGUAGES)


def listing(lang: str, problem: str, msgids: list[str]) -> str:
    """Every msgid concerned, one a line: what a translator (or the lead merging other
    branches' strings) has to add."""
    return (f"{lang}: {len(msgids)} {problem} in node/locales/{lang}/LC_MESSAGES/messages.po:"
            + "".join(f"\n  msgid {m!r}" for m in msgids))


@pytest.mark.parametrize("lang", [lang for lang in SHIPPED_LANGUAGES if lang != "en"])
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
    assert not missing, listing(lang, "missing or untranslated", missing)
    assert not fuzzy, listing(lang, "fuzzy entries", fuzzy)
    assert not bad, listing(lang, "with placeholders that differ", bad)
