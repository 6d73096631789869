"""Incident coding: each act a report describes, coded for analysis and statistics.

Categories follow the Rome Statute of the International Criminal Court: rape, sexual
slavery, enforced prostitution, forced pregnancy, enforced sterilization, and any other form
of sexual violence of comparable gravity -- as crimes against humanity (Art. 7(1)(g)) or as
war crimes in international (Art. 8(2)(b)(xxii)) and non-international (Art. 8(2)(e)(vi))
armed conflict. The closed lists and their labels are the federation's shared vocabulary
(`protocol.vocabulary`). A coding says nothing that identifies a survivor; it is still
encrypted at rest, like everything derived from a report.

Keys: each incident has its own data key, sealed to the node's analysis key (analysts and
coordinators) and wrapped with the data key of every linked report (whoever may open one of
those reports may read and edit its incidents). Several incidents per report, and several
reports per incident (a survivor and a witness describing the same event), are links.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from node import errors
from node.i18n import N_
from protocol.vocabulary import Affiliation, AgeGroup, Category, Context, Sex, provision


class IncidentCoding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    category: Category
    date_from: date | None = None
    date_to: date | None = None
    region: Annotated[str, StringConstraints(max_length=32)] | None = None
    perpetrator_affiliation: Affiliation | None = None
    unit_named: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        None, description="unit or group named by the reporter")
    perpetrator_count: int | None = Field(None, ge=1, le=10_000)
    survivor_sex: Sex = "unknown"
    survivor_age_group: AgeGroup = "unknown"
    context: Context = "unknown"

    @model_validator(mode="after")
    def _range(self) -> IncidentCoding:
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise ValueError("date_to is before date_from")
        return self

    def provision(self) -> str:
        """The Rome Statute article this act may fall under, given its context."""
        return provision(self.context)


# ------------------------------------------------------------------ what the coder chose

# The questions a coder must answer before a coding is saved. Nothing is pre-selected: an
# untouched form answers none of them. Where the answer is not known, "not known" is a
# choice like any other (`NOT_KNOWN_CHOICE` for the region, whose list is the node's own).
CHOSEN = ("category", "region", "perpetrator_affiliation", "survivor_sex",
          "survivor_age_group", "context")
FREE = ("date_from", "date_to", "unit_named", "perpetrator_count")
FIELDS = CHOSEN + FREE
NOT_KNOWN_CHOICE = "unknown"


class ChoicesMissing(errors.InvalidInput):
    message = N_("Nothing was saved: choose an answer for each marked question. "
                 "“Not known” is an answer too.")

    def __init__(self, missing: tuple[str, ...]) -> None:
        super().__init__(field=missing[0])
        self.fields = missing


class CodingInvalid(errors.InvalidInput):
    message = N_("Nothing was saved: check the marked answer.")


def coding_from_choices(form: Mapping[str, str]) -> IncidentCoding:
    """The coding a coder chose on the form, or an error naming every question left
    unanswered (`ChoicesMissing`) or answered with something not allowed (`CodingInvalid`,
    `errors.BadDate`). Pure: the caller checks the region against the node's list."""
    text = {k: str(form.get(k) or "").strip() for k in FIELDS}
    missing = tuple(k for k in CHOSEN if not text[k])
    if missing:
        raise ChoicesMissing(missing)
    data: dict[str, object] = {
        "category": text["category"], "survivor_sex": text["survivor_sex"],
        "survivor_age_group": text["survivor_age_group"], "context": text["context"],
        "region": None if text["region"] == NOT_KNOWN_CHOICE else text["region"],
        "perpetrator_affiliation": text["perpetrator_affiliation"],
        "unit_named": text["unit_named"] or None,
        "date_from": _day(text["date_from"], "date_from"),
        "date_to": _day(text["date_to"], "date_to"),
    }
    count = text["perpetrator_count"]
    if count and not count.isdecimal():  # any script's digits ("٣"), never "²"
        raise CodingInvalid(field="perpetrator_count")
    data["perpetrator_count"] = int(count) if count else None
    try:
        return IncidentCoding.model_validate(data)
    except ValidationError as exc:
        loc = exc.errors()[0]["loc"]
        raise CodingInvalid(field=str(loc[0]) if loc else "date_to") from None


def choices_of(coding: IncidentCoding) -> dict[str, str]:
    """A saved coding as the form's answers (to edit it: every answer was chosen)."""
    return {
        "category": coding.category, "survivor_sex": coding.survivor_sex,
        "survivor_age_group": coding.survivor_age_group, "context": coding.context,
        "region": coding.region or NOT_KNOWN_CHOICE,
        "perpetrator_affiliation": coding.perpetrator_affiliation or "unknown",
        "unit_named": coding.unit_named or "",
        "date_from": coding.date_from.isoformat() if coding.date_from else "",
        "date_to": coding.date_to.isoformat() if coding.date_to else "",
        "perpetrator_count": str(coding.perpetrator_count or ""),
    }


def _day(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise errors.BadDate(field=field) from None
