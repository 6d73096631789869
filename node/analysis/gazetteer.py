"""The node's lists for entities (issue 17): places (a gazetteer) and armed groups.

Both are UTF-8 CSV files that the node names in `node.toml` (`[analysis]`, see
`node/node.toml.example` and `node/analysis/settings.py`), one entry a line, with a header:

    # places.csv: lines starting with # are comments
    name,region,aliases
    Goma,CD-NK,Ngoma|غوما|Гома
    Minova,CD-SK,

    # armed_groups.csv
    name,affiliation,aliases
    M23,non_state_armed_group,Mouvement du 23 mars|March 23 Movement|إم 23

- `region` is a code of the federation's one region vocabulary (`protocol/regions.py`:
  first-level ISO 3166-2 subdivisions, such as `CD-NK`); a code outside it is refused.
- `affiliation` is one of the node's affiliation codes (protocol/vocabulary.py).
- `aliases` are other spellings, in any script, separated by `|`.

A name matches as a whole word, ignoring case, Latin accents, Arabic vowel marks and letter
variants (`node/analysis/textnorm.py`). A bad
line stops loading with `ListError` naming the file and line, so a typo is never silently
ignored.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from node.analysis.textnorm import fold, normalise
from protocol import regions
from protocol.vocabulary import AFFILIATIONS, UNKNOWN

MAX_NAME = 200


class ListError(ValueError):
    """A line of a gazetteer or armed-group list is malformed."""


@dataclass(frozen=True)
class Entry:
    name: str
    code: str                 # region code (places) or affiliation code (groups)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    name: str                 # the entry's name
    code: str
    start: int
    end: int
    phrase: str


class NameList:
    """Entries found as whole words in a text, longest first, never overlapping."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = tuple(entries)
        spellings: dict[str, Entry] = {}
        for e in self.entries:
            for spelling in (e.name, *e.aliases):
                key = fold(spelling).strip()
                if key:
                    spellings.setdefault(key, e)
        self._spellings = spellings
        alternatives = sorted((re.escape(s) for s in spellings), key=len, reverse=True)
        self._pattern = (re.compile(r"(?<!\w)(" + "|".join(alternatives) + r")(?!\w)")
                         if alternatives else None)

    def find(self, text: str) -> list[Match]:
        if self._pattern is None:
            return []
        norm = normalise(text)
        out = []
        for m in self._pattern.finditer(norm.text):
            start, end = norm.span(m.start(), m.end())
            e = self._spellings[m.group(1)]
            out.append(Match(e.name, e.code, start, end, text[start:end]))
        return out

    def __len__(self) -> int:
        return len(self.entries)


def _rows(lines: Iterable[str], where: str, code_field: str) -> list[Entry]:
    try:
        return _read_rows(lines, where, code_field)
    except csv.Error as exc:
        raise ListError(f"{where}: not CSV ({exc})") from None


def _read_rows(lines: Iterable[str], where: str, code_field: str) -> list[Entry]:
    # a comment becomes an empty line, so that line numbers in errors are the file's
    content = ["\n" if line.lstrip().startswith("#") else line for line in lines]
    reader = csv.reader(io.StringIO("".join(content), newline=""))
    header = next((row for row in reader if any(cell.strip() for cell in row)), None)
    if header is None:
        return []
    header = [h.strip().lower() for h in header]
    if header[:2] != ["name", code_field] or len(header) > 3 or \
            (len(header) == 3 and header[2] != "aliases"):
        raise ListError(f"{where}: the header must be name,{code_field},aliases")
    entries = []
    for row in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 2 or len(row) > 3:
            raise ListError(f"{where}: line {number} must have 2 or 3 fields")
        name, code = row[0].strip(), row[1].strip()
        aliases = tuple(a.strip() for a in (row[2] if len(row) == 3 else "").split("|")
                        if a.strip())
        if not name or len(name) > MAX_NAME or any(len(a) > MAX_NAME for a in aliases):
            raise ListError(f"{where}: line {number}: a name must have 1 to {MAX_NAME} "
                            "characters")
        entries.append(Entry(name, code, aliases))
    return entries


def parse_places(text: str, where: str = "gazetteer") -> NameList:
    """A gazetteer from its CSV text; ListError names the first bad line."""
    entries = _rows(text.splitlines(keepends=True), where, "region")
    for e in entries:
        if e.code == UNKNOWN or not regions.is_region(e.code):
            raise ListError(f"{where}: {e.name!r}: region {e.code!r} is not a first-level "
                            "ISO 3166-2 code such as CD-NK (`backup-node regions CC` lists "
                            "a country's codes)")
    return NameList(entries)


def parse_groups(text: str, where: str = "armed groups") -> NameList:
    """An armed-group list from its CSV text; ListError names the first bad line."""
    entries = _rows(text.splitlines(keepends=True), where, "affiliation")
    for e in entries:
        if e.code not in AFFILIATIONS:
            raise ListError(f"{where}: {e.name!r}: affiliation {e.code!r} is not one of "
                            f"{', '.join(AFFILIATIONS)}")
    return NameList(entries)


def load_places(path: Path) -> NameList:
    return parse_places(path.read_text(encoding="utf-8"), path.name)


def load_groups(path: Path) -> NameList:
    return parse_groups(path.read_text(encoding="utf-8"), path.name)


# Groups every node meets in the public reports the set is drawn from; a node adds its own
# with `[analysis] armed_groups`. Affiliations follow the data card's rules. Round 5 (issue 17):
# the parties listed in the annexes of the Secretary-General's annual reports on conflict-related
# sexual violence (S/2022/272, S/2023/413, S/2024/292, S/2025/389) and the state forces their
# country sections name, in the spellings of en, fr, es, pt, ar, ru, uk and sw where they occur.
# Decisions: Mai-Mai factions are non-state armed groups (the data card's "Mai-Mai Raia
# Mutomboki", the annexes list them as armed groups); Wazalendo, the coalition fighting beside
# the FARDC since 2023, is a militia ("allied to a side"), as are Imbonerakure, Fano, the
# Civilian Joint Task Force and Burkina Faso's VDP; RSF is a non-state armed group (after April
# 2023); Wagner / Africa Corps and the Rwanda Defence Force are state forces.
DEFAULT_GROUPS = NameList([
    # Democratic Republic of the Congo
    Entry("M23", "non_state_armed_group", ("Mouvement du 23 mars", "March 23 Movement",
                                           "AFC/M23", "ام 23", "М23", "Movimiento 23 de Marzo",
                                           "Movimento 23 de Março", "M-23")),
    Entry("ADF", "non_state_armed_group", ("Allied Democratic Forces",
                                           "Forces démocratiques alliées", "ADF/MTM")),
    Entry("FDLR", "non_state_armed_group", ("Forces démocratiques de libération du Rwanda",
                                            "FDLR-FOCA")),
    Entry("CODECO", "non_state_armed_group", ("Coopérative pour le développement du Congo",)),
    Entry("Raia Mutomboki", "non_state_armed_group", ("Raïa Mutomboki",)),
    Entry("Mai-Mai", "non_state_armed_group", ("Mai Mai", "Maï-Maï", "Mayi-Mayi", "Mayi Mayi",
                                               "Maï Maï")),
    Entry("Nyatura", "non_state_armed_group", ()),
    Entry("NDC-R", "non_state_armed_group", ("Nduma Defence of Congo-Rénové",)),
    Entry("APCLS", "non_state_armed_group", ("Alliance des patriotes pour un Congo libre et "
                                             "souverain",)),
    Entry("FRPI", "non_state_armed_group", ("Force de résistance patriotique de l'Ituri",)),
    Entry("Twirwaneho", "non_state_armed_group", ()),
    Entry("Wazalendo", "militia", ("VDP Wazalendo",)),
    Entry("Kamuina Nsapu", "militia", ("Kamwina Nsapu",)),
    Entry("Bana Mura", "militia", ()),
    Entry("FARDC", "state_forces", ("Forces armées de la République démocratique du Congo",
                                    "Armed Forces of the Democratic Republic of the Congo")),
    Entry("PNC", "state_forces", ("Police nationale congolaise", "Congolese National Police")),
    Entry("RDF", "state_forces", ("Rwanda Defence Force", "Forces rwandaises de défense")),
    # Sudan and South Sudan
    Entry("RSF", "non_state_armed_group", ("Rapid Support Forces", "الدعم السريع",
                                           "Forces de soutien rapide", "FSR",
                                           "Fuerzas de Apoyo Rápido", "Forças de Apoio Rápido",
                                           "Силы быстрого реагирования",
                                           "Сили швидкого реагування",
                                           "Vikosi vya Msaada wa Haraka")),
    Entry("SAF", "state_forces", ("Sudanese Armed Forces", "القوات المسلحة السودانية",
                                  "Forces armées soudanaises", "Fuerzas Armadas Sudanesas",
                                  "Forças Armadas Sudanesas")),
    Entry("Janjaweed", "militia", ("الجنجويد", "Janjawid")),
    Entry("JEM", "non_state_armed_group", ("Justice and Equality Movement",
                                           "حركة العدل والمساواة")),
    Entry("SLA/AW", "non_state_armed_group", ("SLA-AW", "Sudan Liberation Army",
                                              "SLA-MM", "حركة جيش تحرير السودان")),
    Entry("SPLA-IO", "non_state_armed_group", ("SPLM/A-IO", "SPLM-IO", "SPLA/IO")),
    Entry("SSPDF", "state_forces", ("South Sudan People's Defence Forces",)),
    Entry("Agwelek", "militia", ()),
    Entry("White Army", "militia", ("الجيش الأبيض",)),
    # Iraq, Syria, Yemen, Libya
    Entry("ISIL", "non_state_armed_group", ("ISIS", "Daesh", "Da'esh", "داعش",
                                            "Islamic State", "État islamique", "الدولة الإسلامية",
                                            "ИГИЛ", "ІДІЛ", "Estado Islámico", "Estado Islâmico")),
    Entry("HTS", "non_state_armed_group", ("Hay'at Tahrir al-Sham", "هيئة تحرير الشام")),
    Entry("Syrian National Army", "non_state_armed_group", ("الجيش الوطني السوري",)),
    Entry("Jaysh al-Islam", "non_state_armed_group", ("جيش الإسلام",)),
    Entry("Houthis", "non_state_armed_group", ("Ansar Allah", "الحوثيون", "أنصار الله",
                                               "хуситы", "хусити")),
    Entry("Stability Support Apparatus", "state_forces", ("جهاز دعم الاستقرار",)),
    Entry("shabiha", "militia", ("الشبيحة", "شبيحة")),
    # Somalia, Mozambique, Nigeria and the Sahel
    Entry("Al-Shabaab", "non_state_armed_group", ("al-Shabab", "Shabaab", "الشباب",
                                                  "Аш-Шабааб", "Аль-Шабаб")),
    Entry("Ahlu Sunnah wa Jama'a", "non_state_armed_group", ("ASWJ", "Ahl al-Sunna wal-Jama'a")),
    Entry("Somali National Army", "state_forces", ("SNA", "Armée nationale somalienne")),
    Entry("Boko Haram", "non_state_armed_group", ("JAS", "ISWAP", "Боко харам", "بوكو حرام")),
    Entry("Civilian Joint Task Force", "militia", ("CJTF",)),
    Entry("JNIM", "non_state_armed_group", ("GSIM", "Jama'at Nusrat al-Islam wal-Muslimin",
                                            "جماعة نصرة الإسلام والمسلمين")),
    Entry("ISGS", "non_state_armed_group", ("EIGS", "État islamique au Grand Sahara",
                                            "Islamic State Sahel Province")),
    Entry("FAMa", "state_forces", ("Forces armées maliennes", "Malian Armed Forces")),
    Entry("VDP", "militia", ("Volontaires pour la défense de la patrie",)),
    Entry("Dan Na Ambassagou", "militia", ()),
    # Central African Republic
    Entry("Séléka", "non_state_armed_group", ("ex-Séléka", "Seleka")),
    Entry("anti-balaka", "militia", ("anti balaka",)),
    Entry("3R", "non_state_armed_group", ("Retour, réclamation et réhabilitation",)),
    Entry("UPC", "non_state_armed_group", ("Unité pour la paix en Centrafrique",)),
    Entry("FPRC", "non_state_armed_group", ()),
    Entry("MPC", "non_state_armed_group", ("Mouvement patriotique pour la Centrafrique",)),
    Entry("CPC", "non_state_armed_group", ("Coalition des patriotes pour le changement",)),
    Entry("LRA", "non_state_armed_group", ("Lord's Resistance Army",
                                           "Armée de résistance du Seigneur")),
    Entry("FACA", "state_forces", ("Forces armées centrafricaines",)),
    Entry("Wagner", "state_forces", ("Вагнер", "فاغنر", "Africa Corps")),
    # Ethiopia, Myanmar, Burundi
    Entry("ENDF", "state_forces", ("Ethiopian National Defence Force",)),
    Entry("EDF", "state_forces", ("Eritrean Defence Forces",)),
    Entry("Fano", "militia", ("ፋኖ",)),
    Entry("Tatmadaw", "state_forces", ("Myanmar Armed Forces", "Татмадау")),
    Entry("Imbonerakure", "militia", ()),
    # Haiti
    Entry("Viv Ansanm", "non_state_armed_group", ("G9", "G-9", "G9 an fanmi e alye", "G-Pèp",
                                                  "Gran Grif", "400 Mawozo", "5 Segond",
                                                  "Kraze Baryè")),
    # Colombia
    Entry("FARC", "non_state_armed_group", ("FARC-EP",)),
    Entry("ELN", "non_state_armed_group", ()),
    Entry("Clan del Golfo", "non_state_armed_group", ("Autodefensas Gaitanistas de Colombia",
                                                      "AGC", "EGC",
                                                      "Ejército Gaitanista de Colombia")),
    Entry("Estado Mayor Central", "non_state_armed_group", ("EMC", "Segunda Marquetalia")),
    Entry("AUC", "militia", ("Autodefensas Unidas de Colombia",)),
    # round 6: state forces and services the Secretary-General's, OHCHR's and HRW's country
    # sections name by acronym or full name (Burundi, Cameroon, Chad, Niger, Haiti, Mozambique,
    # Libya, Russia, Nicaragua), in the spellings of the eight languages where they occur
    Entry("FDNB", "state_forces", ("Force de défense nationale du Burundi",
                                   "National Defence Force of Burundi",
                                   "Burundi National Defence Force")),
    Entry("SNR", "state_forces", ("Service national de renseignement",
                                  "National Intelligence Service of Burundi",
                                  "Idara ya Taifa ya Ujasusi")),
    Entry("BIR", "state_forces", ("Bataillon d'intervention rapide", "Rapid Intervention Battalion",
                                  "Batallón de Intervención Rápida",
                                  "Batalhão de Intervenção Rápida")),
    Entry("ANT", "state_forces", ("Armée nationale tchadienne", "Chadian National Army",
                                  "Ejército Nacional de Chad")),
    Entry("FAN", "state_forces", ("Forces armées nigériennes", "Nigerien Armed Forces",
                                  "Niger Armed Forces")),
    Entry("Nigerian Army", "state_forces", ("Nigeria Police Force", "Nigerian Police Force",
                                            "Armée nigériane", "Jeshi la Nigeria")),
    Entry("Ethiopian Federal Police", "state_forces", ("Federal Police Commission",
                                                       "Polisi wa Shirikisho")),
    Entry("Border Guard Police", "state_forces", ("BGP", "Policía de Guardia Fronteriza",
                                                  "Police des gardes-frontières")),
    Entry("PNH", "state_forces", ("Police nationale d'Haïti", "Haitian National Police",
                                  "Policía Nacional de Haití", "Polícia Nacional do Haiti",
                                  "Национальная полиция Гаити")),
    Entry("SISE", "state_forces", ("Serviço de Informação e Segurança do Estado",)),
    Entry("FAA", "state_forces", ("Forças Armadas Angolanas", "Angolan Armed Forces")),
    Entry("LNA", "state_forces", ("Libyan National Army", "Armée nationale libyenne",
                                  "الجيش الوطني الليبي", "Ejército Nacional Libio",
                                  "Ливийская национальная армия", "LAAF",
                                  "Libyan Arab Armed Forces", "القوات المسلحة العربية الليبية")),
    Entry("Akhmat", "state_forces", ("Ахмат", "Akhmat special forces", "спецназ «Ахмат»")),
    Entry("Guardia Nacional Bolivariana", "state_forces", ("GNB",)),
    Entry("Sistema Penitenciario Nacional", "state_forces", ("SPN",)),
    Entry("AFDL", "non_state_armed_group", ("Alliance des forces démocratiques pour la libération "
                                            "du Congo-Zaïre",)),
    Entry("FSB", "state_forces", ("ФСБ", "Federal Security Service", "Service fédéral de sécurité",
                                  "Servicio Federal de Seguridad", "Serviço Federal de Segurança",
                                  "جهاز الأمن الفيدرالي", "Федеральная служба безопасности")),
    Entry("Tariq Ben Ziyad Brigade", "state_forces", ("TBZ", "Tareq Ben Zeyad", "Tariq bin Ziyad",
                                                      "كتيبة طارق بن زياد", "لواء طارق بن زياد",
                                                      "طارق بن زياد")),
    # round 7: the grey zone between the codes, by the rules of the data card: forces allied
    # to a side outside its command (Yemen's Security Belt and STC forces, Syria's National
    # Defence Forces, Iraq's PMF, Sudan's mustanfireen, Myanmar's Pyu Saw Htee, Somalia's
    # clan militias) are militias; de facto authorities' forces (SDF) and groups fighting a
    # state (PDF, Arakan Army, TDF) are armed groups; Wagner / Africa Corps are state forces
    Entry("Security Belt Forces", "militia", ("Security Belt", "الحزام الأمني",
                                              "قوات الحزام الأمني", "Ceinture de sécurité")),
    Entry("Southern Transitional Council", "militia", ("STC", "المجلس الانتقالي الجنوبي",
                                                       "Conseil de transition du Sud",
                                                       "Южный переходный совет",
                                                       "Південна перехідна рада")),
    Entry("Popular Mobilization Forces", "militia", ("Popular Mobilisation Forces", "PMF",
                                                     "Hashd al-Shaabi", "الحشد الشعبي",
                                                     "Forces de mobilisation populaire",
                                                     "Fuerzas de Movilización Popular",
                                                     "Силы народной мобилизации",
                                                     "Сили народної мобілізації")),
    Entry("National Defence Forces", "militia", ("Syrian National Defence Forces",
                                                 "قوات الدفاع الوطني السورية")),
    Entry("Mustanfireen", "militia", ("mustanfirin", "المستنفرين", "المستنفرون")),
    Entry("Pyu Saw Htee", "militia", ("Пью Со Хти", "ပျူစောထီး")),
    Entry("Ma'awisley", "militia", ("Macawisley",)),
    Entry("Civilian JTF", "militia", ("C-JTF",)),
    Entry("SDF", "non_state_armed_group", ("Syrian Democratic Forces", "قوات سوريا الديمقراطية",
                                           "قسد", "Forces démocratiques syriennes", "YPG",
                                           "Силы демократической Сирии")),
    Entry("People's Defence Force", "non_state_armed_group", ("PDF", "People's Defense Force",
                                                              "Сили народної оборони",
                                                              "Силы народной обороны")),
    Entry("Arakan Army", "non_state_armed_group", ("جيش أراكان", "Армия Аракана",
                                                   "Армія Аракану", "Armée d'Arakan")),
    Entry("TDF", "non_state_armed_group", ("Tigray Defence Forces", "Tigray Defense Forces",
                                           "قوات دفاع تيغراي")),
    Entry("Wagner Group", "state_forces", ("Groupe Wagner", "Grupo Wagner", "ЧВК Вагнер",
                                           "ПВК Вагнер", "Африканский корпус",
                                           "Африканський корпус", "الفيلق الأفريقي")),
    Entry("Amhara Special Forces", "state_forces", ("Amhara regional special forces",)),
    Entry("Sudan Shield Forces", "militia", ("Dir' al-Sudan", "قوات درع السودان",
                                             "درع السودان")),
    Entry("Giants Brigades", "militia", ("Al-Amaliqa", "ألوية العمالقة")),
    Entry("Asayish", "non_state_armed_group", ("الأسايش", "Асаиш", "Асаїш")),
])
