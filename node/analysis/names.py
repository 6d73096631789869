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
transliterates every script to ASCII, Arabic script letter by letter (two letters that it
writes side by side, with no short vowel between, must not read as one digraph: ساحل is
Sahel, سهيل Suhail). Each word is then reduced to a consonant skeleton:
digraphs that transliterations spell differently are merged (kh/h, dzh/dj/j, zh/j, sh/ch/s,
gh/q/c/ck/g/k -- qaf is g in Sudanese, Gulf and Bedouin speech: Dagalo, دقلو --, th/s (ث,
read s in Osman, Usman, Усман), dh/d, ph/f, x/ks), the vowels and the half-vowels y and w are
dropped except at the start of a word (Arabic script writes no short vowels, and
transliterations of its long ones disagree; a first w is written v, as Cyrillic does, and the
French "ou" before a vowel is a w: Ouattara, Wattara), a last h of the skeleton is dropped
(the Arabic feminine ending: Fatimah, Fatima, فاطمة; Yahya, يحيى), a final "ej"/"ij" is the
й of German and Czech spellings (Sergej, Sergey), and doubled letters are collapsed, which
also undoes the assimilated article of sun letters (Abderrahmane, Nasreddine, Essayed).

Particles: "Abd", "Abu", "bin"/"ben"/"ibn", "bint" and "Ould" are joined to the next word, so
that fused and separate spellings agree (Benmoussa, Ben Moussa, بن موسى; Abdelaziz, Abd
al-Aziz, عبد العزيز; Ould Abdallah, ولد عبد الله); a fused article after "Abd"/"Abu" is
dropped (Abdulrahman, Aboulfadl), and so is an "al"/"el" fused at the start of a word before a
consonant and at least four letters (Alhassan, Elkhoury, Alqahtani); the articles al/el/ad/
as/ash... standing alone are dropped; "ad-Din" and "Allah" after a name are joined to it
(Nour ed-Dine, Noureddine, نور الدين; Nasrallah, Nasr Allah). The words of the key are sorted,
so the order of given and family names does not matter.

Ukrainian and Russian forms: the Ukrainian national transliteration writes г as h (Serhiy,
Hrytsenko) where Russian forms, and anyascii for both, write g. A name is read as East Slavic
when it is written in Cyrillic, or one of its words is a Ukrainian or Russian given name of
`_SLAVIC_GIVEN` or ends like a Ukrainian family name (-enko, -chuk, -iuk, -ovych, -skyi);
then a lone h is read g, a first "ye"/"ie" as e (Yevhen, Євген, Evgeniy), and the few given
names whose forms differ in their consonants (Mykola, Nikolai) are mapped to one.

Known limits (issue 18 must not match on a name alone for these reasons):
- Different names share a skeleton: Hassan, Hussein, Hosni and Hasna all give "hsn"; Ali and
  Ola give "l"; Gamal (Egyptian spelling of Jamal) and Kamal give "kml"; short names collide
  often. Match a name only together with a group, unit or alias.
- Dropping vowels and inner y/w trades precision for recall across scripts; Latin names that
  differ only in vowels (Maria, Mario) get one key.
- Ta marbuta (ة) is dropped, and so is the "t" of a Latin word ending in "-at" before an
  article (the construct state: "Harakat al-Shuhada", حركة الشهداء); a Latin "-at" before
  anything else is kept, so "Harakat" alone differs from حركة alone.
- Sound shifts between languages are not merged: Egyptian g for j (Gamal, Jamal), Russian
  g for Arabic h (Гасан, Hasan), a Germanic j for y (Jusuf, Yusuf), Persian p and v (پ, و).
  An East Slavic name that none of the rules above recognises keeps Ukrainian h and Russian g
  apart (Horbunov, Gorbunov), and some names differ by more than spelling (Hanna, Anna;
  Pylypenko, Filippenko). Regional spellings the rules do not know differ (Chadian Mahamat
  for Muhammad), and so does the Tuareg "ag" written in Arabic script (آغ, read "agh").
- A Latin "sh", "th", "dh", "kh" is read as one letter even where Arabic script writes two
  (Ishaq, إسحاق; Fathi, فتحي).
- A word of Arabic script read as a particle is dropped or joined even when it is a name
  written without its vowels (بن is read as bin, not Bana); an Arabic name whose first letter
  is ayn or alif before y (عيسى) keeps a y that the Latin spelling (Issa) lacks.
- A particle dropped in one spelling and written in another differs (Zakaria Ben Moussa,
  Zakaria Moussa); a fused article before a vowel is kept (Alamin, al-Amin), as is an article
  fused after "ben" (Benelmokhtar); a Western name fused with "al"/"el" loses it (Albert and
  Bert share a key).
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
_WORD = re.compile(r"[a-zA-Z0-9]+")
# the plural "-at" of Arabic script before an article (قوات الساحل, Quwwat al-Sahel): read as
# the Latin construct state below
_ARABIC_PLURAL_AT = re.compile(r"ات(?=\s+ال)")
# a run of Arabic script (letters of Arabic, Persian and Urdu)
_ARABIC_RUN = re.compile("[\u0621-\u064a\u0671-\u06d3]+")
# Arabic particles as anyascii writes them, read as their Latin form (عبد keeps its ayn and
# أبو its hamza, so that a plain "bd" stays a word)
_ARABIC_PARTICLES = {"`BD": "abd", "'BW": "abu", "ABW": "abu", "BN": "bin", "ABN": "ibn",
                     "'BN": "ibn", "BNT": "bint", "WLD": "ould"}
# particles joined to the next word, by their skeleton in the key
_JOINED = {**dict.fromkeys(("abu", "abou", "abo", "bu", "bou"), "b"),
           **dict.fromkeys(("bin", "ben", "ibn", "ibnu"), "bn"), "bint": "bnt",
           **dict.fromkeys(("ould", "wuld", "weld"), "vld")}
# "Abd" with its vowel and article: Abd, Abdu, Abdul, Abdel, Abdoul, Abder (a word of its own)
_ABD = re.compile(r"abd[aeiou]{0,2}[lr]?")
_ARTICLES = {"al", "el", "ul", "ol", "il", "ad", "ar", "as", "ash", "esh", "ech", "at", "az",
             "an", "ath",
             "ed", "ez", "es", "en", "er", "et", "ud", "us", "ur", "ag"}
# "Abd"/"Abu" fused with the next word, and with the article before it (Abdelaziz,
# Abdulrahman, Aboulfadl)
_FUSED_PARTICLE = re.compile(r"(abd|abou|abu|abo)([a-z]{3,})")
_FUSED_ARTICLE = re.compile(r"[aeiou]*l(?=[a-z]{3})")
# an article fused at the start of a word, before a consonant (Alhassan, Elkhoury)
_FUSED_AL = re.compile(r"[ae]l(?=[^aeiouyw])([a-z]{4,})")
# "ad-Din" and "Allah", joined to the name before them (Nasreddine, Nasrallah)
_SUFFIXES = {"din", "dine", "deen", "dyn", "eddine", "eddin", "uddin", "addin", "iddin",
             "allah", "ullah", "illah", "llah", "alla", "ulla", "lh"}
_DIGRAPHS = (("dzh", "j"), ("tsch", "s"), ("sch", "s"), ("tch", "s"), ("dj", "j"), ("zh", "j"),
             ("kh", "h"), ("sh", "s"), ("ch", "s"), ("gh", "g"), ("th", "s"), ("dh", "d"),
             ("ph", "f"), ("ck", "k"), ("q", "k"), ("c", "k"), ("g", "k"), ("x", "ks"))
_VOWELS = re.compile(r"[aeiouyw]")  # after the first letter: see skeleton()
_RUNS = re.compile(r"(.)\1+")
_VOWEL = re.compile(r"[aeiou]")

# Ukrainian and Russian given names (national transliteration and BGN/PCGN forms): a name
# with one of them, or a Ukrainian family-name ending, is read as East Slavic (see above)
_SLAVIC_GIVEN = frozenset((
    "oleksandr", "oleksandra", "oleksiy", "oleksii", "serhiy", "serhii", "serhij", "mykola",
    "mykhailo", "mykhaylo", "volodymyr", "dmytro", "andriy", "andrii", "vasyl", "yuriy",
    "yurii", "petro", "pavlo", "taras", "bohdan", "bohdana", "ihor", "oleh", "olha", "hanna",
    "halyna", "hryhoriy", "hryhorii", "heorhiy", "heorhii", "hennadiy", "hennadii", "yevhen",
    "yevheniia", "kostiantyn", "kostyantyn", "vitaliy", "vitalii", "anatoliy", "anatolii",
    "valeriy", "valerii", "yaroslav", "stepan", "ostap", "hlib", "maksym", "denys", "fedir",
    "svitlana", "tetiana", "tetyana", "iryna", "nataliia", "liudmyla", "lyudmyla", "oksana",
    "mariia", "viktoriia", "aleksandr", "aleksey", "alexei", "sergey", "sergei", "nikolay",
    "nikolai", "dmitriy", "dmitry", "dmitrii", "vladimir", "andrey", "andrei", "yevgeny",
    "yevgeniy", "evgeny", "evgeniy", "mikhail", "igor", "oleg", "olga", "galina", "grigoriy",
    "georgiy", "gennadiy", "yelena", "yekaterina", "ekaterina", "tatyana", "vasily", "yuri",
    "pyotr", "pavel", "konstantin", "vitaly", "anatoly", "valery", "maksim", "fyodor",
    "yelyzaveta", "yehor", "yegor", "yevheniy", "yevhenii"))
_SLAVIC_FAMILY = re.compile(r"[a-z]{2,}(?:enko|chuk|[iy]uk|[oe]vych|[iy]shyn|skyi|skyy|tskyi)")
# given names whose Ukrainian and Russian forms differ in their consonants
_SLAVIC_SAME = {"mykola": "nikolai", "mikola": "nikolai", "kostiantyn": "konstantin",
                "kostyantyn": "konstantin", "kostyantin": "konstantin"}
_CYRILLIC = re.compile("[\u0400-\u04ff]")
# a lone h (not the second letter of kh, zh, sh, ch, th, dh, gh, ph)
_SLAVIC_H = re.compile(r"(?<![kzsctdgp])h")


def _letter(ch: str) -> str:
    latin = anyascii(ch).lower()
    for digraph, single in _DIGRAPHS:
        latin = latin.replace(digraph, single)
    return latin


def _arabic(m: re.Match[str]) -> str:
    """A word of Arabic script in upper-case ASCII, each letter already merged as skeleton()
    merges digraphs: Arabic script writes no short vowel, so two letters side by side must
    not be read as one digraph (ساحل is Sahel, not "Sl"; سهيل is Suhail). Upper case tells
    skeleton() and name_tokens() that the word is done; particles come out in Latin form."""
    word = "".join(_letter(ch) for ch in m.group(0)).upper()
    return " " + _ARABIC_PARTICLES.get(word, word) + " "


def _ascii_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _ARABIC_MARKS.sub("", text)
    text = _ARABIC_ARTICLE.sub(" ", _ARABIC_PLURAL_AT.sub("\u0627", text))
    # ta marbuta is silent at a pause (Fatima, فاطمة) and read "t" before a definite noun
    # (Katibat al-Fajr, كتيبة الفجر); anyascii would write it "h", which fuses with a "k"
    # before it into "kh". It is dropped here, and the Latin "-at" before an article below.
    text = text.replace("\u0629", "")
    pieces, at = [], 0
    for m in _ARABIC_RUN.finditer(text):
        pieces += [anyascii(text[at:m.start()]).lower(), _arabic(m)]
        at = m.end()
    latin = "".join(pieces) + anyascii(text[at:]).lower()
    latin = re.sub(r"['`]", "", latin)  # ayn, hamza and soft signs are not letters of the key
    words = _WORD.findall(latin)
    if _CYRILLIC.search(text) or any(w in _SLAVIC_GIVEN or _SLAVIC_FAMILY.fullmatch(w)
                                     for w in words):
        words = [_SLAVIC_SAME.get(w) or _SLAVIC_H.sub("g", re.sub(r"^[iy]e", "e", w))
                 for w in words]
    return words


def skeleton(word: str) -> str:
    """The consonant skeleton of one ASCII word (see the module's docstring)."""
    if len(word) > 3 and word.startswith("ou") and word[2] in "aeiy":
        word = "w" + word[2:]  # French ou before a vowel: Ouattara, Oualid (وليد)
    if len(word) > 3 and word[-2:] in ("ej", "ij"):
        word = word[:-1]  # й in German and Czech spellings: Sergej, Dmitrij
    for digraph, single in _DIGRAPHS:
        word = word.replace(digraph, single)  # Arabic script is upper case: see _arabic()
    word = word.lower()
    # A first w or y is a consonant (Walid, وليد, Валид; Yusuf, يوسف, Юсуф), and a first w is
    # spelt v in Cyrillic and some Latin alphabets; elsewhere they are vowels.
    head = {"w": "v"}.get(word[:1], word[:1]) if word[:1] in "wy" else ""
    kept = head + _VOWELS.sub("", word[len(head):])
    kept = _RUNS.sub(r"\1", kept)
    if len(kept) > 1 and kept.endswith("h"):
        kept = kept[:-1]
    # a word of vowels only ("Aya", "Iyo") keeps its first letter rather than vanish
    return kept or word[:1]


def _unfuse(word: str) -> tuple[str, str]:
    """A fused "Abd"/"Abu" (with its article) or article, apart: ("bd", "aziz") for
    "abdelaziz", ("", "hassan") for "alhassan"; ("", word) for any other word."""
    m = _FUSED_PARTICLE.fullmatch(word)
    if m:
        rest = m.group(2)
        article = _FUSED_ARTICLE.match(rest)
        # the article goes only if a consonant other than a half-vowel is left after it
        # (Abdoulaye is Abd Allah: its "l" is the name's)
        if article and re.search(r"[^aeiouywh]", rest[article.end():]):
            rest = rest[article.end():]
        return ("bd" if m.group(1) == "abd" else "b"), rest
    m = _FUSED_AL.fullmatch(word)
    return ("", m.group(1)) if m else ("", word)


def name_tokens(text: str) -> tuple[str, ...]:
    """The skeletons of a name's words, particles handled, sorted."""
    words = _ascii_words(text)
    parts: list[tuple[str, str, bool]] = []  # joined particles' skeletons, word, a skeleton?
    join = ""
    for i, word in enumerate(words):
        low = word.lower()
        if word.islower() and not _VOWEL.search(word):
            # no vowel in a Latin word: a skeleton already (a key read again, "Md")
            parts.append((join, word, True))
            join = ""
            continue
        if (word.endswith("at") and len(word) > 3 and i + 1 < len(words)
                and words[i + 1] in _ARTICLES):
            word = word[:-1]  # the construct state: "Harakat al-" is حركة ال (see above)
        if len(words) > 1 and (low in _JOINED or _ABD.fullmatch(low)):
            join += _JOINED.get(low, "bd")
            continue
        if low in _ARTICLES and (join or len(words) > 1):
            continue
        if low in _SUFFIXES and parts and not parts[-1][2] and not join and i > 0:
            # skeleton of the whole: Salah Eddine is Salaheddine
            parts[-1] = (parts[-1][0], parts[-1][1] + word, False)
            continue
        prefix, word = _unfuse(word)
        parts.append((join + prefix, word, False))
        join = ""
    # a vowel-only word keeps its letter alone (skeleton), not after a particle ("Abu A")
    out = [_RUNS.sub(r"\1", head + ("" if head and _VOWEL.fullmatch(sk) else sk))
           for head, word, done in parts for sk in (word if done else skeleton(word),)]
    if join:
        out.append(_RUNS.sub(r"\1", join))
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
