"""The one normaliser of personal names, aliases and units across scripts (issues 17 and 18).

`name_key(text)` maps a personal name or alias, in Latin, Arabic or Cyrillic script (or any
other script anyascii covers), with or without diacritics and in the common transliteration
variants, to one ASCII key: "Muhammad Abdullah", "Mohamed Abdallah", "Muḥammad ʿAbd Allāh",
"محمد عبد الله" and "Мухаммад Абдулла" all give ``"bdl mhmd"``. `unit_key(text)` does the same
for military units ("2nd Battalion, 34th Brigade", "2e bataillon de la 34e brigade",
"2-й батальйон 34-ї бригади" give ``"battalion:2 brigade:34"``). `name_tokens(text)` gives the
key's parts. The perpetrator-matching issue (18) tokenises these keys; there is no other
normaliser.

How: Unicode NFKC and case folding; Arabic vowel marks, tatweel and the article "ال" removed;
then anyascii (ISC licence, a 0.3 MB wheel with no dependencies, kept up to date with Unicode)
transliterates every script to ASCII. Each word is then reduced to a consonant skeleton:
digraphs that transliterations spell differently are merged (kh/h, dzh/dj/j, zh/j, sh/ch/s,
gh/g, th/s (ث, read s in Osman, Usman, Усман), dh/d, ph/f, q/c/ck/k, x/ks), the vowels and
the half-vowels y and w are dropped except at the start of a word (Arabic script writes no
short vowels, and transliterations of its long ones disagree; a first w is written v, as
Cyrillic does), a final h is dropped (the Arabic feminine ending: Fatimah, Fatima, فاطمة),
and doubled letters are collapsed. Particles are handled: "Abd"/"Abdul"/"Abdel"/"Abu" are
joined to the next word (Abd al-Rahman, Abdulrahman, عبد الرحمن), the articles al/el/ul and
the patronymic bin/ibn/ben/bint/ould are dropped. The words of the key are sorted, so the order
of given and family names does not matter.

Known limits (issue 18 must not match on a name alone for these reasons):
- Ta marbuta (ة) is dropped, and so is the "t" of a Latin word ending in "-at" before an
  article (the construct state: "Harakat al-Shuhada", حركة الشهداء); a Latin "-at" before
  anything else is kept, so "Harakat" alone differs from حركة alone.
- Different names share a skeleton: Hassan, Hussein, Hosni and Hasna all give "hsn"; Ali and
  Ola give "l"; short names collide often. Match a name only together with a group, unit or
  alias.
- Dropping vowels and inner y/w trades precision for recall across scripts; Latin names that differ
  only in vowels (Maria, Mario) get one key.
- Sound shifts between languages are not merged: Egyptian g for j (Gamal, Jamal), Russian
  g for Arabic h (Гасан, Hasan), Ukrainian h for Russian g (Григорій, Grigoriy), Persian p and
  v (پ, و). Such pairs get different keys.
- A word of Arabic script read as a particle is dropped even when it is a name written
  without its vowels (بن is read as bin, not Bana).
- An article fused into a Latin spelling ("Alhassan") is kept, so it differs from
  "al-Hassan"; "Ben" as a given name is dropped as a patronymic particle.
- Scripts other than Latin, Arabic and Cyrillic go through anyascii's romanisation, which
  follows one standard per script and was not checked against other spellings.
- Unit kinds are recognised in English, French, Spanish, Portuguese, Ukrainian, Russian,
  Arabic and Swahili only; a unit's own name ("Azov", "Wagner") is keyed like a personal name.
"""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

# Arabic vowel marks (harakat, shadda, sukun, superscript alif) and tatweel
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
# the article "ال" at the start of an Arabic word (not the whole word), with a prefixed
# و or ب kept apart from the name by the split below
_ARABIC_ARTICLE = re.compile(r"(?<![\u0621-\u064a])ال(?=[\u0621-\u064a]{2,})")
_WORD = re.compile(r"[a-z0-9]+")
# Latin spellings of "Abd" / "Abu" fused with the article or the next word
_ABD_FUSED = re.compile(r"\babd[aeiou]?(?:[lr](?=[^aeiou]))?(?=[a-z]{3,})")
_ABD = {"abd", "abdul", "abdel", "abdal", "abdol", "abdu", "abdur", "abder", "abu", "abou",
        "abo", "abw"}
_DROPPED = {"al", "el", "ul", "ol", "ad", "ar", "as", "ash", "at", "az", "an", "ath", "ibn",
            "bin", "ben", "bint", "bn", "bnt", "ould", "wuld", "ag", "l"}
_ARTICLES = {"al", "el", "ul", "ol", "ad", "ar", "as", "ash", "at", "az", "an", "ath", "ed",
             "ez", "es", "en", "er", "et"}
_DIGRAPHS = (("dzh", "j"), ("tsch", "s"), ("sch", "s"), ("tch", "s"), ("dj", "j"), ("zh", "j"),
             ("kh", "h"), ("sh", "s"), ("ch", "s"), ("gh", "g"), ("th", "s"), ("dh", "d"),
             ("ph", "f"), ("ck", "k"), ("q", "k"), ("c", "k"), ("x", "ks"))
_VOWELS = re.compile(r"[aeiouyw]")  # after the first letter: see skeleton()
_RUNS = re.compile(r"(.)\1+")


def _ascii_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _ARABIC_MARKS.sub("", text)
    text = _ARABIC_ARTICLE.sub(" ", text)
    # ta marbuta is silent at a pause (Fatima, فاطمة) and read "t" before a definite noun
    # (Katibat al-Fajr, كتيبة الفجر); anyascii would write it "h", which fuses with a "k"
    # before it into "kh". It is dropped here, and the Latin "-at" before an article below.
    text = text.replace("\u0629", "")
    latin = anyascii(text).lower()
    # عبد and أبو keep their ayn and hamza ("`bd", "'bw") until recognised as particles, so
    # that a plain "bd" or "bw" stays a word
    latin = re.sub(r"(?<![a-z])`bd(?![a-z])", "abd", latin)
    latin = re.sub(r"(?<![a-z])'bw(?![a-z])", "abu", latin)
    latin = re.sub(r"['`]", "", latin)  # ayn, hamza and soft signs are not letters of the key
    latin = _ABD_FUSED.sub(lambda m: m.group(0) + " ", latin)
    return _WORD.findall(latin)


def skeleton(word: str) -> str:
    """The consonant skeleton of one ASCII word (see the module's docstring)."""
    for digraph, single in _DIGRAPHS:
        word = word.replace(digraph, single)
    if len(word) > 1 and word.endswith("h"):
        word = word[:-1]
    # A first w or y is a consonant (Walid, وليد, Валид; Yusuf, يوسف, Юсуф), and a first w is
    # spelt v in Cyrillic and some Latin alphabets; elsewhere they are vowels.
    head = {"w": "v"}.get(word[:1], word[:1]) if word[:1] in "wy" else ""
    kept = head + _VOWELS.sub("", word[len(head):])
    kept = _RUNS.sub(r"\1", kept)
    # a word of vowels only ("Aya", "Iyo") keeps its first letter rather than vanish
    return kept or word[:1]


def name_tokens(text: str) -> tuple[str, ...]:
    """The skeletons of a name's words, particles handled, sorted."""
    words = _ascii_words(text)
    out: list[str] = []
    join = ""
    for i, word in enumerate(words):
        if (word.endswith("at") and len(word) > 3 and i + 1 < len(words)
                and words[i + 1] in _ARTICLES):
            word = word[:-1]  # the construct state: "Harakat al-" is حركة ال (see above)
        if word in _ABD:
            join += "bd" if word.startswith("abd") else "b"
            continue
        if word in _DROPPED and (join or len(words) > 1):
            continue
        out.append(_RUNS.sub(r"\1", join + skeleton(word)))
        join = ""
    if join:
        out.append(join)
    return tuple(sorted(t for t in out if t))


def name_key(text: str) -> str:
    """One ASCII key for a personal name or alias, the same across scripts and spellings
    (limits in the module's docstring); "" when the text has no letter or digit."""
    return " ".join(name_tokens(text))


# Unit kinds, in the languages the engine reads; matched on case-folded, accent-free text
# before transliteration, so that the Arabic and Cyrillic words are found in their script.
UNIT_KINDS: dict[str, tuple[str, ...]] = {
    "battalion": ("battalion", "bataillon", "batallon", "batalhao", "батальйон", "батальон",
                  "كتيبة", "kikosi"),
    "brigade": ("brigade", "brigada", "бригада", "бригади", "бригады", "لواء"),
    "regiment": ("regiment", "regimiento", "regimento", "полк", "فوج"),
    "company": ("company", "compagnie", "compania", "companhia", "рота", "سرية"),
    "division": ("division", "divisao", "дивізія", "дивизия", "فرقة"),
    "platoon": ("platoon", "peloton", "pelotao", "взвод", "فصيلة"),
    "sector": ("sector", "secteur", "setor", "сектор", "قطاع"),
    "unit": ("unit", "unite", "unidad", "unidade", "підрозділ", "подразделение", "وحدة",
             "військова частина", "воинская часть"),
}
_KIND_OF = {word: kind for kind, words in UNIT_KINDS.items() for word in words}
_KIND_WORDS = "|".join(sorted((re.escape(w) for w in _KIND_OF), key=len, reverse=True))
# "2nd battalion", "2e bataillon", "2-й батальйон", "34-ї бригади", "battalion 2", "الكتيبة 2"
_ORDINAL = r"(\d+)(?:\s*-?\s*(?:st|nd|rd|th|er|ere|eme|e|o|a|º|ª|[а-яіїє]{1,3})\b)?\.?"
_UNIT = re.compile(rf"(?:{_ORDINAL}\s*(?P<kind1>{_KIND_WORDS})\w*"
                   rf"|(?:ال)?(?P<kind2>{_KIND_WORDS})\w*\s*(?:no\.?|n°|№|number|numero)?\s*"
                   rf"(\d+))")
_STOP = {"the", "of", "de", "la", "le", "les", "du", "des", "del", "da", "do", "dos", "das",
         "and", "et", "y", "e", "i", "и", "і", "й", "ї", "з", "из", "no", "n", "wa"}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _ARABIC_MARKS.sub("", text)
    decomposed = unicodedata.normalize("NFD", text)
    # drop Latin combining accents, keep Cyrillic letters whole (й, ї are letters, not accents)
    out: list[str] = []
    for ch in decomposed:
        if unicodedata.combining(ch) and out and out[-1].isascii():
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def unit_key(text: str) -> str:
    """One ASCII key for a unit: its numbered echelons ("battalion:2 brigade:34"), then the
    name key of whatever else names it ("Rapid Support Forces"); "" when nothing is left."""
    folded = _fold(text)
    parts: set[str] = set()
    rest = folded
    for m in _UNIT.finditer(folded):
        number = m.group(1) or m.group(4)
        kind = _KIND_OF[m.group("kind1") or m.group("kind2")]
        parts.add(f"{kind}:{int(number)}")
        rest = rest.replace(m.group(0), " ")
    for word, kind in sorted(_KIND_OF.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"(?<!\w)(?:ال)?{re.escape(word)}\w*", rest):
            parts.add(kind)
            rest = re.sub(rf"(?<!\w)(?:ال)?{re.escape(word)}\w*", " ", rest)
    words = [w for w in re.findall(r"\w+", rest) if w not in _STOP
             and anyascii(w).lower() not in _STOP]
    named = name_key(" ".join(words))
    return " ".join(sorted(parts) + ([named] if named else []))
