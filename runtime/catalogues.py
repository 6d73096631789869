"""Languages as data: gettext catalogues read and checked at start, and what a page needs to
know of a language (its own name, its direction, its plural rule) taken from the Unicode
CLDR through Babel rather than from tables in our code.

The node and the observatory both serve the languages their configuration names: a language
is added by dropping its catalogue into the configured folder (``<lang>.po``, ``<lang>.mo``
or the gettext layout ``<lang>/LC_MESSAGES/messages.po|mo``) and naming it. A catalogue that
cannot be read, or whose translation would break a page (a placeholder the source does not
have, a stray ``%``, the wrong number of plural forms), stops the program at start with an
error naming the file and the line (`CatalogueError`): a page that fails in front of a
survivor is worse than a node that does not start.
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources.abc import Traversable
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import PoFileError, read_po
from babel.plural import to_gettext

from runtime.tomlconfig import ConfigError

DOMAIN = "messages"
SOURCE_LANGUAGE = "en"  # the msgids are English: English needs no catalogue
# A language code as node.toml and URLs carry it: an ISO 639 language, optionally a script
# or territory in CLDR's form (``pt_BR``, ``sr_Latn``); Babel must know it.
CODE = re.compile(r"^[a-z]{2,3}(_[A-Z][a-z]{3})?(_(?:[A-Z]{2}|[0-9]{3}))?$")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


class CatalogueError(ConfigError):
    """A configured language has no catalogue, or its catalogue is malformed."""


@dataclass(frozen=True)
class LanguageInfo:
    code: str
    native_name: str  # the language's name in itself, as a picker shows it
    rtl: bool
    plural_forms: str  # the gettext Plural-Forms header of CLDR's rule

    @property
    def direction(self) -> str:
        return "rtl" if self.rtl else "ltr"


def check_code(code: str) -> str:
    """`code` if it is a language code Babel has locale data for (else ValueError)."""
    if not CODE.fullmatch(code):
        raise ValueError(f"{code!r} is not a language code such as \"fr\", \"ln\" or \"pt_BR\"")
    if not _has_locale_data(code):
        raise ValueError(f"{code!r}: no locale data for this language (CLDR)")
    return code


@lru_cache(maxsize=1024)
def _has_locale_data(code: str) -> bool:
    try:
        Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return False
    return True


@lru_cache(maxsize=256)
def language_info(code: str) -> LanguageInfo:
    locale = Locale.parse(check_code(code))
    name = locale.get_display_name(locale) or code
    # CLDR writes many names in lower case ("español"); a picker starts each with a capital
    # (a no-op for scripts without case).
    return LanguageInfo(code=code, native_name=name[:1].upper() + name[1:],
                        rtl=locale.character_order == "right-to-left",
                        plural_forms=_plural_forms(locale))


def _plural_forms(locale: Locale) -> str:
    """CLDR's plural rule as a gettext header. Some rules (Spanish, French, Portuguese) use
    the compact-exponent operand ``e``, which gettext has not: those fall back to the
    gettext-tradition rule Babel keeps for the language."""
    forms = to_gettext(locale.plural_form).strip()
    try:
        gettext.c2py(forms.split("plural=", 1)[1].rstrip(";"))
    except (ValueError, SyntaxError, IndexError):
        rule = get_plural(locale)
        return f"nplurals={rule.num_plurals}; plural={rule.plural_expr};"
    return forms


def native_name(code: str) -> str:
    """The language's own name; the code itself for one Babel does not know (a report
    stored in a language the node no longer offers still shows something)."""
    try:
        return language_info(code).native_name
    except ValueError:
        return code


def is_rtl(code: str) -> bool:
    try:
        return language_info(code).rtl
    except ValueError:
        return False


def find(folder: Path | Traversable, code: str) -> Path | Traversable | None:
    """The catalogue of `code` in `folder`, in the first layout that has one."""
    for parts in ((f"{code}.po",), (f"{code}.mo",),
                  (code, "LC_MESSAGES", f"{DOMAIN}.po"), (code, "LC_MESSAGES", f"{DOMAIN}.mo")):
        candidate = folder.joinpath(*parts)
        if candidate.is_file():
            return candidate
    return None


def load_file(path: Path | Traversable, code: str) -> gettext.GNUTranslations:
    """A catalogue file (.po compiled in memory, or .mo), checked (`CatalogueError`)."""
    data = path.read_bytes()
    if path.name.endswith(".mo"):
        try:
            translations = gettext.GNUTranslations(io.BytesIO(data))
        # gettext's .mo parser lets through whatever the bytes provoke (struct.error,
        # IndexError, UnicodeDecodeError, a bad Plural-Forms...): all mean "not a catalogue"
        except Exception as exc:  # noqa: BLE001
            raise CatalogueError(f"{path}: not a valid .mo catalogue ({exc})") from None
        catalog = translations._catalog  # type: ignore[attr-defined]  # msgid -> msgstr
        _raise_first(path, _mo_problems(catalog))
        return translations
    return _compile(_read_po(path, data, code), path)


def _read_po(path: Path | Traversable, data: bytes, code: str) -> Catalog:
    try:
        catalog = read_po(io.BytesIO(data), locale=code, abort_invalid=True)
    except PoFileError as exc:
        raise CatalogueError(f"{path}:{exc.lineno + 1}: malformed catalogue: "
                             f"{str(exc).rsplit(' on ', 1)[0]}: {exc.line.strip()!r}") from None
    except UnicodeDecodeError:
        raise CatalogueError(f"{_first_undecodable(path, data)}: not UTF-8 text") from None
    except ValueError as exc:
        raise CatalogueError(f"{path}: malformed catalogue ({exc})") from None
    if catalog._num_plurals is None:  # no Plural-Forms header: CLDR's rule for the language
        catalog.mime_headers = [("Plural-Forms", language_info(code).plural_forms)]
    _raise_first(path, _po_problems(catalog))
    return catalog


def _first_undecodable(path: Path | Traversable, data: bytes) -> str:
    """`path:line` of the first byte that is not UTF-8 (`path` alone if the file is UTF-8
    and only its declared charset failed)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        return f"{path}:{line}"
    return str(path)


def _compile(catalog: Catalog, path: Path | Traversable) -> gettext.GNUTranslations:
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    try:
        return gettext.GNUTranslations(buf)
    except ValueError as exc:  # e.g. a Plural-Forms header gettext refuses
        raise CatalogueError(f"{path}: bad Plural-Forms header ({exc})") from None


def _raise_first(path: Path | Traversable, problems: Iterable[tuple[int | None, str]]) -> None:
    for line, problem in problems:
        where = f"{path}:{line}" if line else str(path)
        raise CatalogueError(f"{where}: {problem}")


def _po_problems(catalog: Catalog) -> Iterator[tuple[int | None, str]]:
    for message in catalog:
        if not message.id or not message.string or message.fuzzy:
            continue
        ids = tuple(message.id) if isinstance(message.id, (tuple, list)) else (message.id,)
        forms = (tuple(message.string) if isinstance(message.string, (tuple, list))
                 else (message.string,))
        if len(ids) > 1 and len(forms) != catalog.num_plurals:
            yield message.lineno, (f"{len(forms)} plural forms where the language has "
                                   f"{catalog.num_plurals}")
        for form in forms:
            if form and (problem := format_problem(ids[-1], form)):
                yield message.lineno, f"{problem} (msgid {ids[0]!r})"


def _mo_problems(catalog: dict[object, str]) -> Iterator[tuple[int | None, str]]:
    for key, text in catalog.items():
        msgid = key[0] if isinstance(key, tuple) else key
        if isinstance(msgid, str) and msgid and text and (problem := format_problem(msgid,
                                                                                    text)):
            yield None, f"{problem} (msgid {msgid!r})"


def format_problem(msgid: str, msgstr: str) -> str | None:
    """Why `msgstr` would fail where `msgid` is formatted with its named parameters (None
    if it would not). Strings without parameters are never formatted."""
    names = set(PLACEHOLDER.findall(msgid))
    if not names and "%%" not in msgid:
        return None
    unknown = set(PLACEHOLDER.findall(msgstr)) - names
    if unknown:
        return f"the translation uses %({sorted(unknown)[0]})s, which the source text has not"
    try:
        msgstr % {name: "" for name in names}
    except (KeyError, ValueError, TypeError):
        return "the translation has a stray % (write %% for a percent sign)"
    return None


_SHIPPED: dict[tuple[str, str], gettext.GNUTranslations | None] = {}


def _shipped(package_locales: Traversable, code: str) -> gettext.GNUTranslations | None:
    """A shipped catalogue, read once per process: package data does not change."""
    key = (str(package_locales), code)
    if key not in _SHIPPED:
        found = find(package_locales, code)
        _SHIPPED[key] = None if found is None else load_file(found, code)
    return _SHIPPED[key]


def load_language(code: str, shipped: Traversable, folder: Path | None
                  ) -> gettext.NullTranslations:
    """The translations of `code`: the organisation's catalogue in `folder` if it has one
    (the shipped one filling its gaps), else the shipped one; English needs none. A language
    with neither is a `CatalogueError` naming where its catalogue should be."""
    own = find(folder, code) if folder is not None else None
    base = _shipped(shipped, code)
    if own is not None:
        translations = load_file(own, code)
        if base is not None:
            translations.add_fallback(base)
        return translations
    if base is not None:
        return base
    if code == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    where = folder if folder is not None else "the catalogue folder (not configured)"
    raise CatalogueError(f"language {code!r} is configured but has no catalogue: put "
                         f"{code}.po (or {code}.mo) in {where}")


def shipped_languages(shipped: Traversable) -> tuple[str, ...]:
    """The languages a package ships catalogues for, English first."""
    codes = sorted(entry.name for entry in shipped.iterdir()
                   if entry.is_dir() and find(shipped, entry.name) is not None)
    return (SOURCE_LANGUAGE, *(c for c in codes if c != SOURCE_LANGUAGE))


class Catalogues:
    """Loaded translations for the configured languages, all read and checked at once (a
    malformed catalogue stops the node or the observatory at start: `CatalogueError`).
    `shipped` is the folder of the catalogues the package ships; `folder` the operator's own."""

    def __init__(self, languages: Sequence[str], shipped: Traversable,
                 folder: Path | None = None) -> None:
        self.languages = tuple(languages)
        self.folder = folder
        self._translations = {lang: load_language(lang, shipped, folder)
                              for lang in self.languages}
        self.info: dict[str, LanguageInfo] = {lang: language_info(lang)
                                              for lang in self.languages}

    def get(self, lang: str) -> gettext.NullTranslations:
        return self._translations.get(lang) or gettext.NullTranslations()

    def direction(self, lang: str) -> str:
        info = self.info.get(lang)
        return info.direction if info else "ltr"

    def names(self) -> list[tuple[str, str]]:
        """(code, own name) of each language, in configuration order: the language picker."""
        return [(lang, self.info[lang].native_name) for lang in self.languages]
