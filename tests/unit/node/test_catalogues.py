"""Languages as data (issue 20, `runtime.catalogues`): what a page needs of a language comes
from CLDR, and reading a catalogue either gives translations that cannot break a page or a
`CatalogueError` naming the file (and line), whatever the bytes (fuzzed)."""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.i18n import SHIPPED_LANGUAGES, Catalogues
from runtime.catalogues import (
    CatalogueError,
    check_code,
    format_problem,
    language_info,
    load_file,
    native_name,
)


def test_what_a_page_needs_of_a_language_comes_from_cldr() -> None:
    assert language_info("ar").rtl and language_info("fa").rtl and language_info("ur").rtl
    assert not language_info("ln").rtl and not language_info("uk").rtl
    assert native_name("ln") == "Lingála" and native_name("es") == "Español"
    assert native_name("fr") == "Français" and native_name("ar") == "العربية"
    assert native_name("pt_BR") == "Português (Brasil)"
    # a code no longer configured (an old report's) still shows something
    assert native_name("zz") == "zz"
    # gettext cannot evaluate CLDR's exponent operand: Spanish falls back to gettext's rule
    forms = language_info("es").plural_forms
    assert forms.startswith("nplurals=") and " e " not in forms and "(e " not in forms
    assert gettext.c2py(forms.split("plural=", 1)[1].rstrip(";"))(1) == 0


@pytest.mark.parametrize("code", ["", "EN", "english", "fr-FR", "../fr", "zz", "en_"])
def test_bad_language_codes_are_refused(code: str) -> None:
    with pytest.raises(ValueError):
        check_code(code)


def test_the_shipped_catalogues_all_load_and_say_their_direction() -> None:
    catalogues = Catalogues(SHIPPED_LANGUAGES)
    assert {c: catalogues.direction(c) for c in SHIPPED_LANGUAGES if c in ("ar", "fr")} == {
        "ar": "rtl", "fr": "ltr"}
    assert dict(catalogues.names())["uk"] == "Українська"


def test_an_organisations_catalogue_rewords_a_shipped_language_and_falls_back(
        tmp_path: Path) -> None:
    (tmp_path / "fr.po").write_text(
        'msgid "Leave this site"\nmsgstr "Partir d’ici"\n', encoding="utf-8")
    french = Catalogues(["en", "fr"], tmp_path).get("fr")
    assert french.gettext("Leave this site") == "Partir d’ici"
    assert french.gettext("In danger now?") == Catalogues(["fr"]).get("fr").gettext(
        "In danger now?") != "In danger now?"


@pytest.mark.parametrize(("msgid", "msgstr", "ok"), [
    ("%(count)s left", "il reste %(count)s", True),
    ("%(count)s left", "il en reste", True),           # leaving a parameter out is allowed
    ("%(count)s left", "%(cuont)s", False),
    ("%(count)s left", "100% %(count)s", False),
    ("%(value)s (95%% interval)", "%(value)s (95 % intervalle)", False),
    ("%(value)s (95%% interval)", "%(value)s (intervalle à 95 %%)", True),
    ("100% sure", "sûr à 100 %", True),                # never formatted: no parameters
])
def test_a_translation_that_would_break_its_page_is_found(msgid: str, msgstr: str,
                                                           ok: bool) -> None:
    assert (format_problem(msgid, msgstr) is None) is ok


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.binary(max_size=400),
    st.lists(st.sampled_from(['msgid ""', 'msgstr ""', 'msgid "a %(n)s"', 'msgstr "b %(m)s"',
                              'msgstr[0] "x"', 'msgid_plural "as"', '#, fuzzy', '"cont"',
                              'msgctxt "c"', '"Plural-Forms: nplurals=x;\\n"', "", "garbage",
                              'msgstr "%"', "\udcff"]), max_size=12).map(
        lambda lines: "\n".join(lines).encode("utf-8", "surrogateescape"))),
    st.sampled_from([".po", ".mo"]))
def test_reading_any_bytes_gives_translations_or_a_catalogue_error(
        tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"ln{suffix}"
    path.write_bytes(data)
    try:
        translations = load_file(path, "ln")
    except CatalogueError as exc:
        assert str(exc).startswith(str(path))
    else:
        # what a page does with them: format what has parameters, show the rest
        assert isinstance(translations.gettext("a %(n)s") % {"n": 1}, str)
        assert isinstance(translations.gettext("as") + translations.ngettext("a", "as", 2), str)
