"""The node's configuration file (``DIR/node.toml``), validated with pydantic.

Everything an NGO may want to change without touching code lives here: names, the quick
exit target, languages, regions, the service directory, upload limits. A bad value stops
the node with an error that names the field (`ConfigError`). The annotated template is
``node/node.toml.example``; `backup-node init` copies it into the data directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from node.analysis.settings import AnalysisConfig
from node.channels.sms_config import SmsConfig
from node.channels.ussd_config import UssdConfig
from node.federation.config import FederationConfig
from node.i18n import SHIPPED_LANGUAGES
from node.statistics.plan import StatisticsPlan
from protocol.regions import is_region
from protocol.statistics import RegionCode
from runtime import tomlconfig
from runtime.catalogues import check_code
from runtime.tomlconfig import ConfigError as ConfigError

CONFIG_FILE = "node.toml"

# Any language CLDR knows (issue 20): its catalogue is shipped (node/locales) or the
# organisation's (`catalogues_dir`), which `node.i18n.Catalogues` checks at start.
Language = Annotated[str, AfterValidator(check_code)]
ServiceKind = Literal["medical", "psychosocial", "legal", "shelter"]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


UNMAPPED_REGION = (
    "map this region to the federation's region vocabulary: add subdivision = \"<code>\" "
    "with the first-level ISO 3166-2 code of the province or state it lies in (e.g. "
    "\"CD-NK\" for North Kivu), or \"unknown\" if it lies in several; `backup-node "
    "regions COUNTRY` lists a country's codes")


class Region(_Strict):
    """A region reporters choose from. `code` is the node's own (what reports and codings
    store); `subdivision` is the federation's code for it (`protocol.regions`), what
    statistics count by, so that the observatory can combine organisations by region."""

    code: RegionCode
    name: Text
    names: dict[Language, Text] = Field(default_factory=dict)
    subdivision: str | None = None  # required: `_mapped` explains what to write

    @model_validator(mode="after")
    def _mapped(self) -> Region:
        if self.subdivision is None:
            raise ValueError(f"region {self.code!r}: {UNMAPPED_REGION}")
        if not is_region(self.subdivision):
            raise ValueError(f"region {self.code!r}: subdivision {self.subdivision!r} is not a "
                             f"first-level ISO 3166-2 code; {UNMAPPED_REGION}")
        return self

    def label(self, lang: str) -> str:
        return str(self.names.get(lang, self.name))


class Service(_Strict):
    id: Code
    name: Text
    kinds: list[ServiceKind] = Field(min_length=1)
    regions: list[RegionCode] = Field(default_factory=list, description="empty: every region")
    languages: list[Language] = Field(default_factory=list)
    contact: Text
    address: str = ""
    hours: str = ""
    description: str = ""
    descriptions: dict[Language, str] = Field(default_factory=dict)
    free_of_charge: bool = True

    def describe(self, lang: str) -> str:
        return str(self.descriptions.get(lang, self.description))


class CrisisContact(_Strict):
    name: Text
    contact: Text


class Limits(_Strict):
    max_file_mb: int = Field(20, ge=1, le=500)
    max_total_mb: int = Field(60, ge=1, le=2000)
    max_files: int = Field(10, ge=0, le=100)
    max_text_chars: int = Field(20_000, ge=100, le=200_000)

    @model_validator(mode="after")
    def _total_not_below_file(self) -> Limits:
        if self.max_total_mb < self.max_file_mb:
            raise ValueError("max_total_mb must be at least max_file_mb")
        return self


class RateLimits(_Strict):
    """Requests per minute from one address (kept only as a keyed hash in memory)."""

    reports_per_minute: int = Field(10, ge=1, le=100_000)
    receipt_attempts_per_minute: int = Field(10, ge=1, le=100_000)
    staff_logins_per_minute: int = Field(10, ge=1, le=100_000)
    trusted_proxies: list[str] = Field(
        default_factory=list, max_length=20,
        description="addresses of reverse proxies whose X-Forwarded-For names the client")
    shared_address_factor: int = Field(
        50, ge=1, le=10_000,
        description="a proxy that names no client (an onion service) gets this many times "
                    "the per-address limits, shared by everyone behind it")


class Drafts(_Strict):
    """Reports being written: the reporter sessions that hold them and the files staged for
    them, bounded so that strangers can neither push drafts out nor fill the disk."""

    max_sessions: int = Field(5000, ge=1, le=1_000_000)
    shared_sessions_percent: int = Field(
        50, ge=1, le=100,
        description="of max_sessions, the most that traffic from a shared address (an onion "
                    "service, where every reporter has the same address) may hold")
    sessions_per_minute: int = Field(
        10, ge=1, le=100_000,
        description="new reporter sessions per address (per signed form token behind an "
                    "onion service)")
    uploads_per_minute: int = Field(
        30, ge=1, le=100_000, description="file uploads per address and per session")
    staged_mb_per_session: int = Field(60, ge=1, le=100_000)
    staged_mb_per_source: int = Field(200, ge=1, le=1_000_000)
    staged_mb_total: int = Field(2048, ge=1, le=10_000_000)
    idle_minutes: int = Field(60, ge=1, le=1440)
    idle_minutes_with_files: int = Field(20, ge=1, le=1440)

    @model_validator(mode="after")
    def _ordered(self) -> Drafts:
        if not self.staged_mb_per_session <= self.staged_mb_per_source <= self.staged_mb_total:
            raise ValueError("need staged_mb_per_session <= staged_mb_per_source "
                             "<= staged_mb_total")
        if self.idle_minutes_with_files > self.idle_minutes:
            raise ValueError("idle_minutes_with_files may not exceed idle_minutes")
        return self


class StaffOffice(_Strict):
    """Where the staff office listens (`node.server.sites`): by default on its own address,
    loopback, apart from the public one; `backup-node serve` options override these."""

    host: str = Field("127.0.0.1", min_length=1, max_length=255,
                      description="address of the staff office (loopback unless you "
                                  "reach it through a VPN or a private network)")
    port: int = Field(8079, ge=0, le=65535)
    on_public_address: bool = Field(
        False, description="serve the staff office on the public address too (not "
                           "recommended: a stranger at the reporting site then reaches the "
                           "staff sign-in)")


class StatisticsApproval(_Strict):
    """Who may approve a statistics release (issue 15, "four eyes"). On by default: a
    release one person drafted leaves the node only once a second person (another analyst
    or a coordinator) approved it, so that no one alone decides what the observatory gets.
    An admin turns it off for a node with a single analyst; the statistics page then says
    so, each release records who drafted and who approved it, and the custody log records
    every start of the node with a changed setting (`node.statistics.four_eyes`)."""

    four_eyes: bool = Field(
        True, description="a second person approves every statistics release; false lets "
                          "the person who drafted a release approve it alone")


class ExpertMail(_Strict):
    """An SMTP relay for experts' notification e-mails (issue 16): a disguised subject, no
    content."""

    relay_host: str = Field(min_length=1, max_length=255)
    relay_port: int = Field(25, ge=1, le=65535)
    starttls: bool = False
    from_address: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    subject: str = Field("A new message", min_length=1, max_length=80,
                         pattern=r"^[^\r\n]+$")


class ExpertApp(_Strict):
    """Where the expert app listens (issue 16; `node.server.sites`): its own address, apart
    from the staff office, which experts reach from the internet (through the TLS proxy)."""

    enabled: bool = Field(False, description="serve the expert app (for a node whose "
                                             "organisation has experts in the network)")
    host: str = Field("127.0.0.1", min_length=1, max_length=255,
                      description="address of the expert app (behind the TLS proxy)")
    port: int = Field(8078, ge=0, le=65535)
    origin: str | None = Field(
        None, max_length=255, pattern=r"^https?://[^/?#\s]+$",
        description="how experts reach it, e.g. https://experts.example.org: the start of "
                    "their invitation links")
    mail: ExpertMail | None = None


class TimestampingConfig(_Strict):
    """An RFC 3161 timestamping authority that dates each checkpoint of the evidence log
    (node/evidence/timestamping.py)."""

    url: AnyHttpUrl
    trusted_certificates: Path = Field(
        description="absolute path of a PEM file: the root certificate(s) the TSA chains to")
    timeout_seconds: float = Field(10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _absolute(self) -> TimestampingConfig:
        if not self.trusted_certificates.is_absolute():
            raise ValueError("trusted_certificates must be an absolute path")
        return self


PROMPT_PLACES = ("who", "what", "when", "where", "perpetrators", "help", "consent", "files",
                 "review", "safety")
PromptFile = Annotated[str, StringConstraints(
    pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}\.(wav|ogg|opus|oga|mp3|m4a|webm)$")]


class SpokenPrompts(_Strict):
    """Short recordings, in the organisation's own voice and language, of each question of
    the report form and of the safety information (issue 20): for languages that no
    text-to-speech covers and for reporters who cannot read well. Played only when the
    reporter presses play (node/web/reporter/prompts.py)."""

    directory: Path = Field(
        Path("prompts"), description="folder of the files: absolute, or relative to the "
                                     "data directory")
    files: dict[Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")],
                dict[Literal[PROMPT_PLACES], PromptFile]] = Field(  # type: ignore[valid-type]
        default_factory=dict,
        description="language -> question (a step of the form, or safety) -> file name")


class NodeConfig(_Strict):
    site_name: Text = "BackUp"
    organisation: Text = "Partner organisation"
    disguise_name: Text = "Health information"
    quick_exit_url: AnyHttpUrl = AnyHttpUrl("https://www.bbc.co.uk/weather")
    languages: list[Language] = Field(default_factory=lambda: list(SHIPPED_LANGUAGES),
                                      min_length=1)
    default_language: Language = "en"
    catalogues_dir: Path | None = Field(
        None, description="folder of the organisation's own catalogues (<lang>.po or .mo), "
        "for languages BackUp does not ship or to reword one it does; relative to the data "
        "directory")
    regions: list[Region] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    crisis_contacts: list[CrisisContact] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    drafts: Drafts = Field(default_factory=Drafts)
    staff_idle_minutes: int = Field(20, ge=1, le=480)
    # issue 21: how long a deleted report can survive in the encrypted backups this node
    # keeps (generations x interval); the reporter's deletion page states it
    backup_horizon_days: int = Field(7, ge=1, le=3650)
    staff_office: StaffOffice = Field(default_factory=StaffOffice)
    expert_app: ExpertApp = Field(default_factory=ExpertApp)
    secure_cookies: bool = Field(
        True, description="set the Secure flag on cookies; false only for plain-HTTP loopback")
    demo: bool = False
    statistics: StatisticsPlan = Field(default_factory=StatisticsPlan)
    statistics_approval: StatisticsApproval = Field(default_factory=StatisticsApproval)
    federation: FederationConfig | None = None  # absent: the node runs standalone
    timestamping: TimestampingConfig | None = None  # absent: checkpoints are not timestamped
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)  # issue 17: entity lists
    ussd: UssdConfig | None = None  # issue 19: absent, no USSD callback is answered
    sms: SmsConfig | None = None  # issue 19: absent, no SMS is answered or sent
    spoken_prompts: SpokenPrompts = Field(default_factory=SpokenPrompts)  # issue 20

    @model_validator(mode="after")
    def _consistent(self) -> NodeConfig:
        if self.default_language not in self.languages:
            raise ValueError("default_language must be one of languages")
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("languages: each language once")
        codes = [r.code for r in self.regions]
        if len(set(codes)) != len(codes):
            raise ValueError("regions: each code must be unique")
        ids = [s.id for s in self.services]
        if len(set(ids)) != len(ids):
            raise ValueError("services: each id must be unique")
        known = set(codes)
        for s in self.services:
            for code in s.regions:
                if code not in known:
                    raise ValueError(f"services: {s.id} names unknown region {code!r}")
        return self

    def region(self, code: str) -> Region | None:
        return next((r for r in self.regions if r.code == code), None)

    def region_map(self) -> dict[str, str]:
        """Each region's own code -> its federation code (`protocol.regions`), in
        configuration order: what the statistics count by."""
        return {r.code: str(r.subdivision) for r in self.regions}


def load(path: Path) -> NodeConfig:
    return tomlconfig.load(path, NodeConfig)


def parse(raw: dict[str, object], source: str = CONFIG_FILE) -> NodeConfig:
    return tomlconfig.parse(raw, NodeConfig, source)


def template_text() -> str:
    """The annotated configuration template shipped with the package."""
    return resources.files("node").joinpath("node.toml.example").read_text(encoding="utf-8")
