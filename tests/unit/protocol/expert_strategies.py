"""Hypothesis strategies for the expert network's messages (issue 16): valid instances only,
signed by real keys, for round trips and as the seeds that fuzzing mutates."""

from __future__ import annotations

import base64

from hypothesis import strategies as st

from backup_evidence.opinions import KINDS as OPINION_KINDS
from backup_evidence.opinions import Statement as OpinionStatement
from crypto.keys import SigningKey
from protocol import regions
from protocol.engagements import (
    AnswerBody,
    ExpertDecline,
    ExpertEngagement,
    ExpertNeed,
    ExpertOffer,
    ExpertRevocation,
    SealedShare,
    SignedAnswer,
    ThreadBody,
    ThreadMessage,
)
from protocol.experts import (
    AVAILABILITIES,
    SPECIALTIES,
    WORK_MODES,
    CredentialBody,
    CredentialRevocation,
    DirectoryBody,
    DirectoryEntry,
    ExpertAvailability,
    ExpertCredential,
    ExpertCredentialIssued,
    ExpertDirectory,
    ExpertDirectoryQuery,
    ExpertProfile,
    ExpertVouch,
    VouchBody,
)
from protocol.message import Message
from protocol.opinions import ExpertOpinion

OBSERVATORY_KEY = SigningKey(bytes(range(32)))
OBSERVATORY_ID = "0b" * 16
DAY = 24 * 3600


def hexes(n: int) -> st.SearchStrategy[str]:
    return st.binary(min_size=n, max_size=n).map(bytes.hex)


ids = hexes(16)
keys_hex = hexes(32)
times = st.integers(0, 2**40)
signing_keys = st.binary(min_size=32, max_size=32).map(SigningKey)
blobs = st.binary(min_size=1, max_size=200).map(lambda b: base64.b64encode(b).decode())


def sorted_set(elements: st.SearchStrategy[str], min_size: int, max_size: int
               ) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(elements, min_size=min_size, max_size=max_size, unique=True).map(
        lambda values: tuple(sorted(values)))


languages = sorted_set(st.from_regex(r"[a-z]{2,3}(-[A-Z]{2})?", fullmatch=True), 1, 4)
specialties = sorted_set(st.sampled_from(SPECIALTIES), 1, 3)
# countries that have subdivisions, so that their regions are codes of the federation's
# one region vocabulary (protocol/regions.py)
countries = sorted_set(st.sampled_from(regions.countries()), 1, 3)


@st.composite
def regions_in(draw: st.DrawFn, within: tuple[str, ...]) -> tuple[str, ...]:
    codes = [s.code for country in within for s in regions.subdivisions(country)]
    return tuple(sorted(set(draw(st.lists(st.sampled_from(codes), max_size=4)))))


@st.composite
def profiles(draw: st.DrawFn, with_specialties: tuple[str, ...] | None = None
             ) -> ExpertProfile:
    where = draw(countries)
    return ExpertProfile(
        specialties=with_specialties or draw(specialties), languages=draw(languages),
        countries=where, regions=draw(regions_in(where)),
        modes=draw(sorted_set(st.sampled_from(WORK_MODES), 1, 2)))


@st.composite
def vouches(draw: st.DrawFn) -> ExpertVouch:
    expert = draw(signing_keys)
    body = VouchBody(vouch_id=draw(ids), home_node=draw(ids),
                     expert_key=expert.verify_key.raw().hex(), box_key=draw(keys_hex),
                     profile=draw(profiles()), vouched_at=draw(times))
    return ExpertVouch.sign(body, expert)


@st.composite
def credentials(draw: st.DrawFn, specialties_: tuple[str, ...] | None = None,
                key: SigningKey = OBSERVATORY_KEY) -> ExpertCredential:
    start = draw(times)
    body = CredentialBody(
        serial=draw(ids), issuer=OBSERVATORY_ID, home_node=draw(ids),
        expert_key=draw(keys_hex), box_key=draw(keys_hex),
        specialties=specialties_ or draw(specialties), vouch_id=draw(ids),
        not_before=start, not_after=start + draw(st.integers(1, 700 * DAY)))
    return ExpertCredential.issue(body, key)


@st.composite
def credentials_issued(draw: st.DrawFn) -> ExpertCredentialIssued:
    credential = draw(credentials())
    return ExpertCredentialIssued(vouch_id=credential.body.vouch_id, credential=credential)


@st.composite
def directory_entries(draw: st.DrawFn) -> DirectoryEntry:
    credential = draw(credentials())
    return DirectoryEntry(
        credential=credential,
        profile=draw(profiles(with_specialties=credential.body.specialties)),
        availability=draw(st.sampled_from(AVAILABILITIES)))


@st.composite
def directories(draw: st.DrawFn) -> ExpertDirectory:
    entries = draw(st.lists(directory_entries(), max_size=3,
                            unique_by=(lambda e: e.credential.body.serial,
                                       lambda e: e.credential.body.expert_key)))
    listed = {e.credential.body.serial for e in entries}
    revoked = draw(st.lists(ids.filter(lambda s: s not in listed), max_size=3, unique=True))
    body = DirectoryBody(
        issuer=OBSERVATORY_ID, sequence=draw(st.integers(1, 2**53 - 1)),
        issued_at=draw(times), entries=tuple(entries),
        revocations=tuple(CredentialRevocation(serial=serial, revoked_at=draw(times),
                                               reason=draw(st.sampled_from(["left", "other"])))
                          for serial in revoked))
    return ExpertDirectory.issue(body, OBSERVATORY_KEY)


@st.composite
def needs(draw: st.DrawFn) -> ExpertNeed:
    country = draw(st.sampled_from(regions.countries()))
    posted = draw(times)
    return ExpertNeed(
        need_id=draw(ids), specialty=draw(st.sampled_from(SPECIALTIES)),
        languages=draw(languages), country=country, regions=draw(regions_in((country,))),
        mode=draw(st.sampled_from(["remote", "on_site", "either"])),
        urgency=draw(st.sampled_from(["routine", "urgent", "immediate"])),
        posted_at=posted, deadline=posted + draw(st.integers(1, 90 * DAY)),
        experts=draw(sorted_set(keys_hex, 1, 3)))


@st.composite
def signed_answers(draw: st.DrawFn, answer: str) -> SignedAnswer:
    expert = draw(signing_keys)
    reason = None if answer == "accept" else draw(
        st.none() | st.sampled_from(["unavailable", "outside_expertise", "other"]))
    body = AnswerBody(need_id=draw(ids), requesting_node=draw(ids),
                      expert_key=expert.verify_key.raw().hex(), answer=answer, reason=reason,
                      answered_at=draw(times))
    return SignedAnswer.sign(body, expert)


@st.composite
def engagements(draw: st.DrawFn) -> ExpertEngagement:
    decided = draw(times)
    return ExpertEngagement(
        engagement_id=draw(ids), decision=draw(st.sampled_from(["engaged", "not_chosen"])),
        offer=draw(signed_answers("accept")), coordinator_key=draw(keys_hex),
        coordinator_box_key=draw(keys_hex), decided_at=decided,
        ends_at=decided + draw(st.integers(1, 10**7)))


@st.composite
def shares(draw: st.DrawFn) -> SealedShare:
    parts = draw(st.integers(1, 10))
    shared = draw(times)
    return SealedShare(
        share_id=draw(ids), engagement_id=draw(ids), recipient_box_key=draw(keys_hex),
        part=draw(st.integers(0, parts - 1)), parts=parts, sealed=draw(blobs),
        shared_at=shared, expires=shared + draw(st.integers(1, 10**7)))


@st.composite
def thread_messages(draw: st.DrawFn) -> ThreadMessage:
    author = draw(signing_keys)
    body = ThreadBody(thread_id=draw(ids), message_id=draw(ids),
                      sequence=draw(st.integers(1, 1000)),
                      author_key=author.verify_key.raw().hex(),
                      recipient_box_key=draw(keys_hex), sealed=draw(blobs),
                      sent_at=draw(times))
    return ThreadMessage.sign(body, author)


@st.composite
def opinions(draw: st.DrawFn) -> ExpertOpinion:
    """An expert's signed opinion (issue 16): its statement signed by the credential's key."""
    expert = draw(signing_keys)
    credential = draw(credentials())
    credential = ExpertCredential.issue(credential.body.model_copy(update={
        "expert_key": expert.verify_key.raw().hex()}), OBSERVATORY_KEY)
    engagement_id = draw(ids)
    statement = OpinionStatement(
        engagement=engagement_id, subject_sha256=draw(keys_hex),
        kind=draw(st.sampled_from(OPINION_KINDS)), text_sha256=draw(keys_hex),
        file_sha256=draw(st.none() | keys_hex), credential=credential.body.serial,
        expert_key=credential.body.expert_key, signed_at=draw(times))
    return ExpertOpinion(
        opinion_id=draw(ids), engagement_id=engagement_id,
        statement=statement.encode().decode("utf-8"), signature=statement.sign(expert),
        credential=credential,
        digests=tuple(draw(st.lists(keys_hex, min_size=4, max_size=7, unique=True))),
        sealed=draw(blobs), sent_at=draw(times))


EXPERT_STRATEGIES: dict[type[Message], st.SearchStrategy[Message]] = {
    ExpertVouch: vouches(),
    ExpertCredentialIssued: credentials_issued(),
    ExpertAvailability: st.builds(ExpertAvailability, serial=ids,
                                  availability=st.sampled_from(AVAILABILITIES),
                                  changed_at=times),
    ExpertDirectoryQuery: st.builds(ExpertDirectoryQuery,
                                    known_sequence=st.none() | st.integers(1, 2**53 - 1)),
    ExpertDirectory: directories(),
    ExpertNeed: needs(),
    ExpertOffer: signed_answers("accept").map(lambda a: ExpertOffer(answer=a)),
    ExpertDecline: signed_answers("decline").map(lambda a: ExpertDecline(answer=a)),
    ExpertEngagement: engagements(),
    SealedShare: shares(),
    ExpertRevocation: st.builds(
        ExpertRevocation, subject=st.sampled_from(["need", "engagement", "share", "thread"]),
        subject_id=ids,
        reason=st.sampled_from(["reporter", "coordinator", "expert", "credential_revoked",
                                "expired"]),
        revoked_at=times),
    ThreadMessage: thread_messages(),
    ExpertOpinion: opinions(),
}
