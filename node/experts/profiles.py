"""An expert's profile and signing key on their home node (issue 16).

The profile is what the federation may learn about an expert, in the codes of
`protocol.experts`: specialties, languages, countries and ISO 3166-2 regions, remote or on
site, and availability, which the expert changes in one tap. No name, no contact details:
those stay in the account, on this node.

The expert's Ed25519 key signs what they say to other nodes (answers to needs, thread
messages, opinions, the vouch that asks for their credential). It is made when the profile
is first opened; its seed is sealed to the expert's own X25519 key, so only their
passphrase opens it (keys follow people), and the public half is stored beside it.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass

from pydantic import ValidationError

from crypto.keys import SigningKey
from node import errors
from node.accounts import UnlockedStaff, append_audit
from node.backoffice.audit import AuditLog
from node.i18n import N_
from node.storage.database import Database
from protocol.encoding import canonical_json
from protocol.experts import AVAILABILITIES, ExpertProfile, ExpertVouch, VouchBody

EXPERT_ROLE = "expert"
_SEED_CONTEXT = b"expert-signing-seed:"  # bound to the account it belongs to
_FIELDS = ("specialties", "languages", "countries", "regions", "modes")


class NotAnExpert(errors.Forbidden):
    message = N_("This page is for experts of the network only.")


class ProfileIncomplete(errors.InvalidInput):
    message = N_("Choose at least one specialty, one language, one country and one way of "
                 "working (remote or on site). Regions must lie in the countries you chose.")


class UnknownAvailability(errors.UnknownChoice):
    message = N_("Choose now, this week or away.")


@dataclass(frozen=True)
class StoredProfile:
    """An expert's row: their public signing key, their profile once complete, their
    availability."""

    staff_id: str
    signing_public_key: bytes
    profile: ExpertProfile | None  # None until the expert has filled it in
    availability: str
    updated_hour: int


def require_expert(staff: UnlockedStaff) -> None:
    if staff.member.roles != frozenset({EXPERT_ROLE}):
        raise NotAnExpert()


def _codes(values: tuple[str, ...]) -> str:
    return ",".join(values)


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split(",")) if text else ()


def _row(row: sqlite3.Row) -> StoredProfile:
    try:
        profile: ExpertProfile | None = ExpertProfile.from_json_object(
            {name: list(_split(row[name])) for name in _FIELDS})
    except ValidationError:
        profile = None
    return StoredProfile(row["staff_id"], bytes(row["signing_public_key"]), profile,
                         row["availability"], row["updated_hour"])


def get(conn: sqlite3.Connection, staff_id: str) -> StoredProfile | None:
    row = conn.execute("SELECT * FROM expert_profiles WHERE staff_id = ?",
                       (staff_id,)).fetchone()
    return None if row is None else _row(row)


def open_profile(db: Database, audit: AuditLog, expert: UnlockedStaff, now: int
                 ) -> StoredProfile:
    """The expert's profile, made (with their signing key) on first use."""
    require_expert(expert)
    with db.write() as conn:
        found = get(conn, expert.member.id)
        if found is not None:
            return found
        key = SigningKey.generate()
        sealed = expert.member.public_key.seal(_SEED_CONTEXT + expert.member.id.encode()
                                               + key.seed())
        conn.execute("INSERT INTO expert_profiles (staff_id, signing_public_key, "
                     "signing_seed_sealed, updated_hour) VALUES (?, ?, ?, ?)",
                     (expert.member.id, key.verify_key.raw(), sealed, now // 3600))
        append_audit(conn, audit, now, expert.member.id, "expert.key_made", expert.member.id)
        made = get(conn, expert.member.id)
    assert made is not None
    return made


def signing_key(conn: sqlite3.Connection, expert: UnlockedStaff) -> SigningKey:
    """The expert's signing key, opened with their own key (in memory, for this use only)."""
    row = conn.execute("SELECT signing_seed_sealed FROM expert_profiles WHERE staff_id = ?",
                       (expert.member.id,)).fetchone()
    if row is None:
        raise errors.NotFound()
    opened = expert.secret_key.open(bytes(row[0]))
    prefix = _SEED_CONTEXT + expert.member.id.encode()
    if not opened.startswith(prefix):
        raise errors.Forbidden()  # a seed sealed for another account: never use it
    return SigningKey(opened[len(prefix):])


def save_profile(db: Database, audit: AuditLog, expert: UnlockedStaff, *, node_id: str,
                 specialties: list[str], languages: list[str], countries: list[str],
                 regions: list[str], modes: list[str], now: int) -> ExpertProfile:
    """Check and store the expert's profile; `ProfileIncomplete` if it is not one.

    The expert signs it, as their request to be vetted (`ExpertVouch`, with this node as
    their home): what a coordinator's vouch sends to the observatory. A changed profile is a
    new request, which a coordinator vouches for again."""
    require_expert(expert)
    try:
        profile = ExpertProfile.from_json_object({
            "specialties": sorted(set(specialties)), "languages": sorted(set(languages)),
            "countries": sorted(set(countries)), "regions": sorted(set(regions)),
            "modes": sorted(set(modes))})
    except ValidationError:
        raise ProfileIncomplete() from None
    stored = open_profile(db, audit, expert, now)
    with db.write() as conn:
        key = signing_key(conn, expert)
        vouch = ExpertVouch.sign(VouchBody(
            vouch_id=secrets.token_hex(16), home_node=node_id,
            expert_key=stored.signing_public_key.hex(),
            box_key=expert.member.public_key.raw().hex(), profile=profile, vouched_at=now), key)
        conn.execute(
            "UPDATE expert_profiles SET specialties = ?, languages = ?, countries = ?, "
            "regions = ?, modes = ?, updated_hour = ?, vouch = ?, vouched_by = NULL, "
            "vouched_hour = NULL WHERE staff_id = ?",
            (_codes(profile.specialties), _codes(profile.languages), _codes(profile.countries),
             _codes(profile.regions), _codes(profile.modes), now // 3600,
             canonical_json(vouch.to_json_object()).decode("utf-8"), expert.member.id))
        append_audit(conn, audit, now, expert.member.id, "expert.profile", expert.member.id)
    return profile


def set_availability(db: Database, audit: AuditLog, expert: UnlockedStaff, availability: str,
                     now: int) -> None:
    """The one-tap change: now, this week or away."""
    require_expert(expert)
    if availability not in AVAILABILITIES:
        raise UnknownAvailability(field="availability")
    open_profile(db, audit, expert, now)
    with db.write() as conn:
        conn.execute("UPDATE expert_profiles SET availability = ?, updated_hour = ?, "
                     "availability_changed_at = ? WHERE staff_id = ?",
                     (availability, now // 3600, now, expert.member.id))
        append_audit(conn, audit, now, expert.member.id, "expert.availability",
                     expert.member.id, availability)
