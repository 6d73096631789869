"""The libp2p protocol ids of the federation: one place for node, observatory and tests.

A protocol id names the wire format of a stream (multistream-select negotiates it before any
byte of ours is sent), so a change of framing or of the envelope format is a new id:

* ``/backup/federation/2.0.0``: one signed envelope per frame, frames prefixed with the
  unsigned varint that libp2p protocols use (`protocol.framing`).
* ``/backup/federation/1.0.0``: the same envelopes with a 4-byte big-endian length prefix.
  Served and offered for one release beside 2.0.0, so that nodes and the observatory can
  upgrade at different times; the transport re-frames it at its edge, so nothing above the
  host ever sees a 1.0.0 frame. Drop it from `FEDERATION` in the release after.

Node and observatory name only `FEDERATION_PROTOCOL`. The transport serves every version of
its family, offers them in order when it dials (multistream-select falls back to the next),
and answers any other id of the family with `refusal_frame`.

**Why the refusal is unsigned.** A peer that asks for ``/backup/federation/3.0.0`` is
answered, on that stream, with one frame naming the versions we serve, then the stream is
closed. The frame is informational: it changes no state on either side, is sent before the
peer has shown it is a member (so it must say nothing a stranger may not know: it names only
the protocol ids that identify already advertises), and the only thing a reader does with
it is choose which id to offer next. It travels inside the Noise session that authenticated
our peer id, which is as much authentication as the choice needs. A signed envelope would
need a recipient node id, which a peer that speaks another version may not give us.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from protocol.encoding import canonical_json, parse_canonical_json
from protocol.errors import ProtocolError
from protocol.framing import MAX_VARINT_BYTES, decode_frame, encode_frame


class Framing(enum.Enum):
    """How the frames of a protocol version are length-prefixed on the wire."""

    VARINT = "varint"  # protocol.framing: the libp2p convention
    FIXED32 = "fixed32"  # 4-byte big-endian: 1.0.0 only, re-framed by the transport


@dataclass(frozen=True)
class ProtocolVersion:
    protocol_id: str
    framing: Framing


# What a protocol id may look like (multistream-select: a UTF-8 path on one line; ours are
# short and ASCII).
PROTOCOL_ID_PATTERN = re.compile(r"^/[\x21-\x7e]{1,127}$")
# A refusal lists at most this many ids (we serve two at a time).
MAX_SERVED = 8


@dataclass(frozen=True)
class ProtocolFamily:
    """The versions of one protocol that we serve, most preferred first.

    Every id starting with `prefix` belongs to the family: the ones in `versions` are
    served; any other is refused with `refusal_frame` naming the served ones.
    """

    prefix: str
    versions: tuple[ProtocolVersion, ...]

    def __post_init__(self) -> None:
        if not self.versions or len(self.versions) > MAX_SERVED:
            raise ValueError(f"a family serves 1 to {MAX_SERVED} versions")
        for version in self.versions:
            if not version.protocol_id.startswith(self.prefix):
                raise ValueError(f"{version.protocol_id} is not in the family {self.prefix}")
            if not PROTOCOL_ID_PATTERN.match(version.protocol_id):
                raise ValueError(f"{version.protocol_id!r} is not a protocol id")

    @property
    def current(self) -> str:
        return self.versions[0].protocol_id

    @property
    def served(self) -> tuple[str, ...]:
        return tuple(version.protocol_id for version in self.versions)

    def version(self, protocol_id: str) -> ProtocolVersion | None:
        for version in self.versions:
            if version.protocol_id == protocol_id:
                return version
        return None

    def includes(self, protocol_id: str) -> bool:
        """Whether `protocol_id` is an id of this family, served or not."""
        return protocol_id.startswith(self.prefix) and bool(
            PROTOCOL_ID_PATTERN.match(protocol_id)
        )


FEDERATION = ProtocolFamily(
    prefix="/backup/federation/",
    versions=(
        ProtocolVersion("/backup/federation/2.0.0", Framing.VARINT),
        ProtocolVersion("/backup/federation/1.0.0", Framing.FIXED32),
    ),
)

# The federation's request/response protocol: one signed envelope frame in, one out.
FEDERATION_PROTOCOL = FEDERATION.current

FAMILIES: tuple[ProtocolFamily, ...] = (FEDERATION,)


def family_of(protocol_id: str, families: tuple[ProtocolFamily, ...] = FAMILIES
              ) -> ProtocolFamily | None:
    """The family whose current id is `protocol_id` (the id node and observatory use)."""
    for family in families:
        if family.current == protocol_id:
            return family
    return None


# -- the refusal of an id we do not serve ----------------------------------------------------

REFUSAL_REASON = "unsupported_version"
# How every refusal's canonical JSON (RFC 8785: keys sorted) begins.
_REFUSAL_START = b'{"reason":"' + REFUSAL_REASON.encode() + b'",'


@dataclass(frozen=True)
class VersionRefusal:
    """What a peer said when we asked for a version of a protocol that it does not serve."""

    refused: str
    served: tuple[str, ...]


def refusal_frame(family: ProtocolFamily, asked: str) -> bytes:
    """The varint frame answering a stream of `asked`, an id of `family` we do not serve."""
    return encode_frame(canonical_json(
        {"reason": REFUSAL_REASON, "refused": asked, "served": list(family.served)}))


def parse_refusal(frame: bytes) -> VersionRefusal | None:
    """The refusal in `frame`, or None if `frame` is anything else (an envelope, say).

    A refusal is exactly the object `refusal_frame` writes; ids that are not protocol ids,
    or more than `MAX_SERVED` of them, make it "anything else".
    """
    if _REFUSAL_START not in frame[:len(_REFUSAL_START) + MAX_VARINT_BYTES]:
        return None  # the common case, an envelope, is told apart without parsing it
    try:
        obj = parse_canonical_json(decode_frame(frame))
    except ProtocolError:
        return None
    if not isinstance(obj, dict) or set(obj) != {"reason", "refused", "served"}:
        return None
    refused, served = obj["refused"], obj["served"]
    if (
        obj["reason"] != REFUSAL_REASON
        or not isinstance(refused, str)
        or not PROTOCOL_ID_PATTERN.match(refused)
        or not isinstance(served, list)
        or len(served) > MAX_SERVED
        or not all(isinstance(s, str) and PROTOCOL_ID_PATTERN.match(s) for s in served)
    ):
        return None
    return VersionRefusal(refused=refused, served=tuple(served))
