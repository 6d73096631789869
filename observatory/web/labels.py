"""Human labels for the published dimensions and values, marked for translation (the page's
`_` translates them when rendering). A value the configuration adds without a label here is
shown as its code."""

from __future__ import annotations

from observatory.i18n import N_

LANGUAGE_NAMES = {
    "en": "English", "fr": "Français", "ar": "العربية", "sw": "Kiswahili", "uk": "Українська",
}
RTL_LANGUAGES = frozenset({"ar"})

DIMENSIONS = {
    "category": N_("Type of violence"),
    "perpetrator_affiliation": N_("Perpetrators"),
    "survivor_sex": N_("Sex of the survivor"),
    "survivor_age_group": N_("Age of the survivor (years)"),
    "context": N_("Context"),
    "region": N_("Region"),
    "month": N_("Month"),
}

# Rome Statute, art. 7(1)(g), 8(2)(b)(xxii) and 8(2)(e)(vi); the node's coding model.
VALUES: dict[str, dict[str, str]] = {
    "category": {
        "rape": N_("Rape"),
        "sexual_slavery": N_("Sexual slavery"),
        "enforced_prostitution": N_("Enforced prostitution"),
        "forced_pregnancy": N_("Forced pregnancy"),
        "enforced_sterilization": N_("Enforced sterilization"),
        "other_sexual_violence": N_("Other sexual violence of comparable gravity"),
    },
    "perpetrator_affiliation": {
        "state_forces": N_("State forces (army, police)"),
        "non_state_armed_group": N_("Non-state armed groups"),
        "militia": N_("Militias"),
        "peacekeepers": N_("Peacekeepers"),
        "civilian": N_("Civilians"),
        "unknown": N_("Not known"),
    },
    "survivor_sex": {
        "female": N_("Female"),
        "male": N_("Male"),
        "other": N_("Other"),
        "unknown": N_("Not known"),
    },
    "survivor_age_group": {
        "60+": N_("60 and over"),
        "unknown": N_("Not known"),
    },
    "context": {
        "international_armed_conflict": N_("International armed conflict"),
        "non_international_armed_conflict": N_("Non-international armed conflict"),
        "widespread_or_systematic_attack": N_("Widespread or systematic attack on civilians"),
        "unknown": N_("Not known"),
    },
    "region": {"unknown": N_("Region not known")},
}

TABLES = {
    "category_month_region": N_("Type of violence by month and region"),
    "affiliation_month_region": N_("Perpetrators by month and region"),
    "sex_age_category": N_("Sex and age of survivors by type of violence"),
    "context_category": N_("Context by type of violence"),
    "category_month": N_("Type of violence by month"),
}
