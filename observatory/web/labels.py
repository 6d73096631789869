"""Human labels for the published dimensions, tables and values, marked for translation (the
page's `_` translates them when rendering). A value without a label (a node's own region
code) is shown as its code."""

from __future__ import annotations

from collections.abc import Mapping

from observatory.i18n import N_
from protocol import vocabulary

DIMENSIONS = {
    "category": N_("Type of violence"),
    "perpetrator_affiliation": N_("Perpetrators"),
    "survivor_sex": N_("Sex of the survivor"),
    "survivor_age_group": N_("Age of the survivor (years)"),
    "context": N_("Context"),
    "region": N_("Region"),
    "month": N_("Month"),
}

# The values' labels are the shared coding vocabulary's (translated with this catalogue:
# observatory/babel.cfg extracts protocol/vocabulary.py); only "unknown" region is ours.
VALUES: dict[str, Mapping[str, str]] = {
    "category": vocabulary.CATEGORY_LABELS,
    "perpetrator_affiliation": vocabulary.AFFILIATION_LABELS,
    "survivor_sex": vocabulary.SEX_LABELS,
    "survivor_age_group": vocabulary.AGE_GROUP_LABELS,
    "context": vocabulary.CONTEXT_LABELS,
    "region": {vocabulary.UNKNOWN: N_("Region not known")},
}

TABLES = {
    "category_month_region": N_("Type of violence by month and region"),
    "affiliation_month_region": N_("Perpetrators by month and region"),
    "sex_age_category": N_("Sex and age of survivors by type of violence"),
    "context_category": N_("Context by type of violence"),
    "category_month": N_("Type of violence by month"),
}
