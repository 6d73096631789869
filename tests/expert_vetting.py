"""A vetted expert for tests, made through the real parts (issue 16): an expert account on
their home node signs their profile (`profiles.save_profile`), the home node is enrolled in
and approved by a real observatory (`make_observatory`, its `Members` and `ExpertRegistry`
on SQLite), the admin countersigns the vouch, and the requesting node keeps the signed
directory (`directory.accept_in`) as its federation service would."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from crypto import passphrase as pw
from crypto.keys import VerifyKey
from node import accounts
from node.context import NodeContext
from node.experts import directory, engagements, profiles
from observatory.context import open_observatory
from protocol.encoding import parse_canonical_json
from protocol.experts import ExpertVouch
from protocol.membership import MembershipRequest
from tests.unit.observatory.support import make_observatory

EXPERT_PASSPHRASE = "an expert's long enough passphrase"


@dataclass(frozen=True)
class VettedExpert:
    username: str
    expert_key: str  # their Ed25519 signing key, hex
    serial: str  # their credential's
    observatory_key: VerifyKey
    observatory_root: Path
    observatory_node_id: str

    def federation_config(self) -> str:
        """A node.toml `[federation]` section that believes this observatory."""
        return (f'\n[federation]\nobservatory_node_id = "{self.observatory_node_id}"\n'
                f'observatory_identity_key = "{self.observatory_key.raw().hex()}"\n'
                'observatory_addrs = ["/ip4/127.0.0.1/tcp/9"]\nlisten_host = "127.0.0.1"\n'
                'listen_port = 9\norganisation_name = "Organisation"\ncountry = "CD"\n'
                'contact = "federation@example.org"\n')


def vetted_expert(home: NodeContext, requesting: list[NodeContext], tmp: Path, *,
                  username: str = "expert-zawadi") -> VettedExpert:
    (expert,) = vetted_experts(home, requesting, tmp, usernames=(username,))
    return expert


def vetted_experts(home: NodeContext, requesting: list[NodeContext], tmp: Path, *,
                   usernames: tuple[str, ...]) -> list[VettedExpert]:
    """Experts of `home`, countersigned by one observatory; every node of `requesting`
    keeps its directory."""
    now = int(home.clock().timestamp())  # the nodes' clock: a test's may stand still
    vouches = []
    for username in usernames:
        with home.db.write() as conn:
            accounts.create(conn, username, EXPERT_PASSPHRASE, {"expert"},
                            pw.INSECURE_FAST_FOR_TESTS, 0, certifier=home.keys.certifier)
        expert = accounts.unlock(home.db.read(), username, EXPERT_PASSPHRASE)
        profiles.save_profile(home.db, home.audit, expert, node_id=home.keys.node_id,
                              specialties=["forensic_medicine"], languages=["fr", "sw"],
                              countries=["CD"], regions=["CD-NK"], modes=["remote"], now=now)
        (signed_vouch,) = home.db.read().execute(
            "SELECT vouch FROM expert_profiles WHERE staff_id = ?",
            (expert.member.id,)).fetchone()
        vouches.append(ExpertVouch.from_json_object(
            parse_canonical_json(signed_vouch.encode("utf-8"))))
    root = make_observatory(tmp / f"observatory-{usernames[0]}")
    obs = open_observatory(root, clock=lambda: now)
    try:
        with obs.db.write() as conn:
            obs.members.enroll_in(conn, MembershipRequest(
                node_id=home.keys.node_id, organisation_name="Home organisation",
                country="CD", contact="home@example.org",
                identity_key=home.keys.identity_public.raw().hex(),
                box_key=home.keys.intake_public.raw().hex()), now)
        obs.members.approve(home.keys.node_id, now)
        credentials = []
        for vouch in vouches:
            with obs.db.write() as conn:
                obs.experts.receive_vouch_in(conn, vouch, home.keys.node_id, now)
            credentials.append(obs.experts.countersign(vouch.body.vouch_id, now, days=30))
        with obs.db.write() as conn:
            signed = obs.experts.current_in(conn, now)
        key, observatory_id = obs.identity.verify_key, obs.identity.node_id
        for ctx in requesting:
            with ctx.db.write() as conn:
                directory.accept_in(conn, signed, observatory_key=key, now=now)
    finally:
        obs.close()
    return [VettedExpert(username, vouch.body.expert_key, credential.body.serial, key, root,
                         observatory_id)
            for username, vouch, credential in zip(usernames, vouches, credentials,
                                                   strict=True)]


def engaged(ctx: NodeContext, expert_key: str, report_id: str | None = None, *,
            hours: int = 24 * 14) -> str:
    """An active engagement of this expert by `ctx`, kept as the coordinator's pick of an
    accepted need keeps it (`engagements.record`); its id, for sharing material with them.
    The keys are the expert's and placeholders for the coordinator's: sharing reads only
    the expert's key, the node, the case and whether the engagement is active."""
    now = int(ctx.clock().timestamp())
    engagement_id = secrets.token_hex(16)
    with ctx.db.write() as conn:
        engagements.record(conn, engagements.Engagement(
            engagement_id=engagement_id, need_id=secrets.token_hex(16),
            requesting_node=ctx.keys.node_id, home_node="", report_id=report_id,
            coordinator_id=None, expert_staff_id=None, expert_key=expert_key,
            expert_box_key="00" * 32, coordinator_key="00" * 32,
            coordinator_box_key="00" * 32, description_sealed=None, decided_at=now,
            ends_at=now + hours * 3600, state="active"))
    return engagement_id
