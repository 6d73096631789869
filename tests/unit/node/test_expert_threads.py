"""Threads on one node (issue 16), and their parsers under Hypothesis: a coordinator and an
expert of the same organisation (delivered without the network), what a message may carry,
what never opens, and any `ThreadMessage` a member may send refused with nothing stored
(or kept only when it is exactly the next message of the other party). Real SQLite, real
sealed boxes and signatures."""

from __future__ import annotations

import base64
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto import passphrase as pw
from crypto.keys import BoxSecretKey, SigningKey
from node import accounts, errors
from node.accounts import UnlockedStaff
from node.context import NodeContext
from node.demo import tiny_png
from node.experts import directory, engagements, profiles, thread_content
from node.experts.thread_content import Attachment, Content, Unreadable, checked
from node.experts.threads import ThreadClosed, ThreadRefused, ThreadUnavailable
from observatory.context import open_observatory
from protocol.engagements import ThreadBody, ThreadMessage
from protocol.errors import BadSignature
from tests.expert_vetting import EXPERT_PASSPHRASE, vetted_expert
from tests.team import Team, make_team
from tests.unit.protocol.expert_strategies import thread_messages

PASS = "an expert's long enough passphrase"
PEER = "5e" * 16


def expert_of(ctx: NodeContext, username: str = "expert-local") -> UnlockedStaff:
    with ctx.db.write() as conn:
        accounts.create(conn, username, PASS, {"expert"}, pw.INSECURE_FAST_FOR_TESTS,
                        0, certifier=ctx.keys.certifier)
    person = accounts.unlock(ctx.db.read(), username, PASS)
    profiles.save_profile(ctx.db, ctx.audit, person, node_id=ctx.keys.node_id,
                          specialties=["psychosocial_support"], languages=["sw"],
                          countries=["CD"], regions=[], modes=["remote"],
                          now=int(time.time()))
    return person


def local_engagement(ctx: NodeContext, coordinator: UnlockedStaff,
                     expert: UnlockedStaff) -> str:
    """An engagement of this node's own expert: one record, both parties here."""
    now = int(time.time())
    e = engagements.Engagement(
        engagement_id=secrets.token_hex(16), need_id=secrets.token_hex(16),
        requesting_node=ctx.keys.node_id, home_node=ctx.keys.node_id, report_id=None,
        coordinator_id=coordinator.member.id, expert_staff_id=expert.member.id,
        expert_key=profiles.signing_key(ctx.db.read(), expert).verify_key.raw().hex(),
        expert_box_key=expert.member.public_key.raw().hex(),
        coordinator_key=engagements.coordinator_signing_key(coordinator).verify_key.raw().hex(),
        coordinator_box_key=coordinator.member.public_key.raw().hex(),
        description_sealed=None, decided_at=now, ends_at=now + 86400, state="active")
    with ctx.db.write() as conn:
        engagements.record(conn, e)
    return e.engagement_id


@pytest.fixture
def pair(node_ctx: NodeContext) -> tuple[Team, UnlockedStaff, str]:
    team = make_team(node_ctx)
    expert = expert_of(node_ctx)
    return team, expert, local_engagement(node_ctx, team.coordinator, expert)


def texts(ctx: NodeContext, who: UnlockedStaff, thread: str) -> list[tuple[bool, str | None]]:
    _, shown = ctx.threads.read(who, thread)
    return [(m.mine, m.content.text if m.content else None) for m in shown]


def test_both_parties_on_one_node(node_ctx: NodeContext,
                                  pair: tuple[Team, UnlockedStaff, str]) -> None:
    team, expert, thread = pair
    node_ctx.threads.send(team.coordinator, thread, checked("Can you see her on Monday?", None))
    assert node_ctx.threads.unread(expert.member.id) == 1
    node_ctx.threads.send(expert, thread, checked("Yes, at ten.", ("note.txt", b"agenda\n")))
    assert texts(node_ctx, expert, thread) == [(False, "Can you see her on Monday?"),
                                               (True, "Yes, at ten.")]
    assert texts(node_ctx, team.coordinator, thread) == [(True, "Can you see her on Monday?"),
                                                         (False, "Yes, at ten.")]
    assert node_ctx.threads.unread(expert.member.id) == 0
    # nothing waits for the network: both copies were delivered here
    assert node_ctx.db.read().execute(
        "SELECT count(*) FROM expert_thread_messages WHERE wire IS NOT NULL").fetchone()[0] == 0
    # a coordinator who did not engage the expert, and a caseworker, see nothing of it
    for person in (team.root, team.caseworker):
        with pytest.raises(ThreadUnavailable):
            node_ctx.threads.read(person, thread)
    # a flipped bit at rest: that message is never shown, the others still are
    (sealed,) = node_ctx.db.read().execute(
        "SELECT sealed FROM expert_thread_messages WHERE reader_key = author_key AND "
        "sequence = 1 AND thread_id = ? AND reader_key = (SELECT local_key FROM "
        "expert_threads WHERE staff_id = ?)", (thread, team.coordinator.member.id)).fetchone()
    altered = bytearray(sealed)
    altered[-1] ^= 1
    with node_ctx.db.write() as w:
        w.execute("UPDATE expert_thread_messages SET sealed = ? WHERE sealed = ?",
                  (bytes(altered), sealed))
    assert texts(node_ctx, team.coordinator, thread) == [(True, None), (False, "Yes, at ten.")]
    # ended: no more messages either way
    with node_ctx.db.write() as w:
        engagements.end(w, thread)
    for person in (team.coordinator, expert):
        with pytest.raises(ThreadClosed):
            node_ctx.threads.send(person, thread, checked("still there?", None))


def test_a_coordinator_thread_is_opened_by_an_introduction(node_ctx: NodeContext) -> None:
    team = make_team(node_ctx)
    peer_sign, peer_box = SigningKey.generate(), BoxSecretKey.generate()
    thread_id = secrets.token_hex(16)
    with pytest.raises(errors.Forbidden):
        node_ctx.threads.introduce(team.caseworker, thread_id=thread_id, peer_node=PEER,
                                   peer_key=peer_sign.verify_key.raw().hex(),
                                   peer_box_key=peer_box.public_key.raw().hex())
    opened = node_ctx.threads.introduce(team.coordinator, thread_id=thread_id, peer_node=PEER,
                                        peer_key=peer_sign.verify_key.raw().hex(),
                                        peer_box_key=peer_box.public_key.raw().hex())
    assert (opened.kind, opened.open) == ("coordinators", True)
    node_ctx.threads.send(team.coordinator, thread_id, checked("We may share a case.", None))
    (wire,) = node_ctx.db.read().execute(
        "SELECT wire FROM expert_thread_messages WHERE thread_id = ?", (thread_id,)).fetchone()
    assert wire is not None  # waits for the federation's outbox
    [(peer, message)] = node_ctx.threads.due()
    assert peer == PEER and isinstance(message, ThreadMessage)
    body = message.verify()
    # only the other coordinator can open what travels
    assert thread_content.parse(peer_box.open(base64.b64decode(body.sealed)),
                                thread_id=thread_id, message_id=body.message_id).text == (
        "We may share a case.")
    # their answer is kept; the same one again, or one signed by anybody else, is not
    reply = thread_content.seal(checked("Agreed.", None), thread_id=thread_id,
                                message_id="ab" * 16, to=team.coordinator.member.public_key
                                .raw().hex())
    answer = ThreadMessage.sign(ThreadBody(
        thread_id=thread_id, message_id="ab" * 16, sequence=1,
        author_key=peer_sign.verify_key.raw().hex(),
        recipient_box_key=team.coordinator.member.public_key.raw().hex(),
        sealed=base64.b64encode(reply).decode(), sent_at=int(time.time())), peer_sign)
    with node_ctx.db.write() as conn:
        assert node_ctx.threads.receive_in(conn, answer, sender=PEER,
                                           now=int(time.time())) == "kept"
    for message, sender, code in ((answer, PEER, "replayed"),
                                  (answer, "6f" * 16, "not_a_party")):
        with pytest.raises(ThreadRefused) as refused, node_ctx.db.write() as conn:
            node_ctx.threads.receive_in(conn, message, sender=sender, now=int(time.time()))
        assert refused.value.code == code
    assert texts(node_ctx, team.coordinator, thread_id) == [(True, "We may share a case."),
                                                            (False, "Agreed.")]


def test_what_a_message_may_carry() -> None:
    with pytest.raises(thread_content.EmptyMessage):
        checked("   ", None)
    with pytest.raises(thread_content.MessageTooLong):
        checked("x" * (thread_content.MAX_TEXT_CHARS + 1), None)
    with pytest.raises(thread_content.AttachmentTooLarge):
        checked("", ("big.png", tiny_png(1) + bytes(thread_content.MAX_ATTACHMENT_BYTES)))
    for name, data in (("page.html", b"<html><script>x</script>"), ("a.svg", b"<svg/>"),
                       ("run.exe", b"MZ\x90\x00" + bytes(64))):
        with pytest.raises(thread_content.AttachmentNotAllowed):
            checked("", (name, data))
    kept = checked("", ("../../etc/\u202escan.png", tiny_png(2)))
    assert kept.attachment == Attachment("scan.png", "image/png", tiny_png(2))


ids = st.text("0123456789abcdef", min_size=32, max_size=32)


@settings(max_examples=200, deadline=None)
@given(opened=st.binary(max_size=300) | st.builds(
    lambda head, tail: head + tail, st.sampled_from([b"backup-expert-thread-v1\x00"]),
    st.binary(max_size=300)), thread_id=ids, message_id=ids)
def test_any_plaintext_parses_or_is_unreadable(opened: bytes, thread_id: str,
                                               message_id: str) -> None:
    try:
        thread_content.parse(opened, thread_id=thread_id, message_id=message_id)
    except Unreadable:
        pass


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=200), with_file=st.booleans(), thread_id=ids, message_id=ids,
       other=ids)
def test_content_round_trips_and_binds_its_place(text: str, with_file: bool, thread_id: str,
                                                 message_id: str, other: str) -> None:
    try:
        content = checked(text, ("f.png", tiny_png(1)) if with_file else None)
    except thread_content.EmptyMessage:
        assert not text.strip() and not with_file
        return
    plain = thread_content.plaintext(content, thread_id=thread_id, message_id=message_id)
    assert thread_content.parse(plain, thread_id=thread_id, message_id=message_id) == content
    if other != message_id:
        with pytest.raises(Unreadable):
            thread_content.parse(plain, thread_id=thread_id, message_id=other)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=thread_messages(), to_the_thread=st.booleans(), sequence=st.integers(1, 3),
       stranger=st.binary(min_size=32, max_size=32))
def test_any_thread_message_from_a_member_is_refused(
        node_ctx: NodeContext, pair: tuple[Team, UnlockedStaff, str], message: Any,
        to_the_thread: bool, sequence: int, stranger: bytes) -> None:
    """Random messages (to no thread here), and messages aimed at the coordinator's side
    of a real thread signed by a stranger: refused, nothing stored."""
    team, _, thread = pair
    if to_the_thread:
        key = SigningKey(stranger)
        message = ThreadMessage.sign(message.body.model_copy(update={
            "thread_id": thread, "author_key": key.verify_key.raw().hex(),
            "recipient_box_key": team.coordinator.member.public_key.raw().hex(),
            "sequence": sequence}), key)
    before = node_ctx.db.read().execute(
        "SELECT count(*) FROM expert_thread_messages").fetchone()[0]
    try:
        with node_ctx.db.write() as conn:
            node_ctx.threads.receive_in(conn, message, sender=node_ctx.keys.node_id,
                                        now=int(time.time()))
    except (ThreadRefused, BadSignature):
        pass
    else:
        raise AssertionError("a message from nobody in the thread was kept")
    assert node_ctx.db.read().execute(
        "SELECT count(*) FROM expert_thread_messages").fetchone()[0] == before


def test_content_is_what_was_written() -> None:
    assert checked(" hello ", None) == Content("hello")


def test_a_revoked_credential_closes_the_thread(node_ctx: NodeContext, tmp_path: Path) -> None:
    team = make_team(node_ctx)
    vetted = vetted_expert(node_ctx, [node_ctx], tmp_path)
    expert = accounts.unlock(node_ctx.db.read(), vetted.username, EXPERT_PASSPHRASE)
    thread = local_engagement(node_ctx, team.coordinator, expert)
    node_ctx.threads.send(team.coordinator, thread, checked("Hello.", None))
    assert node_ctx.threads.close_for_ended_credentials() == 0  # listed: stays open
    later = int(time.time()) + 10
    observatory = open_observatory(vetted.observatory_root, clock=lambda: later)
    try:
        observatory.experts.revoke(vetted.serial, "misconduct", later)
        with observatory.db.write() as conn:
            signed = observatory.experts.current_in(conn, later)
    finally:
        observatory.close()
    with node_ctx.db.write() as conn:
        directory.accept_in(conn, signed, observatory_key=vetted.observatory_key, now=later)
    assert node_ctx.threads.close_for_ended_credentials() == 2  # both parties' sides
    for person in (team.coordinator, expert):
        with pytest.raises(ThreadClosed):
            node_ctx.threads.send(person, thread, checked("Still there?", None))
    ended = engagements.get(node_ctx.db.read(), thread)
    assert ended is not None and ended.state == "ended"
    assert node_ctx.db.read().execute(
        "SELECT count(*) FROM audit_log WHERE action = 'expert.thread_closed' "
        "AND detail = 'credential_revoked'").fetchone()[0] == 2
