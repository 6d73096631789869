"""The observatory's configuration file (``DIR/observatory.toml``), validated with pydantic.

Small on purpose: a name, the public site's languages, where the libp2p host listens and
which addresses nodes dial, how long certificates and membership lists stay valid, and the
published statistics plan schema with its privacy limit (`observatory.statistics.schema`). A bad
value stops the observatory with an error naming the field (`ConfigError`). The annotated
template is ``observatory/observatory.toml.example``; `backup-observatory init` copies it
into the data directory. Every field is documented in ``observatory/README.md`` (a test
checks it).
"""

from __future__ import annotations

import ipaddress
import re
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from observatory.i18n import SHIPPED_LANGUAGES
from observatory.statistics.schema import StatisticsConfig
from runtime import tomlconfig
from runtime.catalogues import check_code
from runtime.tomlconfig import ConfigError as ConfigError

# Any language CLDR knows (issue 20): shipped catalogues (observatory/locales) or the
# operator's (`catalogues_dir`), checked at start by `observatory.i18n.Catalogues`.
Language = Annotated[str, AfterValidator(check_code)]
# By default, every shipped language (English first); the first configured is the default.
DEFAULT_LANGUAGES: tuple[str, ...] = SHIPPED_LANGUAGES
Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]

# Only IP addresses and TCP ports: nodes dial these, and a DNS name would leak a lookup
# to a resolver (`transport.identity.parse_addrs` refuses them too).
_MULTIADDR = re.compile(r"^/(ip4|ip6)/([^/]+)/tcp/([0-9]{1,5})$")


def _check_multiaddr(value: str) -> str:
    match = _MULTIADDR.fullmatch(value)
    if match is None:
        raise ValueError("a multiaddr such as /ip4/203.0.113.10/tcp/4001 (no /p2p/ suffix)")
    family, host, port = match.groups()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address") from None
    if (address.version == 4) != (family == "ip4"):
        raise ValueError(f"{host!r} is not an {family} address")
    if not 0 < int(port) <= 65535:
        raise ValueError("a TCP port is 1..65535")
    return value


Multiaddr = Annotated[str, StringConstraints(max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class P2PConfig(_Strict):
    """The observatory's libp2p host (`transport.host.Libp2pHost`)."""

    listen_host: str = Field("127.0.0.1", description="IP address the libp2p host listens on")
    listen_port: int = Field(4001, ge=0, le=65535, description="TCP port; `serve --p2p-port` "
                             "overrides it")
    announce: list[Multiaddr] = Field(
        default_factory=list, max_length=8,
        description="the multiaddrs nodes dial (empty: /ip4/<listen_host>/tcp/<port>)")

    @model_validator(mode="after")
    def _addresses(self) -> P2PConfig:
        try:
            ipaddress.ip_address(self.listen_host)
        except ValueError:
            raise ValueError("listen_host must be an IP address") from None
        for addr in self.announce:
            _check_multiaddr(addr)
        return self

    def dial_addrs(self, port: int | None = None) -> list[str]:
        """What nodes put in their configuration to reach us."""
        if self.announce:
            return list(self.announce)
        family = "ip6" if ":" in self.listen_host else "ip4"
        return [f"/{family}/{self.listen_host}/tcp/{port or self.listen_port}"]


class EnrollmentConfig(_Strict):
    """Bounds on requests to join (issue 11): anyone can make a key and ask."""

    max_pending: int = Field(200, ge=1, le=100_000, description="most requests waiting for "
                             "an admin's decision; a new one beyond is refused for now")
    requests_per_peer_per_hour: int = Field(120, ge=1, le=100_000, description="requests to "
                                            "join one libp2p peer may send per hour (polls "
                                            "included)")


class MatchingSection(_Strict):
    """Perpetrator matching (issue 18): how many distinct member nodes make a match."""

    threshold: int = Field(2, ge=2, le=100, description="distinct member nodes whose cases "
                           "share a token, the case's own included, before each is told")
    introduction_days: int = Field(30, ge=1, le=365, description="days a coordinator's "
                                   "agreement to be introduced waits for the other side's, "
                                   "and an introduction waits to be fetched")


class ObservatoryConfig(_Strict):
    name: Text = "BackUp Observatory"
    languages: list[Language] = Field(default_factory=lambda: list(DEFAULT_LANGUAGES),
                                      min_length=1)
    catalogues_dir: Path | None = Field(
        None, description="folder of the operator's own catalogues (<lang>.po or .mo), for "
        "languages BackUp does not ship or to reword one it does; relative to the data "
        "directory")
    secure_cookies: bool = Field(
        True, description="Secure flag on the admin cookie; false only for plain-HTTP loopback")
    admin_idle_minutes: int = Field(30, ge=1, le=480)
    membership_list_days: int = Field(7, ge=1, le=90)
    certificate_days: int = Field(365, ge=7, le=3650)
    p2p: P2PConfig = Field(default_factory=lambda: P2PConfig())
    enrollment: EnrollmentConfig = Field(default_factory=lambda: EnrollmentConfig())
    trusted_proxies: list[str] = Field(
        default_factory=list, max_length=16,
        description="addresses of reverse proxies whose X-Forwarded-For names the client "
                    "(failed admin sign-ins are counted per client)")
    statistics: StatisticsConfig = Field(default_factory=lambda: StatisticsConfig())
    matching: MatchingSection = Field(default_factory=lambda: MatchingSection())

    @model_validator(mode="after")
    def _distinct_languages(self) -> ObservatoryConfig:
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("languages: each language once")
        return self

    def catalogue_folder(self, root: Path) -> Path | None:
        """`catalogues_dir`, relative paths taken from the data directory `root`."""
        return root / self.catalogues_dir if self.catalogues_dir else None


def load(path: Path) -> ObservatoryConfig:
    return tomlconfig.load(path, ObservatoryConfig)


def parse(raw: dict[str, object], source: str = "observatory.toml") -> ObservatoryConfig:
    return tomlconfig.parse(raw, ObservatoryConfig, source)


def template_text() -> str:
    """The annotated template `init` writes."""
    return resources.files("observatory").joinpath("observatory.toml.example").read_text(
        encoding="utf-8")
