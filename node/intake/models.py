"""What a reporter can tell, as pydantic models shared by the HTML form and the JSON API.

Every question is optional (Murad Code: never force a question). Choices are closed lists
so that codings and statistics stay comparable across nodes (the perpetrators' affiliation
is the federation's shared vocabulary, `protocol.vocabulary`); free text sits beside them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from node.i18n import N_
from protocol.vocabulary import Affiliation
from runtime.catalogues import check_code

ReporterRole = Literal["survivor", "relative", "witness"]
REPORTER_ROLES: tuple[ReporterRole, ...] = ("survivor", "relative", "witness")

Need = Literal["medical", "psychosocial", "legal", "shelter", "none"]
NEEDS: tuple[Need, ...] = ("medical", "psychosocial", "legal", "shelter", "none")

ContactMethod = Literal["phone_call", "sms", "email", "messaging_app", "in_person"]
CONTACT_METHODS: tuple[ContactMethod, ...] = (
    "phone_call", "sms", "email", "messaging_app", "in_person")

ConsentName = Literal["care", "referral", "legal", "statistics", "sharing", "contact",
                      "matching"]
CONSENT_NAMES: tuple[ConsentName, ...] = (
    "care", "referral", "legal", "statistics", "sharing", "contact", "matching")
CONSENT_LABELS: dict[str, str] = {  # as the reporter saw them when agreeing
    "care": N_("Use my report to help me"),
    "referral": N_("Refer me to services"),
    "legal": N_("Keep it as evidence for justice"),
    "statistics": N_("Count it in anonymous statistics"),
    "sharing": N_("Share it with trusted experts and partner organisations"),
    "contact": N_("Contact me"),
    "matching": N_("Look for the same attacker in other organisations' reports"),
}

CourtScopeName = Literal["court_narrative", "court_when", "court_place",
                         "court_perpetrators", "court_role", "court_files", "court_voice"]
COURT_SCOPE: tuple[CourtScopeName, ...] = (
    "court_narrative", "court_when", "court_place", "court_perpetrators", "court_role",
    "court_files", "court_voice")
# A voice identifies the speaker (issue 20): recordings go to a court only when asked for.
COURT_SCOPE_OFF_BY_DEFAULT: frozenset[str] = frozenset({"court_voice"})
COURT_SCOPE_LABELS: dict[str, str] = {  # as the reporter saw them, under "evidence for justice"
    "court_narrative": N_("What happened, in my words"),
    "court_when": N_("When it happened"),
    "court_place": N_("Where it happened"),
    "court_perpetrators": N_("The people who did it, as I described them"),
    "court_role": N_("Whether I am the survivor, a relative or a witness"),
    "court_files": N_("My photos, videos and documents"),
    "court_voice": N_("Sound recordings, such as my voice (a voice can identify me)"),
}

# What may be shared with a vetted expert when `sharing` is given (issue 16), in the
# reporter's words. Unlike the court scope it defaults to nothing: a new consent column
# must never mean consent by default, and sharing crosses organisations. `share_scope_set`
# says the reporter was asked (reports consented before the scope existed were not, and
# are asked again on their receipt page before anything is shared).
ShareScopeName = Literal["share_account", "share_files", "share_contact", "share_other_orgs"]
SHARE_SCOPE: tuple[ShareScopeName, ...] = (
    "share_account", "share_files", "share_contact", "share_other_orgs")
SHARE_SCOPE_LABELS: dict[str, str] = {  # as the reporter saw them, under "share"
    "share_account": N_("What happened, when and where, in my words"),
    "share_files": N_("My photos, recordings and other files"),
    "share_contact": N_("How to contact me (only if I also agree to be contacted)"),
    "share_other_orgs": N_("Experts who work for other organisations of the network"),
}
# Every share field as a record of consent names it (a court bundle's summary, say).
SHARE_CONSENT_LABELS: dict[str, str] = SHARE_SCOPE_LABELS | {
    "share_scope_set": N_("Was asked what may be shared with experts"),
}

# Consents that are neither a kind of use nor a scope, as a record of consent names them.
NOTICE_CONSENT_LABELS: dict[str, str] = {
    "sms_notice": N_("Tell me by SMS when a message waits"),
}

Status = Literal["new", "in_triage", "assigned", "referred", "closed", "withdrawn"]

def _not_a_bool(value: object) -> object:
    # pydantic's lax mode takes JSON true as the integer 1; a count or a date is never that.
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    return value


Number = Annotated[int, BeforeValidator(_not_a_bool)]
ShortText = Annotated[str, StringConstraints(max_length=1000)]
Text = Annotated[str, StringConstraints(max_length=200_000)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Consent(_Model):
    """Granular, optional, revocable consent (invariant 4: consent is data). Default: none
    (the court scope, which means something only with `legal`, defaults to what legal use
    needs, so that ticking `legal` alone gives the default court bundle -- except voice
    recordings, which identify the speaker and need their own yes)."""

    care: bool = Field(False, description="use the report to provide care to the reporter")
    referral: bool = Field(False, description="refer the reporter to services")
    legal: bool = Field(False, description="use the report as evidence in legal action")
    statistics: bool = Field(False, description="count it in anonymous statistics")
    sharing: bool = Field(False, description="share with vetted experts and partner organisations")
    contact: bool = Field(False, description="the organisation may contact the reporter")
    # Issue 18: perpetrator identifiers from this report may be turned into OPRF tokens and
    # matched against other members' tokens. Reports made before it was asked have it off
    # and are asked again on the receipt page (`reports.matching_asked`).
    matching: bool = Field(
        False, description="look for the same perpetrator in other organisations' reports "
                           "(blinded tokens, never a name)")
    # What may go to a court when `legal` is given (issue 12): the default is what legal
    # use needs; contact details, safe times and precautions never go, whatever is chosen.
    court_narrative: bool = Field(True, description="a court may see what happened")
    court_when: bool = Field(True, description="a court may see when it happened")
    court_place: bool = Field(True, description="a court may see where it happened")
    court_perpetrators: bool = Field(
        True, description="a court may see the perpetrators as described")
    court_role: bool = Field(True, description="a court may see the reporter's role")
    court_files: bool = Field(True, description="a court may see the attached files")
    # What a vetted expert may see when `sharing` is given (issue 16): nothing by default.
    share_account: bool = Field(
        False, description="an expert may see what happened, when and where")
    share_files: bool = Field(False, description="an expert may see the attached files")
    share_contact: bool = Field(
        False, description="an expert may see how to contact the reporter (with `contact`)")
    share_other_orgs: bool = Field(
        False, description="experts of other member organisations, not only this one's")
    share_scope_set: bool = Field(
        False, description="the reporter was asked what may be shared (set by the forms)")
    # Sound recordings, apart (issue 20): not disclosed unless the reporter says so.
    court_voice: bool = Field(
        False, description="a court may hear the attached sound recordings (voice)")
    # Issue 19: a harmless SMS (the organisation's wording, never content) when a message
    # waits; sent only with `contact` too, to the number the reporter gave for it (on the
    # receipt page, or the phone they dialled from by USSD, `node.channels.sms_pins`).
    sms_notice: bool = Field(
        False, description="tell the reporter by SMS that a message waits (with `contact`)")

    def granted(self) -> list[str]:
        return [name for name in CONSENT_NAMES if getattr(self, name)]

    def court_scope(self) -> list[str]:
        """What may go to a court (meaningful only with `legal`)."""
        return [name for name in COURT_SCOPE if getattr(self, name)]

    def share_scope(self) -> list[str]:
        """What may be shared with an expert (meaningful only with `sharing`); contact
        details only with `contact` as well."""
        return [name for name in SHARE_SCOPE if getattr(self, name)
                and (name != "share_contact" or self.contact)]


class ContactPreference(_Model):
    method: ContactMethod | None = None
    details: ShortText | None = Field(None, description="number, address or handle")
    safe_times: ShortText | None = Field(None, description="when it is safe to make contact")
    precautions: ShortText | None = Field(
        None, description="e.g. a neutral name to use, or who must not know")


class ReportInput(_Model):
    """A report as a reporter gives it. Every field may be left out, but not all of them: a
    report with no answer (consent and language aside) and no file is refused (400, code
    `empty_report`)."""

    reporter_role: ReporterRole | None = None
    narrative: Text = Field("", description="what happened, in the reporter's words")
    incident_year: Number | None = Field(None, ge=1950, le=2100)
    incident_month: Number | None = Field(None, ge=1, le=12)
    incident_day: Number | None = Field(None, ge=1, le=31)
    incident_when: ShortText | None = Field(None, description="approximate time in words")
    region: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        None, description="a region code from the node's configuration")
    place: ShortText | None = None
    perpetrators: ShortText | None = Field(None, description="description of the perpetrators")
    perpetrator_affiliation: Affiliation | None = None
    people_harmed: Number | None = Field(None, ge=1, le=100_000)
    needs: list[Need] = Field(default_factory=list, max_length=len(NEEDS))
    consent: Consent = Field(default_factory=Consent)
    contact: ContactPreference | None = None
    # issue 20: the page's language, any CLDR knows (an organisation adds its own)
    language: Annotated[str, AfterValidator(check_code)] | None = None


class AdditionInput(_Model):
    text: Text = Field("", description="more information from the reporter")


_TYPED_DIGITS = ("; as typed: ASCII, Arabic-Indic or Eastern Arabic-Indic digits, with "
                 "spaces, dashes or dots anywhere (ignored)")


class ReceiptCredentials(_Model):
    receipt: Annotated[str, StringConstraints(max_length=64)] = Field(
        description="the receipt number: 10 digits, the last a Damm check digit"
                    + _TYPED_DIGITS, examples=["48310 29951"])
    secret: Annotated[str, StringConstraints(max_length=128)] = Field(
        description="the secret: 21 digits, the last a Damm check digit" + _TYPED_DIGITS,
        examples=["603 117 842 590 216 733 418"])
