"""Verifiable OPRF, RFC 9497 suite ristretto255-SHA512 in VOPRF mode: a thin wrapper.

Perpetrator tokens (issue 18) are OPRF outputs: a node turns an identifier into a token
without the evaluator seeing the identifier (the node sends only a blinded element), and
without the node being able to compute a token alone (the evaluator holds the key). In the
verifiable mode the evaluator also proves, with a DLEQ proof (RFC 9497 §2.2), that it used
the key whose public half is published -- so it cannot use a different key for different
nodes, which would let it tell apart whose tokens are whose.

The group arithmetic, hash-to-group and proofs are the `voprf` package's (a Rust core over
curve25519-dalek); PyNaCl has no ristretto255. This module only fixes the suite and the
mode, the wire sizes, and maps the package's exceptions onto `crypto.errors`. It is checked
against RFC 9497's test vectors (Appendix A.1.1, VOPRF mode) in the unit tests.

Wire forms (all bytes): a blinded or evaluated element is 32 bytes (a canonical ristretto255
encoding, RFC 9496 §4.3.2); a batch's proof is 64 bytes (the scalars c || s, RFC 9497
§2.2.1). The identity element and non-canonical encodings are refused when an element is
read, as RFC 9497 §3.3.2 requires of the evaluator.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from voprf import ristretto

from crypto.errors import CryptoError, FormatError

SUITE = "ristretto255-SHA512"
ELEMENT_BYTES = 32
PROOF_BYTES = 64
SEED_BYTES = 32
PUBLIC_KEY_BYTES = 32
OUTPUT_BYTES = 64  # SHA-512
# RFC 9497 §3.3.1: an input is at most 2^16 - 1 bytes; a batch is bounded the same way by
# the package. Our own wire bound is far smaller (protocol.matching).
MAX_INPUT_BYTES = 2**16 - 1


class OprfProofError(CryptoError):
    """An evaluation's proof did not verify against the published key (or the answer does
    not fit the request: a different number of elements)."""

    def __init__(self) -> None:
        super().__init__("the OPRF evaluation proof did not verify")


def _element(raw: bytes) -> ristretto.BlindedInput:
    if len(raw) != ELEMENT_BYTES or raw == bytes(ELEMENT_BYTES):
        raise FormatError("not a ristretto255 element (or the identity element)")
    try:
        return ristretto.BlindedInput.deserialize(raw)
    except ValueError:
        raise FormatError("not a canonical ristretto255 element") from None


@dataclass(frozen=True)
class Evaluation:
    """What the evaluator returns for one batch: the evaluated elements in request order,
    and one proof covering all of them."""

    elements: tuple[bytes, ...]
    proof: bytes


class Evaluator:
    """The evaluator's side: holds the OPRF private key of one epoch."""

    def __init__(self, seed: bytes, info: bytes = b"") -> None:
        # DeriveKeyPair (RFC 9497 §3.2.1): the key is a function of a secret seed and a
        # public info string (we put the epoch in it), so a key can be re-derived from its
        # seed alone, which is what the evaluator keeps.
        if len(seed) != SEED_BYTES:
            raise ValueError("an OPRF key seed has 32 bytes")
        try:
            self._inner = ristretto.Evaluator.from_seed(seed, info)
        except ValueError:
            raise ValueError("the OPRF key could not be derived from this seed and info") from None

    @staticmethod
    def new_seed() -> bytes:
        return secrets.token_bytes(SEED_BYTES)

    def public_key(self) -> bytes:
        return bytes(self._inner.public_key.serialize())

    def evaluate(self, blinded: Sequence[bytes]) -> Evaluation:
        """BlindEvaluate of a batch (RFC 9497 §3.3.2): every element checked first;
        `FormatError` names none of them (the caller counts, never logs, bad input)."""
        if not blinded:
            raise FormatError("an evaluation needs at least one element")
        inputs = [_element(raw) for raw in blinded]
        out = bytes(self._inner.evaluate_batch(inputs).serialize())
        # voprf's batch form: the proof (c || s), then the evaluated elements in order
        body = out[PROOF_BYTES:]
        return Evaluation(
            elements=tuple(body[i * ELEMENT_BYTES:(i + 1) * ELEMENT_BYTES]
                           for i in range(len(inputs))),
            proof=out[:PROOF_BYTES])

    def evaluate_known(self, data: bytes) -> bytes:
        """The unblinded output for an input the evaluator knows (RFC 9497 `Evaluate`):
        for tests and for the evaluator's own checks only."""
        return bytes(self._inner.evaluate_known_input(data))


class BlindedBatch:
    """The node's side of one batch: blinds inputs, then checks the evaluator's proof and
    unblinds. The blinds live in memory only, for one exchange."""

    def __init__(self, inputs: Sequence[bytes]) -> None:
        if not inputs:
            raise ValueError("a batch needs at least one input")
        clients = []
        elements = []
        for data in inputs:
            if not data or len(data) > MAX_INPUT_BYTES:
                raise ValueError("an OPRF input has 1 to 65535 bytes")
            client, blinded = ristretto.Client.blind(data)
            clients.append(client)
            elements.append(bytes(blinded.serialize()))
        self._clients = clients
        self.blinded: tuple[bytes, ...] = tuple(elements)

    def finalize(self, evaluation: Evaluation, public_key: bytes) -> list[bytes]:
        """The OPRF outputs, once the proof verifies against `public_key`; `OprfProofError`
        otherwise (a wrong key, a flipped bit, a missing or extra element)."""
        if (len(evaluation.elements) != len(self._clients)
                or len(evaluation.proof) != PROOF_BYTES
                or len(public_key) != PUBLIC_KEY_BYTES
                or any(len(e) != ELEMENT_BYTES for e in evaluation.elements)):
            raise OprfProofError()
        try:
            key = ristretto.PublicKey.deserialize(public_key)
            batch = ristretto.VerifiableBatchOutput.deserialize(
                evaluation.proof + b"".join(evaluation.elements))
            outputs = ristretto.Client.finalize_batch(self._clients, batch, key)
        except ValueError:
            raise OprfProofError() from None
        except BaseException as exc:
            # voprf 0.2 unwraps the proof check inside Rust, so a proof that does not verify
            # surfaces as pyo3's PanicException (a BaseException), not as a ValueError.
            if type(exc).__name__ != "PanicException":
                raise
            raise OprfProofError() from None
        return [bytes(o) for o in outputs]
