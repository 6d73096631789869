"""The node's matching work on its federation round (issue 18): evaluate, submit, fetch
notices.

Identifiers are stored encrypted under their case's key, so they can only be evaluated while
someone who can open the case is here: when staff confirm them (the confirmation hands them
over at once), and when a coordinator signs in (`EvaluationQueue.offer`: every confirmed
identifier of a consented case that has no token of the current key epoch yet -- after a
rotation, all of them). What is handed over waits in `EvaluationQueue`, in memory only, until
the evaluator has answered; nothing of it is written anywhere.

`MatchingRound` is called by the federation's periodic work (`node.federation.service`) with
the membership list it believes:

* **evaluate**: the waiting identifiers, as one batch of blinded elements
  (`evaluation.PendingEvaluation`, at most `MAX_BATCH` a request), to the evaluator the
  list names, at its address from ``node.toml`` (``[federation] evaluator_addrs``). The
  answer is believed only from the evaluator's identity key in the list, and its proof only
  against the epoch's key in the list (never the key the answer names). A refusal
  (``over_budget``, ``rate_limited``, ``unknown_epoch``...) puts the batch back and waits
  (`BACKOFF_SECONDS`, doubling up to a day); a proof that does not verify drops the batch's
  blinds, puts the identifiers back and waits the longest (it is logged: an evaluator
  that uses another key is misbehaving).
* **submit**: the tokens not yet submitted and the withdrawals (`notices.next_submission`),
  one `TokenSubmission` in flight at a time; marked submitted once the observatory
  acknowledged it.
* **notices**: a `MatchNoticeQuery` every `push_check_seconds` (and at once after a
  submission was acknowledged), acknowledging the notices of the previous answer; each
  notice is recorded on its case (`notices.record_notice`), where coordinators see it.

* **introductions**: a coordinator's decisions on recorded matches
  (`introductions.due`: agreements to be introduced, dismissals) to the observatory; while
  an agreement waits, an `IntroductionQuery` every `push_check_seconds` (acknowledging the
  previous answer's), and each introduction is handed to `introduce`, which opens the
  coordinator <-> coordinator thread (`introductions.record_in`).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from node.matching import introductions, notices
from node.matching.evaluation import EvaluationRejected, PendingEvaluation
from node.matching.recipe import Identifiers, TokenKind, token_inputs
from node.matching.tokens import record_tokens_in
from protocol.delivery import DeliveryAck
from protocol.matching import (
    MAX_BATCH,
    MAX_INTRODUCTIONS,
    MAX_NOTICES,
    Introduction,
    IntroductionQuery,
    IntroductionRequest,
    Introductions,
    MatchNoticeQuery,
    MatchNotices,
    OprfEvaluation,
    OprfEvaluationRequest,
    TokenSubmission,
)
from protocol.membership import OprfEvaluatorEntry
from protocol.message import Message

log = logging.getLogger("backup.matching")


def _kind(model: type[Message]) -> str:
    return f"{model.TYPE} v{model.VERSION}"


EVALUATE = _kind(OprfEvaluationRequest)
SUBMIT = _kind(TokenSubmission)
NOTICES = _kind(MatchNoticeQuery)
INTRODUCE = _kind(IntroductionRequest)
INTRODUCTIONS = _kind(IntroductionQuery)
KINDS = frozenset({EVALUATE, SUBMIT, NOTICES, INTRODUCE, INTRODUCTIONS})
# Opens the thread an introduction names, in the caller's transaction; the outcome's code.
Introduce = Callable[[sqlite3.Connection, Introduction, int], str]
BACKOFF_SECONDS = 60
MAX_BACKOFF_SECONDS = 86_400


@dataclass(frozen=True)
class Waiting:
    """One confirmation to evaluate (plain text, in memory only)."""

    report_id: str
    identifier_id: str
    ids: Identifiers


@dataclass
class InFlight:
    epoch: int
    items: list[tuple[Waiting, list[TokenKind]]]
    evaluation: PendingEvaluation


@dataclass
class EvaluationQueue:
    """What waits to be evaluated, and the blinds of what is being evaluated: memory only,
    shared by the staff office's threads and the federation's round."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _waiting: dict[str, Waiting] = field(default_factory=dict)
    _listeners: list[Callable[[], None]] = field(default_factory=list)
    epoch: int | None = None  # the current epoch, once the round has seen a list naming it

    def listen(self, wake: Callable[[], None]) -> None:
        """`wake` (thread-safe) is called when something new waits."""
        self._listeners.append(wake)

    def add(self, items: Iterable[Waiting]) -> None:
        added = False
        with self._lock:
            for item in items:
                added = True
                self._waiting[item.identifier_id] = item
        if added:
            for wake in self._listeners:
                wake()

    def take(self, limit: int = MAX_BATCH) -> list[tuple[Waiting, list[tuple[TokenKind, bytes]]]]:
        """Up to `limit` OPRF inputs' worth of waiting confirmations (at least one)."""
        out: list[tuple[Waiting, list[tuple[TokenKind, bytes]]]] = []
        used = 0
        with self._lock:
            for key in list(self._waiting):
                inputs = token_inputs(self._waiting[key].ids)
                if out and used + len(inputs) > limit:
                    break
                out.append((self._waiting.pop(key), inputs[:limit]))
                used += len(inputs)
        return out

    def __len__(self) -> int:
        with self._lock:
            return len(self._waiting)


class MatchingRound:
    """The matching part of one node's federation round; see the module's docstring."""

    def __init__(self, queue: EvaluationQueue, introduce: Introduce | None = None) -> None:
        self.queue = queue
        self._introduce = introduce
        self._intro_acks: set[str] = set()  # introductions recorded, to acknowledge
        self._intro_acking: dict[str, tuple[str, ...]] = {}
        self.next_introductions = 0
        self.live_epochs: tuple[int, ...] = ()  # as last seen in the list (retired: dropped)
        self._in_flight: dict[str, InFlight] = {}  # request_id -> blinds
        self._submissions: dict[str, TokenSubmission] = {}  # envelope_id -> what it carried
        self._acks: set[str] = set()  # notices recorded, to acknowledge
        self._acking: dict[str, tuple[str, ...]] = {}  # envelope_id -> notices it acknowledged
        self._evaluate_not_before = 0
        self._backoff = BACKOFF_SECONDS
        self.next_notices = 0

    # -- what to send --------------------------------------------------------------------------

    def evaluation(self, evaluator: OprfEvaluatorEntry, now: int) -> OprfEvaluationRequest | None:
        """The next batch to evaluate under the current epoch, or None."""
        self.queue.epoch = evaluator.current_epoch
        if now < self._evaluate_not_before or not len(self.queue):
            return None
        taken = self.queue.take()
        if not taken:
            return None
        inputs = [i for _, ins in taken for _, i in ins]
        pending = PendingEvaluation.of(inputs, evaluator.current_epoch)
        self._in_flight[pending.request.request_id] = InFlight(
            evaluator.current_epoch, [(w, [k for k, _ in ins]) for w, ins in taken], pending)
        return pending.request

    def submission(self, conn: sqlite3.Connection, epoch: int) -> notices.Outgoing | None:
        return notices.next_submission(conn, epoch)

    def submission_sent(self, envelope_id: str, submission: TokenSubmission) -> None:
        self._submissions[envelope_id] = submission

    def notice_query(self) -> MatchNoticeQuery:
        return MatchNoticeQuery(acknowledged=tuple(sorted(self._acks))[:MAX_NOTICES])

    def query_sent(self, envelope_id: str, query: MatchNoticeQuery) -> None:
        self._acking[envelope_id] = query.acknowledged

    def introduction_query(self) -> IntroductionQuery:
        """The next query for introductions, acknowledging what was recorded."""
        return IntroductionQuery(
            acknowledged=tuple(sorted(self._intro_acks))[:MAX_INTRODUCTIONS])

    @property
    def acknowledging_introductions(self) -> bool:
        return bool(self._intro_acks)

    def introduction_query_sent(self, envelope_id: str, query: IntroductionQuery) -> None:
        self._intro_acking[envelope_id] = query.acknowledged

    # -- what the answers say (inside the caller's write transaction) --------------------------

    def record(self, conn: sqlite3.Connection, kind: str, envelope_id: str, answer: Message,
               evaluator: OprfEvaluatorEntry | None, now: int) -> str:
        """Keep what `answer` says; returns the outcome's code (for the log line). A refusal
        is returned as ``refused:<reason>`` for the caller to give the item up."""
        if kind == EVALUATE:
            return self._evaluated(conn, answer, evaluator, now)
        if kind == SUBMIT:
            submission = self._submissions.pop(envelope_id, None)
            if isinstance(answer, DeliveryAck) and answer.status != "rejected":
                if submission is not None:
                    notices.submitted_message(conn, submission, now)
                self.next_notices = 0  # our own notice, if any, is waiting now
                return "tokens submitted"
            return f"refused:{getattr(answer, 'reason', None) or 'rejected'}"
        if kind == INTRODUCE:
            if isinstance(answer, DeliveryAck) and answer.status != "rejected":
                self.next_introductions = 0  # ours may have completed a pair: ask now
                return "introduction request kept"
            introductions.refused(conn, envelope_id)  # not kept there: may be asked again
            return f"refused:{getattr(answer, 'reason', None) or 'rejected'}"
        if kind == INTRODUCTIONS:
            return self._introduced(conn, envelope_id, answer, now)
        # NOTICES
        acked = self._acking.pop(envelope_id, ())
        if isinstance(answer, DeliveryAck):
            return f"refused:{answer.reason or 'rejected'}"
        if not isinstance(answer, MatchNotices):
            return "refused:not_an_answer"
        self._acks.difference_update(acked)
        for notice in answer.notices:
            notices.record_notice(conn, notice, now)  # False: the case is gone; still acked
            self._acks.add(notice.notice_id)
        return f"{len(answer.notices)} notice(s)"

    def _introduced(self, conn: sqlite3.Connection, envelope_id: str, answer: Message,
                    now: int) -> str:
        acked = self._intro_acking.pop(envelope_id, ())
        if isinstance(answer, DeliveryAck):
            return f"refused:{answer.reason or 'rejected'}"
        if not isinstance(answer, Introductions):
            return "refused:not_an_answer"
        self._intro_acks.difference_update(acked)
        opened = 0
        for intro in answer.introductions:
            code = "no_threads" if self._introduce is None else self._introduce(conn, intro, now)
            opened += code == "introduced"
            self._intro_acks.add(intro.introduction_id)  # believed or not: not sent again
        if answer.introductions:
            self.next_introductions = 0  # acknowledge them at once
        return f"{opened} introduction(s)"

    def _evaluated(self, conn: sqlite3.Connection, answer: Message,
                   evaluator: OprfEvaluatorEntry | None, now: int) -> str:
        if isinstance(answer, DeliveryAck):
            # refused whole (over budget, rate limited, unknown epoch...): wait, then again
            # with new blinds. Which request it was is not said by a refusal: every batch in
            # flight goes back (one is in flight at a time).
            self._give_back(now)
            return f"refused:{answer.reason or 'rejected'}"
        if not isinstance(answer, OprfEvaluation):
            self._give_back(now)
            return "refused:not_an_answer"
        flight = self._in_flight.pop(answer.request_id, None)
        if flight is None:
            return "unknown request"  # blinds lost to a restart: evaluated again later
        key = None if evaluator is None else evaluator.key_of(flight.epoch)
        try:
            if key is None:
                raise EvaluationRejected("the epoch's key is no longer published")
            tokens = flight.evaluation.tokens(answer, key)
        except EvaluationRejected:
            log.warning("matching: an evaluation was rejected (its proof does not verify "
                        "against the published key); nothing from it is used")
            self.queue.add(w for w, _ in flight.items)
            self._evaluate_not_before = now + MAX_BACKOFF_SECONDS // 24
            return "refused:bad_proof"
        at = 0
        for waiting, kinds in flight.items:
            mine = tokens[at:at + len(kinds)]
            at += len(kinds)
            record_tokens_in(conn, waiting.report_id, waiting.identifier_id, flight.epoch,
                             list(zip(kinds, mine, strict=True)))
        self._backoff = BACKOFF_SECONDS
        return "evaluated"

    def _give_back(self, now: int) -> None:
        for flight in self._in_flight.values():
            self.queue.add(w for w, _ in flight.items)
        self._in_flight.clear()
        self._evaluate_not_before = now + self._backoff
        self._backoff = min(self._backoff * 2, MAX_BACKOFF_SECONDS)

