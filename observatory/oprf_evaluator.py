"""The OPRF evaluator of perpetrator tokens (issue 18): the service that holds the key.

Whoever holds the OPRF key and also sees the tokens could compute the token of any name it
guesses and see which organisations hold it. So the evaluator is its own service, run by an
operator other than the observatory (a member organisation or an independent body), with
its own data directory; the observatory only stores and matches finished tokens. This
module is the evaluator's whole logic, served through the one responder
(`protocol.responder.Responder.serve(OprfEvaluationRequest, ...)`):

* It sees only blinded ristretto255 elements (RFC 9497): nothing it receives or stores says
  what was blinded. The identity element and malformed points are refused (``malformed``)
  before anything is evaluated (`crypto.oprf`).
* Every answer carries a batch DLEQ proof that it used the epoch's key, whose public half the
  signed membership list publishes: a node checks the proof against that key, so the
  evaluator cannot give one node a different key to tell its tokens apart.
* A budget per member and day bounds dictionary attacks by a member (guessing names and
  asking for their tokens): a request that would exceed it is refused whole (``over_budget``)
  and charges nothing. A duplicate of an answered request (an outbox retry) is evaluated
  again without being charged again: the evaluated elements are the same.
* Every evaluation is in the audit log: when (to the hour), which member, which epoch, how
  many elements -- never an element.
* Keys come in epochs. Each epoch's key is derived (RFC 9497 DeriveKeyPair) from a 32-byte
  seed kept in its own 0600 file ``oprf-epoch-N.seed`` and the public info string
  ``backup-perpetrator-tokens epoch N``; a retired epoch's seed is shredded, after which its
  tokens can no longer be extended. Nodes re-evaluate their identifiers for a new epoch.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from crypto.errors import FormatError
from crypto.oprf import Evaluator
from protocol.exchanges import DuplicateReceived, RequestReceived
from protocol.matching import SUITE, OprfEvaluation, OprfEvaluationRequest
from protocol.reasons import Reason
from protocol.responder import Refuse, Responder
from runtime.files import write_private_file

SEED_FILE = "oprf-epoch-{epoch}.seed"
DAY = 86_400
OVER_BUDGET = "over_budget"
UNKNOWN_EPOCH = "unknown_epoch"

SCHEMA = """
CREATE TABLE IF NOT EXISTS oprf_budget (
    member TEXT NOT NULL,
    day INTEGER NOT NULL,
    used INTEGER NOT NULL CHECK (used >= 0),
    PRIMARY KEY (member, day)
) STRICT;
CREATE TABLE IF NOT EXISTS oprf_audit (
    seq INTEGER PRIMARY KEY,
    at_hour INTEGER NOT NULL,
    member TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    elements INTEGER NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('evaluated'))
) STRICT;
"""


def ensure_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def epoch_info(epoch: int) -> bytes:
    return f"backup-perpetrator-tokens epoch {epoch}".encode()


@dataclass(frozen=True)
class EvaluatorLimits:
    """From the evaluator's configuration (numbers in its example file)."""

    per_member_per_day: int = 1000


class EpochKeys:
    """The evaluator's key seeds, one file per epoch, in its keys directory."""

    def __init__(self, keys_dir: Path) -> None:
        self._dir = keys_dir

    def _path(self, epoch: int) -> Path:
        return self._dir / SEED_FILE.format(epoch=epoch)

    def create(self, epoch: int) -> bytes:
        """A new epoch's key; returns its public key (to publish in the membership list)."""
        if epoch < 1 or self._path(epoch).exists():
            raise ValueError(f"epoch {epoch} exists already or is not a positive number")
        write_private_file(self._path(epoch), secrets.token_bytes(32))
        return self.evaluator(epoch).public_key()

    def evaluator(self, epoch: int) -> Evaluator:
        try:
            seed = self._path(epoch).read_bytes()
        except FileNotFoundError:
            raise KeyError(epoch) from None
        return Evaluator(seed, epoch_info(epoch))

    def retire(self, epoch: int) -> None:
        """Shred an epoch's seed: nothing more can be evaluated under it."""
        path = self._path(epoch)
        if path.exists():
            path.write_bytes(bytes(path.stat().st_size))
            path.unlink()


class OprfEvaluatorService:
    """The evaluator's handlers; tables from `ensure_schema` in the responder's database."""

    def __init__(self, keys: EpochKeys, limits: EvaluatorLimits,
                 clock: Callable[[], int]) -> None:
        self._keys = keys
        self._limits = limits
        self._clock = clock
        self._evaluators: dict[int, Evaluator] = {}

    def serve(self, responder: Responder[sqlite3.Connection]) -> None:
        responder.serve(OprfEvaluationRequest, self.act, again=self.again)

    def _evaluator(self, epoch: int) -> Evaluator | None:
        if epoch not in self._evaluators:
            try:
                self._evaluators[epoch] = self._keys.evaluator(epoch)
            except KeyError:
                return None
        return self._evaluators[epoch]

    def _audit(self, conn: sqlite3.Connection, member: str, epoch: int, elements: int,
               outcome: str) -> None:
        conn.execute("INSERT INTO oprf_audit (at_hour, member, epoch, elements, outcome)"
                     " VALUES (?, ?, ?, ?, ?)",
                     (self._clock() // 3600, member, epoch, elements, outcome))

    def _answer(self, request: OprfEvaluationRequest) -> OprfEvaluation:
        evaluator = self._evaluator(request.epoch)
        if evaluator is None:
            raise Refuse(UNKNOWN_EPOCH)
        try:
            got = evaluator.evaluate([bytes.fromhex(e) for e in request.blinded_elements])
        except FormatError:
            raise Refuse(Reason.MALFORMED, "not a ristretto255 element") from None
        return OprfEvaluation(
            request_id=request.request_id, suite=SUITE, epoch=request.epoch,
            public_key=evaluator.public_key().hex(),
            evaluated_elements=tuple(e.hex() for e in got.elements), proof=got.proof.hex())

    def act(self, received: RequestReceived, conn: sqlite3.Connection) -> OprfEvaluation:
        request = received.message
        assert isinstance(request, OprfEvaluationRequest)
        member = received.envelope.sender
        n = len(request.blinded_elements)
        day = self._clock() // DAY
        row = conn.execute("SELECT used FROM oprf_budget WHERE member = ? AND day = ?",
                           (member, day)).fetchone()
        used = int(row[0]) if row is not None else 0
        if used + n > self._limits.per_member_per_day:
            # refused whole, nothing charged; the responder's log line records the refusal
            # (member and reason, no element)
            raise Refuse(OVER_BUDGET)
        answer = self._answer(request)
        conn.execute("INSERT INTO oprf_budget (member, day, used) VALUES (?, ?, ?)"
                     " ON CONFLICT (member, day) DO UPDATE SET used = used + excluded.used",
                     (member, day, n))
        self._audit(conn, member, request.epoch, n, "evaluated")
        return answer

    def again(self, duplicate: DuplicateReceived) -> OprfEvaluation:
        request = duplicate.message
        assert isinstance(request, OprfEvaluationRequest)
        return self._answer(request)
