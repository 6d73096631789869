"""The coding vocabularies every node and the observatory share: one closed list of codes per
question, in a fixed order, each code with its English label.

A code is what crosses a node boundary (a statistics release counts incidents over these
lists, value by value and in this order, and later exchanges carry them too); a label is how
a person reads it. Both live here and nowhere else: the node's coding form, its case pages
and the observatory's public statistics import them. Labels are English msgids marked with
`N_` (gettext_noop), so that both message catalogues extract them from this file (the
node's ``babel.cfg`` and ``observatory/babel.cfg`` each list it); each side translates them
with its own catalogue when it renders. A label that is the code itself (an age range) is
not marked: there is nothing to translate.

The tuples are the closed lists, built from the `Literal` types that pydantic models use,
so the two cannot disagree. Appending a value changes what nodes count: a new protocol
version of the statistics plan, released to nodes and the observatory together.

The geography shared by the whole federation (first-level ISO 3166-2 subdivision codes
instead of each node's own region codes) is beside these lists, in `protocol.regions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, get_args


def N_(message: str) -> str:
    """Mark `message` for extraction into the catalogues, untranslated (gettext_noop)."""
    return message


UNKNOWN: Final = "unknown"
NOT_KNOWN = N_("Not known")

# Violations under the Rome Statute of the International Criminal Court: rape, sexual
# slavery, enforced prostitution, forced pregnancy, enforced sterilization, and any other
# form of sexual violence of comparable gravity. The Statute lists the same six acts as
# crimes against humanity and as war crimes; which article applies depends on the context
# (`PROVISIONS`). A category is always known: coding an act starts with what it was.
Category = Literal["rape", "sexual_slavery", "enforced_prostitution", "forced_pregnancy",
                   "enforced_sterilization", "other_sexual_violence"]
CATEGORIES: Final[tuple[Category, ...]] = get_args(Category)
CATEGORY_LABELS: Final[Mapping[str, str]] = MappingProxyType({
    "rape": N_("Rape"),
    "sexual_slavery": N_("Sexual slavery"),
    "enforced_prostitution": N_("Enforced prostitution"),
    "forced_pregnancy": N_("Forced pregnancy"),
    "enforced_sterilization": N_("Enforced sterilization"),
    "other_sexual_violence": N_("Other sexual violence of comparable gravity"),
})

# The context that makes an act a crime under the Statute: a widespread or systematic attack
# on civilians (crime against humanity, Art. 7(1)(g)), or an armed conflict (war crime,
# Art. 8(2)(b)(xxii) if international, Art. 8(2)(e)(vi) if not).
Context = Literal["international_armed_conflict", "non_international_armed_conflict",
                  "widespread_or_systematic_attack", "unknown"]
CONTEXTS: Final[tuple[Context, ...]] = get_args(Context)
CONTEXT_LABELS: Final[Mapping[str, str]] = MappingProxyType({
    "international_armed_conflict": N_("International armed conflict"),
    "non_international_armed_conflict": N_("Non-international armed conflict"),
    "widespread_or_systematic_attack": N_("Widespread or systematic attack on civilians"),
    "unknown": NOT_KNOWN,
})
PROVISIONS: Final[Mapping[str, str]] = MappingProxyType({
    "widespread_or_systematic_attack": "Art. 7(1)(g)",
    "international_armed_conflict": "Art. 8(2)(b)(xxii)",
    "non_international_armed_conflict": "Art. 8(2)(e)(vi)",
})


def provision(context: str) -> str:
    """The Rome Statute article an act of any category may fall under in this context
    ("" while the context is not known)."""
    return PROVISIONS.get(context, "")


Sex = Literal["female", "male", "other", "unknown"]
SEXES: Final[tuple[Sex, ...]] = get_args(Sex)
SEX_LABELS: Final[Mapping[str, str]] = MappingProxyType({
    "female": N_("Female"),
    "male": N_("Male"),
    "other": N_("Other"),
    "unknown": NOT_KNOWN,
})

AgeGroup = Literal["0-11", "12-17", "18-24", "25-59", "60+", "unknown"]
AGE_GROUPS: Final[tuple[AgeGroup, ...]] = get_args(AgeGroup)
AGE_GROUP_LABELS: Final[Mapping[str, str]] = MappingProxyType({
    "0-11": "0-11",
    "12-17": "12-17",
    "18-24": "18-24",
    "25-59": "25-59",
    "60+": N_("60 and over"),
    "unknown": NOT_KNOWN,
})

# Who the perpetrators were, as a reporter may answer and an analyst codes it.
Affiliation = Literal["state_forces", "non_state_armed_group", "militia", "peacekeepers",
                      "civilian", "unknown"]
AFFILIATIONS: Final[tuple[Affiliation, ...]] = get_args(Affiliation)
AFFILIATION_LABELS: Final[Mapping[str, str]] = MappingProxyType({
    "state_forces": N_("State forces (army, police)"),
    "non_state_armed_group": N_("Non-state armed groups"),
    "militia": N_("Militias"),
    "peacekeepers": N_("Peacekeepers"),
    "civilian": N_("Civilians"),
    "unknown": NOT_KNOWN,
})
