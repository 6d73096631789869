"""`FederationService`: the node's libp2p host, outbox and periodic federation work.

Started by the serving process (`node.federation.startup.start_federation`), when
``node.toml`` has a ``[federation]`` section. It owns:

* a `transport.host.Libp2pHost` keyed with the node's identity key (Noise only), answering
  `protocol.versions.FEDERATION_PROTOCOL` with `handler.FederationHandler`;
* the persistent `transport.outbox.Outbox` and the `transport.inbox.ReplayGuard`, whose
  tables it creates at start in the node's database, written through the node's one writer
  (`node.storage.database.Database`), never a connection of its own;
* one task delivering the outbox, and one doing the periodic work:
  - enrollment: until the observatory decides, a fresh `MembershipRequest` every
    `enrollment_poll_seconds` (never two queued at once); again, hourly, once the
    certificate is in the last quarter of its validity, to have it renewed;
  - membership list: once approved, a `MembershipListQuery` every
    `membership_refresh_seconds` (sooner while there is none, or it expired);
  - checkpoints: once approved, the latest checkpoint to every witness that has not
    cosigned it (observatory and the configured peer witnesses that are members), one push
    per witness at a time, checked every `push_check_seconds` and at once after
    `checkpoint_signed()` or an answer that calls for another push; after a log
    succession, the successor statement first (`restored`);
  - after a restore (issue 21): while the evidence log's signing is held, only the
    questions to the witnesses (`restored`), and nothing else;
  - perpetrator matching (issue 18, `node.matching.worker`): once the membership list names
    an evaluator, confirmed identifiers to the evaluator (at ``evaluator_addrs``), their
    tokens and withdrawals to the observatory, and a query for match notices every
    `push_check_seconds`.

Every request is made through `protocol.exchanges.ClientExchange` and waits in the outbox, so
it survives restarts and link cuts and is delivered exactly once (the receiver deduplicates
by envelope id). Its answer, whenever it comes, is checked by a `ClientExchange` resumed from
the stored request (`answers.verify`). The staff page shows what is queued and why it has not gone
yet. All SQLite work (and the signing and verifying around it) runs in worker threads; the
event loop only waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from crypto.keys import VerifyKey
from node.config import ExpertMail
from node.evidence import succession
from node.experts import directory as expert_directory
from node.experts import notify, outgoing, received_needs, vetting
from node.experts.opinions import CaseOpinions
from node.experts.shares import Shares
from node.experts.threads import Threads
from node.federation import (
    answers,
    enrollment,
    members,
    our_log,
    restored,
    statistics_delivery,
    store,
)
from node.federation.config import FederationConfig, addresses_of
from node.federation.directory import Directory
from node.federation.errors import NOT_KNOWN_YET, NotKnownYet, Refused
from node.federation.handler import FederationHandler
from node.federation.status import FederationStatus
from node.keyring import NodeKeys
from node.matching import introductions, tokens
from node.matching.worker import (
    EVALUATE,
    INTRODUCTIONS,
    NOTICES,
    SUBMIT,
    EvaluationQueue,
    MatchingRound,
)
from node.matching.worker import KINDS as MATCHING_KINDS
from node.storage.database import Database
from protocol.envelope import DEFAULT_TTL, Envelope
from protocol.exchanges import ClientExchange
from protocol.experts import ExpertDirectoryQuery
from protocol.matching import Introduction
from protocol.message import Message
from protocol.statements import verify_key_from_hex
from protocol.statistics import StatisticsRelease
from protocol.versions import FEDERATION_PROTOCOL as PROTOCOL_ID
from transport import store as transport_store
from transport.errors import TransportError
from transport.host import HostConfig, Libp2pHost
from transport.identity import peer_id_from_public_key
from transport.inbox import ReplayGuard
from transport.outbox import BackoffPolicy, Outbox, queued
from transport.queue import OutboxQueue
from transport.store import OutboxEntry

log = logging.getLogger("backup.federation")

HOUSEKEEPING_SECONDS = 3600
# A certificate in its last quarter is renewed by asking again (the observatory renews it
# then); hourly is often enough for a validity of months.
RENEWAL_POLL_SECONDS = 3600
# Delivered and failed outbox items stay visible on the staff page for a week.
KEEP_FINISHED_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Witness:
    """Someone this node asks to cosign its checkpoints (or otherwise sends to)."""

    node_id: str
    key: VerifyKey
    peer_id: str
    addrs: tuple[str, ...]


class FederationService:
    def __init__(self, db: Database, keys: NodeKeys, config: FederationConfig, *,
                 clock: Callable[[], int] = lambda: int(time.time()),
                 status: FederationStatus | None = None,
                 host_config: HostConfig | None = None,
                 backoff: BackoffPolicy | None = None,
                 request_timeout: float = 30.0, experts: bool = False,
                 mail: ExpertMail | None = None, shares: Shares | None = None,
                 matching: EvaluationQueue | None = None,
                 opinions: CaseOpinions | None = None,
                 threads: Threads | None = None) -> None:
        self._db = db
        self._matching = (None if matching is None
                          else MatchingRound(matching, introduce=self._record_introduction))
        self._opinions = opinions  # experts' signed opinions arriving for cases (issue 16)
        self._shares = shares  # consented case sharing, both ends (issue 16)
        self._threads = threads  # engagement and coordinator threads (issue 16)
        self._experts = experts  # fetch the expert directory (issue 16; `[expert_app]`)
        self._mail = mail  # e-mail experts about new needs (`[expert_app.mail]`)
        self._next_expert_directory = 0
        self._next_vouches = 0
        self._keys = keys
        self._config = config
        self._clock = clock
        self.status = status if status is not None else FederationStatus()
        self._host_config = host_config or HostConfig(
            listen_host=config.listen_host, listen_port=config.listen_port)
        self._backoff = backoff
        self._request_timeout = request_timeout
        self._observatory_key = verify_key_from_hex(config.observatory_identity_key)
        self._directory = Directory(config.observatory_node_id, self._observatory_key)
        # Answers are bound to our request (`ClientExchange`) and acted on at most once per
        # outbox item, so they need no replay record.
        # The evaluator is believed in these answers only (never in requests to us).
        self._endpoint = keys.endpoint(lookup_key=lambda node_id: self._directory.key_of(
                                           node_id, self._clock())
                                       or self._directory.evaluator_key(node_id, self._clock()),
                                       is_replay=lambda *_: False)
        self._queue = OutboxQueue(db)
        self._guard = ReplayGuard(db)
        self._host: Libp2pHost | None = None
        self._outbox: Outbox | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._wakeup = asyncio.Event()
        self._next_enroll = 0
        self._next_list = 0
        self._next_housekeeping = 0
        self._push_not_before: dict[str, int] = {}

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def peer_id(self) -> str:
        return peer_id_from_public_key(self._keys.identity_public.raw())

    @property
    def listen_addrs(self) -> tuple[str, ...]:
        return () if self._host is None else self._host.listen_addrs

    @property
    def outbox(self) -> Outbox:
        assert self._outbox is not None, "the service is not started"
        return self._outbox

    async def start(self) -> None:
        """Make the transport's tables, listen, and start the work. Raises `TransportError`
        (e.g. `ListenFailed`) if the host cannot start."""
        self.status.state = "starting"
        try:
            await asyncio.to_thread(self._open)
            host = Libp2pHost(self._keys.identity, self._host_config)
            host.set_handler(PROTOCOL_ID, FederationHandler(
                self._db, keys=self._keys, config=self._config,
                directory=lambda: self._directory, clock=self._clock, on_change=self._changed,
                shares=self._shares, opinions=self._opinions, threads=self._threads))
            await host.start()
        except BaseException as exc:
            self.status.state = "failed"
            self.status.error = getattr(exc, "code", type(exc).__name__.lower())[:48]
            raise
        self._host = host
        self._outbox = Outbox(self._queue, host, on_response=self._on_response,
                              backoff=self._backoff, request_timeout=self._request_timeout)
        # What waited through a stop (or a crash) is tried at once: the link may be back.
        await asyncio.to_thread(self._outbox.retry_now)
        self.status.state, self.status.error = "running", None
        self.status.peer_id, self.status.listen_addrs = host.peer_id, host.listen_addrs
        if self._matching is not None:  # confirmations wake the round from worker threads
            loop = asyncio.get_running_loop()

            def wake_from_thread() -> None:
                loop.call_soon_threadsafe(self._wakeup.set)

            self._matching.queue.listen(wake_from_thread)
        self._tasks = [asyncio.create_task(self._outbox.run(), name="federation-outbox"),
                       asyncio.create_task(self._work(), name="federation-work")]
        log.info("federation: node %s is peer %s on %s", self._keys.node_id, host.peer_id,
                 ", ".join(host.listen_addrs))

    def _open(self) -> None:
        with self._db.write() as conn:
            transport_store.ensure_schema(conn)
        self._reload_directory()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._host is not None:
            await self._host.stop()
            self._host = None
        self._outbox = None
        if self.status.state == "running":
            self.status.state = "stopped"

    def checkpoint_signed(self) -> None:
        """A new checkpoint was signed: push it to the witnesses now."""
        self._push_not_before.clear()
        self._wakeup.set()

    def wake(self) -> None:
        """Something waits to be sent (an expert-network message): look at once."""
        self._wakeup.set()

    def _changed(self) -> None:
        """The handler stored a pushed membership list or decision: the periodic work
        reloads the directory and looks again at once."""
        self._push_not_before.clear()
        self._wakeup.set()

    # -- periodic work (in a worker thread) --------------------------------------------------

    async def _work(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                await asyncio.to_thread(self.tick)
            except (sqlite3.Error, TransportError, ValueError) as exc:
                log.error("federation: periodic work failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._period)

    @property
    def _period(self) -> int:
        """How often the periodic work looks, at most: the shortest configured interval."""
        c = self._config
        return min(c.enrollment_poll_seconds, c.membership_refresh_seconds, c.push_check_seconds)

    def tick(self) -> None:
        """One round of periodic work: enroll, refresh the list, push checkpoints. Blocking."""
        conn, now = self._db.read(), self._clock()
        self._reload_directory()
        pending = self.outbox.list_pending()
        queued_now = {(e.message_type, e.recipient_node_id) for e in pending}
        observatory = self._config.observatory_node_id
        membership = store.membership(conn, observatory)
        status = None if membership is None else membership.status
        renew = membership is not None and enrollment.renewal_due(membership, now)
        if (status in (None, "pending") or renew) and now >= self._next_enroll \
                and (answers.ENROLL, observatory) not in queued_now:
            # recorded as pending once the observatory acknowledges it (`enrollment`)
            self._send(enrollment.request(self._keys, self._config), self._observatory())
            self._next_enroll = now + (RENEWAL_POLL_SECONDS if renew
                                       else self._config.enrollment_poll_seconds)
        if status != "approved":
            return
        current = self._directory.current(now)
        if now >= self._next_list and (answers.LIST_QUERY, observatory) not in queued_now:
            self._send(members.query(conn, self._config), self._observatory())
            self._next_list = now + (self._config.membership_refresh_seconds
                                     if current is not None
                                     else self._config.enrollment_poll_seconds)
        if succession.hold(conn) is not None:
            self._ask_witnesses(conn, now, queued_now)
            self._housekeeping(now)  # erasures at their deadlines go on meanwhile
            return  # restored: nothing else is sent until the witnesses have answered
        if self._experts and now >= self._next_expert_directory \
                and (expert_directory.QUERY, observatory) not in queued_now:
            self._send(ExpertDirectoryQuery(), self._observatory())
            self._next_expert_directory = now + min(  # as often as the membership list
                expert_directory.REFRESH_SECONDS, self._config.membership_refresh_seconds)
        if self._experts and now >= self._next_vouches \
                and (vetting.VOUCH, observatory) not in queued_now:
            for vouch in vetting.due(conn):  # until the admin decided
                self._send(vouch, self._observatory())
            self._next_vouches = now + self._config.enrollment_poll_seconds
        if self._experts:  # one tap on the expert app reaches the next directory
            for change in vetting.availability_due(self._db):
                self._send(change, self._observatory())
        self._send_expert_messages(now)
        if self._matching is not None:
            self._matching_round(conn, now, queued_now)
        if self._mail is not None:
            notify.send_due(self._db, self._keys, self._mail, now)
        if self._shares is not None:  # sealed parts and revocations, to the expert's node
            for home, message in self._shares.due():
                peer = self._member_peer(home, now)
                if peer is not None:  # else it waits here until the node is reachable
                    self._shares.queued(message, self._send(message, peer))
        if self._threads is not None:  # thread messages and erasures, to the other party
            for peer_node, message in self._threads.due():
                to = self._member_target(peer_node, now)
                if to is not None:  # else it waits here until the node is reachable
                    self._threads.queued(message, self._send(message, to))
        for witness in self.witnesses(now):
            if {(answers.PUSH, witness.node_id), (answers.SUCCESSION, witness.node_id)
                    } & queued_now or now < self._push_not_before.get(witness.node_id, 0):
                continue
            push = (restored.pending_succession(conn, self._keys.node_id, witness.node_id)
                    or our_log.next_push(conn, witness.node_id))
            if push is not None:
                self._send(push, witness)
                self._push_not_before[witness.node_id] = now + self._config.push_check_seconds
        self._housekeeping(now)

    def _housekeeping(self, now: int) -> None:
        if now >= self._next_housekeeping:
            self._next_housekeeping = now + HOUSEKEEPING_SECONDS
            self._guard.purge(now)
            with self._db.write() as conn:  # needs past their deadline, also after downtime
                received_needs.expire(conn, now)
            self.outbox.purge_finished(now - KEEP_FINISHED_SECONDS)

    def _matching_round(self, conn: sqlite3.Connection, now: int,
                        queued_now: set[tuple[str, str]]) -> None:
        """Issue 18: evaluate, submit, fetch notices (`node.matching.worker`)."""
        assert self._matching is not None
        evaluator = self._directory.evaluator(now)
        if evaluator is None:
            return  # no evaluator published yet: identifiers wait in memory
        observatory = self._config.observatory_node_id
        matching = self._matching
        if self._config.evaluator_addrs and (EVALUATE, evaluator.node_id) not in queued_now:
            request = matching.evaluation(evaluator, now)
            if request is not None:
                key = verify_key_from_hex(evaluator.identity_key)
                self._send(request, Witness(evaluator.node_id, key,
                                            peer_id_from_public_key(key.raw()),
                                            tuple(self._config.evaluator_addrs)))
        if (SUBMIT, observatory) not in queued_now:
            outgoing_tokens = matching.submission(conn, evaluator.current_epoch)
            if outgoing_tokens is not None:
                matching.submission_sent(self._send(outgoing_tokens.submission,
                                                    self._observatory()),
                                         outgoing_tokens.submission)
        if now >= matching.next_notices and (NOTICES, observatory) not in queued_now:
            query = matching.notice_query()
            matching.query_sent(self._send(query, self._observatory()), query)
            matching.next_notices = now + self._config.push_check_seconds
        # coordinators' decisions on matches, then their introductions (issue 18)
        for decision in introductions.due(conn):
            envelope_id = self._send(decision, self._observatory())
            with self._db.write() as w:
                introductions.queued(w, decision, envelope_id)
        if now >= matching.next_introductions and (INTRODUCTIONS, observatory) not in queued_now \
                and (matching.acknowledging_introductions or introductions.waiting(conn)):
            asked = matching.introduction_query()
            matching.introduction_query_sent(self._send(asked, self._observatory()), asked)
            matching.next_introductions = now + self._config.push_check_seconds
        # an epoch retired from the list: its tokens go (the observatory drops its copy);
        # looked at when the published epochs change (and once after a start)
        live = tuple(sorted(e.epoch for e in evaluator.epochs))
        if live != matching.live_epochs:
            tokens.drop_retired(self._db, live)
            matching.live_epochs = live

    def _record_introduction(self, conn: sqlite3.Connection, intro: Introduction,
                             now: int) -> str:
        """Open the coordinator thread an introduction names (`introductions.record_in`),
        believing the other side's keys only if its identity key in the list certified
        them."""
        if self._threads is None:
            return "no_threads"

        def identity_of(node_id: str) -> str | None:
            entry = self._directory.member(node_id, now)
            return None if entry is None else entry.identity_key

        return introductions.record_in(conn, self._threads, intro, identity_of, now)

    def _ask_witnesses(self, conn: sqlite3.Connection, now: int,
                       queued_now: set[tuple[str, str]]) -> None:
        """A restored node asks each witness what it cosigned of our log (issue 21)."""
        witnesses = {w.node_id: w for w in self.witnesses(now)}
        for node_id in restored.to_ask(conn, witnesses):
            if (answers.QUERY, node_id) in queued_now or now < self._push_not_before.get(
                    node_id, 0):
                continue
            self._send(restored.query(conn, self._keys.node_id), witnesses[node_id])
            self._push_not_before[node_id] = now + self._config.push_check_seconds

    def _send_expert_messages(self, now: int) -> None:
        """Move the expert network's waiting messages into the outbox, each in the
        transaction that removes it from the waiting list (`node.experts.outgoing`). One for
        a node that is not a member now, or whose address is not configured, waits."""
        if not outgoing.waiting(self._db.read()):
            return
        with self._db.write() as conn:
            for row_id, recipient, message in outgoing.waiting(conn):
                entry = self._directory.member(recipient, now)
                addrs = addresses_of(self._config, recipient)
                if entry is None or not addrs:
                    continue
                key = verify_key_from_hex(entry.identity_key)
                to = Witness(recipient, key, peer_id_from_public_key(key.raw()), addrs)
                item = queued(self._request(message, to), peer_id=to.peer_id, addrs=to.addrs,
                              protocol_id=PROTOCOL_ID)
                self._queue.enqueue_in(conn, item, time.time())
                outgoing.take(conn, row_id)
        self.outbox.wake()

    def _member_target(self, node_id: str, now: int) -> Witness | None:
        """A member node now, at its configured address (peer or peer witness); None if it
        is not a member or has no address here."""
        entry = self._directory.member(node_id, now)
        addrs = addresses_of(self._config, node_id)
        if entry is None or not addrs:
            return None
        key = verify_key_from_hex(entry.identity_key)
        return Witness(node_id, key, peer_id_from_public_key(key.raw()), addrs)

    def witnesses(self, now: int) -> list[Witness]:
        """The observatory, and each configured peer witness that is a member now."""
        found = [self._observatory()]
        for peer in self._config.peer_witnesses:
            if peer.node_id in (self._keys.node_id, self._config.observatory_node_id):
                continue
            entry = self._directory.member(peer.node_id, now)
            if entry is None:
                continue  # not (or no longer) a member: neither asked nor believed
            key = verify_key_from_hex(entry.identity_key)
            found.append(Witness(peer.node_id, key, peer_id_from_public_key(key.raw()),
                                 tuple(peer.addrs)))
        return found

    def _member_peer(self, node_id: str, now: int) -> Witness | None:
        """A member node this node knows an address of (its peer witnesses, today)."""
        return next((w for w in self.witnesses(now) if w.node_id == node_id), None)

    def _observatory(self) -> Witness:
        return Witness(self._config.observatory_node_id, self._observatory_key,
                       peer_id_from_public_key(self._observatory_key.raw()),
                       tuple(self._config.observatory_addrs))

    def _request(self, message: Message, to: Witness) -> Envelope:
        """`message` sealed as a request to `to` (`ClientExchange`); its answer is checked by
        the exchange `answers.verify` resumes from it."""
        exchange = ClientExchange(self._endpoint, peer_node_id=to.node_id)
        exchange.send_request(message, now=self._clock(), ttl=DEFAULT_TTL)
        assert exchange.request is not None
        return exchange.request

    def _send(self, message: Message, to: Witness) -> str:
        envelope = self._request(message, to)
        self.outbox.enqueue(envelope, peer_id=to.peer_id, addrs=to.addrs,
                            protocol_id=PROTOCOL_ID)
        return envelope.envelope_id

    async def send_statistics(self, release: StatisticsRelease) -> None:
        """Queue an approved statistics release for the observatory."""
        await asyncio.to_thread(self._queue_statistics, release)
        self._wakeup.set()

    def _queue_statistics(self, release: StatisticsRelease) -> None:
        to = self._observatory()
        envelope = self._request(release, to)
        item = queued(envelope, peer_id=to.peer_id, addrs=to.addrs, protocol_id=PROTOCOL_ID)
        with self._db.write() as conn:  # the release and its delivery record, together
            self._queue.enqueue_in(conn, item, time.time())
            statistics_delivery.record_queued(conn, envelope.envelope_id, release.release_id,
                                              self._clock() // 3600)
        self.outbox.wake()

    def _reload_directory(self) -> None:
        stored = store.membership_list(self._db.read(), self._config.observatory_node_id)
        if stored is not None:
            self._directory = self._directory.with_members(stored.signed.body)

    # -- answers to what the outbox delivered ----------------------------------------------

    async def _on_response(self, entry: OutboxEntry, request: bytes, response: bytes) -> None:
        """Believe an answer only as the request's resumed `ClientExchange` does; then store
        what it says. `Refused` gives the item up; any other error retries it."""
        outcome = await asyncio.to_thread(self._answered, entry, request, response)
        log.info("federation: %s answered %s: %s", entry.recipient_node_id,
                 entry.message_type, outcome.code)
        if entry.message_type in (answers.QUERY, answers.SUCCESSION):
            self._push_not_before[entry.recipient_node_id] = 0
        if entry.message_type == answers.PUSH:
            self._push_not_before[entry.recipient_node_id] = (
                0 if outcome.push_again else self._clock() + self._config.push_check_seconds)
        if entry.message_type != answers.PUSH or outcome.push_again:
            self._wakeup.set()
        if outcome.refused is not None:
            raise outcome.refused

    def _answered(self, entry: OutboxEntry, request: bytes,
                  response: bytes) -> answers.Outcome:
        now = self._clock()
        try:
            answer, statement = answers.verify(self._endpoint, request, response, now=now)
        except Refused as exc:
            if entry.message_type in outgoing.KINDS and exc.code in NOT_KNOWN_YET:
                raise NotKnownYet(exc.code) from None  # retried: the only copy of it
            raise
        if entry.message_type in MATCHING_KINDS and self._matching is not None:
            with self._db.write() as conn:
                code = self._matching.record(conn, entry.message_type, entry.envelope_id,
                                             answer, self._directory.evaluator(now), now)
                refused = (Refused(code.split(":", 1)[1]) if code.startswith("refused:")
                           else None)
                self._queue.settle_in(conn, entry.envelope_id, time.time(),
                                      refused=None if refused is None else refused.code)
            return answers.Outcome(code, refused=refused)
        with self._db.write() as conn:  # what the answer says, and the item answered
            outcome = answers.record(conn, entry.message_type, entry.envelope_id,
                                     entry.recipient_node_id, answer, keys=self._keys,
                                     config=self._config, directory=self._directory, now=now,
                                     witnesses=tuple(w.node_id for w in self.witnesses(now)),
                                     role_statement=statement)
            self._queue.settle_in(conn, entry.envelope_id, time.time(),
                                  refused=None if outcome.refused is None
                                  else outcome.refused.code)
        if outcome.approved:
            self._next_list = 0  # fetch the membership list at once
        if outcome.code == "countersigned":
            self._next_expert_directory = 0  # the expert's entry: fetch the directory now
        if entry.message_type != answers.PUSH or outcome.push_again:
            self._reload_directory()
        return outcome

