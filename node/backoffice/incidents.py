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
from node.backoffice.incident_dates import (
    DAY,
    YEAR,
    NotAPeriod,
    Period,
    Precision,
    parse_period,
)
from node.i18n import N_
from protocol.vocabulary import Affiliation, AgeGroup, Category, Context, Sex, provision


class IncidentCoding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    category: Category
    date_from: date | None = None      # the first day of the period, of this precision:
    date_from_precision: Precision = DAY  # a day, or only a month or a year is known
    date_to: date | None = None
    date_to_precision: Precision = DAY
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
        for day, precision in ((self.date_from, self.date_from_precision),
                               (self.date_to, self.date_to_precision)):
            if day and ((precision != DAY and day.day != 1)
                        or (precision == YEAR and day.month != 1)):
                raise ValueError("a month or a year starts on its first day")
        start, end = self.period_from, self.period_to
        if start and end and end.end < start.start:
            raise ValueError("date_to is before date_from")
        return self

    @property
    def period_from(self) -> Period | None:
        return Period(self.date_from, self.date_from_precision) if self.date_from else None

    @property
    def period_to(self) -> Period | None:
        return Period(self.date_to, self.date_to_precision) if self.date_to else None

    @property
    def month_from(self) -> date | None:
        """`date_from` where its month is known (statistics count by month)."""
        return self.date_from if self.date_from_precision != YEAR else None

    @property
    def month_to(self) -> date | None:
        return self.date_to if self.date_to_precision != YEAR else None

    def provision(self) -> str:
        """The Rome Statute article this act may fall under, given its context."""
        return provision(self.context)


# ------------------------------------------------------------------ what the coder chose

# The questions a coder must answer before a coding is saved. Nothing is pre-selected: an
# untouched form answers none of them. Where the answer is not known, "not known" is a
# choice like any other (`NOT_KNOWN_CHOICE` for the region, whose list is the node's own).
CHOSEN = ("category", "region", "perpetrator_affiliation", "survivor_sex",
          "survivor_age_group", "context")
# A date is a day (`<input type="date">`) or, in a second input, only a month or a year
# ("March 2024", "2024"); which one was filled is the date's precision.
APPROX_OF = {"date_from": "date_from_approx", "date_to": "date_to_approx"}
PRECISION_OF = {"date_from": "date_from_precision", "date_to": "date_to_precision"}
FREE = ("date_from", "date_from_approx", "date_to", "date_to_approx", "unit_named",
        "perpetrator_count")
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


class BadPeriod(errors.InvalidInput):
    message = N_("Nothing was saved: write only the month and year (March 2024, 2024-03) "
                 "or only the year (2024), or leave it empty.")


class TwoDates(errors.InvalidInput):
    message = N_("Nothing was saved: give either the day or only the month or year, "
                 "not both.")


class DatesReversed(errors.InvalidInput):
    message = N_("Nothing was saved: the end of the period is before its start.")


def coding_from_choices(form: Mapping[str, str], lang: str = "en") -> IncidentCoding:
    """The coding a coder chose on the form, or an error naming every question left
    unanswered (`ChoicesMissing`) or answered with something not allowed (`CodingInvalid`,
    `errors.BadDate`, `BadPeriod`, `TwoDates`, `DatesReversed`). Month names are read in
    `lang` or English. Pure: the caller checks the region against the node's list."""
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
    }
    periods: dict[str, tuple[Period, str]] = {}
    for name, approx in APPROX_OF.items():
        found = _period(text[name], text[approx], name, approx, lang)
        if found:
            periods[name] = found
            data[name], data[PRECISION_OF[name]] = found[0].start, found[0].precision
    if len(periods) == 2 and periods["date_to"][0].end < periods["date_from"][0].start:
        raise DatesReversed(field=periods["date_to"][1])
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
        "perpetrator_count": str(coding.perpetrator_count or ""),
        **{name: "" for name in (*APPROX_OF, *APPROX_OF.values())},
        **{(name if period.precision == DAY else APPROX_OF[name]): period.iso()
           for name, period in (("date_from", coding.period_from),
                                ("date_to", coding.period_to)) if period},
    }


def _period(day: str, approx: str, name: str, approx_name: str, lang: str
            ) -> tuple[Period, str] | None:
    """The date a coder gave in the day input or in the month-or-year input, with the name
    of the input it came from; a day from a browser without a date input is typed text."""
    if day and approx:
        raise TwoDates(field=approx_name)
    if day:
        try:
            period = parse_period(day, lang)
        except NotAPeriod:
            raise errors.BadDate(field=name) from None
        return period, name
    if approx:
        try:
            return parse_period(approx, lang), approx_name
        except NotAPeriod:
            raise BadPeriod(field=approx_name) from None
    return None
