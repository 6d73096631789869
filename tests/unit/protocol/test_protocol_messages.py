"""Message models: round trips for every registered type, validation rules, signed documents."""

from __future__ import annotations

import base64
import secrets

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from backup_evidence.succession import SuccessorStatement, first_origin, next_origin
from crypto.keys import SigningKey
from protocol import errors
from protocol.delivery import DeliveryAck, FrameRefusal
from protocol.encoding import canonical_json, parse_canonical_json
from protocol.engagements import SealedShare
from protocol.envelope import seal, verify_frame
from protocol.matching import (
    CoordinatorKeys,
    Introduction,
    IntroductionQuery,
    IntroductionRequest,
    Introductions,
    MatchNotice,
    MatchNoticeQuery,
    MatchNotices,
    OprfEvaluation,
    OprfEvaluationRequest,
    Token,
    TokenSubmission,
)
from protocol.membership import (
    CertificateBody,
    MemberEntry,
    MembershipCertificate,
    MembershipDecision,
    MembershipList,
    MembershipListBody,
    MembershipListQuery,
    MembershipRequest,
    OprfEpochKey,
    OprfEvaluatorEntry,
    Revocation,
)
from protocol.message import Message
from protocol.registry import REGISTRY, MessageRegistry
from protocol.statistics import StatisticsRelease, StatisticsTable
from protocol.witness import (
    CheckpointPush,
    CosignatureResponse,
    LogSuccession,
    WitnessedCheckpoint,
    WitnessedQuery,
    parse_checkpoint_note,
)
from tests.unit.protocol.expert_strategies import EXPERT_STRATEGIES

NOW = 1_800_000_000

# --- strategies ---------------------------------------------------------------------------


def hexes(n: int) -> st.SearchStrategy[str]:
    return st.binary(min_size=n, max_size=n).map(bytes.hex)


def b64(n: int) -> st.SearchStrategy[str]:
    return st.binary(min_size=n, max_size=n).map(lambda b: base64.b64encode(b).decode())


node_ids = ids = hexes(16)
keys_hex = hexes(32)
signatures = hexes(64)
times = st.integers(0, 2**40)
countries = st.from_regex(r"[A-Z]{2}", fullmatch=True)
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
display_text = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), exclude_characters=BIDI),
    min_size=1,
    max_size=40,
)
key_names = st.from_regex(r"[a-z0-9.\-]{1,24}", fullmatch=True)


@st.composite
def certificate_bodies(draw: st.DrawFn) -> CertificateBody:
    start = draw(times)
    return CertificateBody(
        serial=draw(ids),
        issuer=draw(node_ids),
        node_id=draw(node_ids),
        organisation_name=draw(display_text),
        country=draw(countries),
        identity_key=draw(keys_hex),
        box_key=draw(keys_hex),
        not_before=start,
        not_after=start + draw(st.integers(1, 2**30)),
    )


certificates = st.builds(MembershipCertificate, body=certificate_bodies(), signature=signatures)


@st.composite
def decisions(draw: st.DrawFn) -> MembershipDecision:
    if draw(st.booleans()):
        cert = draw(certificates)
        return MembershipDecision(
            node_id=cert.body.node_id,
            decision="approved",
            certificate=cert,
            reason=draw(st.none() | display_text),
        )
    return MembershipDecision(
        node_id=draw(node_ids), decision="rejected", reason=draw(display_text)
    )


member_entries = st.builds(
    MemberEntry,
    node_id=node_ids,
    organisation_name=display_text,
    country=countries,
    identity_key=keys_hex,
    box_key=keys_hex,
    certificate_serial=ids,
    joined_at=times,
)


evaluator_entries = st.builds(
    OprfEvaluatorEntry, node_id=node_ids, identity_key=keys_hex,
    epochs=st.lists(st.builds(OprfEpochKey, epoch=st.integers(1, 1_000_000),
                              public_key=keys_hex),
                    min_size=1, max_size=3, unique_by=lambda e: e.epoch).map(tuple))


@st.composite
def membership_lists(draw: st.DrawFn) -> MembershipList:
    members = draw(st.lists(member_entries, max_size=5, unique_by=lambda m: m.node_id))
    member_ids = {m.node_id for m in members}
    revoked = draw(
        st.lists(node_ids.filter(lambda n: n not in member_ids), max_size=3, unique=True)
    )
    issued = draw(times)
    issuer = draw(node_ids)
    body = MembershipListBody(
        issuer=issuer,
        sequence=draw(st.integers(1, 2**53 - 1)),
        issued_at=issued,
        expires=issued + draw(st.integers(1, 2**30)),
        members=tuple(members),
        revocations=tuple(
            Revocation(
                node_id=n,
                revoked_at=draw(times),
                reason=draw(
                    st.sampled_from(["key_compromised", "left_federation", "misbehaviour", "other"])
                ),
            )
            for n in revoked
        ),
        evaluator=draw(st.none() | evaluator_entries.filter(  # neither a member nor the issuer
            lambda e: e.node_id not in member_ids | {issuer})),
    )
    return MembershipList(body=body, signature=draw(signatures))


def signature_line(name: str, raw: bytes) -> str:
    return f"\u2014 {name} {base64.b64encode(raw).decode()}"


@st.composite
def checkpoint_notes(draw: st.DrawFn, size: int | None = None) -> str:
    origin = draw(st.from_regex(r"[a-z0-9.]{1,20}/evidence", fullmatch=True))
    size = draw(st.integers(0, 2**40)) if size is None else size
    root = base64.b64encode(draw(st.binary(min_size=32, max_size=32))).decode()
    extensions = draw(st.lists(st.from_regex(r"[a-z0-9 =]{1,20}", fullmatch=True), max_size=2))
    sigs = draw(
        st.lists(
            st.builds(signature_line, key_names, st.binary(min_size=68, max_size=68)),
            min_size=1,
            max_size=3,
        )
    )
    body = "".join(line + "\n" for line in [origin, str(size), root, *extensions])
    return body + "\n" + "".join(line + "\n" for line in sigs)


@st.composite
def checkpoint_pushes(draw: st.DrawFn) -> CheckpointPush:
    size = draw(st.integers(0, 2**40))
    note = draw(checkpoint_notes(size=size))
    old = draw(st.none() | st.integers(0, size))
    proof: tuple[str, ...] = ()
    if old is not None and 0 < old < size:
        proof = tuple(draw(st.lists(hexes(32), min_size=1, max_size=40)))
    return CheckpointPush(checkpoint=note, old_size=old, consistency_proof=proof)


@st.composite
def cosignature_responses(draw: st.DrawFn) -> CosignatureResponse:
    common = dict(
        origin=draw(st.from_regex(r"[a-z0-9.]{1,20}/evidence", fullmatch=True)),
        size=draw(st.integers(0, 2**40)),
        witnessed_size=draw(st.none() | st.integers(0, 2**40)),
        detail=draw(st.none() | display_text),
    )
    if draw(st.booleans()):
        line = signature_line(draw(key_names), draw(st.binary(min_size=76, max_size=76)))
        return CosignatureResponse(outcome="cosigned", cosignature=line, **common)
    reason = draw(
        st.sampled_from(
            [
                "inconsistent",
                "old_size_mismatch",
                "smaller_tree",
                "unknown_log",
                "bad_checkpoint_signature",
                "not_a_member",
                "malformed",
            ]
        )
    )
    return CosignatureResponse(outcome="refused", refusal=reason, **common)


@st.composite
def delivery_acks(draw: st.DrawFn) -> DeliveryAck:
    status = draw(st.sampled_from(["accepted", "duplicate", "rejected"]))
    reason = (
        draw(st.from_regex(r"[a-z][a-z_]{0,20}", fullmatch=True)) if status == "rejected" else None
    )
    return DeliveryAck(
        envelope_id=draw(ids), status=status, reason=reason, detail=draw(st.none() | display_text)
    )


finite = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def statistics_releases(draw: st.DrawFn) -> StatisticsRelease:
    tables = []
    for t in range(draw(st.integers(1, 3))):
        dims = draw(st.integers(1, 2))
        domains = tuple(tuple(f"v{i}" for i in range(draw(st.integers(1, 4))))
                        for _ in range(dims))
        cells = 1
        for d in domains:
            cells *= len(d)
        tables.append(StatisticsTable(
            name=f"table{t}", dimensions=tuple(f"d{i}" for i in range(dims)), domains=domains,
            counts=tuple(draw(st.lists(st.integers(-50, 500), min_size=cells, max_size=cells))),
            mechanism="discrete_laplace", scale=draw(st.floats(0.5, 50)),
            variance=draw(st.floats(0, 1000)), accuracy_95=draw(st.integers(0, 100)),
            epsilon=draw(st.floats(0.01, 1.0))))
    epsilon = sum(t.epsilon for t in tables)
    start = draw(times)
    return StatisticsRelease(
        release_id=draw(ids), plan_version=1, period="2026", first_month="2026-01",
        last_month="2026-12", period_start=start, period_end=start + draw(st.integers(1, 2**30)),
        privacy_unit="report", contributions=draw(st.integers(1, 5)),
        mechanism="discrete_laplace", epsilon=epsilon, budget_per_period=epsilon * 2,
        spent_in_period=epsilon, created_hour=draw(st.integers(0, 10**6)), tables=tuple(tables))


evidence_origins = st.from_regex(r"backup\.node/[0-9a-f]{32}/evidence(/[2-9])?", fullmatch=True)


@st.composite
def witnessed_checkpoints(draw: st.DrawFn) -> WitnessedCheckpoint:
    note = draw(st.none() | checkpoint_notes())
    origin = draw(evidence_origins) if note is None else parse_checkpoint_note(note).origin
    return WitnessedCheckpoint(origin=origin, note=note, current_origin=draw(evidence_origins))


@st.composite
def log_successions(draw: st.DrawFn) -> LogSuccession:
    node_id = draw(st.from_regex(r"[0-9a-f]{32}", fullmatch=True))
    old = first_origin(node_id)
    statement = SuccessorStatement(old, draw(st.integers(0, 2**40)),
                                   draw(st.binary(min_size=32, max_size=32)), next_origin(old))
    return LogSuccession(statement=statement.sign(SigningKey.generate()))


STRATEGIES: dict[type[Message], st.SearchStrategy[Message]] = {
    MembershipRequest: st.builds(
        MembershipRequest,
        node_id=node_ids,
        organisation_name=display_text,
        country=countries,
        contact=display_text,
        identity_key=keys_hex,
        box_key=keys_hex,
    ),
    MembershipDecision: decisions(),
    MembershipListQuery: st.builds(
        MembershipListQuery, known_sequence=st.none() | st.integers(1, 2**53 - 1)
    ),
    MembershipList: membership_lists(),
    CheckpointPush: checkpoint_pushes(),
    CosignatureResponse: cosignature_responses(),
    WitnessedQuery: st.builds(WitnessedQuery, origin=evidence_origins),
    WitnessedCheckpoint: witnessed_checkpoints(),
    LogSuccession: log_successions(),
    DeliveryAck: delivery_acks(),
    FrameRefusal: st.builds(
        FrameRefusal, frame_sha256=keys_hex,
        reason=st.from_regex(r"[a-z][a-z_]{0,20}", fullmatch=True),
    ),
    StatisticsRelease: statistics_releases(),
    OprfEvaluationRequest: st.builds(
        OprfEvaluationRequest, request_id=ids, suite=st.just("ristretto255-SHA512"),
        epoch=st.integers(1, 1_000_000),
        blinded_elements=st.lists(keys_hex, min_size=1, max_size=5).map(tuple),
    ),
    OprfEvaluation: st.builds(
        OprfEvaluation, request_id=ids, suite=st.just("ristretto255-SHA512"),
        epoch=st.integers(1, 1_000_000), public_key=keys_hex,
        evaluated_elements=st.lists(keys_hex, min_size=1, max_size=5).map(tuple),
        proof=st.from_regex(r"[0-9a-f]{128}", fullmatch=True),
    ),
    TokenSubmission: st.builds(
        TokenSubmission, batch_id=ids, epoch=st.integers(1, 1_000_000),
        tokens=st.lists(st.builds(Token, case_ref=ids,
                                  kind=st.sampled_from(["name_group", "name_unit", "unit_rank"]),
                                  token=st.from_regex(r"[0-9a-f]{128}", fullmatch=True)),
                        min_size=1, max_size=4).map(tuple),
        withdrawn=st.lists(ids, max_size=3).map(tuple),
    ),
    MatchNotice: st.builds(
        MatchNotice, notice_id=ids, case_ref=ids, other_organisations=st.integers(1, 10_000),
        epoch=st.integers(1, 1_000_000),
    ),
    MatchNoticeQuery: st.builds(MatchNoticeQuery, acknowledged=st.lists(ids, max_size=3).map(
        tuple)),
    MatchNotices: st.builds(MatchNotices, notices=st.lists(st.builds(
        MatchNotice, notice_id=ids, case_ref=ids, other_organisations=st.integers(1, 10_000),
        epoch=st.integers(1, 1_000_000)), max_size=3).map(tuple)),
    IntroductionRequest: st.one_of(
        st.builds(IntroductionRequest, request_id=ids, case_ref=ids, decision=st.just("agree"),
                  coordinator=st.builds(CoordinatorKeys, node_id=ids, coordinator_key=keys_hex,
                                        coordinator_box_key=keys_hex, certificate=signatures)),
        st.builds(IntroductionRequest, request_id=ids, case_ref=ids,
                  decision=st.just("dismiss"), coordinator=st.none())),
    IntroductionQuery: st.builds(IntroductionQuery, acknowledged=st.lists(ids, max_size=3).map(
        tuple)),
    Introductions: st.builds(Introductions, introductions=st.lists(st.builds(
        Introduction, introduction_id=ids, case_ref=ids, thread_id=ids,
        peer=st.builds(CoordinatorKeys, node_id=ids, coordinator_key=keys_hex,
                       coordinator_box_key=keys_hex, certificate=signatures),
        expires_at=st.integers(0, 2**40)), max_size=3).map(tuple)),
    **EXPERT_STRATEGIES,
}

any_message = st.one_of(*STRATEGIES.values())


def test_every_registered_message_has_a_strategy() -> None:
    assert set(STRATEGIES) == set(REGISTRY)


@settings(deadline=None, max_examples=300)
@given(any_message)
def test_every_message_round_trips_through_canonical_json(message: Message) -> None:
    wire = message.canonical_bytes()
    parsed = parse_canonical_json(wire)  # our own output is accepted by our strict parser
    again = type(message).from_json_object(parsed)
    assert again == message
    assert again.canonical_bytes() == wire


@settings(
    deadline=None, max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(message=any_message)
def test_every_message_round_trips_through_a_signed_envelope(alice, bob, keys, message) -> None:
    recipient = None if message.UNADDRESSED else bob.node_id  # a `FrameRefusal` names none
    envelope = seal(
        message, sender=alice.node_id, recipient=recipient, signing_key=alice.signing_key, now=NOW
    )
    verified = verify_frame(
        envelope.to_frame(),
        local_node_id=bob.node_id,
        now=NOW,
        lookup_key=keys.get,
        is_replay=lambda *_: False,
        accept_unaddressed=message.UNADDRESSED,
    )
    assert verified.message == message
    assert type(verified.message) is type(message)


@settings(deadline=None)
@given(any_message)
def test_messages_are_frozen(message: Message) -> None:
    field = next(iter(type(message).model_fields))
    with pytest.raises(ValidationError):
        setattr(message, field, None)


# --- registry -------------------------------------------------------------------------------


def test_registry_distinguishes_unknown_type_from_unknown_version() -> None:
    assert REGISTRY.model_for("membership.request", 1) is MembershipRequest
    with pytest.raises(errors.UnknownVersion, match="supported: 1"):
        REGISTRY.model_for("membership.request", 2)
    with pytest.raises(errors.UnknownMessageType):
        REGISTRY.model_for("membership.gossip", 1)


def test_registry_refuses_duplicates_and_reports_versions() -> None:
    with pytest.raises(ValueError, match="twice"):
        MessageRegistry([DeliveryAck, DeliveryAck])

    class DeliveryAckV2(DeliveryAck):
        VERSION = 2

    registry = MessageRegistry([DeliveryAck, DeliveryAckV2])
    assert registry.versions("delivery.ack") == (1, 2)
    assert registry.model_for("delivery.ack", 2) is DeliveryAckV2
    assert DeliveryAckV2 not in REGISTRY and len(registry) == 2


def test_draft_placeholders_are_registered_and_marked() -> None:
    drafts = {m.TYPE for m in REGISTRY if m.DRAFT}
    # the expert network's are designed (issue 16), perpetrator tokens too (issue 18)
    assert drafts == set()
    assert "perpetrator.token" not in {m.TYPE for m in REGISTRY}
    assert "statistics.release" in {m.TYPE for m in REGISTRY}  # designed in issue 6


# --- validation rules --------------------------------------------------------------------


def request_fields(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = dict(
        node_id="ab" * 16,
        organisation_name="Panzi Foundation",
        country="CD",
        contact="contact@example.org",
        identity_key="01" * 32,
        box_key="02" * 32,
    )
    fields.update(overrides)
    return fields


@pytest.mark.parametrize(
    "override",
    [
        {"organisation_name": "Panzi\u202eFoundation"},  # bidi override
        {"organisation_name": "line\nbreak"},
        {"organisation_name": ""},
        {"organisation_name": "x" * 201},
        {"country": "cd"},
        {"identity_key": "01" * 31},
        {"identity_key": "0G" * 32},
        {"node_id": "AB" * 16},
        {"unexpected": "field"},
    ],
)
def test_membership_request_validation(override: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        MembershipRequest.model_validate(request_fields(**override))


def test_strict_models_do_not_coerce() -> None:
    with pytest.raises(ValidationError):
        MembershipListQuery.from_json_object({"known_sequence": "3"})
    with pytest.raises(ValidationError):
        MembershipListQuery.from_json_object({"known_sequence": True})


def make_certificate(issuer_key: SigningKey, node_id: str = "cd" * 16) -> MembershipCertificate:
    body = CertificateBody(
        serial=secrets.token_hex(16),
        issuer="ee" * 16,
        node_id=node_id,
        organisation_name="SEMA Network",
        country="UG",
        identity_key="03" * 32,
        box_key="04" * 32,
        not_before=NOW,
        not_after=NOW + 365 * 86400,
    )
    return MembershipCertificate.issue(body, issuer_key)


def test_decision_rules() -> None:
    cert = make_certificate(SigningKey.generate())
    MembershipDecision(node_id=cert.body.node_id, decision="approved", certificate=cert)
    MembershipDecision(node_id="ab" * 16, decision="rejected", reason="not an NGO")
    for bad in (
        dict(node_id=cert.body.node_id, decision="approved"),
        dict(node_id="ab" * 16, decision="approved", certificate=cert),
        dict(node_id="ab" * 16, decision="rejected"),
        dict(node_id=cert.body.node_id, decision="rejected", reason="x", certificate=cert),
    ):
        with pytest.raises(ValidationError):
            MembershipDecision.model_validate(bad)


def test_certificate_verifies_within_its_period_only() -> None:
    observatory = SigningKey.generate()
    cert = make_certificate(observatory)
    assert cert.verify(issuer_key=observatory.verify_key, now=NOW) == cert.body
    with pytest.raises(errors.NotYetValid):
        cert.verify(issuer_key=observatory.verify_key, now=NOW - 1)
    with pytest.raises(errors.Expired):
        cert.verify(issuer_key=observatory.verify_key, now=cert.body.not_after)
    with pytest.raises(errors.BadSignature):
        cert.verify(issuer_key=SigningKey.generate().verify_key, now=NOW)
    forged = cert.model_copy(update={"body": cert.body.model_copy(update={"box_key": "05" * 32})})
    with pytest.raises(errors.BadSignature):
        forged.verify(issuer_key=observatory.verify_key, now=NOW)


def make_list(key: SigningKey, sequence: int, members=(), revocations=()) -> MembershipList:
    body = MembershipListBody(
        issuer="ee" * 16,
        sequence=sequence,
        issued_at=NOW,
        expires=NOW + 86400,
        members=tuple(members),
        revocations=tuple(revocations),
    )
    return MembershipList.issue(body, key)


def member(node_id: str, key: SigningKey) -> MemberEntry:
    return MemberEntry(
        node_id=node_id,
        organisation_name="Member",
        country="SS",
        identity_key=key.verify_key.raw().hex(),
        box_key="06" * 32,
        certificate_serial=secrets.token_hex(16),
        joined_at=NOW,
    )


def test_membership_list_verification_rollback_and_expiry() -> None:
    observatory = SigningKey.generate()
    lst = make_list(observatory, 5)
    assert lst.verify(issuer_key=observatory.verify_key, now=NOW, previous_sequence=4).sequence == 5
    assert lst.verify(issuer_key=observatory.verify_key, now=NOW, previous_sequence=None)
    with pytest.raises(errors.RolledBack):
        lst.verify(issuer_key=observatory.verify_key, now=NOW, previous_sequence=5)
    with pytest.raises(errors.Expired):
        lst.verify(issuer_key=observatory.verify_key, now=NOW + 86400, previous_sequence=4)
    with pytest.raises(errors.BadSignature):
        lst.verify(issuer_key=SigningKey.generate().verify_key, now=NOW, previous_sequence=None)


def test_revocation_removes_the_key_from_lookups() -> None:
    observatory, node_key = SigningKey.generate(), SigningKey.generate()
    node_id = "ab" * 16
    before = make_list(observatory, 1, members=[member(node_id, node_key)]).body
    assert before.verify_key_of(node_id) == node_key.verify_key
    after = make_list(
        observatory,
        2,
        revocations=[Revocation(node_id=node_id, revoked_at=NOW, reason="key_compromised")],
    ).body
    assert after.verify_key_of(node_id) is None


def test_membership_list_consistency_rules() -> None:
    key, node_id = SigningKey.generate(), "ab" * 16
    with pytest.raises(ValidationError, match="twice"):
        make_list(key, 1, members=[member(node_id, key), member(node_id, key)])
    with pytest.raises(ValidationError, match="revoked"):
        make_list(
            key,
            1,
            members=[member(node_id, key)],
            revocations=[Revocation(node_id=node_id, revoked_at=NOW, reason="other")],
        )


def test_the_evaluator_in_the_list_is_signed_and_old_lists_verify_as_before() -> None:
    key = SigningKey.generate()
    plain = make_list(key, 1)
    # without an evaluator, the signed JSON is what it was before issue 18 added the field
    assert b"evaluator" not in plain.body.canonical_bytes()
    assert "evaluator" not in plain.to_json_object()["body"]
    entry = OprfEvaluatorEntry(node_id="cd" * 16, identity_key="07" * 32, epochs=(
        OprfEpochKey(epoch=1, public_key="08" * 32), OprfEpochKey(epoch=2, public_key="09" * 32)))
    body = plain.body.model_copy(update={"evaluator": entry})
    signed = MembershipList.issue(body, key)
    assert signed.verify(issuer_key=key.verify_key, now=NOW, previous_sequence=None
                         ).evaluator == entry
    assert entry.current_epoch == 2 and entry.key_of(1) == bytes.fromhex("08" * 32)
    assert entry.key_of(3) is None
    again = MembershipList.from_json_object(parse_canonical_json(canonical_json(
        signed.to_json_object())))
    assert again.verify(issuer_key=key.verify_key, now=NOW, previous_sequence=None)
    # a flipped bit in any published key (or the evaluator's identity) breaks the signature
    for changed in (entry.model_copy(update={"identity_key": "06" + "07" * 31}),
                    entry.model_copy(update={"epochs": (
                        OprfEpochKey(epoch=1, public_key="08" * 32),
                        OprfEpochKey(epoch=2, public_key="19" + "09" * 31))})):
        forged = signed.model_copy(update={"body": body.model_copy(
            update={"evaluator": changed})})
        with pytest.raises(errors.BadSignature):
            forged.verify(issuer_key=key.verify_key, now=NOW, previous_sequence=None)
    # the evaluator is neither the observatory nor a member
    with_member = make_list(key, 1, members=[member("cd" * 16, key)]).body
    with pytest.raises(ValidationError, match="evaluator"):
        MembershipListBody.from_json_object({**with_member.to_json_object(),
                                             "evaluator": entry.to_json_object()})
    with pytest.raises(ValidationError, match="twice"):
        OprfEvaluatorEntry(node_id="cd" * 16, identity_key="07" * 32, epochs=(
            OprfEpochKey(epoch=1, public_key="08" * 32),) * 2)


def test_signed_documents_are_domain_separated() -> None:
    key = SigningKey.generate()
    cert = make_certificate(key)
    # A list body signed with the certificate's signature never verifies.
    lst = make_list(key, 1)
    spliced = lst.model_copy(update={"signature": cert.signature})
    with pytest.raises(errors.BadSignature):
        spliced.verify(issuer_key=key.verify_key, now=NOW, previous_sequence=None)


# --- checkpoints ----------------------------------------------------------------------------

ROOT = base64.b64encode(bytes(range(32))).decode()
SIG = signature_line("node-a.example", bytes(68))


def test_parse_checkpoint_note() -> None:
    note = f"node-a.example/evidence\n42\n{ROOT}\n\n{SIG}\n"
    summary = parse_checkpoint_note(note)
    assert (summary.origin, summary.size, summary.root_hash) == (
        "node-a.example/evidence",
        42,
        bytes(range(32)),
    )
    assert summary.signer_names == ("node-a.example",)


@pytest.mark.parametrize(
    "note",
    [
        f"o\n42\n{ROOT}\n\n{SIG}",  # no final newline
        f"o\n42\n{ROOT}\n{SIG}\n",  # no blank line
        f"o\n042\n{ROOT}\n\n{SIG}\n",  # leading zero
        f"o\n-1\n{ROOT}\n\n{SIG}\n",
        f"o\n42\n{base64.b64encode(bytes(31)).decode()}\n\n{SIG}\n",  # short root
        f"o\n42\n{ROOT}\n\n",  # no signature
        f"o\n42\n{ROOT}\n\n- name abcd\n",  # hyphen, not an em dash
        f"o\n42\n\n\n{SIG}\n",
        f"\n42\n{ROOT}\n\n{SIG}\n",
        f"o\n42\n{ROOT}\n\n{SIG}\n" + "x" * 20_000,
    ],
)
def test_parse_checkpoint_note_rejects(note: str) -> None:
    with pytest.raises(ValueError):
        parse_checkpoint_note(note)


def push(size: int, old: int | None, proof: int) -> CheckpointPush:
    note = f"o.example/log\n{size}\n{ROOT}\n\n{SIG}\n"
    return CheckpointPush(checkpoint=note, old_size=old, consistency_proof=("aa" * 32,) * proof)


def test_checkpoint_push_proof_rules() -> None:
    push(10, None, 0)
    push(10, 0, 0)
    push(10, 10, 0)
    push(10, 4, 3)
    for size, old, proof in [(10, None, 1), (10, 11, 1), (10, 4, 0), (10, 10, 1), (10, 0, 1)]:
        with pytest.raises(ValidationError):
            push(size, old, proof)


def test_cosignature_response_rules() -> None:
    line = signature_line("witness.example", bytes(76))
    CosignatureResponse(origin="o", size=1, outcome="cosigned", cosignature=line)
    CosignatureResponse(origin="o", size=1, outcome="refused", refusal="inconsistent")
    for bad in (
        dict(outcome="cosigned"),
        dict(outcome="cosigned", cosignature=signature_line("w", bytes(68))),  # not 76 bytes
        dict(outcome="refused"),
        dict(outcome="refused", refusal="inconsistent", cosignature=line),
        dict(outcome="refused", refusal="because"),
    ):
        with pytest.raises(ValidationError):
            CosignatureResponse.model_validate(dict(origin="o", size=1, **bad))


def test_delivery_ack_reason_exactly_when_rejected() -> None:
    with pytest.raises(ValidationError):
        DeliveryAck(envelope_id="ab" * 16, status="rejected")
    with pytest.raises(ValidationError):
        DeliveryAck(envelope_id="ab" * 16, status="accepted", reason="expired")


def test_statistics_cells_match_dimensions_and_blobs_are_canonical_base64() -> None:
    with pytest.raises(ValidationError):  # two dimensions but one domain
        StatisticsTable(name="t", dimensions=("violation", "month"), domains=(("rape",),),
                        counts=(3,), mechanism="discrete_laplace", scale=5.0, variance=50.0,
                        accuracy_95=14, epsilon=0.2)
    with pytest.raises(ValidationError):  # one count per cell
        StatisticsTable(name="t", dimensions=("violation",), domains=(("rape", "other"),),
                        counts=(3,), mechanism="discrete_laplace", scale=5.0, variance=50.0,
                        accuracy_95=14, epsilon=0.2)
    for blob in ("QUJD", "QUJDRA==", "QUJDRA=", "QUJDRB==", "QU JD"):
        fields = dict(
            share_id="ab" * 16,
            engagement_id="cd" * 16,
            recipient_box_key="01" * 32,
            part=0,
            parts=1,
            sealed=blob,
            shared_at=NOW,
            expires=NOW + 1,
        )
        if blob in ("QUJD", "QUJDRA=="):
            SealedShare.model_validate(fields)
        else:
            with pytest.raises(ValidationError):
                SealedShare.model_validate(fields)


def test_an_introduction_request_carries_keys_exactly_when_it_agrees() -> None:
    keys = CoordinatorKeys(node_id="a1" * 16, coordinator_key="b2" * 32,
                           coordinator_box_key="c3" * 32, certificate="d4" * 64)
    IntroductionRequest(request_id="01" * 16, case_ref="02" * 16, decision="agree",
                        coordinator=keys)
    IntroductionRequest(request_id="01" * 16, case_ref="02" * 16, decision="dismiss")
    with pytest.raises(ValidationError):
        IntroductionRequest(request_id="01" * 16, case_ref="02" * 16, decision="agree")
    with pytest.raises(ValidationError):
        IntroductionRequest(request_id="01" * 16, case_ref="02" * 16, decision="dismiss",
                            coordinator=keys)
    with pytest.raises(ValidationError):  # a certificate is one Ed25519 signature
        CoordinatorKeys(node_id="a1" * 16, coordinator_key="b2" * 32,
                        coordinator_box_key="c3" * 32, certificate="d4" * 63)
