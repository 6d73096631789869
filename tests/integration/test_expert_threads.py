"""An engagement's end-to-end encrypted thread across two real nodes (issue 16): each node
runs its `FederationService` (real libp2p host, outbox, periodic work) in this process over
real SQLite files; the observatory is `ObservatoryDouble` (real host, certificates, lists).

Node a's coordinator engaged an expert of node b (the engagement recorded on both, as
`needs.pick` and `received_needs.engaged` record it). They write to each other, with a file;
a message written while b is offline waits and arrives, in order, when b returns. What a
member node may send otherwise is refused and nothing is stored: the same message again
(or another in its place), a flipped bit, a message from a third person (another expert);
another expert of b cannot read it. No thread text is in plaintext in any file under either
data directory. Deleting the case on a erases the thread there and, through the outbox, on
b, which then takes no more messages. Every step is in both nodes' custody chains."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts
from node.accounts import UnlockedStaff
from node.context import NodeContext, open_node
from node.demo import tiny_png
from node.experts import engagements, profiles
from node.experts.thread_content import checked
from node.experts.threads import ThreadClosed, ThreadUnavailable
from node.federation.service import FederationService
from node.intake.models import Consent, ReportInput
from protocol.engagements import ThreadBody, ThreadMessage
from tests.conftest import files_containing, make_node
from tests.integration.test_federation_double import ObservatoryDouble, listen_port
from tests.integration.test_federation_peers import (
    FAST,
    FedNode,
    approved,
    eventually,
    knows,
)
from tests.team import make_team
from transport.host import HostConfig
from transport.queue import OutboxQueue

PASS = "an expert's long enough passphrase"
CANARY = "THREAD-CANARY-71c2"


class ThreadNode(FedNode):
    """A `FedNode` whose federation service carries the node's threads."""

    async def restart(self) -> None:
        assert self.config is not None
        self.service = FederationService(
            self.ctx.db, self.ctx.keys, self.config, backoff=FAST, request_timeout=5,
            host_config=HostConfig(listen_host="127.0.0.1", listen_port=self.port,
                                   dial_timeout=2), threads=self.ctx.threads)
        await self.service.start()


def expert_of(ctx: NodeContext, username: str) -> UnlockedStaff:
    """An expert account with a signed profile (their own signing key)."""
    with ctx.db.write() as conn:
        accounts.create(conn, username, PASS, {"expert"}, pw.INSECURE_FAST_FOR_TESTS, 0,
                        certifier=ctx.keys.certifier)
    person = accounts.unlock(ctx.db.read(), username, PASS)
    profiles.save_profile(ctx.db, ctx.audit, person, node_id=ctx.keys.node_id,
                          specialties=["forensic_medicine"], languages=["fr"],
                          countries=["CD"], regions=[], modes=["remote"],
                          now=int(time.time()))
    return person


def expert_key(ctx: NodeContext, expert: UnlockedStaff) -> str:
    return profiles.signing_key(ctx.db.read(), expert).verify_key.raw().hex()


def engage(a: NodeContext, coordinator: UnlockedStaff, report_id: str, b: NodeContext,
           expert: UnlockedStaff) -> str:
    """The engagement as both nodes keep it after the coordinator's pick."""
    now = int(time.time())
    e = engagements.Engagement(
        engagement_id=secrets.token_hex(16), need_id=secrets.token_hex(16),
        requesting_node=a.keys.node_id, home_node=b.keys.node_id, report_id=report_id,
        coordinator_id=coordinator.member.id, expert_staff_id=None,
        expert_key=expert_key(b, expert), expert_box_key=expert.member.public_key.raw().hex(),
        coordinator_key=engagements.coordinator_signing_key(coordinator).verify_key.raw().hex(),
        coordinator_box_key=coordinator.member.public_key.raw().hex(),
        description_sealed=None, decided_at=now, ends_at=now + 14 * 86400, state="active")
    with a.db.write() as conn:
        engagements.record(conn, e)
    with b.db.write() as conn:
        engagements.record(conn, e.__class__(**{**e.__dict__, "report_id": None,
                                                "coordinator_id": None,
                                                "expert_staff_id": expert.member.id}))
    return e.engagement_id


@pytest.fixture
async def network(tmp_path: Path) -> AsyncIterator[tuple[ThreadNode, ThreadNode]]:
    observatory = ObservatoryDouble()
    await observatory.start()
    nodes = [ThreadNode(open_node(make_node(tmp_path / name),
                                  staff_params=pw.INSECURE_FAST_FOR_TESTS,
                                  receipt_params=pw.INSECURE_FAST_FOR_TESTS), listen_port())
             for name in ("a", "b")]
    a, b = nodes
    try:
        await a.start(observatory, [b])
        await b.start(observatory, [a])
        for n, other in ((a, b), (b, a)):
            await eventually(lambda n=n, o=other: approved(n) and knows(n, o),  # type: ignore[misc]
                             "both members, each knowing the other")
        yield a, b
    finally:
        for n in nodes:
            await n.stop()
            n.ctx.close()
        await observatory.stop()


def count(n: FedNode, thread_id: str) -> int:
    return int(n.conn().execute("SELECT count(*) FROM expert_thread_messages "
                                "WHERE thread_id = ?", (thread_id,)).fetchone()[0])


def outbox_outcome(n: FedNode, envelope_id: str) -> tuple[str, str | None]:
    row = n.conn().execute("SELECT status, last_error FROM transport_outbox "
                           "WHERE envelope_id = ?", (envelope_id,)).fetchone()
    return (str(row[0]), row[1]) if row is not None else ("", None)


def send_raw(n: ThreadNode, to: FedNode, message: Any) -> str:
    """Hand a message to `n`'s outbox for `to`, as its periodic work does; its envelope id."""
    assert n.service is not None
    target = n.service._member_target(to.node_id, int(time.time()))
    assert target is not None
    envelope_id = n.service._send(message, target)
    return envelope_id


def actions(n: FedNode) -> set[str]:
    return {r[0] for r in n.conn().execute("SELECT action FROM audit_log")}


async def test_a_thread_between_two_nodes(network: tuple[ThreadNode, ThreadNode]) -> None:
    a, b = network
    team = make_team(a.ctx)
    coordinator = team.coordinator
    expert = expert_of(b.ctx, "expert-amani")
    other_expert = expert_of(b.ctx, "expert-other")
    report = a.ctx.intake.submit(ReportInput(narrative="a case", consent=Consent(
        sharing=True, share_account=True, share_other_orgs=True, share_scope_set=True)),
        DataKey.generate(), [], "test").report_id
    thread = engage(a.ctx, coordinator, report, b.ctx, expert)

    # Send and read: the coordinator writes; the expert's node keeps ciphertext; the expert
    # reads it with their own key.
    a.ctx.threads.send(coordinator, thread, checked(f"{CANARY} first question", None))
    assert a.service is not None
    a.service.wake()
    await eventually(lambda: count(b, thread) == 1, "the message on b")
    assert b.ctx.threads.unread(expert.member.id) == 1
    _, shown = b.ctx.threads.read(expert, thread)
    assert [(m.mine, m.content.text if m.content else None) for m in shown] == [
        (False, f"{CANARY} first question")]
    assert b.ctx.threads.unread(expert.member.id) == 0

    # Reply, with a file: the coordinator reads both, in order, and opens the file.
    png = tiny_png(3)
    b.ctx.threads.send(expert, thread, checked(f"{CANARY} answer", ("scan.png", png)))
    await eventually(lambda: count(a, thread) == 2, "the reply on a")
    _, shown = a.ctx.threads.read(coordinator, thread)
    assert [(m.mine, m.content.text if m.content else None) for m in shown] == [
        (True, f"{CANARY} first question"), (False, f"{CANARY} answer")]
    reply = shown[1]
    file = a.ctx.threads.attachment(coordinator, thread, reply.message_id)
    assert (file.filename, file.media_type, file.data) == ("scan.png", "image/png", png)

    # Another expert of b, and another coordinator of a, do not see it.
    for ctx, person in ((b.ctx, other_expert), (a.ctx, team.root)):
        with pytest.raises(ThreadUnavailable):
            ctx.threads.read(person, thread)

    # Offline: b is stopped; two messages wait on a and arrive in order when it returns.
    await b.stop()
    a.ctx.threads.send(coordinator, thread, checked(f"{CANARY} while you were away", None))
    a.ctx.threads.send(coordinator, thread, checked(f"{CANARY} and again", None))
    await eventually(lambda: a.conn().execute(
        "SELECT count(*) FROM transport_outbox WHERE message_type = 'expert.thread_message v1' "
        "AND status = 'pending'").fetchone()[0] == 2, "two messages waiting for b")
    assert count(b, thread) == 2
    await b.restart()
    await eventually(lambda: count(b, thread) == 4, "both delivered when b returned")
    _, shown = b.ctx.threads.read(expert, thread)
    assert [m.content.text for m in shown if m.content and not m.mine] == [
        f"{CANARY} first question", f"{CANARY} while you were away", f"{CANARY} and again"]

    # Refused, nothing stored: the same message again, in a new envelope (sequence 1 again)
    row = b.conn().execute(
        "SELECT m.message_id, m.sequence, m.sealed, m.sent_at, t.local_box_key "
        "FROM expert_thread_messages m JOIN expert_threads t ON t.thread_id = m.thread_id "
        "AND t.local_key = m.reader_key WHERE m.thread_id = ? AND m.author_key = ? "
        "AND m.sequence = 1", (thread, engagements.coordinator_signing_key(
            coordinator).verify_key.raw().hex())).fetchone()
    signing = engagements.coordinator_signing_key(coordinator)

    def body(sequence: int, sealed: bytes, message_id: str | None = None,
             author: str | None = None) -> ThreadBody:
        return ThreadBody(thread_id=thread, message_id=message_id or secrets.token_hex(16),
                          sequence=sequence,
                          author_key=author or signing.verify_key.raw().hex(),
                          recipient_box_key=row[4],
                          sealed=base64.b64encode(sealed).decode(), sent_at=int(time.time()))

    replay = ThreadMessage.sign(ThreadBody(
        thread_id=thread, message_id=row[0], sequence=row[1],
        author_key=signing.verify_key.raw().hex(), recipient_box_key=row[4],
        sealed=base64.b64encode(bytes(row[2])).decode(), sent_at=row[3]), signing)
    in_its_place = ThreadMessage.sign(body(3, bytes(row[2])), signing)
    legit = ThreadMessage.sign(body(4, bytes(row[2])), signing)
    sealed = bytearray(base64.b64decode(legit.body.sealed))
    sealed[len(sealed) // 2] ^= 1
    flipped = ThreadMessage.model_validate({
        **legit.to_json_object(), "body": {**legit.body.to_json_object(),
                                           "sealed": base64.b64encode(sealed).decode()}})
    signature = bytearray(bytes.fromhex(legit.author_signature))
    signature[0] ^= 1
    bad_signature = ThreadMessage.model_validate({
        **legit.to_json_object(), "author_signature": signature.hex()})
    third = expert_of(a.ctx, "expert-third")  # a third person, signing with their own key
    third_key = profiles.signing_key(a.ctx.db.read(), third)
    intruder = ThreadMessage.sign(body(4, bytes(row[2]),
                                       author=third_key.verify_key.raw().hex()), third_key)
    gap = ThreadMessage.sign(body(9, bytes(row[2])), signing)
    expected = {"replayed": [replay, in_its_place], "not_authenticated": [flipped,
                                                                          bad_signature],
                "not_a_party": [intruder]}
    sent = {code: [send_raw(a, b, m) for m in messages] for code, messages in expected.items()}
    gap_envelope = send_raw(a, b, gap)
    a.service.wake()
    for code, envelopes in sent.items():
        for envelope_id in envelopes:
            await eventually(lambda e=envelope_id, c=code: outbox_outcome(a, e) == (  # type: ignore[misc]
                "failed", c), f"refused as {code}")
    # a number ahead of the next is not given up: it waits for the ones before it
    await eventually(lambda: outbox_outcome(a, gap_envelope)[1] == "thread_waiting",
                     "a gap retried")
    assert outbox_outcome(a, gap_envelope)[0] == "pending"
    assert count(b, thread) == 4
    with a.ctx.db.write() as conn:  # not to be tried for ever during the rest of the test
        OutboxQueue.give_up_in(conn, gap_envelope, "test", time.time())

    # Canary: no thread text in plaintext anywhere under either data directory.
    for n in (a, b):
        assert files_containing(n.ctx.datadir.root, CANARY.encode()) == []

    # Custody on both nodes.
    assert {"expert.thread_sent", "expert.thread_received", "expert.thread_read",
            "expert.thread_file_opened"} <= actions(a)
    assert {"expert.thread_sent", "expert.thread_received", "expert.thread_read"} <= actions(b)

    # The case is deleted on a: the thread is erased there at once, and on b when the
    # erasure arrives; the expert can write no more.
    a.ctx.deletion.by_staff(coordinator, report, "other")
    assert count(a, thread) == 0
    await eventually(lambda: count(b, thread) == 0, "the thread erased on b")
    with pytest.raises(ThreadClosed):
        b.ctx.threads.send(expert, thread, checked("one more", None))
    assert "expert.thread_erased" in actions(a) and "expert.thread_erased" in actions(b)
