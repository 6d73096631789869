"""The observatory's public JSON API (issue 5): who the members are, and the latest
checkpoint of each member's evidence log that the observatory cosigned.

Read-only and unauthenticated: everything here is public by design (public keys, the
organisations' names, checkpoint hashes) and signed, so a reader checks it with the keys
rather than trusting this server. A member's contact is never published.
"""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from observatory.members import Member
from observatory.web import appkeys
from observatory.web.failures import json_error, json_errors
from observatory.web.routes import Route, add_routes

PREFIX = "/api/v1"
_NODE_ID = re.compile(r"^[0-9a-f]{32}$")


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ErrorOut(_Out):
    error: str = Field(description="A stable code, e.g. not_found")
    message: str


class ObservatoryOut(_Out):
    node_id: str
    name: str
    identity_key: str = Field(description="Ed25519 public key, 64 hex digits")
    peer_id: str = Field(description="libp2p peer id derived from identity_key")
    witness_name: str = Field(description="Key name of the observatory's cosignatures")
    witness_vkey: str = Field(description="Cosignature verifier key (C2SP tlog-cosignature)")


class NodeOut(_Out):
    node_id: str
    organisation_name: str
    country: str = Field(description="ISO 3166-1 alpha-2")
    status: Literal["approved", "revoked"]
    identity_key: str = Field(description="Ed25519 public key, 64 hex digits")
    box_key: str = Field(description="X25519 public key, 64 hex digits")
    peer_id: str = Field(description="libp2p peer id derived from identity_key")
    certificate_serial: str
    joined_at: int
    revoked_at: int | None
    revocation_reason: str | None


class NodesOut(_Out):
    observatory: ObservatoryOut
    membership_list_sequence: int | None = Field(
        description="The sequence number of the latest signed membership list")
    nodes: list[NodeOut]


class CheckpointOut(_Out):
    node_id: str
    origin: str
    size: int
    root_hash: str = Field(description="Base64 root hash, as in the checkpoint")
    checkpoint: str = Field(description="The node's signed note with our cosignature added")
    cosignature: str = Field(description="Our tlog-cosignature line")
    cosigned_at: int
    witness_vkey: str


def _node_out(member: Member) -> NodeOut:
    assert member.certificate_serial is not None and member.joined_at is not None
    return NodeOut(
        node_id=member.node_id, organisation_name=member.organisation_name,
        country=member.country, status="approved" if member.status == "approved" else "revoked",
        identity_key=member.identity_key, box_key=member.box_key, peer_id=member.peer_id,
        certificate_serial=member.certificate_serial, joined_at=member.joined_at,
        revoked_at=member.revoked_at,
        revocation_reason=member.reason if member.status == "revoked" else None,
    )


async def nodes(request: web.Request) -> web.StreamResponse:
    ctx = request.config_dict[appkeys.CONTEXT]

    def gather() -> NodesOut:
        latest = ctx.lists.latest_in(ctx.db.read())
        ident = ctx.identity
        return NodesOut(
            observatory=ObservatoryOut(
                node_id=ident.node_id, name=ctx.config.name,
                identity_key=ident.identity_key_hex, peer_id=ident.peer_id,
                witness_name=ident.cosigner.name, witness_vkey=ident.witness_vkey),
            membership_list_sequence=None if latest is None else latest.body.sequence,
            nodes=[_node_out(m) for m in ctx.members.with_status("approved", "revoked")],
        )

    out = await asyncio.to_thread(gather)
    return web.json_response(out.model_dump(mode="json"))


async def checkpoint(request: web.Request) -> web.StreamResponse:
    ctx = request.config_dict[appkeys.CONTEXT]
    node_id = request.match_info["node_id"]
    wanted = request.query.get("format", "text")
    if wanted not in ("text", "json"):
        return json_error(400, "bad_format", "format is text (the default) or json")
    if not _NODE_ID.fullmatch(node_id):
        return json_error(400, "bad_node_id", "a node id is 32 lowercase hex digits")
    latest = await asyncio.to_thread(ctx.checkpoints.latest, node_id)
    if latest is None:
        return json_error(404, "not_found", "no checkpoint of this node was cosigned here")
    if wanted == "text":
        return web.Response(text=latest.cosigned_note, content_type="text/plain",
                            charset="utf-8")
    out = CheckpointOut(
        node_id=latest.node_id, origin=latest.origin, size=latest.size,
        root_hash=base64.b64encode(latest.root_hash).decode("ascii"),
        checkpoint=latest.cosigned_note, cosignature=latest.cosignature,
        cosigned_at=latest.cosigned_at, witness_vkey=ctx.identity.witness_vkey,
    )
    return web.json_response(out.model_dump(mode="json"))


async def openapi(request: web.Request) -> web.StreamResponse:
    from observatory.web.openapi import document

    return web.json_response(document())


ROUTES: tuple[Route, ...] = (
    Route("GET", "/nodes", "api_nodes",
          "Members and revoked members with their public keys, status, certificate serial "
          "and peer id; the observatory's own keys", nodes, response=NodesOut),
    Route("GET", "/checkpoints/{node_id}", "api_checkpoint",
          "The latest cosigned checkpoint of a node's evidence log: the signed note with the "
          "observatory's cosignature line added (text/plain), or JSON with ?format=json",
          checkpoint, response=CheckpointOut, media_types=("text/plain", "application/json"),
          path_params=(("node_id", "The node id (32 lowercase hex digits)"),),
          query=(("format", "text (default) or json"),), errors=(400, 404)),
    Route("GET", "/openapi.json", "api_openapi", "This document (OpenAPI 3.1)", openapi),
)


def create_api_app() -> web.Application:
    app = web.Application(middlewares=[json_errors])
    add_routes(app, ROUTES)
    return app
