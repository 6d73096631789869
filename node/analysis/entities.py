"""Entities of a report (issue 17): dates, counts of victims and perpetrators, armed groups,
units and ranks, and places. `find_entities(text, language, ...) -> Entities`.

Each entity carries its span in the text as written, so the case view can highlight it, and
is a suggestion only: people confirm it.

- Dates: dateparser (data for 200+ locales inside its wheel; nothing is downloaded) finds
  absolute, partial ("en mars 2023") and relative ("il y a deux semaines", "минулого тижня",
  "mwezi uliopita") dates in the report's language, resolved against the report's date.
  Each has the precision the text gives (day, week, month, year). A date without a digit is
  kept only when it is relative (it moves with the report's date): a month name alone
  ("May", "مارس") is too often something else. A year between 1950 and the report's year
  that no found date covers is a date of year precision.
- Counts: a number (digits, or a number word in en, fr, es, pt, sw, ar, uk, ru) next to a
  word for victims (women, filles, wanawake, نساء, жінок...) or for perpetrators (soldiers,
  armed men, miliciens, wanajeshi, جنود, солдати...). The largest of each is suggested.
- Armed groups: a list (`gazetteer.DEFAULT_GROUPS` plus the node's own file) with each
  group's affiliation; units by pattern ("2nd battalion", "34e brigade", "2-й батальйон")
  keyed with `names.unit_key`; ranks by a list of rank words, with the name that follows
  keyed with `names.name_key` (the one normaliser, shared with issue 18).
- Places: the node's gazetteer (`[analysis] gazetteer` in node.toml), each place mapped to
  its ISO 3166-2 region code.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any

from node.analysis import names
from node.analysis.gazetteer import DEFAULT_GROUPS, NameList
from node.analysis.textnorm import fold, normalise

MAX_ENTITY_TEXT = 20_000  # dates are searched in the first 20,000 characters (latency)
EARLIEST_YEAR = 1950


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    phrase: str


@dataclass(frozen=True)
class DateEntity(Span):
    value: str          # ISO 8601 at the precision given: 2023, 2023-03, 2023-03-05
    precision: str      # "day", "week", "month" or "year"
    relative: bool      # resolved against the report's date


@dataclass(frozen=True)
class CountEntity(Span):
    role: str           # "victims" or "perpetrators"
    count: int


@dataclass(frozen=True)
class GroupEntity(Span):
    kind: str           # "group", "unit" or "rank"
    name: str           # the list's name, the unit's key, or the rank word
    key: str            # names.name_key / unit_key: what matching uses
    affiliation: str | None = None


@dataclass(frozen=True)
class PlaceEntity(Span):
    name: str
    region: str         # ISO 3166-2


@dataclass(frozen=True)
class Entities:
    dates: tuple[DateEntity, ...] = ()
    victims: int | None = None
    perpetrators: int | None = None
    counts: tuple[CountEntity, ...] = ()
    groups: tuple[GroupEntity, ...] = ()
    places: tuple[PlaceEntity, ...] = ()

    def as_record(self) -> dict[str, Any]:
        def span(e: Span) -> dict[str, Any]:
            return {"text": e.phrase, "start": e.start, "end": e.end}
        return {
            "dates": [{**span(d), "value": d.value, "precision": d.precision,
                       "relative": d.relative} for d in self.dates],
            "victims": self.victims, "perpetrators": self.perpetrators,
            "counts": [{**span(c), "role": c.role, "count": c.count} for c in self.counts],
            "groups": [{**span(g), "kind": g.kind, "name": g.name, "key": g.key,
                        "affiliation": g.affiliation} for g in self.groups],
            "places": [{**span(p), "name": p.name, "region": p.region} for p in self.places],
        }


# ---- dates

@functools.cache
def _dateparser_knows(language: str) -> bool:
    from dateparser.data import languages_info  # type: ignore[import-untyped]
    return language in languages_info.language_order


# Relative and absolute dates only: the timestamp, "no spaces" ("20230305") and custom-format
# parsers found no date of their own on the 2,389 labelled texts, and cost a quarter of the time.
_SETTINGS_BASE = {"PREFER_DATES_FROM": "past", "RETURN_AS_TIMEZONE_AWARE": False,
                  "PARSERS": ["relative-time", "absolute-time"]}
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")


@functools.lru_cache(maxsize=32)
def _parser(language: str, reference: dt.datetime) -> Any:
    from dateparser.date import DateDataParser  # type: ignore[import-untyped]
    return DateDataParser(languages=[language],
                          settings={**_SETTINGS_BASE, "RELATIVE_BASE": reference})


def _parse(phrase: str, language: str, reference: dt.datetime) -> tuple[dt.datetime, str] | None:
    data = _parser(language, reference).get_date_data(phrase)
    if data.date_obj is None:
        return None
    return data.date_obj, str(data.period or "day")


def _iso(date: dt.datetime, precision: str) -> str:
    if precision == "year":
        return f"{date.year:04d}"
    if precision == "month":
        return f"{date.year:04d}-{date.month:02d}"
    return date.date().isoformat()


_NUMERIC_DATE = re.compile(r"\d{1,2}\s*[./-]\s*\d{1,2}")
_FILLER = {"the", "of", "on", "in", "at", "and", "le", "la", "de", "du", "en", "el", "em", "o",
           "a", "no", "na", "da", "do", "у", "в", "на", "في"}


def _stands_alone(phrase: str) -> bool:
    """An absolute date needs a year, a numeric day and month, or a number with a word that
    is not filler ("3 March", "5 Machi"): a month name alone, or "the 2nd", is not enough."""
    if _YEAR.search(phrase) or _NUMERIC_DATE.search(phrase):
        return True
    words = re.findall(r"\w+", phrase.casefold())
    return any(w.isdigit() for w in words) and \
        any(len(w) >= 3 and not any(c.isdigit() for c in w) and w not in _FILLER for w in words)


# Where a sentence may end: dateparser's search is the slowest part of a long report's
# suggestions, and most sentences hold no date.
_SENTENCE_END = re.compile(r"(?<=[.!?؟…\n])\s+")
_UNITS = ("year", "month", "week", "day")


@functools.cache
def _date_words(language: str) -> frozenset[str]:
    """Words without which a sentence holds no date that has no digit, from dateparser's own
    data for `language`: months, weekdays, units, and its relative words ("yesterday",
    "aujourd'hui"). Short abbreviations ("lu", "ma", "a") would match ordinary words: only
    the units keep their two-letter forms ("an")."""
    from dateparser.languages.loader import default_loader  # type: ignore[import-untyped]
    info = default_loader.get_locale(language).info
    words: set[str] = set()
    for key in ("january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december", "monday", "tuesday",
                "wednesday", "thursday", "friday", "saturday", "sunday", *_UNITS, "hour"):
        shortest = 2 if key in _UNITS else 3
        words.update(w for v in info.get(key, ()) for w in re.findall(r"\w+", v.casefold())
                     if len(w) >= shortest)
    for key in ("relative-type", "ago", "in"):
        values = info.get(key, {})
        phrases = [p for v in values.values() for p in v] if isinstance(values, dict) else values
        words.update(w for p in phrases for w in re.findall(r"\w+", p.casefold()) if len(w) >= 4)
    return frozenset(words)


def _date_chunks(text: str, language: str) -> list[tuple[int, str]]:
    """(offset, text) of the runs of sentences that may hold a date: a digit or one of the
    language's date words. Neighbouring candidates are one run, so a date that a sentence
    splitter would cut ("2 Sept. 2023") stays whole."""
    words = _date_words(language)
    chunks: list[tuple[int, str]] = []
    run_start: int | None = None
    run_end = 0
    gaps = [m.span() for m in _SENTENCE_END.finditer(text)]
    starts = [0, *(gap_end for _, gap_end in gaps)]
    ends = [*(gap_start for gap_start, _ in gaps), len(text)]
    for start, end in zip(starts, ends, strict=True):
        piece = text[start:end]
        if any(c.isdigit() for c in piece) or not words.isdisjoint(
                re.findall(r"\w+", piece.casefold())):
            if run_start is None:
                run_start = start
            run_end = end
        elif run_start is not None:
            chunks.append((run_start, text[run_start:run_end]))
            run_start = None
    if run_start is not None:
        chunks.append((run_start, text[run_start:run_end]))
    return chunks


def _search(text: str, language: str, reference: dt.datetime) -> list[tuple[str, int]]:
    """dateparser's search over the sentences that may hold a date: (phrase, offset in
    `text`), in order."""
    from dateparser.search import search_dates  # type: ignore[import-untyped]
    settings = {**_SETTINGS_BASE, "RELATIVE_BASE": reference}
    found: list[tuple[str, int]] = []
    for offset, chunk in _date_chunks(text, language):
        try:
            hits = search_dates(chunk, languages=[language], settings=settings) or []
        except Exception:  # noqa: BLE001, S112 -- a parser's failure is no date, never a lost report
            continue
        cursor = 0
        for phrase, _ in hits:
            at = chunk.find(phrase, cursor)
            if at < 0:
                continue
            cursor = at + len(phrase)
            found.append((phrase, offset + at))
    return found


def find_dates(text: str, language: str, reference: dt.datetime) -> list[DateEntity]:
    text = text[:MAX_ENTITY_TEXT]
    found: list[DateEntity] = []
    if _dateparser_knows(language):
        for phrase, start in _search(text, language, reference):
            parsed = _parse(phrase, language, reference)
            if parsed is None:
                continue
            # dateparser's search runs on ("En mars 2023, cinq" gives the 5th): a date that
            # ends at a comma is the part before it, when that part is a date itself
            head = re.split(r"[,;]", phrase, maxsplit=1)[0].strip()
            if head != phrase and (head_parsed := _parse(head, language, reference)):
                phrase, parsed = head, head_parsed
            date, precision = parsed
            precision = precision if precision in ("day", "week", "month", "year") else "day"
            # relative when the date, at its precision, moves with the report's date (one
            # that states its year does not: no second parse)
            stated = _YEAR.search(phrase)
            if stated and int(stated.group(1)) != date.year:
                continue  # "six months of 2013" read as a date of this year: the year stands
            shifted = None if stated else _parse(
                phrase, language, reference - dt.timedelta(days=40))
            relative = shifted is not None and \
                _iso(shifted[0], precision) != _iso(date, precision)
            if not relative and not _stands_alone(phrase):
                continue  # "May", "مارس", "of the 2nd": a name or number, not a date
            if not EARLIEST_YEAR <= date.year <= reference.year or date > reference:
                continue
            found.append(DateEntity(start, start + len(phrase), phrase,
                                    _iso(date, precision), precision, relative))
    for m in _YEAR.finditer(text):
        year = int(m.group(1))
        if year <= reference.year and not any(d.start <= m.start() < d.end for d in found):
            found.append(DateEntity(m.start(), m.end(), m.group(1), str(year), "year", False))
    return sorted(found, key=lambda d: d.start)


# ---- counts

NUMBER_WORDS: dict[str, int] = {}
for _words in (
    "one two three four five six seven eight nine ten eleven twelve",
    "un deux trois quatre cinq six sept huit neuf dix onze douze",
    "uno dos tres cuatro cinco seis siete ocho nueve diez once doce",
    "um dois três quatro cinco seis sete oito nove dez onze doze",
    "moja mbili tatu nne tano sita saba nane tisa kumi",
    "واحد اثنين ثلاث اربع خمس ست سبع ثماني تسع عشر",
    "один два три чотири п'ять шість сім вісім дев'ять десять",
    "один два три четыре пять шесть семь восемь девять десять",
):
    for _n, _w in enumerate(_words.split(), start=1):
        NUMBER_WORDS.setdefault(_w, _n)
NUMBER_WORDS.update({"une": 1, "una": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3,
                     "wawili": 2, "watatu": 3, "wanne": 4, "watano": 5, "اثنان": 2,
                     "ثلاثة": 3, "أربع": 4, "اربعة": 4, "خمسة": 5, "двоє": 2, "троє": 3,
                     "двое": 2, "трое": 3, "четверо": 4, "dozen": 12,
                     "douzaine": 12, "docena": 12, "dúzia": 12})

VICTIM_WORDS = (
    "women", "woman", "girls", "girl", "boys", "children", "people", "persons", "civilians",
    "victims", "survivors", "femmes", "filles", "fillettes", "enfants", "personnes", "civils",
    "victimes", "mineures", "mujeres", "niñas", "niños", "personas", "víctimas", "mulheres",
    "meninas", "raparigas", "crianças", "pessoas", "vítimas", "wanawake", "wasichana",
    "watoto", "watu", "waathirika", "نساء", "نسوان", "فتيات", "بنات", "اطفال", "أطفال", "ضحايا",
    "مدنيين", "жінок", "жінки", "дівчат", "дітей", "людей", "жертв", "женщин", "девушек",
    "девочек",
)
PERPETRATOR_WORDS = (
    "soldiers", "armed men", "men with guns", "men in uniform", "fighters", "militiamen",
    "militia men", "rebels", "attackers", "gunmen", "policemen", "police officers", "guards",
    "perpetrators", "militants", "combatants", "soldats", "militaires", "miliciens",
    "hommes armés", "hommes en armes", "rebelles", "combattants", "assaillants", "soldados",
    "militares", "hombres armados", "guerrilleros", "paramilitares", "combatientes",
    "homens armados", "wanajeshi", "askari", "waasi", "wapiganaji", "watu wenye silaha",
    "جنود", "عناصر", "مسلحين", "مسلحون", "مقاتلين", "رجال مسلحين", "солдати", "солдатів",
    "військових", "військові", "бойовиків", "солдат", "солдаты", "военных", "боевиков",
)


def _alternatives(words: object) -> str:
    folded = {fold(w) for w in words}  # type: ignore[attr-defined]
    return "|".join(re.escape(w) for w in sorted(folded, key=len, reverse=True))


_FOLDED_NUMBERS = {fold(w): n for w, n in NUMBER_WORDS.items()}
_NUMBER = r"(\d{1,4}|" + _alternatives(NUMBER_WORDS) + ")"
_VICTIMS = _alternatives(VICTIM_WORDS)
_NOUN = _VICTIMS + "|" + _alternatives(PERPETRATOR_WORDS)
# "three soldiers", "trois militaires", "wanajeshi watatu", "ثلاثة جنود", "три солдати";
# up to two words between ("two young women", "cinq jeunes filles"), never a number ("12
# March 2024 soldiers" is a date, not twelve soldiers)
_GAP = r"(?:\s+[^\W\d]+){0,2}?\s+"
_COUNT = re.compile(rf"(?<!\w){_NUMBER}{_GAP}(?P<a>{_NOUN})(?!\w)"
                    rf"|(?<!\w)(?P<b>{_NOUN}){_GAP}{_NUMBER}(?![\w-])")  # not "2-го"
_VICTIM = re.compile(_VICTIMS)


def _number(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return _FOLDED_NUMBERS.get(word)


def find_counts(text: str) -> list[CountEntity]:
    norm = normalise(text[:MAX_ENTITY_TEXT])
    out = []
    pos = 0
    while (m := _COUNT.search(norm.text, pos)) is not None:
        noun = m.group("a") or m.group("b")
        number = _number(m.group(1) if m.group(1) is not None else m.group(4))
        digits = m.group(1) or m.group(4) or ""
        # "in 2023 soldiers came": a year, not a count; look again just after its start, so
        # that "three soldiers" inside the rejected match is still found
        if number is None or number == 0 or number > 100_000 or \
                (len(digits) == 4 and digits.startswith(("19", "20"))):
            pos = m.start() + 1
            continue
        role = "victims" if _VICTIM.fullmatch(noun) else "perpetrators"
        start, end = norm.span(m.start(), m.end())
        out.append(CountEntity(start, end, text[start:end], role, number))
        pos = m.end()
    return out


# ---- armed groups, units, ranks

RANKS = (
    "colonel|lieutenant-colonel|lieutenant|captain|commander|commandant|major|general|sergeant"
    r"|corporal|capitaine|sergent|caporal|général|coronel|capitán|capitan|teniente|sargento"
    r"|comandante|cabo|capitão|tenente|kamanda|afande|meja|kanali|sajini"
    r"|полковник|підполковник|капітан|лейтенант|сержант|командир|майор|генерал|капитан"
    r"|عقيد|نقيب|رقيب|ملازم|قائد|امير|أمير|لواء|عميد|مقدم"
)
# a rank, then a name: capitalised Latin words, or the next one or two words of another script
_RANK = re.compile(rf"(?<!\w)(?P<rank>(?i:{RANKS}))(?!\w)"
                   r"(?P<name>(?:\s+(?:[A-Z][\w'’-]+|[^\W\d_a-zA-Z][\w'’-]*)){0,2})")
_UNIT = re.compile(
    r"(?<!\w)(?:\d{1,3}\s*-?\s*(?:st|nd|rd|th|er|ère|e|ème|eme|º|ª|o|a|[а-яіїє]{1,3})?\.?\s*)"
    r"(?:battalion|bataillon|batallón|batallon|batalhão|brigade|brigada|regiment|régiment"
    r"|regimiento|company|compagnie|division|platoon|peloton|батальйон\w*|батальон\w*"
    r"|бригад\w*|полк\w*|рот\w*|дивізі\w*|дивизи\w*)(?!\w)", re.IGNORECASE)


def find_groups(text: str, groups: NameList | None = None) -> list[GroupEntity]:
    text = text[:MAX_ENTITY_TEXT]
    out: list[GroupEntity] = []
    seen: set[tuple[int, int]] = set()
    for lst in ([groups] if groups is not None else []) + [DEFAULT_GROUPS]:
        for hit in lst.find(text):
            if not any(s <= hit.start < e for s, e in seen):
                seen.add((hit.start, hit.end))
                out.append(GroupEntity(hit.start, hit.end, hit.phrase, "group", hit.name,
                                       names.name_key(hit.name), hit.code))
    for unit in _UNIT.finditer(text):
        key = names.unit_key(unit.group(0))
        out.append(GroupEntity(unit.start(), unit.end(), unit.group(0), "unit", key, key))
    for rank in _RANK.finditer(text):
        word = rank.group("rank")
        person = rank.group("name").strip()
        end = rank.start() + len(rank.group(0).rstrip()) if person else rank.start() + len(word)
        out.append(GroupEntity(rank.start(), end, text[rank.start():end], "rank", word.lower(),
                               names.name_key(person) if person else ""))
    return sorted(out, key=lambda g: g.start)


def find_places(text: str, places: NameList | None) -> list[PlaceEntity]:
    if places is None:
        return []
    return [PlaceEntity(m.start, m.end, m.phrase, m.name, m.code)
            for m in places.find(text[:MAX_ENTITY_TEXT])]


def _largest(counts: list[CountEntity], role: str) -> int | None:
    values = [c.count for c in counts if c.role == role]
    return max(values) if values else None


def find_entities(text: str, language: str, *, reference: dt.datetime | None = None,
                  places: NameList | None = None,
                  groups: NameList | None = None) -> Entities:
    """Every entity of a text; `reference` is the report's date (default: now, UTC)."""
    reference = (reference or dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    counts = find_counts(text)
    return Entities(dates=tuple(find_dates(text, language, reference)),
                    victims=_largest(counts, "victims"),
                    perpetrators=_largest(counts, "perpetrators"),
                    counts=tuple(counts), groups=tuple(find_groups(text, groups)),
                    places=tuple(find_places(text, places)))
