"""Mobilising experts on one real node database (issue 16): posting a need, matching it
against a signed expert directory, answers signed by the experts, picking one, escalation
the coordinator must confirm, deadlines, and refusals that store nothing. The network
parts run across real processes in tests/integration/test_expert_needs_network.py."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import pytest

from crypto import passphrase as pw
from crypto.keys import BoxSecretKey, SigningKey
from node import accounts
from node.context import NodeContext
from node.experts import (
    directory,
    engagements,
    need_exchange,
    needs,
    outgoing,
    profiles,
    received_needs,
)
from node.experts.received_needs import NeedRefused
from node.federation.errors import NOT_KNOWN_YET, NotKnownYet, Refused
from protocol.delivery import DeliveryAck
from protocol.encoding import canonical_json
from protocol.engagements import AnswerBody, ExpertNeed, SignedAnswer
from protocol.errors import BadSignature
from protocol.experts import (
    CredentialBody,
    DirectoryBody,
    DirectoryEntry,
    ExpertCredential,
    ExpertDirectory,
    ExpertProfile,
    ExpertRefused,
)

PASS = "a long enough passphrase"
OTHER_NODE = "b0" * 16
OBSERVATORY_ID = "0b" * 16
PROFILE = ExpertProfile(specialties=("forensic_medicine",), languages=("fr", "sw"),
                        countries=("CD",), regions=("CD-NK",), modes=("on_site", "remote"))


@dataclass
class Expert:
    key: SigningKey
    box: str
    home: str
    entry: DirectoryEntry


def credential(observatory: SigningKey, *, key: str, box: str, home: str, now: int,
               signer: SigningKey | None = None) -> ExpertCredential:
    return ExpertCredential.issue(CredentialBody(
        serial=secrets.token_hex(16), issuer=OBSERVATORY_ID, home_node=home, expert_key=key,
        box_key=box, specialties=PROFILE.specialties, vouch_id=secrets.token_hex(16),
        not_before=now - 10, not_after=now + 86_400 * 30), signer or observatory)


def publish(ctx: NodeContext, observatory: SigningKey, entries: list[DirectoryEntry],
            now: int, sequence: int) -> None:
    body = DirectoryBody(issuer=OBSERVATORY_ID, sequence=sequence, issued_at=now,
                         entries=tuple(entries))
    with ctx.db.write() as conn:
        directory.accept_in(conn, ExpertDirectory.issue(body, observatory),
                            observatory_key=observatory.verify_key, now=now)


@pytest.fixture
def world(node_ctx: NodeContext):  # type: ignore[no-untyped-def]
    return make_world(node_ctx)


def make_world(node_ctx: NodeContext) -> dict:  # type: ignore[type-arg]
    """A coordinator and a vetted expert on this node, and a directory listing them with
    two experts of another node (one available this week, one away)."""
    now = int(time.time())
    observatory = SigningKey.generate()
    with node_ctx.db.write() as conn:
        accounts.create(conn, "coord", PASS, {"coordinator"}, pw.INSECURE_FAST_FOR_TESTS, 0,
                        certifier=node_ctx.keys.certifier)
        accounts.create(conn, "local-expert", PASS, {"expert"}, pw.INSECURE_FAST_FOR_TESTS, 0,
                        certifier=node_ctx.keys.certifier)
    coordinator = accounts.unlock(node_ctx.db.read(), "coord", PASS)
    expert = accounts.unlock(node_ctx.db.read(), "local-expert", PASS)
    profiles.save_profile(node_ctx.db, node_ctx.audit, expert, node_id=node_ctx.keys.node_id,
                          specialties=["forensic_medicine"], languages=["fr", "sw"],
                          countries=["CD"], regions=["CD-NK"], modes=["on_site", "remote"],
                          now=now)
    stored = profiles.get(node_ctx.db.read(), expert.member.id)
    assert stored is not None
    local_cred = credential(observatory, key=stored.signing_public_key.hex(),
                            box=expert.member.public_key.raw().hex(),
                            home=node_ctx.keys.node_id, now=now)
    with node_ctx.db.write() as conn:
        conn.execute("UPDATE expert_profiles SET credential = ? WHERE staff_id = ?",
                     (canonical_json(local_cred.to_json_object()).decode(), expert.member.id))
    remote_key = SigningKey.generate()
    remote_box = BoxSecretKey.generate()
    remote_cred = credential(observatory, key=remote_key.verify_key.raw().hex(),
                             box=remote_box.public_key.raw().hex(), home=OTHER_NODE, now=now)
    away_key = SigningKey.generate()
    away_cred = credential(observatory, key=away_key.verify_key.raw().hex(), box="0e" * 32,
                           home=OTHER_NODE, now=now)
    entries = [DirectoryEntry(credential=local_cred, profile=PROFILE, availability="now"),
               DirectoryEntry(credential=remote_cred, profile=PROFILE, availability="this_week"),
               DirectoryEntry(credential=away_cred, profile=PROFILE, availability="away")]
    publish(node_ctx, observatory, entries, now, 1)
    return {"now": now, "observatory": observatory, "coordinator": coordinator,
            "expert": expert, "remote_key": remote_key, "remote_box": remote_box,
            "away_key": away_key, "entries": entries}


def post(ctx: NodeContext, w: dict, **changes: object) -> tuple[str, int]:  # type: ignore[type-arg]
    fields: dict[str, object] = dict(
        specialty="forensic_medicine", languages=["sw"], country="CD", regions=["CD-NK"],
        mode="on_site", urgency="urgent", deadline_hours=24,
        description="Canary-need-7731: a medico-legal exam in Goma", report_id=None,
        now=w["now"])
    fields.update(changes)
    return needs.post(ctx.db, ctx.audit, w["coordinator"], node_id=ctx.keys.node_id,
                      observatory_key=w["observatory"].verify_key, **fields)  # type: ignore[arg-type]


def signed(w: dict, need_id: str, node_id: str, *, key: SigningKey | None = None,  # type: ignore[type-arg]
           answer: str = "accept") -> SignedAnswer:
    signer = key or w["remote_key"]
    return SignedAnswer.sign(AnswerBody(
        need_id=need_id, requesting_node=node_id, expert_key=signer.verify_key.raw().hex(),
        answer=answer, reason=None if answer == "accept" else "unavailable",
        answered_at=w["now"]), signer)


def test_a_need_reaches_matching_experts_here_and_on_their_home_node(
        node_ctx: NodeContext, world: dict) -> None:  # type: ignore[type-arg]
    need_id, reached = post(node_ctx, world)
    assert reached == 2  # the available local and remote experts, not the one away
    conn = node_ctx.db.read()
    [mine] = received_needs.for_expert(conn, world["expert"].member.id, world["now"])
    assert mine.need.need_id == need_id and mine.requesting_node == node_ctx.keys.node_id
    assert received_needs.unseen(conn, world["expert"].member.id, world["now"]) == 1
    [(_, recipient, message)] = outgoing.waiting(conn)
    assert recipient == OTHER_NODE and isinstance(message, ExpertNeed)
    assert message.experts == (world["remote_key"].verify_key.raw().hex(),)
    # Only structured fields travel; the description is sealed at rest.
    assert b"Canary-need-7731" not in canonical_json(message.to_json_object())
    for path in node_ctx.datadir.root.rglob("node.db*"):
        assert b"Canary-need-7731" not in path.read_bytes()


def test_answers_are_signed_by_the_expert_and_the_coordinator_picks_one(
        node_ctx: NodeContext, world: dict) -> None:  # type: ignore[type-arg]
    node_id, now = node_ctx.keys.node_id, world["now"]
    need_id, _ = post(node_ctx, world)
    key = world["observatory"].verify_key
    # The local expert accepts, in the app: kept at once on this same node.
    received_needs.answer(node_ctx.db, node_ctx.audit, world["expert"], requesting_node=node_id,
                          need_id=need_id, accept=True, reason=None, node_id=node_id,
                          observatory_key=key, now=now)
    # The remote expert's acceptance, through their home node.
    with node_ctx.db.write() as conn:
        assert needs.record_answer(conn, signed(world, need_id, node_id), sender=OTHER_NODE,
                                   node_id=node_id, observatory_key=key, now=now) == "accept"
    need = needs.get(node_ctx.db.read(), need_id)
    assert need is not None and len(need.accepted) == 2
    remote = world["remote_key"].verify_key.raw().hex()
    engagement_id = needs.pick(node_ctx.db, node_ctx.audit, world["coordinator"], need_id,
                               remote, node_id=node_id, observatory_key=key, now=now)
    e = engagements.get(node_ctx.db.read(), engagement_id)
    assert e is not None and e.home_node == OTHER_NODE and e.expert_key == remote
    assert e.active(now) and e.coordinator_id == world["coordinator"].member.id
    # The description is sealed to the expert alone.
    assert e.description_sealed is not None
    opened = world["remote_box"].open(e.description_sealed)
    assert opened.endswith(b"Canary-need-7731: a medico-legal exam in Goma")
    # The home node is told; the local expert who also accepted hears they were not chosen.
    sent = [m for _, r, m in outgoing.waiting(node_ctx.db.read()) if r == OTHER_NODE]
    assert [type(m).__name__ for m in sent] == ["ExpertNeed", "ExpertEngagement"]
    [mine] = received_needs.for_expert(node_ctx.db.read(), world["expert"].member.id, now)
    assert mine.outcome == "not_chosen"
    with pytest.raises(needs.NeedClosed):
        needs.pick(node_ctx.db, node_ctx.audit, world["coordinator"], need_id, remote,
                   node_id=node_id, observatory_key=key, now=now)


def test_a_local_expert_engaged_is_one_record_with_the_description_for_them(
        node_ctx: NodeContext, world: dict) -> None:  # type: ignore[type-arg]
    node_id, now, key = node_ctx.keys.node_id, world["now"], world["observatory"].verify_key
    need_id, _ = post(node_ctx, world, report_id="r1")
    received_needs.answer(node_ctx.db, node_ctx.audit, world["expert"], requesting_node=node_id,
                          need_id=need_id, accept=True, reason=None, node_id=node_id,
                          observatory_key=key, now=now)
    stored = profiles.get(node_ctx.db.read(), world["expert"].member.id)
    assert stored is not None
    engagement_id = needs.pick(node_ctx.db, node_ctx.audit, world["coordinator"], need_id,
                               stored.signing_public_key.hex(), node_id=node_id,
                               observatory_key=key, now=now)
    [e] = engagements.of_expert(node_ctx.db.read(), world["expert"].member.id)
    assert e.engagement_id == engagement_id and e.report_id == "r1"
    assert e.home_node == e.requesting_node == node_id
    assert received_needs.description(world["expert"], e) == (
        "Canary-need-7731: a medico-legal exam in Goma")


def test_refused_answers_store_nothing(node_ctx: NodeContext, world: dict) -> None:  # type: ignore[type-arg]
    node_id, now, key = node_ctx.keys.node_id, world["now"], world["observatory"].verify_key
    need_id, _ = post(node_ctx, world, deadline_hours=72)

    def matches() -> list[tuple[object, ...]]:
        return [tuple(r) for r in node_ctx.db.read().execute(
            "SELECT * FROM expert_need_matches ORDER BY expert_key")]

    before = matches()
    good = signed(world, need_id, node_id)
    flipped = good.model_copy(update={"signature": ("1" if good.signature[0] == "0" else "0")
                                      + good.signature[1:]})
    cases: list[tuple[SignedAnswer, str, int, type[Exception], str | None]] = [
        (flipped, OTHER_NODE, now, BadSignature, None),
        (good, "cc" * 16, now, NeedRefused, "not_matched"),  # not the expert's home node
        (signed(world, need_id, "dd" * 16), OTHER_NODE, now, NeedRefused, "not_for_us"),
        (good, OTHER_NODE, now + 72 * 3600, NeedRefused, "need_expired"),
        # a stranger's key, never in the directory (a forged credential is never listed)
        (signed(world, need_id, node_id, key=SigningKey.generate()), OTHER_NODE, now,
         NeedRefused, "not_matched"),
    ]
    for answer, sender, at, error, code in cases:
        with pytest.raises(error) as raised, node_ctx.db.write() as conn:
            needs.record_answer(conn, answer, sender=sender, node_id=node_id,
                                observatory_key=key, now=at)
        if code is not None:
            assert getattr(raised.value, "code", None) == code
    assert matches() == before
    # The directory revokes the remote expert: their acceptance is refused, nothing kept.
    entries = [e for e in world["entries"]
               if e.credential.body.expert_key != world["remote_key"].verify_key.raw().hex()]
    publish(node_ctx, world["observatory"], entries, now + 1, 2)
    with pytest.raises(ExpertRefused) as refused, node_ctx.db.write() as conn:
        needs.record_answer(conn, good, sender=OTHER_NODE, node_id=node_id,
                            observatory_key=key, now=now + 1)
    assert refused.value.code == "not_listed"
    # A stale directory: refused too.
    with pytest.raises(ExpertRefused) as refused, node_ctx.db.write() as conn:
        needs.record_answer(conn, signed(world, need_id, node_id), sender=OTHER_NODE,
                            node_id=node_id, observatory_key=key, now=now + 2 * 86_400)
    assert refused.value.code == "directory_stale"
    assert matches() == before


def test_a_forged_credential_in_a_directory_is_never_matched(
        node_ctx: NodeContext, world: dict) -> None:  # type: ignore[type-arg]
    now = world["now"]
    forger = SigningKey.generate()
    forged = credential(world["observatory"], key=forger.verify_key.raw().hex(), box="0e" * 32,
                        home=OTHER_NODE, now=now, signer=SigningKey.generate())
    body = DirectoryBody(issuer=OBSERVATORY_ID, sequence=2, issued_at=now, entries=(
        DirectoryEntry(credential=forged, profile=PROFILE, availability="now"),))
    with pytest.raises(BadSignature), node_ctx.db.write() as conn:
        directory.accept_in(conn, ExpertDirectory.issue(body, world["observatory"]),
                            observatory_key=world["observatory"].verify_key, now=now)
    _, reached = post(node_ctx, world)
    assert reached == 2  # the earlier directory's experts only


def test_escalation_is_offered_and_widens_only_when_confirmed(
        node_ctx: NodeContext, world: dict) -> None:  # type: ignore[type-arg]
    node_id, now, key = node_ctx.keys.node_id, world["now"], world["observatory"].verify_key
    need_id, reached = post(node_ctx, world, regions=["CD-SK"], mode="either",
                            urgency="immediate")
    assert reached == 0  # everyone works in CD-NK
    need = needs.get(node_ctx.db.read(), need_id)
    assert need is not None and not need.escalation_due(now)
    later = now + needs.ANSWER_WINDOW["immediate"]
    assert need.escalation_due(later)
    # Nothing widened by itself: still nobody reached.
    need = needs.get(node_ctx.db.read(), need_id)
    assert need is not None and need.answers == ()
    widened = needs.widen(node_ctx.db, node_ctx.audit, world["coordinator"], need_id,
                          node_id=node_id, observatory_key=key, now=later)
    assert widened == 3  # the whole country, also the expert who is away
    need = needs.get(node_ctx.db.read(), need_id)
    assert need is not None and need.widened and not need.escalation_due(later)
    assert len(need.answers) == 3


def test_the_home_node_enforces_the_deadline_the_need_carries(
        node_ctx: NodeContext, world: dict) -> None:  # type: ignore[type-arg]
    now, staff_id = world["now"], world["expert"].member.id
    stored = profiles.get(node_ctx.db.read(), staff_id)
    assert stored is not None
    need = ExpertNeed(need_id=secrets.token_hex(16), specialty="forensic_medicine",
                      languages=("fr",), country="CD", mode="remote", urgency="routine",
                      posted_at=now - 7200, deadline=now - 1,
                      experts=(stored.signing_public_key.hex(),))
    with pytest.raises(NeedRefused) as refused, node_ctx.db.write() as conn:  # arrived late
        received_needs.receive(conn, need, requesting_node=OTHER_NODE, now=now)
    assert refused.value.code == "need_expired"
    fresh = need.model_copy(update={"deadline": now + 60})
    with node_ctx.db.write() as conn:
        assert received_needs.receive(conn, fresh, requesting_node=OTHER_NODE, now=now) == 1
    assert received_needs.for_expert(node_ctx.db.read(), staff_id, now + 60) == []
    with pytest.raises(received_needs.NeedGone):
        received_needs.answer(node_ctx.db, node_ctx.audit, world["expert"],
                              requesting_node=OTHER_NODE, need_id=fresh.need_id, accept=True,
                              reason=None, node_id=node_ctx.keys.node_id,
                              observatory_key=world["observatory"].verify_key, now=now + 60)
    with node_ctx.db.write() as conn:
        assert received_needs.expire(conn, now + 60) == 1
    # A need for nobody of ours is refused.
    stranger = fresh.model_copy(update={"experts": ("ab" * 32,)})
    with pytest.raises(NeedRefused) as refused, node_ctx.db.write() as conn:
        received_needs.receive(conn, stranger, requesting_node=OTHER_NODE, now=now)
    assert refused.value.code == "no_such_expert"


# --- what the receiver says back ------------------------------------------------------------

@pytest.mark.parametrize("reason", sorted(NOT_KNOWN_YET))
def test_a_receiver_that_does_not_know_us_yet_is_asked_again(reason: str) -> None:
    # its membership list is older than ours: giving up would lose the only copy of a need
    with pytest.raises(NotKnownYet):
        need_exchange.acknowledged(DeliveryAck.refuse("00" * 16, reason))


def test_a_receiver_that_refuses_for_good_is_not_asked_again() -> None:
    assert need_exchange.acknowledged(DeliveryAck.accept("00" * 16)) == "accepted"
    with pytest.raises(Refused) as refused:
        need_exchange.acknowledged(DeliveryAck.refuse("00" * 16, "need_expired"))
    assert refused.value.code == "need_expired"
    assert not isinstance(refused.value, NotKnownYet)
