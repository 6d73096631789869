"""The ``[ussd]`` section of ``node.toml``: the USSD gateway's callback (issue 19).

Absent: the node answers no USSD callback. Present: the gateway must prove itself with the
secret in the callback URL, with its address, or both (at least one is required), because
an unauthenticated callback could otherwise create reports in anyone's name.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

CallbackSecret = Annotated[str, StringConstraints(min_length=24, max_length=128,
                                                  pattern=r"^[A-Za-z0-9_-]+$")]
ServiceCode = Annotated[str, StringConstraints(min_length=2, max_length=32,
                                               pattern=r"^[*#0-9]+$")]


class UssdConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    callback_secret: CallbackSecret | None = Field(
        None, description="the secret path segment of the callback URL, /ussd/<secret>")
    allowed_addresses: list[str] = Field(
        default_factory=list, max_length=50,
        description="the gateway's addresses; empty: any address that knows the secret")
    service_codes: list[ServiceCode] = Field(
        default_factory=list, max_length=20,
        description="the codes this node answers, e.g. *384*1234#; empty: any")
    steps_per_minute: int = Field(
        60, ge=1, le=100_000, description="menu steps per phone number (kept as a keyed "
                                          "hash in memory for an hour at most)")
    reports_per_minute: int = Field(2, ge=1, le=100_000,
                                    description="reports per phone number")

    @model_validator(mode="after")
    def _authenticated(self) -> UssdConfig:
        if self.callback_secret is None and not self.allowed_addresses:
            raise ValueError("ussd: set callback_secret, allowed_addresses or both: an "
                             "unauthenticated callback could create reports")
        return self
