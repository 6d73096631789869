"""The ``[sms]`` section of ``node.toml``: status by SMS and harmless notices (issue 19).

Absent: the node answers no SMS webhook and sends no SMS. Present: the inbound webhook
(``POST /sms/<webhook_secret>``, the form convention of Twilio, RapidPro/TextIt external
channels and many others) must prove itself with the secret in its URL, with Twilio's
``X-Twilio-Signature`` (an HMAC under `auth_token`), or both; at least one is required.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from node.channels.ussd_config import CallbackSecret

Keyword = Annotated[str, StringConstraints(min_length=2, max_length=20,
                                           pattern=r"^[A-Za-z]+$")]
PhoneNumber = Annotated[str, StringConstraints(min_length=3, max_length=20,
                                               pattern=r"^\+?[0-9]+$")]
Token = Annotated[str, StringConstraints(min_length=8, max_length=200)]


class SmsSender(BaseModel):
    """Outbound SMS through an HTTP API in Twilio's REST form: ``POST
    {api_base}/2010-04-01/Accounts/{account_sid}/Messages.json`` with the form fields
    ``To``, ``From`` and ``Body``, HTTP Basic authentication ``account_sid:auth_token``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_base: str = Field("https://api.twilio.com", pattern=r"^https?://[^\s/]+(:[0-9]+)?$")
    account_sid: Annotated[str, StringConstraints(min_length=2, max_length=64,
                                                  pattern=r"^[A-Za-z0-9]+$")]
    auth_token: Token
    from_number: PhoneNumber
    timeout_seconds: float = Field(10, gt=0, le=60)


class SmsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    webhook_secret: CallbackSecret | None = Field(
        None, description="the secret path segment of the webhook URL, /sms/<secret>")
    auth_token: Token | None = Field(
        None, description="the gateway's key for X-Twilio-Signature; set: unsigned "
                          "requests are refused")
    public_url: str | None = Field(
        None, pattern=r"^https?://\S+$",
        description="the webhook's full URL as the gateway calls it (the signature covers "
                    "it); absent: the URL as the node sees the request")
    keyword: Keyword = Field("STATUS", description="the first word of a status request")
    notice_text: Annotated[str, StringConstraints(min_length=2, max_length=160)] = Field(
        "Reminder: your appointment is confirmed.",
        description="the whole SMS that announces a waiting message: harmless wording, "
                    "never content")
    messages_per_minute: int = Field(2, ge=1, le=100_000,
                                     description="inbound SMS answered per number")
    sender: SmsSender | None = None  # absent: no notice is sent

    @model_validator(mode="after")
    def _authenticated(self) -> SmsConfig:
        if self.webhook_secret is None and self.auth_token is None:
            raise ValueError("sms: set webhook_secret, auth_token or both: an "
                             "unauthenticated webhook could probe receipts")
        return self
