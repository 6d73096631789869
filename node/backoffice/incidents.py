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

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

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
