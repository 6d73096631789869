"""`FederationService`: the node's libp2p host, outbox and periodic federation work.

Started by the serving process only (`node.web.app.create_app(..., owns_context=True)`),
when ``node.toml`` has a ``[federation]`` section. It owns:

* a `transport.host.Libp2pHost` keyed with the node's identity key (Noise only), answering
  ``/backup/federation/1.0.0`` with `handler.FederationHandler`;
* its own SQLite connection to the node database (WAL lets it write between the
  application's writes), holding the persistent `transport.outbox.Outbox` and the
  `transport.inbox.ReplayGuard`, whose tables it creates at start;
* one task delivering the outbox, and one doing the periodic work:
  - enrollment: until the observatory decides, a fresh `MembershipRequest` every
    `enrollment_poll_seconds` (never two queued at once); again, hourly, once the
    certificate is in the last quarter of its validity, to have it renewed;
  - membership list: once approved, a `MembershipListQuery` every
    `membership_refresh_seconds` (sooner while there is none, or it expired);
  - checkpoints: once approved, the latest checkpoint to every witness that has not
    cosigned it (observatory and the configured peer witnesses that are members), one push
    per witness at a time, checked every `push_check_seconds` and at once after
    `checkpoint_signed()` or an answer that calls for another push.

Everything that must arrive goes through the outbox, so it survives restarts and link
cuts and is delivered exactly once (the receiver deduplicates by envelope id); the staff
page shows what is queued and why it has not gone yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from crypto.keys import VerifyKey
from node.federation import enrollment, members, our_log, statistics_delivery, store
from node.federation.config import FederationConfig
from node.federation.directory import Directory
from node.federation.errors import BadAnswer, Refused
from node.federation.handler import FederationHandler
from node.federation.status import FederationStatus
from node.keyring import NodeKeys
from node.storage.database import connect
from protocol.envelope import DEFAULT_TTL, seal, verify_frame
from protocol.exchanges import EXCHANGES
from protocol.message import Message
from protocol.statements import verify_key_from_hex
from protocol.statistics import StatisticsRelease
from protocol.versions import FEDERATION_PROTOCOL as PROTOCOL_ID
from transport import inbox
from transport import outbox as outbox_module
from transport.errors import TransportError
from transport.host import HostConfig, Libp2pHost
from transport.identity import peer_id_from_public_key
from transport.inbox import ReplayGuard
from transport.outbox import BackoffPolicy, Outbox, OutboxEntry
from transport.transaction import write_transaction

log = logging.getLogger("backup.federation")

ENROLL = "membership.request v1"
LIST_QUERY = "membership.list_query v1"
PUSH = "checkpoint.push v1"
# Answers after which the next push to that witness may go at once.
_PUSH_AGAIN = frozenset({"cosigned", "old_size_mismatch", "smaller_tree", "duplicate",
                         "accepted"})
HOUSEKEEPING_SECONDS = 3600
# A certificate in its last quarter is renewed by asking again (the observatory renews it
# then); hourly is often enough for a validity of months.
RENEWAL_POLL_SECONDS = 3600
# Delivered and failed outbox items stay visible on the staff page for a week.
KEEP_FINISHED_SECONDS = 7 * 24 * 3600

_RESPONSES = {f"{spec.request.TYPE} v{spec.request.VERSION}": spec.responses
              for spec in EXCHANGES}


@dataclass(frozen=True)
class Witness:
    """Someone this node asks to cosign its checkpoints."""

    node_id: str
    key: VerifyKey
    peer_id: str
    addrs: tuple[str, ...]


class FederationService:
    def __init__(self, database: Path, keys: NodeKeys, config: FederationConfig, *,
                 clock: Callable[[], int] = lambda: int(time.time()),
                 status: FederationStatus | None = None,
                 host_config: HostConfig | None = None,
                 backoff: BackoffPolicy | None = None,
                 request_timeout: float = 30.0) -> None:
        self._database = database
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
        self._conn: sqlite3.Connection | None = None
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
        """Open the database connection, listen, and start the work. Raises
        `TransportError` (e.g. `ListenFailed`) if the host cannot start."""
        self.status.state = "starting"
        conn = connect(self._database)
        conn.row_factory = None  # the outbox reads rows by position and slices them
        try:
            outbox_module.ensure_schema(conn)
            inbox.ensure_schema(conn)
            self._conn = conn
            self._reload_directory()
            host = Libp2pHost(self._keys.identity, self._host_config)
            host.set_handler(PROTOCOL_ID, FederationHandler(
                conn, keys=self._keys, config=self._config, directory=lambda: self._directory,
                clock=self._clock, on_change=self._changed))
            await host.start()
        except BaseException as exc:
            conn.close()
            self._conn = None
            self.status.state = "failed"
            self.status.error = getattr(exc, "code", type(exc).__name__.lower())[:48]
            raise
        self._host = host
        self._outbox = Outbox(conn, host, on_response=self._on_response, backoff=self._backoff,
                              request_timeout=self._request_timeout)
        # What waited through a stop (or a crash) is tried at once: the link may be back.
        self._outbox.retry_now()
        self.status.state, self.status.error = "running", None
        self.status.peer_id, self.status.listen_addrs = host.peer_id, host.listen_addrs
        self._tasks = [asyncio.create_task(self._outbox.run(), name="federation-outbox"),
                       asyncio.create_task(self._work(), name="federation-work")]
        log.info("federation: node %s is peer %s on %s", self._keys.node_id, host.peer_id,
                 ", ".join(host.listen_addrs))

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
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._outbox = None
        if self.status.state == "running":
            self.status.state = "stopped"

    def checkpoint_signed(self) -> None:
        """A new checkpoint was signed: push it to the witnesses now."""
        self._push_not_before.clear()
        self._wakeup.set()

    def _changed(self) -> None:
        """The handler stored a pushed membership list or decision."""
        self._reload_directory()
        self._push_not_before.clear()
        self._wakeup.set()

    # -- periodic work ---------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                self.tick()
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
        """One round of periodic work: enroll, refresh the list, push checkpoints."""
        conn, now = self._db(), self._clock()
        self._reload_directory()
        pending = self.outbox.list_pending()
        queued = {(e.message_type, e.recipient_node_id) for e in pending}
        observatory = self._config.observatory_node_id
        membership = store.membership(conn, observatory)
        status = None if membership is None else membership.status
        renew = membership is not None and enrollment.renewal_due(membership, now)
        if (status in (None, "pending") or renew) and now >= self._next_enroll \
                and (ENROLL, observatory) not in queued:
            # recorded as pending once the observatory acknowledges it (`enrollment`)
            self._send(enrollment.request(self._keys, self._config), self._observatory())
            self._next_enroll = now + (RENEWAL_POLL_SECONDS if renew
                                       else self._config.enrollment_poll_seconds)
        if status != "approved":
            return
        current = self._directory.current(now)
        if (now >= self._next_list or current is None) and (LIST_QUERY, observatory) not in queued:
            if now >= self._next_list:
                self._send(members.query(conn, self._config), self._observatory())
                self._next_list = now + (self._config.membership_refresh_seconds
                                         if current is not None
                                         else self._config.enrollment_poll_seconds)
        for witness in self.witnesses(now):
            if (PUSH, witness.node_id) in queued or now < self._push_not_before.get(
                    witness.node_id, 0):
                continue
            push = our_log.next_push(conn, witness.node_id)
            if push is not None:
                self._send(push, witness)
                self._push_not_before[witness.node_id] = now + self._config.push_check_seconds
        if now >= self._next_housekeeping:
            self._next_housekeeping = now + HOUSEKEEPING_SECONDS
            ReplayGuard(conn).purge(now)
            self.outbox.purge_finished(now - KEEP_FINISHED_SECONDS)

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

    def _observatory(self) -> Witness:
        return Witness(self._config.observatory_node_id, self._observatory_key,
                       peer_id_from_public_key(self._observatory_key.raw()),
                       tuple(self._config.observatory_addrs))

    def _send(self, message: Message, to: Witness) -> str:
        envelope = seal(message, sender=self._keys.node_id, recipient=to.node_id,
                        signing_key=self._keys.identity, now=self._clock(), ttl=DEFAULT_TTL)
        self.outbox.enqueue(envelope, peer_id=to.peer_id, addrs=to.addrs,
                            protocol_id=PROTOCOL_ID)
        return envelope.envelope_id

    async def send_statistics(self, release: StatisticsRelease) -> None:
        """Queue an approved statistics release for the observatory (issue 6)."""
        envelope_id = self._send(release, self._observatory())
        with write_transaction(self._db()):
            statistics_delivery.record_queued(self._db(), envelope_id, release.release_id,
                                              self._clock() // 3600)
        self._wakeup.set()

    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None, "the service is not started"
        return self._conn

    def _reload_directory(self) -> None:
        stored = store.membership_list(self._db(), self._config.observatory_node_id)
        if stored is not None:
            self._directory = self._directory.with_members(stored.signed.body)

    # -- answers to what the outbox delivered ----------------------------------------------

    async def _on_response(self, entry: OutboxEntry, frame: bytes) -> None:
        """Believe an answer only if it is signed by whom we asked and answers our request;
        then store what it says. `Refused` gives the item up; any other error retries it."""
        now = self._clock()
        directory = self._directory
        # Not recorded in the replay guard: an answer is bound to our request by
        # `in_reply_to` and is acted on at most once per outbox item.
        verified = verify_frame(frame, local_node_id=self._keys.node_id, now=now,
                                lookup_key=lambda node_id: directory.key_of(node_id, now),
                                is_replay=lambda *_: False)
        envelope, answer = verified.envelope, verified.message
        if envelope.sender != entry.recipient_node_id:
            raise BadAnswer("an answer from another node")
        if envelope.in_reply_to != entry.envelope_id:
            raise BadAnswer("an answer to another request")
        if type(answer) not in _RESPONSES.get(entry.message_type, ()):
            raise BadAnswer("not a response this request allows")
        conn = self._db()
        refused: Refused | None = None
        outcome = "accepted"
        with write_transaction(conn):
            try:
                outcome = self._store_answer(conn, entry, answer, now)
            except Refused as exc:  # what it says is kept; the item is given up
                refused, outcome = exc, exc.code
        log.info("federation: %s answered %s: %s", entry.recipient_node_id,
                 entry.message_type, outcome)
        if entry.message_type == PUSH:
            self._push_not_before[entry.recipient_node_id] = (
                0 if outcome in _PUSH_AGAIN else now + self._config.push_check_seconds)
        if entry.message_type != PUSH or outcome in _PUSH_AGAIN:
            self._reload_directory()
            self._wakeup.set()
        if refused is not None:
            raise refused

    def _store_answer(self, conn: sqlite3.Connection, entry: OutboxEntry, answer: Message,
                      now: int) -> str:
        if entry.message_type == ENROLL:
            outcome = enrollment.handle_answer(conn, answer, keys=self._keys,
                                               config=self._config, now=now)
            if outcome == "approved":
                self._next_list = 0  # fetch the membership list at once
            return outcome
        if entry.message_type == LIST_QUERY:
            body = members.handle_answer(conn, answer, node_id=self._keys.node_id,
                                         config=self._config, now=now)
            return "unchanged" if body is None else f"sequence {body.sequence}"
        if entry.message_type == statistics_delivery.MESSAGE_TYPE:
            return statistics_delivery.handle_answer(conn, entry.envelope_id, answer,
                                                     now // 3600)
        if entry.message_type == PUSH:
            key = self._directory.key_of(entry.recipient_node_id, now)
            if key is None:
                raise BadAnswer("the witness is no longer believed")
            return our_log.handle_answer(conn, answer, node_id=self._keys.node_id,
                                         log_key=self._keys.identity_public,
                                         witness=entry.recipient_node_id, witness_key=key,
                                         now=now)
        raise BadAnswer("an answer to a message this node does not send")
