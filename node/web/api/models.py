"""The JSON API's request bodies and answers, as pydantic models: what `handlers` validates
and returns, and what the OpenAPI document (`openapi`) describes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from node.intake.models import Consent, ReceiptCredentials


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ReceiptOut(_Out):
    receipt: str = Field(pattern=r"^[0-9]{10}$",
                         description="10-digit receipt number (the last a Damm check digit); "
                                     "names the report")
    secret: str = Field(pattern=r"^[0-9]{21}$",
                        description="21-digit secret (the last a Damm check digit); opens it. "
                                    "Shown once: store it safely")
    receipt_display: str = Field(description="the receipt number in groups of five digits")
    secret_display: str = Field(description="the secret in groups of three digits")
    status: str


class ItemOut(_Out):
    kind: Literal["addition", "attachment"]
    received_date: str
    filename: str | None = None
    size: int | None = None


class StatusOut(_Out):
    status: str
    received_date: str
    updated_date: str
    consent: Consent
    items: list[ItemOut]


class AdditionRequest(ReceiptCredentials):
    text: str = ""


class ConsentRequest(ReceiptCredentials):
    consent: Consent


class DeletionRequest(ReceiptCredentials):
    confirm: Literal[True] = Field(description="must be true: deletion cannot be undone")


class AcceptedOut(_Out):
    ok: Literal[True] = True
    refused_files: list[str] = Field(default_factory=list,
                                     description="messages for files that were not added")


class ServiceOut(_Out):
    id: str
    name: str
    kinds: list[str]
    regions: list[str]
    languages: list[str]
    contact: str
    address: str
    hours: str
    description: str
    free_of_charge: bool


class ServicesOut(_Out):
    services: list[ServiceOut]


class ErrorBody(_Out):
    code: str
    message: str = Field(description="what happened and what to do, in the Accept-Language")
    field: str | None = None
    fields: list[str] | None = None


class ErrorOut(_Out):
    error: ErrorBody
