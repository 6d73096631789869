"""The expert network's messages (issue 16): parsers fuzzed, every signature flipped, the
directory rule that decides whether a node may share, and the exchanges through the one
client path and the one responder."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from crypto.keys import SigningKey
from protocol.delivery import DeliveryAck
from protocol.engagements import (
    ANSWER_DOMAIN,
    THREAD_MESSAGE_DOMAIN,
    AnswerBody,
    ExpertNeed,
    ExpertOffer,
    SignedAnswer,
    ThreadBody,
    ThreadMessage,
)
from protocol.envelope import seal, verify_frame
from protocol.errors import BadSignature, EnvelopeRejected, Expired, NotYetValid, RolledBack
from protocol.exchanges import EXCHANGES, ClientExchange, Endpoint, RequestReceived
from protocol.experts import (
    CREDENTIAL_DOMAIN,
    DIRECTORY_DOMAIN,
    DIRECTORY_MAX_AGE,
    VOUCH_DOMAIN,
    CredentialBody,
    CredentialRevocation,
    DirectoryBody,
    DirectoryEntry,
    ExpertCredential,
    ExpertCredentialIssued,
    ExpertDirectory,
    ExpertDirectoryQuery,
    ExpertProfile,
    ExpertRefused,
    ExpertVouch,
    VouchBody,
    shareable_entry,
)
from protocol.message import Message, Record
from protocol.registry import REGISTRY
from protocol.responder import Refuse, Responder
from protocol.statements import verify_record
from runtime.sqlite import Database
from tests.unit.protocol.conftest import NOW, Node
from tests.unit.protocol.expert_strategies import (
    EXPERT_STRATEGIES,
    OBSERVATORY_ID,
    OBSERVATORY_KEY,
)
from tests.unit.protocol.link import Link
from transport import store
from transport.identity import peer_id_from_public_key
from transport.inbox import ReplayGuard

EXPERT_MESSAGES = tuple(EXPERT_STRATEGIES)
any_expert_message = st.one_of(*EXPERT_STRATEGIES.values())
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)


def test_every_expert_message_is_registered_and_is_the_request_of_one_exchange() -> None:
    requests = {spec.request for spec in EXCHANGES}
    for model in EXPERT_MESSAGES:
        assert model in REGISTRY and not model.DRAFT
        if model is not ExpertDirectory:  # the answer to a query
            assert model in requests, model.TYPE
    assert {m.TYPE for m in REGISTRY} >= {
        "expert.need", "expert.offer", "expert.decline", "expert.engagement", "expert.share",
        "expert.revocation", "expert.thread_message", "expert.vouch", "expert.directory"}
    assert not {"expert.request", "case.referral"} & {m.TYPE for m in REGISTRY}


# --- parsers, fuzzed ----------------------------------------------------------------------


@settings(deadline=None, max_examples=200)
@given(model=st.sampled_from(EXPERT_MESSAGES), value=json_values)
def test_any_json_is_a_validation_error_or_a_message(model: type[Message], value: Any) -> None:
    try:
        parsed = model.from_json_object(value)
    except ValidationError:
        return
    # Only a value that is a message (defaults filled in) parses, and it reads back the same.
    assert model.from_json_object(parsed.to_json_object()) == parsed
    assert isinstance(value, dict)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*prefix, key)
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield (*prefix, index)
            yield from _paths(inner, (*prefix, index))


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    copy = json.loads(json.dumps(value))
    target = copy
    for step in path[:-1]:
        target = target[step]
    if new is _DROP:
        del target[path[-1]]
    else:
        target[path[-1]] = new
    return copy


_DROP = object()


@settings(deadline=None, max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(message=any_expert_message, data=st.data())
def test_a_mutated_message_parses_only_into_a_valid_message(message: Message,
                                                            data: st.DataObject) -> None:
    """Any field, at any depth, replaced by any JSON or dropped: a `ValidationError`, or a
    message that round-trips; and a signed part that changed no longer verifies."""
    original = message.to_json_object()
    paths = list(_paths(original))
    path = data.draw(st.sampled_from(paths))
    new = data.draw(json_values | st.just(_DROP))
    if new is _DROP and not isinstance(path[-1], str):
        new = None
    mutated = _replace(original, path, new)
    try:
        parsed = type(message).from_json_object(mutated)
    except ValidationError:
        return
    assert type(parsed).from_json_object(parsed.to_json_object()) == parsed
    if parsed != message:
        _assert_signatures_fail(parsed)


def _assert_signatures_fail(message: Message) -> None:
    """Every signed part of a changed message no longer verifies (or none was changed)."""
    if isinstance(message, ExpertVouch | ThreadMessage):
        with pytest.raises(BadSignature):
            message.verify() if isinstance(message, ThreadMessage) else message.verify(
                sender=message.body.home_node)


@settings(deadline=None, max_examples=50)
@given(message=any_expert_message)
def test_expert_messages_round_trip_through_a_signed_envelope(message: Message) -> None:
    sender, recipient, key = "a1" * 16, "b2" * 16, SigningKey(bytes(32))
    frame = seal(message, sender=sender, recipient=recipient, signing_key=key,
                 now=NOW).to_frame()
    verified = verify_frame(frame, local_node_id=recipient, now=NOW,
                            lookup_key={sender: key.verify_key}.get,
                            is_replay=lambda *_: False)
    assert verified.message == message
    # A flipped bit anywhere in the frame: the envelope's signature (or its parse) fails.
    flipped = bytearray(frame)
    at = len(frame) // 2
    flipped[at] ^= 0x01
    with pytest.raises(EnvelopeRejected):
        verify_frame(bytes(flipped), local_node_id=recipient, now=NOW,
                     lookup_key={sender: key.verify_key}.get, is_replay=lambda *_: False)


# --- signatures: one flipped bit, and the domain -------------------------------------------


def flip_hex(value: str, bit: int) -> str:
    raw = bytearray(bytes.fromhex(value))
    raw[(bit // 8) % len(raw)] ^= 1 << (bit % 8)
    return raw.hex()


def profile(**overrides: Any) -> ExpertProfile:
    fields: dict[str, Any] = dict(
        specialties=("forensic_medicine", "interpretation"), languages=("ar", "fr"),
        countries=("CD", "IQ"), regions=("CD-NK", "CD-SK"), modes=("on_site", "remote"))
    fields.update(overrides)
    return ExpertProfile(**fields)


def credential(expert: SigningKey | None = None, *, key: SigningKey = OBSERVATORY_KEY,
               not_before: int = NOW - 10, not_after: int = NOW + 365 * 86400,
               serial: str | None = None) -> ExpertCredential:
    expert = expert or SigningKey.generate()
    return ExpertCredential.issue(CredentialBody(
        serial=serial or secrets.token_hex(16), issuer=OBSERVATORY_ID, home_node="cd" * 16,
        expert_key=expert.verify_key.raw().hex(), box_key="0e" * 32,
        specialties=("forensic_medicine", "interpretation"), vouch_id=secrets.token_hex(16),
        not_before=not_before, not_after=not_after), key)


def directory(*entries: ExpertCredential, issued_at: int = NOW, sequence: int = 1,
              revoked: tuple[str, ...] = ()) -> ExpertDirectory:
    return ExpertDirectory.issue(DirectoryBody(
        issuer=OBSERVATORY_ID, sequence=sequence, issued_at=issued_at,
        entries=tuple(DirectoryEntry(credential=c, profile=profile(), availability="now")
                      for c in entries),
        revocations=tuple(CredentialRevocation(serial=s, revoked_at=NOW - 5, reason="left")
                          for s in revoked)), OBSERVATORY_KEY)


SIGNED = st.sampled_from(["vouch", "credential", "directory", "answer", "thread"])


def signed_thing(kind: str) -> tuple[Record, str, bytes, Any]:
    """(body, signature, domain, key) of one freshly signed statement of `kind`."""
    expert = SigningKey.generate()
    if kind == "vouch":
        vouch = ExpertVouch.sign(VouchBody(
            vouch_id="ab" * 16, home_node="cd" * 16, expert_key=expert.verify_key.raw().hex(),
            box_key="0e" * 32, profile=profile(), vouched_at=NOW), expert)
        return vouch.body, vouch.expert_signature, VOUCH_DOMAIN, expert.verify_key
    if kind == "credential":
        c = credential(expert)
        return c.body, c.signature, CREDENTIAL_DOMAIN, OBSERVATORY_KEY.verify_key
    if kind == "directory":
        d = directory(credential(expert))
        return d.body, d.signature, DIRECTORY_DOMAIN, OBSERVATORY_KEY.verify_key
    if kind == "answer":
        a = SignedAnswer.sign(AnswerBody(
            need_id="ab" * 16, requesting_node="cd" * 16,
            expert_key=expert.verify_key.raw().hex(), answer="accept", answered_at=NOW), expert)
        return a.body, a.signature, ANSWER_DOMAIN, expert.verify_key
    m = ThreadMessage.sign(ThreadBody(
        thread_id="ab" * 16, message_id="cd" * 16, sequence=1,
        author_key=expert.verify_key.raw().hex(), recipient_box_key="0e" * 32,
        sealed="AAAA", sent_at=NOW), expert)
    return m.body, m.author_signature, THREAD_MESSAGE_DOMAIN, expert.verify_key


@settings(deadline=None, max_examples=100)
@given(kind=SIGNED, bit=st.integers(0, 511))
def test_a_flipped_bit_in_any_signature_fails(kind: str, bit: int) -> None:
    body, signature, domain, key = signed_thing(kind)
    verify_record(domain, body, signature, key)
    with pytest.raises(BadSignature):
        verify_record(domain, body, flip_hex(signature, bit), key)


@settings(deadline=None, max_examples=100)
@given(kind=SIGNED, data=st.data())
def test_a_flipped_bit_in_any_signed_byte_string_fails(kind: str, data: st.DataObject) -> None:
    """One bit of any hex field of the signed body (keys, ids, the nested credential's
    signature inside a directory) changed: the statement no longer verifies."""
    body, signature, domain, key = signed_thing(kind)
    original = body.to_json_object()
    hex_paths = [p for p in _paths(original) if _is_hex(_get(original, p))]
    path = data.draw(st.sampled_from(hex_paths))
    value = _get(original, path)
    flipped = flip_hex(value, data.draw(st.integers(0, len(value) * 4 - 1)))
    try:
        changed = type(body).from_json_object(_replace(original, path, flipped))
    except ValidationError:
        return  # e.g. two entries' keys now collide: refused before any signature
    with pytest.raises(BadSignature):
        verify_record(domain, changed, signature, key)


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _is_hex(value: Any) -> bool:
    return (isinstance(value, str) and len(value) >= 32 and len(value) % 2 == 0
            and all(c in "0123456789abcdef" for c in value))


@pytest.mark.parametrize("kind", ["vouch", "credential", "directory", "answer", "thread"])
def test_a_signature_for_one_purpose_never_verifies_as_another(kind: str) -> None:
    body, signature, domain, key = signed_thing(kind)
    for other in (VOUCH_DOMAIN, CREDENTIAL_DOMAIN, DIRECTORY_DOMAIN, ANSWER_DOMAIN,
                  THREAD_MESSAGE_DOMAIN):
        if other != domain:
            with pytest.raises(BadSignature):
                verify_record(other, body, signature, key)


def test_a_vouch_is_the_experts_and_comes_from_their_home_node() -> None:
    expert = SigningKey.generate()
    body = VouchBody(vouch_id="ab" * 16, home_node="cd" * 16,
                     expert_key=expert.verify_key.raw().hex(), box_key="0e" * 32,
                     profile=profile(), vouched_at=NOW)
    assert ExpertVouch.sign(body, expert).verify(sender="cd" * 16) == body
    with pytest.raises(ExpertRefused) as refused:
        ExpertVouch.sign(body, expert).verify(sender="ef" * 16)
    assert refused.value.code == "not_home_node"
    with pytest.raises(BadSignature):  # signed by someone else than the key it names
        ExpertVouch.sign(body, SigningKey.generate()).verify(sender="cd" * 16)


# --- validation rules ---------------------------------------------------------------------


def test_sets_are_sorted_and_unique_and_regions_are_iso_3166_2_within_the_countries() -> None:
    for bad in (dict(languages=("fr", "ar")), dict(specialties=("interpretation",) * 2),
                dict(regions=("IQ-BG", "CD-NK")), dict(regions=("UG-W",)),  # outside CD, IQ
                dict(regions=("CD-nk",)), dict(regions=("CD",)), dict(regions=("CD-ABCD",)),
                dict(regions=("cd-NK",)), dict(specialties=("medical",)), dict(modes=()),
                # the right shape, but not in the federation's region vocabulary
                dict(regions=("CD-1",))):
        with pytest.raises(ValidationError):
            profile(**bad)
    assert profile(regions=("CD-KN", "IQ-BG")).regions == ("CD-KN", "IQ-BG")


def test_a_need_carries_structured_fields_only_and_a_bounded_deadline() -> None:
    fields: dict[str, Any] = dict(
        need_id="ab" * 16, specialty="forensic_medicine", languages=("fr", "sw"),
        country="CD", regions=("CD-NK",), mode="on_site", urgency="urgent",
        posted_at=NOW, deadline=NOW + 86400, experts=("01" * 32,))
    ExpertNeed(**fields)
    for bad in (dict(deadline=NOW), dict(deadline=NOW + 91 * 86400), dict(regions=("UG-W",)),
                dict(description="Survivor in Goma"), dict(experts=()),
                dict(urgency="whenever"), dict(specialty="legal")):
        with pytest.raises(ValidationError):
            ExpertNeed(**{**fields, **bad})


def test_a_credential_issued_is_for_its_vouch_and_lasts_at_most_two_years() -> None:
    c = credential()
    ExpertCredentialIssued(vouch_id=c.body.vouch_id, credential=c)
    with pytest.raises(ValidationError):
        ExpertCredentialIssued(vouch_id="ff" * 16, credential=c)
    with pytest.raises(ValidationError):
        credential(not_after=NOW + 3 * 366 * 86400)


def test_a_directory_lists_nobody_twice_and_never_a_revoked_credential() -> None:
    c = credential()
    with pytest.raises(ValidationError):
        directory(c, c)
    with pytest.raises(ValidationError):
        directory(c, revoked=(c.body.serial,))
    other_observatory = credential(key=SigningKey.generate())
    forged_issuer = ExpertCredential.issue(
        other_observatory.body.model_copy(update={"issuer": "99" * 16}), OBSERVATORY_KEY)
    with pytest.raises(ValidationError):
        directory(forged_issuer)


# --- the directory: verifying it and deciding whether a node may share ---------------------


def test_a_directory_verifies_fresh_and_newer_only() -> None:
    key = OBSERVATORY_KEY.verify_key
    d = directory(credential(), sequence=5)
    assert d.verify(issuer_key=key, now=NOW + 60, previous_sequence=4) == d.body
    with pytest.raises(RolledBack):
        d.verify(issuer_key=key, now=NOW + 60, previous_sequence=5)
    with pytest.raises(Expired):
        d.verify(issuer_key=key, now=NOW + DIRECTORY_MAX_AGE, previous_sequence=None)
    with pytest.raises(NotYetValid):
        d.verify(issuer_key=key, now=NOW - 1, previous_sequence=None)
    with pytest.raises(BadSignature):
        d.verify(issuer_key=SigningKey.generate().verify_key, now=NOW, previous_sequence=None)


def test_a_directory_signed_around_a_forged_credential_is_refused() -> None:
    """The observatory's key signed the directory, but not the credential inside it."""
    forged = credential(key=SigningKey.generate())
    d = directory(forged)
    with pytest.raises(BadSignature):
        d.verify(issuer_key=OBSERVATORY_KEY.verify_key, now=NOW, previous_sequence=None)
    with pytest.raises(ExpertRefused) as refused:
        shareable_entry(d.body, forged.body.expert_key, issuer_key=OBSERVATORY_KEY.verify_key,
                        now=NOW)
    assert refused.value.code == "forged"


def test_a_node_shares_only_with_a_listed_unrevoked_expert_in_a_directory_under_a_day_old(
) -> None:
    key = OBSERVATORY_KEY.verify_key
    listed, revoked, expiring = credential(), credential(), credential(not_after=NOW + 100)
    d = directory(listed, expiring, revoked=(revoked.body.serial,)).body
    expert = listed.body.expert_key
    assert shareable_entry(d, expert, issuer_key=key, now=NOW).credential == listed
    assert shareable_entry(d, expert, issuer_key=key, now=NOW + DIRECTORY_MAX_AGE - 1)

    def reason(body: DirectoryBody, expert_key: str, now: int) -> str:
        with pytest.raises(ExpertRefused) as refused:
            shareable_entry(body, expert_key, issuer_key=key, now=now)
        return refused.value.code

    assert reason(d, expert, NOW + DIRECTORY_MAX_AGE) == "directory_stale"
    assert reason(d, expert, NOW - 1) == "directory_stale"
    assert reason(d, revoked.body.expert_key, NOW) == "not_listed"
    assert reason(d, "77" * 32, NOW) == "not_listed"
    assert reason(d, expiring.body.expert_key, NOW + 100) == "credential_expired"


# --- through the one client path and the one responder -------------------------------------


class Observatory:
    """The responder side of vetting, over a real SQLite file: answers vouches and queries."""

    def __init__(self, me: Node, keys: dict[str, Any], path: Path) -> None:
        def migrate(conn: sqlite3.Connection) -> None:
            store.ensure_schema(conn)
            conn.execute("CREATE TABLE vouches (vouch_id TEXT PRIMARY KEY, expert_key TEXT)")

        self.me = me
        self.db = Database(path, migrate)
        guard = ReplayGuard(self.db)
        self.endpoint = Endpoint(me.node_id, me.signing_key, lookup_key=keys.get,
                                 is_replay=guard)
        self.responder: Responder[sqlite3.Connection] = Responder(
            self.endpoint, once=guard.once, clock=lambda: NOW,
            peer_id_of=lambda key: peer_id_from_public_key(key.raw()))
        self.directory = directory(credential())
        self.responder.serve(ExpertVouch, self._vouch)
        self.responder.serve(ExpertDirectoryQuery, lambda request, tx: self.directory)

    def _vouch(self, request: RequestReceived, tx: sqlite3.Connection) -> Message:
        vouch = request.message
        assert isinstance(vouch, ExpertVouch)
        tx.execute("INSERT INTO vouches VALUES (?, ?)",
                   (vouch.body.vouch_id, vouch.body.expert_key))  # before checking: must not stay
        try:
            vouch.verify(sender=request.envelope.sender)
        except BadSignature:
            raise Refuse("bad_expert_signature") from None
        except ExpertRefused as exc:
            raise Refuse(exc.code) from None
        return DeliveryAck.accept(request.envelope.envelope_id)

    def stored(self) -> int:
        return int(self.db.read().execute("SELECT count(*) FROM vouches").fetchone()[0])


@pytest.fixture
def observatory(bob: Node, keys: dict[str, Any], tmp_path: Path) -> Iterator[Observatory]:
    peer = Observatory(bob, keys, tmp_path / "observatory.db")
    yield peer
    peer.db.close()


def ask(alice: Node, observatory: Observatory, keys: dict[str, Any], message: Message
        ) -> Message:
    client = ClientExchange(Endpoint(alice.node_id, alice.signing_key, lookup_key=keys.get,
                                     is_replay=lambda *_: False),
                            peer_node_id=observatory.me.node_id)
    frame = client.send_request(message, now=NOW)
    answer = observatory.responder.answer(frame, peer_id_from_public_key(alice.verify_key.raw()))
    return Link(5).carry(answer, client).message


def test_the_directory_is_fetched_through_the_client_path(alice, observatory, keys) -> None:
    answer = ask(alice, observatory, keys, ExpertDirectoryQuery())
    assert isinstance(answer, ExpertDirectory)
    assert answer.verify(issuer_key=OBSERVATORY_KEY.verify_key, now=NOW,
                         previous_sequence=None) == observatory.directory.body


def test_a_vouch_is_accepted_and_a_forged_one_refused_with_nothing_stored(
        alice, observatory, keys) -> None:
    expert = SigningKey.generate()

    def vouch(signer: SigningKey, home: str) -> ExpertVouch:
        return ExpertVouch.sign(VouchBody(
            vouch_id=secrets.token_hex(16), home_node=home,
            expert_key=expert.verify_key.raw().hex(), box_key="0e" * 32, profile=profile(),
            vouched_at=NOW), signer)

    forged = ask(alice, observatory, keys, vouch(SigningKey.generate(), alice.node_id))
    assert isinstance(forged, DeliveryAck) and forged.reason == "bad_expert_signature"
    elsewhere = ask(alice, observatory, keys, vouch(expert, "ef" * 16))
    assert isinstance(elsewhere, DeliveryAck) and elsewhere.reason == "not_home_node"
    assert observatory.stored() == 0
    good = ask(alice, observatory, keys, vouch(expert, alice.node_id))
    assert isinstance(good, DeliveryAck) and good.status == "accepted"
    assert observatory.stored() == 1


def test_an_offer_is_not_the_answer_of_a_vouch(alice, observatory, keys) -> None:
    """The exchange table: an offer is not served by the observatory, and only a credential
    or an acknowledgement may answer a vouch."""
    expert = SigningKey.generate()
    offer = ExpertOffer(answer=SignedAnswer.sign(AnswerBody(
        need_id="ab" * 16, requesting_node=alice.node_id,
        expert_key=expert.verify_key.raw().hex(), answer="accept", answered_at=NOW), expert))
    answer = ask(alice, observatory, keys, offer)
    assert isinstance(answer, DeliveryAck) and answer.reason == "not_supported"
    spec = next(s for s in EXCHANGES if s.request is ExpertVouch)
    assert set(spec.responses) == {ExpertCredentialIssued, DeliveryAck}
