"""Every user-facing string of the observatory's public site and admin pages is in every
catalogue (observatory/locales/<lang>/LC_MESSAGES/messages.po), translated, with the same
placeholders, and formats; and observatory/locales/messages.pot is what the sources give.
Strings are extracted as `observatory/babel.cfg` says, so a new string in a template, in
`observatory/web/site*.py`, `admin.py` or `failures.py` fails here until it is extracted
and translated."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from observatory.config import DEFAULT_LANGUAGES
from observatory.i18n import translations

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "observatory" / "locales"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def method_map() -> list[tuple[str, str]]:
    parser = configparser.RawConfigParser()
    parser.read(ROOT / "observatory" / "babel.cfg", encoding="utf-8")
    out = []
    for section in parser.sections():
        method, _, pattern = section.partition(":")
        out.append((pattern.strip(), method.strip()))
    return out


def source_messages() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    return {message for _f, _l, message, _c, _ctx in extract_from_dir(
        str(ROOT), method_map(), keywords=keywords) if isinstance(message, str) and message}


MESSAGES = source_messages()


def test_the_public_sites_and_admin_strings_are_found() -> None:
    assert len(MESSAGES) > 170
    for sample in ("How to read these numbers", "What differential privacy promises",
                   "%(value)s (95%% interval: %(interval)s)", "Rape",
                   "The line shows estimates; the band shows the 95% intervals.",
                   # the admin pages: templates, handlers, labels, error pages
                   "Admin passphrase", "Requests to join", "%(org)s is now a member.",
                   "Your session has ended. Sign in again.", "Key compromised", "revoked",
                   "Not allowed", "The observatory could not complete this; nothing changed."):
        assert sample in MESSAGES, sample


def test_the_template_is_up_to_date() -> None:
    """messages.pot, from which `pybabel update` fills the catalogues, has every string of
    the sources and no other (run the commands in babel.cfg's header)."""
    with (LOCALES / "messages.pot").open("rb") as fh:
        template = read_po(fh)
    in_template = {m.id for m in template if m.id and isinstance(m.id, str)}
    assert in_template == MESSAGES, (sorted(MESSAGES - in_template)[:3],
                                     sorted(in_template - MESSAGES)[:3])


@pytest.mark.parametrize("lang", DEFAULT_LANGUAGES)
def test_catalogue_is_complete(lang: str) -> None:
    with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    missing, fuzzy, bad = [], [], []
    for msgid in sorted(MESSAGES):
        entry = catalog.get(msgid)
        if entry is None or not entry.string:
            missing.append(msgid)
            continue
        text = str(entry.string)
        if entry.fuzzy:
            fuzzy.append(msgid)
        names = set(PLACEHOLDER.findall(msgid))
        if names != set(PLACEHOLDER.findall(text)):
            bad.append(msgid)
        elif names:
            try:  # what the page does: "%" must be written "%%" when parameters follow
                formatted = text % {n: "x" for n in names}
            except (ValueError, TypeError, KeyError):
                bad.append(msgid)
            else:
                if "%%" in formatted:
                    bad.append(msgid)
        elif "%%" in text:  # shown as written: a doubled percent sign would show
            bad.append(msgid)
        if lang == "en" and text != msgid:
            bad.append(msgid)  # English is the source: its catalogue repeats it
    assert not missing, listing(lang, "missing or untranslated", missing)
    assert not fuzzy, listing(lang, "fuzzy entries", fuzzy)
    assert not bad, listing(lang, "with placeholders or percent signs that differ", bad)


def listing(lang: str, problem: str, msgids: list[str]) -> str:
    """Every msgid concerned, one a line: what a translator has to add."""
    return (f"{lang}: {len(msgids)} {problem} in observatory/locales/{lang}/LC_MESSAGES/"
            "messages.po:" + "".join(f"\n  msgid {m!r}" for m in msgids))


def test_spanish_and_portuguese_are_shipped() -> None:
    """Issue 20: on top of the first five, Spanish and Portuguese, complete (above)."""
    assert {"en", "fr", "ar", "sw", "uk", "es", "pt"} <= set(DEFAULT_LANGUAGES)


@pytest.mark.parametrize("lang", [lang for lang in DEFAULT_LANGUAGES if lang != "en"])
def test_the_catalogue_is_what_the_site_loads(lang: str) -> None:
    catalogue = translations(lang)
    assert catalogue.gettext("How to read these numbers") != "How to read these numbers"
    assert catalogue.gettext("Statistics") != "Statistics"
    assert catalogue.gettext("Sign in") != "Sign in"
