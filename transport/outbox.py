"""A persistent outbox: signed frames that must arrive, retried until they do.

Links in conflict zones fail for hours; a node's message to the observatory or a peer waits
in the sender's own SQLite database (`transport.queue.OutboxQueue`, behind the
`transport.store.OutboxStore` interface) and survives restarts. Each item is one signed
envelope frame addressed to (recipient node id, peer id, multiaddrs, protocol id).

Exactly-once, end to end:

* `enqueue` is idempotent by envelope id: queueing the same envelope twice queues it once.
* An item is marked delivered only after a response frame came back *and* the caller's
  `on_response` accepted it. A crash in between means a resend, which the receiver
  recognises by envelope id (`protocol.exchanges.DuplicateReceived`) and answers as a
  duplicate instead of acting again; that answer counts as delivered. So the receiver acts
  once; `on_response` itself may see a request's answer more than once after a crash.
  `on_response` gets the stored request frame with the answer, so that it can check the
  answer against the request (`protocol.exchanges.ClientExchange.resume`) in whichever
  process hears it; it may settle the item in the very transaction that stores what the
  answer says (`transport.queue.OutboxQueue.settle_in`), so that both commit together.
* Retries back off exponentially with "equal jitter" (Brooker, "Exponential Backoff And
  Jitter", AWS Architecture Blog, 2015): half of the capped delay is fixed, half random, so
  senders that lost the same link do not all come back in the same second, and a delay
  never shrinks to nothing. Defaults: 1 s doubling to a 5 min cap.
* An envelope past its `expires` is refused by every receiver (`protocol.envelope`), so the
  outbox stops there and marks it failed with `expired`; re-sealing it with the same envelope
  id and calling `enqueue` again queues it anew.

What is stored: the frame (until delivered or given up, then erased) and metadata. The last
error is a short code (`transport.errors`), never payload, so the queue can be shown to staff
as it is: what is queued, for whom, since when, and why it has not gone yet.

The delivery loop (`run`, `deliver_due`) does its SQLite work in worker threads
(`asyncio.to_thread`), never on the event loop. `enqueue`, `retry_now`, `purge_finished`
and the listings block on SQLite and are meant to be called from a worker thread too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from protocol.envelope import Envelope
from protocol.errors import ProtocolError
from transport.errors import CODE_PATTERN, TransportError, Undeliverable
from transport.identity import parse_addrs, parse_peer_id
from transport.store import OutboxEntry, OutboxStore, Queued

log = logging.getLogger(__name__)

# Re-check at least every minute: the wall clock may have been corrected.
_LONGEST_SLEEP = 60.0


@dataclass(frozen=True)
class BackoffPolicy:
    """Delays between attempts, in seconds."""

    initial: float = 1.0
    maximum: float = 300.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.maximum and self.multiplier >= 1):
            raise ValueError("backoff needs 0 < initial <= maximum and multiplier >= 1")

    def delay(self, failures: int, rand: float) -> float:
        """The wait after the `failures`-th failed attempt; `rand` is uniform in [0, 1)."""
        if failures < 1:
            return 0.0
        # The exponent is capped so that a long outage cannot overflow a float.
        capped = min(self.maximum, self.initial * self.multiplier ** min(failures - 1, 64))
        return capped / 2 + rand * capped / 2


class Requester(Protocol):
    """What the outbox sends through: `transport.host.Libp2pHost.request`."""

    async def request(
        self, peer_id: str, addrs: Sequence[str], protocol_id: str, frame: bytes, timeout: float
    ) -> bytes: ...


# Called with each item, its request frame and the response frame before the item is marked
# delivered. Return to accept; raise `Undeliverable(code)` to give up (e.g. the receiver
# refused the message for good); raise anything else (e.g. a
# `protocol.errors.EnvelopeRejected`) to count a failed attempt.
ResponseCallback = Callable[[OutboxEntry, bytes, bytes], Awaitable[None]]


def _failure_code(exc: BaseException) -> str:
    """A storable code for a failed attempt: the error's own code if it has a safe one."""
    for attribute in ("code", "reason"):
        value = getattr(exc, attribute, None)
        if isinstance(value, str) and CODE_PATTERN.match(value):
            return value
    return "response_rejected"


def queued(envelope: Envelope, *, peer_id: str, addrs: Sequence[str],
           protocol_id: str) -> Queued:
    """What `enqueue` stores for `envelope`; raises `BadPeerAddress` or `ValueError` for an
    address that could never be dialled."""
    parse_peer_id(peer_id)
    parse_addrs(peer_id, addrs)
    if not protocol_id.startswith("/") or len(protocol_id) > 128:
        raise ValueError("a protocol id is a short path such as /backup/outbox/1")
    if envelope.recipient is None:
        raise ValueError("an unaddressed envelope is an answer, never queued")
    try:
        frame = envelope.to_frame()
    except ProtocolError as exc:
        raise TransportError(str(exc)) from None
    return Queued(envelope_id=envelope.envelope_id, recipient_node_id=envelope.recipient,
                  message_type=f"{envelope.type} v{envelope.version}", peer_id=peer_id,
                  addrs=tuple(addrs), protocol_id=protocol_id, frame=frame,
                  expires_at=envelope.expires)


async def _settle(write: Callable[..., None], *args: object) -> None:
    """Record an attempt's outcome in a worker thread, and finish recording it even if the
    delivering task is cancelled meanwhile (the service stopping): an answer that was
    accepted is then never left looking pending."""
    recording = asyncio.ensure_future(asyncio.to_thread(write, *args))
    try:
        await asyncio.shield(recording)
    except asyncio.CancelledError:
        await recording
        raise


class Outbox:
    """Deliver the frames queued in an `OutboxStore` through a `Requester`."""

    def __init__(
        self,
        store: OutboxStore,
        requester: Requester,
        *,
        on_response: ResponseCallback | None = None,
        backoff: BackoffPolicy | None = None,
        request_timeout: float = 30.0,
        max_in_flight: int = 8,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.store = store
        self._requester = requester
        self._on_response = on_response
        self._backoff = backoff or BackoffPolicy()
        self._request_timeout = request_timeout
        self._max_in_flight = max_in_flight
        self._clock = clock
        self._rand = rand
        self._in_flight: set[str] = set()
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- queueing (blocking: call from a worker thread) -----------------------------------

    def enqueue(
        self, envelope: Envelope, *, peer_id: str, addrs: Sequence[str], protocol_id: str
    ) -> bool:
        """Queue `envelope` for delivery; False if this envelope id is already queued or
        delivered. An item that failed (expired, undeliverable) is queued anew."""
        item = queued(envelope, peer_id=peer_id, addrs=addrs, protocol_id=protocol_id)
        added = self.store.enqueue(item, self._clock())
        if added:
            log.info("outbox: queued %s for %s", envelope.describe(), envelope.recipient)
        self.wake()
        return added

    def retry_now(self) -> int:
        """Make every pending item due now (the link may be back: a restart)."""
        changed = self.store.retry_now(self._clock())
        self.wake()
        return changed

    def purge_finished(self, before: float) -> int:
        """Forget delivered and failed items finished before `before`. Returns how many.

        After this, enqueueing one of their envelopes again sends it again; the receiver
        still deduplicates it while the envelope has not expired.
        """
        return self.store.prune(before)

    def list_pending(self) -> list[OutboxEntry]:
        return self.store.pending()

    def list_failed(self) -> list[OutboxEntry]:
        return self.store.failed()

    def entry(self, envelope_id: str) -> OutboxEntry | None:
        return self.store.entry(envelope_id)

    # -- delivering ----------------------------------------------------------------------

    def wake(self) -> None:
        """Look for due items now (something was queued, or a peer is back). Safe to call
        from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wakeup.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._wakeup.set)

    async def deliver_due(self) -> int:
        """Attempt every item due now, concurrently up to `max_in_flight`; wait for all.

        Returns the number of attempts made. `run()` is this in a loop.
        """
        self._loop = asyncio.get_running_loop()
        attempted = 0
        while True:
            due = await self._claim(self._max_in_flight)
            if not due:
                return attempted
            await asyncio.gather(*(self._attempt(entry, frame) for entry, frame in due))
            attempted += len(due)

    async def run(self) -> None:
        """Deliver forever: each due item as soon as it is due. Cancel to stop."""
        self._loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                self._wakeup.clear()
                for entry, frame in await self._claim(self._max_in_flight - len(self._in_flight)):
                    task = asyncio.create_task(self._attempt(entry, frame))
                    tasks.add(task)
                    task.add_done_callback(self._task_done(tasks))
                delay = await self._seconds_to_next_due()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=delay)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _task_done(self, tasks: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            self._wakeup.set()  # a slot is free, and the item may be due again

        return done

    async def _claim(self, limit: int) -> list[tuple[OutboxEntry, bytes]]:
        """Due items, marked in flight before anything else can claim them."""
        if limit <= 0:
            return []
        due = await asyncio.to_thread(self.store.claim_due, self._clock(), limit,
                                      frozenset(self._in_flight))
        due = [item for item in due if item[0].envelope_id not in self._in_flight]
        for entry, _ in due:
            self._in_flight.add(entry.envelope_id)
        return due

    async def _seconds_to_next_due(self) -> float | None:
        """Until the earliest pending item not in flight is due; None if there is none."""
        due_at = await asyncio.to_thread(self.store.next_due_at, frozenset(self._in_flight))
        if due_at is None:
            return None
        return min(max(0.0, due_at - self._clock()), _LONGEST_SLEEP)

    async def _attempt(self, entry: OutboxEntry, frame: bytes) -> None:
        try:
            await self._attempt_once(entry, frame)
        finally:
            self._in_flight.discard(entry.envelope_id)

    async def _attempt_once(self, entry: OutboxEntry, frame: bytes) -> None:
        now = self._clock()
        if now >= entry.expires_at:
            await self._give_up(entry, "expired", attempted=False)
            return
        timeout = max(0.001, min(self._request_timeout, entry.expires_at - now))
        try:
            response = await self._requester.request(
                entry.peer_id, entry.addrs, entry.protocol_id, frame, timeout
            )
        except TransportError as exc:
            await self._failed_attempt(entry, exc.code)
            return
        try:
            if self._on_response is not None:
                await self._on_response(entry, frame, response)
        except Undeliverable as exc:
            await self._give_up(entry, exc.code, attempted=True)
            return
        except Exception as exc:  # noqa: BLE001 - the caller's verdict on the response
            await self._failed_attempt(entry, _failure_code(exc))
            return
        await _settle(self.store.mark_delivered, entry.envelope_id, self._clock())
        log.info("outbox: %s to %s delivered", entry.envelope_id, entry.recipient_node_id)

    async def _failed_attempt(self, entry: OutboxEntry, code: str) -> None:
        now = self._clock()
        attempts = entry.attempts + 1
        next_at = now + self._backoff.delay(attempts, self._rand())
        await _settle(self.store.record_failure, entry.envelope_id, code, now, next_at)
        log.info(
            "outbox: %s to %s failed (%s), attempt %d, next in %.1fs",
            entry.envelope_id, entry.recipient_node_id, code, attempts, next_at - now,
        )

    async def _give_up(self, entry: OutboxEntry, code: str, *, attempted: bool) -> None:
        await _settle(functools.partial(self.store.record_refusal, attempted=attempted),
                      entry.envelope_id, code, self._clock())
        log.info("outbox: %s to %s failed (%s)", entry.envelope_id, entry.recipient_node_id,
                 code)
