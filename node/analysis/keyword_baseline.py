"""The plain keyword list (issue 17's yardstick): what "written in an afternoon" gets.

It is deliberately naive: lower-cased substring matches of a hand-written multilingual list,
the first affiliation word found wins, no negation, no context. It is the figure a real model
must clearly beat on `make eval`; it is not meant to be tuned (and never on the test split).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# Words and stems per category, in en, fr, es, pt, ar, sw, uk, ru: the first that come to mind,
# plus the plurals, verb forms and nudity words a second look at the train and dev splits asked
# for (never the test split).
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "rape": (
        "rape", "raping", "gang-rape", "viol ", "viols", "violé", "violée", "violer",
        "violación", "violaciones", "violada", "violaron", "violó", "estupro", "estupra",
        "violad", "violaç", "violaram", "violou", "abusaram", "abusou", "abusaron", "abusó",
        "abusé", "abusée",
        "اغتصاب", "اغتصب", "الاغتصاب",
        "ubakaji", "kubaka", "walibaka", "bakwa", "nibaka", "wabaka",
        "зґвалт", "згвалт", "изнасил",
    ),
    "sexual_slavery": (
        "sexual slave", "sex slave", "esclavage sexuel", "esclave sexuel", "esclaves sexuel",
        "esclavitud sexual", "esclava sexual", "escravidão sexual", "escrava sexual",
        "الاستعباد الجنسي", "استعبد", "سبايا", "سبية",
        "utumwa wa ngono", "сексуальне рабство", "сексуального рабства", "сексуальное рабство",
    ),
    "enforced_prostitution": (
        "forced prostitution", "prostitution forcée", "prostitución forzada",
        "prostituição forçada", "الدعارة القسرية", "البغاء القسري", "ukahaba wa kulazimishwa",
        "примусова проституц", "принудительная проституц",
    ),
    "forced_pregnancy": (
        "forced pregnancy", "forcibly impregnated", "grossesse forcée", "embarazo forzado",
        "gravidez forçada", "الحمل القسري", "mimba ya kulazimishwa", "примусова вагітн",
    ),
    "enforced_sterilization": (
        "sterilization", "sterilisation", "stérilisation", "esterilización", "esterilização",
        "التعقيم", "kufunga kizazi", "стерилізац", "стерилизац",
    ),
    "other_sexual_violence": (
        "sexual violence", "sexual assault", "sexually assaulted", "sexual abuse",
        "forced nudity", "stripped", "genital", "undress", "naked", " nus ", " nue ", "desnud",
        "despid", "vua nguo", "роздяг", "раздел", "раздев",
        "violence sexuelle", "violences sexuelles", "agression sexuelle", "abus sexuel",
        "violencia sexual", "agresión sexual", "abuso sexual", "abusó sexualmente",
        "violência sexual", "abusos sexuais", "abusada sexualmente",
        "العنف الجنسي", "اعتداء جنسي", "الاعتداء الجنسي", "اعتداءات جنسية", "تعديات جنسية",
        "التحرش الجنسي", "التناسلية", "التعري",
        "unyanyasaji wa kingono", "ukatili wa kingono", "vitendo vya kingono",
        "сексуальне насильство", "сексуального насильства", "сексуалізован", "статев",
        "геніталі", "сексуальное насилие", "сексуального насилия", "половым органам",
    ),
}

# Arabic short vowels and shadda, and the tatweel: a word is matched with or without them.
_ARABIC_MARKS = dict.fromkeys(range(0x064B, 0x0653)) | {0x0640: None}

AFFILIATION_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("peacekeepers", ("peacekeeper", "casque bleu", "casques bleus", "cascos azules",
                      "capacetes azuis", "حفظ السلام", "walinda amani", "миротвор")),
    ("state_forces", ("soldier", "army", "police", "armed forces", "military", "security forces",
                      "soldat", "armée", "militaire", "forces armées", "policier", "gendarme",
                      "soldado", "ejército", "exército", "policía", "polícia", "militares",
                      "جنود", "الجيش", "الشرطة", "قوات الأمن", "القوات الحكومية",
                      "askari", "jeshi", "polisi", "військов", "солдат", "армі", "военн")),
    ("militia", ("militia", "milice", "milicia", "milícia", "ميليشيا", "مليشيا", "wanamgambo",
                 "ополч")),
    ("non_state_armed_group", ("armed group", "rebel", "groupe armé", "groupes armés",
                               "rebelle", "grupo armado", "rebeldes", "جماعة مسلحة",
                               "الجماعات المسلحة", "المتمردين", "داعش", "waasi",
                               "kikundi cha silaha", "збройн", "бойовик")),
    ("civilian", ("neighbour", "neighbor", "voisin", "vecino", "vizinho", "جار", "jirani",
                  "сусід")),
)


def _find(text: str, words: Sequence[str]) -> list[str]:
    return [w for w in words if w in text]


def suggest(record: Mapping[str, str]) -> dict[str, object]:
    text = f" {record.get('text', '').lower().translate(_ARABIC_MARKS)} "
    categories: list[str] = []
    evidence: list[str] = []
    for code, words in CATEGORY_WORDS.items():
        hits = _find(text, words)
        if hits:
            categories.append(code)
            evidence.extend(h.strip() for h in hits)
    affiliations = [code for code, words in AFFILIATION_WORDS if _find(text, words)]
    if not affiliations:
        affiliations = ["unknown"]
    is_crsv = bool(categories)
    return {
        "id": record.get("id"),
        "language": record.get("language") or "und",
        "is_crsv": is_crsv,
        "categories": categories,
        "perpetrator_affiliation": affiliations[0],
        "perpetrator_affiliations": affiliations,
        "confidence": {"is_crsv": 1.0 if is_crsv else 0.0},
        "evidence": evidence,
    }


def predict(records: Sequence[Mapping[str, str]]) -> list[dict[str, object]]:
    """The predictor interface of the harness: JSON-line records in, one suggestion each out."""
    return [suggest(r) for r in records]
