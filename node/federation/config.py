"""The ``[federation]`` section of ``node.toml``: how this node joins the federation.

Without the section the node runs standalone, exactly as before issue 5. With it, the
serving process starts a libp2p host, asks the observatory to join, fetches the signed
membership list, pushes each new checkpoint of its evidence log to the observatory and to
the peer witnesses below, and witnesses those peers' logs in turn.

The observatory's node id, identity key and addresses come from the observatory's operator
out of band (like a TLS pin): the node believes nothing the observatory sends unless that key
signed it. Peer witnesses are agreed between organisations; their keys are *not* configured
here but taken from the observatory's membership list, so a revoked peer stops being
believed with the next list.

This module never imports libp2p: multiaddrs are checked for shape here and parsed by
`transport.identity` when the service starts.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

NodeIdHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
KeyHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
# protocol.message.Name: no control characters, no bidirectional overrides.
DisplayText = Annotated[str, StringConstraints(
    min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+$")]

# /ip4|ip6/<address>/tcp/<port>, optionally /p2p/<peer id>: what `transport.identity`
# dials (no DNS names, so that dialling never leaks a lookup to a resolver).
_MULTIADDR = re.compile(
    r"^/(ip4/[0-9.]{7,15}|ip6/[0-9a-fA-F:.]{2,45})/tcp/[0-9]{1,5}(/p2p/[1-9A-HJ-NP-Za-km-z]{40,60})?$")
MAX_ADDRS = 8  # transport.identity.MAX_ADDRS


def _check_addrs(addrs: list[str]) -> list[str]:
    if not addrs:
        raise ValueError("give at least one address, e.g. /ip4/192.0.2.10/tcp/4001")
    if len(addrs) > MAX_ADDRS:
        raise ValueError(f"at most {MAX_ADDRS} addresses")
    for addr in addrs:
        if not _MULTIADDR.match(addr):
            raise ValueError(f"{addr!r} is not an /ip4 or /ip6 TCP multiaddr "
                             "(e.g. /ip4/192.0.2.10/tcp/4001)")
    return addrs


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PeerWitness(_Strict):
    """Another member node that witnesses this node's log (and whose log this node
    witnesses). Its keys come from the membership list, its addresses from here."""

    node_id: NodeIdHex
    addrs: list[str] = Field(min_length=1)

    @field_validator("addrs")
    @classmethod
    def _addrs(cls, addrs: list[str]) -> list[str]:
        return _check_addrs(addrs)


class FederationConfig(_Strict):
    observatory_node_id: NodeIdHex
    observatory_identity_key: KeyHex = Field(
        description="the observatory's Ed25519 identity key, 64 hex digits")
    observatory_addrs: list[str] = Field(min_length=1)
    listen_host: str = Field("0.0.0.0", min_length=1, max_length=64)  # noqa: S104 -- peers dial us
    listen_port: int = Field(4001, ge=1, le=65535)
    organisation_name: DisplayText
    country: CountryCode
    contact: DisplayText
    peer_witnesses: list[PeerWitness] = Field(default_factory=list)
    # Other members this node sends to without witnessing them (an expert's home node, for
    # needs and engagements, issue 16): their keys too come from the membership list.
    peers: list[PeerWitness] = Field(default_factory=list)
    # Where the OPRF evaluator of perpetrator tokens listens (issue 18); its identity and keys
    # come from the membership list. Empty: identifiers wait, nothing is evaluated.
    evaluator_addrs: list[str] = Field(default_factory=list)
    enrollment_poll_seconds: int = Field(60, ge=1, le=86_400)
    membership_refresh_seconds: int = Field(600, ge=1, le=86_400)
    push_check_seconds: int = Field(60, ge=1, le=86_400)

    @field_validator("observatory_addrs")
    @classmethod
    def _addrs(cls, addrs: list[str]) -> list[str]:
        return _check_addrs(addrs)

    @field_validator("evaluator_addrs")
    @classmethod
    def _evaluator_addrs(cls, addrs: list[str]) -> list[str]:
        return _check_addrs(addrs) if addrs else addrs

    @field_validator("peer_witnesses", "peers")
    @classmethod
    def _distinct(cls, peers: list[PeerWitness]) -> list[PeerWitness]:
        ids = [p.node_id for p in peers]
        if len(set(ids)) != len(ids):
            raise ValueError("each peer is listed once")
        return peers

    @field_validator("listen_host")
    @classmethod
    def _ip_literal(cls, host: str) -> str:
        if not re.fullmatch(r"[0-9.]{7,15}|[0-9a-fA-F:.]{2,45}", host):
            raise ValueError("listen_host is an IP address (e.g. 0.0.0.0 or 127.0.0.1)")
        return host


def addresses_of(config: FederationConfig, node_id: str) -> tuple[str, ...]:
    """Where another member listens, as configured (peer witnesses and peers); () if not."""
    for peer in (*config.peer_witnesses, *config.peers):
        if peer.node_id == node_id:
            return tuple(peer.addrs)
    return ()
