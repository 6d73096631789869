"""Perpetrator affiliation of a report (issue 17): candidates found by rules, decided by a
learned arbiter.

Why two stages:
- The rules (`candidates`) find who is named: the lexicon's perpetrator patterns
  (`lexicon.CONCEPTS`, one concept per affiliation code) and the armed-group lists (the
  node's own `[analysis] armed_groups`, which wins where it names a group, and the shipped
  `gazetteer.DEFAULT_GROUPS`), and how each named group stands to the acts: the agent of an
  act ("by soldiers", "soldiers raped"), the first named in a sentence describing an act,
  credited with that sentence's acts, mentioned elsewhere, implied by context only
  (detention, a "commander"). These are the same rules that decided alone until round 3.
- A multinomial logistic regression (`AffiliationModel`) reads those facts as features, one
  block per affiliation code, plus a few facts about the text as a whole, and answers the main
  affiliation with a probability. It learns what the hand-written order of preference could
  not weigh: that an unnamed "they" in a detention cell is more often state forces than
  unknown, that a "commander" in the bush is an armed group, that a neighbour named next to an
  act is mostly a witness. Trained on the shipped data (`shipped_model`) and on a node's
  confirmed codings (`adapted`), chosen by cross-validation by source group
  (`python -m node.analysis.crossval`). Its features hold no text: nothing to erase but the
  model, which is retrained like the rest.
- Without a trained arbiter (an adapted model with fewer than two affiliations confirmed),
  the rules' own answer stands.

All the affiliations (`perpetrator_affiliations`) stay the rules' list of named groups, main
first: the arbiter only chooses which one is the main, or `unknown`.
"""

from __future__ import annotations

import bisect
import io
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from node.analysis import lexicon
from node.analysis.gazetteer import DEFAULT_GROUPS, NameList
from node.analysis.textnorm import Normalised, fold, normalise
from protocol.vocabulary import AFFILIATIONS

FORMAT = "backup-affiliation-model/1"
AGENT_WINDOW = 30    # characters between "by" / "par" and the group it names
NAMED_GROUP_WINDOW = 15  # "soldiers of the", "armed men of the" before a named group
# What joins a generic word to the group it belongs to: "of the", "das", "de la", "من", "из".
_OF = re.compile(r"\w*\W+(of|serving with|serving in|serving under"
                 r"|de|des|du|da|das|do|dos|del|de la|de l'|from|wa|ya|za"
                 r"|من|في|из|з|із|с|від|от)"
                 r"(\W+(the|la|le|les|el|los|las|a|o|os|as))?"
                 r"(\W+(group|groups|grupo|grupos|groupe|groupes|movement|mouvement|movimiento|movimento))?\W*")
# "men wearing the uniforms of the RSF", "يرتدون زي قوات الدعم السريع", "waliovaa sare za
# jeshi": the group whose uniform is named, not the generic word (round 5)
_WEARING = re.compile(  # written folded (lower case, no accents)
    r"\w*\W+(wearing|in|dressed in|portant|en|vetus de|vestidos con|con|com|de|يرتدون|يرتدي|"
    r"لابسين|waliovaa|в|у)(\W+(the|l'|la|le|les|el|a|o))?\W*(uniforms?|uniformes?|tenues?|"
    r"fardas?|زي|لباس|ملابس|sare|форм\w*)\W*(of|de|des|du|del|da|do|dos|das|za|ya)?"
    r"(\W+(the|la|le|les|el|los|las|a|o|os|as))?\W*")
WEARING_WINDOW = 40
# A generic fighter's word that a militia's name qualifies ("Fano fighters", "ополченцы
# группировки"): the militia, not an armed group (round 7)
_GENERIC_FIGHTER = re.compile(  # written folded
    r"(fighters?|combatants?|combattants?|combatientes?|combatentes?|rebels?|militants?|"
    r"бойовик\w*|боевик\w*|группировк\w*|угрупован\w*|\w*مقاتل\w*|wapiganaji)")
# "armed men belonging to one of the PMF factions", "مسلحين ينتمون إلى أحد فصائل", "бойовики
# ПВК «Вагнер»": a generic word, then the group it is said to belong to (round 7)
_BELONGING = re.compile(  # written folded (lower case, no accents)
    r"\w*\W+(belonging to|affiliated (with|to)|linked to|members of|appartenant (a|au|aux)|"
    r"affilie\w* (a|au|aux)|pertenecientes? (a|al)|vinculad\w* (a|al|con)|"
    r"pertencentes? (a|ao|aos|as)|ligad\w* (a|ao|aos|as)|"
    # "guards of camps controlled by", "охоронці таборів, підпорядкованих" (one word between)
    r"(\w+\W+)?(controlled by|run by|under the (control|command) of|"
    r"sous (le controle|les ordres) d\w*|"
    r"controle\w* par|bajo (el control|las ordenes) de|controlad\w* por|"
    r"sob (o controlo|o controle|as ordens) d\w*|подконтрольн\w*|підконтрольн\w*|"
    r"підпорядкован\w*|подчин[её]нн\w*)|"
    r"ينتمون (الي|ل)|ينتمي (الي|ل)|المنتمين (الي|ل)|التابعين ل|تابعين ل|"
    r"пвк|чвк|pmc|private military company|societe militaire privee|принадлежащ\w* к|"
    r"(що|які|яка|який) належа\w* до)"
    r"(\W+(one of|un des|une des|uno de|una de|um dos|uma das|احد|одн\w*))?"
    r"(\W+(the|la|le|les|el|los|las|a|o|os|as|l'))?"
    r"(\W+(factions?|units?|brigades?|fractions?|facciones|faccoes|فصايل|فصيل|угруповань|"
    r"группировок|підрозділ\w*|подразделени\w*))?\W*")
# Russian and Ukrainian join a generic word to its group by the genitive, with no preposition:
# "бойовики проросійського ополчення", "боевики вооружённой группировки" (round 6)
# (round 7: after "так называемой", "так званої": "военнослужащие так называемой «Народной
# милиции ЛНР»")
_GENITIVE = re.compile(r"\w*\W+(так\W+)?([\w'-]+(ого|его|ої|ей|ых|их|ой|ій)\W+){0,2}")  # folded
# "the victims recognised the attackers as M23 combatants", "les assaillants identifiés comme",
# "walijitambulisha kuwa wapiganaji wa ADF": the acts credited to unidentified "armed men" go to
# the group a later phrase identifies them as (round 5: perpetrators named in another sentence)
IDENTIFIED = re.compile(  # written folded (lower case, no accents)
    r"(?<!\w)((identified|recogni[sz]ed|described) (\w+\W+){0,3}?as|introduced themselves as|"
    r"presented themselves as|said they were|said they belonged to|claimed to be|"
    r"dijeron (pertenecer|ser)|decian (pertenecer|ser)|disseram (pertencer|ser)|"
    r"se disant|disant appartenir|affirmant appartenir|identifie\w* comme|reconnu\w* comme|"
    r"se (sont )?presente\w* comme|se reclamant d|identificad\w* como|"
    r"reconoci\w* (\w+\W+){0,3}?como|se identificaron como|se presentaron como|"
    r"reconhece\w* (\w+\W+){0,3}?como|"
    r"se apresentaram como|представил\w*|опознал\w* (\w+\W+){0,3}?как|назвал\w*ся|"
    r"впізнал\w* (\w+\W+){0,3}?як|walijitambulisha|waliwatambua)|عرفوا انفسهم|قدموا انفسهم")
IDENTIFIED_WINDOW = 60
# "Most of the rapes were committed by...", "la plupart", "معظم", "більшість": the group named
# after such a cue in its sentence is the one the text attributes most acts to, the data card's
# rule for the main affiliation (round 5: reports that name a victim's account first and the
# count second).
MAJORITY = re.compile(  # written folded (lower case, no accents)
    r"(?<!\w)(most\b|the majority|majority of|the bulk of|mostly|mainly|predominantly|"
    r"la plupart|la majorite|majoritairement|principalement|essentiellement|la mayoria|"
    r"mayoritariamente|principalmente|a maioria|maioritariamente|majoritariamente|"
    r"большинств|преимущественно|в основном|більшіст|переважн|здебільшого|wengi wao|"
    r"sehemu kubwa)|معظم|اغلب|غالبيه")
MAJORITY_WINDOW = 80  # characters between the cue and the group it singles out
# Context that implies an affiliation when the text names no group (first match wins).
IMPLIED: tuple[tuple[str, str], ...] = (("detention", "state_forces"),
                                        ("commander", "non_state_armed_group"))
C_AFFILIATION = 0.1  # inverse regularisation strength, chosen by cross-validation (0.03-3 flat)
MIN_CONFIDENCE_NAMED = 0.3
IMPLIED_CAP = 0.45  # the highest confidence of an affiliation the text does not name
MIN_EXAMPLES = 30  # fewer confirmed affiliations than this: the arbiter would guess
CRSV_ONLY = True  # train on reports only (chosen by cross-validation)

# Per affiliation code: how the rules see it in the text.
PER_CODE = ("mentioned", "first", "agent", "credited", "in_act_sentence", "rule_main",
            "implied", "listed", "negated")
# About the text as a whole.
GLOBAL = ("bias_named", "no_group", "groups_named", "detention", "commander", "captivity",
          "first_person", "acts")
FEATURES = (*(f"{code}:{f}" for code in AFFILIATIONS for f in PER_CODE), *GLOBAL)


@dataclass(frozen=True)
class Candidates:
    """Who the text names, and how each named group stands to the acts it describes."""
    mentions: tuple[lexicon.Hit, ...]       # groups named (not denied), in text order
    implied: tuple[lexicon.Hit, ...]        # detention / commander, when nothing is named
    rule_main: str
    order: tuple[str, ...]                  # the rules' affiliations, main first
    credited: Counter[str] = field(default_factory=Counter)
    agents: frozenset[str] = frozenset()
    in_act: frozenset[str] = frozenset()
    listed: frozenset[str] = frozenset()    # named by an armed-group list
    negated: Counter[str] = field(default_factory=Counter)


def _list_mentions(text: str, norm: Normalised, hits: Sequence[lexicon.Hit],
                   groups: NameList | None) -> list[lexicon.Hit]:
    """Groups named by the armed-group lists, as hits of their affiliation's concept: the
    node's list wins over the lexicon where both name a group; the shipped list only adds
    groups the lexicon does not name."""
    # the lexicon's sentences, as spans of the original text
    starts = [norm.span(s, e)[0] for s, e in lexicon.sentences(norm.text)]

    def sentence_of(pos: int) -> int:
        return max(0, bisect.bisect_right(starts, pos) - 1)

    out: list[lexicon.Hit] = []
    for lst, wins in ((groups, True), (DEFAULT_GROUPS, False)):
        if lst is None:
            continue
        for m in lst.find(text):
            overlapping = [h for h in hits if h.concept in AFFILIATIONS
                           and h.start < m.end and m.start < h.end]
            if overlapping and not wins:
                continue
            if any(o.start < m.end and m.start < o.end for o in out):
                continue
            out.append(lexicon.Hit(m.code, m.start, m.end, m.phrase, sentence_of(m.start),
                                   False, False))
    return out


def candidates(hits: Sequence[lexicon.Hit], text: str,
               groups: NameList | None = None, norm: Normalised | None = None) -> Candidates:
    """The rules' reading of who did what (the data card's rule: in each sentence that
    describes an act, the group named as its agent, else the first named, is credited with
    the sentence's acts; the main affiliation is the one credited with most acts, the first
    named on a tie or when no sentence ties a group to an act; a neighbour is the main
    perpetrator only when credited)."""
    norm = norm or normalise(text)
    # French "dont" ("92 cas, dont 33 imputés au M23") is English "dont" (don't) to the
    # negation patterns: a perpetrator only it precedes is named, not denied
    hits = [_unless_only_dont(h, text) for h in hits]
    listed = _list_mentions(text, norm, hits, groups)
    node_listed = [m for m in listed if groups is not None
                   and any(m.start == g.start for g in groups.find(text))]
    lexical = [h for h in hits if h.concept in AFFILIATIONS and not h.negated
               and not any(h.start < m.end and m.start < h.end for m in node_listed)]
    mentions = sorted(lexical + listed, key=lambda h: (h.start, h.end))
    negated: Counter[str] = Counter()
    negated.update(str(h.concept) for h in hits if h.concept in AFFILIATIONS and h.negated)
    # a mention inside a longer one ("armed actors" in "unknown armed actors") is not its own
    mentions = [m for m in mentions
                if not any(o is not m and o.start <= m.start and m.end <= o.end
                           and o.end - o.start > m.end - m.start for o in mentions)]
    implied: list[lexicon.Hit] = []
    if not mentions:
        for concept, _code in IMPLIED:
            found = [h for h in hits if h.concept == concept and not h.negated]
            if found:
                implied = found[:1]
                break
    agents = [h for h in hits if h.concept == "attributed"]
    acts = [h for h in hits if h.concept in lexicon.ACT_CONCEPTS and not h.negated]
    credited: Counter[str] = Counter()
    as_agents: set[str] = set()
    in_act: set[str] = set()
    for sentence in sorted({a.sentence for a in acts}):
        named = [m for m in mentions if m.sentence == sentence]
        if not named:
            continue
        in_act.update(m.concept for m in named)
        as_agent = [m for m in named
                    if any(0 <= m.start - g.end <= AGENT_WINDOW or g.start <= m.start < g.end
                           for g in agents)]
        # the agent named ("by soldiers") or the subject of an act ("soldiers raped")
        subjects = [m for m in named
                    if m in as_agent or any(0 <= a.start - m.end <= lexicon.AGENT_WINDOW
                                            for a in acts if a.sentence == sentence
                                            and a.concept in lexicon.AGENT_ACTS)]
        as_agents.update(m.concept for m in subjects)
        # neighbours and relatives named beside an act are mostly witnesses or victims ("in
        # front of relatives", "the neighbours came running"): credited only as its agent
        named = [m for m in named if m.concept != "civilian" or m in subjects]
        if not named:
            continue
        chosen = (as_agent or named)[0]
        # "soldiers of the RSF", "armed men of the insurgent group": the named group, not
        # the generic word
        following = [m for m in named if m.concept not in ("state_forces", "unknown")
                     and _joined(chosen, m, text)]
        if chosen.concept in ("state_forces", "unknown") and following:
            chosen = following[0]
        # "wanamgambo wa ADF", "militiamen of the FDLR": the named armed group
        elif chosen.concept == "militia":
            chosen = next((m for m in following if m.concept == "non_state_armed_group"
                           and not _GENERIC_FIGHTER.fullmatch(fold(m.phrase))), chosen)
        # "fighters of the Wazalendo militia", "бойовики проросійського ополчення": a generic
        # fighter's word, the militia it belongs to (round 6)
        elif chosen.concept == "non_state_armed_group":
            chosen = next((m for m in following if m.concept == "militia"),
                          # "бойовики ПВК «Вагнер»", "fighters of the Africa Corps": a generic
                          # fighter's word, the state force it belongs to (round 7)
                          # (a preposition or "PMC", not mere adjacency: "Lord's Resistance Army")
                          next((m for m in named if m.concept == "state_forces"
                                and _joined(chosen, m, text, adjacent=False)), chosen))
        credited[chosen.concept] += sum(1 for a in acts if a.sentence == sentence)
    if credited["unknown"]:
        for cue in IDENTIFIED.finditer(norm.text):
            start, _ = norm.span(cue.start(), cue.end())
            named_as = [m for m in mentions if m.concept not in ("unknown", "civilian")
                        and 0 <= m.start - start <= IDENTIFIED_WINDOW]
            if named_as:
                credited[named_as[0].concept] += credited.pop("unknown")
                break
    # the group a "most of the rapes", "la plupart", "معظم" singles out outweighs every
    # sentence that credits another
    for cue in MAJORITY.finditer(norm.text):
        start, _ = norm.span(cue.start(), cue.end())
        singled = [m for m in mentions if m.concept not in ("unknown", "civilian")
                   and 0 <= m.start - start <= MAJORITY_WINDOW
                   and m.sentence == _sentence_at(norm, cue.start())]
        if singled:
            credited[singled[0].concept] += len(acts) + 1
            break
    order = list(dict.fromkeys(m.concept for m in mentions))
    if not order:
        main = dict(IMPLIED)[implied[0].concept] if implied else "unknown"
        return Candidates((), tuple(implied), main, (main,), credited, frozenset(),
                          frozenset(), frozenset(), negated)
    uncredited = [c for c in order if c != "civilian"] or order
    if credited:
        best = max(credited.values())
        main = next(c for c in order if credited[c] == best)
    else:
        main = uncredited[0]
        # no sentence ties a group to an act: "armed men belonging to al-Shabaab abducted
        # girls and kept them as wives", the group the first generic word belongs to (round 7)
        first = next((m for m in mentions if m.concept == main), None)
        if first is not None and main in ("state_forces", "unknown"):
            main = next((m.concept for m in mentions if m.concept not in
                         ("state_forces", "unknown", "civilian") and _joined(first, m, text)),
                        main)
    return Candidates(tuple(mentions), (), main, (main, *[c for c in order if c != main]),
                      credited, frozenset(as_agents), frozenset(in_act),
                      frozenset(m.concept for m in listed), negated)


def _joined(generic: lexicon.Hit, m: lexicon.Hit, text: str, adjacent: bool = True) -> bool:
    """Whether `m` names the group the generic word `generic` belongs to ("soldiers of the
    RSF", "бойовики проросійського ополчення", "armed men belonging to the PMF");
    `adjacent=False` asks for a connecting word, not a genitive or a uniform."""
    gap = m.start - generic.end
    between = fold(text[generic.end:m.start])
    joins = (_GENITIVE, _WEARING, _BELONGING) if adjacent else (_BELONGING,)
    return ((0 <= gap <= NAMED_GROUP_WINDOW and _OF.fullmatch(between) is not None)
            or (0 <= gap <= WEARING_WINDOW and any(p.fullmatch(between) for p in joins)))


_DONT = re.compile(r"(?<!\w)dont(?!\w)")
_FRENCH_DONT = re.compile(r"[,(]\s*dont(?!\w)")  # ", dont", "(dont": not "i dont know"


def _unless_only_dont(h: lexicon.Hit, text: str) -> lexicon.Hit:
    if not h.negated or h.concept not in AFFILIATIONS:
        return h
    window = fold(text[max(0, h.start - lexicon.NEGATION_WINDOW - 10):h.start])
    cues = [m.group(0).strip() for m in lexicon.patterns()["negation"].finditer(window)]
    if cues and all(_DONT.fullmatch(c) for c in cues) \
            and len(_FRENCH_DONT.findall(window)) == len(cues):
        return replace(h, negated=False)
    return h


def _sentence_at(norm: Normalised, pos: int) -> int:
    """The lexicon's sentence index of a position of the normalised text."""
    starts = [s for s, _ in lexicon.sentences(norm.text)]
    return max(0, bisect.bisect_right(starts, pos) - 1)


def feature_vector(c: Candidates, hits: Sequence[lexicon.Hit], norm_text: str) -> np.ndarray:
    counts = Counter(m.concept for m in c.mentions)
    first = c.mentions[0].concept if c.mentions else None
    implied = {dict(IMPLIED)[h.concept] for h in c.implied}
    found = Counter(h.concept for h in hits if not h.negated)
    values: list[float] = []
    for code in AFFILIATIONS:
        values += [math.log1p(counts[code]), float(first == code), float(code in c.agents),
                   math.log1p(c.credited[code]), float(code in c.in_act),
                   float(c.rule_main == code), float(code in implied),
                   float(code in c.listed), math.log1p(c.negated[code])]
    values += [1.0, float(not c.mentions), math.log1p(len(counts)),
               float(found["detention"] > 0), float(found["commander"] > 0),
               float(found["captivity"] > 0),
               float(bool(lexicon.FIRST_PERSON.search(norm_text))),
               math.log1p(sum(found[a] for a in lexicon.ACT_CONCEPTS))]
    return np.array(values, dtype=np.float64)


@dataclass
class AffiliationModel:
    """Weights of the main-affiliation decision: one row per affiliation code it was
    trained to answer."""
    labels: tuple[str, ...]
    weights: np.ndarray  # (len(labels), len(FEATURES))
    bias: np.ndarray     # (len(labels),)

    def probabilities(self, x: np.ndarray) -> dict[str, float]:
        scores = self.weights @ x + self.bias
        scores = np.exp(scores - scores.max())
        p = scores / scores.sum()
        return {label: float(v) for label, v in zip(self.labels, p, strict=True)}

    def to_bytes(self) -> bytes:
        header = {"format": FORMAT, "labels": list(self.labels), "features": list(FEATURES)}
        buf = io.BytesIO()
        np.savez_compressed(buf, header=np.frombuffer(json.dumps(header).encode(), np.uint8),
                            weights=self.weights.astype(np.float32), bias=self.bias)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> AffiliationModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode())
            if header.get("format") != FORMAT or header.get("features") != list(FEATURES):
                raise ValueError("not an affiliation model of this version")
            return cls(tuple(header["labels"]), z["weights"].astype(np.float64),
                       z["bias"].astype(np.float64))


def train(rows: Sequence[tuple[np.ndarray, str | None]], c: float = C_AFFILIATION
          ) -> AffiliationModel | None:
    """A model from (feature vector, gold main affiliation) pairs; None with fewer than
    `MIN_EXAMPLES` or fewer than two affiliations to tell apart. Deterministic."""
    if sum(1 for _, label in rows if label is not None) < MIN_EXAMPLES:
        return None
    labels = sorted({label for _, label in rows if label is not None},
                    key=AFFILIATIONS.index)
    if len(labels) < 2:
        return None
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    labelled = [(v, label) for v, label in rows if label is not None]
    x = np.vstack([v for v, _ in labelled])
    y = np.array([labels.index(label) for _, label in labelled])
    clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    clf.fit(x, y)
    if len(labels) == 2:  # scikit-learn answers two classes with one row
        weights = np.vstack([-clf.coef_[0] / 2, clf.coef_[0] / 2])
        bias = np.array([-clf.intercept_[0] / 2, clf.intercept_[0] / 2])
    else:
        weights, bias = clf.coef_, clf.intercept_
    return AffiliationModel(tuple(labels), np.asarray(weights, np.float64),
                            np.asarray(bias, np.float64))


class Labelled(Protocol):
    """A training example (`model.Example`) as this module reads it."""
    @property
    def text(self) -> str: ...
    @property
    def is_crsv(self) -> bool: ...
    @property
    def affiliation(self) -> str | None: ...


def train_examples(examples: Sequence[Labelled], hits: Sequence[Sequence[lexicon.Hit]],
                   norms: Sequence[Normalised]) -> AffiliationModel | None:
    """The arbiter trained on the examples whose main affiliation someone gave (only
    reports: the affiliation is suggested and scored for reports of sexual violence)."""
    rows = [(feature_vector(candidates(h, e.text, None, n), h, n.text), e.affiliation)
            for e, h, n in zip(examples, hits, norms, strict=True)
            if e.affiliation is not None and (e.is_crsv or not CRSV_ONLY)]
    return train(rows)


@dataclass(frozen=True)
class Decision:
    main: str
    affiliations: tuple[str, ...]     # main first
    evidence: tuple[lexicon.Hit, ...]  # the mentions (or the context that implies one)
    confidence: float


def decide(hits: Sequence[lexicon.Hit], text: str, model: AffiliationModel | None,
           groups: NameList | None = None, norm: Normalised | None = None) -> Decision:
    """The main affiliation and all of them, with the phrases that name them."""
    norm = norm or normalise(text)
    c = candidates(hits, text, groups, norm)
    named = Counter(m.concept for m in c.mentions)
    evidence = c.mentions or c.implied
    if model is None:
        main = c.rule_main
        confidence = (MIN_CONFIDENCE_NAMED if main == "unknown" or not named[main]
                      else min(0.95, 0.5 + 0.15 * named[main]))
    else:
        probs = model.probabilities(feature_vector(c, hits, norm.text))
        main = max(probs, key=lambda k: probs[k])
        # an affiliation the text does not name (implied by a cell, or nobody named) stays a
        # weak suggestion however sure the arbiter is of the pattern
        confidence = probs[main] if named[main] else min(probs[main], IMPLIED_CAP)
    return Decision(main, (main, *[a for a in c.order if a != main]), tuple(evidence),
                    round(float(confidence), 3))
