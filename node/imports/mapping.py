"""The mapping file: which form field fills which report field, and which gives which consent.

A TOML file (annotated example: `node/imports/mapping.example.toml`). A consent the mapping
does not name is not given (invariant 4: consent is data, never assumed). Without a mapping
file, a field fills the report field of the same name (its last path segment:
``group/narrative`` or ``group-narrative``) and ``consent_<name>`` gives that consent when
answered yes.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from node import errors
from node.i18n import N_
from node.imports.formats import Submission
from node.intake.models import CONSENT_NAMES, ReportInput

ReportField = Literal[
    "reporter_role", "narrative", "incident_year", "incident_month", "incident_day",
    "incident_when", "region", "place", "perpetrators", "perpetrator_affiliation",
    "people_harmed", "needs", "language", "contact_method", "contact_details",
    "contact_safe_times", "contact_precautions"]
REPORT_FIELDS: tuple[str, ...] = ReportField.__args__  # type: ignore[attr-defined]
_LISTS = {"needs"}
_NUMBERS = {"incident_year", "incident_month", "incident_day", "people_harmed"}
_CONTACT = {"contact_method": "method", "contact_details": "details",
            "contact_safe_times": "safe_times", "contact_precautions": "precautions"}


class MappingInvalid(errors.InvalidInput):
    message = N_("The mapping file is not valid (%(what)s). See the annotated example. "
                 "Nothing was imported.")


class AnswerUnusable(errors.InvalidInput):
    message = N_("Submission %(number)s: the answer mapped to %(target)s cannot be used "
                 "(%(what)s). Change the mapping or the answer. Nothing was imported.")


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: dict[ReportField, str | list[str]] = Field(default_factory=dict)
    """Report field -> form field (a list of form fields, for narrative-like text, joins
    their answers with a blank line)."""
    choices: dict[ReportField, dict[str, str]] = Field(default_factory=dict)
    """Per report field, the form's choice name -> BackUp's choice."""
    consent: dict[Literal["care", "referral", "legal", "statistics", "sharing", "contact"],
                  str] = Field(default_factory=dict)
    """Consent -> the form field whose `yes` answer gives it."""
    yes: list[str] = Field(default_factory=lambda: ["yes", "1", "true", "oui", "ndiyo"])
    attachments: list[str] = Field(default_factory=list)
    """ODK: the columns that name a media file (Kobo lists them in `_attachments`)."""


def load(data: bytes) -> Mapping:
    try:
        return Mapping.model_validate(tomllib.loads(data.decode("utf-8")))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise MappingInvalid(what="TOML") from None
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"] if str(p) != "[key]")
        raise MappingInvalid(what=where) from None


def default_for(submission: Submission) -> Mapping:
    """Fields named as the report's fields, and `consent_<name>` fields."""
    fields: dict[str, str] = {}
    consent: dict[str, str] = {}
    for name in submission.answers:
        last = re.split(r"[/-]", name)[-1]
        if last in REPORT_FIELDS:
            fields.setdefault(last, name)
        elif last.startswith("consent_") and last[8:] in CONSENT_NAMES:
            consent.setdefault(last[8:], name)
    return Mapping.model_validate({"fields": fields, "consent": consent})


def report_of(submission: Submission, mapping: Mapping) -> ReportInput:
    """The report a submission becomes; `AnswerUnusable` names the field that cannot."""
    values: dict[str, Any] = {}
    contact: dict[str, Any] = {}
    for target, source in mapping.fields.items():
        value = _answer(submission, target, source)
        if value in (None, ""):
            continue
        choices = mapping.choices.get(target, {})
        if target in _LISTS:
            items = value.split() if isinstance(value, str) else value
            if not isinstance(items, list):
                raise AnswerUnusable(number=submission.number, target=target, what="list")
            value = [choices.get(str(v), str(v)) for v in items]
        elif target in _NUMBERS:
            value = _number(submission, target, value)
        else:
            value = choices.get(value, value) if isinstance(value, str) else value
        if target in _CONTACT:
            contact[_CONTACT[target]] = value
        else:
            values[target] = value
    if contact:
        values["contact"] = contact
    values["consent"] = {name: _yes(submission.answers.get(source), mapping.yes)
                         for name, source in mapping.consent.items()}
    try:
        return ReportInput.model_validate(values)
    except ValidationError as exc:
        loc = exc.errors()[0]["loc"]
        raise AnswerUnusable(number=submission.number, target=str(loc[0]) if loc else "?",
                             what=exc.errors()[0]["type"]) from None


def _answer(submission: Submission, target: str, source: str | list[str]) -> Any:
    if isinstance(source, list):
        parts = [submission.answers.get(s) for s in source]
        if any(p is not None and not isinstance(p, str | int | float) for p in parts):
            raise AnswerUnusable(number=submission.number, target=target, what="text")
        return "\n\n".join(str(p).strip() for p in parts if p not in (None, ""))
    value = submission.answers.get(source)
    if isinstance(value, dict) or (isinstance(value, list) and target not in _LISTS):
        raise AnswerUnusable(number=submission.number, target=target, what="group")
    if isinstance(value, str):
        return value.strip()
    return value


def _number(submission: Submission, target: str, value: Any) -> int:
    if isinstance(value, bool):
        raise AnswerUnusable(number=submission.number, target=target, what="number")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if re.fullmatch(r"\d{1,9}(\.0+)?", text):
        return int(text.split(".")[0])
    raise AnswerUnusable(number=submission.number, target=target, what="number")


def _yes(value: Any, yes: list[str]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | str):
        return str(value).strip().lower() in {y.lower() for y in yes}
    return False
