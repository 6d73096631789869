"""The libp2p protocol ids of the federation: one place for node, observatory and tests.

A protocol id names the wire format of a stream (multistream-select negotiates it before
any byte of ours is sent), so a change of framing or of the envelope format is a new id.
"""

from __future__ import annotations

# The federation's request/response protocol: one signed envelope frame in, one out.
FEDERATION_PROTOCOL = "/backup/federation/1.0.0"
