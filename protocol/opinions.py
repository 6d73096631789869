"""An expert's signed opinion, home node → requesting node (issue 16).

The expert writes an opinion on their engagement and signs its statement with their own key
(`backup_evidence.opinions`: the statement binds the engagement, the report's subject, a
digest of the text and of the attached file, the credential and the time). What travels:

* the statement and the signature, in clear: hashes, ids and a kind, which the requesting
  node checks on arrival against the engagement and the directory;
* the credential the observatory countersigned, so the court bundle can carry it;
* the digests of the opinion's disclosures (`backup_evidence.disclosures`: salted, one per
  field), from which the requesting node commits the evidence leaf at once;
* the disclosures themselves and the attached file, sealed to the requesting node's box
  key (its X25519 intake key, in the membership list; `crypto.keys.BoxPublicKey.seal`):
  the expert's home node cannot read them, and on the requesting node only a coordinator
  holding the intake key opens them, as they open reports.

Answered with a `DeliveryAck` (`protocol.exchanges.EXCHANGES`).
"""

from __future__ import annotations

from typing import Annotated, Final, Self

from pydantic import Field, StringConstraints, model_validator

from backup_evidence.opinions import MAX_STATEMENT_BYTES, BadOpinion, parse_statement
from protocol.experts import ExpertCredential
from protocol.message import (
    Base64Blob,
    HashHex,
    Message,
    RandomId,
    SignatureHex,
    UnixTime,
)

# kind, text, statement, signature, and file.sha256, file.size, file.mime with a file
MAX_OPINION_FIELDS: Final = 7
StatementText = Annotated[str, StringConstraints(min_length=2, max_length=MAX_STATEMENT_BYTES)]


class ExpertOpinion(Message):
    """Home → requesting node: an expert's signed opinion for one engagement."""

    TYPE = "expert.opinion"
    VERSION = 1

    opinion_id: RandomId
    engagement_id: RandomId
    statement: StatementText
    signature: SignatureHex
    credential: ExpertCredential
    digests: tuple[HashHex, ...] = Field(min_length=4, max_length=MAX_OPINION_FIELDS)
    sealed: Base64Blob
    sent_at: UnixTime

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        try:
            statement = parse_statement(self.statement.encode("utf-8"))
        except BadOpinion as exc:
            raise ValueError(str(exc)) from None
        if statement.engagement != self.engagement_id:
            raise ValueError("the statement is for another engagement")
        body = self.credential.body
        if statement.credential != body.serial or statement.expert_key != body.expert_key:
            raise ValueError("the statement names another credential")
        if len(set(self.digests)) != len(self.digests):
            raise ValueError("a digest appears twice")
        return self
