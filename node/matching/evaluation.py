"""The node's side of an OPRF evaluation (issue 18): blind, ask, check the proof, unblind.

One `PendingEvaluation` per request, in memory only: the blinds never touch the disk, so a
request whose answer is lost is simply made again with new blinds (the evaluator cannot link
the two). The answer is believed only if it is for this request and epoch, and its proof
verifies against the key the signed membership list publishes for that epoch -- never
against the key the answer names (`crypto.oprf.BlindedBatch.finalize`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from crypto.oprf import BlindedBatch, Evaluation, OprfProofError
from node.matching.recipe import Identifiers, TokenKind, token_inputs
from protocol.matching import MAX_BATCH, SUITE, OprfEvaluation, OprfEvaluationRequest


class EvaluationRejected(Exception):
    """The evaluator's answer does not fit the request or its proof does not verify against
    the published key: nothing from it is used."""


@dataclass
class PendingEvaluation:
    request: OprfEvaluationRequest
    _batch: BlindedBatch

    @classmethod
    def of(cls, inputs: Sequence[bytes], epoch: int) -> PendingEvaluation:
        if not 1 <= len(inputs) <= MAX_BATCH:
            raise ValueError(f"a batch has 1 to {MAX_BATCH} inputs")
        batch = BlindedBatch(inputs)
        request = OprfEvaluationRequest(
            request_id=secrets.token_hex(16), suite=SUITE, epoch=epoch,
            blinded_elements=tuple(e.hex() for e in batch.blinded))
        return cls(request, batch)

    def tokens(self, answer: OprfEvaluation, published_key: bytes) -> list[bytes]:
        """The tokens (OPRF outputs) in input order, or `EvaluationRejected`."""
        if (answer.request_id != self.request.request_id or answer.epoch != self.request.epoch
                or answer.public_key != published_key.hex()):
            raise EvaluationRejected("the answer is for another request, epoch or key")
        evaluation = Evaluation(
            elements=tuple(bytes.fromhex(e) for e in answer.evaluated_elements),
            proof=bytes.fromhex(answer.proof))
        try:
            return self._batch.finalize(evaluation, published_key)
        except OprfProofError:
            raise EvaluationRejected("the evaluation proof does not verify") from None


@dataclass
class PendingTokens:
    """The evaluation of one confirmation's token inputs (`recipe.token_inputs`): what the
    node keeps in memory between asking the evaluator and recording the tokens."""

    kinds: list[TokenKind]
    evaluation: PendingEvaluation

    @classmethod
    def of(cls, ids: Identifiers, epoch: int) -> PendingTokens:
        inputs = token_inputs(ids)
        return cls([k for k, _ in inputs], PendingEvaluation.of([i for _, i in inputs], epoch))

    def tokens(self, answer: OprfEvaluation, published_key: bytes
               ) -> list[tuple[TokenKind, bytes]]:
        """(kind, token) in recipe order, or `EvaluationRejected`."""
        return list(zip(self.kinds, self.evaluation.tokens(answer, published_key), strict=True))
