"""Protocol ids and versions: the federation family and the refusal of unserved ids."""

from __future__ import annotations

import pytest

from crypto.keys import SigningKey
from protocol.encoding import canonical_json
from protocol.envelope import seal
from protocol.framing import encode_frame
from protocol.membership import MembershipListQuery
from protocol.versions import (
    FEDERATION,
    FEDERATION_PROTOCOL,
    Framing,
    ProtocolFamily,
    ProtocolVersion,
    VersionRefusal,
    family_of,
    parse_refusal,
    refusal_frame,
)


def test_the_federation_family() -> None:
    assert FEDERATION_PROTOCOL == "/backup/federation/2.0.0" == FEDERATION.current
    assert FEDERATION.served == ("/backup/federation/2.0.0", "/backup/federation/1.0.0")
    assert FEDERATION.version("/backup/federation/1.0.0") == ProtocolVersion(
        "/backup/federation/1.0.0", Framing.FIXED32)
    assert FEDERATION.version("/backup/federation/3.0.0") is None
    assert FEDERATION.includes("/backup/federation/3.0.0")
    assert not FEDERATION.includes("/backup/federation/3.0.0 x")  # not a protocol id
    assert not FEDERATION.includes("/backup/other/1.0.0")
    assert family_of(FEDERATION_PROTOCOL) is FEDERATION
    assert family_of("/backup/federation/1.0.0") is None  # only the current id names it


def test_a_family_holds_only_its_own_ids() -> None:
    with pytest.raises(ValueError):
        ProtocolFamily("/a/", (ProtocolVersion("/b/1", Framing.VARINT),))
    with pytest.raises(ValueError):
        ProtocolFamily("/a/", ())


def test_a_refusal_names_the_served_versions_and_reads_back() -> None:
    frame = refusal_frame(FEDERATION, "/backup/federation/3.0.0")
    assert parse_refusal(frame) == VersionRefusal(
        refused="/backup/federation/3.0.0", served=FEDERATION.served)


@pytest.mark.parametrize("body", [
    b"", b"not json", b"[]", canonical_json({"reason": "unsupported_version"}),
    canonical_json({"reason": "other", "refused": "/x/1", "served": []}),
    canonical_json({"reason": "unsupported_version", "refused": "/x/1", "served": ["no id"]}),
    canonical_json({"reason": "unsupported_version", "refused": "/x/1",
                    "served": ["/x/2"] * 9}),
    canonical_json({"reason": "unsupported_version", "refused": "/x/1", "served": [],
                    "extra": 1}),
])
def test_anything_else_is_not_a_refusal(body: bytes) -> None:
    assert parse_refusal(encode_frame(body)) is None


def test_an_envelope_is_not_a_refusal() -> None:
    key = SigningKey.generate()
    frame = seal(MembershipListQuery(), sender="a1" * 16, recipient="b2" * 16,
                 signing_key=key, now=1_800_000_000).to_frame()
    assert parse_refusal(frame) is None
