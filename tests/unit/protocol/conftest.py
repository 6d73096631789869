"""Fixtures for the sans-IO protocol tests: two nodes' keys and a way to build any frame."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings

from crypto.keys import SigningKey, VerifyKey
from protocol.encoding import canonical_json
from protocol.framing import encode_frame
from protocol.statements import ENVELOPE_DOMAIN, sign_bytes

NOW = 1_800_000_000

# `pytest tests/unit/protocol --hypothesis-profile=protocol-fuzz` for a longer fuzzing run.
# Registered only: loading a profile here would change every other package's tests too.
settings.register_profile("protocol-fuzz", max_examples=5_000, deadline=None)


class Node:
    """A node's identity as the tests need it."""

    def __init__(self) -> None:
        self.node_id = secrets.token_hex(16)
        self.signing_key = SigningKey.generate()
        self.verify_key = self.signing_key.verify_key


class ReplayStore:
    """What a real node keeps in SQLite, in memory: the caller's side of replay protection."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.queries = 0

    def __call__(self, sender: str, envelope_id: str, nonce: str) -> bool:
        self.queries += 1
        return (sender, "id:" + envelope_id) in self.seen or (sender, "n:" + nonce) in self.seen

    def record(self, sender: str, envelope_id: str, nonce: str) -> None:
        self.seen.add((sender, "id:" + envelope_id))
        self.seen.add((sender, "n:" + nonce))


@pytest.fixture
def alice() -> Node:
    return Node()


@pytest.fixture
def bob() -> Node:
    return Node()


@pytest.fixture
def carol() -> Node:
    return Node()


@pytest.fixture
def new_node() -> Callable[[], Node]:
    return Node


@pytest.fixture
def keys(alice: Node, bob: Node) -> dict[str, VerifyKey]:
    return {alice.node_id: alice.verify_key, bob.node_id: bob.verify_key}


@pytest.fixture
def replay() -> ReplayStore:
    return ReplayStore()


FrameMaker = Callable[..., bytes]


@pytest.fixture
def make_frame(alice: Node, bob: Node) -> FrameMaker:
    """Build a signed frame from alice to bob with any field overridden or dropped.

    `sign_with` signs with another key; `signature` replaces the signature outright; fields
    named in `drop` are left out. Bypasses `seal`'s own checks on purpose.
    """

    def make(
        *,
        sign_with: SigningKey | None = None,
        signature: str | None = None,
        payload: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        **overrides: Any,
    ) -> bytes:
        fields: dict[str, Any] = {
            "format": 1,
            "envelope_id": secrets.token_hex(16),
            "sender": alice.node_id,
            "recipient": bob.node_id,
            "type": "delivery.ack",
            "version": 1,
            "nonce": secrets.token_hex(16),
            "created": NOW,
            "expires": NOW + 3600,
            "in_reply_to": None,
            "payload": payload
            if payload is not None
            else {"envelope_id": "ab" * 16, "status": "accepted", "reason": None, "detail": None},
        }
        fields.update(overrides)
        fields = {k: v for k, v in fields.items() if k not in drop}
        if signature is None:
            signature = sign_bytes(
                ENVELOPE_DOMAIN, canonical_json(fields), sign_with or alice.signing_key
            )
        return encode_frame(canonical_json({**fields, "signature": signature}))

    return make
